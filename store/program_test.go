package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

var notFitReasons = []string{"too_small", "student_personal", "competitor", "existing_customer", "other"}

// ProgramFixture builds, in st, the accounts, alerts and outcomes whose
// figures TestProgramFigures works out by hand. The period is the 30 days
// ending 2026-11-30 12:00 UTC (from 2026-10-31 12:00); the window is 30 days.
func programFixture(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	d := func(month, day, hour int) time.Time {
		return time.Date(2026, time.Month(month), day, hour, 0, 0, 0, time.UTC)
	}
	accounts := map[string]time.Time{
		"A": d(11, 1, 0), "B": d(9, 1, 0), "C": d(10, 1, 0), "D": d(11, 10, 0), "E": d(10, 1, 0), "F": d(11, 1, 0),
		"G": d(7, 1, 0), "H": d(10, 15, 0), "I": d(5, 1, 0), "J": d(11, 20, 0), "K": d(6, 1, 0),
	}
	for id, first := range accounts {
		_, err := st.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name, domain, first_event_at, last_event_at) VALUES ($1, $1, lower($1) || '.example', $2, $2)`, id, first)
		require.NoError(t, err)
	}
	type alert struct {
		account, tier string
		posted        time.Time
		contactAfter  time.Duration // 0: never
		notFit        string
	}
	for _, a := range []alert{
		{"A", "high", d(11, 2, 10), 30 * time.Minute, ""},
		{"B", "hand_raiser", d(11, 3, 0), 5 * time.Hour, ""},
		{"C", "high", d(11, 6, 0), 48 * time.Hour, ""},
		{"D", "high", d(11, 12, 0), 0, "too_small"},
		{"E", "high", d(11, 15, 0), 0, ""},
		{"F", "hand_raiser", d(11, 16, 0), 20 * time.Minute, ""},
		{"K", "high", d(11, 18, 0), 0, "competitor"},
		{"G", "high", d(10, 20, 0), time.Hour, ""}, // before the period
		{"I", "high", d(8, 1, 0), time.Hour, ""},   // long before the period
	} {
		got := storetest.PostedAlert(t, st, a.account, a.posted, 24*time.Hour)
		_, err := st.Pool().Exec(ctx, `UPDATE alerts SET tier = $2 WHERE id = $1`, got.ID, a.tier)
		require.NoError(t, err)
		if a.contactAfter > 0 {
			_, err = st.Pool().Exec(ctx, `UPDATE alerts SET state = 'contacted', contacted_by = 'U1', contacted_at = $2 WHERE id = $1`, got.ID, a.posted.Add(a.contactAfter))
			require.NoError(t, err)
		}
		if a.notFit != "" {
			_, err = st.Pool().Exec(ctx, `UPDATE alerts SET state = 'closed', closed_by = 'U1', closed_at = $2, close_reason = $3 WHERE id = $1`, got.ID, a.posted.Add(time.Hour), a.notFit)
			require.NoError(t, err)
		}
	}
	row := func(acct string, k model.OutcomeKind, at time.Time) outcomes.Row {
		return outcomes.Row{Line: 2, Account: acct, Kind: k, At: at}
	}
	res, err := st.ImportOutcomes(ctx, []outcomes.Row{
		row("A", model.OutcomeOpportunity, d(11, 5, 0)),
		row("A", model.OutcomeWon, d(11, 20, 10)),
		row("B", model.OutcomeOpportunity, d(11, 10, 0)),
		row("C", model.OutcomeWon, d(11, 1, 0)), // before C's alert
		row("E", model.OutcomeWon, d(11, 25, 0)),
		row("F", model.OutcomeOpportunity, d(10, 20, 0)), // before F's alert
		row("G", model.OutcomeWon, d(11, 10, 0)),
		row("H", model.OutcomeWon, d(11, 14, 0)),
		row("I", model.OutcomeWon, d(11, 28, 0)),
		row("nobody.example", model.OutcomeWon, d(11, 28, 0)), // unmatched: counts nowhere
	})
	require.NoError(t, err)
	require.Equal(t, 1, res.Unmatched)
}

func TestProgramFigures(t *testing.T) {
	st := storetest.New(t)
	programFixture(t, st)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	p := program.PeriodFor(program.Period30d, now)
	facts, err := st.ProgramFacts(context.Background(), p.From, p.To, notFitReasons)
	require.NoError(t, err)
	fig := program.Compute(facts, p, 30, model.Default().TierRank)

	// Alerts posted in the period: A B C D E F K (G and I before it).
	require.Equal(t, 7, fig.Alerts)
	require.Equal(t, []program.TierCount{{Tier: "hand_raiser", N: 2}, {Tier: "high", N: 5}}, fig.ByTier)
	// First seen in the period: A D F J; alerted among them: A D F.
	require.Equal(t, program.Ratio{X: 3, Y: 4}, fig.NewAlerted)
	// Opportunity within 30 days of the alert: A (11-05), B (11-10), E
	// (its win); not C (nothing after its alert), F (before its alert),
	// D, K.
	require.Equal(t, program.Ratio{X: 3, Y: 7}, fig.ToOpportunity)
	// Won within 30 days: A (18 days), E (10 days); C won before its alert.
	require.Equal(t, program.Ratio{X: 2, Y: 7}, fig.ToWon)
	require.Equal(t, program.Median{Days: 14, N: 2}, fig.DaysToWon)
	// Won in the period: A C E G H I; alerted in the 30 days before the
	// win: A, E, G (21 days before); not C (alerted after), H (never), I
	// (alerted 119 days before).
	require.Equal(t, program.Ratio{X: 3, Y: 6}, fig.WonAlertedFirst)
	// Never alerted before the win: C (10-01 → 11-01, 31 days), H (10-15
	// → 11-14, 30 days).
	require.Equal(t, program.Median{Days: 30.5, N: 2}, fig.DaysToWonNeverAlerted)
	// By time to contact: under 1 h A (won), F; 1–24 h B; over 24 h C;
	// never D, E (won), K.
	require.Equal(t, []program.ContactBucket{
		{Label: program.ContactUnder1h, Won: program.Ratio{X: 1, Y: 2}},
		{Label: program.Contact1to24h, Won: program.Ratio{X: 0, Y: 1}},
		{Label: program.ContactOver24h, Won: program.Ratio{X: 0, Y: 1}},
		{Label: program.ContactNever, Won: program.Ratio{X: 1, Y: 3}},
	}, fig.ByContact)
	require.Equal(t, program.Ratio{X: 2, Y: 7}, fig.NotFit)
	require.Equal(t, []program.ReasonCount{{Reason: "competitor", N: 1}, {Reason: "too_small", N: 1}}, fig.NotFitByReason)
}
