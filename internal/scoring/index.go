package scoring

import (
	"math"

	"github.com/pqlbot/pqlbot/internal/model"
)

// factIndex groups one account's facts by the signal that reads them, in a
// single pass per evaluation: each signal then walks only its own days, and
// the velocity re-score costs no second pass over the facts.
type factIndex struct {
	facts *Facts
	// series[k] holds the days of roll-up series k; sigSeries[i] is the
	// series of signal i (-1 for kinds that read no series).
	series    [][]entry
	sigSeries []int
	// handSeries[k] is the series of m.HandRaisers[k].
	handSeries []int
	// userDays lists active users with interned ids 0..nUsers-1.
	userDays []userDay
	nUsers   int
}

type entry struct {
	day int64
	b   *Bucket
}

type userDay struct {
	day int64
	uid int32
}

type seriesKey struct{ kind, name string }

func newFactIndex(m *model.Model, f *Facts) *factIndex {
	idx := &factIndex{facts: f, sigSeries: make([]int, len(m.Signals)), handSeries: make([]int, len(m.HandRaisers))}
	var keys []seriesKey
	keyOf := func(kind, name string) int {
		for k, key := range keys {
			if key.name == name && key.kind == kind {
				return k
			}
		}
		keys = append(keys, seriesKey{kind, name})
		return len(keys) - 1
	}
	var filtered []int
	for i := range m.Signals {
		s := &m.Signals[i]
		idx.sigSeries[i] = -1
		if s.Kind != model.KindCount && s.Kind != model.KindSum {
			continue
		}
		if len(s.Where) > 0 {
			filtered = append(filtered, i)
			continue
		}
		idx.sigSeries[i] = keyOf(s.BucketKind, s.Event)
	}
	for k, h := range m.HandRaisers {
		idx.handSeries[k] = keyOf(model.BucketTrack, h)
	}

	// Two passes over the buckets: find each one's series and count, then
	// fill one backing array, so the index costs a constant number of
	// allocations however many days there are.
	// lengths has bit n set when some key's name is n bytes long (names of
	// 63+ bytes share bit 63): most buckets of names no signal reads are
	// rejected without a string comparison.
	var lengths uint64
	for _, k := range keys {
		lengths |= 1 << min(len(k.name), 63)
	}
	ofBucket := make([]int16, len(f.Buckets))
	counts := make([]int, len(keys)+1)
	for j := range f.Buckets {
		b := &f.Buckets[j]
		ofBucket[j] = -1
		if lengths&(1<<min(len(b.Name), 63)) == 0 {
			continue
		}
		for k := range keys {
			if keys[k].name == b.Name && keys[k].kind == b.Kind {
				ofBucket[j] = int16(k)
				counts[k+1]++
				break
			}
		}
	}
	for k := 1; k < len(counts); k++ {
		counts[k] += counts[k-1]
	}
	backing := make([]entry, counts[len(keys)])
	idx.series = make([][]entry, len(keys), len(keys)+len(filtered))
	for k := range keys {
		idx.series[k] = backing[counts[k]:counts[k]:counts[k+1]]
	}
	for j, k := range ofBucket {
		if k >= 0 {
			b := &f.Buckets[j]
			idx.series[k] = append(idx.series[k], entry{day: dayOf(b.Day), b: b})
		}
	}

	// Signals with `where` read their own pre-filtered series.
	for _, i := range filtered {
		s := &m.Signals[i]
		bs := f.Filtered[s.Name]
		es := make([]entry, 0, len(bs))
		for j := range bs {
			if bs[j].Name == s.Event && bs[j].Kind == s.BucketKind {
				es = append(es, entry{day: dayOf(bs[j].Day), b: &bs[j]})
			}
		}
		idx.sigSeries[i] = len(idx.series)
		idx.series = append(idx.series, es)
	}

	if len(f.ActiveUsers) > 0 {
		ids := make(map[string]int32, min(len(f.ActiveUsers), 64))
		idx.userDays = make([]userDay, len(f.ActiveUsers))
		for j, ud := range f.ActiveUsers {
			uid, ok := ids[ud.UserID]
			if !ok {
				uid = int32(len(ids))
				ids[ud.UserID] = uid
			}
			idx.userDays[j] = userDay{day: dayOf(ud.Day), uid: uid}
		}
		idx.nUsers = len(ids)
	}
	return idx
}

// userWindow answers "how many distinct users were active in the N days
// ending on end" for several N.
type userWindow struct {
	end    int64
	latest []int64 // per user: the last active day up to end, or MinInt64
}

func (idx *factIndex) usersAsOf(end int64) userWindow {
	u := userWindow{end: end, latest: make([]int64, idx.nUsers)}
	for i := range u.latest {
		u.latest[i] = math.MinInt64
	}
	for _, ud := range idx.userDays {
		if ud.day <= end && ud.day > u.latest[ud.uid] {
			u.latest[ud.uid] = ud.day
		}
	}
	return u
}

func (u userWindow) distinct(window int) int {
	n := 0
	for _, d := range u.latest {
		if d != math.MinInt64 && inWindow(d, u.end, window) {
			n++
		}
	}
	return n
}

// measure fills the numbers and Fired of every non-velocity signal as of
// day end and returns the points they add up to.
func measure(m *model.Model, idx *factIndex, end int64, out []SignalResult, users userWindow) int {
	score := 0
	for i := range m.Signals {
		s := &m.Signals[i]
		res := &out[i]
		res.Name, res.Category, res.Kind, res.Points, res.WindowDays = s.Name, s.Category, s.Kind, s.Points, s.WindowDays
		res.Count, res.Sum, res.Users, res.Actual, res.Fired = 0, 0, 0, nil, false
		switch s.Kind {
		case model.KindCount, model.KindSum:
			for _, e := range idx.series[idx.sigSeries[i]] {
				if !inWindow(e.day, end, s.WindowDays) {
					continue
				}
				res.Count += e.b.Count
				if s.Kind == model.KindSum {
					res.Sum += e.b.Sums[s.Sum]
				}
			}
			if s.Kind == model.KindCount {
				res.Threshold = float64(s.MinCount)
				res.Fired = res.Count >= s.MinCount
			} else {
				res.Threshold = s.MinSum
				res.Fired = res.Count > 0 && res.Sum >= s.MinSum
			}
		case model.KindDistinctUsers:
			res.Threshold = float64(s.DistinctUsers)
			res.Users = users.distinct(s.WindowDays)
			res.Fired = res.Users >= s.DistinctUsers
		case model.KindTrait:
			v, ok := idx.facts.trait(s.Trait.Trait)
			if ok {
				res.Actual = v
			}
			res.Fired = s.Trait.Match(v, ok)
		case model.KindVelocity:
			res.Threshold = float64(s.Velocity.MinScore)
			continue
		}
		if res.Fired {
			score += s.Points
		}
	}
	return score
}

// velocity evaluates the velocity signals and returns their points. Each
// distinct `days` is a re-score as of that day of the account's life.
func velocity(m *model.Model, f *Facts, idx *factIndex, today int64, out []SignalResult) int {
	if f.FirstEventAt.IsZero() {
		return 0
	}
	first := dayOf(f.FirstEventAt)
	score := 0
	var scratch []SignalResult
	type memo struct{ days, score int }
	var done []memo
	for i := range m.Signals {
		s := &m.Signals[i]
		if s.Kind != model.KindVelocity {
			continue
		}
		early, found := 0, false
		for _, d := range done {
			if d.days == s.Velocity.Days {
				early, found = d.score, true
			}
		}
		if !found {
			asOf := min(today, first+int64(s.Velocity.Days)-1)
			if scratch == nil {
				scratch = make([]SignalResult, len(m.Signals))
			}
			early = measure(m, idx, asOf, scratch, idx.usersAsOf(asOf))
			done = append(done, memo{s.Velocity.Days, early})
		}
		out[i].Reached = early
		out[i].Fired = early >= s.Velocity.MinScore
		if out[i].Fired {
			score += s.Points
		}
	}
	return score
}

// handRaise finds the latest hand-raiser event within recency_days; on the
// same day, the one listed first in hand_raisers wins.
func (idx *factIndex) handRaise(m *model.Model, today int64) *HandRaise {
	bestDay, bestRank := int64(math.MinInt64), -1
	for rank, k := range idx.handSeries {
		for _, e := range idx.series[k] {
			if e.b.Count <= 0 || !inWindow(e.day, today, m.RecencyDays) {
				continue
			}
			if e.day > bestDay {
				bestDay, bestRank = e.day, rank
			}
		}
	}
	if bestRank < 0 {
		return nil
	}
	return &HandRaise{Event: m.HandRaisers[bestRank], Day: dayTime(bestDay)}
}
