package demo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The played month looks like a healthy program: alert → won and alert →
// opportunity in the seeds' ranges, fast answers winning more often than
// slow ones, wins without alerts too; and the same seed plays the same.
func TestProgramIsRealistic(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	ds, err := Generate(Options{Seed: 7, Now: now, Accounts: 2000})
	require.NoError(t, err)
	var alerted []string
	for _, a := range ds.Accounts {
		if a.Category == HandRaiser || a.Category == StrongTrial || a.Category == SupportHeavy {
			alerted = append(alerted, a.ID)
		}
	}
	alerts, outs := Program(ds, alerted, now, 7)
	again, outs2 := Program(ds, alerted, now, 7)
	require.Equal(t, alerts, again)
	require.Equal(t, outs, outs2)
	require.Len(t, alerts, len(alerted))

	domain := map[string]string{}
	for _, a := range ds.Accounts {
		domain[a.ID] = a.Domain
	}
	won, opp := map[string]time.Time{}, map[string]bool{}
	for _, o := range outs {
		require.False(t, o.At.After(now), "no outcome after now")
		switch o.Kind {
		case "won":
			won[o.Account] = o.At
			opp[o.Account] = true
		case "opportunity":
			opp[o.Account] = true
		}
	}
	var nWon, nOpp int
	fast, slow := [2]int{}, [2]int{} // won, alerts
	for _, a := range alerts {
		require.True(t, a.PostedAt.Before(now.Add(-48*time.Hour)))
		require.False(t, a.PostedAt.Before(now.Add(-27*24*time.Hour)))
		w, isWon := won[domain[a.AccountID]]
		if isWon {
			require.True(t, w.After(a.PostedAt), "a win after its alert")
			nWon++
		}
		if opp[domain[a.AccountID]] {
			nOpp++
		}
		switch {
		case a.ContactAfter > 0 && a.ContactAfter < time.Hour:
			fast[1]++
			if isWon {
				fast[0]++
			}
		case a.ContactAfter == 0:
			slow[1]++
			if isWon {
				slow[0]++
			}
		}
		if a.NotFit != "" {
			require.Zero(t, a.ContactAfter)
			require.False(t, isWon)
		}
	}
	wonRate, oppRate := float64(nWon)/float64(len(alerts)), float64(nOpp)/float64(len(alerts))
	t.Logf("alert → won %.2f, → opportunity %.2f, won if answered within the hour %d/%d, never %d/%d", wonRate, oppRate, fast[0], fast[1], slow[0], slow[1])
	require.InDelta(t, 0.25, wonRate, 0.10, "alert → won near the seeds' 20–30%%")
	require.InDelta(t, 0.45, oppRate, 0.20, "alert → opportunity inside 20–60%%")
	require.Greater(t, float64(fast[0])/float64(fast[1]), 2*float64(slow[0])/float64(slow[1]), "answered within the hour wins more than twice as often as never answered")
	require.Greater(t, len(won), nWon, "some accounts win without an alert")
}
