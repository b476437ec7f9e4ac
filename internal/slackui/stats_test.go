package slackui

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/program"
)

// A month of a healthy program, as the demo plays it.
func demoFigures() program.Figures {
	to := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	return program.Figures{
		Period:     program.Period{Name: program.Period30d, From: to.AddDate(0, 0, -30), To: to},
		WindowDays: 90,
		Alerts:     45,
		ByTier:     []program.TierCount{{Tier: "hand_raiser", N: 12}, {Tier: "high", N: 33}},
		NewAlerted: program.Ratio{X: 45, Y: 200}, ToOpportunity: program.Ratio{X: 24, Y: 45}, ToWon: program.Ratio{X: 11, Y: 45},
		DaysToWon: program.Median{Days: 7.3, N: 11}, DaysToWonNeverAlerted: program.Median{Days: 13.06, N: 7},
		WonAlertedFirst: program.Ratio{X: 11, Y: 19},
		ByContact: []program.ContactBucket{
			{Label: program.ContactUnder1h, Won: program.Ratio{X: 5, Y: 12}}, {Label: program.Contact1to24h, Won: program.Ratio{X: 5, Y: 17}},
			{Label: program.ContactOver24h, Won: program.Ratio{X: 1, Y: 9}}, {Label: program.ContactNever, Won: program.Ratio{X: 0, Y: 7}},
		},
		NotFit:         program.Ratio{X: 4, Y: 45},
		NotFitByReason: []program.ReasonCount{{Reason: "existing_customer", N: 2}, {Reason: "other", N: 1}, {Reason: "student_personal", N: 1}},
	}
}

func TestStatsRendering(t *testing.T) {
	f := demoFigures()
	r := StatsReply(f)
	require.NoError(t, ValidateMessage(r.Blocks))
	goldenReply(t, "stats_demo", r)
	d := DigestMessage(f, "week")
	require.NoError(t, ValidateMessage(d.Blocks))
	require.Contains(t, d.Text, "Weekly PQL program digest")
	goldenReply(t, "digest_weekly", d)

	// Bands: a problem under 10%, above the band past it.
	f.ToWon, f.ToOpportunity = program.Ratio{X: 2, Y: 45}, program.Ratio{X: 40, Y: 45}
	r = StatsReply(f)
	goldenReply(t, "stats_bands", r)

	// User text in reasons is escaped; an unknown tier or reason still renders.
	f.ByTier = append(f.ByTier, program.TierCount{Tier: "<b>*x*", N: 1})
	f.NotFitByReason = append(f.NotFitByReason, program.ReasonCount{Reason: "weird_<code>", N: 1})
	r = StatsReply(f)
	require.NoError(t, ValidateMessage(r.Blocks))
	b, err := json.Marshal(r.Blocks)
	require.NoError(t, err)
	require.NotContains(t, string(b), "<b>")
}
