package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/demo"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// After the replay, the demo plays the past month against pqlbot's
// database: its alerts move back in time and get worked, and the CRM's
// outcomes are imported, so the program figures have something to say.
// Playing it twice changes nothing.
func TestPlayProgram(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	ds, err := demo.Generate(demo.Options{Seed: 42, Now: now, Accounts: 200})
	require.NoError(t, err)
	// What pqlbot would have stored: the accounts, and an alert posted
	// just now for each account the example model alerts on.
	alerting := 0
	for _, a := range ds.Accounts {
		_, err := st.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name, domain, first_event_at, last_event_at) VALUES ($1, $2, $3, $4, $4)`,
			a.ID, a.Name, a.Domain, now.AddDate(0, 0, -29))
		require.NoError(t, err)
		if a.Category == demo.HandRaiser || a.Category == demo.StrongTrial || a.Category == demo.SupportHeavy {
			storetest.PostedAlert(t, st, a.ID, now.Add(-time.Minute), 24*time.Hour)
			alerting++
		}
	}
	o := options{seed: 42, now: now, timeout: 30 * time.Second, database: st.Pool().Config().ConnString()}
	var out bytes.Buffer
	require.NoError(t, playProgram(ctx, ds, o, &out))
	require.Contains(t, out.String(), "Played the program's past month")
	require.Contains(t, out.String(), "duplicates 0, unmatched 0")

	p := program.PeriodFor(program.Period30d, now)
	facts, err := st.ProgramFacts(ctx, p.From, p.To, []string{"too_small", "student_personal", "competitor", "existing_customer", "other"})
	require.NoError(t, err)
	fig := program.Compute(facts, p, 90, model.Default().TierRank)
	require.Equal(t, alerting, fig.Alerts)
	require.Positive(t, fig.ToWon.X)
	require.Greater(t, fig.ToOpportunity.X, fig.ToWon.X)
	require.Positive(t, fig.DaysToWon.N)
	require.Positive(t, fig.DaysToWonNeverAlerted.N, "self-serve wins without an alert")
	var contacted int
	for _, b := range fig.ByContact[:3] {
		contacted += b.Won.Y
	}
	require.Positive(t, contacted)
	for _, a := range facts.Alerts {
		require.True(t, a.PostedAt.Before(now.Add(-47*time.Hour)), "alerts moved back into the past month")
	}

	out.Reset()
	require.NoError(t, playProgram(ctx, ds, o, &out))
	require.Contains(t, out.String(), "(imported 0,")
	again, err := st.ProgramFacts(ctx, p.From, p.To, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, facts.Alerts, withoutNotFit(again.Alerts, facts.Alerts))
}

// withoutNotFit copies the not-a-fit reasons of want into got (the second
// read asked for none), so the two reads compare.
func withoutNotFit(got, want []program.Alert) []program.Alert {
	reasons := map[string]string{}
	for _, a := range want {
		reasons[a.AccountID] = a.NotFitReason
	}
	for i := range got {
		got[i].NotFitReason = reasons[got[i].AccountID]
	}
	return got
}
