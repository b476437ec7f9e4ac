package model

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// SignalKind names how a signal is evaluated; it is stored with every
// explanation ("kind": "count").
type SignalKind string

// Signal is one scoring rule: the settings every signal has, and the Rule of
// its kind, which holds everything else.
type Signal struct {
	Name     string
	Category string
	Points   int
	// WindowDays is the number of UTC days looked at; 0 means all history
	// (and is the only value for kinds that take no window_days).
	WindowDays int
	Rule       Rule
}

// Kind is the signal's kind.
func (s *Signal) Kind() SignalKind { return s.Rule.Kind() }

// Rule is one signal kind, compiled: each kind lives in a file of its own
// (kind_*.go) with its Rule, its keys and its parser, and is listed once in
// kinds. Nothing else in the program switches on the kind.
type Rule interface {
	Kind() SignalKind
	// Needs says which facts the rule reads, so the store loads only those.
	Needs() Need
	// ReadsScore is true for rules that read the account's score (velocity):
	// they are measured after the others, and left out when the scorer
	// re-scores an account as of an earlier day.
	ReadsScore() bool
	// Measure evaluates the rule for signal s (at position i of the model)
	// as of UTC day number end.
	Measure(s *Signal, i int, f FactReader, end int64) Measurement
	// AppendDetail appends the sentence behind a measurement:
	// "5× Workflow Completed in 7 days (needs 3)". It runs for every signal
	// of every evaluation, so kinds append instead of using fmt.
	AppendDetail(b []byte, s *Signal, m *Measurement) []byte
}

// Need is what one signal reads from the account's facts.
type Need struct {
	// Kind (BucketTrack or BucketPage) and Name name a daily roll-up series;
	// Name is empty when the rule reads none.
	Kind, Name string
	// Where, when not empty, restricts the series to the events whose
	// properties contain these values: a property-filtered series.
	Where map[string]any
	// Sum names the numeric property the rule adds up.
	Sum string
	// Users is true when the rule counts active users over its window.
	Users bool
	// AfterSignup, when > 0, asks for the first that many UTC days of the
	// account's life (velocity).
	AfterSignup int
}

// FactReader is how a rule reads one account's facts; the scorer implements
// it. Days are UTC day numbers (days since 1970-01-01).
type FactReader interface {
	// SeriesTotal adds up the series of signal i over the window days ending
	// on day end (window 0: all history): its events, and the property prop
	// when prop is not "".
	SeriesTotal(i, window int, end int64, prop string) (count int64, sum float64)
	// DistinctUsers counts the users active in the window days ending on
	// day end.
	DistinctUsers(window int, end int64) int
	// Trait looks up an account trait; ok is false when it is missing.
	Trait(name string) (v any, ok bool)
	// EarlyScore is the score of the rules that do not read the score, as of
	// the days-th UTC day of the account's life (the day of its first event
	// is day 1), or as of end while the account is younger; ok is false when
	// the account has no events.
	EarlyScore(days int, end int64) (score int, ok bool)
}

// Measurement is what a rule measured: whether it fired and the numbers
// behind it. Only the numbers of the rule's kind are set.
type Measurement struct {
	Fired bool
	// Count is a number of events; Sum a property total.
	Count int64
	Sum   float64
	// Users is a number of distinct active users.
	Users int
	// Reached is the score reached early in the account's life.
	Reached int
	// Actual is a trait value; nil when missing.
	Actual any
	// Threshold is the kind's bar: min_count, min_sum, distinct_users or
	// min_score.
	Threshold float64
	// NoEvents says there was nothing to measure yet.
	NoEvents bool
}

// kindDef is one signal kind in the table: how a signal's keys select it,
// which keys it takes and how it parses them.
type kindDef struct {
	kind SignalKind
	// selects are the keys that name what a signal of this kind reads; a
	// signal has exactly one such key.
	selects []string
	// marks: when kinds share a selector (event: count and sum), the kind
	// with one of its marks present wins over the kind without marks.
	marks []string
	// keys lists every key the kind takes besides name, category and
	// points, its selectors included. Any other key is an error.
	keys []string
	// parse reads the kind's keys from f (selector is the one present) and
	// returns the rule and the category a signal gets when it names none.
	parse func(p *parser, f *fields, selector string, points int) (Rule, string)
	// example is a valid signal of the kind (without name and points): the
	// tests parse it and try every key the kind does not declare on it.
	example string
}

// kinds is every signal kind. Adding a kind is adding a kind_*.go file and
// a line here.
var kinds = []kindDef{countKind, sumKind, distinctUsersKind, traitKind, velocityKind}

// commonSignalKeys are the keys every signal takes.
var commonSignalKeys = []string{"name", "category", "points"}

// signalKeys is every key some signal takes, for "unknown key" and "did you
// mean" messages; selectorKeys every key that selects a kind. Both keep the
// table's order.
var signalKeys, selectorKeys = func() ([]string, []string) {
	all := append([]string(nil), commonSignalKeys...)
	var sel []string
	for _, k := range kinds {
		for _, key := range k.keys {
			if !contains(all, key) {
				all = append(all, key)
			}
		}
		for _, key := range k.selects {
			if !contains(sel, key) {
				sel = append(sel, key)
			}
		}
	}
	return all, sel
}()

// kindFor picks the kind a signal's selector key names.
func kindFor(selector string, f *fields) *kindDef {
	var plain *kindDef
	for i := range kinds {
		k := &kinds[i]
		if !contains(k.selects, selector) {
			continue
		}
		if len(k.marks) == 0 {
			if plain == nil {
				plain = k
			}
			continue
		}
		for _, mk := range k.marks {
			if _, seen := f.keys[mk]; seen {
				return k
			}
		}
	}
	return plain
}

// signalJSON is the header of a signal's JSON form; the rule's own fields
// follow it. The model hash is taken over this form.
type signalJSON struct {
	Name       string     `json:"name"`
	Category   string     `json:"category"`
	Kind       SignalKind `json:"kind"`
	Points     int        `json:"points"`
	WindowDays int        `json:"window_days"`
}

// MarshalJSON writes the signal's settings and its rule's fields as one
// object, so the model hash covers every setting of every kind.
func (s Signal) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(signalJSON{s.Name, s.Category, s.Rule.Kind(), s.Points, s.WindowDays})
	if err != nil {
		return nil, err
	}
	rule, err := json.Marshal(s.Rule)
	if err != nil {
		return nil, err
	}
	rule = bytes.TrimPrefix(rule, []byte("{"))
	if len(rule) <= 1 { // "}": the rule has no fields of its own
		return head, nil
	}
	head = append(head[:len(head)-1], ',')
	return append(head, rule...), nil
}

// signal reads one signal; ok is false when it had errors.
func (p *parser) signal(f *fields) (Signal, bool) {
	before := len(p.errs)
	s := Signal{Name: p.str(f, "name", true)}
	if pts, _, ok := p.integer(f, "points"); ok {
		s.Points = pts
	} else if f.get("points") == nil {
		p.errorf(join(f.path, "points"), f.node, "required (a whole number; negative for negative signals)")
	}

	var found []string
	for _, k := range selectorKeys {
		if _, seen := f.keys[k]; seen {
			found = append(found, k)
		}
	}
	switch {
	case len(found) == 0:
		p.errorf(f.path, f.node, "a signal needs one of %s", strings.Join(selectorKeys, ", "))
		return s, false
	case len(found) > 1:
		p.errorf(f.path, f.node, "a signal takes only one of %s (found %s)", strings.Join(selectorKeys, ", "), strings.Join(found, ", "))
		return s, false
	}
	kind := kindFor(found[0], f)
	for _, key := range f.order {
		if !contains(commonSignalKeys, key) && !contains(kind.keys, key) {
			p.errorf(join(f.path, key), f.keys[key], "not used by %s signals", kind.kind)
		}
	}
	if len(p.errs) != before {
		return s, false
	}
	if contains(kind.keys, "window_days") && f.has("window_days") {
		s.WindowDays, _ = p.positive(f, "window_days")
	}
	var category string
	s.Rule, category = kind.parse(p, f, found[0], s.Points)

	if n := f.get("category"); n != nil {
		s.Category = p.str(f, "category", false)
		if s.Category != "" && !contains(categories, s.Category) {
			p.errorf(join(f.path, "category"), n, "unknown category %q (use %s)", s.Category, strings.Join(categories, ", "))
		}
	} else {
		s.Category = category
	}
	return s, len(p.errs) == before && s.Rule != nil
}

// activityCategory is the default category of a signal on activity: a
// negative signal is negative, page views show intent, the rest is usage.
func activityCategory(points int, bucketKind string) string {
	switch {
	case points < 0:
		return CategoryNegative
	case bucketKind == BucketPage:
		return CategoryIntent
	}
	return CategoryUsage
}

// eventSeries reads the event or page a signal counts (selector is "event"
// or "page").
func (p *parser) eventSeries(f *fields, selector string) (bucketKind, name string) {
	bucketKind = BucketTrack
	if selector == "page" {
		bucketKind = BucketPage
	}
	return bucketKind, p.str(f, selector, true)
}

// optionalWhere reads the where: filter when present.
func (p *parser) optionalWhere(f *fields) map[string]any {
	if n := f.get("where"); n != nil {
		return p.where(join(f.path, "where"), n)
	}
	return nil
}

// Detail helpers shared by the kinds.

func appendWindow(b []byte, days int) []byte {
	switch days {
	case 0:
		return append(b, "ever"...)
	case 1:
		return append(b, "today"...)
	}
	b = append(b, "in "...)
	b = strconv.AppendInt(b, int64(days), 10)
	return append(b, " days"...)
}

func appendNum(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, math.Round(f*100)/100, 'f', -1, 64)
}

// appendWhere appends an event filter as a rep reads it: " (type:
// production database)", not the model's type=production_database.
func appendWhere(b []byte, where map[string]any) []byte {
	if len(where) == 0 {
		return b
	}
	keys := make([]string, 0, len(where))
	for k := range where {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, " ("...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, strings.ReplaceAll(k, "_", " ")...)
		b = append(b, ": "...)
		b = append(b, strings.ReplaceAll(FormatValue(where[k]), "_", " ")...)
	}
	return append(b, ')')
}
