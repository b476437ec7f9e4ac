package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// homeClick is a click in the App Home as Slack sends it: a view
// container, the home view, and no response_url.
func (e *iaEnv) homeClick(t *testing.T, user string, act map[string]any) {
	t.Helper()
	p := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": user, "username": strings.ToLower(user)},
		"api_app_id": "A0PQLBOT",
		"team":       map[string]any{"id": slackfake.TeamID},
		"container":  map[string]any{"type": "view", "view_id": "V0HOME"},
		"view":       map[string]any{"id": "V0HOME", "type": "home"},
		"trigger_id": "123.456.abc",
		"actions":    []any{act},
	}
	b, _ := json.Marshal(p)
	body := []byte("payload=" + url.QueryEscape(string(b)))
	require.Equal(t, http.StatusOK, e.post(t, body, slackfake.Sign(iaSecret, e.clock.Now(), body)))
	e.h.Wait()
}

func iaAssign(id uuid.UUID, user string) map[string]any {
	return map[string]any{"type": "users_select", "action_id": slackui.ActionAssign,
		"block_id": slackui.BlockID(slackui.BlockAssign, id.String()), "selected_user": user, "action_ts": "1893765600.000300"}
}

// homeText is the mrkdwn of the Home last published to user.
func (e *iaEnv) homeText(t *testing.T, user string) string {
	t.Helper()
	v, ok := e.slack.HomeView(user)
	require.True(t, ok, "a Home was published for %s", user)
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(v))
}

// Buttons in the Home go through the same actions and rules as in the
// channel; the message is edited in the channel and the clicker's Home is
// published again, with a refusal shown in it (the Home has no ephemeral
// replies).
func TestHomeButtons(t *testing.T) {
	ctx := context.Background()
	e := newIAEnv(t)
	svc := &commands.Service{Store: e.st, Model: e.model, Now: e.clock.Now, Publisher: e.api, Log: e.log}
	e.h.Home = svc
	a := e.alert(t, "acme")
	b := e.alert(t, "globex")

	require.NoError(t, svc.PublishHome(ctx, "U0ANNA"))
	require.Contains(t, e.homeText(t, "U0ANNA"), `"action_id":"pql_claim"`)

	e.homeClick(t, "U0ANNA", iaButton(slackui.ActionClaim, a.ID))
	e.drain(t)
	got, err := e.st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.StateClaimed, got.State)
	require.Equal(t, "U0ANNA", got.ClaimedBy)
	msg, _ := e.slack.Message(a.ChannelID, a.MessageTS)
	require.Contains(t, plainText(t, msg), "Claimed by <@U0ANNA>", "the channel message is edited")
	home := e.homeText(t, "U0ANNA")
	require.Contains(t, home, "Your alerts waiting for contact (1)")
	require.Contains(t, home, `"action_id":"pql_contacted"`)
	require.Contains(t, home, "Mark contacted")
	require.Empty(t, e.responses(t), "nothing ephemeral for a Home click")

	// Bob is too late: the same first-click-wins rule, told in his Home.
	e.homeClick(t, "U0BOB", iaButton(slackui.ActionClaim, a.ID))
	require.Contains(t, e.homeText(t, "U0BOB"), "⚠️ Already claimed by <@U0ANNA>.")
	got, _ = e.st.GetAlert(ctx, a.ID)
	require.Equal(t, "U0ANNA", got.ClaimedBy)

	// A manager assigns the other alert to Bob: a claim on his behalf.
	e.homeClick(t, "U0MGR", iaAssign(b.ID, "U0BOB"))
	e.drain(t)
	got, _ = e.st.GetAlert(ctx, b.ID)
	require.Equal(t, alerting.StateClaimed, got.State)
	require.Equal(t, "U0BOB", got.ClaimedBy)
	msg, _ = e.slack.Message(b.ChannelID, b.MessageTS)
	require.Contains(t, plainText(t, msg), "Claimed by <@U0BOB>")
	_, ok := e.slack.HomeView("U0MGR")
	require.True(t, ok, "the manager's Home is published again")
	trail, err := e.st.AlertAudit(ctx, b.ID)
	require.NoError(t, err)
	last := trail[len(trail)-1]
	require.Equal(t, "U0BOB", last.Actor)
	require.Equal(t, "claimed", last.Action)
	require.JSONEq(t, `{"assigned_by": "U0MGR"}`, string(last.Detail), "the trail says who assigned it")
	// Assigning an alert someone holds is refused like a late claim.
	e.homeClick(t, "U0MGR", iaAssign(a.ID, "U0CAROL"))
	got, _ = e.st.GetAlert(ctx, a.ID)
	require.Equal(t, "U0ANNA", got.ClaimedBy)
	require.Contains(t, e.homeText(t, "U0MGR"), "Already claimed by <@U0ANNA>.")

	e.homeClick(t, "U0ANNA", iaButton(slackui.ActionContacted, a.ID))
	e.drain(t)
	got, _ = e.st.GetAlert(ctx, a.ID)
	require.Equal(t, alerting.StateContacted, got.State)
	require.Contains(t, e.homeText(t, "U0ANNA"), "Your alerts waiting for contact (0)")
	msg, _ = e.slack.Message(a.ChannelID, a.MessageTS)
	require.Contains(t, plainText(t, msg), "Contacted by <@U0ANNA>")
}

// The `/pql mine` reply carries the alert's buttons; a click there acts
// like one in the channel and is confirmed to the clicker alone.
func TestMineButtons(t *testing.T) {
	ctx := context.Background()
	e := newIAEnv(t)
	a := e.alert(t, "acme")
	e.click(t, "U0ANNA", "claim", iaButton(slackui.ActionClaim, a.ID))
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0ANNA", "username": "u0anna"},
		"team":         map[string]any{"id": slackfake.TeamID},
		"channel":      map[string]any{"id": "C0OTHER"},
		"container":    map[string]any{"type": "message", "channel_id": "C0OTHER", "message_ts": "1893765600.000900", "is_ephemeral": true},
		"response_url": e.slack.ResponseURL("mine"),
		"actions":      []any{iaButton(slackui.ActionContacted, a.ID)},
	}
	b, _ := json.Marshal(p)
	body := []byte("payload=" + url.QueryEscape(string(b)))
	require.Equal(t, http.StatusOK, e.post(t, body, slackfake.Sign(iaSecret, e.clock.Now(), body)))
	e.h.Wait()
	e.drain(t)
	got, err := e.st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.StateContacted, got.State)
	msg, _ := e.slack.Message(a.ChannelID, a.MessageTS)
	require.Contains(t, plainText(t, msg), "Contacted by <@U0ANNA>", "the alert in its channel is edited")
	rs := e.responses(t)["mine"]
	require.Len(t, rs, 1)
	require.Equal(t, slackui.ActionDoneText(slackui.ActionContacted), rs[0].Text)
	require.Equal(t, "ephemeral", rs[0].ResponseType)
	require.False(t, rs[0].ReplaceOriginal)
}

// plainText is the message's text without mrkdwn emphasis, so assertions
// name facts, not formatting.
func plainText(t *testing.T, m slackfake.Message) string {
	return strings.ReplaceAll(iaTexts(t, m), "*", "")
}
