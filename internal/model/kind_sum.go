package model

// KindSum fires when the numeric property Sum, summed over the events named
// Event in the window, reaches MinSum.
const KindSum SignalKind = "sum"

// SumRule is a sum signal: {event: Records Imported, sum: records, min_sum: 100}.
type SumRule struct {
	// BucketKind (track or page) and Event name the roll-up series.
	BucketKind string `json:"bucket_kind,omitempty"`
	Event      string `json:"event,omitempty"`
	// Sum names the numeric property summed; MinSum is the threshold.
	Sum    string  `json:"sum,omitempty"`
	MinSum float64 `json:"min_sum,omitempty"`
	// Where restricts the sum to events whose properties contain these
	// top-level values.
	Where map[string]any `json:"where,omitempty"`
}

var sumKind = kindDef{
	kind:    KindSum,
	selects: []string{"event", "page"},
	marks:   []string{"sum", "min_sum"},
	keys:    []string{"window_days", "event", "page", "sum", "min_sum", "where"},
	example: "event: Records Imported, sum: records, min_sum: 100, window_days: 30",
	parse: func(p *parser, f *fields, selector string, points int) (Rule, string) {
		r := &SumRule{}
		r.BucketKind, r.Event = p.eventSeries(f, selector)
		r.Sum = p.str(f, "sum", true)
		if n := f.get("min_sum"); n != nil {
			if v, ok := p.number(join(f.path, "min_sum"), n); ok {
				r.MinSum = v
			}
		} else {
			p.errorf(join(f.path, "min_sum"), f.node, "required with sum")
		}
		r.Where = p.optionalWhere(f)
		return r, activityCategory(points, r.BucketKind)
	},
}

// Kind implements Rule.
func (*SumRule) Kind() SignalKind { return KindSum }

// Needs implements Rule.
func (r *SumRule) Needs() Need {
	return Need{Kind: r.BucketKind, Name: r.Event, Where: r.Where, Sum: r.Sum}
}

// ReadsScore implements Rule.
func (*SumRule) ReadsScore() bool { return false }

// Measure implements Rule. A sum needs at least one event, so min_sum: 0
// does not fire on no activity.
func (r *SumRule) Measure(s *Signal, i int, f FactReader, end int64) Measurement {
	n, sum := f.SeriesTotal(i, s.WindowDays, end, r.Sum)
	return Measurement{Fired: n > 0 && sum >= r.MinSum, Count: n, Sum: sum, Threshold: r.MinSum}
}

// AppendDetail implements Rule: "180 records from Records Imported in 30
// days (needs 100)".
func (r *SumRule) AppendDetail(b []byte, s *Signal, m *Measurement) []byte {
	b = appendNum(b, m.Sum)
	b = append(b, ' ')
	b = append(b, r.Sum...)
	b = append(b, " from "...)
	b = append(b, r.Event...)
	b = appendWhere(b, r.Where)
	b = append(b, ' ')
	b = appendWindow(b, s.WindowDays)
	b = append(b, " (needs "...)
	b = appendNum(b, r.MinSum)
	return append(b, ')')
}
