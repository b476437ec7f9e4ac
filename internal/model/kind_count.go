package model

import "strconv"

// KindCount fires when at least MinCount events (or page views) named Event
// happened in the window, optionally only those matching Where.
const KindCount SignalKind = "count"

// CountRule is a count signal: {event: Workflow Completed, min_count: 3}.
type CountRule struct {
	// BucketKind (track or page) and Event name the roll-up series.
	BucketKind string `json:"bucket_kind,omitempty"`
	Event      string `json:"event,omitempty"`
	// MinCount is the threshold (default 1).
	MinCount int64 `json:"min_count,omitempty"`
	// Where restricts the count to events whose properties contain these
	// top-level values (JSON containment: string, number or bool).
	Where map[string]any `json:"where,omitempty"`
}

var countKind = kindDef{
	kind:    KindCount,
	selects: []string{"event", "page"},
	keys:    []string{"window_days", "event", "page", "min_count", "where"},
	example: "event: Workflow Completed, min_count: 3, window_days: 7",
	parse: func(p *parser, f *fields, selector string, points int) (Rule, string) {
		r := &CountRule{MinCount: 1}
		r.BucketKind, r.Event = p.eventSeries(f, selector)
		if f.has("min_count") {
			v, _ := p.positive(f, "min_count")
			r.MinCount = int64(v)
		}
		r.Where = p.optionalWhere(f)
		return r, activityCategory(points, r.BucketKind)
	},
}

// Kind implements Rule.
func (*CountRule) Kind() SignalKind { return KindCount }

// Needs implements Rule.
func (r *CountRule) Needs() Need { return Need{Kind: r.BucketKind, Name: r.Event, Where: r.Where} }

// ReadsScore implements Rule.
func (*CountRule) ReadsScore() bool { return false }

// Measure implements Rule.
func (r *CountRule) Measure(s *Signal, i int, f FactReader, end int64) Measurement {
	n, _ := f.SeriesTotal(i, s.WindowDays, end, "")
	return Measurement{Fired: n >= r.MinCount, Count: n, Threshold: float64(r.MinCount)}
}

// AppendDetail implements Rule: "5× Workflow Completed in 7 days (needs 3)".
func (r *CountRule) AppendDetail(b []byte, s *Signal, m *Measurement) []byte {
	b = strconv.AppendInt(b, m.Count, 10)
	b = append(b, "× "...)
	if r.BucketKind == BucketPage {
		b = append(b, "page "...)
	}
	b = append(b, r.Event...)
	b = appendWhere(b, r.Where)
	b = append(b, ' ')
	b = appendWindow(b, s.WindowDays)
	b = append(b, " (needs "...)
	b = strconv.AppendInt(b, r.MinCount, 10)
	return append(b, ')')
}
