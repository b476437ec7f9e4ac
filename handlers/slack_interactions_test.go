package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackdelivery"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

const iaSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// iaT0 is a Monday 09:00 in New York, when the example model's business
// hours open, and later than the machine's clock, so queued jobs are due.
var iaT0 = time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)

// iaHTTP gives up long before the test does, so an ack that waits for
// the work fails the test instead of hanging it.
var iaHTTP = &http.Client{Timeout: 10 * time.Second}

type iaClock struct{ ns atomic.Int64 }

func (c *iaClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *iaClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *iaClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// iaEnv is the interactions endpoint over a real store, a fake Slack (Web
// API and response_urls) and a fake clock.
type iaEnv struct {
	st    *store.Store
	slack *slackfake.Server
	api   *slackapi.Client
	clock *iaClock
	model *model.Model
	h     *handlers.Interactions
	srv   *httptest.Server
	log   *slog.Logger
}

func newIAEnv(t *testing.T) *iaEnv {
	t.Helper()
	e := &iaEnv{st: storetest.New(t), slack: slackfake.New(t), clock: &iaClock{}, model: model.Default(),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e.clock.Set(iaT0)
	e.slack.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
	e.slack.AddChannel(slackfake.Channel{ID: "C0MANAGERS", Name: "sales-managers"})
	e.api = slackapi.New("xoxb-test", e.slack.APIURL())
	e.h = &handlers.Interactions{
		Verifier:  &handlers.SlackVerifier{Secret: iaSecret, Now: e.clock.Now},
		Actions:   &alerting.Actions{Store: e.st, Model: e.model, Log: e.log, Now: e.clock.Now},
		Responder: e.api,
		Log:       e.log,
	}
	e.srv = httptest.NewServer((&handlers.Server{Log: e.log, SlackInteractions: e.h}).Routes())
	t.Cleanup(e.srv.Close)
	return e
}

// alert opens an alert through the alerting service and posts it with the
// dispatcher, as pqlbot serve does.
func (e *iaEnv) alert(t *testing.T, account string) *alerting.Alert {
	t.Helper()
	res := &scoring.Result{AccountID: account, Name: "Acme " + account, Domain: account + ".example", Tier: "high",
		Segment: "smb", Score: 82, Alertable: true, ModelVersion: e.model.Version, At: e.clock.Now()}
	rt, ok := e.model.Route("high", "smb")
	require.True(t, ok)
	res.Route = &rt
	svc := &alerting.Service{Model: e.model, Store: e.st, Log: e.log, Now: e.clock.Now}
	d, err := svc.Evaluate(context.Background(), res)
	require.NoError(t, err)
	require.Equal(t, alerting.Create, d.Action)
	e.drain(t)
	a, err := e.st.GetAlert(context.Background(), d.Alert.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPosted, a.Delivery)
	return a
}

// drain runs a dispatcher until the outbox has nothing due.
func (e *iaEnv) drain(t *testing.T) {
	t.Helper()
	d := &alerting.Dispatcher{Outbox: e.st, Notifier: slackdelivery.NewSlack(e.api, &slackdelivery.Renderer{Model: e.model}, e.log), Model: e.model,
		Log: e.log, Now: e.clock.Now}
	for range 100 {
		n, err := d.RunOnce(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
	t.Fatal("outbox never drained")
}

// iaPayload is a block_actions payload as Slack sends it for a click by
// user; responseID names its response_url at the fake.
func (e *iaEnv) payload(user, responseID string, act map[string]any) []byte {
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user)},
		"api_app_id":   "A0PQLBOT",
		"team":         map[string]any{"id": slackfake.TeamID},
		"channel":      map[string]any{"id": "C0SDRPQL"},
		"container":    map[string]any{"type": "message", "channel_id": "C0SDRPQL", "message_ts": "1893765600.000100"},
		"trigger_id":   "123.456.abc",
		"response_url": e.slack.ResponseURL(responseID),
		"actions":      []any{act},
	}
	b, _ := json.Marshal(p)
	return []byte("payload=" + url.QueryEscape(string(b)))
}

func iaButton(action string, id uuid.UUID) map[string]any {
	return map[string]any{"type": "button", "action_id": action, "block_id": slackui.BlockID(slackui.BlockActions, id.String()),
		"value": id.String(), "action_ts": "1893765600.000200"}
}

func iaReason(id uuid.UUID, reason closereason.Reason) map[string]any {
	return map[string]any{"type": "static_select", "action_id": slackui.ActionNotFitReason,
		"block_id":        slackui.BlockID(slackui.BlockNotFitReason, id.String()),
		"selected_option": map[string]any{"value": string(reason), "text": map[string]any{"type": "plain_text", "text": reason.Label()}}}
}

// post sends body to /slack/interactions with headers.
func (e *iaEnv) post(t *testing.T, body []byte, h http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/slack/interactions", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := iaHTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// click signs and sends a click, and waits for its work to finish.
func (e *iaEnv) click(t *testing.T, user, responseID string, act map[string]any) {
	t.Helper()
	body := e.payload(user, responseID, act)
	require.Equal(t, http.StatusOK, e.post(t, body, slackfake.Sign(iaSecret, e.clock.Now(), body)))
	e.h.Wait()
}

type iaResponse struct {
	ID              string
	Text            string            `json:"text"`
	ResponseType    string            `json:"response_type"`
	ReplaceOriginal bool              `json:"replace_original"`
	Blocks          []json.RawMessage `json:"blocks"`
}

// responses returns what was posted to the response_urls, by response id.
func (e *iaEnv) responses(t *testing.T) map[string][]iaResponse {
	t.Helper()
	out := map[string][]iaResponse{}
	for _, c := range e.slack.Calls("response_url") {
		var r iaResponse
		require.NoError(t, json.Unmarshal(c.JSON, &r), string(c.JSON))
		r.ID = c.Params.Get("response_id")
		out[r.ID] = append(out[r.ID], r)
	}
	return out
}

func (e *iaEnv) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.st.Pool().QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

// iaTexts returns the mrkdwn of every section and context in blocks.
func iaTexts(t *testing.T, m slackfake.Message) string {
	t.Helper()
	bs, err := m.DecodeBlocks()
	require.NoError(t, err)
	var parts []string
	for _, b := range bs.BlockSet {
		switch b := b.(type) {
		case *slack.SectionBlock:
			if b.Text != nil {
				parts = append(parts, b.Text.Text)
			}
		case *slack.ContextBlock:
			for _, el := range b.ContextElements.Elements {
				if tx, ok := el.(*slack.TextBlockObject); ok {
					parts = append(parts, tx.Text)
				}
			}
		case *slack.HeaderBlock:
			parts = append(parts, b.Text.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func iaActionIDs(t *testing.T, m slackfake.Message) []string {
	t.Helper()
	bs, err := m.DecodeBlocks()
	require.NoError(t, err)
	var ids []string
	for _, b := range bs.BlockSet {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, el := range a.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					ids = append(ids, btn.ActionID)
				}
			}
		}
	}
	return ids
}

func TestInteractionSignatureFailures(t *testing.T) {
	e := newIAEnv(t)
	a := e.alert(t, "acme")
	body := e.payload("U0ANNA", "r1", iaButton(slackui.ActionClaim, a.ID))
	snapshot := func() string {
		var s string
		require.NoError(t, e.st.Pool().QueryRow(context.Background(), `
			SELECT (SELECT state || coalesce(claimed_by, '') FROM alerts WHERE id = $1)
				|| ' jobs ' || (SELECT count(*) FROM slack_outbox)
				|| ' audit ' || (SELECT count(*) FROM alert_audit)`, a.ID).Scan(&s))
		return s
	}
	before := snapshot()
	cases := []struct {
		name   string
		body   []byte
		header http.Header
	}{
		{"wrong secret", body, slackfake.Sign("not-the-secret", e.clock.Now(), body)},
		{"stale timestamp", body, slackfake.Sign(iaSecret, e.clock.Now().Add(-6*time.Minute), body)},
		{"timestamp from the future", body, slackfake.Sign(iaSecret, e.clock.Now().Add(6*time.Minute), body)},
		{"modified body", bytes.Replace(body, []byte("U0ANNA"), []byte("U0EVE0"), 1), slackfake.Sign(iaSecret, e.clock.Now(), body)},
		{"unsigned", body, http.Header{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, http.StatusUnauthorized, e.post(t, tc.body, tc.header))
			e.h.Wait()
			require.Equal(t, before, snapshot(), "nothing happened")
		})
	}
	require.Empty(t, e.slack.Calls("response_url"))

	t.Run("signed but malformed is 400", func(t *testing.T) {
		for _, b := range [][]byte{[]byte("payload=%7Bnot-json"), []byte("nopayload=1")} {
			require.Equal(t, http.StatusBadRequest, e.post(t, b, slackfake.Sign(iaSecret, e.clock.Now(), b)))
		}
		require.Equal(t, before, snapshot())
	})
	t.Run("the same click signed right claims", func(t *testing.T) {
		e.click(t, "U0ANNA", "r1", iaButton(slackui.ActionClaim, a.ID))
		require.NotEqual(t, before, snapshot())
	})
}

func TestFiftyConcurrentClaims(t *testing.T) {
	e := newIAEnv(t)
	a := e.alert(t, "acme")
	updatesBefore := e.count(t, `SELECT count(*) FROM slack_outbox WHERE alert_id = $1 AND kind = 'update'`, a.ID)
	const n = 50
	start := make(chan struct{})
	var wg sync.WaitGroup
	var slow atomic.Int64
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprintf("U0REP%03d", i)
			body := e.payload(user, user, iaButton(slackui.ActionClaim, a.ID))
			h := slackfake.Sign(iaSecret, e.clock.Now(), body)
			<-start
			began := time.Now()
			if code := e.post(t, body, h); code != http.StatusOK {
				t.Errorf("click by %s: %d", user, code)
			}
			if time.Since(began) > 3*time.Second {
				slow.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	e.h.Wait()
	require.Zero(t, slow.Load(), "every click is acknowledged inside Slack's 3 seconds")

	got, err := e.st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.StateClaimed, got.State)
	owner := got.ClaimedBy
	require.Regexp(t, `^U0REP\d{3}$`, owner)

	rs := e.responses(t)
	require.Len(t, rs, n-1, "everyone but the owner hears back")
	require.NotContains(t, rs, owner)
	for id, list := range rs {
		require.Len(t, list, 1, id)
		r := list[0]
		require.Equal(t, slackui.AlreadyClaimedText(owner), r.Text)
		require.Equal(t, slack.ResponseTypeEphemeral, r.ResponseType)
		require.False(t, r.ReplaceOriginal)
	}
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM slack_outbox WHERE alert_id = $1 AND kind = 'update'`, a.ID)-updatesBefore,
		"one queued message update for the claim")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM alert_audit WHERE alert_id = $1 AND action = 'claimed'`, a.ID))
	e.drain(t)
	msg, ok := e.slack.Message(got.ChannelID, got.MessageTS)
	require.True(t, ok)
	require.Equal(t, 1, msg.Updates)
	require.Contains(t, iaTexts(t, msg), "*Claimed* by <@"+owner+">")
}

func TestInteractionFlows(t *testing.T) {
	ctx := context.Background()
	e := newIAEnv(t)
	_, err := e.st.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name) VALUES ('acme', 'Acme')`)
	require.NoError(t, err)
	a := e.alert(t, "acme")
	state := func() *alerting.Alert {
		got, err := e.st.GetAlert(ctx, a.ID)
		require.NoError(t, err)
		return got
	}
	last := func(id string) iaResponse {
		rs := e.responses(t)[id]
		require.NotEmpty(t, rs, "no reply on %s", id)
		return rs[len(rs)-1]
	}

	t.Run("owner's repeated claim is a silent no-op", func(t *testing.T) {
		e.click(t, "U0ANNA", "claim1", iaButton(slackui.ActionClaim, a.ID))
		e.click(t, "U0ANNA", "claim2", iaButton(slackui.ActionClaim, a.ID))
		require.Equal(t, "U0ANNA", state().ClaimedBy)
		require.Empty(t, e.responses(t))
		require.Equal(t, 1, e.count(t, `SELECT count(*) FROM alert_audit WHERE alert_id = $1 AND action = 'claimed'`, a.ID))
	})
	t.Run("mark contacted by a non-owner is told who owns it", func(t *testing.T) {
		e.click(t, "U0BOB", "contact1", iaButton(slackui.ActionContacted, a.ID))
		r := last("contact1")
		require.Equal(t, slackui.NotOwnerText("U0ANNA"), r.Text)
		require.Equal(t, slack.ResponseTypeEphemeral, r.ResponseType)
		require.False(t, r.ReplaceOriginal)
		require.Equal(t, alerting.StateClaimed, state().State)
	})
	t.Run("release by the owner opens it again", func(t *testing.T) {
		e.click(t, "U0BOB", "release0", iaButton(slackui.ActionRelease, a.ID))
		require.Equal(t, slackui.NotOwnerText("U0ANNA"), last("release0").Text)
		e.click(t, "U0ANNA", "release1", iaButton(slackui.ActionRelease, a.ID))
		got := state()
		require.Equal(t, alerting.StateOpen, got.State)
		require.Empty(t, got.ClaimedBy)
		require.NotContains(t, e.responses(t), "release1")
		e.drain(t)
		msg, _ := e.slack.Message(got.ChannelID, got.MessageTS)
		require.Equal(t, []string{slackui.ActionClaim, slackui.ActionNotFit}, iaActionIDs(t, msg))
	})
	t.Run("not a fit asks for a reason, the reason closes", func(t *testing.T) {
		e.click(t, "U0BOB", "nf1", iaButton(slackui.ActionNotFit, a.ID))
		picker := last("nf1")
		require.Equal(t, slack.ResponseTypeEphemeral, picker.ResponseType)
		require.False(t, picker.ReplaceOriginal, "the picker is a new ephemeral message")
		require.Equal(t, slackui.NotFitReasonText("Acme acme"), picker.Text)
		want, err := json.Marshal(slackui.NotFitReasonBlocks(a.ID.String(), "Acme acme"))
		require.NoError(t, err)
		got, err := json.Marshal(picker.Blocks)
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(got))
		require.Equal(t, alerting.StateOpen, state().State, "nothing closes before a reason is chosen")

		e.clock.Add(time.Minute)
		e.click(t, "U0BOB", "nf2", iaReason(a.ID, closereason.Competitor))
		closed := state()
		require.Equal(t, alerting.StateClosed, closed.State)
		require.Equal(t, "U0BOB", closed.ClosedBy)
		require.Equal(t, string(closereason.Competitor), closed.CloseReason)
		var until time.Time
		require.NoError(t, e.st.Pool().QueryRow(ctx, `SELECT disqualified_until FROM accounts WHERE account_id = 'acme'`).Scan(&until))
		require.Equal(t, e.clock.Now().Add(e.model.DisqualifiedFor), until.UTC())
		confirm := last("nf2")
		require.True(t, confirm.ReplaceOriginal, "the confirmation replaces the picker")
		require.Contains(t, confirm.Text, "Closed as not a fit: Competitor")

		e.drain(t)
		msg, _ := e.slack.Message(closed.ChannelID, closed.MessageTS)
		require.Contains(t, iaTexts(t, msg), "*Closed* as not a fit by <@U0BOB>: competitor")
		require.Empty(t, iaActionIDs(t, msg))
	})
	t.Run("clicks on a closed alert are told so", func(t *testing.T) {
		e.click(t, "U0CARL", "late", iaButton(slackui.ActionClaim, a.ID))
		require.Equal(t, slackui.AlreadyClosedText(), last("late").Text)
	})
	t.Run("unknown alert and unknown reason", func(t *testing.T) {
		e.click(t, "U0CARL", "ghost", iaButton(slackui.ActionClaim, uuid.New()))
		require.Equal(t, "This alert no longer exists.", last("ghost").Text)
		e.click(t, "U0CARL", "badreason", iaReason(a.ID, "free_lunch"))
		require.Contains(t, last("badreason").Text, "out of date")
	})
	t.Run("foreign actions and payload types are ignored", func(t *testing.T) {
		before := len(e.slack.Calls("response_url"))
		e.click(t, "U0CARL", "foreign", map[string]any{"type": "button", "action_id": "someone_elses", "block_id": "x", "value": "1"})
		body := []byte("payload=" + url.QueryEscape(`{"type":"view_submission","user":{"id":"U0CARL"}}`))
		require.Equal(t, http.StatusOK, e.post(t, body, slackfake.Sign(iaSecret, e.clock.Now(), body)))
		e.h.Wait()
		require.Len(t, e.slack.Calls("response_url"), before)
	})
}

// blockingActions holds every Claim until released, to show the ack does
// not wait for the work.
type blockingActions struct {
	handlers.AlertActions
	release chan struct{}
	done    atomic.Bool
}

func (b *blockingActions) Claim(ctx context.Context, _ uuid.UUID, _ string) (*alerting.Alert, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.done.Store(true)
	return nil, ctx.Err()
}

func TestAckComesBeforeTheWork(t *testing.T) {
	e := newIAEnv(t)
	ba := &blockingActions{release: make(chan struct{})}
	e.h.Actions = ba
	body := e.payload("U0ANNA", "slow", iaButton(slackui.ActionClaim, uuid.New()))
	require.Equal(t, http.StatusOK, e.post(t, body, slackfake.Sign(iaSecret, e.clock.Now(), body)))
	require.False(t, ba.done.Load(), "acknowledged while the claim is still running")
	close(ba.release)
	e.h.Wait()
	require.True(t, ba.done.Load())
}

func TestClaimToContactedEndToEnd(t *testing.T) {
	ctx := context.Background()
	e := newIAEnv(t)
	a := e.alert(t, "acme")
	require.Equal(t, iaT0, a.PostedAt)
	posts := e.slack.Calls("chat.postMessage")
	require.Len(t, posts, 1)
	msg, ok := e.slack.Message(a.ChannelID, a.MessageTS)
	require.True(t, ok)
	require.Equal(t, []string{slackui.ActionClaim, slackui.ActionNotFit}, iaActionIDs(t, msg))

	e.clock.Set(iaT0.Add(35 * time.Minute))
	e.click(t, "U0ANNA", "claim", iaButton(slackui.ActionClaim, a.ID))
	e.drain(t)
	e.clock.Set(iaT0.Add(3*time.Hour + 12*time.Minute))
	e.click(t, "U0ANNA", "contact", iaButton(slackui.ActionContacted, a.ID))
	e.drain(t)

	updates := e.slack.Calls("chat.update")
	require.Len(t, updates, 2, "one update per state change, in order")
	require.Contains(t, updates[0].Params.Get("blocks"), `*Claimed* by \u003c@U0ANNA\u003e 35 min after the alert`)
	require.Contains(t, updates[1].Params.Get("blocks"), `*Contacted* by \u003c@U0ANNA\u003e 3 h 12 min after the alert — within SLA`)
	for _, u := range updates {
		require.Equal(t, a.ChannelID, u.Params.Get("channel"))
		require.Equal(t, a.MessageTS, u.Params.Get("ts"))
	}

	msg, _ = e.slack.Message(a.ChannelID, a.MessageTS)
	require.Equal(t, 2, msg.Updates)
	require.Contains(t, iaTexts(t, msg), "✅ *Contacted* by <@U0ANNA> 3 h 12 min after the alert — within SLA")
	require.Empty(t, iaActionIDs(t, msg), "no buttons once contacted")
	require.Empty(t, e.responses(t), "the owner's clicks need no private answer")

	got, err := e.st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.StateContacted, got.State)
	require.Equal(t, iaT0.Add(35*time.Minute), got.ClaimedAt)
	require.Equal(t, iaT0.Add(3*time.Hour+12*time.Minute), got.ContactedAt)
	require.Equal(t, "U0ANNA", got.ContactedBy)
	hours := alerting.Hours(e.model)
	require.Equal(t, 35*time.Minute, alerting.TimeToClaim(got, hours))
	require.Equal(t, 3*time.Hour+12*time.Minute, alerting.TimeToContact(got, hours))
	require.True(t, alerting.WithinSLA(got))

	trail, err := e.st.AlertAudit(ctx, a.ID)
	require.NoError(t, err)
	var steps []string
	for _, s := range trail {
		step := s.Actor + " " + s.Action
		if s.Actor != "pqlbot" { // the reps' steps carry the service's clock
			step += " " + s.At.Format("15:04")
		}
		steps = append(steps, step)
	}
	require.Equal(t, []string{"pqlbot created", "pqlbot posted", "U0ANNA claimed 14:35", "U0ANNA contacted 17:12"}, steps)
}
