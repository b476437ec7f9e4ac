// Package backtest replays stored history day by day through the live
// scorer and measures a model against what became of the accounts (SPEC
// §7): the share of won accounts it would have caught, the share of new
// accounts it would have flagged, how flagged accounts converted, and why it
// missed the ones it missed.
//
// The replay is pure and has no look-ahead: an account's facts on a UTC day
// are the previous day's plus that day's roll-ups (and group calls), and it
// is scored at the end of the day with scoring.Evaluate, the function the
// live re-scorer calls, so windows, gates, recency, suppression and
// hand-raisers behave exactly as they do live. A day on which nothing new
// arrived and every window has emptied repeats the day before without a
// re-score: the score cannot change until something new happens.
package backtest

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// Account is one account's stored history, as the replay reads it.
type Account struct {
	ID, Name, Domain string
	// Traits are the account's traits now (with the derived email_domain).
	Traits map[string]any
	// TraitChanges are its group calls, oldest first. A trait that some
	// group call sent is unknown before the first such call; the others
	// (no history stored) have their current value throughout.
	TraitChanges []TraitChange
	// Days are the UTC days with activity, oldest first, none after as-of.
	Days []Day
	// NotFit are the reasons reps gave when they closed its alerts as not
	// a fit.
	NotFit []string
}

// TraitChange is one group call's traits.
type TraitChange struct {
	At     time.Time
	Traits map[string]any
}

// Day is one UTC day of an account's activity: its daily roll-ups.
type Day struct {
	// Day is the UTC midnight.
	Day     time.Time
	Buckets []scoring.Bucket
	// Users are the users active that day.
	Users []string
	// Filtered are that day's buckets of the signals with `where`.
	Filtered []Filtered
}

// Filtered is one day's property-filtered bucket of a signal.
type Filtered struct {
	// Signal is the Query's Filter.Signal the bucket answers.
	Signal string
	Bucket scoring.Bucket
}

// Outcome is one recorded result of an account.
type Outcome struct {
	AccountID string
	// Kind is "won", "opportunity" or "lost".
	Kind string
	At   time.Time
}

// OutcomeWon is the outcome kind the report is about.
const OutcomeWon = string(model.OutcomeWon)

const secondsPerDay = 24 * 60 * 60

// dayOf is the UTC day number of t.
func dayOf(t time.Time) int64 {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return d
}

func dayTime(d int64) time.Time { return time.Unix(d*secondsPerDay, 0).UTC() }

// endOfDay is the last instant of day d: the account is scored "at the end
// of each UTC day".
func endOfDay(d int64) time.Time { return dayTime(d + 1).Add(-time.Nanosecond) }

// plan is a model compiled for one replay window; it is shared read-only by
// the workers.
type plan struct {
	m *model.Model
	// from and to are the window's first and last day; scoreFrom is the
	// first day scored (outcome window days before from).
	from, to, scoreFrom int64
	outcomeDays         int
	// windows are the distinct finite windows (recency included): a day
	// of activity leaves a window of w days w days later. early is the
	// longest velocity period: the first early days of an account's life
	// can each change its early score.
	windows []int
	early   int
	// keep is, per roll-up series, how many days back a score reads it
	// (0: all history); userDays the same for active users. The replay
	// drops older rows, as the live loader never loads them.
	keep     map[[2]string]int
	userDays int
	// notify says, per tier and segment, whether the route alerts.
	notify map[[2]string]bool
	// sweepTier is the position in m.Tiers of the highest alerting tier
	// that is not the hand_raiser tier (-1: none); sweep its min_score.
	sweepTier  int
	thresholds []int
	words      int // uint64 words of a signal bitset
	// filterPrefix marks this model's filtered series in Day.Filtered.
	filterPrefix string
	// noShortcuts re-scores every day with every row (tests compare).
	noShortcuts bool
}

// Sweep is the min_score range --sweep tries: 30 to 100 by 10.
var Sweep = []int{30, 40, 50, 60, 70, 80, 90, 100}

func newPlan(m *model.Model, from, to time.Time, outcomeDays int, sweep bool) *plan {
	p := &plan{
		m: m, from: dayOf(from), to: dayOf(to), outcomeDays: outcomeDays,
		notify: map[[2]string]bool{}, sweepTier: -1, early: m.FactsSpec().VelocityDays,
		words: (len(m.Signals) + 63) / 64, filterPrefix: filterPrefix(m),
	}
	p.scoreFrom = p.from - int64(outcomeDays)
	spec := m.FactsSpec()
	p.keep = make(map[[2]string]int, len(spec.Series))
	for _, sr := range spec.Series {
		p.keep[[2]string{sr.Kind, sr.Name}] = sr.Days
	}
	p.userDays = spec.UserDays
	p.windows = []int{m.RecencyDays}
	for _, s := range m.Signals {
		if w := s.WindowDays; w > 0 && !slices.Contains(p.windows, w) {
			p.windows = append(p.windows, w)
		}
	}
	tiers := []string{model.TierHandRaiser}
	for _, t := range m.Tiers {
		tiers = append(tiers, t.Name)
	}
	segs := []string{""}
	for _, s := range m.Segments {
		segs = append(segs, s.Name)
	}
	for _, t := range tiers {
		for _, s := range segs {
			if r, ok := m.Route(t, s); ok && r.Notify {
				p.notify[[2]string{t, s}] = true
			}
		}
	}
	for i, t := range m.Tiers {
		if sweep && p.alerts(t.Name) {
			p.sweepTier, p.thresholds = i, Sweep
			break
		}
	}
	return p
}

// alerts reports whether some route alerts for tier.
func (p *plan) alerts(tier string) bool {
	for k := range p.notify {
		if k[0] == tier {
			return true
		}
	}
	return false
}

// day is what the report keeps of one day's score.
type day struct {
	score      int
	tierRank   int
	flagged    bool
	handRaised bool
	// blocked: something other than the score stands in the way (a gate,
	// recency, suppression).
	blocked bool
	segment string
	tier    string
	fired   []uint64
}

func (p *plan) record(r *scoring.Result, into *day) {
	into.score, into.tier, into.segment = r.Score, r.Tier, r.Segment
	into.tierRank = p.m.TierRank(r.Tier)
	into.flagged = r.Alertable
	into.handRaised = r.HandRaise != nil
	into.blocked = false
	for _, x := range r.Reasons {
		if x.Code != scoring.ReasonBelowThreshold {
			into.blocked = true
		}
	}
	into.fired = resize(into.fired, p.words)
	clear(into.fired)
	for i := range r.Signals {
		if r.Signals[i].Fired {
			into.fired[i/64] |= 1 << (i % 64)
		}
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// flaggedAt says whether the day would be flagged with the sweep tier's
// min_score set to min: the tier an account is in is the first whose
// min_score the score meets, with that one tier's bar moved.
func (p *plan) flaggedAt(d *day, min int) bool {
	if d.blocked {
		return false
	}
	if d.handRaised {
		return true
	}
	for i, t := range p.m.Tiers {
		bar := t.MinScore
		if i == p.sweepTier {
			bar = min
		}
		if d.score >= bar {
			return p.notify[[2]string{t.Name, d.segment}] || p.notify[[2]string{t.Name, ""}]
		}
	}
	return false
}

// AccountResult is what one account's replay found.
type AccountResult struct {
	ID, Name, Domain string
	// FirstEvent is the day of its first activity (-1: none by as-of).
	FirstEvent int64
	// Won is the day of its first won outcome in the window (-1: none);
	// WonDays are all its won days up to as-of.
	Won     int64
	WonDays []int64
	// FirstFlag is the first day it was flagged in the replay (which
	// starts outcome window days before the window); -1 when never.
	FirstFlag int64
	// Flagged: flagged on some day in the window; TopRank is the highest
	// tier it was flagged in there (model.TierRank).
	Flagged bool
	TopRank int
	TopTier string
	// Captured: flagged from outcome window days before the win to the
	// win's day.
	Captured bool
	// Best is the day of its highest score: in the capture span for a won
	// account, in the window otherwise (-1: never scored there).
	Best      int64
	BestScore int
	BestTier  string
	BestSeg   string
	BestWhy   []scoring.Reason
	// FiredBeforeWin has bit i set when signal i fired in the 14 days
	// ending with the win; FiredInWindow when it fired on a day in the
	// window.
	FiredBeforeWin []uint64
	FiredInWindow  []uint64
	// Active: it had activity in the window.
	Active bool
	// Sweep has one entry per threshold of plan.thresholds.
	Sweep  []SweepState
	NotFit []string
	// Evaluations counts the days actually re-scored.
	Evaluations int
}

// SweepState is one account under one swept threshold.
type SweepState struct {
	FirstFlag int64
	Flagged   bool
	Captured  bool
}

// signalSpan is how far before a win a signal counts as "fired before the
// win": the 14 days ending with the win's day.
const signalSpan = 14

// replay scores one account at the end of every day from scoreFrom to to.
func (p *plan) replay(a *Account, wonDays []int64) *AccountResult {
	res := &AccountResult{
		ID: a.ID, Name: a.Name, Domain: a.Domain, FirstEvent: -1, Won: -1, WonDays: wonDays,
		FirstFlag: -1, TopRank: math.MaxInt, Best: -1, BestScore: math.MinInt, NotFit: a.NotFit,
		FiredBeforeWin: make([]uint64, p.words), FiredInWindow: make([]uint64, p.words),
		Sweep: make([]SweepState, len(p.thresholds)),
	}
	for _, w := range wonDays {
		if w >= p.from && w <= p.to {
			res.Won = w
			break
		}
	}
	for i := range res.Sweep {
		res.Sweep[i].FirstFlag = -1
	}
	if len(a.Days) > 0 {
		res.FirstEvent = dayOf(a.Days[0].Day)
	}

	for _, ad := range a.Days {
		if x := dayOf(ad.Day); x >= p.from && x <= p.to {
			res.Active = true
			break
		}
	}
	var cur day
	p.walk(a, func(d int64, r *scoring.Result, explain func() scoring.Result) {
		if r != nil {
			p.record(r, &cur)
			res.Evaluations++
		}
		p.observe(res, d, &cur, explain)
	})
	return res
}

// Walk replays one account from the day of from to the day of to and calls
// fn at the end of every day on which it had had activity, with its score
// then (fully explained). It is the replay the report is built from, for
// tests and tools that want one account's days.
func Walk(m *model.Model, a *Account, from, to time.Time, fn func(day time.Time, r *scoring.Result)) {
	p := newPlan(m, from, to, 0, false)
	var last scoring.Result
	p.walk(a, func(d int64, r *scoring.Result, explain func() scoring.Result) {
		if r != nil {
			last = explain()
		}
		fn(dayTime(d), &last)
	})
}

// walk scores a at the end of every day from scoreFrom to to, once it has
// activity, calling fn with the (brief) result, or with nil when the day
// repeats the day before: nothing new arrived and no window gained or lost
// a day of activity. explain evaluates the day in full, with the words.
func (p *plan) walk(a *Account, fn func(d int64, r *scoring.Result, explain func() scoring.Result)) {
	// Traits as of a day: the current ones, with each trait a group call
	// sent replaced by the latest value sent by then.
	traits := make(map[string]any, len(a.Traits))
	for k, v := range a.Traits {
		traits[k] = v
	}
	for _, c := range a.TraitChanges {
		for k := range c.Traits {
			delete(traits, k)
		}
	}
	f := &scoring.Facts{AccountID: a.ID, Name: a.Name, Domain: a.Domain, Traits: traits}
	var firstSeen time.Time
	seen := func(t time.Time) {
		if firstSeen.IsZero() || t.Before(firstSeen) {
			firstSeen = t
		}
	}
	// due marks the days on which some window loses a day of activity
	// (and the first days of the account's life, while velocity's early
	// score can still grow): only then, or when something new arrives,
	// can a score change.
	span := int(p.to - p.scoreFrom + 1)
	due := make([]bool, span)
	mark := func(d int64) {
		if i := d - p.scoreFrom; i >= 0 && i < int64(span) {
			due[i] = true
		}
	}
	var d int64
	explain := func() scoring.Result { return scoring.Evaluate(p.m, f, endOfDay(d)) }
	var r scoring.Result
	scored := false
	di, ti := 0, 0
	for d = p.scoreFrom; d <= p.to; d++ {
		if d%7 == 0 && !p.noShortcuts {
			p.trim(f, d)
		}
		changed := false
		for ; di < len(a.Days) && dayOf(a.Days[di].Day) <= d; di++ {
			ad := &a.Days[di]
			f.Buckets = append(f.Buckets, ad.Buckets...)
			for _, u := range ad.Users {
				f.ActiveUsers = append(f.ActiveUsers, scoring.UserDay{Day: ad.Day, UserID: u})
			}
			for _, fb := range ad.Filtered {
				name, ok := strings.CutPrefix(fb.Signal, p.filterPrefix)
				if !ok {
					continue // the other model's
				}
				if f.Filtered == nil {
					f.Filtered = map[string][]scoring.Bucket{}
				}
				f.Filtered[name] = append(f.Filtered[name], fb.Bucket)
			}
			seen(ad.Day)
			f.LastEventAt = ad.Day
			for _, w := range p.windows {
				mark(dayOf(ad.Day) + int64(w))
			}
			changed = true
		}
		for ; ti < len(a.TraitChanges) && dayOf(a.TraitChanges[ti].At) <= d; ti++ {
			for k, v := range a.TraitChanges[ti].Traits {
				traits[k] = v
			}
			seen(a.TraitChanges[ti].At)
			changed = true
		}
		if f.FirstEventAt != firstSeen {
			f.FirstEventAt = firstSeen
			for k := range p.early {
				mark(dayOf(firstSeen) + int64(k))
			}
		}
		if f.LastEventAt.IsZero() {
			continue // no activity yet: nothing to score, nothing flagged
		}
		if changed || !scored || due[d-p.scoreFrom] || p.noShortcuts {
			scoring.EvaluateBrief(p.m, f, endOfDay(d), &r)
			scored = true
			fn(d, &r, explain)
			continue
		}
		fn(d, nil, explain)
	}
}

// trim drops the rows no score from day d on can read: past every window
// of their series, and not in the account's first (velocity) days. The live
// loader never loads them either, so the facts stay those live scoring sees.
func (p *plan) trim(f *scoring.Facts, d int64) {
	early := int64(math.MinInt64)
	if !f.FirstEventAt.IsZero() && p.early > 0 {
		early = dayOf(f.FirstEventAt) + int64(p.early)
	}
	needed := func(day time.Time, window int) bool {
		x := dayOf(day)
		return window == 0 || x > d-int64(window) || x < early
	}
	kept := f.Buckets[:0]
	for _, b := range f.Buckets {
		if needed(b.Day, p.keep[[2]string{b.Kind, b.Name}]) {
			kept = append(kept, b)
		}
	}
	clear(f.Buckets[len(kept):])
	f.Buckets = kept
	users := f.ActiveUsers[:0]
	for _, u := range f.ActiveUsers {
		if needed(u.Day, p.userDays) {
			users = append(users, u)
		}
	}
	f.ActiveUsers = users
}

// observe folds one scored day into the account's result.
func (p *plan) observe(res *AccountResult, d int64, c *day, explain func() scoring.Result) {
	inWindow := d >= p.from
	captureSpan := res.Won >= 0 && d >= res.Won-int64(p.outcomeDays) && d <= res.Won
	if c.flagged {
		if res.FirstFlag < 0 {
			res.FirstFlag = d
		}
		if inWindow {
			res.Flagged = true
			if c.tierRank < res.TopRank {
				res.TopRank, res.TopTier = c.tierRank, c.tier
			}
		}
		if captureSpan {
			res.Captured = true
		}
	}
	if (captureSpan || (res.Won < 0 && inWindow)) && c.score > res.BestScore {
		res.Best, res.BestScore, res.BestTier, res.BestSeg = d, c.score, c.tier, c.segment
		if captureSpan {
			// Only misses explain their best day: the words cost a full
			// evaluation.
			res.BestWhy = explain().Reasons
		}
	}
	if res.Won >= 0 && d <= res.Won && d > res.Won-signalSpan {
		for i, w := range c.fired {
			res.FiredBeforeWin[i] |= w
		}
	}
	if inWindow {
		for i, w := range c.fired {
			res.FiredInWindow[i] |= w
		}
	}
	if p.sweepTier < 0 {
		return
	}
	for k, t := range p.thresholds {
		if !p.flaggedAt(c, t) {
			continue
		}
		s := &res.Sweep[k]
		if s.FirstFlag < 0 {
			s.FirstFlag = d
		}
		if inWindow {
			s.Flagged = true
		}
		if captureSpan {
			s.Captured = true
		}
	}
}

// wonDays groups won outcomes by account: the days, oldest first, up to
// the window's end.
func wonDays(outcomes []Outcome, to int64) map[string][]int64 {
	out := map[string][]int64{}
	for _, o := range outcomes {
		if o.Kind != OutcomeWon || o.AccountID == "" {
			continue
		}
		if d := dayOf(o.At); d <= to {
			out[o.AccountID] = append(out[o.AccountID], d)
		}
	}
	for id, ds := range out {
		slices.Sort(ds)
		out[id] = slices.Compact(ds)
	}
	return out
}
