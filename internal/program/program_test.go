package program

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
)

func TestDigestSlot(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, c := range []struct {
		name, every string
		loc         *time.Location
		now         string
		key, due    string
	}{
		{"monday after 9 UTC", "week", time.UTC, "2026-11-30T09:00:00Z", "week:2026-11-30", "2026-11-30T09:00:00Z"},
		{"monday before 9 UTC: last week's", "week", time.UTC, "2026-11-30T08:59:59Z", "week:2026-11-23", "2026-11-23T09:00:00Z"},
		{"sunday", "week", time.UTC, "2026-11-29T23:00:00Z", "week:2026-11-23", "2026-11-23T09:00:00Z"},
		{"new york monday 9:00 is 14:00 UTC", "week", ny, "2026-11-30T13:59:00Z", "week:2026-11-23", "2026-11-23T14:00:00Z"},
		{"new york monday after 9", "week", ny, "2026-11-30T14:00:00Z", "week:2026-11-30", "2026-11-30T14:00:00Z"},
		{"new york summer time", "week", ny, "2026-07-06T13:30:00Z", "week:2026-07-06", "2026-07-06T13:00:00Z"},
		{"month: the 1st after 9", "month", time.UTC, "2026-12-01T09:00:00Z", "month:2026-12", "2026-12-01T09:00:00Z"},
		{"month: the 1st before 9", "month", time.UTC, "2026-12-01T08:00:00Z", "month:2026-11", "2026-11-01T09:00:00Z"},
		{"month: january looks back to december", "month", ny, "2027-01-01T13:00:00Z", "month:2026-12", "2026-12-01T14:00:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key, due := DigestSlot(c.every, c.loc, utc(c.now))
			require.Equal(t, c.key, key)
			require.Equal(t, utc(c.due), due)
		})
	}
}

func TestPeriodFor(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	require.Equal(t, Period{Name: "30d", From: now.AddDate(0, 0, -30), To: now}, PeriodFor("30d", now))
	require.Equal(t, Period{Name: "90d", From: now.AddDate(0, 0, -90), To: now}, PeriodFor("90d", now))
	require.Equal(t, Period{Name: "quarter", From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: now}, PeriodFor("quarter", now))
	require.Equal(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), PeriodFor("quarter", time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)).From)
}

func TestBands(t *testing.T) {
	for _, c := range []struct {
		r        Ratio
		opp, won Band
	}{
		{Ratio{1, 3}, BandTooFew, BandTooFew},
		{Ratio{0, 10}, BandProblem, BandProblem},
		{Ratio{1, 10}, BandLow, BandLow},
		{Ratio{2, 10}, BandHealthy, BandHealthy},
		{Ratio{3, 10}, BandHealthy, BandHealthy},
		{Ratio{4, 10}, BandHealthy, BandHigh},
		{Ratio{7, 10}, BandHigh, BandHigh},
	} {
		require.Equal(t, c.opp, OpportunityBand(c.r), "%v", c.r)
		require.Equal(t, c.won, WonBand(c.r), "%v", c.r)
	}
}

// Edge cases of the counting rules, worked by hand.
func TestComputeEdges(t *testing.T) {
	p := Period{Name: "30d", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	f := Facts{
		Alerts: []Alert{
			{AccountID: "a", Tier: "high", PostedAt: at(2, 0), ContactedAt: at(2, 1)},  // exactly 1 h: 1–24 h
			{AccountID: "b", Tier: "high", PostedAt: at(3, 0), ContactedAt: at(4, 0)},  // exactly 24 h: 1–24 h
			{AccountID: "c", Tier: "mid", PostedAt: at(4, 0), ContactedAt: at(4, 0)},   // at once: under 1 h
			{AccountID: "c", Tier: "mid", PostedAt: at(20, 0), ContactedAt: at(21, 1)}, // the same account again: over 24 h
			{AccountID: "d", Tier: "high", PostedAt: at(5, 0), NotFitReason: "other"},  // never contacted
		},
		FirstWon: map[string]time.Time{
			"a": at(12, 0),        // exactly the 10-day window: counts
			"b": at(13, 1),        // 10 days and an hour: too late
			"c": at(20, 0),        // counts for both of c's alerts (the second at the same instant)
			"d": at(5, 0).Add(-1), // a nanosecond before the alert: never counts
		},
		Opportunities: map[string][]time.Time{"b": {at(3, 0)}},
	}
	fig := Compute(f, p, 10, model.Default().TierRank)
	require.Equal(t, Ratio{3, 5}, fig.ToOpportunity) // a (its win), b (at the post's instant), c's second alert
	require.Equal(t, Ratio{2, 5}, fig.ToWon)         // a (day 10 of 10), c's second alert (day 0)
	require.Equal(t, Median{Days: 5, N: 2}, fig.DaysToWon)
	require.Equal(t, []ContactBucket{
		{ContactUnder1h, Ratio{0, 1}}, {Contact1to24h, Ratio{1, 2}}, {ContactOver24h, Ratio{1, 1}}, {ContactNever, Ratio{0, 1}},
	}, fig.ByContact)
	require.Equal(t, []TierCount{{"high", 3}, {"mid", 2}}, fig.ByTier)
	require.Equal(t, Ratio{1, 5}, fig.NotFit)
}
