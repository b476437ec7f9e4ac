package demo

import (
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// The demo replays a month of usage in seconds, so pqlbot's alerts on it are
// all minutes old and nobody has worked them. To show what a month of a
// running PQL program looks like (/pql sla, /pql stats, the digest), the
// demo then plays that month's people: each alert is put back to a day in
// the past month, a rep claims and contacts it (or not, or closes it as not
// a fit), and the CRM reports what became of the account. Program does that
// planning; it is pure and seeded, so the same dataset plays out the same.

// ProgramAlert is how one alert's past plays out.
type ProgramAlert struct {
	AccountID string
	PostedAt  time.Time
	Rep       string
	// ClaimAfter is when the rep claimed it (after the post); ContactAfter
	// when they marked it contacted (0: never). NotFit, when set, closes it
	// as not a fit at the claim.
	ClaimAfter   time.Duration
	ContactAfter time.Duration
	NotFit       string
}

// ProgramOutcome is one row of the CRM export the demo imports.
type ProgramOutcome struct {
	// Account is the account's domain, as a CRM knows it.
	Account string
	Kind    string // won, opportunity or lost
	At      time.Time
	Amount  float64
}

// DemoReps are the Slack users the demo's reps act as.
var DemoReps = []string{"U0DEMOREP1", "U0DEMOREP2", "U0DEMOREP3"}

// contact buckets and how often reps land in each, per kind of account:
// hand-raisers are answered faster.
type speed int

const (
	underHour speed = iota
	sameDay
	late
	never
)

var speedShare = map[Category][4]float64{
	HandRaiser:   {0.45, 0.35, 0.10, 0.10},
	StrongTrial:  {0.20, 0.40, 0.20, 0.20},
	SupportHeavy: {0.15, 0.35, 0.25, 0.25},
}

// Conversion: the chance an alerted account wins, by kind, times a factor
// for how fast it was answered (the seeds' 24-hour rule: fast contact
// roughly doubles close rates); opportunities are wins plus a share more.
var (
	wonBase      = map[Category]float64{HandRaiser: 0.35, StrongTrial: 0.22, SupportHeavy: 0.10}
	speedFactor  = [4]float64{1.5, 1.0, 0.5, 0.2}
	notFitShare  = 0.08
	notFitChoice = []string{"too_small", "student_personal", "competitor", "existing_customer", "other"}
)

// Never-alerted accounts win too (self-serve upgrades, deals sales found
// elsewhere), at these rates: what "won accounts that never alerted" means.
var unalertedWon = map[Category]float64{PromisingTrial: 0.15, WeakTrial: 0.03, PaidCustomer: 0.35}

// Program plans the past month of the program for ds at now: alerted lists
// the accounts pqlbot alerted on (ids). Alerts are put between two and 27
// days ago (not before the account's first event); outcomes fall after
// them and before now.
func Program(ds Dataset, alerted []string, now time.Time, seed uint64) ([]ProgramAlert, []ProgramOutcome) {
	byID := make(map[string]Account, len(ds.Accounts))
	for _, a := range ds.Accounts {
		byID[a.ID] = a
	}
	first := map[string]time.Time{}
	for _, m := range ds.Messages {
		if _, ok := first[m.GroupID]; !ok && m.GroupID != "" {
			first[m.GroupID] = m.Timestamp
		}
	}
	isAlerted := map[string]bool{}
	var alerts []ProgramAlert
	var outcomes []ProgramOutcome
	for _, id := range alerted {
		a, ok := byID[id]
		if !ok || isAlerted[id] {
			continue
		}
		isAlerted[id] = true
		r := accountRand(seed, id)
		lo := now.Add(-27 * 24 * time.Hour)
		if f := first[id].Add(24 * time.Hour); f.After(lo) {
			lo = f
		}
		hi := now.Add(-48 * time.Hour)
		if !lo.Before(hi) {
			lo = hi.Add(-time.Hour)
		}
		pa := ProgramAlert{
			AccountID: id,
			PostedAt:  lo.Add(time.Duration(r.Int64N(int64(hi.Sub(lo))))).Truncate(time.Second),
			Rep:       DemoReps[r.IntN(len(DemoReps))],
		}
		shares, ok := speedShare[a.Category]
		if !ok {
			shares = speedShare[StrongTrial]
		}
		sp := pick(r, shares)
		pa.ClaimAfter = time.Duration(5+r.IntN(40)) * time.Minute
		switch sp {
		case underHour:
			pa.ContactAfter = pa.ClaimAfter + time.Duration(r.IntN(15))*time.Minute
		case sameDay:
			pa.ContactAfter = time.Duration(1+r.IntN(22))*time.Hour + time.Duration(r.IntN(60))*time.Minute
		case late:
			pa.ContactAfter = time.Duration(25+r.IntN(72)) * time.Hour
		}
		if pa.ContactAfter > 0 && pa.PostedAt.Add(pa.ContactAfter).After(now) {
			sp, pa.ContactAfter = never, 0
		}
		if sp == never && r.Float64() < notFitShare/0.2 {
			pa.NotFit = notFitChoice[r.IntN(len(notFitChoice))]
		}
		alerts = append(alerts, pa)
		if pa.NotFit != "" {
			continue
		}
		won := wonBase[a.Category] * speedFactor[sp]
		opp := min(0.95, won+0.25*speedFactor[sp])
		after := func(minDays, maxDays int) time.Time {
			t := pa.PostedAt.Add(time.Duration(minDays)*24*time.Hour + time.Duration(r.Int64N(int64(maxDays-minDays)*int64(24*time.Hour))))
			if t.After(now) {
				t = now.Add(-time.Hour)
			}
			return t.Truncate(time.Second)
		}
		x := r.Float64()
		switch {
		case x < won:
			oppAt := after(1, 6)
			wonAt := maxTime(oppAt.Add(time.Hour), after(4, 20))
			if wonAt.After(now) {
				wonAt = now.Add(-time.Minute)
			}
			outcomes = append(outcomes,
				ProgramOutcome{Account: a.Domain, Kind: "opportunity", At: oppAt},
				ProgramOutcome{Account: a.Domain, Kind: "won", At: wonAt, Amount: dealSize(r, a)})
		case x < opp:
			outcomes = append(outcomes, ProgramOutcome{Account: a.Domain, Kind: "opportunity", At: after(1, 10)})
			if r.Float64() < 0.3 {
				outcomes = append(outcomes, ProgramOutcome{Account: a.Domain, Kind: "lost", At: after(10, 25)})
			}
		}
	}
	for _, a := range ds.Accounts {
		p, ok := unalertedWon[a.Category]
		if !ok || isAlerted[a.ID] {
			continue
		}
		r := accountRand(seed, a.ID)
		if r.Float64() < p {
			at := now.Add(-time.Duration(2+r.IntN(24)) * 24 * time.Hour).Add(-time.Duration(r.IntN(24)) * time.Hour)
			if f := first[a.ID].Add(48 * time.Hour); at.Before(f) && f.Before(now) {
				at = f // a win comes after the account signed up
			}
			outcomes = append(outcomes, ProgramOutcome{Account: a.Domain, Kind: "won", At: at.Truncate(time.Second), Amount: dealSize(r, a)})
		}
	}
	return alerts, outcomes
}

func accountRand(seed uint64, id string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(id))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

func pick(r *rand.Rand, shares [4]float64) speed {
	x := r.Float64()
	for i, s := range shares {
		if x < s {
			return speed(i)
		}
		x -= s
	}
	return never
}

// dealSize is a first-year contract value that grows with the company.
func dealSize(r *rand.Rand, a Account) float64 {
	seats := max(5, min(a.Employees/10, 400))
	return float64(seats * (300 + r.IntN(300)))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
