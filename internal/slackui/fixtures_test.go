package slackui

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/sla"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenReply compares a reply, as the JSON Slack would receive, with
// testdata/<name>.golden.json.
func goldenReply(t *testing.T, name string, r Reply) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "<!date…>" and "&lt;" readable in the files
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(struct {
		Text   string       `json:"text"`
		Blocks slack.Blocks `json:"blocks"`
	}{r.Text, slack.Blocks{BlockSet: r.Blocks}}))
	goldenBytes(t, name, buf.Bytes())
}

func goldenBytes(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./internal/slackui -update")
	require.Equal(t, string(want), string(got), "golden %s differs; run with -update if the change is intended", path)
}

var (
	posted = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC) // Monday 09:00 in New York
	now    = posted.Add(2 * time.Hour)
)

func officeHours(t testing.TB) *sla.BusinessHours {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	bh, err := sla.NewBusinessHours(ny, []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, 9*time.Hour, 18*time.Hour)
	require.NoError(t, err)
	return bh
}

func baseAlert() AlertView {
	return AlertView{
		AlertID:      "0b6f3c1e-5d1a-4a43-9a57-1d2b3c4d5e6f",
		AccountID:    "acct_42",
		AccountName:  "Acme Inc",
		Domain:       "acme.com",
		AccountURL:   "https://crm.example.com/accounts/acct_42",
		Tier:         "high",
		Score:        82,
		Segment:      "mid_market",
		OwnerRole:    "SDR",
		Channel:      "#sdr-pql",
		SLA:          24 * time.Hour,
		PostedAt:     posted,
		DueAt:        posted.Add(24 * time.Hour),
		ModelVersion: "2026-q4",
		Signals: []SignalLine{
			{Name: "Support distress", Category: "negative", Points: -15, Detail: "3× Ticket Opened in 7 days"},
			{Name: "Teammates invited", Category: "usage", Points: 20, Detail: "4× Teammate Invited in 14 days"},
			{Name: "Core workflow completed", Category: "usage", Points: 25, Detail: "5× Workflow Completed in 7 days"},
			{Name: "Pricing page 2+ visits", Category: "intent", Points: 20, Detail: "3× page Pricing in 7 days"},
			{Name: "3+ active users", Category: "usage", Points: 10, Detail: "5 active users in 7 days"},
			{Name: "Target company size", Category: "fit", Points: 10, Detail: "employees 250 ≥ 50"},
			{Name: "Fast start", Category: "velocity", Points: 12, Detail: "score 55 within 3 days of signup"},
		},
		Fit: []Fact{
			{Label: "Employees", Value: "250"},
			{Label: "Industry", Value: "Logistics"},
			{Label: "Plan", Value: "trial"},
			{Label: "Email domain", Value: "acme.com"},
		},
		People: []people.Person{
			{UserID: "u-dana", Name: "Dana Lee", Title: "Head of Operations", Email: "dana@acme.com",
				Action: "Workflow Completed", ActionKind: people.ActionTrack, ActionAt: posted.Add(-3 * time.Hour), Events: 41},
			{UserID: "u-raj", Name: "Raj Patel", Email: "raj@acme.com",
				Action: "Pricing", ActionKind: people.ActionPage, ActionAt: posted.Add(-26 * time.Hour), Events: 17},
		},
		ActiveUsers:     5,
		ActiveUsersDays: 7,
		State:           StateOpen,
	}
}

// handRaiserAlert is the Ember Motors: a hand-raise from a named
// person, the score moved on since the alert, an AE route with a mention,
// business hours.
func handRaiserAlert(t testing.TB) AlertView {
	v := baseAlert()
	v.AccountID, v.AccountName, v.Domain, v.AccountURL = "grp_ember", "Ember Motors", "embermotors.com", ""
	v.Tier, v.Score, v.AlertScore, v.Segment, v.OwnerRole = "hand_raiser", 35, 10, "enterprise", "AE"
	v.Channel, v.Mention, v.SLA = "#ae-hand-raisers", []string{"S0AEGROUP"}, 4*time.Hour
	v.Hours = officeHours(t)
	// Moved here by Hiro's hand-raise: the clock runs from it.
	v.ClockFrom = time.Date(2026, 11, 22, 0, 54, 0, 0, time.UTC)
	v.DueAt = sla.Deadline(v.ClockFrom, v.SLA, v.Hours)
	v.People = []people.Person{
		{UserID: "u-hiro", Name: "Hiro Walsh", Title: "IT Administrator", Email: "hiro.walsh@embermotors.com", HandRaiser: true,
			Action: "Sales Contact Requested", ActionKind: people.ActionTrack, ActionAt: time.Date(2026, 11, 22, 0, 54, 0, 0, time.UTC), Events: 3},
		{UserID: "u-mia", Name: "Mia Chen", Title: "Data Engineer", Email: "mia.chen@embermotors.com",
			Action: "Records Imported", ActionKind: people.ActionTrack, ActionAt: time.Date(2026, 11, 21, 16, 10, 0, 0, time.UTC), Events: 22},
		{UserID: "anon-5c1e", Action: "Pricing", ActionKind: people.ActionPage, ActionAt: time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC), Events: 2},
	}
	v.HandRaise, v.HandRaiseDay = "Sales Contact Requested", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	v.Signals = []SignalLine{
		{Name: "Target company size", Category: "fit", Points: 10, Detail: "employees 600 ≥ 50"},
		{Name: "Teammates invited", Category: "usage", Points: 20, Detail: "2× Teammate Invited in 14 days"},
		{Name: "Pricing page 2+ visits", Category: "intent", Points: 20, Detail: "2× page Pricing in 7 days"},
		{Name: "Support distress", Category: "negative", Points: -15, Detail: "3× Ticket Opened in 7 days"},
	}
	v.Fit = []Fact{{Label: "Employees", Value: "600"}, {Label: "Industry", Value: "Automotive"}, {Label: "Email domain", Value: "embermotors.com"}}
	v.ActiveUsers, v.ActiveUsersDays = 3, 14
	v.MovedFrom = "#sdr-pql"
	return v
}

func longString(prefix string, n int) string {
	b := []rune(prefix)
	for len(b) < n {
		b = append(b, []rune(" <very> long & name")...)
	}
	return string(b[:n])
}

// alertCases are the alert renderings under golden and limit tests.
func alertCases(t testing.TB) map[string]AlertView {
	open := baseAlert()

	bh := baseAlert()
	bh.Hours = officeHours(t)
	bh.DueAt = sla.Deadline(bh.PostedAt, bh.SLA, bh.Hours)
	bh.NudgedAt = posted.Add(90 * time.Minute)

	claimed := baseAlert()
	claimed.State, claimed.ClaimedBy, claimed.ClaimedAt = StateClaimed, "U0REP1", posted.Add(35*time.Minute)

	within := claimed
	within.State, within.ContactedBy, within.ContactedAt = StateContacted, "U0REP1", posted.Add(3*time.Hour+12*time.Minute)

	over := claimed
	over.Tier, over.SLA, over.DueAt = "hand_raiser", 4*time.Hour, posted.Add(4*time.Hour)
	over.State, over.ContactedBy, over.ContactedAt = StateContacted, "U0REP1", posted.Add(6*time.Hour)
	over.Breached = true

	notFit := baseAlert()
	notFit.State, notFit.ClosedBy, notFit.CloseReason = StateClosedNotFit, "U0REP2", closereason.Competitor

	breached := baseAlert()
	breached.Breached = true

	breachedClaimed := claimed // past due by the clock, before the sweeper marks it
	breachedClaimed.DueAt = now.Add(-time.Hour)

	trunc := baseAlert()
	trunc.AccountName = longString("Globex International Holdings", 400)
	trunc.Domain = longString("globex", 300) + ".example"
	trunc.Segment = longString("enterprise", 200)
	trunc.OwnerRole = longString("AE", 200)
	trunc.ModelVersion = longString("v", 200)
	trunc.Signals = nil
	for i := range 200 {
		trunc.Signals = append(trunc.Signals, SignalLine{
			Name:   longString("Signal "+string(rune('A'+i%26)), 300),
			Points: 200 - 2*i - 50,
			Detail: longString("detail", 500),
		})
	}
	trunc.Fit = nil
	for range 30 {
		trunc.Fit = append(trunc.Fit, Fact{Label: longString("Label", 300), Value: longString("Value", 3000)})
	}

	minimal := AlertView{AlertID: "a1", AccountID: "acct_min", Tier: "mid", Score: 50}

	hand := handRaiserAlert(t)

	handClaimed := hand
	handClaimed.State, handClaimed.ClaimedBy, handClaimed.ClaimedAt = StateClaimed, "U0AE7", posted.Add(20*time.Minute)

	moved := baseAlert()
	moved.AccountName, moved.Domain = "Ember Motors", "embermotors.com"
	moved.State, moved.ClosedBy, moved.CloseReason = StateClosedNotFit, "pqlbot", closereason.Moved
	moved.MovedTo, moved.MovedLink = "C0HANDRS1", "https://example.slack.com/archives/C0HANDRS1/p1795370400000100"
	moved.People = hand.People

	hostile := baseAlert()
	hostile.AccountName = "*Bold* _it_ ~gone~ `code` <@U123> & <!channel>"
	hostile.People = []people.Person{{UserID: "u1", Name: "~Eve~ *Mallory*", Title: "_CEO_ `root`", Email: "eve@acme.com",
		HandRaiser: true, Action: "Demo *Now* Requested", ActionKind: people.ActionTrack, ActionAt: posted}}
	hostile.Signals = []SignalLine{{Name: "*x*", Points: 10, Detail: "_y_ ~z~"}}

	// The account fell below every notifying tier: the alert shows the
	// score it has now.
	dropped := baseAlert()
	dropped.Score, dropped.AlertScore = 20, 82
	dropped.Signals = []SignalLine{
		{Name: "Core workflow completed", Category: "usage", Points: 25, Detail: "3× Workflow Completed in 7 days"},
		{Name: "Target company size", Category: "fit", Points: 10, Detail: "employees 250 ≥ 50"},
		{Name: "Support distress", Category: "negative", Points: -15, Detail: "4× Ticket Opened in 7 days"},
	}

	return map[string]AlertView{
		"alert_open":                open,
		"alert_open_business_time":  bh,
		"alert_claimed":             claimed,
		"alert_contacted_within":    within,
		"alert_contacted_over":      over,
		"alert_not_fit":             notFit,
		"alert_breached":            breached,
		"alert_breached_claimed":    breachedClaimed,
		"alert_truncated":           trunc,
		"alert_minimal":             minimal,
		"alert_hand_raiser":         hand,
		"alert_hand_raiser_claimed": handClaimed,
		"alert_moved":               moved,
		"alert_user_markup":         hostile,
		"alert_score_dropped":       dropped,
	}
}
