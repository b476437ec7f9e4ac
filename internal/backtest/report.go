package backtest

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// Sample sizes below which the seeds' validation figures are too noisy to
// trust: 50 won accounts in the window, 200 new accounts a month.
const (
	MinWins        = 50
	MinNewPerMonth = 200
	maxListed      = 50
	nearEveryone   = 0.9
	nearNoOne      = 0.02
)

// Report is a backtest's result: the same document prints as text or JSON.
type Report struct {
	Window Window    `json:"window"`
	AsOf   string    `json:"as_of"`
	Model  ModelInfo `json:"model"`
	// OutcomeWindowDays is how long before a win a flag still counts.
	OutcomeWindowDays int `json:"outcome_window_days"`

	Accounts    int `json:"accounts"`
	NewAccounts int `json:"new_accounts"`
	WonAccounts int `json:"won_accounts"`

	Captured Figure `json:"captured"`
	Flagged  Figure `json:"flagged"`
	WonRate  Figure `json:"won_rate"`
	// OK is true when every target holds.
	OK bool `json:"ok"`

	// Lift is the won share of flagged new accounts ÷ that of never-flagged
	// new accounts; null when either side has no accounts or the
	// never-flagged side no wins.
	Lift       *float64    `json:"lift"`
	LiftDetail LiftDetail  `json:"lift_detail"`
	Tiers      []TierRow   `json:"tiers"`
	Signals    []SignalRow `json:"signals"`
	Sweep      *SweepTable `json:"sweep,omitempty"`
	Misses     []Miss      `json:"misses"`
	Noise      Noise       `json:"noise"`
	Health     Health      `json:"health"`
	// Evaluations counts the account-days re-scored (the rest repeat the
	// day before).
	Evaluations int `json:"evaluations"`

	Compare *Comparison `json:"compare,omitempty"`
}

// Window is the N days ending with as-of.
type Window struct {
	From string `json:"from"`
	To   string `json:"to"`
	Days int    `json:"days"`
}

// ModelInfo names the model replayed.
type ModelInfo struct {
	Version string `json:"version"`
	Hash    string `json:"hash"`
}

// Figure is one validation figure with its count, its target and the
// verdict. Share is null when there is nothing to count (of 0), and such a
// figure never passes: a model cannot be proven on no data.
type Figure struct {
	Count      int      `json:"count"`
	Of         int      `json:"of"`
	Share      *float64 `json:"share"`
	Target     *float64 `json:"target,omitempty"`
	TargetMin  *float64 `json:"target_min,omitempty"`
	TargetMax  *float64 `json:"target_max,omitempty"`
	OK         bool     `json:"ok"`
	Definition string   `json:"definition"`
}

func share(x, of int) *float64 {
	if of <= 0 {
		return nil
	}
	v := float64(x) / float64(of)
	return &v
}

func ptr(v float64) *float64 { return &v }

// LiftDetail holds the counts behind the lift.
type LiftDetail struct {
	FlaggedWon    int `json:"flagged_won"`
	Flagged       int `json:"flagged"`
	NotFlaggedWon int `json:"not_flagged_won"`
	NotFlagged    int `json:"not_flagged"`
}

// TierRow is the won rate of new accounts by the highest tier they were
// flagged in during the window.
type TierRow struct {
	Tier     string   `json:"tier"`
	Accounts int      `json:"accounts"`
	Won      int      `json:"won"`
	WonShare *float64 `json:"won_share"`
	Lift     *float64 `json:"lift"`
}

// SignalRow compares how often a signal fired before wins with how often it
// fired for accounts that did not win.
type SignalRow struct {
	Name string `json:"name"`
	// WonFired of Won won accounts had it fire in the 14 days ending with
	// the win.
	WonFired int      `json:"won_fired"`
	Won      int      `json:"won"`
	WonShare *float64 `json:"won_share"`
	// OtherFired of Other accounts active in the window that did not win
	// had it fire on some day of the window.
	OtherFired int      `json:"other_fired"`
	Other      int      `json:"other"`
	OtherShare *float64 `json:"other_share"`
	// Ratio is WonShare ÷ OtherShare (null when OtherShare is 0).
	Ratio *float64 `json:"ratio"`
	// Mark is "near everyone" or "near no one" for signals that cannot
	// tell accounts apart.
	Mark string `json:"mark,omitempty"`
}

// SweepTable is the threshold sweep of one tier's min_score.
type SweepTable struct {
	Tier    string     `json:"tier"`
	Current int        `json:"current"`
	Rows    []SweepRow `json:"rows"`
}

// SweepRow is one min_score tried.
type SweepRow struct {
	MinScore int      `json:"min_score"`
	Flagged  *float64 `json:"flagged_share"`
	Captured *float64 `json:"captured_share"`
	WonRate  *float64 `json:"won_rate"`
	// Product is flagged share × won rate: volume times conversion, the
	// figure the seeds say the right threshold maximises.
	Product *float64 `json:"product"`
	Best    bool     `json:"best"`
}

// Miss is a won account the model never flagged in time.
type Miss struct {
	Account string `json:"account"`
	Name    string `json:"name,omitempty"`
	Domain  string `json:"domain,omitempty"`
	WonOn   string `json:"won_on"`
	// MaxScore is its highest score from outcome window days before the
	// win to the win; MaxScoreOn its (first) day. Both are absent when it
	// had no activity in that span.
	MaxScore   *int     `json:"max_score"`
	MaxScoreOn string   `json:"max_score_on,omitempty"`
	Tier       string   `json:"tier,omitempty"`
	HeldBack   []string `json:"held_back"`
	// FlaggedOn is set when it was flagged, but only outside the span.
	FlaggedOn string `json:"flagged_on,omitempty"`
}

// Noise is the flagged accounts that did not win.
type Noise struct {
	Count int `json:"count"`
	// NotAFit counts the reasons reps gave on their alerts.
	NotAFit  map[string]int `json:"not_a_fit"`
	Accounts []NoiseAccount `json:"accounts"`
}

// NoiseAccount is one flagged account that did not win.
type NoiseAccount struct {
	Account   string   `json:"account"`
	Name      string   `json:"name,omitempty"`
	MaxScore  int      `json:"max_score"`
	Tier      string   `json:"tier"`
	FirstFlag string   `json:"first_flagged_on"`
	NotAFit   []string `json:"not_a_fit,omitempty"`
}

// Health says what to doubt in the figures.
type Health struct {
	// UnmatchedOutcomes counts outcomes tied to no known account.
	UnmatchedOutcomes int `json:"unmatched_outcomes"`
	// DaysWithoutEvents lists the window's days on which no account had
	// any activity.
	DaysWithoutEvents []string `json:"days_without_events"`
	// FirstEvent is the first day with activity stored, whatever the window.
	FirstEvent  string  `json:"first_event,omitempty"`
	NewPerMonth float64 `json:"new_accounts_per_month"`
	// Warnings state each problem plainly.
	Warnings []string `json:"warnings"`
}

// Comparison is a candidate model next to the current one.
type Comparison struct {
	Candidate *Report `json:"candidate"`
	// NewlyFlagged are accounts the candidate flags in the window and the
	// current model does not; NoLongerFlagged the reverse.
	NewlyFlagged    []string `json:"newly_flagged"`
	NoLongerFlagged []string `json:"no_longer_flagged"`
	NewlyCount      int      `json:"newly_flagged_count"`
	NoLongerCount   int      `json:"no_longer_flagged_count"`
}

// build turns the accounts' results into the report.
func (p *plan) build(results []*AccountResult, unmatched int, activeDays map[int64]bool) *Report {
	m := p.m
	t := m.Targets
	r := &Report{
		Window: Window{From: dayTime(p.from).Format(time.DateOnly), To: dayTime(p.to).Format(time.DateOnly),
			Days: int(p.to - p.from + 1)},
		AsOf:              dayTime(p.to).Format(time.DateOnly),
		Model:             ModelInfo{Version: m.Version, Hash: m.Hash},
		OutcomeWindowDays: p.outcomeDays,
		Accounts:          len(results),
		Noise:             Noise{NotAFit: map[string]int{}},
	}
	slices.SortFunc(results, func(a, b *AccountResult) int { return cmp.Compare(a.ID, b.ID) })

	var captured, flaggedNew, firstFlagged, firstFlaggedWon int
	var lift LiftDetail
	tierAcc := map[string]*TierRow{}
	for _, a := range results {
		r.Evaluations += a.Evaluations
		isNew := a.FirstEvent >= p.from && a.FirstEvent <= p.to
		wonInWindow := a.Won >= 0
		if isNew {
			r.NewAccounts++
			if a.Flagged {
				flaggedNew++
				lift.Flagged++
				if wonInWindow {
					lift.FlaggedWon++
				}
				tr := tierAcc[a.TopTier]
				if tr == nil {
					tr = &TierRow{Tier: a.TopTier}
					tierAcc[a.TopTier] = tr
				}
				tr.Accounts++
				if wonInWindow {
					tr.Won++
				}
			} else {
				lift.NotFlagged++
				if wonInWindow {
					lift.NotFlaggedWon++
				}
			}
		}
		if wonInWindow {
			r.WonAccounts++
			if a.Captured {
				captured++
			} else {
				r.Misses = append(r.Misses, p.miss(a))
			}
		}
		if a.FirstFlag >= p.from && a.FirstFlag <= p.to {
			firstFlagged++
			if wonOnOrAfter(a.WonDays, a.FirstFlag) {
				firstFlaggedWon++
			}
		}
		if a.Flagged && !wonOnOrAfter(a.WonDays, p.from) {
			r.Noise.Count++
			for _, why := range a.NotFit {
				r.Noise.NotAFit[why]++
			}
		}
	}

	r.Captured = Figure{Count: captured, Of: r.WonAccounts, Share: share(captured, r.WonAccounts),
		Target:     ptr(t.CapturedMin),
		Definition: "won accounts flagged on a day from " + itoa(p.outcomeDays) + " days before the win to the win's day ÷ accounts with a won outcome in the window"}
	r.Captured.OK = r.Captured.Share != nil && *r.Captured.Share >= t.CapturedMin
	r.Flagged = Figure{Count: flaggedNew, Of: r.NewAccounts, Share: share(flaggedNew, r.NewAccounts),
		TargetMin: ptr(t.FlaggedMin), TargetMax: ptr(t.FlaggedMax),
		Definition: "new accounts (first event in the window) flagged on some day in the window ÷ new accounts"}
	r.Flagged.OK = r.Flagged.Share != nil && *r.Flagged.Share >= t.FlaggedMin && *r.Flagged.Share <= t.FlaggedMax
	r.WonRate = Figure{Count: firstFlaggedWon, Of: firstFlagged, Share: share(firstFlaggedWon, firstFlagged),
		Target:     ptr(t.WonRateMin),
		Definition: "accounts first flagged in the window that won on or after that day (by as-of) ÷ accounts first flagged in the window"}
	r.WonRate.OK = r.WonRate.Share != nil && *r.WonRate.Share >= t.WonRateMin
	r.OK = r.Captured.OK && r.Flagged.OK && r.WonRate.OK

	r.LiftDetail = lift
	notShare := share(lift.NotFlaggedWon, lift.NotFlagged)
	r.Lift = ratio(share(lift.FlaggedWon, lift.Flagged), notShare)
	for _, tier := range append([]string{model.TierHandRaiser}, tierNames(m)...) {
		if tr := tierAcc[tier]; tr != nil {
			tr.WonShare = share(tr.Won, tr.Accounts)
			tr.Lift = ratio(tr.WonShare, notShare)
			r.Tiers = append(r.Tiers, *tr)
		}
	}

	r.Signals = p.signalRows(results)
	if p.sweepTier >= 0 {
		r.Sweep = p.sweep(results, r.NewAccounts, r.WonAccounts)
	}
	r.Noise.Accounts = p.noise(results)
	slices.SortFunc(r.Misses, func(a, b Miss) int {
		return cmp.Or(-cmp.Compare(deref(a.MaxScore), deref(b.MaxScore)), cmp.Compare(a.Account, b.Account))
	})
	if r.Misses == nil {
		r.Misses = []Miss{}
	}
	r.Health = p.health(r, unmatched, activeDays)
	return r
}

func deref(p *int) int {
	if p == nil {
		return math.MinInt
	}
	return *p
}

func tierNames(m *model.Model) []string {
	out := make([]string, len(m.Tiers))
	for i, t := range m.Tiers {
		out[i] = t.Name
	}
	return out
}

func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 {
		return nil
	}
	v := *a / *b
	return &v
}

func wonOnOrAfter(days []int64, d int64) bool {
	for _, w := range days {
		if w >= d {
			return true
		}
	}
	return false
}

// miss explains a won account that was not captured: its best day in the
// capture span and what stood in the way that day.
func (p *plan) miss(a *AccountResult) Miss {
	ms := Miss{Account: a.ID, Name: a.Name, Domain: a.Domain, WonOn: dayTime(a.Won).Format(time.DateOnly), HeldBack: []string{}}
	if a.FirstFlag >= 0 {
		ms.FlaggedOn = dayTime(a.FirstFlag).Format(time.DateOnly)
	}
	if a.Best < 0 {
		ms.HeldBack = append(ms.HeldBack, "no activity from "+itoa(p.outcomeDays)+" days before the win to the win")
		return ms
	}
	score := a.BestScore
	ms.MaxScore, ms.MaxScoreOn, ms.Tier = &score, dayTime(a.Best).Format(time.DateOnly), a.BestTier
	for _, why := range a.BestWhy {
		switch why.Code {
		case scoring.ReasonBelowThreshold:
			if bar, tier, ok := p.nextAlerting(a.BestScore, a.BestSeg); ok {
				ms.HeldBack = append(ms.HeldBack, "below threshold by "+itoa(bar-a.BestScore)+" (tier "+tier+" alerts from "+itoa(bar)+")")
			} else {
				ms.HeldBack = append(ms.HeldBack, why.Text)
			}
		case scoring.ReasonGateFailed:
			ms.HeldBack = append(ms.HeldBack, "gate: "+trimPrefix(why.Text, "fit gate failed: "))
		case scoring.ReasonNotRecent:
			ms.HeldBack = append(ms.HeldBack, "recency: "+why.Text)
		default:
			ms.HeldBack = append(ms.HeldBack, why.Text)
		}
	}
	if len(ms.HeldBack) == 0 && a.FirstFlag >= 0 {
		ms.HeldBack = append(ms.HeldBack, "flagged, but only outside the "+itoa(p.outcomeDays)+" days before the win")
	}
	return ms
}

// nextAlerting is the lowest alerting tier bar above score for the segment.
func (p *plan) nextAlerting(score int, segment string) (int, string, bool) {
	best, name, ok := math.MaxInt, "", false
	for _, t := range p.m.Tiers {
		if t.MinScore > score && t.MinScore < best && (p.notify[[2]string{t.Name, segment}] || p.notify[[2]string{t.Name, ""}]) {
			best, name, ok = t.MinScore, t.Name, true
		}
	}
	return best, name, ok
}

func (p *plan) signalRows(results []*AccountResult) []SignalRow {
	rows := make([]SignalRow, len(p.m.Signals))
	for i, s := range p.m.Signals {
		rows[i].Name = s.Name
	}
	for _, a := range results {
		won := a.Won >= 0
		if !won && !a.Active {
			continue
		}
		for i := range rows {
			bit := uint64(1) << (i % 64)
			if won {
				rows[i].Won++
				if a.FiredBeforeWin[i/64]&bit != 0 {
					rows[i].WonFired++
				}
			} else {
				rows[i].Other++
				if a.FiredInWindow[i/64]&bit != 0 {
					rows[i].OtherFired++
				}
			}
		}
	}
	for i := range rows {
		row := &rows[i]
		row.WonShare, row.OtherShare = share(row.WonFired, row.Won), share(row.OtherFired, row.Other)
		row.Ratio = ratio(row.WonShare, row.OtherShare)
		all := share(row.WonFired+row.OtherFired, row.Won+row.Other)
		switch {
		case all == nil:
		case *all >= nearEveryone:
			row.Mark = "near everyone"
		case *all <= nearNoOne:
			row.Mark = "near no one"
		}
	}
	return rows
}

func (p *plan) sweep(results []*AccountResult, newAccounts, won int) *SweepTable {
	t := &SweepTable{Tier: p.m.Tiers[p.sweepTier].Name, Current: p.m.Tiers[p.sweepTier].MinScore}
	best := -1
	for k, min := range p.thresholds {
		var flaggedNew, captured, first, firstWon int
		for _, a := range results {
			s := &a.Sweep[k]
			if s.Flagged && a.FirstEvent >= p.from && a.FirstEvent <= p.to {
				flaggedNew++
			}
			if a.Won >= 0 && s.Captured {
				captured++
			}
			if s.FirstFlag >= p.from && s.FirstFlag <= p.to {
				first++
				if wonOnOrAfter(a.WonDays, s.FirstFlag) {
					firstWon++
				}
			}
		}
		row := SweepRow{MinScore: min, Flagged: share(flaggedNew, newAccounts), Captured: share(captured, won),
			WonRate: share(firstWon, first)}
		if row.Flagged != nil && row.WonRate != nil {
			row.Product = ptr(*row.Flagged * *row.WonRate)
			if best < 0 || *row.Product > *t.Rows[best].Product {
				best = len(t.Rows)
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if best >= 0 {
		t.Rows[best].Best = true
	}
	return t
}

func (p *plan) noise(results []*AccountResult) []NoiseAccount {
	var out []NoiseAccount
	for _, a := range results {
		if !a.Flagged || wonOnOrAfter(a.WonDays, p.from) {
			continue
		}
		out = append(out, NoiseAccount{Account: a.ID, Name: a.Name, MaxScore: a.BestScore, Tier: a.TopTier,
			FirstFlag: dayTime(a.FirstFlag).Format(time.DateOnly), NotAFit: a.NotFit})
	}
	slices.SortFunc(out, func(a, b NoiseAccount) int {
		return cmp.Or(cmp.Compare(len(b.NotAFit), len(a.NotAFit)), -cmp.Compare(a.MaxScore, b.MaxScore), cmp.Compare(a.Account, b.Account))
	})
	if len(out) > maxListed {
		out = out[:maxListed]
	}
	if out == nil {
		out = []NoiseAccount{}
	}
	return out
}

func firstOn(d int64) string {
	if d == math.MaxInt64 {
		return ""
	}
	return " (" + dayTime(d).Format(time.DateOnly) + ")"
}

func (p *plan) health(r *Report, unmatched int, activeDays map[int64]bool) Health {
	h := Health{UnmatchedOutcomes: unmatched, DaysWithoutEvents: []string{}, Warnings: []string{}}
	for d := p.from; d <= p.to; d++ {
		if !activeDays[d] {
			h.DaysWithoutEvents = append(h.DaysWithoutEvents, dayTime(d).Format(time.DateOnly))
		}
	}
	days := float64(p.to - p.from + 1)
	h.NewPerMonth = math.Round(float64(r.NewAccounts)*30/days*10) / 10
	if unmatched > 0 {
		h.Warnings = append(h.Warnings, itoa(unmatched)+" outcome(s) match no account with events by as-of: check the CRM export's account ids and domains")
	}
	// Empty days before the first event anywhere mean the window reaches
	// back before the data starts; empty days after it are a gap.
	first := int64(math.MaxInt64)
	for d := range activeDays {
		first = min(first, d)
	}
	if first != math.MaxInt64 {
		h.FirstEvent = dayTime(first).Format(time.DateOnly)
	}
	before := 0
	for d := p.from; d <= p.to && d < first; d++ {
		before++
	}
	if before > 0 {
		h.Warnings = append(h.Warnings, "the window starts "+itoa(before)+" day(s) before the first event stored"+firstOn(first)+
			": those days have no data, so new accounts and wins there cannot be judged (shorten --days)")
	}
	if gaps := len(h.DaysWithoutEvents) - before; gaps > 0 {
		h.Warnings = append(h.Warnings, itoa(gaps)+" day(s) of the window have no events at all: an ingest gap makes every figure look worse")
	}
	if r.WonAccounts < MinWins {
		h.Warnings = append(h.Warnings, "only "+itoa(r.WonAccounts)+" won account(s) in the window, fewer than the "+itoa(MinWins)+
			" the seeds ask for: the captured share and the per-signal table are anecdotes, not evidence")
	}
	if h.NewPerMonth < MinNewPerMonth {
		h.Warnings = append(h.Warnings, "about "+ftoa(h.NewPerMonth)+" new accounts a month, fewer than "+itoa(MinNewPerMonth)+
			": the flagged share and the won rate swing with a handful of accounts")
	}
	return h
}
