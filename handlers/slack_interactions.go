package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// AlertActions is the alert service behind the buttons (alerting.Actions).
type AlertActions interface {
	Claim(ctx context.Context, id uuid.UUID, user string) (*alerting.Alert, error)
	Assign(ctx context.Context, id uuid.UUID, assignee, by string) (*alerting.Alert, error)
	Release(ctx context.Context, id uuid.UUID, user string) (*alerting.Alert, error)
	Contacted(ctx context.Context, id uuid.UUID, user string) (*alerting.Alert, error)
	NotFit(ctx context.Context, id uuid.UUID, user string) (*alerting.Alert, error)
	ChooseReason(ctx context.Context, id uuid.UUID, user, reason string) (alerting.NotFitClosed, error)
}

// Responder posts to an interaction's response_url (the Slack client's
// PostWebhook). Replies to the clicker go there, visible only to them.
type Responder interface {
	PostWebhook(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error
}

// HomeRefresher re-publishes a user's App Home, with a notice shown first
// (what became of their click); *commands.Service implements it.
type HomeRefresher interface {
	PublishHomeNotice(ctx context.Context, userID, notice string) error
}

// Interactions serves POST /slack/interactions: the alert buttons and the
// not-a-fit reason picker. The request is verified, decoded and
// acknowledged at once (Slack gives up after 3 seconds); the action runs
// after the ack. The alert message itself is re-rendered through the
// outbox, so it always shows the current state; only what concerns the
// clicker alone (a refusal, the picker) is answered here, ephemerally.
// Verifier, Actions, Responder and Log are required.
type Interactions struct {
	Verifier  *SlackVerifier
	Actions   AlertActions
	Responder Responder
	// Home, when set, re-publishes the clicker's App Home after a click
	// made in it (the Home has no response_url).
	Home HomeRefresher
	Log  *slog.Logger
	// Timeout bounds the work after the ack; default 30 s.
	Timeout time.Duration

	wg sync.WaitGroup
}

// ServeHTTP verifies the signature on the raw body (401 and nothing else
// otherwise), decodes the payload, answers 200 and handles the action in
// the background.
func (h *Interactions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := h.Verifier.Verify(r)
	if err != nil {
		h.Log.Warn("slack interaction rejected", "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	// The payload is read from the verified body only, never from the URL
	// query, so nothing unsigned can slip in.
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "missing payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), timeout)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer cancel()
		h.Handle(ctx, &cb)
	}()
}

// Wait blocks until every action accepted so far has been handled: tests
// wait on it, and shutdown calls it after the server stops accepting.
func (h *Interactions) Wait() { h.wg.Wait() }

// Handle runs the block actions of a verified interaction. It is the part
// a Socket Mode client shares with ServeHTTP.
func (h *Interactions) Handle(ctx context.Context, cb *slack.InteractionCallback) {
	if cb.Type != slack.InteractionTypeBlockActions {
		h.Log.Debug("slack interaction ignored", "type", string(cb.Type))
		return
	}
	for _, act := range cb.ActionCallback.BlockActions {
		h.act(ctx, cb, act)
	}
}

// act makes the one service call an action asks for and sends the clicker
// whatever they alone need to see.
func (h *Interactions) act(ctx context.Context, cb *slack.InteractionCallback, act *slack.BlockAction) {
	id, ok := alertIDOf(act)
	if !ok {
		h.Log.Warn("slack action without an alert id", "action_id", act.ActionID, "block_id", act.BlockID)
		return
	}
	user := cb.User.ID
	log := h.Log.With("action_id", act.ActionID, "alert_id", id.String(), "user", user)
	var (
		reply slackui.Reply
		err   error
		// The picker's own answers replace it, so it does not linger.
		replace bool
	)
	switch act.ActionID {
	case slackui.ActionClaim:
		_, err = h.Actions.Claim(ctx, id, user)
	case slackui.ActionAssign:
		// Assigning is claiming on behalf of the picked rep: the same
		// first-click-wins rule, so an alert claimed meanwhile stays with
		// whoever claimed it.
		if act.SelectedUser == "" {
			return
		}
		log = log.With("assignee", act.SelectedUser)
		_, err = h.Actions.Assign(ctx, id, act.SelectedUser, user)
	case slackui.ActionRelease:
		_, err = h.Actions.Release(ctx, id, user)
	case slackui.ActionContacted:
		_, err = h.Actions.Contacted(ctx, id, user)
	case slackui.ActionNotFit:
		var a *alerting.Alert
		if a, err = h.Actions.NotFit(ctx, id, user); err == nil {
			name := a.Explanation.Name
			reply = slackui.Reply{Text: slackui.NotFitReasonText(name), Blocks: slackui.NotFitReasonBlocks(a.ID.String(), name)}
		}
	case slackui.ActionNotFitReason:
		replace = true
		var closed alerting.NotFitClosed
		if closed, err = h.Actions.ChooseReason(ctx, id, user, act.SelectedOption.Value); err == nil {
			reply = slackui.Reply{Text: slackui.NotFitClosedText(closed.Reason, closed.SilencedUntil)}
		}
	default:
		log.Debug("unknown slack action ignored")
		return
	}
	if err != nil {
		reply = actionErrorReply(err, log)
	} else if cb.Container.IsEphemeral && reply.Text == "" {
		// A `/pql mine` reply: its message stays as it was, so say it
		// worked.
		reply = slackui.Reply{Text: slackui.ActionDoneText(act.ActionID)}
	}
	if fromHome(cb) {
		// The Home shows the alert's new state (and any refusal) when it
		// is published again; its buttons then act on current state.
		if h.Home == nil {
			return
		}
		if err := h.Home.PublishHomeNotice(ctx, user, reply.Text); err != nil {
			log.Error("re-publish app home", "err", err)
		}
		return
	}
	if reply.Text == "" && len(reply.Blocks) == 0 {
		return
	}
	if cb.ResponseURL == "" || h.Responder == nil {
		log.Warn("cannot answer the clicker: no response_url or responder", "reply", reply.Text)
		return
	}
	msg := reply.Ephemeral()
	msg.ReplaceOriginal = replace
	if len(reply.Blocks) == 0 {
		msg.Blocks = nil
	}
	if err := h.Responder.PostWebhook(ctx, cb.ResponseURL, msg); err != nil {
		log.Error("answer slack action", "err", err)
	}
}

// actionErrorReply is the one place errors of a rep's action become what
// the clicker is told.
func actionErrorReply(err error, log *slog.Logger) slackui.Reply {
	text := func(s string) slackui.Reply { return slackui.Reply{Text: s} }
	switch {
	case errors.Is(err, alerting.ErrAlreadyClaimed):
		return text(slackui.AlreadyClaimedText(alerting.Owner(err)))
	case errors.Is(err, alerting.ErrNotOwner):
		return text(slackui.NotOwnerText(alerting.Owner(err)))
	case errors.Is(err, alerting.ErrClosed):
		return text(slackui.AlreadyClosedText())
	case errors.Is(err, alerting.ErrNotFound):
		log.Warn("slack action on an unknown alert", "err", err)
		return text("This alert no longer exists.")
	case errors.Is(err, alerting.ErrInvalidAction):
		log.Warn("invalid slack action", "err", err)
		return text("That did not work: the message may be out of date. Try again from the alert.")
	}
	log.Error("slack action failed", "err", err)
	return text("Something went wrong on our side; please try again in a minute.")
}

// fromHome reports a click made in the App Home.
func fromHome(cb *slack.InteractionCallback) bool {
	return cb.View.Type == slack.VTHomeTab || (cb.Container.Type == "view" && cb.ResponseURL == "")
}

// alertIDOf reads the alert id from a button's value, or from the block id
// (the reason picker's select has no value of its own).
func alertIDOf(act *slack.BlockAction) (uuid.UUID, bool) {
	if id, err := uuid.Parse(act.Value); err == nil {
		return id, true
	}
	prefix, raw, ok := slackui.ParseBlockID(act.BlockID)
	if !ok || (prefix != slackui.BlockActions && prefix != slackui.BlockNotFitReason && prefix != slackui.BlockAssign) {
		return uuid.UUID{}, false
	}
	id, err := uuid.Parse(raw)
	return id, err == nil
}
