package scoring

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
)

// withoutWords is r with the sentences EvaluateBrief leaves out.
func withoutWords(r Result) Result {
	r.Signals = append([]SignalResult(nil), r.Signals...)
	for i := range r.Signals {
		r.Signals[i].Detail = ""
	}
	r.Gates = append([]GateResult(nil), r.Gates...)
	for i := range r.Gates {
		r.Gates[i].Text, r.Gates[i].Wanted = "", ""
	}
	r.Reasons = append([]Reason(nil), r.Reasons...)
	for i := range r.Reasons {
		r.Reasons[i].Text = ""
	}
	if len(r.Reasons) == 0 {
		r.Reasons = nil
	}
	return r
}

// TestEvaluateBriefIsEvaluate: the brief evaluation, reusing one Result
// across accounts and days, decides exactly as Evaluate does.
func TestEvaluateBriefIsEvaluate(t *testing.T) {
	m := model.Default()
	rng := rand.New(rand.NewSource(11))
	var brief Result
	for i := 0; i < 500; i++ {
		f := randomFacts(rng)
		at := now.Add(time.Duration(rng.Intn(40)) * 24 * time.Hour)
		if i%7 == 0 {
			f.DisqualifiedUntil = at.Add(time.Hour)
		}
		want := withoutWords(Evaluate(m, &f, at))
		EvaluateBrief(m, &f, at, &brief)
		require.Equal(t, want, withoutWords(brief), "case %d", i)
	}
}

func BenchmarkEvaluateBrief(b *testing.B) {
	m := model.Default()
	f := benchFacts()
	var r Result
	b.ReportAllocs()
	for b.Loop() {
		EvaluateBrief(m, &f, now, &r)
	}
}

// TestManyUsers counts distinct users past the size where interning
// switches from a scan to a map.
func TestManyUsers(t *testing.T) {
	m := mustModel(t, `
signals:
  - {name: users, distinct_users: 1, window_days: 7, points: 1}
tiers: [{name: t, min_score: 0}]
routes: [{tier: t, channel: "#t"}]
`)
	for _, n := range []int{1, internScan, internScan + 1, internScan + 2, 50} {
		var f Facts
		for d := 0; d < 10; d++ {
			for u := 0; u < n; u++ {
				f.ActiveUsers = append(f.ActiveUsers, UserDay{Day: ago(d), UserID: fmt.Sprintf("u%d", (u+d)%n)})
			}
		}
		f.ActiveUsers = append(f.ActiveUsers, UserDay{Day: ago(9), UserID: "old"})
		r := Evaluate(m, &f, now)
		require.Equal(t, n, r.Signals[0].Users, "%d users", n)
	}
}
