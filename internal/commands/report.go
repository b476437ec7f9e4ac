package commands

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

const day = 24 * time.Hour

// How the SLA figures are counted, for one alert posted in the period:
//
//   - Claimed and Contacted: it has a claim (a contact) time. Time to claim
//     and to contact run from the post, counted in business hours when the
//     model has them, like the deadline itself.
//   - Due: its SLA outcome is known. It was contacted, or its deadline has
//     passed. An alert closed as not a fit before its deadline has no SLA
//     outcome (closing it was the response) and is not due; one closed
//     after its deadline without contact counts as missed.
//   - Within SLA: contacted no later than its deadline.
//   - Open breach: still open or claimed with its deadline passed.
//
// Reps are the claimants (the contact maker when nobody claimed).

// Report computes the SLA figures of alerts (those posted in the period)
// at now; link makes the breaches' message links. It is pure.
func Report(alerts []AlertRow, now time.Time, days int, bh *sla.BusinessHours, m *model.Model, link func(channelID, ts string) string) slackui.SLAReport {
	r := slackui.SLAReport{Days: days, From: now.Add(-time.Duration(days) * day), To: now}

	// Each alert's outcome is worked out once (the business-hours clock is
	// the costly part) and added to every group it belongs to.
	var totals tally
	byRep := map[string]*tally{}
	byTier := map[string]*tally{}
	bySegment := map[string]*tally{}
	add := func(groups map[string]*tally, key string, o outcome) {
		t := groups[key]
		if t == nil {
			t = &tally{}
			groups[key] = t
		}
		t.add(o)
	}
	reasons := map[string]int{}
	for i := range alerts {
		a := &alerts[i]
		o := outcomeOf(a, now, bh)
		totals.add(o)
		if rep := cmp.Or(a.ClaimedBy, a.ContactedBy); rep != "" {
			add(byRep, rep, o)
		}
		add(byTier, a.Tier, o)
		add(bySegment, a.Segment, o)
		if a.State == alerting.StateClosed && a.CloseReason != "" {
			reasons[a.CloseReason]++
		}
		if o.breach {
			r.Breaches = append(r.Breaches, breachRow(*a, now, bh, link))
		}
	}
	r.Totals = totals.stats()
	sortBreaches(r.Breaches)

	for rep, t := range byRep {
		r.Reps = append(r.Reps, slackui.RepRow{UserID: rep, SLAStats: t.stats()})
	}
	// Busiest reps first; ties by id so the order is stable.
	slices.SortFunc(r.Reps, func(a, b slackui.RepRow) int {
		return cmp.Or(cmp.Compare(b.Claimed+b.Contacted, a.Claimed+a.Contacted), cmp.Compare(a.UserID, b.UserID))
	})

	tierOrder := func(t string) int { return m.TierRank(t) }
	r.ByTier = splits(byTier, tierOrder)
	segOrder := func(s string) int {
		for i, seg := range m.Segments {
			if seg.Name == s {
				return i
			}
		}
		return len(m.Segments)
	}
	r.BySegment = splits(bySegment, segOrder)

	for code, n := range reasons {
		r.NotFitReasons = append(r.NotFitReasons, slackui.ReasonCount{Reason: closereason.Reason(code), Count: n})
	}
	slices.SortFunc(r.NotFitReasons, func(a, b slackui.ReasonCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
	})
	return r
}

func splits(groups map[string]*tally, order func(string) int) []slackui.SplitRow {
	out := make([]slackui.SplitRow, 0, len(groups))
	for name, t := range groups {
		out = append(out, slackui.SplitRow{Name: name, SLAStats: t.stats()})
	}
	slices.SortFunc(out, func(a, b slackui.SplitRow) int {
		return cmp.Or(cmp.Compare(order(a.Name), order(b.Name)), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// overdue reports an active alert past its deadline: an open breach,
// whether or not the sweeper has escalated it yet.
func overdue(a *AlertRow, now time.Time) bool {
	return a.State.Active() && !a.DueAt.IsZero() && now.After(a.DueAt)
}

// outcome is one alert's part in the figures.
type outcome struct {
	claimed, contacted, closedNotFit, due, within, breach bool
	toClaim, toContact                                    time.Duration
}

func outcomeOf(a *AlertRow, now time.Time, bh *sla.BusinessHours) outcome {
	var o outcome
	if !a.ClaimedAt.IsZero() {
		o.claimed = true
		o.toClaim = sla.Elapsed(a.PostedAt, a.ClaimedAt, bh)
	}
	if !a.ContactedAt.IsZero() {
		o.contacted = true
		o.toContact = sla.Elapsed(a.PostedAt, a.ContactedAt, bh)
	}
	o.closedNotFit = a.State == alerting.StateClosed
	pastDue := !a.DueAt.IsZero() && now.After(a.DueAt)
	closedInTime := o.closedNotFit && !o.contacted && !a.ClosedAt.IsZero() && !a.ClosedAt.After(a.DueAt)
	switch {
	case o.contacted:
		o.due = true
		o.within = !a.DueAt.IsZero() && !a.ContactedAt.After(a.DueAt)
	case pastDue && !closedInTime:
		o.due = true
	}
	o.breach = overdue(a, now)
	return o
}

// tally adds outcomes up into SLAStats.
type tally struct {
	s                  slackui.SLAStats
	toClaim, toContact []time.Duration
}

func (t *tally) add(o outcome) {
	t.s.Posted++
	if o.claimed {
		t.s.Claimed++
		t.toClaim = append(t.toClaim, o.toClaim)
	}
	if o.contacted {
		t.s.Contacted++
		t.toContact = append(t.toContact, o.toContact)
	}
	if o.closedNotFit {
		t.s.ClosedNotFit++
	}
	if o.due {
		t.s.Due++
	}
	if o.within {
		t.s.WithinSLA++
	}
	if o.breach {
		t.s.OpenBreaches++
	}
}

func (t *tally) stats() slackui.SLAStats {
	s := t.s
	s.TimeToClaim = dist(t.toClaim)
	s.TimeToContact = dist(t.toContact)
	return s
}

// stats computes the figures of one set of alerts.
func stats(alerts []AlertRow, now time.Time, bh *sla.BusinessHours) slackui.SLAStats {
	var t tally
	for i := range alerts {
		t.add(outcomeOf(&alerts[i], now, bh))
	}
	return t.stats()
}

// dist is the median and p90 of ds, interpolated between the closest ranks
// as PostgreSQL's percentile_cont does. It sorts ds in place.
func dist(ds []time.Duration) slackui.Dist {
	if len(ds) == 0 {
		return slackui.Dist{}
	}
	sorted := ds
	slices.Sort(sorted)
	return slackui.Dist{N: len(sorted), Median: percentile(sorted, 0.5), P90: percentile(sorted, 0.9)}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	pos := p * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	if lo == hi {
		return sorted[lo]
	}
	frac := pos - float64(lo)
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[hi]-sorted[lo])))
}

func breachRow(a AlertRow, now time.Time, bh *sla.BusinessHours, link func(channelID, ts string) string) slackui.BreachRow {
	return slackui.BreachRow{
		AlertID: a.ID.String(), AccountID: a.AccountID, AccountName: a.AccountName, Domain: a.Domain,
		Tier: a.Tier, Channel: channelOf(a), ClaimedBy: a.ClaimedBy, PostedAt: a.PostedAt, DueAt: a.DueAt,
		Overdue: sla.Elapsed(a.DueAt, now, bh), Permalink: link(a.ChannelID, a.MessageTS),
	}
}

// sortBreaches puts the most overdue first.
func sortBreaches(bs []slackui.BreachRow) {
	sort.SliceStable(bs, func(i, j int) bool {
		if !bs[i].DueAt.Equal(bs[j].DueAt) {
			return bs[i].DueAt.Before(bs[j].DueAt)
		}
		return bs[i].AlertID < bs[j].AlertID
	})
}

func (s *Service) sla(ctx context.Context, cmd slackui.Command) (slackui.Reply, error) {
	if cmd.UserID == "" && cmd.UserName != "" {
		// Slack sends a picked user as <@U…> (the command escapes
		// mentions); a bare @name was typed without picking anyone.
		return slackui.Reply{}, problem("I don't know who `@%s` is: pick the person from Slack's @-autocomplete so Slack sends their user id", cmd.UserName)
	}
	now := s.now()
	f := Filter{UserID: cmd.UserID, ChannelID: cmd.ChannelID, ChannelName: cmd.ChannelName}
	alerts, err := s.Store.PostedAlerts(ctx, now.Add(-cmd.Period()), now, f, SLARowLimit)
	if err != nil {
		return slackui.Reply{}, fmt.Errorf("alerts of the last %d days: %w", cmd.Days, err)
	}
	r := Report(alerts, now, cmd.Days, alerting.Hours(s.Model), s.Model, s.permalink)
	r.FilterUserID = cmd.UserID
	switch {
	case cmd.ChannelID != "":
		r.FilterChannel = cmd.ChannelID
	case cmd.ChannelName != "":
		r.FilterChannel = "#" + cmd.ChannelName
	}
	return slackui.SLAReply(r), nil
}
