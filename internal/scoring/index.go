package scoring

import (
	"math"
	"sync"

	"github.com/pqlbot/pqlbot/internal/model"
)

// factIndex groups one account's facts by the signal that reads them, in a
// single pass per evaluation: each signal then walks only its own days, and
// the velocity re-score costs no second pass over the facts. Indexes are
// pooled: the re-scorer evaluates thousands of accounts a second, and the
// scratch space would otherwise be most of the garbage it makes.
type factIndex struct {
	facts *Facts
	// series[k] holds the days of series k, indexing into src[k];
	// sigSeries[i] is the series of signal i (-1 when it reads none);
	// handSeries[k] is the series of m.HandRaisers[k].
	series     [][]entry
	src        [][]Bucket
	sigSeries  []int
	handSeries []int
	// userDays lists active users with interned ids 0..nUsers-1.
	userDays []userDay
	nUsers   int

	// Scratch reused across evaluations.
	keys     []seriesKey
	filtered []int
	ofBucket []int16
	counts   []int
	backing  []entry
	fseries  [][]entry // the filtered series' own arrays, by position
	ids      map[string]int32
	latest   [2][]int64
}

// entry is one day of a series. It holds no pointers, so the backing array
// costs the garbage collector nothing to scan.
type entry struct {
	day   int64
	count int64
	i     int32 // index into the series' bucket slice
}

type userDay struct {
	day int64
	uid int32
}

type seriesKey struct{ kind, name string }

var indexPool = sync.Pool{New: func() any { return &factIndex{ids: map[string]int32{}} }}

// resize returns s with length n, reusing its array when it is big enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func newFactIndex(m *model.Model, f *Facts) *factIndex {
	idx := indexPool.Get().(*factIndex)
	idx.facts = f
	idx.sigSeries = resize(idx.sigSeries, len(m.Signals))
	idx.handSeries = resize(idx.handSeries, len(m.HandRaisers))
	idx.keys = idx.keys[:0]
	idx.filtered = idx.filtered[:0]
	keyOf := func(kind, name string) int {
		for k, key := range idx.keys {
			if key.name == name && key.kind == kind {
				return k
			}
		}
		idx.keys = append(idx.keys, seriesKey{kind, name})
		return len(idx.keys) - 1
	}
	for i := range m.Signals {
		s := &m.Signals[i]
		idx.sigSeries[i] = -1
		if s.Kind != model.KindCount && s.Kind != model.KindSum {
			continue
		}
		if len(s.Where) > 0 {
			idx.filtered = append(idx.filtered, i)
			continue
		}
		idx.sigSeries[i] = keyOf(s.BucketKind, s.Event)
	}
	for k, h := range m.HandRaisers {
		idx.handSeries[k] = keyOf(model.BucketTrack, h)
	}
	keys := idx.keys

	// Two passes over the buckets: find each one's series and count, then
	// fill one backing array. lengths has bit n set when some key's name is
	// n bytes long (63+ share bit 63), so most buckets of names no signal
	// reads are rejected without a string comparison.
	var lengths uint64
	for _, k := range keys {
		lengths |= 1 << min(len(k.name), 63)
	}
	idx.ofBucket = resize(idx.ofBucket, len(f.Buckets))
	idx.counts = resize(idx.counts, len(keys)+1)
	clear(idx.counts)
	for j := range f.Buckets {
		b := &f.Buckets[j]
		idx.ofBucket[j] = -1
		if lengths&(1<<min(len(b.Name), 63)) == 0 {
			continue
		}
		for k := range keys {
			if keys[k].name == b.Name && keys[k].kind == b.Kind {
				idx.ofBucket[j] = int16(k)
				idx.counts[k+1]++
				break
			}
		}
	}
	for k := 1; k < len(idx.counts); k++ {
		idx.counts[k] += idx.counts[k-1]
	}
	idx.backing = resize(idx.backing, idx.counts[len(keys)])
	nSeries := len(keys) + len(idx.filtered)
	idx.series = resize(idx.series, nSeries)
	idx.src = resize(idx.src, nSeries)
	for k := range keys {
		idx.series[k] = idx.backing[idx.counts[k]:idx.counts[k]:idx.counts[k+1]]
		idx.src[k] = f.Buckets
	}
	for j, k := range idx.ofBucket {
		if k >= 0 {
			b := &f.Buckets[j]
			idx.series[k] = append(idx.series[k], entry{day: dayOf(b.Day), count: b.Count, i: int32(j)})
		}
	}

	// Signals with `where` read their own pre-filtered series, each in an
	// array of its own (never the shared backing array).
	if len(idx.fseries) < len(idx.filtered) {
		idx.fseries = append(idx.fseries, make([][]entry, len(idx.filtered)-len(idx.fseries))...)
	}
	for n, i := range idx.filtered {
		s := &m.Signals[i]
		k := len(keys) + n
		bs := f.Filtered[s.Name]
		es := idx.fseries[n][:0]
		for j := range bs {
			if bs[j].Name == s.Event && bs[j].Kind == s.BucketKind {
				es = append(es, entry{day: dayOf(bs[j].Day), count: bs[j].Count, i: int32(j)})
			}
		}
		idx.fseries[n] = es
		idx.series[k], idx.src[k] = es, bs
		idx.sigSeries[i] = k
	}

	idx.userDays = resize(idx.userDays, len(f.ActiveUsers))
	clear(idx.ids)
	for j, ud := range f.ActiveUsers {
		uid, ok := idx.ids[ud.UserID]
		if !ok {
			uid = int32(len(idx.ids))
			idx.ids[ud.UserID] = uid
		}
		idx.userDays[j] = userDay{day: dayOf(ud.Day), uid: uid}
	}
	idx.nUsers = len(idx.ids)
	return idx
}

// release returns idx to the pool, dropping every reference to the facts
// so the pool does not keep them alive.
func (idx *factIndex) release() {
	idx.facts = nil
	clear(idx.src)
	clear(idx.ids)
	indexPool.Put(idx)
}

// userWindow answers "how many distinct users were active in the N days
// ending on end" for several N.
type userWindow struct {
	end    int64
	latest []int64 // per user: the last active day up to end, or MinInt64
}

// usersAsOf builds the window in scratch slot (0 for now, 1 for velocity).
func (idx *factIndex) usersAsOf(end int64, slot int) userWindow {
	idx.latest[slot] = resize(idx.latest[slot], idx.nUsers)
	u := userWindow{end: end, latest: idx.latest[slot]}
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

// outcome is what one non-velocity signal measured as of a day.
type outcome struct {
	count  int64
	sum    float64
	users  int
	actual any
	fired  bool
}

// evalSignal measures signal i as of day end.
func (idx *factIndex) evalSignal(s *model.Signal, i int, end int64, users userWindow) outcome {
	var o outcome
	switch s.Kind {
	case model.KindCount, model.KindSum:
		k := idx.sigSeries[i]
		src := idx.src[k]
		for _, e := range idx.series[k] {
			if !inWindow(e.day, end, s.WindowDays) {
				continue
			}
			o.count += e.count
			if s.Kind == model.KindSum {
				o.sum += src[e.i].Sums[s.Sum]
			}
		}
		if s.Kind == model.KindCount {
			o.fired = o.count >= s.MinCount
		} else {
			o.fired = o.count > 0 && o.sum >= s.MinSum
		}
	case model.KindDistinctUsers:
		o.users = users.distinct(s.WindowDays)
		o.fired = o.users >= s.DistinctUsers
	case model.KindTrait:
		v, ok := idx.facts.trait(s.Trait.Trait)
		if ok {
			o.actual = v
		}
		o.fired = s.Trait.Match(v, ok)
	}
	return o
}

// measure fills the numbers and Fired of every non-velocity signal as of
// day end and returns the points they add up to.
func measure(m *model.Model, idx *factIndex, end int64, out []SignalResult, users userWindow) int {
	score := 0
	for i := range m.Signals {
		s := &m.Signals[i]
		res := &out[i]
		res.Name, res.Category, res.Kind, res.Points, res.WindowDays = s.Name, s.Category, s.Kind, s.Points, s.WindowDays
		switch s.Kind {
		case model.KindCount:
			res.Threshold = float64(s.MinCount)
		case model.KindSum:
			res.Threshold = s.MinSum
		case model.KindDistinctUsers:
			res.Threshold = float64(s.DistinctUsers)
		case model.KindVelocity:
			res.Threshold = float64(s.Velocity.MinScore)
			continue
		}
		o := idx.evalSignal(s, i, end, users)
		res.Count, res.Sum, res.Users, res.Actual, res.Fired = o.count, o.sum, o.users, o.actual, o.fired
		if o.fired {
			score += s.Points
		}
	}
	return score
}

// scoreAsOf is the score without velocity signals as of day end.
func scoreAsOf(m *model.Model, idx *factIndex, end int64, users userWindow) int {
	score := 0
	for i := range m.Signals {
		s := &m.Signals[i]
		if s.Kind != model.KindVelocity && idx.evalSignal(s, i, end, users).fired {
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
	type memo struct{ days, score int }
	var done [4]memo
	nDone := 0
	for i := range m.Signals {
		s := &m.Signals[i]
		if s.Kind != model.KindVelocity {
			continue
		}
		early, found := 0, false
		for _, d := range done[:nDone] {
			if d.days == s.Velocity.Days {
				early, found = d.score, true
			}
		}
		if !found {
			asOf := min(today, first+int64(s.Velocity.Days)-1)
			early = scoreAsOf(m, idx, asOf, idx.usersAsOf(asOf, 1))
			if nDone < len(done) {
				done[nDone] = memo{s.Velocity.Days, early}
				nDone++
			}
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
			if e.count <= 0 || !inWindow(e.day, today, m.RecencyDays) {
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
