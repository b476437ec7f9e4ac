// Package program computes the PQL program's own figures (SPEC §7): did the
// alerts turn into opportunities and customers, how fast, does answering
// fast pay, and why reps turned alerts down. `/pql stats`, the App Home and
// the digest all show the same Figures.
//
// The store gathers Facts (alerts of the period, first wins, opportunities,
// new accounts); Compute turns them into Figures without I/O, so every rule
// below is tested with hand-worked tables:
//
//   - an alert is one posted in the period;
//   - it reached an opportunity when its account has an opportunity (or a
//     win: a won deal was an opportunity) dated from the alert's post to
//     window_days after it; it was won when the account's first win falls
//     in that span. An outcome dated before the alert never counts for it;
//   - time to contact runs from the post to "Mark contacted", wall clock;
//     "never" is not contacted as of now;
//   - won accounts are those whose first win is dated in the period; one
//     "alerted first" when an alert was posted in the window_days before the
//     win; one "never alerted" had no alert posted before its win, and its
//     days to won run from the account's first event.
package program

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

const day = 24 * time.Hour

// Period is the span the figures cover: [From, To).
type Period struct {
	// Name is how it was asked for: 30d, 90d or quarter.
	Name     string
	From, To time.Time
}

// Period names.
const (
	Period30d     = "30d"
	Period90d     = "90d"
	PeriodQuarter = "quarter"
)

// PeriodFor returns the named period ending at now: the last 30 or 90 days,
// or the calendar quarter so far (UTC). An unknown name is the last 30 days.
func PeriodFor(name string, now time.Time) Period {
	now = now.UTC()
	switch name {
	case Period90d:
		return Period{Name: name, From: now.Add(-90 * day), To: now}
	case PeriodQuarter:
		q := (int(now.Month()) - 1) / 3
		return Period{Name: name, From: time.Date(now.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, time.UTC), To: now}
	}
	return Period{Name: Period30d, From: now.Add(-30 * day), To: now}
}

// Alert is one alert posted in the period, with what the figures need.
type Alert struct {
	AccountID string
	Tier      string
	PostedAt  time.Time
	// ContactedAt is zero when nobody marked it contacted.
	ContactedAt time.Time
	// NotFitReason is set when a rep closed it as not a fit.
	NotFitReason string
	// AccountFirstSeen is the account's first event (zero if unknown).
	AccountFirstSeen time.Time
}

// WonAccount is an account whose first win is dated in the period.
type WonAccount struct {
	AccountID string
	WonAt     time.Time
	FirstSeen time.Time
	// LastAlertBefore is the latest alert posted at or before WonAt (zero:
	// none ever).
	LastAlertBefore time.Time
}

// Facts are what the store reads for one period.
type Facts struct {
	Alerts []Alert
	// FirstWon is each alerted account's first won outcome, if any.
	FirstWon map[string]time.Time
	// Opportunities are the alerted accounts' opportunity and won outcome
	// times from the period's start on.
	Opportunities map[string][]time.Time
	Won           []WonAccount
	// NewAccounts counts accounts first seen in the period.
	NewAccounts int
}

// Ratio is x of y.
type Ratio struct{ X, Y int }

// Share is X/Y, 0 when Y is 0.
func (r Ratio) Share() float64 {
	if r.Y == 0 {
		return 0
	}
	return float64(r.X) / float64(r.Y)
}

// Median is a median number of days over N samples.
type Median struct {
	Days float64
	N    int
}

// TierCount is the alerts of one tier.
type TierCount struct {
	Tier string
	N    int
}

// ContactBucket is the won rate of alerts contacted within a span.
type ContactBucket struct {
	Label string
	Won   Ratio
}

// Contact buckets, fastest first.
const (
	ContactUnder1h = "under 1 h"
	Contact1to24h  = "1–24 h"
	ContactOver24h = "over 24 h"
	ContactNever   = "never"
)

// ReasonCount is the alerts closed as not a fit for one reason.
type ReasonCount struct {
	Reason string
	N      int
}

// Figures are the program figures of one period.
type Figures struct {
	Period     Period
	WindowDays int
	// Alerts by tier, in the model's tier order.
	Alerts int
	ByTier []TierCount
	// NewAlerted is new accounts (first seen in the period) alerted in it,
	// of new accounts.
	NewAlerted Ratio
	// ToOpportunity and ToWon are alerts reaching an opportunity / a win
	// within the window, of alerts.
	ToOpportunity, ToWon Ratio
	// DaysToWon is alert → won over the alerts counted in ToWon;
	// DaysToWonNeverAlerted is first seen → won for won accounts that never
	// alerted.
	DaysToWon, DaysToWonNeverAlerted Median
	// WonAlertedFirst is won accounts in the period that were alerted
	// within the window before winning, of won accounts in the period.
	WonAlertedFirst Ratio
	// ByContact is the won rate by time to contact, fastest first.
	ByContact []ContactBucket
	// NotFit is alerts closed as not a fit, of alerts; by reason, most
	// first.
	NotFit         Ratio
	NotFitByReason []ReasonCount
}

// Compute works out the figures for period from facts. tierRank orders
// tiers (lower first); windowDays is outcomes.window_days.
func Compute(f Facts, p Period, windowDays int, tierRank func(string) int) Figures {
	window := time.Duration(windowDays) * day
	fig := Figures{Period: p, WindowDays: windowDays, Alerts: len(f.Alerts)}
	tiers := map[string]int{}
	reasons := map[string]int{}
	newAlerted := map[string]bool{}
	buckets := []ContactBucket{{Label: ContactUnder1h}, {Label: Contact1to24h}, {Label: ContactOver24h}, {Label: ContactNever}}
	var toWon []float64
	for _, a := range f.Alerts {
		tiers[a.Tier]++
		if !a.AccountFirstSeen.IsZero() && !a.AccountFirstSeen.Before(p.From) && a.AccountFirstSeen.Before(p.To) {
			newAlerted[a.AccountID] = true
		}
		end := a.PostedAt.Add(window)
		within := func(t time.Time) bool { return !t.IsZero() && !t.Before(a.PostedAt) && !t.After(end) }
		won := within(f.FirstWon[a.AccountID])
		opp := won || slices.ContainsFunc(f.Opportunities[a.AccountID], within)
		fig.ToOpportunity.Y++
		fig.ToWon.Y++
		if opp {
			fig.ToOpportunity.X++
		}
		if won {
			fig.ToWon.X++
			toWon = append(toWon, f.FirstWon[a.AccountID].Sub(a.PostedAt).Hours()/24)
		}
		b := &buckets[contactBucket(a)]
		b.Won.Y++
		if won {
			b.Won.X++
		}
		fig.NotFit.Y++
		if a.NotFitReason != "" {
			fig.NotFit.X++
			reasons[a.NotFitReason]++
		}
	}
	fig.NewAlerted = Ratio{X: len(newAlerted), Y: f.NewAccounts}
	fig.DaysToWon = median(toWon)
	fig.ByContact = buckets

	var never []float64
	for _, w := range f.Won {
		fig.WonAlertedFirst.Y++
		if !w.LastAlertBefore.IsZero() && !w.LastAlertBefore.Before(w.WonAt.Add(-window)) {
			fig.WonAlertedFirst.X++
		}
		if w.LastAlertBefore.IsZero() && !w.FirstSeen.IsZero() && !w.FirstSeen.After(w.WonAt) {
			never = append(never, w.WonAt.Sub(w.FirstSeen).Hours()/24)
		}
	}
	fig.DaysToWonNeverAlerted = median(never)

	for t, n := range tiers {
		fig.ByTier = append(fig.ByTier, TierCount{Tier: t, N: n})
	}
	slices.SortFunc(fig.ByTier, func(a, b TierCount) int {
		return cmp.Or(cmp.Compare(tierRank(a.Tier), tierRank(b.Tier)), cmp.Compare(a.Tier, b.Tier))
	})
	for r, n := range reasons {
		fig.NotFitByReason = append(fig.NotFitByReason, ReasonCount{Reason: r, N: n})
	}
	slices.SortFunc(fig.NotFitByReason, func(a, b ReasonCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Reason, b.Reason))
	})
	return fig
}

func contactBucket(a Alert) int {
	if a.ContactedAt.IsZero() {
		return 3
	}
	switch d := a.ContactedAt.Sub(a.PostedAt); {
	case d < time.Hour:
		return 0
	case d <= 24*time.Hour:
		return 1
	}
	return 2
}

// median of days; the mean of the middle two for an even count.
func median(xs []float64) Median {
	if len(xs) == 0 {
		return Median{}
	}
	sort.Float64s(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return Median{Days: xs[m], N: len(xs)}
	}
	return Median{Days: (xs[m-1] + xs[m]) / 2, N: len(xs)}
}

// Band is how a rate compares with the seeds' benchmarks for a PQL program.
type Band string

// Bands.
const (
	BandTooFew  Band = "too few to judge"
	BandProblem Band = "problem"
	BandLow     Band = "below the healthy band"
	BandHealthy Band = "healthy"
	BandHigh    Band = "above the healthy band"
)

// Healthy bands from the seeds: PQL → opportunity 20–60%, PQL → customer
// 20–30%; below 10% either way points at a systemic problem.
const (
	OppHealthyMin, OppHealthyMax = 0.20, 0.60
	WonHealthyMin, WonHealthyMax = 0.20, 0.30
	ProblemBelow                 = 0.10
	// MinForBand: fewer alerts than this and any rate is noise.
	MinForBand = 10
)

// OpportunityBand places an alert → opportunity rate.
func OpportunityBand(r Ratio) Band { return band(r, OppHealthyMin, OppHealthyMax) }

// WonBand places an alert → won rate.
func WonBand(r Ratio) Band { return band(r, WonHealthyMin, WonHealthyMax) }

func band(r Ratio, lo, hi float64) Band {
	if r.Y < MinForBand {
		return BandTooFew
	}
	switch s := r.Share(); {
	case s < ProblemBelow:
		return BandProblem
	case s < lo:
		return BandLow
	case s <= hi:
		return BandHealthy
	}
	return BandHigh
}
