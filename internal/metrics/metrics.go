// Package metrics defines pqlbot's Prometheus metrics on a registry of its
// own and serves them at /metrics.
//
// A private registry (rather than prometheus.DefaultRegisterer) means tests
// can build as many Metrics as they like without "duplicate metrics collector
// registration" panics, and nothing a library registers globally leaks into
// what operators scrape. Every metric name starts with "pqlbot_"; labels only
// ever take values from small, fixed sets (or registered route patterns), so
// no client can blow up the series count.
package metrics

import (
	"errors"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/events"
)

// Outcomes of a Slack Web API call, the values of the "outcome" label of
// pqlbot_slack_api_calls_total.
const (
	OutcomeOK          = "ok"
	OutcomeError       = "error"
	OutcomeRateLimited = "rate_limited"
)

// Reasons an ingest request is rejected, the values of the "reason" label of
// pqlbot_events_rejected_total. They mirror the HTTP statuses of SPEC §3.
// A message set aside in the quarantine counts under its own reason
// (events.MessageReasons: no_identity, bad_timestamp, bad_text, ...).
const (
	ReasonUnauthorized = "unauthorized" // 401: missing or unknown write key
	ReasonTooLarge     = "too_large"    // 413: message over 32 KB or batch over 500 KB
	ReasonMalformed    = "malformed"    // 400: body is not valid JSON
	ReasonInvalid      = "invalid"      // 400: valid JSON that breaks the Segment spec
)

// Alert transitions, the values of the "state" label of pqlbot_alerts_total.
// Each is counted once, by the replica whose SQL update made it happen.
const (
	AlertOpened    = "open"      // the scorer opened an alert
	AlertPosted    = "posted"    // the message is in Slack
	AlertClaimed   = "claimed"   // a rep clicked Claim (first click only)
	AlertReleased  = "released"  // the claimer handed it back
	AlertContacted = "contacted" // the rep marked it contacted
	AlertClosed    = "closed"    // Not a fit: closed and the account disqualified
)

// Metrics holds every pqlbot metric. Build it once with New and pass it to
// the packages that record; the zero value is not usable.
type Metrics struct {
	registry *prometheus.Registry

	// EventsIngested counts messages durably stored, by Segment type
	// (track, identify, group, page, ...). Duplicates are not counted here.
	EventsIngested *prometheus.CounterVec
	// EventsDuplicate counts messages accepted but not stored because their
	// messageId was seen before (SDK retries, replays).
	EventsDuplicate prometheus.Counter
	// EventsRejected counts messages (or whole requests, when nothing could
	// be parsed) refused, by reason: one of the Reason* constants.
	EventsRejected *prometheus.CounterVec
	// IngestBatchSize observes the number of events written per commit.
	IngestBatchSize prometheus.Histogram
	// IngestCommitSeconds observes how long an ingest transaction took.
	IngestCommitSeconds prometheus.Histogram
	// ScoreEvaluations counts accounts scored (by the re-scorer or a lookup).
	ScoreEvaluations prometheus.Counter
	// ScoresWritten counts re-scores that changed the stored score (or
	// refreshed it): the ones that cost a row write and an alert decision.
	ScoresWritten prometheus.Counter
	// AlertsByTierState counts alert transitions by tier and the state
	// entered: one of the Alert* constants. A counter of transitions rather
	// than a gauge of current states, so that replicas sum correctly (the
	// current open alerts are the database's to say: /pql sla).
	AlertsByTierState *prometheus.CounterVec
	// SlackCalls counts Slack Web API calls by method and outcome: one of
	// the Outcome* constants.
	SlackCalls *prometheus.CounterVec
	// SLANudges counts "nobody has claimed this yet" thread replies.
	SLANudges prometheus.Counter
	// SLABreaches counts alerts that passed their SLA deadline unanswered.
	SLABreaches prometheus.Counter
	// HTTPDuration observes request latency by route (the registered
	// pattern's path, or RouteUnmatched), method and status code.
	HTTPDuration *prometheus.HistogramVec
	// Takeovers counts work taken over from a replica whose lease ran out
	// (it died or hung), by work: WorkScores or WorkOutbox.
	Takeovers *prometheus.CounterVec
	// BuildInfo is 1, labelled with what is running: dashboards join on
	// it to tell versions apart during a rollout.
	BuildInfo *prometheus.GaugeVec
}

// Kinds of work a replica can take over from a dead one, the values of the
// "work" label of pqlbot_takeovers_total.
const (
	WorkScores = "scores" // undecided scores queued again
	WorkOutbox = "outbox" // Slack jobs whose lease ran out
)

// RouteUnmatched is the route label of requests no endpoint serves (404,
// 405): a misconfigured SDK or probe shows up without the raw path ever
// becoming a label.
const RouteUnmatched = "unmatched"

// New builds a Metrics on a fresh registry that also carries the Go runtime
// and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		EventsIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pqlbot_events_ingested_total",
			Help: "Segment messages durably stored, by type.",
		}, []string{"type"}),
		EventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pqlbot_events_duplicate_total",
			Help: "Segment messages accepted but skipped because their messageId was already stored.",
		}),
		EventsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pqlbot_events_rejected_total",
			Help: "Segment messages or requests rejected, by reason.",
		}, []string{"reason"}),
		IngestBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pqlbot_ingest_batch_size",
			Help: "Events written per ingest commit.",
			// 1..1024: a single track call up to a full 500 KB batch.
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		IngestCommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pqlbot_ingest_commit_seconds",
			Help: "Duration of the ingest transaction, from begin to commit.",
			// 0.5 ms .. ~4 s: an fdatasync is ~0.2 ms, a stuck database is seconds.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		ScoreEvaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pqlbot_score_evaluations_total",
			Help: "Account scores computed.",
		}),
		ScoresWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pqlbot_scores_written_total",
			Help: "Re-scores written as the account's current score (changed, undecided or due a refresh); the rest cost no write and no decision.",
		}),
		AlertsByTierState: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pqlbot_alerts_total",
			Help: "Alert state transitions, by tier and the state entered.",
		}, []string{"tier", "state"}),
		SlackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pqlbot_slack_api_calls_total",
			Help: "Slack Web API calls, by method and outcome (ok, error, rate_limited).",
		}, []string{"method", "outcome"}),
		SLANudges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pqlbot_sla_nudges_total",
			Help: "SLA warnings posted because nobody had claimed an alert.",
		}),
		SLABreaches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pqlbot_sla_breaches_total",
			Help: "Alerts whose SLA deadline passed without a response.",
		}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pqlbot_http_request_duration_seconds",
			Help: "HTTP request latency, by route pattern, method and status code.",
			// The Slack endpoints must answer inside 3 s: keep resolution there.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10},
		}, []string{"route", "method", "code"}),
		Takeovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pqlbot_takeovers_total",
			Help: "Work taken over from a replica whose lease ran out (it died or hung), by kind of work.",
		}, []string{"work"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pqlbot_build_info",
			Help: "Always 1; labelled with the running build's version, VCS revision and Go version.",
		}, []string{"version", "revision", "goversion"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.EventsIngested, m.EventsDuplicate, m.EventsRejected,
		m.IngestBatchSize, m.IngestCommitSeconds,
		m.ScoreEvaluations, m.ScoresWritten, m.AlertsByTierState,
		m.SlackCalls, m.SLANudges, m.SLABreaches,
		m.HTTPDuration, m.BuildInfo, m.Takeovers,
	)
	version, revision, goVersion := buildInfo()
	m.BuildInfo.WithLabelValues(version, revision, goVersion).Set(1)
	// Pre-create the series whose label values are known, so dashboards
	// and rate() see a 0 instead of a missing series before the first event.
	for _, t := range []string{"track", "identify", "group", "page"} {
		m.EventsIngested.WithLabelValues(t)
	}
	for _, r := range []string{ReasonUnauthorized, ReasonTooLarge, ReasonMalformed, ReasonInvalid} {
		m.EventsRejected.WithLabelValues(r)
	}
	for _, w := range []string{WorkScores, WorkOutbox} {
		m.Takeovers.WithLabelValues(w)
	}
	// Quarantined messages count under the reason they were set aside for.
	for _, r := range events.MessageReasons {
		m.EventsRejected.WithLabelValues(r)
	}
	return m
}

// Registry returns the registry behind Handler, for callers that want to
// add collectors of their own (a connection pool's stats, say).
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		// Registry makes promhttp count its own failures on this registry.
		Registry: m.registry,
		// A collector failing should not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// ObserveCommit records one ingest commit of n events that took d.
func (m *Metrics) ObserveCommit(n int, d time.Duration) {
	m.IngestBatchSize.Observe(float64(n))
	m.IngestCommitSeconds.Observe(d.Seconds())
}

// SlackCall records one Slack Web API call to method, classifying err with
// SlackOutcome.
func (m *Metrics) SlackCall(method string, err error) {
	m.SlackCalls.WithLabelValues(method, SlackOutcome(err)).Inc()
}

// SlackOutcome classifies the error of a slack-go call: nil is "ok", an
// HTTP 429 (*slack.RateLimitedError) is "rate_limited", anything else is
// "error". Rate limits are separate because they are retried, not lost.
func SlackOutcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return OutcomeRateLimited
	}
	return OutcomeError
}

// Instrument wraps h so that every request's duration is observed in
// HTTPDuration under route, its method and the status code it answered.
// route must be the pattern h is registered under (e.g. "POST /v1/batch"),
// or RouteUnmatched, never the request's URL, so that the label set stays
// bounded. A method in the pattern is dropped: the method label has it.
func (m *Metrics) Instrument(route string, h http.Handler) http.Handler {
	if _, path, ok := strings.Cut(route, " "); ok {
		route = strings.TrimSpace(path)
	}
	obs := m.HTTPDuration.MustCurryWith(prometheus.Labels{"route": route})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		observe := func(code int) {
			obs.WithLabelValues(method(r.Method), strconv.Itoa(code)).Observe(time.Since(start).Seconds())
		}
		defer func() {
			// A panicking handler is still observed (as a 500 unless it had
			// already answered), then the panic continues to net/http.
			if p := recover(); p != nil {
				if sw.code == 0 {
					observe(http.StatusInternalServerError)
				} else {
					observe(sw.code)
				}
				panic(p)
			}
		}()
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			// A handler that writes nothing answers 200.
			sw.code = http.StatusOK
		}
		observe(sw.code)
	})
}

// buildInfo reads what the Go toolchain stamped into the binary: the main
// module's version ("(devel)" for a plain go build), the VCS revision
// (with "-dirty" when built from a modified tree) and the Go version.
func buildInfo() (version, revision, goVersion string) {
	version, revision, goVersion = "unknown", "unknown", runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && revision != "unknown" {
		revision += "-dirty"
	}
	return
}

// method maps a request method to a label value; anything unusual becomes
// "OTHER" so a client cannot create series at will.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx responses are informational; the final status comes later.
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush,
// deadlines) through the wrapper.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
