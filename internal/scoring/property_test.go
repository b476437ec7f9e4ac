package scoring

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
)

// eventNames are the example model's series plus noise.
var eventNames = []string{"Workflow Completed", "Teammate Invited", "Records Imported", "Ticket Opened",
	"Demo Requested", "Logged In", "Report Exported"}

// randomFacts builds an account with random activity over the last 60 days.
func randomFacts(rng *rand.Rand) Facts {
	f := Facts{
		AccountID: fmt.Sprintf("acct_%d", rng.Int()),
		Traits:    map[string]any{},
		Filtered:  map[string][]Bucket{},
	}
	if rng.Intn(4) > 0 {
		f.Traits["employees"] = float64(rng.Intn(2000))
	}
	if rng.Intn(4) > 0 {
		f.Traits["email_domain"] = []string{"acme.com", "gmail.com", "initech.io"}[rng.Intn(3)]
	}
	firstAgo := rng.Intn(60)
	f.FirstEventAt = ago(firstAgo).Add(time.Duration(rng.Intn(24)) * time.Hour)
	lastAgo := 0
	if firstAgo > 0 {
		lastAgo = rng.Intn(firstAgo + 1)
	}
	f.LastEventAt = ago(lastAgo)
	for d := lastAgo; d <= firstAgo; d++ {
		for _, name := range eventNames {
			if rng.Intn(3) == 0 {
				continue
			}
			b := track(name, d, int64(1+rng.Intn(3)))
			if name == "Records Imported" {
				b.Sums = map[string]float64{"records": float64(rng.Intn(80))}
			}
			f.Buckets = append(f.Buckets, b)
		}
		if rng.Intn(2) == 0 {
			f.Buckets = append(f.Buckets, page("Pricing", d, int64(1+rng.Intn(2))))
		}
		if rng.Intn(5) == 0 {
			f.Filtered["Production integration"] = append(f.Filtered["Production integration"], track("Integration Connected", d, 1))
		}
		for u := 0; u < rng.Intn(5); u++ {
			f.ActiveUsers = append(f.ActiveUsers, UserDay{Day: ago(d), UserID: fmt.Sprintf("u%d", rng.Intn(8))})
		}
	}
	return f
}

// addPositiveEvent adds one event that feeds only positive signals, on a
// day between the account's first event and today.
func addPositiveEvent(rng *rand.Rand, f Facts) Facts {
	g := f
	g.Buckets = append([]Bucket(nil), f.Buckets...)
	g.ActiveUsers = append([]UserDay(nil), f.ActiveUsers...)
	g.Filtered = map[string][]Bucket{"Production integration": append([]Bucket(nil), f.Filtered["Production integration"]...)}
	firstAgo := int((now.Unix() - f.FirstEventAt.Unix()) / secondsPerDay)
	d := rng.Intn(firstAgo + 1)
	switch rng.Intn(6) {
	case 0:
		g.Buckets = append(g.Buckets, track("Workflow Completed", d, 1))
	case 1:
		g.Buckets = append(g.Buckets, track("Teammate Invited", d, 1))
	case 2:
		g.Buckets = append(g.Buckets, page("Pricing", d, 1))
	case 3:
		g.Buckets = append(g.Buckets, sums(track("Records Imported", d, 1), map[string]float64{"records": float64(rng.Intn(100))}))
	case 4:
		g.Filtered["Production integration"] = append(g.Filtered["Production integration"], track("Integration Connected", d, 1))
	case 5:
		g.ActiveUsers = append(g.ActiveUsers, UserDay{Day: ago(d), UserID: fmt.Sprintf("u%d", rng.Intn(12))})
	}
	return g
}

func TestPropertyPositiveEventNeverLowersScore(t *testing.T) {
	m := model.Default()
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 2000; i++ {
		f := randomFacts(rng)
		before := Evaluate(m, &f, now)
		g := addPositiveEvent(rng, f)
		after := Evaluate(m, &g, now)
		require.GreaterOrEqual(t, after.Score, before.Score, "case %d:\nbefore\n%s\nafter\n%s", i, Explain(before), Explain(after))
	}
}

// baseline is the part of a score that time cannot change: trait (fit)
// signals, and velocity signals, which describe how the account started.
func baseline(r Result) int {
	n := 0
	for _, s := range r.Signals {
		if s.Fired && (s.Kind == model.KindTrait || s.Kind == model.KindVelocity) {
			n += s.Points
		}
	}
	return n
}

func TestPropertyTimeBringsScoreToBaseline(t *testing.T) {
	m := model.Default()
	spec := m.FactsSpec()
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 1000; i++ {
		f := randomFacts(rng)
		// Drop the all-history signal's events: they never age out.
		f.Filtered = nil
		later := now.Add(time.Duration(spec.MaxDays+1+rng.Intn(400)) * 24 * time.Hour)
		r := Evaluate(m, &f, later)
		require.Equal(t, baseline(r), r.Score, "case %d\n%s", i, Explain(r))
		for _, s := range r.Signals {
			if s.Kind != model.KindTrait && s.Kind != model.KindVelocity {
				require.False(t, s.Fired, s.Name)
			}
		}
		require.True(t, r.HasReason(ReasonNotRecent))
	}
}

func TestPropertyFitOnlyBaselineWithoutVelocity(t *testing.T) {
	// A model without velocity signals falls all the way to its fit
	// points.
	m := mustModel(t, `
signals:
  - {name: workflows, event: Workflow Completed, min_count: 3, window_days: 7, points: 25}
  - {name: pricing, page: Pricing, min_count: 2, window_days: 7, points: 20}
  - {name: tickets, event: Ticket Opened, min_count: 3, window_days: 7, points: -15}
  - {name: users, distinct_users: 3, window_days: 7, points: 10}
  - {name: size, trait: employees, gte: 50, points: 10}
tiers: [{name: t, min_score: 0}]
routes: [{tier: t, channel: "#t"}]
`)
	rng := rand.New(rand.NewSource(9))
	for i := 0; i < 500; i++ {
		f := randomFacts(rng)
		fit := 0
		if v, ok := f.Traits["employees"]; ok && v.(float64) >= 50 {
			fit = 10
		}
		r := Evaluate(m, &f, now.Add(8*24*time.Hour))
		require.Equal(t, fit, r.Score)
	}
}

func TestPropertyNegativeSignalExpiryRaisesScore(t *testing.T) {
	m := model.Default()
	f := Facts{
		Traits:       map[string]any{"employees": 100.0},
		FirstEventAt: ago(30), LastEventAt: ago(6),
		Buckets: []Bucket{track("Ticket Opened", 6, 3), track("Teammate Invited", 6, 2)},
	}
	during := Evaluate(m, &f, now)
	after := Evaluate(m, &f, now.Add(24*time.Hour))
	require.Equal(t, 10+20-15, during.Score)
	require.Equal(t, 10+20, after.Score, "the support tickets left their 7-day window; the invites are still in theirs")
}
