// Package socketmode receives Slack's slash commands, interactions and
// Events API deliveries over a Socket Mode websocket (SLACK_APP_TOKEN set)
// and hands each to the same service function the HTTP endpoints call after
// decoding, so both ways in behave identically. Socket Mode needs no public
// URL and no request signatures: the app-level token authenticates the
// connection.
//
// Every request is acknowledged with client.Ack; an acknowledgement must
// stay under 20 KB, so a command answer that is larger (or slower than the
// budget) goes through the command's response_url instead.
package socketmode

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	sm "github.com/slack-go/slack/socketmode"
)

// MaxAck is the largest acknowledgement payload sent. Slack silently drops
// Socket Mode responses of 20 KB or more; the envelope id and JSON framing
// around the payload take the margin.
const MaxAck = 20*1024 - 256

// Acker acknowledges a Socket Mode request; *socketmode.Client implements
// it.
type Acker interface {
	Ack(req sm.Request, payload ...any) error
}

// CommandServer answers a slash command (handlers.Commands).
type CommandServer interface {
	Serve(ctx context.Context, cmd slack.SlashCommand, maxAck int) *slack.WebhookMessage
}

// EventServer handles an Events API envelope (handlers.Events): what to
// acknowledge with, and work to start once acknowledged.
type EventServer interface {
	Serve(ctx context.Context, ev slackevents.EventsAPIEvent) (ack any, after func(), err error)
}

// InteractionServer runs a verified interaction's actions
// (handlers.Interactions). Slack wants the ack first; the adapter acks,
// then calls Handle.
type InteractionServer interface {
	Handle(ctx context.Context, cb *slack.InteractionCallback)
}

// InteractionTimeout bounds the work of one interaction after its ack.
const InteractionTimeout = 30 * time.Second

// Adapter turns Socket Mode events into service calls. A nil server for a
// kind acknowledges that kind's requests and drops them with a log line.
type Adapter struct {
	Commands     CommandServer
	Events       EventServer
	Interactions InteractionServer
	Log          *slog.Logger
}

func (a *Adapter) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Handle processes one event from the client's Events channel and
// acknowledges it through acker. Connection lifecycle events are only
// logged. Requests whose processing failed are not acknowledged, so Slack
// delivers them again.
func (a *Adapter) Handle(ctx context.Context, evt sm.Event, acker Acker) {
	log := a.log()
	switch evt.Type {
	case sm.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			log.Warn("socket mode: slash command without payload", "data", fmt.Sprintf("%T", evt.Data))
			return
		}
		if a.Commands == nil {
			a.ack(acker, evt.Request, nil)
			log.Warn("socket mode: slash command dropped: no command handler", "command", cmd.Command)
			return
		}
		a.ack(acker, evt.Request, a.Commands.Serve(ctx, cmd, MaxAck))
	case sm.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok || evt.Request == nil {
			log.Warn("socket mode: events_api without payload", "data", fmt.Sprintf("%T", evt.Data))
			return
		}
		if evt.Request.RetryAttempt > 0 {
			log.Info("slack event retry", "retry_num", evt.Request.RetryAttempt, "retry_reason", evt.Request.RetryReason)
		}
		if a.Events == nil {
			a.ack(acker, evt.Request, nil)
			return
		}
		ack, after, err := a.Events.Serve(ctx, ev)
		if err != nil {
			log.Error("socket mode: event failed; left unacknowledged for Slack to retry", "err", err)
			return
		}
		if a.ack(acker, evt.Request, ack) && after != nil {
			after()
		}
	case sm.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			log.Warn("socket mode: interaction without payload", "data", fmt.Sprintf("%T", evt.Data))
			return
		}
		if a.Interactions == nil {
			a.ack(acker, evt.Request, nil)
			log.Warn("socket mode: interaction dropped: no interaction handler", "type", string(cb.Type))
			return
		}
		if !a.ack(acker, evt.Request, nil) {
			return
		}
		// Like the HTTP path: acknowledged at once, then handled to the
		// end even if the connection is shutting down.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), InteractionTimeout)
		defer cancel()
		a.Interactions.Handle(wctx, &cb)
	case sm.EventTypeConnecting, sm.EventTypeConnected, sm.EventTypeHello:
		log.Info("socket mode: " + string(evt.Type))
	case sm.EventTypeDisconnect:
		log.Info("socket mode: Slack asked to reconnect")
	case sm.EventTypeConnectionError, sm.EventTypeIncomingError, sm.EventTypeErrorBadMessage, sm.EventTypeErrorWriteFailed:
		log.Warn("socket mode: "+string(evt.Type), "err", fmt.Sprint(evt.Data))
	case sm.EventTypeInvalidAuth:
		log.Error("socket mode: SLACK_APP_TOKEN was refused (invalid_auth)")
	default:
		log.Debug("socket mode: ignored event", "type", string(evt.Type))
	}
}

// ack acknowledges req, with payload when there is one, and reports
// whether it went out.
func (a *Adapter) ack(acker Acker, req *sm.Request, payload any) bool {
	var err error
	if payload == nil {
		err = acker.Ack(*req)
	} else {
		err = acker.Ack(*req, payload)
	}
	if err != nil {
		a.log().Error("socket mode: ack failed", "envelope_id", req.EnvelopeID, "err", err)
		return false
	}
	return true
}

// Run connects with client and serves its events until ctx ends, then
// waits for the requests in hand. Each request is handled on its own
// goroutine so a slow command never holds up the others. The client is
// sm.New(slack.New(botToken, slack.OptionAppLevelToken(appToken), ...)).
func (a *Adapter) Run(ctx context.Context, client *sm.Client) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt, ok := <-client.Events:
			if !ok {
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				a.Handle(ctx, evt, client)
			}()
		}
	}
}
