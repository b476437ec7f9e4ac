package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store/storetest"
)

const (
	smokeWriteKey = "smoke-write-key-7f3a9c"
	smokeBotToken = "xoxb-smoke-bot-token-5d2e8b"
	smokeSecret   = "smoke-signing-secret-91c4aa"
)

// TestSmoke runs the real binary against real PostgreSQL and a Slack
// stand-in: events through the Segment client → a routed alert → Claim →
// Mark contacted → /pql score → SIGTERM, and no secret in the log.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := storetest.NewURL(t)
	fake := slackfake.New(t)
	fake.SetToken(smokeBotToken)
	for _, ch := range []slackfake.Channel{{ID: "C0SDRPQL", Name: "sdr-pql"}, {ID: "C0AEHAND", Name: "ae-hand-raisers"}, {ID: "C0AEENT", Name: "ae-enterprise"}, {ID: "C0MGRS", Name: "sales-managers"}} {
		fake.AddChannel(ch)
	}
	fake.AddUser(slackfake.User{ID: "U0ANNA", Name: "anna", RealName: "Anna Rep"})

	debugAddr := freeAddr(t)
	srv := startServe(t,
		"DATABASE_URL="+dbURL,
		"PQLBOT_WRITE_KEYS="+smokeWriteKey,
		"SLACK_BOT_TOKEN="+smokeBotToken,
		"SLACK_SIGNING_SECRET="+smokeSecret,
		"SLACK_API_URL="+fake.APIURL(),
		"PQLBOT_ACCOUNT_URL=https://crm.example.com/accounts/{account}",
		"PQLBOT_SHUTDOWN_TIMEOUT=10s",
		"PQLBOT_DEBUG_ADDR="+debugAddr,
	)
	base := srv.Base

	// An account that crosses into the high tier (mid-market → #sdr-pql).
	client, err := analytics.NewWithConfig(smokeWriteKey, analytics.Config{Endpoint: base, BatchSize: 50, Interval: 50 * time.Millisecond})
	require.NoError(t, err)
	now := time.Now().UTC()
	for i, u := range []string{"u1", "u2", "u3"} {
		require.NoError(t, client.Enqueue(analytics.Identify{UserId: u, Traits: analytics.NewTraits().SetEmail(u + "@acme.io")}))
		require.NoError(t, client.Enqueue(analytics.Group{UserId: u, GroupId: "acme", Traits: analytics.NewTraits().SetName("Acme Inc").Set("domain", "acme.io").Set("employees", 120).Set("plan", "trial")}))
		require.NoError(t, client.Enqueue(analytics.Track{UserId: u, Event: "Workflow Completed", Timestamp: now.Add(-time.Duration(i+1) * time.Hour)}))
		require.NoError(t, client.Enqueue(analytics.Page{UserId: u, Name: "Pricing", Timestamp: now.Add(-time.Duration(i+1) * time.Hour)}))
	}
	require.NoError(t, client.Enqueue(analytics.Track{UserId: "u1", Event: "Teammate Invited"}))
	require.NoError(t, client.Enqueue(analytics.Track{UserId: "u2", Event: "Teammate Invited"}))
	require.NoError(t, client.Close())

	posts := fake.WaitFor("chat.postMessage", 1, 30*time.Second)
	require.Len(t, posts, 1)
	msgs := fake.Messages("C0SDRPQL")
	require.Len(t, msgs, 1, "exactly one alert, in the routed channel")
	alert := msgs[0]
	require.Contains(t, string(alert.Blocks), "Core workflow completed")
	require.Contains(t, string(alert.Blocks), "pql_claim")
	require.Contains(t, string(alert.Blocks), "https://crm.example.com/accounts/acme")
	// Who to contact: the identified users, with their email as a link.
	require.Contains(t, unescape(alert.Blocks), "*Who to contact*")
	require.Contains(t, unescape(alert.Blocks), "<mailto:u1@acme.io|u1@acme.io>")
	require.Contains(t, unescape(alert.Blocks), "🟢 *Open* · due")
	require.Contains(t, alert.Text, "Acme Inc — u")
	require.Contains(t, alert.Text, "@acme.io ")
	require.Contains(t, alert.Text, " · SDR · due ")
	require.NotNil(t, alert.Metadata)
	require.Equal(t, "pql_alert", alert.Metadata.EventType)
	alertID := fmt.Sprint(alert.Metadata.EventPayload["alert_id"])

	// Claim, then Mark contacted, signed exactly as Slack signs.
	click(t, base, fake, alertID, "pql_claim", "C0SDRPQL", alert.TS)
	fake.WaitFor("chat.update", 1, 20*time.Second)
	m, _ := fake.Message("C0SDRPQL", alert.TS)
	require.Contains(t, unescape(m.Blocks), "*Claimed* by <@U0ANNA>")
	click(t, base, fake, alertID, "pql_contacted", "C0SDRPQL", alert.TS)
	fake.WaitFor("chat.update", 2, 20*time.Second)
	m, _ = fake.Message("C0SDRPQL", alert.TS)
	require.Contains(t, unescape(m.Blocks), "*Contacted* by <@U0ANNA>")
	require.Contains(t, string(m.Blocks), "within SLA")

	// /pql score, answered ephemerally.
	form := url.Values{"command": {"/pql"}, "text": {"score acme.io"}, "user_id": {"U0ANNA"}, "channel_id": {"C0SDRPQL"},
		"team_id": {slackfake.TeamID}, "response_url": {fake.ResponseURL("cmd")}}
	status, body := slackPost(t, base+"/slack/commands", form.Encode(), "application/x-www-form-urlencoded")
	require.Equal(t, 200, status, body)
	require.Contains(t, body, "ephemeral")
	require.Contains(t, body, "Acme Inc")

	// An unsigned request does nothing.
	req, _ := http.NewRequest(http.MethodPost, base+"/slack/interactions", strings.NewReader("payload={}"))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)

	// Profiles on the operators' listener only, never on the service port.
	require.Contains(t, get(t, "http://"+debugAddr+"/debug/pprof/goroutine?debug=1"), "goroutine profile")
	resp, err = http.Get(base + "/debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)

	// A path nobody serves (an SDK pointed at the wrong URL) is counted,
	// under a bounded label.
	resp, err = http.Post(base+"/v2/track", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)

	metrics := get(t, base+"/metrics")
	require.Contains(t, metrics, "pqlbot_events_ingested_total")
	require.Regexp(t, `pqlbot_build_info\{goversion="go[^"]+",revision="[^"]+",version="[^"]+"\} 1`, metrics)
	require.Contains(t, metrics, `pqlbot_http_request_duration_seconds_count{code="200",method="POST",route="/slack/interactions"}`)
	require.Contains(t, metrics, `pqlbot_http_request_duration_seconds_count{code="404",method="POST",route="unmatched"} 1`)
	require.Contains(t, metrics, `pqlbot_slack_api_calls_total{method="chat.postMessage",outcome="ok"} 1`)

	// SIGTERM: drains and exits cleanly within the budget.
	require.NoError(t, srv.Cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, srv.Wait(t, 15*time.Second), "exit status")
	log := srv.Log.String()
	require.Contains(t, log, `"msg":"stopped"`)
	require.Contains(t, log, `"route":"POST /slack/interactions","status":200`)
	require.Contains(t, log, `"request_id"`)
	require.Contains(t, log, `"account_id":"acme"`)
	for _, secret := range []string{smokeWriteKey, smokeBotToken, smokeSecret} {
		require.NotContains(t, log, secret, "a secret reached the log")
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		require.True(t, json.Valid([]byte(line)), "log line is not JSON: %s", line)
	}
}

// baseEnv is the test's environment without PQLBOT_* variables (the test
// harness's own PQLBOT_TEST_DATABASE_URL would be an unknown variable to
// the binary).
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PQLBOT_") && !strings.HasPrefix(kv, "SLACK_") && !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "HTTP_ADDR=") {
			out = append(out, kv)
		}
	}
	return out
}

// unescape undoes encoding/json's HTML escaping of < and >.
func unescape(b []byte) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
}

func click(t *testing.T, base string, fake *slackfake.Server, alertID, action, channel, ts string) {
	t.Helper()
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0ANNA", "name": "anna"},
		"team":         map[string]any{"id": slackfake.TeamID},
		"channel":      map[string]any{"id": channel},
		"container":    map[string]any{"type": "message", "channel_id": channel, "message_ts": ts},
		"message":      map[string]any{"ts": ts},
		"response_url": fake.ResponseURL(action),
		"actions": []map[string]any{{
			"type": "button", "action_id": action, "block_id": "pql_actions:" + alertID, "value": alertID,
		}},
	}
	b, _ := json.Marshal(payload)
	status, body := slackPost(t, base+"/slack/interactions", url.Values{"payload": {string(b)}}.Encode(), "application/x-www-form-urlencoded")
	require.Equal(t, 200, status, body)
}

func slackPost(t *testing.T, u, body, ctype string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range slackfake.Sign(smokeSecret, time.Now(), []byte(body)) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t testing.TB, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitReady(t testing.TB, u string, exited chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		select {
		case err := <-exited:
			t.Fatalf("pqlbot exited before it was ready: %v", err)
		case <-ctx.Done():
			t.Fatal("pqlbot never became ready")
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
}
