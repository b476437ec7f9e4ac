package model

import "fmt"

// KindVelocity fires when the account's score, without velocity signals,
// reached MinScore within Days of its first event.
const KindVelocity SignalKind = "velocity"

// Velocity is score_within_days_of_signup: the score (without velocity
// signals) reached MinScore within the first Days UTC days of the account,
// counting the day of its first event as day 1.
type Velocity struct {
	Days     int `json:"days"`
	MinScore int `json:"min_score"`
}

// VelocityRule is a velocity signal:
// {score_within_days_of_signup: {days: 3, min_score: 50}}.
type VelocityRule struct {
	Velocity Velocity `json:"velocity"`
}

var velocityKind = kindDef{
	kind:    KindVelocity,
	selects: []string{"score_within_days_of_signup"},
	keys:    []string{"score_within_days_of_signup"},
	example: "score_within_days_of_signup: {days: 3, min_score: 50}",
	parse: func(p *parser, f *fields, _ string, _ int) (Rule, string) {
		path := join(f.path, "score_within_days_of_signup")
		vn := f.get("score_within_days_of_signup")
		if vn == nil {
			p.errorf(path, f.keys["score_within_days_of_signup"], "needs {days: N, min_score: M}")
			return nil, CategoryVelocity
		}
		vf := p.mapping(path, vn, "days", "min_score")
		r := &VelocityRule{}
		if d, ok := p.positive(vf, "days"); ok {
			r.Velocity.Days = d
		} else if vf.get("days") == nil {
			p.errorf(join(path, "days"), vn, "required")
		}
		if ms, _, ok := p.integer(vf, "min_score"); ok {
			r.Velocity.MinScore = ms
		} else if vf.get("min_score") == nil {
			p.errorf(join(path, "min_score"), vn, "required")
		}
		return r, CategoryVelocity
	},
}

// Kind implements Rule.
func (*VelocityRule) Kind() SignalKind { return KindVelocity }

// Needs implements Rule.
func (r *VelocityRule) Needs() Need { return Need{AfterSignup: r.Velocity.Days} }

// ReadsScore implements Rule.
func (*VelocityRule) ReadsScore() bool { return true }

// Measure implements Rule.
func (r *VelocityRule) Measure(_ *Signal, _ int, f FactReader, end int64) Measurement {
	m := Measurement{Threshold: float64(r.Velocity.MinScore)}
	reached, ok := f.EarlyScore(r.Velocity.Days, end)
	if !ok {
		m.NoEvents = true
		return m
	}
	m.Reached, m.Fired = reached, reached >= r.Velocity.MinScore
	return m
}

// AppendDetail implements Rule: "reached 55 in the first 3 days (needs 50)".
func (r *VelocityRule) AppendDetail(b []byte, _ *Signal, m *Measurement) []byte {
	if m.NoEvents {
		return fmt.Appendf(b, "no events yet (needs %d in the first %d days)", r.Velocity.MinScore, r.Velocity.Days)
	}
	return fmt.Appendf(b, "reached %d in the first %d days (needs %d)", m.Reached, r.Velocity.Days, r.Velocity.MinScore)
}
