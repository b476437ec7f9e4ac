package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/store/storetest"
)

const slashSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// slashClock is the instant every signed request in these tests claims.
var slashClock = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

// recordingService is a CommandService that records what it was asked and
// answers after delay.
type recordingService struct {
	mu    sync.Mutex
	reqs  []commands.Request
	delay time.Duration
}

func (s *recordingService) Handle(ctx context.Context, req commands.Request) slackui.Reply {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return slackui.Reply{Text: "cancelled"}
		}
	}
	return slackui.HelpReply(req.Command, "")
}

func (s *recordingService) calls() []commands.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]commands.Request(nil), s.reqs...)
}

func slashForm(text, responseURL string) url.Values {
	return url.Values{
		"token": {"deprecated"}, "team_id": {"T0001"}, "team_domain": {"acme"}, "channel_id": {"C0SALES01"},
		"channel_name": {"sales"}, "user_id": {"U0ALICE01"}, "user_name": {"alice"}, "command": {"/pql"},
		"text": {text}, "response_url": {responseURL}, "trigger_id": {"13345224609.738474920.8088930838d88f008e0"},
		"api_app_id": {"A0PQLBOT1"},
	}
}

// slashPost sends body to url signed with secret at ts, as Slack does.
func slashPost(t *testing.T, target, secret string, ts time.Time, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range handlers.SignSlack(secret, ts, body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func newSlashServer(t *testing.T, c *handlers.Commands) string {
	t.Helper()
	c.Verifier = &handlers.SlackVerifier{Secret: slashSecret, Now: func() time.Time { return slashClock }}
	srv := httptest.NewServer((&handlers.Server{SlackCommands: c}).Routes())
	t.Cleanup(srv.Close)
	t.Cleanup(c.Wait)
	return srv.URL + "/slack/commands"
}

func TestSlashCommandSignatureFailures(t *testing.T) {
	svc := &recordingService{}
	target := newSlashServer(t, &handlers.Commands{Service: svc})
	body := []byte(slashForm("top", "https://hooks.slack.com/commands/T0001/1/abc").Encode())

	cases := []struct {
		name string
		send func() (int, []byte)
	}{
		{"wrong secret", func() (int, []byte) { return slashPost(t, target, "not-the-secret", slashClock, body) }},
		{"stale timestamp", func() (int, []byte) { return slashPost(t, target, slashSecret, slashClock.Add(-6*time.Minute), body) }},
		{"timestamp from the future", func() (int, []byte) { return slashPost(t, target, slashSecret, slashClock.Add(6*time.Minute), body) }},
		{"modified body", func() (int, []byte) {
			req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(bytes.Replace(body, []byte("top"), []byte("sla"), 1)))
			for k, v := range handlers.SignSlack(slashSecret, slashClock, body) {
				req.Header[k] = v
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}},
		{"no signature", func() (int, []byte) {
			resp, err := http.Post(target, "application/x-www-form-urlencoded", bytes.NewReader(body))
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := c.send()
			require.Equal(t, http.StatusUnauthorized, status)
			require.NotContains(t, string(out), "Usage")
		})
	}
	require.Empty(t, svc.calls(), "nothing happens on a bad signature")
}

func TestSlashCommandAnswersInTheResponse(t *testing.T) {
	svc := &recordingService{}
	target := newSlashServer(t, &handlers.Commands{Service: svc})
	body := []byte(slashForm("  help  ", "https://hooks.slack.com/commands/T0001/1/abc").Encode())

	status, out := slashPost(t, target, slashSecret, slashClock, body)
	require.Equal(t, http.StatusOK, status)
	var msg slack.WebhookMessage
	require.NoError(t, json.Unmarshal(out, &msg))
	require.Equal(t, slack.ResponseTypeEphemeral, msg.ResponseType)
	require.Equal(t, "pqlbot help", msg.Text)
	require.NotNil(t, msg.Blocks)
	require.NotEmpty(t, msg.Blocks.BlockSet)

	require.Equal(t, []commands.Request{{
		UserID: "U0ALICE01", UserName: "alice", TeamID: "T0001", ChannelID: "C0SALES01", Command: "/pql",
		Text: "  help  ", ResponseURL: "https://hooks.slack.com/commands/T0001/1/abc",
	}}, svc.calls())
}

func TestSlashCommandMalformedForm(t *testing.T) {
	svc := &recordingService{}
	target := newSlashServer(t, &handlers.Commands{Service: svc})
	status, _ := slashPost(t, target, slashSecret, slashClock, []byte("text=%zz&command=/pql"))
	require.Equal(t, http.StatusBadRequest, status)
	require.Empty(t, svc.calls())
}

// A command slower than the budget is acknowledged at once and answered
// through its response_url.
func TestSlowSlashCommandGoesThroughResponseURL(t *testing.T) {
	fake := slackfake.New(t)
	svc := &recordingService{delay: 300 * time.Millisecond}
	c := &handlers.Commands{Service: svc, Responder: slackapi.New("xoxb-test", fake.APIURL()), Budget: 50 * time.Millisecond}
	target := newSlashServer(t, c)
	body := []byte(slashForm("sla 90d", fake.ResponseURL("slow-1")).Encode())

	start := time.Now()
	status, out := slashPost(t, target, slashSecret, slashClock, body)
	elapsed := time.Since(start)
	require.Equal(t, http.StatusOK, status)
	require.Less(t, elapsed, 250*time.Millisecond, "acknowledged within the budget, not after the work")
	var ack slack.WebhookMessage
	require.NoError(t, json.Unmarshal(out, &ack))
	require.Equal(t, slack.ResponseTypeEphemeral, ack.ResponseType)
	require.Contains(t, ack.Text, "Working on it")

	calls := fake.WaitFor("response_url", 1, 5*time.Second)
	require.Equal(t, "slow-1", calls[0].Params.Get("response_id"))
	var late slack.WebhookMessage
	require.NoError(t, json.Unmarshal(calls[0].JSON, &late))
	require.Equal(t, slack.ResponseTypeEphemeral, late.ResponseType)
	require.Equal(t, "pqlbot help", late.Text)
	c.Wait()
	require.Len(t, fake.Calls("response_url"), 1, "answered once")
}

// The real service behind the route: an empty workspace answers every
// subcommand, and unknown input gets the help, never a 500.
func TestSlashCommandWithTheRealService(t *testing.T) {
	st := storetest.New(t)
	svc := &commands.Service{Store: st, Model: model.Default(), Now: func() time.Time { return slashClock }}
	target := newSlashServer(t, &handlers.Commands{Service: svc})
	for _, c := range []struct{ text, want string }{
		{"top", "No scored accounts yet."},
		{"mine", "You have no claimed alerts"},
		{"sla 30d", "No alerts were posted in the last 30 days"},
		{"score acme.com", "No account matches"},
		{"launch the rockets", "I didn't understand that: unknown subcommand"},
		{strings.Repeat("x", 10_000), "too long"},
	} {
		status, out := slashPost(t, target, slashSecret, slashClock, []byte(slashForm(c.text, "").Encode()))
		require.Equal(t, http.StatusOK, status, c.text)
		var msg slack.WebhookMessage
		require.NoError(t, json.Unmarshal(out, &msg))
		require.Contains(t, msg.Text, c.want)
	}
}
