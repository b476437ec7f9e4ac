package commands

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

func TestPercentileMatchesPercentileCont(t *testing.T) {
	// Expected values are PostgreSQL's percentile_cont over the same sets.
	m := time.Minute
	cases := []struct {
		name        string
		in          []time.Duration
		median, p90 time.Duration
	}{
		{"one", []time.Duration{7 * m}, 7 * m, 7 * m},
		{"two", []time.Duration{10 * m, 20 * m}, 15 * m, 19 * m},
		{"odd", []time.Duration{5 * m, 1 * m, 3 * m}, 3 * m, 4*m + 36*time.Second},
		{"ten", []time.Duration{1 * m, 2 * m, 3 * m, 4 * m, 5 * m, 6 * m, 7 * m, 8 * m, 9 * m, 100 * m}, 5*m + 30*time.Second, 18*m + 6*time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := dist(c.in)
			require.Equal(t, len(c.in), d.N)
			require.Equal(t, c.median, d.Median)
			require.Equal(t, c.p90, d.P90)
		})
	}
	require.Equal(t, slackui.Dist{}, dist(nil))
}

func TestStats(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	posted := now.Add(-48 * time.Hour)
	due := posted.Add(24 * time.Hour)
	h := time.Hour
	row := func(state alerting.State, mod func(*AlertRow)) AlertRow {
		a := AlertRow{ID: uuid.New(), State: state, PostedAt: posted, DueAt: due, Tier: "high", Segment: "smb"}
		if mod != nil {
			mod(&a)
		}
		return a
	}
	cases := []struct {
		name string
		in   AlertRow
		want slackui.SLAStats
	}{
		{"open, not due yet", row(alerting.StateOpen, func(a *AlertRow) { a.DueAt = now.Add(h) }),
			slackui.SLAStats{Posted: 1}},
		{"open past due: a breach, due and missed", row(alerting.StateOpen, nil),
			slackui.SLAStats{Posted: 1, Due: 1, OpenBreaches: 1}},
		{"claimed past due", row(alerting.StateClaimed, func(a *AlertRow) { a.ClaimedAt = posted.Add(2 * h) }),
			slackui.SLAStats{Posted: 1, Claimed: 1, Due: 1, OpenBreaches: 1, TimeToClaim: slackui.Dist{N: 1, Median: 2 * h, P90: 2 * h}}},
		{"contacted in time", row(alerting.StateContacted, func(a *AlertRow) {
			a.ClaimedAt, a.ContactedAt = posted.Add(h), posted.Add(5*h)
		}), slackui.SLAStats{Posted: 1, Claimed: 1, Contacted: 1, Due: 1, WithinSLA: 1,
			TimeToClaim: slackui.Dist{N: 1, Median: h, P90: h}, TimeToContact: slackui.Dist{N: 1, Median: 5 * h, P90: 5 * h}}},
		{"contacted exactly at the deadline is in time", row(alerting.StateContacted, func(a *AlertRow) { a.ContactedAt = due }),
			slackui.SLAStats{Posted: 1, Contacted: 1, Due: 1, WithinSLA: 1, TimeToContact: slackui.Dist{N: 1, Median: 24 * h, P90: 24 * h}}},
		{"contacted late", row(alerting.StateContacted, func(a *AlertRow) { a.ContactedAt = due.Add(time.Second) }),
			slackui.SLAStats{Posted: 1, Contacted: 1, Due: 1, TimeToContact: slackui.Dist{N: 1, Median: 24*h + time.Second, P90: 24*h + time.Second}}},
		{"contacted before its deadline, not due yet", row(alerting.StateContacted, func(a *AlertRow) {
			a.DueAt, a.ContactedAt = now.Add(h), now.Add(-h)
		}), slackui.SLAStats{Posted: 1, Contacted: 1, Due: 1, WithinSLA: 1, TimeToContact: slackui.Dist{N: 1, Median: 47 * h, P90: 47 * h}}},
		{"closed as not a fit in time has no SLA outcome", row(alerting.StateClosed, func(a *AlertRow) { a.ClosedAt = posted.Add(h) }),
			slackui.SLAStats{Posted: 1, ClosedNotFit: 1}},
		{"closed after the deadline without contact is missed", row(alerting.StateClosed, func(a *AlertRow) { a.ClosedAt = due.Add(h) }),
			slackui.SLAStats{Posted: 1, ClosedNotFit: 1, Due: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, stats([]AlertRow{c.in}, now, nil))
		})
	}
}

func TestReportSplitsAndOrder(t *testing.T) {
	m := model.Default()
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	mk := func(tier, segment, rep string, state alerting.State, dueIn time.Duration, reason string) AlertRow {
		a := AlertRow{ID: uuid.New(), Tier: tier, Segment: segment, State: state, PostedAt: now.Add(-30 * time.Hour),
			DueAt: now.Add(dueIn), ClaimedBy: rep, ChannelID: "C0SALES01", MessageTS: "1795000000.000100", CloseReason: reason}
		if rep != "" {
			a.ClaimedAt = a.PostedAt.Add(time.Hour)
		}
		if state == alerting.StateClosed {
			a.ClosedAt = a.PostedAt.Add(2 * time.Hour)
		}
		return a
	}
	alerts := []AlertRow{
		mk("mid", "smb", "U0B", alerting.StateClaimed, -2*time.Hour, ""),
		mk("high", "enterprise", "U0A", alerting.StateClaimed, -5*time.Hour, ""),
		mk("hand_raiser", "smb", "U0A", alerting.StateClosed, time.Hour, "competitor"),
		mk("high", "unknown_segment", "", alerting.StateOpen, time.Hour, ""),
		mk("high", "smb", "U0C", alerting.StateClosed, time.Hour, "too_small"),
		mk("high", "smb", "U0C", alerting.StateClosed, time.Hour, "too_small"),
	}
	r := Report(alerts, now, 7, nil, m, SlackArchiveLink)
	require.Equal(t, now.Add(-7*24*time.Hour), r.From)

	var tiers, segments, reps []string
	for _, s := range r.ByTier {
		tiers = append(tiers, s.Name)
	}
	for _, s := range r.BySegment {
		segments = append(segments, s.Name)
	}
	for _, s := range r.Reps {
		reps = append(reps, s.UserID)
	}
	require.Equal(t, []string{"hand_raiser", "high", "mid"}, tiers, "model order, hand-raisers first")
	require.Equal(t, []string{"enterprise", "smb", "unknown_segment"}, segments, "model order, unknown ones last")
	require.Equal(t, []string{"U0A", "U0C", "U0B"}, reps, "busiest first, ties by id")

	require.Len(t, r.Breaches, 2)
	require.Equal(t, alerts[1].ID.String(), r.Breaches[0].AlertID, "most overdue first")
	require.Equal(t, "https://slack.com/archives/C0SALES01/p1795000000000100", r.Breaches[0].Permalink)
	require.Equal(t, []slackui.ReasonCount{{Reason: "too_small", Count: 2}, {Reason: "competitor", Count: 1}}, r.NotFitReasons)
}

func TestSlackArchiveLink(t *testing.T) {
	require.Equal(t, "https://slack.com/archives/C0123/p1795000000000100", SlackArchiveLink("C0123", "1795000000.000100"))
	require.Empty(t, SlackArchiveLink("", "1795000000.000100"))
	require.Empty(t, SlackArchiveLink("C0123", ""))
}
