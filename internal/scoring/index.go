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
	m     *model.Model
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
	idList   []string
	// users caches the active-user windows of the last two days asked
	// for: today's, and the velocity re-score's.
	users    [2]userWindow
	nextSlot int
	// early memoises EarlyScore per days; meas holds each signal's
	// measurement for its detail.
	early  [4]earlyScore
	nEarly int
	meas   []model.Measurement
	buf    []byte
}

type earlyScore struct {
	days  int
	score int
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
	idx.m, idx.facts = m, f
	idx.users[0].valid, idx.users[1].valid, idx.nextSlot, idx.nEarly = false, false, 0, 0
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
		n := m.Signals[i].Rule.Needs()
		idx.sigSeries[i] = -1
		switch {
		case n.Name == "":
		case len(n.Where) > 0:
			idx.filtered = append(idx.filtered, i)
		default:
			idx.sigSeries[i] = keyOf(n.Kind, n.Name)
		}
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
		need := s.Rule.Needs()
		k := len(keys) + n
		bs := f.Filtered[s.Name]
		es := idx.fseries[n][:0]
		for j := range bs {
			if bs[j].Name == need.Name && bs[j].Kind == need.Kind {
				es = append(es, entry{day: dayOf(bs[j].Day), count: bs[j].Count, i: int32(j)})
			}
		}
		idx.fseries[n] = es
		idx.series[k], idx.src[k] = es, bs
		idx.sigSeries[i] = k
	}

	// Users are interned by a linear scan while an account has few (most
	// have a handful, and a scan beats hashing every id), by a map past
	// that.
	idx.userDays = resize(idx.userDays, len(f.ActiveUsers))
	clear(idx.ids)
	idx.idList = idx.idList[:0]
	for j, ud := range f.ActiveUsers {
		idx.userDays[j] = userDay{day: dayOf(ud.Day), uid: idx.intern(ud.UserID)}
	}
	idx.nUsers = len(idx.idList)
	return idx
}

const internScan = 16

func (idx *factIndex) intern(id string) int32 {
	if len(idx.idList) <= internScan {
		for k, x := range idx.idList {
			if x == id {
				return int32(k)
			}
		}
	} else if uid, ok := idx.ids[id]; ok {
		return uid
	}
	uid := int32(len(idx.idList))
	idx.idList = append(idx.idList, id)
	switch {
	case len(idx.idList) == internScan+1:
		// Past the scan: the map takes over, with every id so far.
		for k, x := range idx.idList {
			idx.ids[x] = int32(k)
		}
	case len(idx.idList) > internScan+1:
		idx.ids[id] = uid
	}
	return uid
}

// release returns idx to the pool, dropping every reference to the facts
// so the pool does not keep them alive.
func (idx *factIndex) release() {
	idx.m, idx.facts = nil, nil
	clear(idx.meas)
	clear(idx.idList)
	clear(idx.src)
	clear(idx.ids)
	indexPool.Put(idx)
}

// userWindow answers "how many distinct users were active in the N days
// ending on end" for several N.
type userWindow struct {
	valid  bool
	end    int64
	latest []int64 // per user: the last active day up to end, or MinInt64
}

// usersAsOf returns the window ending on day end, from the cache when one
// of the last two days asked for was end.
func (idx *factIndex) usersAsOf(end int64) *userWindow {
	for i := range idx.users {
		if u := &idx.users[i]; u.valid && u.end == end {
			return u
		}
	}
	u := &idx.users[idx.nextSlot]
	idx.nextSlot ^= 1
	u.valid, u.end = true, end
	u.latest = resize(u.latest, idx.nUsers)
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

func (u *userWindow) distinct(window int) int {
	n := 0
	for _, d := range u.latest {
		if d != math.MinInt64 && inWindow(d, u.end, window) {
			n++
		}
	}
	return n
}

// SeriesTotal implements model.FactReader.
func (idx *factIndex) SeriesTotal(i, window int, end int64, prop string) (int64, float64) {
	k := idx.sigSeries[i]
	if k < 0 {
		return 0, 0
	}
	src := idx.src[k]
	var n int64
	var sum float64
	for _, e := range idx.series[k] {
		if !inWindow(e.day, end, window) {
			continue
		}
		n += e.count
		if prop != "" {
			sum += src[e.i].Sums[prop]
		}
	}
	return n, sum
}

// DistinctUsers implements model.FactReader.
func (idx *factIndex) DistinctUsers(window int, end int64) int {
	return idx.usersAsOf(end).distinct(window)
}

// Trait implements model.FactReader.
func (idx *factIndex) Trait(name string) (any, bool) { return idx.facts.trait(name) }

// EarlyScore implements model.FactReader: a re-score as of an early day of
// the account's life, with every rule that does not read the score. Each
// distinct days is computed once per evaluation.
func (idx *factIndex) EarlyScore(days int, end int64) (int, bool) {
	if idx.facts.FirstEventAt.IsZero() {
		return 0, false
	}
	for _, e := range idx.early[:idx.nEarly] {
		if e.days == days {
			return e.score, true
		}
	}
	asOf := min(end, dayOf(idx.facts.FirstEventAt)+int64(days)-1)
	score := 0
	for i := range idx.m.Signals {
		s := &idx.m.Signals[i]
		if !s.Rule.ReadsScore() && s.Rule.Measure(s, i, idx, asOf).Fired {
			score += s.Points
		}
	}
	if idx.nEarly < len(idx.early) {
		idx.early[idx.nEarly] = earlyScore{days, score}
		idx.nEarly++
	}
	return score, true
}

// measure measures every signal as of day end into out (the rules that read
// the score last) and returns the points of those that fired.
func measure(m *model.Model, idx *factIndex, end int64, out []SignalResult) int {
	idx.meas = resize(idx.meas, len(m.Signals))
	score := 0
	for _, last := range [2]bool{false, true} {
		for i := range m.Signals {
			s := &m.Signals[i]
			if s.Rule.ReadsScore() != last {
				continue
			}
			o := s.Rule.Measure(s, i, idx, end)
			idx.meas[i] = o
			res := &out[i]
			res.Name, res.Category, res.Kind, res.Points, res.WindowDays = s.Name, s.Category, s.Rule.Kind(), s.Points, s.WindowDays
			res.Threshold, res.Fired = o.Threshold, o.Fired
			res.Count, res.Sum, res.Users, res.Reached, res.Actual = o.Count, o.Sum, o.Users, o.Reached, o.Actual
			if o.Fired {
				score += s.Points
			}
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
