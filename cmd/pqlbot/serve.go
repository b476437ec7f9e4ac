package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	sm "github.com/slack-go/slack/socketmode"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/config"
	"github.com/pqlbot/pqlbot/internal/digest"
	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/lease"
	"github.com/pqlbot/pqlbot/internal/metrics"
	"github.com/pqlbot/pqlbot/internal/rescore"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackdelivery"
	"github.com/pqlbot/pqlbot/internal/socketmode"
	"github.com/pqlbot/pqlbot/store"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// openStore is the start of every database subcommand: configuration,
// then a connected store.
func openStore(ctx context.Context) (*config.Config, *store.Store, error) {
	cfg, err := config.Load(ctx, config.ModeDatabase)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}

func cmdMigrate(ctx context.Context, stdout, stderr io.Writer) int {
	_, st, err := openStore(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "applied %d migrations\n", len(applied))
	for _, a := range applied {
		fmt.Fprintf(stdout, "  %s\n", a)
	}
	return 0
}

// waitWithin runs the waits in order until ctx ends, then gives up on them
// with a log line.
func waitWithin(ctx context.Context, log *slog.Logger, what string, waits ...func()) {
	done := make(chan struct{})
	go func() {
		for _, w := range waits {
			w()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		log.Warn("shutdown budget spent; not waiting longer", "for", what)
	}
}

// startingHandler answers every request while serve connects and
// migrates: 503, so a startupProbe (and a load balancer) waits, with a body
// saying why.
func startingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"starting","error":"connecting to the database and applying migrations"}`+"\n")
	})
}

func ptr[T any](v T) *T { return &v }

// logResponder answers interaction clicks in the log when Slack is in dry
// run (there is no Slack to answer through).
type logResponder struct{ log *slog.Logger }

func (l logResponder) PostWebhook(_ context.Context, _ string, msg *slack.WebhookMessage) error {
	l.log.Info("ephemeral reply (dry run)", "text", msg.Text)
	return nil
}

// logPublisher is the App Home's dry run: the view a user would see is
// written to the log.
type logPublisher struct{ log *slog.Logger }

func (l logPublisher) PublishHome(_ context.Context, userID string, view slack.HomeTabViewRequest) error {
	l.log.Info("app home published (dry run)", "user", userID, "view", view)
	return nil
}

// submitter adapts the group-commit ingester to the handler's interface and
// maps its shutdown error to the transport's.
type submitter struct{ g *store.Ingester }

func (s submitter) Submit(ctx context.Context, source string, msgs []events.Message, rejects []events.Reject) error {
	err := s.g.Submit(ctx, source, msgs, rejects)
	switch {
	case errors.Is(err, store.ErrIngesterClosed):
		return fmt.Errorf("%w: %v", handlers.ErrUnavailable, err)
	case errors.Is(err, store.ErrRejected):
		return fmt.Errorf("%w: %v", handlers.ErrRejected, err)
	}
	return err
}

func cmdServe(ctx context.Context, stderr io.Writer) int {
	cfg, err := config.Load(ctx, config.ModeServe)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	log := newLogger(stderr, cfg.LogLevel)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("serve stopped", "err", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	// Bind before anything slow (connecting, migrating, possibly waiting on
	// another replica's migration lock): a port in use fails at once, and
	// probes get a clear 503 "starting" instead of a hanging connection.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTPAddr, err)
	}
	var routes atomic.Pointer[http.Handler]
	routes.Store(ptr(startingHandler()))
	httpSrv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*routes.Load()).ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	// Until the graceful shutdown below takes over: a start-up failure
	// closes the listener.
	started := false
	defer func() {
		if !started {
			_ = httpSrv.Close()
		}
	}()
	log.Info("listening; starting", "addr", ln.Addr().String())
	if cfg.DebugAddr != "" {
		dln, err := net.Listen("tcp", cfg.DebugAddr)
		if err != nil {
			return fmt.Errorf("listen %s (PQLBOT_DEBUG_ADDR): %w", cfg.DebugAddr, err)
		}
		debugSrv := newDebugServer(cfg.DebugAddr)
		// Profiles are for diagnosis: an open one must not hold up
		// shutdown, so the listener is closed, not drained.
		defer debugSrv.Close()
		log.Info("debug listener (pprof)", "addr", dln.Addr().String())
		go func() {
			if err := debugSrv.Serve(dln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("debug listener stopped", "err", err)
			}
		}()
	}

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", len(applied))

	m, err := loadModel(cfg)
	if err != nil {
		return err
	}
	log.Info("scoring model", "version", m.Version, "hash", m.Hash[:12], "file", cfg.ModelFile)
	// The model's `where` signals become roll-ups kept by ingest; counting
	// a new one's history runs beside everything else (the scorer reads
	// its raw events until it is done).
	// Events a pod of an older release stores during a rolling upgrade
	// are counted for them a minute later at most.
	go func() {
		n, err := st.SyncFilters(ctx, m.FactsSpec().Filters)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("roll up filtered signals; they are scored from raw events", "err", err)
		case n > 0:
			log.Info("filtered signals rolled up", "built", n)
		}
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if n, err := st.FixUpFilters(ctx); err != nil && ctx.Err() == nil {
				log.Error("count events an older release stored for the filtered signals", "err", err)
			} else if n > 0 {
				log.Info("counted events an older release stored for the filtered signals", "events", n)
			}
		}
	}()
	met := metrics.New()
	obs := observer{met}

	keys := make(map[string]string, len(cfg.WriteKeys))
	for _, k := range cfg.WriteKeys {
		keys[k] = store.SourceOf(k)
	}
	// ingestWake is set once the re-scorer exists; commits before that are
	// picked up by its first poll.
	var ingestWake func()
	ingester := store.NewIngester(st, store.IngesterOptions{
		Outcomes: m.OutcomeRules(),
		OnCommit: func(res store.IngestResult, n int, took time.Duration) {
			met.ObserveCommit(n, took)
			met.EventsDuplicate.Add(float64(res.Duplicates))
			if len(res.Accounts) > 0 && ingestWake != nil {
				ingestWake()
			}
		},
		// The hand-raiser fast path: these accounts skip the re-scorer's
		// debounce.
		Urgent: func(msg *events.Message) bool {
			return msg.Type == events.TypeTrack && m.IsHandRaiser(msg.Name)
		},
		OnRefused: func(n int) { met.EventsRejected.WithLabelValues(events.ReasonRefused).Add(float64(n)) },
	})
	srv := &handlers.Server{
		Log:   log,
		Ready: st,
		Ingest: &handlers.Ingest{
			Log:       log.With("component", "ingest"),
			Submitter: submitter{ingester},
			Keys:      keys,
			Observer:  obs,
		},
		CORS:    &handlers.CORS{Origins: cfg.CORSOrigins},
		Metrics: met.Handler(),
		Wrap:    met.Instrument,
	}
	// Background workers run until shutdown; each is safe beside the same
	// workers on other replicas.
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	defer func() {
		stopWorkers()
		workers.Wait()
	}()
	render := &slackdelivery.Renderer{Model: m, AccountURL: cfg.AccountURL}
	dispatcher := &alerting.Dispatcher{
		Outbox:   st,
		Model:    m,
		Log:      log.With("component", "dispatcher"),
		Observer: obs,
		Lease:    cfg.Lease,
	}
	var slackClient *slackapi.Client
	if cfg.DryRun() {
		// The same dispatcher, with a Notifier that writes to the log.
		dispatcher.Notifier = slackdelivery.NewLog(render, log.With("component", "dispatcher"))
	} else {
		slackClient = slackapi.New(cfg.SlackBotToken, cfg.SlackAPIURL,
			slackapi.WithOnCall(func(method, outcome string) { met.SlackCalls.WithLabelValues(method, outcome).Inc() }))
		dispatcher.Notifier = slackdelivery.NewSlack(slackClient, render, log.With("component", "dispatcher"))
	}
	workers.Go(func() { dispatcher.Run(wctx) })

	alerts := &alerting.Service{
		Model: m, Store: st, Log: log.With("component", "alerting"),
		Observer: obs, Wake: dispatcher.Wake,
	}
	rescorer := rescore.New(st, m, log, rescore.Options{
		Debounce: cfg.RescoreDebounce,
		OnScored: func(ctx context.Context, res scoring.Result) error {
			_, err := alerts.Evaluate(ctx, &res)
			return err
		},
		OnBatch: func(n, saved int, _ time.Duration) {
			met.ScoreEvaluations.Add(float64(n))
			met.ScoresWritten.Add(float64(saved))
		},
		OnTakeover: func(n int) { met.Takeovers.WithLabelValues(metrics.WorkScores).Add(float64(n)) },
		// Day boundaries and expired disqualifications; scores left
		// undecided are taken over every third of the lease instead.
		SweepInterval: 5 * time.Minute,
		HookLease:     cfg.Lease,
	})
	ingestWake = rescorer.Notify
	workers.Go(func() {
		if err := rescorer.Run(wctx); err != nil {
			log.Error("rescorer stopped", "err", err)
		}
	})
	sweeper := &alerting.Sweeper{
		Store: st, Model: m, Log: log.With("component", "sla"),
		Wake: dispatcher.Wake, Observer: obs,
		// The recovery rule: a nudge or breach is recorded within a third
		// of a lease of coming due, whichever replicas are alive.
		Interval: lease.Period(cfg.Lease),
	}
	workers.Go(func() { sweeper.Run(wctx) })
	// Outcomes recorded under other rules are re-derived from stored
	// events: in the background, as a full pass over a large history takes
	// a while and ingest records new ones meanwhile.
	workers.Go(func() { deriveOutcomesAtStart(wctx, st, m, log) })

	actions := &alerting.Actions{Store: st, Model: m, Log: log.With("component", "actions"), Wake: dispatcher.Wake, Observer: obs}
	var responder handlers.Responder = logResponder{log.With("component", "responder")}
	if slackClient != nil {
		responder = slackClient
	}
	interactions := &handlers.Interactions{
		Verifier:  &handlers.SlackVerifier{Secret: cfg.SlackSigningSecret},
		Actions:   actions,
		Responder: responder,
		Log:       log.With("component", "interactions"),
	}
	srv.SlackInteractions = interactions

	cmdService := &commands.Service{
		Store: st, Model: m, Log: log.With("component", "commands"), AccountURL: cfg.AccountURL,
		Publisher: logPublisher{log.With("component", "home")},
	}
	if slackClient != nil {
		cmdService.Publisher = slackClient
	}
	interactions.Home = cmdService
	if m.Digest != nil {
		// The program digest: every replica runs the worker; the store's
		// lease on the period key makes it go out once.
		var poster digest.Poster = digest.LogPoster{Log: log.With("component", "digest")}
		if slackClient != nil {
			poster = digest.SlackPoster{Client: slackClient}
		}
		dw := digest.New(m, st, cmdService, poster, log.With("component", "digest"))
		workers.Go(func() { dw.Run(wctx) })
	}
	slashCommands := &handlers.Commands{
		Verifier:  &handlers.SlackVerifier{Secret: cfg.SlackSigningSecret},
		Service:   cmdService,
		Responder: responder,
		Log:       log.With("component", "commands"),
	}
	slackEvents := &handlers.Events{
		Verifier: &handlers.SlackVerifier{Secret: cfg.SlackSigningSecret},
		Seen:     st,
		Home:     cmdService,
		Log:      log.With("component", "events"),
	}
	srv.SlackCommands, srv.SlackEvents = slashCommands, slackEvents
	// Socket Mode has its own stop: on shutdown it must stop taking
	// requests before the handlers are waited for, like the HTTP server.
	sockCtx, stopSocket := context.WithCancel(wctx)
	var sock sync.WaitGroup
	defer func() {
		stopSocket()
		sock.Wait()
	}()
	if cfg.SlackAppToken != "" {
		// Socket Mode: the same services, reached over Slack's websocket;
		// the HTTP endpoints stay available.
		api := slack.New(cfg.SlackBotToken, slack.OptionAppLevelToken(cfg.SlackAppToken), slack.OptionAPIURL(cfg.SlackAPIURL))
		adapter := &socketmode.Adapter{Commands: slashCommands, Events: slackEvents, Interactions: interactions, Log: log.With("component", "socketmode")}
		sock.Go(func() {
			if err := adapter.Run(sockCtx, sm.New(api)); err != nil {
				log.Error("socket mode stopped", "err", err)
			}
		})
	}

	// Routes are built once every endpoint is wired.
	routes.Store(ptr(srv.Routes()))
	started = true
	log.Info("serving", "addr", ln.Addr().String(), "slack_dry_run", cfg.DryRun())

	select {
	case <-ctx.Done():
	case err := <-errc:
		ingester.Close()
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down", "budget", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop accepting and finish in-flight requests first: they are waiting
	// on commits the ingester still owes them.
	shutdownErr := httpSrv.Shutdown(sctx)
	stopSocket()
	sock.Wait()
	ingester.Close()
	// Work acknowledged to Slack but still running gets what is left of
	// the budget, not more.
	waitWithin(sctx, log, "slack work in flight", interactions.Wait, slashCommands.Wait, slackEvents.Wait)
	// Workers finish the job in hand and hand back what they had leased.
	stopWorkers()
	workers.Wait()
	if shutdownErr != nil && !errors.Is(shutdownErr, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	log.Info("stopped")
	return nil
}
