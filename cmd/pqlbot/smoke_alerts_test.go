package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// smokeAlertsModel has SLAs short enough to watch a nudge and a breach
// happen: the hand-raiser route's 12 s SLA nudges at 6 s.
const smokeAlertsModel = `version: smoke-alerts
recency_days: 14
gates:
  - {trait: employees, gte: 10}
signals:
  - {name: Core workflow completed, event: Workflow Completed, min_count: 3, window_days: 7, points: 80}
hand_raisers: [Sales Contact Requested]
tiers:
  - {name: high, min_score: 70}
  - {name: low, min_score: 0}
routes:
  - {tier: hand_raiser, channel: "#ae-hand-raisers", owner: AE, sla: 12s, mention: [S0AEGROUP]}
  - {tier: high, channel: "#sdr-pql", owner: SDR, sla: 1h, mention: [here]}
  - {tier: low, notify: false}
sla_warn_at: 0.5
escalation_channel: "#sales-managers"
`

// TestSmokeAlertLifecycle runs the real binary through an alert's life as
// a rep meets it: high alerts that mention the route's people, hand-raises
// that move them to the hand-raiser channel (exactly one new post each, the
// old messages edited to say where they went, the clock from the
// hand-raise), the nudge broadcast to the channel with the route's
// mention, and the breaches, due in the same minute, escalated in one post
// that is edited after a late claim and as each alert is contacted.
func TestSmokeAlertLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	modelFile := filepath.Join(t.TempDir(), "model.yaml")
	require.NoError(t, os.WriteFile(modelFile, []byte(smokeAlertsModel), 0o600))

	fake := slackfake.New(t)
	fake.SetToken(smokeBotToken)
	for _, ch := range []slackfake.Channel{{ID: "C0SDRPQL", Name: "sdr-pql"}, {ID: "C0AEHAND", Name: "ae-hand-raisers"}, {ID: "C0MGRS", Name: "sales-managers"}} {
		fake.AddChannel(ch)
	}
	fake.AddUser(slackfake.User{ID: "U0ANNA", Name: "anna", RealName: "Anna Rep"})

	srv := startServe(t,
		"DATABASE_URL="+storetest.NewURL(t),
		"PQLBOT_WRITE_KEYS="+smokeWriteKey,
		"PQLBOT_MODEL_FILE="+modelFile,
		"PQLBOT_LEASE=3s", // the SLA sweep runs every second
		"SLACK_BOT_TOKEN="+smokeBotToken,
		"SLACK_SIGNING_SECRET="+smokeSecret,
		"SLACK_API_URL="+fake.APIURL(),
	)
	base := srv.Base

	send := func(msgs ...analytics.Message) {
		t.Helper()
		client, err := analytics.NewWithConfig(smokeWriteKey, analytics.Config{Endpoint: base, BatchSize: 50, Interval: 50 * time.Millisecond})
		require.NoError(t, err)
		for _, m := range msgs {
			require.NoError(t, client.Enqueue(m))
		}
		require.NoError(t, client.Close())
	}
	topLevel := func(ch string) []slackfake.Message {
		var out []slackfake.Message
		for _, m := range fake.Messages(ch) {
			if m.ThreadTS == "" {
				out = append(out, m)
			}
		}
		return out
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		require.Eventually(t, cond, 30*time.Second, 50*time.Millisecond, what)
	}

	// High alerts on the SDR route, mentioning the route's `here`: Ember
	// Motors (Hiro, the example) and Acme (Ada).
	now := time.Now().UTC()
	send(
		analytics.Identify{UserId: "hiro", Traits: analytics.NewTraits().SetName("Hiro Walsh").SetTitle("IT Administrator").SetEmail("hiro.walsh@embermotors.com")},
		analytics.Group{UserId: "hiro", GroupId: "ember", Traits: analytics.NewTraits().SetName("Ember Motors").Set("domain", "embermotors.com").Set("employees", 600)},
		analytics.Identify{UserId: "ada", Traits: analytics.NewTraits().SetName("Ada Byrne").SetTitle("CTO")},
		analytics.Group{UserId: "ada", GroupId: "acme", Traits: analytics.NewTraits().SetName("Acme Co").Set("domain", "acme.example").Set("employees", 80)},
	)
	var work []analytics.Message
	for _, user := range []string{"hiro", "ada"} {
		for h := 3; h > 0; h-- {
			work = append(work, analytics.Track{UserId: user, Event: "Workflow Completed", Timestamp: now.Add(-time.Duration(h) * time.Hour)})
		}
	}
	send(work...)
	eventually("two high alerts in #sdr-pql", func() bool { return len(topLevel("C0SDRPQL")) == 2 })
	byAccount := func(ch, name string) slackfake.Message {
		t.Helper()
		for _, m := range topLevel(ch) {
			if strings.Contains(m.Text, name) {
				return m
			}
		}
		t.Fatalf("no message for %s in %s", name, ch)
		return slackfake.Message{}
	}
	high := byAccount("C0SDRPQL", "Ember Motors")
	require.Contains(t, high.Text, "<!here>", "the post mentions the route's mention")
	require.Contains(t, high.Text, "Ember Motors — Hiro Walsh (IT Administrator) completed workflow")
	require.Contains(t, unescape(high.Blocks), "*Who to contact*")
	highAcme := byAccount("C0SDRPQL", "Acme Co")

	// Both raise a hand at the same moment: each open alert moves to the
	// hand-raiser route, with its clock from the hand-raise, so both are
	// due in the same minute.
	raised := time.Now().UTC().Add(-time.Second)
	send(
		analytics.Track{UserId: "hiro", Event: "Sales Contact Requested", Timestamp: raised},
		analytics.Track{UserId: "ada", Event: "Sales Contact Requested", Timestamp: raised},
	)
	eventually("the moved alerts in #ae-hand-raisers", func() bool { return len(topLevel("C0AEHAND")) == 2 })
	eventually("the old messages edited", func() bool {
		m, _ := fake.Message("C0SDRPQL", high.TS)
		a, _ := fake.Message("C0SDRPQL", highAcme.TS)
		return strings.Contains(unescape(m.Blocks), "*Moved* to #ae-hand-raisers") && strings.Contains(unescape(a.Blocks), "*Moved* to #ae-hand-raisers")
	})
	moved := byAccount("C0AEHAND", "Ember Motors")
	movedAcme := byAccount("C0AEHAND", "Acme Co")
	require.Contains(t, moved.Text, "✋ Ember Motors — Hiro Walsh (IT Administrator) requested sales contact")
	require.Contains(t, moved.Text, "· AE · due ")
	require.Contains(t, moved.Text, "<!subteam^S0AEGROUP>")
	require.Contains(t, unescape(moved.Blocks), "✋ *Hand-raise:* Hiro Walsh (IT Administrator) requested sales contact")
	require.Contains(t, unescape(moved.Blocks), "moved here from #sdr-pql", "the two alerts are linked")
	require.Contains(t, unescape(moved.Blocks), " from the hand-raise", "its clock runs from the hand-raise")
	require.NotEqual(t, fmt.Sprint(high.Metadata.EventPayload["alert_id"]), fmt.Sprint(moved.Metadata.EventPayload["alert_id"]), "a new alert")
	old, _ := fake.Message("C0SDRPQL", high.TS)
	require.NotContains(t, unescape(old.Blocks), "pql_claim", "the moved alert cannot be claimed")

	// At half its SLA the new alert is nudged: a thread reply broadcast to
	// the channel, mentioning the route's user group.
	var nudge slackfake.Message
	eventually("the nudge", func() bool {
		for _, m := range fake.Messages("C0AEHAND") {
			if m.ThreadTS == moved.TS {
				nudge = m
				return true
			}
		}
		return false
	})
	require.True(t, nudge.Broadcast, "reply_broadcast")
	require.True(t, strings.HasPrefix(nudge.Text, "<!subteam^S0AEGROUP> ⏰"), nudge.Text)

	// At their deadline, the breaches: both were due in the same minute,
	// so the escalation channel gets one post listing them, with links.
	eventually("the escalation", func() bool {
		ms := topLevel("C0MGRS")
		return len(ms) > 0 && strings.Contains(ms[0].Text, "2 alerts")
	})
	esc := topLevel("C0MGRS")[0]
	require.Equal(t, "SLA breached: 2 alerts — Acme Co, Ember Motors", esc.Text)
	require.Contains(t, unescape(esc.Blocks), "nobody has claimed it")
	require.Contains(t, unescape(esc.Blocks), "/archives/C0AEHAND/p", "each alert with its link")
	require.Contains(t, unescape(esc.Blocks), "*Hiro Walsh*, IT Administrator", "who is waiting to hear from us")

	// A late claim, then the contacts: the one escalation is edited in
	// place as each resolves.
	movedID := fmt.Sprint(moved.Metadata.EventPayload["alert_id"])
	click(t, base, fake, movedID, "pql_claim", "C0AEHAND", moved.TS)
	eventually("the escalation edited after the late claim", func() bool {
		m, _ := fake.Message("C0MGRS", esc.TS)
		return m.Updates > 0 && strings.Contains(unescape(m.Blocks), "claimed by <@U0ANNA>, not contacted yet")
	})
	click(t, base, fake, movedID, "pql_contacted", "C0AEHAND", moved.TS)
	eventually("the escalation partly resolved", func() bool {
		m, _ := fake.Message("C0MGRS", esc.TS)
		return m.Text == "SLA breached: 2 alerts, 1 still waiting — Acme Co, Ember Motors" && strings.Contains(unescape(m.Blocks), "*Contacted* by <@U0ANNA>")
	})
	acmeID := fmt.Sprint(movedAcme.Metadata.EventPayload["alert_id"])
	click(t, base, fake, acmeID, "pql_claim", "C0AEHAND", movedAcme.TS)
	click(t, base, fake, acmeID, "pql_contacted", "C0AEHAND", movedAcme.TS)
	eventually("the escalation resolved", func() bool {
		m, _ := fake.Message("C0MGRS", esc.TS)
		return strings.HasPrefix(m.Text, "Resolved after an SLA breach: 2 alerts")
	})
	require.Len(t, topLevel("C0MGRS"), 1, "one post for the minute, edited, not posted again")

	// Still exactly one post per alert, whatever ran meanwhile.
	require.Len(t, topLevel("C0SDRPQL"), 2)
	require.Len(t, topLevel("C0AEHAND"), 2)

	require.NoError(t, srv.Cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, srv.Wait(t, 15*time.Second), "exit status")
}
