package slackapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackfake"
)

const (
	sdr      = "C0SDRPQL1"
	ae       = "G0AEPRIV1"
	outside  = "C0OUTSIDE"
	rep      = "U0REP0001"
	alertEvt = "pql_alert"
)

// observed collects OnCall reports.
type observed struct {
	mu    sync.Mutex
	calls []string
}

func (o *observed) add(method, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, method+" "+outcome)
}

func (o *observed) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}

// clock is a settable clock for cache expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func setup(t *testing.T, opts ...slackapi.Option) (*slackfake.Server, *slackapi.Client, *observed) {
	t.Helper()
	f := slackfake.New(t)
	f.AddChannel(slackfake.Channel{ID: sdr, Name: "sdr-pql"})
	f.AddChannel(slackfake.Channel{ID: ae, Name: "ae-pql", Private: true})
	f.AddChannel(slackfake.Channel{ID: outside, Name: "general", NotMember: true})
	f.AddChannel(slackfake.Channel{ID: "C0OLDALRT", Name: "old-alerts", Archived: true})
	f.AddChannel(slackfake.Channel{ID: "G0SECRET1", Name: "secret", Private: true, NotMember: true})
	f.AddUser(slackfake.User{ID: rep, Name: "ana", RealName: "Ana Rep", DisplayName: "ana.r"})
	f.AddUser(slackfake.User{ID: "U0REP0002", Name: "bo", RealName: "Bo Rep"})
	obs := &observed{}
	opts = append([]slackapi.Option{slackapi.WithOnCall(obs.add)}, opts...)
	return f, slackapi.New("xoxb-test", f.APIURL(), opts...), obs
}

func blocks(text string) []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
		slack.NewActionBlock("alert",
			slack.NewButtonBlockElement("claim", "a-1", slack.NewTextBlockObject(slack.PlainTextType, "Claim", false, false))),
	}
}

func meta(alertID any) *slack.SlackMetadata {
	return &slack.SlackMetadata{EventType: alertEvt, EventPayload: map[string]any{"alert_id": alertID}}
}

func TestPostUpdateEphemeralPermalink(t *testing.T) {
	f, c, obs := setup(t)
	ctx := t.Context()

	ts, err := c.PostMessage(ctx, sdr, blocks("*Acme* is Hot"), "Acme is Hot", "", false, meta("a-1"))
	require.NoError(t, err)
	reply, err := c.PostMessage(ctx, sdr, nil, "Acme moved up to Hand raiser", ts, false, nil)
	require.NoError(t, err)

	msgs := f.Messages(sdr)
	require.Len(t, msgs, 2)
	require.Equal(t, ts, msgs[0].TS)
	require.Equal(t, "Acme is Hot", msgs[0].Text)
	require.Contains(t, string(msgs[0].Blocks), `"action_id":"claim"`)
	require.Equal(t, meta("a-1"), msgs[0].Metadata)
	require.Equal(t, reply, msgs[1].TS)
	require.Equal(t, ts, msgs[1].ThreadTS)
	post := f.Calls("chat.postMessage")[0]
	require.Equal(t, "false", post.Params.Get("unfurl_links"))
	require.Equal(t, "xoxb-test", post.Token)

	require.NoError(t, c.UpdateMessage(ctx, sdr, ts, blocks("Claimed by <@U0REP0001>"), "Acme: claimed"))
	m, ok := f.Message(sdr, ts)
	require.True(t, ok)
	require.Equal(t, 1, m.Updates)
	require.Equal(t, "Acme: claimed", m.Text)
	require.Contains(t, string(m.Blocks), "Claimed by")

	require.NoError(t, c.PostEphemeral(ctx, sdr, "U0REP0002", nil, "Already claimed by <@U0REP0001>"))
	eph := f.Ephemerals(sdr)
	require.Len(t, eph, 1)
	require.Equal(t, "U0REP0002", eph[0].User)

	link, err := c.Permalink(ctx, sdr, ts)
	require.NoError(t, err)
	require.Equal(t, "https://pqlbot-fake.slack.com/archives/"+sdr+"/p"+strings.ReplaceAll(ts, ".", ""), link)

	require.Equal(t, []string{
		"chat.postMessage ok", "chat.postMessage ok", "chat.update ok", "chat.postEphemeral ok", "chat.getPermalink ok",
	}, obs.list())
}

func TestUpdateMessageErrorsCarryContext(t *testing.T) {
	_, c, _ := setup(t)
	err := c.UpdateMessage(t.Context(), sdr, "1700000000.000001", blocks("x"), "x")
	require.ErrorContains(t, err, "chat.update "+sdr+"/1700000000.000001")
	retry, _, reason := slackapi.Classify(err)
	require.False(t, retry)
	require.Equal(t, "message_not_found", reason)
}

func TestFindByMetadata(t *testing.T) {
	f, c, _ := setup(t)
	ctx := t.Context()
	start := time.Now()
	var want string
	for i := range 12 {
		ts, err := c.PostMessage(ctx, sdr, blocks("alert"), "alert", "", false, meta(fmt.Sprint("a-", i)))
		require.NoError(t, err)
		if i == 2 {
			want = ts
		}
	}
	_, err := c.PostMessage(ctx, sdr, nil, "numeric id", "", false, meta(42))
	require.NoError(t, err)
	f.AddMessage(slackfake.Message{Channel: sdr, Text: "other app", Metadata: &slack.SlackMetadata{
		EventType: "other_event", EventPayload: map[string]any{"alert_id": "a-5"},
	}})
	f.SetPageSize(4) // forces several history pages

	t.Run("found on a later page", func(t *testing.T) {
		before := len(f.Calls("conversations.history"))
		ts, found, err := c.FindByMetadata(ctx, sdr, alertEvt, "alert_id", "a-2", start)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, want, ts)
		calls := f.Calls("conversations.history")[before:]
		require.Greater(t, len(calls), 1)
		require.Equal(t, "1", calls[0].Params.Get("include_all_metadata"))
		require.Equal(t, slackapi.FormatTS(start.Add(-5*time.Minute)), calls[0].Params.Get("oldest"))
	})
	t.Run("numbers compare in decimal", func(t *testing.T) {
		_, found, err := c.FindByMetadata(ctx, sdr, alertEvt, "alert_id", "42", start)
		require.NoError(t, err)
		require.True(t, found)
	})
	t.Run("event type must match", func(t *testing.T) {
		ts, found, err := c.FindByMetadata(ctx, sdr, "other_event", "alert_id", "a-5", time.Time{})
		require.NoError(t, err)
		require.True(t, found)
		_, found, err = c.FindByMetadata(ctx, sdr, alertEvt, "alert_id", "a-99", time.Time{})
		require.NoError(t, err)
		require.False(t, found)
		require.NotEqual(t, want, ts)
	})
	t.Run("messages before since are not searched", func(t *testing.T) {
		_, found, err := c.FindByMetadata(ctx, sdr, alertEvt, "alert_id", "a-2", time.Now().Add(time.Hour))
		require.NoError(t, err)
		require.False(t, found)
	})
	t.Run("not in channel", func(t *testing.T) {
		_, _, err := c.FindByMetadata(ctx, outside, alertEvt, "alert_id", "a-2", start)
		require.ErrorContains(t, err, "not_in_channel")
		require.Equal(t, slackapi.ClassOperator, slackapi.ClassOf(err))
	})
}

// TestCrashWindow is the dispatcher's exactly-once path: the first attempt
// is accepted by Slack but its answer is lost; the retry finds the post by
// its metadata instead of posting again.
func TestCrashWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  slackfake.Fault
		reason string
	}{
		{"accepted then 500", slackfake.AcceptThenFail(), "http_500"},
		{"accepted then no answer", slackfake.AcceptThenHang(), "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c, _ := setup(t, slackapi.WithCallTimeout(500*time.Millisecond))
			firstAttempt := time.Now()
			f.FailNext("chat.postMessage", 1, tc.fault)
			_, err := c.PostMessage(t.Context(), sdr, blocks("Acme"), "Acme", "", false, meta("a-7"))
			retry, _, reason := slackapi.Classify(err)
			require.True(t, retry)
			require.Equal(t, tc.reason, reason)

			ts, found, err := c.FindByMetadata(t.Context(), sdr, alertEvt, "alert_id", "a-7", firstAttempt)
			require.NoError(t, err)
			require.True(t, found)
			require.Len(t, f.Messages(sdr), 1)
			require.Equal(t, ts, f.Messages(sdr)[0].TS)
		})
	}
}

func TestFindReplyByMetadata(t *testing.T) {
	f, c, _ := setup(t)
	ctx := t.Context()
	parent, err := c.PostMessage(ctx, sdr, blocks("Acme"), "Acme", "", false, meta("a-1"))
	require.NoError(t, err)

	_, found, err := c.FindReplyByMetadata(ctx, sdr, parent, alertEvt, "alert_id", "a-1")
	require.NoError(t, err)
	require.False(t, found, "the parent is not a reply")

	reply, err := c.PostMessage(ctx, sdr, nil, "moved up", parent, false, meta("a-1"))
	require.NoError(t, err)
	ts, found, err := c.FindReplyByMetadata(ctx, sdr, parent, alertEvt, "alert_id", "a-1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, reply, ts)
	require.Len(t, f.Calls("conversations.replies"), 2)
}

func TestResolveChannel(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	f, c, _ := setup(t, slackapi.WithClock(clk.now))
	f.SetPageSize(2) // 3 visible channels: two pages per sweep
	ctx := t.Context()
	sweeps := func() int { return len(f.Calls("conversations.list")) }

	t.Run("ids pass through without a call", func(t *testing.T) {
		for _, id := range []string{"C0123ABCD", "G0AEPRIV1", " C0NOTREAL9 "} {
			got, err := c.ResolveChannel(ctx, id)
			require.NoError(t, err)
			require.Equal(t, strings.TrimSpace(id), got)
		}
		require.Zero(t, sweeps())
	})
	t.Run("names resolve through conversations.list", func(t *testing.T) {
		id, err := c.ResolveChannel(ctx, "#sdr-pql")
		require.NoError(t, err)
		require.Equal(t, sdr, id)
		require.Equal(t, 2, sweeps(), "one sweep, two pages")
		call := f.Calls("conversations.list")[0]
		require.Equal(t, "public_channel,private_channel", call.Params.Get("types"))
		require.Equal(t, "true", call.Params.Get("exclude_archived"))
	})
	t.Run("cached: no further calls", func(t *testing.T) {
		for _, ref := range []string{"#sdr-pql", "sdr-pql", "#SDR-PQL", "#ae-pql", "#general"} {
			_, err := c.ResolveChannel(ctx, ref)
			require.NoError(t, err, ref)
		}
		require.Equal(t, 2, sweeps())
	})
	t.Run("unknown names are typed, retried errors", func(t *testing.T) {
		for _, ref := range []string{"#nope", "#old-alerts", "#secret"} {
			clk.advance(time.Minute) // past the miss throttle
			_, err := c.ResolveChannel(ctx, ref)
			var unknown *slackapi.UnknownChannelError
			require.ErrorAs(t, err, &unknown, ref)
			retry, after, reason := slackapi.Classify(err)
			require.True(t, retry)
			require.Equal(t, slackapi.OperatorWait, after)
			require.Equal(t, "channel_not_found", reason)
		}
		require.Equal(t, 8, sweeps(), "each miss refreshed once")
	})
	t.Run("misses refresh at most every 30 s", func(t *testing.T) {
		before := sweeps()
		for range 5 {
			_, err := c.ResolveChannel(ctx, "#nope")
			require.Error(t, err)
		}
		require.Equal(t, before, sweeps())
		// The operator creates the channel; the next refresh finds it.
		f.AddChannel(slackfake.Channel{ID: "C0NEWCHAN", Name: "nope"})
		clk.advance(31 * time.Second)
		id, err := c.ResolveChannel(ctx, "#nope")
		require.NoError(t, err)
		require.Equal(t, "C0NEWCHAN", id)
		require.Equal(t, before+2, sweeps(), "4 visible channels now: still two pages")
	})
	t.Run("expired cache is refreshed", func(t *testing.T) {
		before := sweeps()
		clk.advance(11 * time.Minute)
		_, err := c.ResolveChannel(ctx, "#sdr-pql")
		require.NoError(t, err)
		require.Equal(t, before+2, sweeps())
	})
	t.Run("a failed refresh still answers a known name", func(t *testing.T) {
		clk.advance(11 * time.Minute)
		f.FailNext("conversations.list", 1, slackfake.ServerError(503))
		id, err := c.ResolveChannel(ctx, "#sdr-pql")
		require.NoError(t, err)
		require.Equal(t, sdr, id)

		clk.advance(time.Minute)
		f.FailNext("conversations.list", 1, slackfake.RateLimited(20*time.Second))
		_, err = c.ResolveChannel(ctx, "#never-seen")
		retry, after, reason := slackapi.Classify(err)
		require.True(t, retry)
		require.Equal(t, 20*time.Second, after)
		require.Equal(t, "rate_limited", reason)
	})
}

func TestResolveChannelConcurrentMissesSweepOnce(t *testing.T) {
	f, c, _ := setup(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			id, err := c.ResolveChannel(context.Background(), "#ae-pql")
			if err != nil || id != ae {
				t.Errorf("resolve: %q, %v", id, err)
			}
		})
	}
	wg.Wait()
	require.Len(t, f.Calls("conversations.list"), 1)
}

func TestClassifyAgainstSlack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		channel string
		fault   *slackfake.Fault
		retry   bool
		after   time.Duration
		reason  string
		class   slackapi.Class
	}{
		{"429 with Retry-After", sdr, ptr(slackfake.RateLimited(7 * time.Second)), true, 7 * time.Second, "rate_limited", slackapi.ClassRateLimited},
		{"429 without Retry-After", sdr, &slackfake.Fault{Status: 429}, true, slackapi.DefaultRateLimitWait, "rate_limited", slackapi.ClassRateLimited},
		{"500", sdr, ptr(slackfake.ServerError(500)), true, 0, "http_500", slackapi.ClassTransient},
		{"503", sdr, ptr(slackfake.ServerError(503)), true, 0, "http_503", slackapi.ClassTransient},
		{"timeout", sdr, ptr(slackfake.Timeout()), true, 0, "timeout", slackapi.ClassTransient},
		{"channel_not_found", sdr, ptr(slackfake.SlackError("channel_not_found")), true, slackapi.OperatorWait, "channel_not_found", slackapi.ClassOperator},
		{"unknown channel id", "C0MISSING", nil, true, slackapi.OperatorWait, "channel_not_found", slackapi.ClassOperator},
		{"bot not in channel", outside, nil, true, slackapi.OperatorWait, "not_in_channel", slackapi.ClassOperator},
		{"archived", "C0OLDALRT", nil, false, 0, "is_archived", slackapi.ClassPermanent},
		{"invalid_blocks", sdr, ptr(slackfake.SlackError("invalid_blocks")), false, 0, "invalid_blocks", slackapi.ClassPermanent},
		{"msg_too_long", sdr, ptr(slackfake.SlackError("msg_too_long")), false, 0, "msg_too_long", slackapi.ClassPermanent},
		{"msg_blocks_too_long", sdr, ptr(slackfake.SlackError("msg_blocks_too_long")), false, 0, "msg_blocks_too_long", slackapi.ClassPermanent},
		{"token_revoked", sdr, ptr(slackfake.SlackError("token_revoked")), true, slackapi.OperatorWait, "token_revoked", slackapi.ClassOperator},
		{"internal_error", sdr, ptr(slackfake.SlackError("internal_error")), true, 0, "internal_error", slackapi.ClassTransient},
		{"ok:false ratelimited", sdr, ptr(slackfake.SlackError("ratelimited")), true, slackapi.DefaultRateLimitWait, "rate_limited", slackapi.ClassRateLimited},
		{"undocumented error", sdr, ptr(slackfake.SlackError("brand_new_error")), true, 0, "brand_new_error", slackapi.ClassUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c, _ := setup(t, slackapi.WithCallTimeout(500*time.Millisecond))
			if tc.fault != nil {
				f.FailNext("chat.postMessage", 1, *tc.fault)
			}
			start := time.Now()
			_, err := c.PostMessage(t.Context(), tc.channel, blocks("x"), "x", "", false, meta("a-1"))
			require.Error(t, err)
			require.Less(t, time.Since(start), 5*time.Second, "no retry inside the call")
			retry, after, reason := slackapi.Classify(err)
			require.Equal(t, tc.retry, retry)
			require.Equal(t, tc.after, after)
			require.Equal(t, tc.reason, reason)
			require.Equal(t, tc.class, slackapi.ClassOf(err))
			require.Len(t, f.Calls("chat.postMessage"), 1, "exactly one request: slack-go retries are off")
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestClassifyOtherErrors(t *testing.T) {
	closed := slackfake.New(t)
	closed.Close()
	_, err := slackapi.New("xoxb-test", closed.APIURL()).PostMessage(t.Context(), sdr, nil, "x", "", false, nil)
	require.Error(t, err)

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	_, c, _ := setup(t)
	_, cancelErr := c.PostMessage(canceled, sdr, nil, "x", "", false, nil)
	homeErr := c.PublishHome(t.Context(), "", slack.HomeTabViewRequest{})

	var syntax *json.SyntaxError
	jsonErr := json.Unmarshal([]byte("<html>"), &map[string]any{})
	require.ErrorAs(t, jsonErr, &syntax)

	for _, tc := range []struct {
		name   string
		err    error
		retry  bool
		reason string
		class  slackapi.Class
	}{
		{"nil", nil, false, "", slackapi.ClassNone},
		{"connection refused", err, true, "network", slackapi.ClassTransient},
		{"caller canceled", cancelErr, true, "canceled", slackapi.ClassTransient},
		{"missing parameters", homeErr, false, "invalid_arguments", slackapi.ClassPermanent},
		{"garbled answer", fmt.Errorf("wrapped: %w", jsonErr), true, "bad_response", slackapi.ClassTransient},
		{"wrapped slack error", fmt.Errorf("post alert a-1: %w", slack.SlackErrorResponse{Err: "not_in_channel"}), true, "not_in_channel", slackapi.ClassOperator},
		{"history too long", fmt.Errorf("x: %w", slackapi.ErrHistoryTooLong), true, "history_too_long", slackapi.ClassUnknown},
		{"something else", errors.New("boom"), true, "unexpected_error", slackapi.ClassUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retry, _, reason := slackapi.Classify(tc.err)
			require.Equal(t, tc.retry, retry)
			require.Equal(t, tc.reason, reason)
			require.Equal(t, tc.class, slackapi.ClassOf(tc.err))
		})
	}
}

func TestNextAttempt(t *testing.T) {
	unknown := slack.SlackErrorResponse{Err: "brand_new_error"}
	for attempt := 1; attempt < slackapi.MaxUnknownAttempts; attempt++ {
		retry, wait, reason := slackapi.NextAttempt(unknown, attempt)
		require.True(t, retry, attempt)
		require.Positive(t, wait)
		require.Equal(t, "brand_new_error", reason)
	}
	retry, _, _ := slackapi.NextAttempt(unknown, slackapi.MaxUnknownAttempts)
	require.False(t, retry, "unknown errors are bounded")

	retry, wait, _ := slackapi.NextAttempt(&slack.RateLimitedError{RetryAfter: 9 * time.Second}, 100)
	require.True(t, retry, "rate limits are never exhausted")
	require.Equal(t, 9*time.Second, wait)

	retry, wait, _ = slackapi.NextAttempt(slack.StatusCodeError{Code: 502}, 3)
	require.True(t, retry)
	require.GreaterOrEqual(t, wait, 4*time.Second)
	require.LessOrEqual(t, wait, 8*time.Second)

	retry, wait, _ = slackapi.NextAttempt(slack.SlackErrorResponse{Err: "not_in_channel"}, 50)
	require.True(t, retry)
	require.Equal(t, slackapi.OperatorWait, wait)

	retry, _, reason := slackapi.NextAttempt(slack.SlackErrorResponse{Err: "invalid_blocks"}, 1)
	require.False(t, retry)
	require.Equal(t, "invalid_blocks", reason)
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{-1, time.Second, 2 * time.Second},
		{1, time.Second, 2 * time.Second},
		{2, 2 * time.Second, 4 * time.Second},
		{5, 16 * time.Second, 32 * time.Second},
		{8, 128 * time.Second, 256 * time.Second},
		{9, slackapi.MaxBackoff / 2, slackapi.MaxBackoff},
		{64, slackapi.MaxBackoff / 2, slackapi.MaxBackoff},
		{1 << 30, slackapi.MaxBackoff / 2, slackapi.MaxBackoff},
	} {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := slackapi.Backoff(tc.attempt)
				require.GreaterOrEqual(t, d, tc.min)
				require.LessOrEqual(t, d, tc.max)
				seen[d] = true
			}
			require.Greater(t, len(seen), 1, "jittered")
		})
	}
}

func TestOnCallOutcomes(t *testing.T) {
	f, c, obs := setup(t)
	f.FailNext("chat.update", 1, slackfake.RateLimited(time.Second))
	f.FailNext("views.publish", 1, slackfake.ServerError(500))
	_, err := c.PostMessage(t.Context(), sdr, nil, "x", "", false, nil)
	require.NoError(t, err)
	require.Error(t, c.UpdateMessage(t.Context(), sdr, "1.000001", nil, "x"))
	require.Error(t, c.PublishHome(t.Context(), rep, slack.HomeTabViewRequest{}))
	require.Equal(t, []string{"chat.postMessage ok", "chat.update rate_limited", "views.publish error"}, obs.list())
}

func TestCallDeadline(t *testing.T) {
	t.Run("the call timeout bounds a call without a deadline", func(t *testing.T) {
		f, c, _ := setup(t, slackapi.WithCallTimeout(100*time.Millisecond))
		f.FailNext("chat.postMessage", 1, slackfake.Timeout())
		start := time.Now()
		_, err := c.PostMessage(context.Background(), sdr, nil, "x", "", false, nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 2*time.Second)
	})
	t.Run("an earlier caller deadline wins", func(t *testing.T) {
		f, c, _ := setup(t)
		f.FailNext("chat.postEphemeral", 1, slackfake.Slow(time.Minute))
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.PostEphemeral(ctx, sdr, rep, nil, "x")
		require.Less(t, time.Since(start), 2*time.Second)
		_, _, reason := slackapi.Classify(err)
		require.Equal(t, "timeout", reason)
	})
}

func TestPublishHome(t *testing.T) {
	f, c, _ := setup(t)
	view := slack.HomeTabViewRequest{Blocks: slack.Blocks{BlockSet: blocks("SLA 30d: 91% within SLA")}}
	require.NoError(t, c.PublishHome(t.Context(), rep, view))
	got, ok := f.HomeView(rep)
	require.True(t, ok)
	require.Contains(t, string(got), `"type":"home"`)
	require.Contains(t, string(got), "91% within SLA")
}

func TestPostWebhook(t *testing.T) {
	f, c, obs := setup(t, slackapi.WithCallTimeout(500*time.Millisecond))
	u := f.ResponseURL("T0/123/s3cr3t")
	require.NoError(t, c.PostWebhook(t.Context(), u, &slack.WebhookMessage{Text: "Acme: score 87", ResponseType: slack.ResponseTypeEphemeral}))
	calls := f.Calls("response_url")
	require.Len(t, calls, 1)
	require.Contains(t, string(calls[0].JSON), "Acme: score 87")

	f.FailNext("response_url", 1, slackfake.ServerError(404))
	err := c.PostWebhook(t.Context(), u, &slack.WebhookMessage{Text: "late"})
	retry, _, reason := slackapi.Classify(err)
	require.False(t, retry, "an expired response_url stays expired")
	require.Equal(t, "http_404", reason)

	f.FailNext("response_url", 1, slackfake.Timeout())
	err = c.PostWebhook(t.Context(), u, &slack.WebhookMessage{Text: "slow"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotContains(t, err.Error(), "s3cr3t", "the response_url is a credential")
	require.Contains(t, err.Error(), "<response_url>")
	require.Equal(t, []string{"response_url ok", "response_url error", "response_url error"}, obs.list())
}

func TestUserNameIsCached(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	f, c, _ := setup(t, slackapi.WithClock(clk.now))
	for _, tc := range []struct{ id, want string }{{rep, "ana.r"}, {"U0REP0002", "Bo Rep"}, {rep, "ana.r"}} {
		name, err := c.UserName(t.Context(), tc.id)
		require.NoError(t, err)
		require.Equal(t, tc.want, name)
	}
	require.Len(t, f.Calls("users.info"), 2)

	_, err := c.UserName(t.Context(), "U0NOBODY0")
	require.ErrorContains(t, err, "user_not_found")

	clk.advance(2 * time.Hour)
	f.FailNext("users.info", 1, slackfake.ServerError(500))
	name, err := c.UserName(t.Context(), rep)
	require.NoError(t, err, "a stale name beats no name")
	require.Equal(t, "ana.r", name)
}

func TestAuthTest(t *testing.T) {
	_, c, _ := setup(t)
	res, err := c.AuthTest(t.Context())
	require.NoError(t, err)
	require.Equal(t, slackfake.BotUserID, res.UserID)
	require.NotNil(t, c.API())
}

func TestTimestamps(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)
	require.Equal(t, "1795428000.123456", slackapi.FormatTS(at))
	got, err := slackapi.ParseTS("1795428000.123456")
	require.NoError(t, err)
	require.Equal(t, at, got)
	got, err = slackapi.ParseTS("1795428000")
	require.NoError(t, err)
	require.Equal(t, at.Truncate(time.Second), got)
	for _, bad := range []string{"", ".5", "1.", "x.1", "1.1234567", "-1.0", "1.-5", "1.+5", " 1.5"} {
		_, err := slackapi.ParseTS(bad)
		require.Error(t, err, bad)
	}
}
