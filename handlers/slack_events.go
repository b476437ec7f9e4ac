package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack/slackevents"
)

// DefaultEventWorkTimeout bounds the work an event starts after it is
// acknowledged (building and publishing the App Home).
const DefaultEventWorkTimeout = 15 * time.Second

// EventDeduper records Slack event ids; MarkEventSeen is true only for the
// first delivery of an id. *store.Store implements it.
type EventDeduper interface {
	MarkEventSeen(ctx context.Context, eventID string) (bool, error)
}

// HomePublisher builds and publishes a user's App Home;
// *commands.Service implements it.
type HomePublisher interface {
	PublishHome(ctx context.Context, userID string) error
}

// Events serves POST /slack/events: the URL verification handshake and
// app_home_opened, which publishes the manager view. Serve is the
// transport-independent part, shared with the Socket Mode adapter.
type Events struct {
	Verifier *SlackVerifier
	Seen     EventDeduper
	Home     HomePublisher
	Log      *slog.Logger
	// WorkTimeout defaults to DefaultEventWorkTimeout.
	WorkTimeout time.Duration

	wg sync.WaitGroup
}

func (e *Events) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// ServeHTTP verifies the signature first (401 and nothing else on
// failure), decodes the event, acknowledges it and only then starts the
// work it asks for.
func (e *Events) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := e.Verifier.Verify(r)
	if err != nil {
		e.log().Warn("slack event rejected", "err", err)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid Slack signature"})
		return
	}
	// The signature already proved the sender; the deprecated verification
	// token is not checked.
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		e.log().Warn("slack event: malformed payload", "err", err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "malformed event payload"})
		return
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		e.log().Info("slack event retry", "retry_num", n, "retry_reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	ack, after, err := e.Serve(r.Context(), ev)
	if err != nil {
		// Nothing was started; Slack retries the event later.
		e.log().Error("slack event failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "try again"})
		return
	}
	if ack != nil {
		writeJSON(w, http.StatusOK, ack)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	if after != nil {
		// Push the acknowledgement out before the work starts.
		_ = http.NewResponseController(w).Flush()
		after()
	}
}

// Serve handles one decoded Events API envelope. It returns what to
// acknowledge with (the challenge for url_verification, else nil) and, when
// the event asks for work, a function the transport calls once it has
// acknowledged: it starts that work in the background. A retried delivery
// of an event already handled (same event_id) starts nothing; the database
// decides, so replicas agree. An error means the event could not even be
// recorded and should be answered so that Slack retries it.
func (e *Events) Serve(ctx context.Context, ev slackevents.EventsAPIEvent) (ack any, after func(), err error) {
	switch ev.Type {
	case slackevents.URLVerification:
		v, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if !ok {
			return nil, nil, fmt.Errorf("url_verification without a challenge")
		}
		return map[string]string{"challenge": v.Challenge}, nil, nil
	case slackevents.CallbackEvent:
	default:
		return nil, nil, nil
	}
	home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || home.Tab != "home" || home.User == "" {
		// Other events and the Messages tab need nothing.
		return nil, nil, nil
	}
	eventID := ""
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		eventID = cb.EventID
	}
	log := e.log().With("event", "app_home_opened", "event_id", eventID, "user_id", home.User)
	if eventID != "" {
		first, err := e.Seen.MarkEventSeen(ctx, eventID)
		if err != nil {
			return nil, nil, fmt.Errorf("app_home_opened %s: %w", eventID, err)
		}
		if !first {
			log.Info("slack event already handled")
			return nil, nil, nil
		}
	}
	timeout := e.WorkTimeout
	if timeout <= 0 {
		timeout = DefaultEventWorkTimeout
	}
	userID := home.User
	return nil, func() {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			defer cancel()
			if err := e.Home.PublishHome(wctx, userID); err != nil {
				log.Error("publish app home failed", "err", err)
			}
		}()
	}, nil
}

// Wait blocks until background work started by events has finished; call
// it on shutdown after the server has stopped accepting requests.
func (e *Events) Wait() { e.wg.Wait() }
