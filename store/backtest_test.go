package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/backtest"
	"github.com/pqlbot/pqlbot/internal/demo"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// fixtureModel is small enough to work out by hand: Core is worth 60 for
// two Workflow Completed in 3 days, Pricing 20, Big 20 for 100+
// employees; high (70+) alerts, low does not; a hand-raise alerts; the
// employees gate is 10; plan paid is suppressed; recency is 3 days.
const fixtureModel = `version: fixture
recency_days: 3
gates: [{trait: employees, gte: 10}]
signals:
  - {name: Core, event: Workflow Completed, min_count: 2, window_days: 3, points: 60}
  - {name: Pricing, page: Pricing, window_days: 3, points: 20}
  - {name: Big, trait: employees, gte: 100, points: 20}
hand_raisers: [Demo Requested]
tiers: [{name: high, min_score: 70}, {name: low, min_score: 0}]
routes:
  - {tier: hand_raiser, channel: "#hr"}
  - {tier: high, channel: "#high"}
  - {tier: low, channel: "#low", notify: false}
suppress: [{trait: plan, in: [paid]}]
`

func nov(day int) time.Time { return time.Date(2026, 11, day, 10, 0, 0, 0, time.UTC) }

// fixtureHistory: the window is Nov 11-20 (10 days, as of Nov 20), a flag
// counts for a win up to 5 days before it, so scoring starts Nov 6.
//
//	alpha    200 employees, new Nov 12; 2× Workflow Nov 13 → 80 (Core+Big), flagged Nov 13-15; won Nov 15: captured
//	bravo    50 employees, new Nov 12; 2× Workflow + Pricing Nov 18 → 80, flagged Nov 18-20; not won: noise (Not a fit: too_small)
//	charlie  500 employees, new Nov 12; won Nov 14; 2× Workflow Nov 17, AFTER the win → flagged Nov 17-19: not captured (no look-ahead)
//	delta    5 employees (fails the gate), new Nov 15; Demo Requested Nov 15; won Nov 16: a miss held back by the gate
//	echo     20 employees, first seen Nov 1 (not new); Demo Requested Nov 12 → hand_raiser Nov 12-14; won Nov 19: captured (Nov 14 is in Nov 14-19)
//	foxtrot  300 employees, plan trial, new Nov 11; 2× Workflow Nov 15 → flagged Nov 15; plan becomes paid Nov 16 → suppressed after
//	golf     20 employees, new Nov 19; logs in only: never flagged
func fixtureHistory() ([]segMsg, []backtest.Outcome) {
	n := 0
	id := func() string { n++; return fmt.Sprintf("m%d", n) }
	group := func(acct string, day int, traits map[string]any) segMsg {
		return segMsg{Type: "group", ID: id(), User: acct + "-u", Group: acct, Traits: traits, At: nov(day).Add(-time.Hour)}
	}
	track := func(acct, name string, day int) segMsg {
		return segMsg{Type: "track", ID: id(), User: acct + "-u", Group: acct, Name: name, At: nov(day)}
	}
	page := func(acct, name string, day int) segMsg {
		return segMsg{Type: "page", ID: id(), User: acct + "-u", Group: acct, Name: name, At: nov(day)}
	}
	msgs := []segMsg{
		group("alpha", 12, map[string]any{"employees": 200, "plan": "trial"}),
		track("alpha", "Logged In", 12), track("alpha", "Workflow Completed", 13), track("alpha", "Workflow Completed", 13),

		group("bravo", 12, map[string]any{"employees": 50}),
		track("bravo", "Logged In", 12), track("bravo", "Workflow Completed", 18), track("bravo", "Workflow Completed", 18),
		page("bravo", "Pricing", 18),

		group("charlie", 12, map[string]any{"employees": 500}),
		track("charlie", "Logged In", 12), track("charlie", "Workflow Completed", 17), track("charlie", "Workflow Completed", 17),

		group("delta", 15, map[string]any{"employees": 5}),
		track("delta", "Demo Requested", 15),

		group("echo", 1, map[string]any{"employees": 20}),
		track("echo", "Logged In", 1), track("echo", "Demo Requested", 12),

		group("foxtrot", 11, map[string]any{"employees": 300, "plan": "trial"}),
		track("foxtrot", "Logged In", 11), track("foxtrot", "Workflow Completed", 15), track("foxtrot", "Workflow Completed", 15),
		group("foxtrot", 16, map[string]any{"plan": "paid"}),
		track("foxtrot", "Logged In", 17),

		group("golf", 19, map[string]any{"employees": 20}),
		track("golf", "Logged In", 19),
	}
	won := func(acct string, day int) backtest.Outcome {
		return backtest.Outcome{AccountID: acct, Kind: backtest.OutcomeWon, At: nov(day)}
	}
	return msgs, []backtest.Outcome{
		won("alpha", 15), won("charlie", 14), won("delta", 16), won("echo", 19),
		{AccountID: "bravo", Kind: "opportunity", At: nov(19)},
	}
}

// TestBacktestFixture checks every figure of a backtest against answers
// worked out by hand (see fixtureHistory).
func TestBacktestFixture(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	msgs, wins := fixtureHistory()
	ingestDirect(t, st, msgs)
	a := storetest.PostedAlert(t, st, "bravo", nov(18), 24*time.Hour)
	_, _, err := st.CloseNotFit(ctx, a.ID, "U1", "too_small", nov(19), 90*24*time.Hour)
	require.NoError(t, err)

	m, err := model.Parse([]byte(fixtureModel))
	require.NoError(t, err)
	// The outcomes go in as a CRM import would, with one row for an
	// account pqlbot has never seen.
	rows := []outcomes.Row{{Line: 2, Account: "ghost.example", Kind: model.OutcomeWon, At: nov(13)}}
	for i, o := range wins {
		rows = append(rows, outcomes.Row{Line: i + 3, Account: o.AccountID, Kind: model.OutcomeKind(o.Kind), At: o.At})
	}
	res, err := st.ImportOutcomes(ctx, rows)
	require.NoError(t, err)
	require.Equal(t, 1, res.Unmatched)
	h := store.BacktestHistory{Store: st}
	asOf := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	t.Run("flagged days", func(t *testing.T) {
		want := map[string][]int{
			"alpha": {13, 14, 15}, "bravo": {18, 19, 20}, "charlie": {17, 18, 19},
			"delta": nil, "echo": {12, 13, 14}, "foxtrot": {15}, "golf": nil,
		}
		got := map[string][]int{}
		err := st.ReplayAccounts(ctx, backtest.Query{Series: m.FactsSpec().Series, Until: asOf.AddDate(0, 0, 1)}, func(batch []backtest.Account) error {
			for i := range batch {
				acct := &batch[i]
				got[acct.ID] = nil
				backtest.Walk(m, acct, time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC), asOf, func(day time.Time, r *scoring.Result) {
					if r.Alertable {
						got[acct.ID] = append(got[acct.ID], day.Day())
					}
				})
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, want, got)
	})

	r, err := backtest.Run(ctx, h, m, backtest.Options{AsOf: asOf, Days: 10, OutcomeWindowDays: 5, Sweep: true})
	require.NoError(t, err)

	require.Equal(t, backtest.Window{From: "2026-11-11", To: "2026-11-20", Days: 10}, r.Window)
	require.Equal(t, 7, r.Accounts)
	require.Equal(t, 6, r.NewAccounts, "echo was first seen before the window")
	require.Equal(t, 4, r.WonAccounts)

	// Captured: alpha and echo of alpha, charlie, delta, echo. Charlie's
	// flag came after its win and must not count.
	require.Equal(t, 2, r.Captured.Count)
	require.Equal(t, 4, r.Captured.Of)
	require.InDelta(t, 0.5, *r.Captured.Share, 1e-9)
	require.InDelta(t, 0.6, *r.Captured.Target, 1e-9)
	require.False(t, r.Captured.OK)
	// Flagged: alpha, bravo, charlie, foxtrot of six new accounts. Foxtrot
	// counts: it became a paid plan only after its flag.
	require.Equal(t, 4, r.Flagged.Count)
	require.Equal(t, 6, r.Flagged.Of)
	require.False(t, r.Flagged.OK)
	// Won rate: first flagged in the window: alpha (13), bravo (18),
	// charlie (17), echo (12), foxtrot (15); won on or after: alpha, echo.
	require.Equal(t, 2, r.WonRate.Count)
	require.Equal(t, 5, r.WonRate.Of)
	require.True(t, r.WonRate.OK)
	require.False(t, r.OK)

	// Lift: flagged new accounts that won: alpha, charlie (2/4); never
	// flagged: delta of delta, golf (1/2).
	require.Equal(t, backtest.LiftDetail{FlaggedWon: 2, Flagged: 4, NotFlaggedWon: 1, NotFlagged: 2}, r.LiftDetail)
	require.InDelta(t, 1.0, *r.Lift, 1e-9)
	require.Len(t, r.Tiers, 1)
	require.Equal(t, "high", r.Tiers[0].Tier)
	require.Equal(t, 4, r.Tiers[0].Accounts)
	require.Equal(t, 2, r.Tiers[0].Won)

	// Signals: won accounts alpha, charlie, delta, echo (14 days ending
	// with the win) against the active accounts that did not win: bravo,
	// foxtrot, golf. Charlie's Core fired after its win: not counted.
	byName := map[string]backtest.SignalRow{}
	for _, s := range r.Signals {
		byName[s.Name] = s
	}
	require.Equal(t, [4]int{1, 4, 2, 3}, counts(byName["Core"]))
	require.Equal(t, [4]int{0, 4, 1, 3}, counts(byName["Pricing"]))
	require.Equal(t, [4]int{2, 4, 1, 3}, counts(byName["Big"]))
	require.InDelta(t, 0.25/(2.0/3), *byName["Core"].Ratio, 1e-9)
	require.InDelta(t, 0, *byName["Pricing"].Ratio, 1e-9)

	// Sweep of tier high: scores are 0, 20 or 80, so 30-80 flag as today
	// and 90 keeps only the hand-raiser echo.
	require.NotNil(t, r.Sweep)
	require.Equal(t, "high", r.Sweep.Tier)
	row30, row90 := r.Sweep.Rows[0], r.Sweep.Rows[6]
	require.Equal(t, 30, row30.MinScore)
	require.InDelta(t, 4.0/6, *row30.Flagged, 1e-9)
	require.InDelta(t, 0.5, *row30.Captured, 1e-9)
	require.InDelta(t, 0.4, *row30.WonRate, 1e-9)
	require.True(t, row30.Best)
	require.Equal(t, 90, row90.MinScore)
	require.InDelta(t, 0, *row90.Flagged, 1e-9)
	require.InDelta(t, 0.25, *row90.Captured, 1e-9)
	require.InDelta(t, 1, *row90.WonRate, 1e-9)
	require.False(t, row90.Best)

	// Misses: charlie (best 20 on Nov 12, 50 short of high) and delta
	// (hand-raised, but fails the gate).
	require.Len(t, r.Misses, 2)
	require.Equal(t, "charlie", r.Misses[0].Account)
	require.Equal(t, 20, *r.Misses[0].MaxScore)
	require.Equal(t, "2026-11-12", r.Misses[0].MaxScoreOn)
	require.Equal(t, "2026-11-17", r.Misses[0].FlaggedOn)
	require.Equal(t, []string{"below threshold by 50 (tier high alerts from 70)"}, r.Misses[0].HeldBack)
	require.Equal(t, "delta", r.Misses[1].Account)
	require.Equal(t, 0, *r.Misses[1].MaxScore)
	require.Equal(t, "2026-11-15", r.Misses[1].MaxScoreOn)
	require.Equal(t, []string{"gate: employees ≥ 10 (is 5)"}, r.Misses[1].HeldBack)

	// Noise: bravo and foxtrot were flagged and did not win.
	require.Equal(t, 2, r.Noise.Count)
	require.Equal(t, map[string]int{"too_small": 1}, r.Noise.NotAFit)
	require.Equal(t, "bravo", r.Noise.Accounts[0].Account)
	require.Equal(t, []string{"too_small"}, r.Noise.Accounts[0].NotAFit)
	require.Equal(t, "foxtrot", r.Noise.Accounts[1].Account)

	// Data health: one unmatched outcome, no events on Nov 14, 16 and 20,
	// 4 wins and 18 new accounts a month.
	require.Equal(t, 1, r.Health.UnmatchedOutcomes)
	require.Equal(t, []string{"2026-11-14", "2026-11-16", "2026-11-20"}, r.Health.DaysWithoutEvents)
	require.InDelta(t, 18, r.Health.NewPerMonth, 1e-9)
	require.Len(t, r.Health.Warnings, 4)

	text := backtest.Text(r)
	require.Contains(t, text, "✗ Captured   50% (2/4)")
	require.Contains(t, text, "✓ PQL → won  40% (2/5)")
	require.Contains(t, text, "charlie won 2026-11-14 · max score 20 on 2026-11-12 · below threshold by 50")
}

func counts(s backtest.SignalRow) [4]int { return [4]int{s.WonFired, s.Won, s.OtherFired, s.Other} }

// ingestDemo stores a demo dataset through the real ingest path.
func ingestDemo(t *testing.T, st *store.Store, ds demo.Dataset) {
	t.Helper()
	var msgs []segMsg
	for _, m := range ds.Messages {
		msgs = append(msgs, segMsg{Type: m.Type, ID: m.MessageID, User: m.UserID, Group: m.GroupID, Name: m.Name,
			Props: m.Properties, Traits: m.Traits, At: m.Timestamp})
	}
	for i := 0; i < len(msgs); i += 500 {
		ingestDirect(t, st, msgs[i:min(i+500, len(msgs))])
	}
}

// TestReplayLastDayIsLiveScore: replaying the demo dataset day by day ends,
// for every account, on the score live scoring gives it from its stored
// facts at the same moment: the backtest and the re-scorer share one code
// path, and the replay's skipped days (nothing could change) are no
// shortcut.
func TestReplayLastDayIsLiveScore(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	now := time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)
	ds, err := demo.Generate(demo.Options{Seed: 42, Now: now})
	require.NoError(t, err)
	ingestDemo(t, st, ds)

	m := model.Default()
	asOf := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	end := asOf.AddDate(0, 0, 1).Add(-time.Nanosecond)
	q := backtest.Query{Series: m.FactsSpec().Series, Filters: m.FactsSpec().Filters, Users: true, Until: asOf.AddDate(0, 0, 1)}
	// The store keys filtered series by the query's signal names; the
	// replay of a single model reads them back without a prefix.
	for i := range q.Filters {
		q.Filters[i].Signal = m.Hash[:12] + "/" + q.Filters[i].Signal
	}
	replayed := map[string]scoring.Result{}
	err = st.ReplayAccounts(ctx, q, func(batch []backtest.Account) error {
		for i := range batch {
			a := &batch[i]
			backtest.Walk(m, a, asOf.AddDate(0, 0, -60), asOf, func(day time.Time, r *scoring.Result) {
				if day.Equal(asOf) {
					replayed[a.ID] = *r
				}
			})
		}
		return nil
	})
	require.NoError(t, err)
	require.Len(t, replayed, len(ds.Accounts))

	ids := make([]string, 0, len(ds.Accounts))
	for _, a := range ds.Accounts {
		ids = append(ids, a.ID)
	}
	facts, err := st.LoadFacts(ctx, ids, m.FactsSpec(), end)
	require.NoError(t, err)
	alerting := 0
	for _, id := range ids {
		live := scoring.Evaluate(m, facts[id], end)
		got := replayed[id]
		require.Equal(t, decision(live), decision(got), "account %s\nlive:\n%s\nreplayed:\n%s", id, scoring.Explain(live), scoring.Explain(got))
		if live.Alertable {
			alerting++
		}
	}
	require.Positive(t, alerting, "the demo has alerting accounts")
}

// decision is every part of a score that decides or explains an alert,
// without the instants (the replay knows days, not the time of day).
type decisionView struct {
	Score, ActiveUsers          int
	Tier, Segment, HandRaise    string
	Alertable                   bool
	Reasons                     []string
	Signals                     []scoring.SignalResult
	FirstEventDay, LastEventDay string
}

func decision(r scoring.Result) decisionView {
	v := decisionView{Score: r.Score, ActiveUsers: r.ActiveUsers, Tier: r.Tier, Segment: r.Segment, Alertable: r.Alertable,
		Signals: r.Signals, FirstEventDay: r.FirstEventAt.Format(time.DateOnly), LastEventDay: r.LastEventAt.Format(time.DateOnly)}
	if r.HandRaise != nil {
		v.HandRaise = r.HandRaise.Event + " " + r.HandRaise.Day.Format(time.DateOnly)
	}
	for _, x := range r.Reasons {
		v.Reasons = append(v.Reasons, x.Code)
	}
	return v
}
