package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// Slack's deadline is 3 s from its side; the budget leaves room for the
// network and for writing the answer.
const (
	// DefaultCommandBudget is how long a command may run before it is
	// acknowledged and completed through response_url instead.
	DefaultCommandBudget = 2 * time.Second
	// DefaultCommandTimeout bounds a command that went the response_url
	// way (the URL stays usable for 30 minutes; nobody waits that long).
	DefaultCommandTimeout = 25 * time.Second
)

// workingText acknowledges a command whose answer comes later.
const workingText = "⏳ Working on it…"

// CommandService answers one /pql command; *commands.Service implements it.
type CommandService interface {
	Handle(ctx context.Context, req commands.Request) slackui.Reply
}

// Commands serves POST /slack/commands. Serve is the transport-independent
// part, shared with the Socket Mode adapter.
type Commands struct {
	Verifier *SlackVerifier
	Service  CommandService
	// Responder posts answers that missed the budget to the command's
	// response_url.
	Responder Responder
	Log       *slog.Logger
	// Budget and Timeout default to DefaultCommandBudget and
	// DefaultCommandTimeout.
	Budget  time.Duration
	Timeout time.Duration

	wg sync.WaitGroup
}

func (c *Commands) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

// ServeHTTP verifies the signature on the raw body first (401 and nothing
// else on failure), parses the form and answers ephemerally.
func (c *Commands) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := c.Verifier.Verify(r)
	if err != nil {
		c.log().Warn("slack command rejected", "err", err)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid Slack signature"})
		return
	}
	// SlashCommandParse reads a form from the request body; give it the
	// verified bytes, never the original stream.
	form, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "/slack/commands", bytes.NewReader(body))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "malformed request"})
		return
	}
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cmd, err := slack.SlashCommandParse(form)
	if err != nil {
		c.log().Warn("slack command: malformed form", "err", err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "malformed form body"})
		return
	}
	writeJSON(w, http.StatusOK, c.Serve(r.Context(), cmd, 0))
}

// Serve runs a slash command within the budget. If the answer is ready in
// time it is returned as the ephemeral acknowledgement; otherwise a short
// "working on it" is returned at once and the answer follows through the
// command's response_url. maxAck, when positive, is the largest
// acknowledgement the transport can carry (Socket Mode: under 20 KB); a
// larger answer also goes through response_url.
func (c *Commands) Serve(ctx context.Context, cmd slack.SlashCommand, maxAck int) *slack.WebhookMessage {
	req := commands.Request{
		UserID: cmd.UserID, UserName: cmd.UserName, TeamID: cmd.TeamID, ChannelID: cmd.ChannelID,
		Command: cmd.Command, Text: cmd.Text, ResponseURL: cmd.ResponseURL,
	}
	log := c.log().With("command", cmd.Command, "user_id", cmd.UserID)
	budget := c.Budget
	if budget <= 0 {
		budget = DefaultCommandBudget
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	// The work must outlive the request if it overruns the budget, so it
	// does not inherit the request's cancellation.
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	ready := make(chan slackui.Reply)
	late := make(chan struct{})
	start := time.Now()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		reply := c.Service.Handle(work, req)
		select {
		case ready <- reply:
		case <-late:
			log.Info("slack command answered late", "elapsed", time.Since(start).Round(time.Millisecond))
			c.deliver(work, log, cmd.ResponseURL, reply.Ephemeral())
		}
	}()
	timer := time.NewTimer(budget)
	defer timer.Stop()
	select {
	case reply := <-ready:
		msg := reply.Ephemeral()
		if maxAck > 0 && ackSize(msg) >= maxAck {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
				defer dcancel()
				c.deliver(dctx, log, cmd.ResponseURL, msg)
			}()
			return working()
		}
		return msg
	case <-timer.C:
		close(late)
		return working()
	}
}

func working() *slack.WebhookMessage {
	return &slack.WebhookMessage{Text: workingText, ResponseType: slack.ResponseTypeEphemeral}
}

func ackSize(msg *slack.WebhookMessage) int {
	b, err := json.Marshal(msg)
	if err != nil {
		return 1 << 30
	}
	return len(b)
}

func (c *Commands) deliver(ctx context.Context, log *slog.Logger, responseURL string, msg *slack.WebhookMessage) {
	if responseURL == "" || c.Responder == nil {
		log.Error("slack command: answer ready but nowhere to send it", "has_response_url", responseURL != "")
		return
	}
	if err := c.Responder.PostWebhook(ctx, responseURL, msg); err != nil {
		log.Error("slack command: response_url post failed", "err", err)
	}
}

// Wait blocks until every command still running (answers on their way to
// a response_url) has finished; call it on shutdown after the server has
// stopped accepting requests.
func (c *Commands) Wait() { c.wg.Wait() }
