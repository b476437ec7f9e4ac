package slackui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/people"
)

const permalink = "https://acme.slack.com/archives/C0SDR/p1795442400000100"

func fullScore() ScoreView {
	a := baseAlert()
	return ScoreView{
		AccountID: a.AccountID, AccountName: a.AccountName, Domain: a.Domain, AccountURL: a.AccountURL,
		Score: 82, Tier: "high", Segment: "mid_market", ModelVersion: "2026-q4", ScoredAt: now,
		Signals: a.Signals,
		Unfired: []SignalLine{
			{Name: "Crossed 100 records", Points: 15, Detail: "40 records of 100 in 30 days"},
			{Name: "Production integration", Points: 10, Detail: "no Integration Connected with type production_database"},
		},
		Gates: []GateLine{
			{Name: "employees ≥ 10", Passed: true, Detail: "250"},
			{Name: "email domain not a free provider", Passed: true, Detail: "acme.com"},
		},
		Fit:         a.Fit,
		ActiveUsers: 5, ActiveUsersDays: 7,
		LatestEvents: []EventLine{
			{At: now.Add(-10 * time.Minute), Name: "Workflow Completed", User: "bob@acme.com"},
			{At: now.Add(-2 * time.Hour), Name: "Pricing", User: "ann@acme.com"},
			{At: now.Add(-26 * time.Hour), Name: "Teammate Invited"},
		},
		Headline: Headline{Status: ScoreAlerting, Short: "alerting", Text: "Alerting: claimed, waiting for a first contact."},
		People: []people.Person{
			{UserID: "u1", Name: "Hiro Walsh", Title: "IT Administrator", Email: "hiro@acme.com", HandRaiser: true, Action: "Sales Contact Requested", ActionKind: people.ActionTrack, ActionAt: now.Add(-2 * time.Hour)},
			{UserID: "u2", Name: "Ann Lee", Email: "ann@acme.com", Action: "Workflow Completed", ActionKind: people.ActionTrack, ActionAt: now.Add(-10 * time.Minute), Events: 12},
		},
		Alert: &AlertSummary{AlertID: a.AlertID, Tier: "high", Score: 80, State: StateClaimed, PostedAt: posted, DueAt: a.DueAt, ClaimedBy: "U0REP1", ClaimedAt: posted.Add(20 * time.Minute),
			Left: 3*time.Hour + 12*time.Minute, Channel: "C0SDR", Permalink: permalink,
			Status: Status{State: StateClaimed, PostedAt: posted, DueAt: a.DueAt, ClaimedBy: "U0REP1", ClaimedAt: posted.Add(20 * time.Minute)}},
		Now: now,
	}
}

func notAlertingScore() ScoreView {
	return ScoreView{
		AccountID: "acct_7", AccountName: "Tiny Co", Domain: "gmail.com",
		Score: 35, Tier: "low", Segment: "smb", ModelVersion: "2026-q4", ScoredAt: now,
		Signals: []SignalLine{{Name: "Core workflow completed", Points: 25, Detail: "3× Workflow Completed in 7 days"}, {Name: "Support distress", Points: -15, Detail: "4× Ticket Opened in 7 days"}},
		Gates: []GateLine{
			{Name: "employees ≥ 10", Passed: false, Detail: "4"},
			{Name: "email domain not a free provider", Passed: false, Detail: "gmail.com"},
		},
		Headline: Headline{Status: ScoreExcluded, Short: "excluded", Text: "Excluded: fails the fit gate “at least 10 employees” (has 4).",
			More: []string{"Excluded: fails the fit gate “a work email domain (not a free email provider)” (gmail.com is a free email provider).", "Below threshold: score 35; 35 points short of high (70)."}},
		Last: &AlertSummary{Tier: "high", State: StateClosedNotFit, CloseReason: closereason.TooSmall, PostedAt: posted.Add(-40 * 24 * time.Hour),
			Status: Status{State: StateClosedNotFit, CloseReason: closereason.TooSmall, ClosedBy: "U0REP2", PostedAt: posted.Add(-40 * 24 * time.Hour)}},
		Now: now,
	}
}

func topRows() []TopRow {
	return []TopRow{
		{Group: TopHandRaiser, AccountID: "acct_1", AccountName: "Initech", Domain: "initech.com", Score: 35, Tier: "hand_raiser", Segment: "enterprise",
			AlertTier: "hand_raiser", AlertState: StateOpen, DueAt: now.Add(-65 * time.Minute), Left: -65 * time.Minute, Breached: true, Permalink: permalink},
		{Group: TopOpenAlert, AccountID: "acct_42", AccountName: "Acme Inc", Domain: "acme.com", Score: 82, Tier: "high", Segment: "mid_market",
			AlertTier: "high", AlertState: StateClaimed, ClaimedBy: "U0REP1", DueAt: now.Add(3 * time.Hour), Left: 3 * time.Hour, Permalink: permalink},
		{Group: TopByScore, AccountID: "acct_9", AccountName: "Hooli", Domain: "hooli.xyz", Score: 74, Tier: "high", Segment: "enterprise", AlertTier: "high", AlertState: StateContacted},
		{Group: TopByScore, AccountID: "acct_3", Domain: "umbrella.example", Score: 61, Tier: "mid", Segment: "smb"},
		{Group: TopByScore, AccountID: "acct_5", Score: 52, Tier: "mid", AlertState: StateClosedNotFit},
	}
}

func hiro() *people.Person {
	return &people.Person{UserID: "u1", Name: "Hiro Walsh", Title: "IT Administrator", Email: "hiro@initech.com", HandRaiser: true,
		Action: "Sales Contact Requested", ActionKind: people.ActionTrack, ActionAt: now.Add(-3 * time.Hour)}
}

func mineRows() []MineRow {
	return []MineRow{
		{AlertID: "a1", AccountName: "Initech", Domain: "initech.com", Tier: "hand_raiser", Score: 104, Channel: "C0AE", ClaimedAt: posted, DueAt: now.Add(-90 * time.Minute),
			Left: -90 * time.Minute, Person: hiro(), Permalink: permalink},
		{AlertID: "a2", AccountName: "Acme Inc", Domain: "acme.com", Tier: "high", Score: 82, Channel: "#sdr-pql", ClaimedAt: posted, DueAt: now.Add(3*time.Hour + 12*time.Minute),
			Left: 3*time.Hour + 12*time.Minute, Person: &people.Person{UserID: "u_9", Action: "Pricing", ActionKind: people.ActionPage, ActionAt: now.Add(-time.Hour)}, Permalink: permalink},
		{AlertID: "a3", AccountID: "acct_3", Tier: "high", Score: 71, ClaimedAt: posted, DueAt: now.Add(30 * time.Hour), Left: 15 * time.Hour},
	}
}

func homeAlerts() []HomeAlert {
	return []HomeAlert{
		{AlertID: "a4", AccountName: "Globex", Domain: "globex.com", Tier: "high", Score: 77, Channel: "#sdr-pql", PostedAt: now.Add(-5 * time.Hour), DueAt: now.Add(19 * time.Hour),
			Waiting: 2 * time.Hour, Left: 22 * time.Hour, Person: &people.Person{UserID: "u2", Name: "Ann Lee", Email: "ann@globex.com", Action: "Workflow Completed", ActionKind: people.ActionTrack, ActionAt: now.Add(-time.Hour)}},
		{AlertID: "a5", AccountName: "Soylent", Domain: "soylent.com", Tier: "hand_raiser", Score: 40, Channel: "C0SDR", PostedAt: now.Add(-40 * time.Minute), DueAt: now.Add(200 * time.Minute),
			Waiting: 40 * time.Minute, Left: 200 * time.Minute, Person: hiro(), Permalink: permalink},
	}
}

func stats(posted, claimed, contacted, due, within, notFit, breaches int) SLAStats {
	return SLAStats{
		Posted: posted, Claimed: claimed, Contacted: contacted, Due: due, WithinSLA: within, ClosedNotFit: notFit, OpenBreaches: breaches,
		TimeToClaim:   Dist{N: claimed, Median: 35 * time.Minute, P90: 3 * time.Hour},
		TimeToContact: Dist{N: contacted, Median: 3*time.Hour + 12*time.Minute, P90: 26 * time.Hour},
	}
}

func breachRows() []BreachRow {
	return []BreachRow{
		{AlertID: "a1", AccountName: "Initech", Domain: "initech.com", Tier: "hand_raiser", Channel: "C0AE", ClaimedBy: "U0REP1", PostedAt: posted, DueAt: now.Add(-90 * time.Minute), Permalink: permalink},
		{AlertID: "a4", AccountName: "Globex", Domain: "globex.com", Tier: "high", Channel: "#sdr-pql", PostedAt: posted.Add(-30 * time.Hour), DueAt: posted.Add(-6 * time.Hour)},
	}
}

func fullReport(days int) SLAReport {
	return SLAReport{
		Days: days, From: now.Add(-time.Duration(days) * 24 * time.Hour), To: now,
		Totals:   stats(42, 40, 35, 38, 31, 3, 2),
		Breaches: breachRows(),
		Reps: []RepRow{
			{UserID: "U0REP1", SLAStats: stats(0, 22, 20, 21, 18, 1, 1)},
			{UserID: "U0REP2", SLAStats: stats(0, 18, 15, 17, 13, 2, 0)},
			{UserID: "U0REP3", SLAStats: SLAStats{Claimed: 1}},
		},
		ByTier:        []SplitRow{{Name: "hand_raiser", SLAStats: stats(6, 6, 6, 6, 5, 0, 0)}, {Name: "high", SLAStats: stats(36, 34, 29, 32, 26, 3, 2)}},
		BySegment:     []SplitRow{{Name: "enterprise", SLAStats: stats(12, 12, 11, 12, 10, 0, 1)}, {Name: "smb", SLAStats: stats(30, 28, 24, 26, 21, 3, 1)}},
		NotFitReasons: []ReasonCount{{closereason.Competitor, 2}, {closereason.TooSmall, 1}},
	}
}

func replyCases(t testing.TB) map[string]Reply {
	emptyReport := SLAReport{Days: 30, From: now.Add(-30 * 24 * time.Hour), To: now}
	userReport := emptyReport
	userReport.FilterUserID = "U0REP9"
	channelReport := fullReport(90)
	channelReport.FilterChannel = "C0SDR"
	return map[string]Reply{
		"score":              ScoreReply(fullScore()),
		"score_not_alerting": ScoreReply(notAlertingScore()),
		"score_bare":         ScoreReply(ScoreView{AccountID: "acct_0", Score: 0, Headline: Headline{Status: ScoreNotScored, Short: "not scored yet", Text: "It has not been scored yet; try again in a minute."}}),
		"score_pick":         ScorePickReply("/pql", "acme", []Candidate{{AccountID: "a1", Name: "Acme Inc", Domain: "acme.com", Score: 82, Tier: "high"}, {AccountID: "grp 2", Name: "Acme Systems", Score: 12, Tier: "low"}}, true),
		"score_not_found":    ScoreNotFoundReply("nosuch.example"),
		"top":                TopReply(topRows(), "", LeftOut{Disqualified: 1, Suppressed: 2, GateFailed: 1, MinScore: 52}),
		"top_tier":           TopReply(topRows()[1:3], "high", LeftOut{AllCounted: true}),
		"top_empty":          TopReply(nil, "", LeftOut{}),
		"top_empty_tier":     TopReply(nil, "hand_raiser", LeftOut{Suppressed: 1, AllCounted: true}),
		"mine":               MineReply(mineRows()),
		"mine_empty":         MineReply(nil),
		"sla":                SLAReply(fullReport(7)),
		"sla_channel":        SLAReply(channelReport),
		"sla_empty":          SLAReply(emptyReport),
		"sla_empty_user":     SLAReply(userReport),
	}
}

func TestReplyGolden(t *testing.T) {
	for name, r := range replyCases(t) {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, ValidateMessage(r.Blocks))
			require.NotEmpty(t, r.Text, "every reply has a text fallback")
			goldenReply(t, name, r)
		})
	}
}

func TestHomeGolden(t *testing.T) {
	views := map[string]slack.HomeTabViewRequest{
		"home": HomeView(HomeData{Now: now, UserID: "U0REP1", Yours: homeAlerts()[:1], Open: homeAlerts()[1:], Breaches: breachRows(),
			Figures: []FigureColumn{{"Last 7 d", fullReport(7).Totals}, {"Last 30 d", stats(120, 110, 100, 105, 90, 6, 2)}}, Reps: fullReport(30).Reps,
			BusinessHours: "Mon–Fri 09:00–18:00 America/New_York", More: [][]slack.Block{{slack.NewDividerBlock(), section("*PQL program*\n(another section)")}}}),
		"home_notice": HomeView(HomeData{Now: now, UserID: "U0REP2", Notice: "Only <@U0REP1>, who claimed this alert, can do that.", Open: homeAlerts(),
			Figures: []FigureColumn{{"Last 7 d", fullReport(7).Totals}, {"Last 30 d", fullReport(30).Totals}}}),
		"home_empty": HomeView(HomeData{Now: now, UserID: "U0REP3", Figures: []FigureColumn{{"Last 7 d", SLAStats{}}, {"Last 30 d", SLAStats{}}}}),
	}
	for name, v := range views {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, ValidateHomeView(v))
			goldenReply(t, name, Reply{Blocks: v.Blocks.BlockSet})
		})
	}
}

// TestRepliesWithinLimitsAtScale renders every reply with far more rows and
// far longer text than a message can hold.
func TestRepliesWithinLimitsAtScale(t *testing.T) {
	long := func(p string) string { return longString(p, 500) }
	var top []TopRow
	var mine []MineRow
	var breaches []BreachRow
	var open []HomeAlert
	var reps []RepRow
	var splits []SplitRow
	var reasons []ReasonCount
	for i := range 300 {
		top = append(top, TopRow{Group: TopGroup(i % 3), AccountID: long("id"), AccountName: long("name"), Domain: long("dom"), Score: 300 - i, Tier: long("tier"), Segment: long("seg"), AlertState: StateClaimed, ClaimedBy: "U0REP1", Permalink: permalink})
		mine = append(mine, MineRow{AlertID: fmt.Sprint("m", i), Person: &people.Person{Name: long("p"), Action: long("a")}, AccountName: long("name"), Domain: long("dom"), Tier: long("t"), Channel: long("ch"), DueAt: now.Add(time.Duration(i) * time.Hour), Permalink: permalink})
		breaches = append(breaches, BreachRow{AlertID: fmt.Sprint("b", i), AccountName: long("name"), Domain: long("dom"), Tier: long("t"), Channel: long("ch"), ClaimedBy: "U0REP1", DueAt: now, Permalink: permalink})
		open = append(open, HomeAlert{AlertID: fmt.Sprint("o", i), AccountName: long("name"), Domain: long("dom"), Tier: long("t"), Channel: long("ch"), PostedAt: posted, DueAt: now, Permalink: permalink,
			Person: &people.Person{Name: long("p"), Title: long("t"), Email: long("e"), Action: long("a")}})
		reps = append(reps, RepRow{UserID: fmt.Sprintf("U%06d", i), SLAStats: stats(1, 1, 1, 1, 1, 0, 0)})
		splits = append(splits, SplitRow{Name: long("split"), SLAStats: stats(1, 1, 1, 1, 1, 0, 0)})
		reasons = append(reasons, ReasonCount{closereason.Reason(long("r")), i})
	}
	report := SLAReport{Days: 90, From: posted, To: now, FilterChannel: long("ch"), Totals: stats(9999, 9000, 8000, 9000, 7000, 10, 300),
		Breaches: breaches, Reps: reps, ByTier: splits, BySegment: splits, NotFitReasons: reasons}
	score := fullScore()
	score.AccountName = long("name")
	score.Headline.More = []string{long("r"), long("r"), long("r"), long("r"), long("r"), long("r"), long("r"), long("r"), long("r"), long("r")}
	for range 200 {
		score.Signals = append(score.Signals, SignalLine{Name: long("s"), Points: 5, Detail: long("d")})
		score.Unfired = append(score.Unfired, SignalLine{Name: long("u"), Points: 5, Detail: long("d")})
		score.Gates = append(score.Gates, GateLine{Name: long("g"), Detail: long("d")})
		score.Fit = append(score.Fit, Fact{Label: long("l"), Value: long("v")})
		score.LatestEvents = append(score.LatestEvents, EventLine{At: now, Name: long("e"), User: long("u")})
	}
	replies := map[string]Reply{
		"top":   TopReply(top, long("tier"), LeftOut{GateFailed: 1 << 30}),
		"mine":  MineReply(mine),
		"sla":   SLAReply(report),
		"score": ScoreReply(score),
		"help":  HelpReply(long("/x"), long("problem")),
		"none":  ScoreNotFoundReply(long("q")),
	}
	for name, r := range replies {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, ValidateMessage(r.Blocks))
		})
	}
	t.Run("home", func(t *testing.T) {
		yours := slices.Clone(open)
		for i := range yours {
			yours[i].AlertID = fmt.Sprint("y", i)
		}
		require.NoError(t, ValidateHomeView(HomeView(HomeData{Now: now, Notice: long("n"), Yours: yours, Open: open, Breaches: breaches,
			Figures: []FigureColumn{{"7", report.Totals}, {"30", report.Totals}}, Reps: reps, BusinessHours: long("bh")})))
	})
	t.Run("top shows at most MaxTopN rows then +N more", func(t *testing.T) {
		var rows []TopRow
		for range 60 {
			rows = append(rows, topRows()...)
		}
		require.Equal(t, []string{"+275 more accounts"}, moreTexts(TopReply(rows, "", LeftOut{})))
	})
	t.Run("long rows stop at the character budget", func(t *testing.T) {
		more := moreTexts(TopReply(top, "", LeftOut{}))
		require.NotEmpty(t, more)
		require.Regexp(t, `^\+\d+ more accounts$`, more[0])
	})
}

func TestMineRows(t *testing.T) {
	r := MineReply(mineRows())
	var text strings.Builder
	var actions []string
	for _, b := range r.Blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			text.WriteString(b.Text.Text + "\n")
		case *slack.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				btn := e.(*slack.ButtonBlockElement)
				actions = append(actions, b.BlockID+" "+btn.ActionID+" "+btn.Value)
			}
		}
	}
	out := text.String()
	require.Contains(t, out, "🚨 *overdue 1 h 30 min*")
	require.Contains(t, out, "⏳ *3 h 12 min left*")
	require.Contains(t, out, "⏳ *15 h left*")
	require.Contains(t, out, "✋ *Hiro Walsh*, IT Administrator", "the person to contact")
	require.Less(t, strings.Index(out, "Initech"), strings.Index(out, "Acme Inc"), "rendered in the caller's order")
	require.Equal(t, []string{
		"pql_actions:a1 pql_contacted a1", "pql_actions:a1 pql_release a1",
		"pql_actions:a2 pql_contacted a2", "pql_actions:a2 pql_release a2",
		"pql_actions:a3 pql_contacted a3", "pql_actions:a3 pql_release a3",
	}, actions, "the alert message's buttons, so a click does what it does there")
	require.Equal(t, "You have 3 claimed alerts waiting for contact, 1 over SLA; first: Hiro Walsh (IT Administrator) requested sales contact at Initech", r.Text)
	require.Equal(t, "You have 1 claimed alert waiting for contact", MineReply(mineRows()[2:]).Text)
}

func TestEphemeral(t *testing.T) {
	r := TopReply(topRows(), "", LeftOut{})
	m := r.Ephemeral()
	require.Equal(t, slack.ResponseTypeEphemeral, m.ResponseType)
	require.Equal(t, r.Text, m.Text)
	require.Len(t, m.Blocks.BlockSet, len(r.Blocks))
	require.False(t, m.ReplaceOriginal)
}

// moreTexts are the "+N more" lines of a reply.
func moreTexts(r Reply) []string {
	var out []string
	for _, b := range r.Blocks {
		if c, ok := b.(*slack.ContextBlock); ok {
			if t := c.ContextElements.Elements[0].(*slack.TextBlockObject).Text; strings.HasPrefix(t, "+") {
				out = append(out, t)
			}
		}
	}
	return out
}
