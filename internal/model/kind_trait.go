package model

// KindTrait fires when an account trait condition holds.
const KindTrait SignalKind = "trait"

// TraitRule is a trait (fit) signal: {trait: employees, gte: 50}.
type TraitRule struct {
	Cond *Condition `json:"trait,omitempty"`
}

var traitKind = kindDef{
	kind:    KindTrait,
	selects: []string{"trait"},
	keys:    []string{"trait", "gte", "lte", "eq", "in", "not_in"},
	example: "trait: employees, gte: 50",
	parse: func(p *parser, f *fields, _ string, _ int) (Rule, string) {
		c := p.condition(f, true)
		if c == nil {
			return nil, CategoryFit
		}
		return &TraitRule{Cond: c}, CategoryFit
	},
}

// Kind implements Rule.
func (*TraitRule) Kind() SignalKind { return KindTrait }

// Needs implements Rule: traits are always loaded.
func (*TraitRule) Needs() Need { return Need{} }

// ReadsScore implements Rule.
func (*TraitRule) ReadsScore() bool { return false }

// Measure implements Rule.
func (r *TraitRule) Measure(_ *Signal, _ int, f FactReader, _ int64) Measurement {
	v, ok := f.Trait(r.Cond.Trait)
	m := Measurement{Fired: r.Cond.Match(v, ok)}
	if ok {
		m.Actual = v
	}
	return m
}

// AppendDetail implements Rule: "employees is 250 (needs ≥ 50)".
func (r *TraitRule) AppendDetail(b []byte, _ *Signal, m *Measurement) []byte {
	c := r.Cond
	b = append(b, c.Trait...)
	if m.Actual == nil {
		b = append(b, " unknown"...)
	} else {
		b = append(b, " is "...)
		b = append(b, FormatValue(m.Actual)...)
	}
	b = append(b, " (needs "...)
	b = append(b, opWords[c.Op]...)
	b = append(b, ' ')
	b = append(b, c.Wanted()...)
	return append(b, ')')
}

// opWords says an operator in a sentence ("needs one of [paid, trial]").
var opWords = map[Op]string{OpGTE: "≥", OpLTE: "≤", OpEQ: "=", OpIn: "one of", OpNotIn: "none of"}
