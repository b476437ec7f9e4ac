package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// TestSmokeHome runs the real binary: an alert is posted, a rep opens the
// App Home (app_home_opened → views.publish with a Claim button), clicks
// Claim in it (a view container, no response_url), the alert message in
// the channel is edited to show the claim and the rep's Home is published
// again with Mark contacted / Release; Mark contacted from the Home closes
// the loop the same way.
func TestSmokeHome(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}

	fake := slackfake.New(t)
	fake.SetToken(smokeBotToken)
	for _, ch := range []slackfake.Channel{{ID: "C0SDRPQL", Name: "sdr-pql"}, {ID: "C0AEHAND", Name: "ae-hand-raisers"}, {ID: "C0AEENT", Name: "ae-enterprise"}, {ID: "C0MGRS", Name: "sales-managers"}} {
		fake.AddChannel(ch)
	}
	srv := startServe(t,
		"DATABASE_URL="+storetest.NewURL(t),
		"PQLBOT_WRITE_KEYS="+smokeWriteKey,
		"SLACK_BOT_TOKEN="+smokeBotToken,
		"SLACK_SIGNING_SECRET="+smokeSecret,
		"SLACK_API_URL="+fake.APIURL(),
		"PQLBOT_SHUTDOWN_TIMEOUT=10s",
	)
	base := srv.Base

	client, err := analytics.NewWithConfig(smokeWriteKey, analytics.Config{Endpoint: base, BatchSize: 50, Interval: 50 * time.Millisecond})
	require.NoError(t, err)
	now := time.Now().UTC()
	for i, u := range []string{"h1", "h2", "h3"} {
		require.NoError(t, client.Enqueue(analytics.Identify{UserId: u, Traits: analytics.NewTraits().SetEmail(u + "@hooli.io").SetName("Hooli User " + u)}))
		require.NoError(t, client.Enqueue(analytics.Group{UserId: u, GroupId: "hooli", Traits: analytics.NewTraits().SetName("Hooli").Set("domain", "hooli.io").Set("employees", 120).Set("plan", "trial")}))
		require.NoError(t, client.Enqueue(analytics.Track{UserId: u, Event: "Workflow Completed", Timestamp: now.Add(-time.Duration(i+1) * time.Hour)}))
		require.NoError(t, client.Enqueue(analytics.Page{UserId: u, Name: "Pricing", Timestamp: now.Add(-time.Duration(i+1) * time.Hour)}))
		require.NoError(t, client.Enqueue(analytics.Track{UserId: u, Event: "Teammate Invited", Timestamp: now.Add(-time.Duration(i+1) * time.Hour)}))
	}
	require.NoError(t, client.Close())
	fake.WaitFor("chat.postMessage", 1, 30*time.Second)
	msgs := fake.Messages("C0SDRPQL")
	require.Len(t, msgs, 1)
	alert := msgs[0]
	alertID := fmt.Sprint(alert.Metadata.EventPayload["alert_id"])

	// The rep opens the Home. Slack may have the post a moment before
	// pqlbot has recorded it (the dispatcher commits after the answer), so
	// the rep opens the Home again until the alert is listed, as a person
	// would.
	var home string
	deadline := time.Now().Add(20 * time.Second)
	for i := 1; ; i++ {
		event := map[string]any{
			"type": "event_callback", "team_id": slackfake.TeamID, "api_app_id": "A0PQLBOT", "event_id": fmt.Sprintf("Ev0HOME%d", i), "event_time": now.Unix(),
			"event": map[string]any{"type": "app_home_opened", "user": "U0ANNA", "channel": "D0ANNA", "tab": "home", "event_ts": "1.2"},
		}
		body, _ := json.Marshal(event)
		status, resp := slackPost(t, base+"/slack/events", string(body), "application/json")
		require.Equal(t, 200, status, resp)
		fake.WaitFor("views.publish", i, 20*time.Second)
		home = homeOf(t, fake, "U0ANNA")
		if strings.Contains(home, "Open alerts nobody has claimed (1)") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Contains(t, home, "Open alerts nobody has claimed (1)")
	require.Contains(t, home, `"action_id":"pql_claim"`)
	require.Contains(t, home, alertID)
	publishes := len(fake.Calls("views.publish"))

	// Claim in the Home: the channel message is edited, the Home re-published.
	homeClick(t, base, alertID, "pql_claim")
	fake.WaitFor("chat.update", 1, 20*time.Second)
	m, _ := fake.Message("C0SDRPQL", alert.TS)
	require.Contains(t, strings.ReplaceAll(unescape(m.Blocks), "*", ""), "Claimed by <@U0ANNA>")
	fake.WaitFor("views.publish", publishes+1, 20*time.Second)
	home = homeOf(t, fake, "U0ANNA")
	require.Contains(t, home, "Your alerts waiting for contact (1)")
	require.Contains(t, home, `"action_id":"pql_contacted"`)
	require.Contains(t, home, "Open alerts nobody has claimed (0)")

	homeClick(t, base, alertID, "pql_contacted")
	fake.WaitFor("chat.update", 2, 20*time.Second)
	m, _ = fake.Message("C0SDRPQL", alert.TS)
	require.Contains(t, strings.ReplaceAll(unescape(m.Blocks), "*", ""), "Contacted by <@U0ANNA>")
	fake.WaitFor("views.publish", publishes+2, 20*time.Second)
	require.Contains(t, homeOf(t, fake, "U0ANNA"), "Your alerts waiting for contact (0)")
	require.Empty(t, fake.Calls("response_url"), "a Home click has no response_url to answer")

	require.NoError(t, srv.Cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, srv.Wait(t, 15*time.Second), "exit status")
}

func homeOf(t *testing.T, fake *slackfake.Server, user string) string {
	t.Helper()
	v, ok := fake.HomeView(user)
	require.True(t, ok, "no Home published for %s", user)
	return unescape(v)
}

// homeClick sends a button click made in U0ANNA's App Home, signed as
// Slack signs it: a view container and no response_url.
func homeClick(t *testing.T, base, alertID, action string) {
	t.Helper()
	payload := map[string]any{
		"type":      "block_actions",
		"user":      map[string]any{"id": "U0ANNA", "name": "anna"},
		"team":      map[string]any{"id": slackfake.TeamID},
		"container": map[string]any{"type": "view", "view_id": "V0HOME"},
		"view":      map[string]any{"id": "V0HOME", "type": "home"},
		"actions": []map[string]any{{
			"type": "button", "action_id": action, "block_id": "pql_actions:" + alertID, "value": alertID,
		}},
	}
	b, _ := json.Marshal(payload)
	status, body := slackPost(t, base+"/slack/interactions", url.Values{"payload": {string(b)}}.Encode(), "application/x-www-form-urlencoded")
	require.Equal(t, 200, status, body)
}
