package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/events"
)

// histogram returns the gathered histogram of name whose labels include want.
func histogram(t *testing.T, m *Metrics, name string, want map[string]string) *dto.Histogram {
	t.Helper()
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, metric := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range metric.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			return metric.GetHistogram()
		}
	}
	t.Fatalf("no %s series with labels %v", name, want)
	return nil
}

func TestNewIsIndependent(t *testing.T) {
	// Two instances must not collide: a global registry would panic here.
	a, b := New(), New()
	a.ScoreEvaluations.Inc()
	require.Equal(t, 1.0, testutil.ToFloat64(a.ScoreEvaluations))
	require.Equal(t, 0.0, testutil.ToFloat64(b.ScoreEvaluations))
}

func TestNamesArePrefixed(t *testing.T) {
	m := New()
	// Touch every vector so it has a series and is gathered.
	m.AlertsByTierState.WithLabelValues("high", "posted").Inc()
	m.SlackCall("chat.postMessage", nil)
	m.HTTPDuration.WithLabelValues("/healthz", "GET", "200").Observe(0.001)
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	var ours []string
	for _, f := range families {
		name := f.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue // runtime collectors keep their conventional names
		}
		require.True(t, strings.HasPrefix(name, "pqlbot_"), "metric %s lacks the pqlbot_ prefix", name)
		ours = append(ours, name)
	}
	require.ElementsMatch(t, []string{
		"pqlbot_events_ingested_total", "pqlbot_events_duplicate_total", "pqlbot_events_rejected_total",
		"pqlbot_ingest_batch_size", "pqlbot_ingest_commit_seconds", "pqlbot_score_evaluations_total", "pqlbot_scores_written_total",
		"pqlbot_alerts_total", "pqlbot_slack_api_calls_total", "pqlbot_sla_nudges_total",
		"pqlbot_sla_breaches_total", "pqlbot_http_request_duration_seconds", "pqlbot_build_info",
		"pqlbot_takeovers_total",
	}, ours)
}

func TestPrecreatedSeries(t *testing.T) {
	m := New()
	// Known label values exist at zero before anything happens.
	require.Equal(t, 4, testutil.CollectAndCount(m.EventsIngested))
	// unauthorized, too_large, malformed, invalid, and the quarantine's
	// no_identity, unknown_type, bad_timestamp, bad_text, refused_by_database.
	require.Equal(t, 9, testutil.CollectAndCount(m.EventsRejected))
	require.Equal(t, 0.0, testutil.ToFloat64(m.EventsRejected.WithLabelValues(events.ReasonBadText)))
	require.Equal(t, 0.0, testutil.ToFloat64(m.EventsRejected.WithLabelValues(ReasonTooLarge)))
	require.Equal(t, 2, testutil.CollectAndCount(m.Takeovers))
}

func TestHandler(t *testing.T) {
	m := New()
	m.EventsIngested.WithLabelValues("track").Add(3)
	m.SLABreaches.Inc()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	text := string(body)
	require.Contains(t, text, `pqlbot_events_ingested_total{type="track"} 3`)
	require.Contains(t, text, "pqlbot_sla_breaches_total 1")
	require.Contains(t, text, "go_goroutines ")
	require.Contains(t, text, "process_")
}

func TestObserveCommit(t *testing.T) {
	m := New()
	m.ObserveCommit(100, 4*time.Millisecond)
	m.ObserveCommit(1, time.Millisecond)

	size := histogram(t, m, "pqlbot_ingest_batch_size", nil)
	require.Equal(t, uint64(2), size.GetSampleCount())
	require.Equal(t, 101.0, size.GetSampleSum())
	secs := histogram(t, m, "pqlbot_ingest_commit_seconds", nil)
	require.Equal(t, uint64(2), secs.GetSampleCount())
	require.InDelta(t, 0.005, secs.GetSampleSum(), 1e-9)
}

func TestSlackOutcome(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil is ok", nil, OutcomeOK},
		{"plain error", errors.New("channel_not_found"), OutcomeError},
		{"slack error response", slack.SlackErrorResponse{Err: "not_in_channel"}, OutcomeError},
		{"rate limited", &slack.RateLimitedError{RetryAfter: time.Second}, OutcomeRateLimited},
		{"wrapped rate limit", fmt.Errorf("post alert: %w", &slack.RateLimitedError{}), OutcomeRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, SlackOutcome(tt.err))
		})
	}
}

func TestSlackCall(t *testing.T) {
	m := New()
	m.SlackCall("chat.postMessage", nil)
	m.SlackCall("chat.postMessage", &slack.RateLimitedError{})
	m.SlackCall("chat.postMessage", &slack.RateLimitedError{})
	m.SlackCall("chat.update", errors.New("boom"))
	require.Equal(t, 1.0, testutil.ToFloat64(m.SlackCalls.WithLabelValues("chat.postMessage", OutcomeOK)))
	require.Equal(t, 2.0, testutil.ToFloat64(m.SlackCalls.WithLabelValues("chat.postMessage", OutcomeRateLimited)))
	require.Equal(t, 1.0, testutil.ToFloat64(m.SlackCalls.WithLabelValues("chat.update", OutcomeError)))
}

func TestInstrument(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		handler  http.HandlerFunc
		wantCode string
		wantVerb string
	}{
		{"explicit status", http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
		}, "201", "POST"},
		{"writes nothing", http.MethodGet, func(w http.ResponseWriter, r *http.Request) {}, "200", "GET"},
		{"body only", http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}, "200", "GET"},
		{"error", http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope", http.StatusRequestEntityTooLarge)
		}, "413", "POST"},
		{"second WriteHeader ignored", http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			w.WriteHeader(http.StatusOK) // net/http logs "superfluous" and keeps 401
		}, "401", "POST"},
		{"informational then final", http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		}, "204", "GET"},
		{"unusual method bounded", "PROPFIND", func(w http.ResponseWriter, r *http.Request) {}, "200", "OTHER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			h := m.Instrument("/route", tt.handler)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, "/route?x=1", nil))
			hist := histogram(t, m, "pqlbot_http_request_duration_seconds",
				map[string]string{"route": "/route", "method": tt.wantVerb, "code": tt.wantCode})
			require.Equal(t, uint64(1), hist.GetSampleCount())
			require.Equal(t, 1, testutil.CollectAndCount(m.HTTPDuration), "exactly one series")
		})
	}
}

func TestInstrumentUsesPatternNotURL(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	const pattern = "POST /v1/{kind}"
	mux.Handle(pattern, m.Instrument(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"success":true}`)
	})))
	for _, path := range []string{"/v1/track", "/v1/page", "/v1/batch", "/v1/identify?debug=1"} {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, nil))
	}
	require.Equal(t, 1, testutil.CollectAndCount(m.HTTPDuration))
	hist := histogram(t, m, "pqlbot_http_request_duration_seconds",
		map[string]string{"route": "/v1/{kind}", "method": "POST", "code": "200"})
	require.Equal(t, uint64(4), hist.GetSampleCount())
}

func TestInstrumentPanic(t *testing.T) {
	m := New()
	h := m.Instrument("GET /boom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}))
	require.PanicsWithValue(t, "boom", func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/boom", nil))
	})
	hist := histogram(t, m, "pqlbot_http_request_duration_seconds",
		map[string]string{"route": "/boom", "code": "500"})
	require.Equal(t, uint64(1), hist.GetSampleCount())
}

func TestInstrumentKeepsResponseController(t *testing.T) {
	m := New()
	var flushErr error
	h := m.Instrument("GET /stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "a")
		flushErr = http.NewResponseController(w).Flush()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stream", nil))
	require.NoError(t, flushErr)
	require.True(t, rec.Flushed)
}

func TestBuildInfo(t *testing.T) {
	m := New()
	require.Equal(t, 1, testutil.CollectAndCount(m.BuildInfo), "exactly one series")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Regexp(t, `pqlbot_build_info\{goversion="go[^"]+",revision="[^"]+",version="[^"]+"\} 1`, rec.Body.String())
}
