package backtest

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// randomAccount is a sparse, bursty history over about 120 days: events the
// example model reads (hand-raisers included), a few users, and now and
// then a group call changing size or plan.
func randomAccount(rng *rand.Rand, id string, start time.Time, m *model.Model) *Account {
	names := []struct{ kind, name string }{
		{"track", "Workflow Completed"}, {"track", "Teammate Invited"}, {"page", "Pricing"},
		{"track", "Records Imported"}, {"track", "Ticket Opened"}, {"track", "Demo Requested"},
	}
	a := &Account{ID: id, Traits: map[string]any{"employees": float64(rng.IntN(800)), "email_domain": "x.example", "plan": "trial"}}
	day := start.AddDate(0, 0, rng.IntN(30))
	for day.Before(start.AddDate(0, 0, 120)) {
		d := Day{Day: day}
		for range 1 + rng.IntN(4) {
			n := names[rng.IntN(len(names))]
			if n.name == "Demo Requested" && rng.IntN(4) > 0 {
				continue
			}
			b := scoring.Bucket{Day: day, Kind: n.kind, Name: n.name, Count: int64(1 + rng.IntN(4))}
			if n.name == "Records Imported" {
				b.Sums = map[string]float64{"records": float64(rng.IntN(90))}
			}
			d.Buckets = append(d.Buckets, b)
		}
		for u := range 1 + rng.IntN(4) {
			d.Users = append(d.Users, fmt.Sprintf("u%d", (u+rng.IntN(3))%5))
		}
		if rng.IntN(8) == 0 {
			d.Filtered = append(d.Filtered, Filtered{Signal: filterPrefix(m) + "Production integration",
				Bucket: scoring.Bucket{Day: day, Kind: "track", Name: "Integration Connected", Count: 1}})
		}
		a.Days = append(a.Days, d)
		if rng.IntN(15) == 0 {
			traits := map[string]any{"plan": []string{"trial", "paid"}[rng.IntN(2)]}
			if rng.IntN(2) == 0 {
				traits = map[string]any{"employees": float64(rng.IntN(800))}
			}
			a.TraitChanges = append(a.TraitChanges, TraitChange{At: day.Add(3 * time.Hour), Traits: traits})
		}
		// Bursts and silences: next day, or weeks later.
		gap := 1 + rng.IntN(3)
		if rng.IntN(6) == 0 {
			gap = 10 + rng.IntN(40)
		}
		day = day.AddDate(0, 0, gap)
	}
	return a
}

// TestShortcutsChangeNothing replays random histories twice, once as the
// report does (re-scoring only on days a window can change, dropping rows
// no window reads) and once scoring every day with every row, and requires
// the same decision on every day.
func TestShortcutsChangeNothing(t *testing.T) {
	m := model.Default()
	rng := rand.New(rand.NewPCG(3, 5))
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	from, to := start.AddDate(0, 0, 60), start.AddDate(0, 0, 150)
	evaluated := map[bool]int{}
	for i := range 150 {
		a := randomAccount(rng, fmt.Sprintf("a%d", i), start, m)
		fast := newPlan(m, from, to, 60, false)
		slow := newPlan(m, from, to, 60, false)
		slow.noShortcuts = true
		type dayView struct {
			score            int
			tier, seg        string
			alertable, hand  bool
			reasons, firedAt string
		}
		view := func(r *scoring.Result) dayView {
			v := dayView{score: r.Score, tier: r.Tier, seg: r.Segment, alertable: r.Alertable, hand: r.HandRaise != nil}
			for _, x := range r.Reasons {
				v.reasons += x.Code + " "
			}
			for _, s := range r.Signals {
				v.firedAt += fmt.Sprintf("%s=%v/%d/%g/%d/%d ", s.Name, s.Fired, s.Count, s.Sum, s.Users, s.Reached)
			}
			return v
		}
		collect := func(p *plan) map[int64]dayView {
			out := map[int64]dayView{}
			var last dayView
			p.walk(a, func(d int64, r *scoring.Result, _ func() scoring.Result) {
				if r != nil {
					last = view(r)
					evaluated[p.noShortcuts]++
				}
				out[d] = last
			})
			return out
		}
		want, got := collect(slow), collect(fast)
		require.Equal(t, len(want), len(got), "account %d", i)
		for d, w := range want {
			require.Equal(t, w, got[d], "account %d, day %s", i, dayTime(d).Format(time.DateOnly))
		}
	}
	require.Less(t, evaluated[false], evaluated[true]*3/4, "the shortcuts skip days: %v", evaluated)
	t.Logf("re-scored %d account-days with shortcuts, %d without", evaluated[false], evaluated[true])
}
