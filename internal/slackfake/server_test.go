package slackfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackfake"
)

const (
	sdr     = "C0SDRPQL1"
	private = "G0PRIVATE"
	outside = "C0OUTSIDE"
	archive = "C0ARCHIVE"
)

func newFake(t *testing.T) (*slackfake.Server, *slack.Client) {
	t.Helper()
	f := slackfake.New(t)
	f.AddChannel(slackfake.Channel{ID: sdr, Name: "sdr-pql"})
	f.AddChannel(slackfake.Channel{ID: private, Name: "ae-private", Private: true})
	f.AddChannel(slackfake.Channel{ID: outside, Name: "general", NotMember: true})
	f.AddChannel(slackfake.Channel{ID: archive, Name: "old-alerts", Archived: true})
	f.AddChannel(slackfake.Channel{ID: "G0HIDDEN0", Name: "hidden", Private: true, NotMember: true})
	f.AddUser(slackfake.User{ID: "U0REP0001", Name: "ana", RealName: "Ana Rep", DisplayName: "ana.r"})
	return f, f.Client()
}

func alertBlocks(text string) []slack.Block {
	return []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
		slack.NewActionBlock("alert_actions",
			slack.NewButtonBlockElement("claim", "a1", slack.NewTextBlockObject(slack.PlainTextType, "Claim", false, false))),
	}
}

func TestAuthTest(t *testing.T) {
	_, api := newFake(t)
	res, err := api.AuthTestContext(t.Context())
	require.NoError(t, err)
	require.Equal(t, slackfake.BotUserID, res.UserID)
	require.Equal(t, slackfake.TeamID, res.TeamID)
}

func TestPostMessageStoresBlocksMetadataAndThread(t *testing.T) {
	f, api := newFake(t)
	meta := slack.SlackMetadata{EventType: "pql_alert", EventPayload: map[string]any{"alert_id": "a-1"}}
	ch, ts, err := api.PostMessageContext(t.Context(), sdr,
		slack.MsgOptionBlocks(alertBlocks("*Acme* hit Hot")...),
		slack.MsgOptionText("Acme hit Hot", false),
		slack.MsgOptionMetadata(meta))
	require.NoError(t, err)
	require.Equal(t, sdr, ch)
	require.Regexp(t, `^\d{10}\.\d{6}$`, ts)

	_, reply, err := api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("upgraded", false), slack.MsgOptionTS(ts))
	require.NoError(t, err)

	msgs := f.Messages(sdr)
	require.Len(t, msgs, 2)
	require.Equal(t, ts, msgs[0].TS)
	require.Equal(t, "Acme hit Hot", msgs[0].Text)
	require.Equal(t, &meta, msgs[0].Metadata)
	require.Equal(t, slackfake.BotUserID, msgs[0].User)
	blocks, err := msgs[0].DecodeBlocks()
	require.NoError(t, err)
	require.Len(t, blocks.BlockSet, 2)
	require.Contains(t, string(msgs[0].Blocks), `"action_id":"claim"`)
	require.Equal(t, reply, msgs[1].TS)
	require.Equal(t, ts, msgs[1].ThreadTS)

	calls := f.Calls("chat.postMessage")
	require.Len(t, calls, 2)
	require.Equal(t, sdr, calls[0].Params.Get("channel"))
	require.Equal(t, "xoxb-pqlbot-fake", calls[0].Token)
	require.Empty(t, calls[0].Params.Get("token"), "the token is kept out of Params")
	require.Equal(t, http.StatusOK, calls[0].Status)
}

func TestTimestampsAreUniquePerChannelUnderConcurrency(t *testing.T) {
	f, api := newFake(t)
	// A frozen clock is the worst case: every post lands in the same microsecond.
	frozen := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	f.SetClock(func() time.Time { return frozen })
	var wg sync.WaitGroup
	tss := make([]string, 40)
	for i := range tss {
		wg.Go(func() {
			_, ts, err := api.PostMessageContext(context.Background(), sdr, slack.MsgOptionText(fmt.Sprint(i), false))
			if err == nil {
				tss[i] = ts
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ts := range tss {
		require.NotEmpty(t, ts)
		require.False(t, seen[ts], "duplicate ts %s", ts)
		seen[ts] = true
	}
	require.Contains(t, seen, "1795338000.000000")
}

func TestChannelErrors(t *testing.T) {
	_, api := newFake(t)
	for _, tc := range []struct {
		name, channel, want string
	}{
		{"unknown id", "C0NOPE000", "channel_not_found"},
		{"name instead of id", "#sdr-pql", "channel_not_found"},
		{"not a member", outside, "not_in_channel"},
		{"private, not a member", "G0HIDDEN0", "channel_not_found"},
		{"archived", archive, "is_archived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(t.Context(), tc.channel, slack.MsgOptionText("hi", false))
			var se slack.SlackErrorResponse
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.want, se.Err)
		})
	}
}

func TestContentValidation(t *testing.T) {
	_, api := newFake(t)
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	for _, tc := range []struct {
		name string
		opts []slack.MsgOption
		want string
	}{
		{"no text", nil, "no_text"},
		{"too many blocks", []slack.MsgOption{slack.MsgOptionBlocks(many...)}, "invalid_blocks"},
		{"text too long", []slack.MsgOption{slack.MsgOptionText(strings.Repeat("x", 40001), false)}, "msg_too_long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(t.Context(), sdr, tc.opts...)
			var se slack.SlackErrorResponse
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.want, se.Err)
		})
	}
}

func TestUpdateMessage(t *testing.T) {
	f, api := newFake(t)
	_, ts, err := api.PostMessageContext(t.Context(), sdr, slack.MsgOptionBlocks(alertBlocks("open")...), slack.MsgOptionText("open", false))
	require.NoError(t, err)

	_, _, text, err := api.UpdateMessageContext(t.Context(), sdr, ts,
		slack.MsgOptionBlocks(alertBlocks("Claimed by <@U0REP0001>")...), slack.MsgOptionText("claimed", false))
	require.NoError(t, err)
	require.Equal(t, "claimed", text)

	m, ok := f.Message(sdr, ts)
	require.True(t, ok)
	require.Equal(t, 1, m.Updates)
	require.Equal(t, "claimed", m.Text)
	require.Contains(t, string(m.Blocks), "Claimed by")

	_, _, _, err = api.UpdateMessageContext(t.Context(), sdr, "1.000001", slack.MsgOptionText("x", false))
	require.EqualError(t, err, "message_not_found")

	seeded := f.AddMessage(slackfake.Message{Channel: sdr, Text: "a human wrote this"})
	_, _, _, err = api.UpdateMessageContext(t.Context(), sdr, seeded.TS, slack.MsgOptionText("x", false))
	require.EqualError(t, err, "cant_update_message")
}

func TestEphemeralPermalinkUsersAndHome(t *testing.T) {
	f, api := newFake(t)
	_, ts, err := api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("alert", false))
	require.NoError(t, err)

	ets, err := api.PostEphemeralContext(t.Context(), sdr, "U0REP0001", slack.MsgOptionText("already claimed", false))
	require.NoError(t, err)
	require.NotEmpty(t, ets)
	eph := f.Ephemerals(sdr)
	require.Len(t, eph, 1)
	require.Equal(t, "U0REP0001", eph[0].User)
	require.Equal(t, "already claimed", eph[0].Text)
	_, err = api.PostEphemeralContext(t.Context(), sdr, "U0STRANGER", slack.MsgOptionText("x", false))
	require.EqualError(t, err, "user_not_found")

	link, err := api.GetPermalinkContext(t.Context(), &slack.PermalinkParameters{Channel: sdr, Ts: ts})
	require.NoError(t, err)
	require.Equal(t, "https://pqlbot-fake.slack.com/archives/"+sdr+"/p"+strings.ReplaceAll(ts, ".", ""), link)
	_, err = api.GetPermalinkContext(t.Context(), &slack.PermalinkParameters{Channel: sdr, Ts: "1.000002"})
	require.EqualError(t, err, "message_not_found")

	u, err := api.GetUserInfoContext(t.Context(), "U0REP0001")
	require.NoError(t, err)
	require.Equal(t, "ana.r", u.Profile.DisplayName)
	_, err = api.GetUserInfoContext(t.Context(), "U0NOBODY0")
	require.EqualError(t, err, "user_not_found")

	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: alertBlocks("SLA 7d: 93%")}}
	resp, err := api.PublishViewContext(t.Context(), slack.PublishViewContextRequest{UserID: "U0MANAGER", View: view})
	require.NoError(t, err)
	require.NotEmpty(t, resp.ID)
	got, ok := f.HomeView("U0MANAGER")
	require.True(t, ok)
	require.Contains(t, string(got), "SLA 7d: 93%")
	require.Len(t, f.Calls("views.publish"), 1)
	require.JSONEq(t, `"U0MANAGER"`, string(mustField(t, f.Calls("views.publish")[0].JSON, "user_id")))
}

func mustField(t *testing.T, raw json.RawMessage, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return m[key]
}

func TestConversationsListPaginatesAndFilters(t *testing.T) {
	f, api := newFake(t)
	f.SetPageSize(2)
	var names []string
	cursor := ""
	pages := 0
	for {
		chans, next, err := api.GetConversationsContext(t.Context(), &slack.GetConversationsParameters{
			Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 200, Cursor: cursor,
		})
		require.NoError(t, err)
		pages++
		for _, c := range chans {
			names = append(names, c.Name)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, []string{"sdr-pql", "ae-private", "general"}, names)
	require.Equal(t, 2, pages)

	chans, _, err := api.GetConversationsContext(t.Context(), &slack.GetConversationsParameters{})
	require.NoError(t, err)
	require.Len(t, chans, 2, "public only by default, archived included")

	info, err := api.GetConversationInfoContext(t.Context(), &slack.GetConversationInfoInput{ChannelID: outside})
	require.NoError(t, err)
	require.Equal(t, "general", info.Name)
	require.False(t, info.IsMember)
	_, err = api.GetConversationInfoContext(t.Context(), &slack.GetConversationInfoInput{ChannelID: "G0HIDDEN0"})
	require.EqualError(t, err, "channel_not_found")

	_, _, err = api.GetConversationsContext(t.Context(), &slack.GetConversationsParameters{Cursor: "garbage"})
	require.EqualError(t, err, "invalid_cursor")
}

func TestHistoryNewestFirstWithMetadataAndBounds(t *testing.T) {
	f, api := newFake(t)
	base := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	f.SetClock(func() time.Time { return base })
	f.AddMessage(slackfake.Message{Channel: sdr, TS: "1795330000.000001", Text: "older, from someone else"})
	var tss []string
	for i := range 5 {
		_, ts, err := api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText(fmt.Sprint("alert ", i), false),
			slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "pql_alert", EventPayload: map[string]any{"alert_id": fmt.Sprint(i)}}))
		require.NoError(t, err)
		tss = append(tss, ts)
	}
	_, _, err := api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("reply", false), slack.MsgOptionTS(tss[0]))
	require.NoError(t, err)

	res, err := api.GetConversationHistoryContext(t.Context(), &slack.GetConversationHistoryParameters{ChannelID: sdr})
	require.NoError(t, err)
	require.Len(t, res.Messages, 6, "thread replies are not in history")
	require.Equal(t, tss[4], res.Messages[0].Timestamp)
	require.Equal(t, "1795330000.000001", res.Messages[5].Timestamp)
	require.Empty(t, res.Messages[0].Metadata.EventType, "metadata only with include_all_metadata")

	res, err = api.GetConversationHistoryContext(t.Context(), &slack.GetConversationHistoryParameters{
		ChannelID: sdr, IncludeAllMetadata: true, Oldest: tss[1], Limit: 2,
	})
	require.NoError(t, err)
	require.True(t, res.HasMore)
	require.Equal(t, []string{tss[4], tss[3]}, timestamps(res.Messages))
	require.Equal(t, "pql_alert", res.Messages[0].Metadata.EventType)
	require.Equal(t, "4", res.Messages[0].Metadata.EventPayload["alert_id"])

	res, err = api.GetConversationHistoryContext(t.Context(), &slack.GetConversationHistoryParameters{
		ChannelID: sdr, Oldest: tss[1], Limit: 2, Cursor: res.ResponseMetaData.NextCursor,
	})
	require.NoError(t, err)
	require.False(t, res.HasMore)
	require.Equal(t, []string{tss[2]}, timestamps(res.Messages), "oldest is exclusive")

	res, err = api.GetConversationHistoryContext(t.Context(), &slack.GetConversationHistoryParameters{
		ChannelID: sdr, Oldest: tss[1], Inclusive: true,
	})
	require.NoError(t, err)
	require.Len(t, res.Messages, 4)

	msgs, _, _, err := api.GetConversationRepliesContext(t.Context(), &slack.GetConversationRepliesParameters{
		ChannelID: sdr, Timestamp: tss[0], IncludeAllMetadata: true,
	})
	require.NoError(t, err)
	require.Equal(t, []string{"alert 0", "reply"}, []string{msgs[0].Text, msgs[1].Text})

	_, err = api.GetConversationHistoryContext(t.Context(), &slack.GetConversationHistoryParameters{ChannelID: outside})
	require.EqualError(t, err, "not_in_channel")
}

func timestamps(msgs []slack.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Timestamp)
	}
	return out
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  slackfake.Fault
		check  func(t *testing.T, err error)
		stored int
		status int
	}{
		{
			name:  "429 with Retry-After",
			fault: slackfake.RateLimited(7 * time.Second),
			check: func(t *testing.T, err error) {
				var rl *slack.RateLimitedError
				require.ErrorAs(t, err, &rl)
				require.Equal(t, 7*time.Second, rl.RetryAfter)
			},
			status: 429,
		},
		{
			name:  "429 without Retry-After",
			fault: slackfake.Fault{Status: 429},
			check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				require.ErrorAs(t, err, &sc)
				require.Equal(t, 429, sc.Code)
			},
			status: 429,
		},
		{
			name:  "503",
			fault: slackfake.ServerError(503),
			check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				require.ErrorAs(t, err, &sc)
				require.Equal(t, 503, sc.Code)
			},
			status: 503,
		},
		{
			name:   "ok false",
			fault:  slackfake.SlackError("channel_not_found"),
			check:  func(t *testing.T, err error) { require.EqualError(t, err, "channel_not_found") },
			status: 200,
		},
		{
			name:  "timeout",
			fault: slackfake.Timeout(),
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, context.DeadlineExceeded) },
		},
		{
			name:  "slower than the deadline",
			fault: slackfake.Slow(time.Minute),
			check: func(t *testing.T, err error) { require.ErrorIs(t, err, context.DeadlineExceeded) },
		},
		{
			name:   "slow but in time",
			fault:  slackfake.Slow(20 * time.Millisecond),
			check:  func(t *testing.T, err error) { require.NoError(t, err) },
			stored: 1,
			status: 200,
		},
		{
			name:  "accepted then 500",
			fault: slackfake.AcceptThenFail(),
			check: func(t *testing.T, err error) {
				var sc slack.StatusCodeError
				require.ErrorAs(t, err, &sc)
				require.Equal(t, 500, sc.Code)
			},
			stored: 1,
			status: 500,
		},
		{
			name:   "accepted then hang",
			fault:  slackfake.AcceptThenHang(),
			check:  func(t *testing.T, err error) { require.ErrorIs(t, err, context.DeadlineExceeded) },
			stored: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, api := newFake(t)
			f.FailNext("chat.postMessage", 1, tc.fault)
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			_, _, err := api.PostMessageContext(ctx, sdr, slack.MsgOptionText("hi", false))
			tc.check(t, err)
			require.Len(t, f.Messages(sdr), tc.stored)
			calls := f.WaitFor("chat.postMessage", 1, time.Second)
			require.True(t, calls[0].Faulted)
			require.Equal(t, tc.status, calls[0].Status)

			// The fault is used up: the next call succeeds.
			_, _, err = api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("again", false))
			require.NoError(t, err)
			require.Len(t, f.Messages(sdr), tc.stored+1)
		})
	}
}

func TestFaultsQueuePerMethod(t *testing.T) {
	f, api := newFake(t)
	f.FailNext("chat.postMessage", 2, slackfake.ServerError(500))
	f.FailNext("chat.postMessage", 1, slackfake.SlackError("internal_error"))
	var got []string
	for range 4 {
		_, _, err := api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("hi", false))
		got = append(got, fmt.Sprint(err))
	}
	require.Equal(t, []string{"slack server error: 500 Internal Server Error", "slack server error: 500 Internal Server Error", "internal_error", "<nil>"}, got)
	_, err := api.AuthTestContext(t.Context())
	require.NoError(t, err, "faults are per method")
}

func TestWaitForSeesCallsFromOtherGoroutines(t *testing.T) {
	f, api := newFake(t)
	go func() {
		for range 3 {
			_, _, _ = api.PostMessageContext(context.Background(), sdr, slack.MsgOptionText("hi", false))
		}
	}()
	calls := f.WaitFor("chat.postMessage", 3, 5*time.Second)
	require.Len(t, calls, 3)
	require.Len(t, f.Messages(sdr), 3, "a counted call has its message stored")
}

func TestSetMemberAndToken(t *testing.T) {
	f, api := newFake(t)
	_, _, err := api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("hi", false))
	require.NoError(t, err)
	f.SetMember(sdr, false)
	_, _, err = api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("hi", false))
	require.EqualError(t, err, "not_in_channel")
	f.SetMember(sdr, true)

	f.SetToken("xoxb-the-right-one")
	_, _, err = api.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("hi", false))
	require.EqualError(t, err, "invalid_auth")
	good := slack.New("xoxb-the-right-one", slack.OptionAPIURL(f.APIURL()))
	_, _, err = good.PostMessageContext(t.Context(), sdr, slack.MsgOptionText("hi", false))
	require.NoError(t, err)
	_, err = slack.New("", slack.OptionAPIURL(f.APIURL())).AuthTestContext(t.Context())
	require.EqualError(t, err, "not_authed")
}

func TestUnknownMethod(t *testing.T) {
	_, api := newFake(t)
	_, err := api.GetTeamInfoContext(t.Context())
	require.EqualError(t, err, "unknown_method")
}

func TestResponseURL(t *testing.T) {
	f, _ := newFake(t)
	u := f.ResponseURL("cmd-1")
	err := slack.PostWebhookContext(t.Context(), u, &slack.WebhookMessage{Text: "done", ResponseType: slack.ResponseTypeEphemeral})
	require.NoError(t, err)
	calls := f.Calls("response_url")
	require.Len(t, calls, 1)
	require.Equal(t, "cmd-1", calls[0].Params.Get("response_id"))
	require.JSONEq(t, `"done"`, string(mustField(t, calls[0].JSON, "text")))

	f.FailNext("response_url", 1, slackfake.ServerError(404))
	err = slack.PostWebhookContext(t.Context(), u, &slack.WebhookMessage{Text: "late"})
	var sc slack.StatusCodeError
	require.ErrorAs(t, err, &sc)
	require.Equal(t, 404, sc.Code)
}

func TestSign(t *testing.T) {
	t.Run("Slack's documented example", func(t *testing.T) {
		body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
		h := slackfake.Sign("8f742231b10e8888abcd99yyyzzz85a5", time.Unix(1531420618, 0), body)
		require.Equal(t, "1531420618", h.Get("X-Slack-Request-Timestamp"))
		require.Equal(t, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", h.Get("X-Slack-Signature"))
	})
	t.Run("slack-go verifies it", func(t *testing.T) {
		body := []byte(`payload={"type":"block_actions"}`)
		h := slackfake.Sign("s3cret", time.Now(), body)
		v, err := slack.NewSecretsVerifier(h, "s3cret")
		require.NoError(t, err)
		_, err = v.Write(body)
		require.NoError(t, err)
		require.NoError(t, v.Ensure())

		v, err = slack.NewSecretsVerifier(h, "wrong")
		require.NoError(t, err)
		_, err = v.Write(body)
		require.NoError(t, err)
		require.Error(t, v.Ensure())
	})
}

func TestCloseReleasesHangingRequests(t *testing.T) {
	f := slackfake.New(t)
	f.AddChannel(slackfake.Channel{ID: sdr, Name: "sdr-pql"})
	f.FailNext("chat.postMessage", 1, slackfake.Timeout())
	done := make(chan error, 1)
	go func() {
		_, _, err := f.Client().PostMessageContext(context.Background(), sdr, slack.MsgOptionText("hi", false))
		done <- err
	}()
	f.WaitFor("chat.postMessage", 1, 5*time.Second)
	start := time.Now()
	f.Close()
	require.Less(t, time.Since(start), 5*time.Second)
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("client still waiting after Close")
	}
}
