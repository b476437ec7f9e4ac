package model

import "strconv"

// KindDistinctUsers fires when at least Min different users were active in
// the account in the window.
const KindDistinctUsers SignalKind = "distinct_users"

// DistinctUsersRule is a distinct_users signal: {distinct_users: 3, window_days: 7}.
type DistinctUsersRule struct {
	Min int `json:"distinct_users,omitempty"`
}

var distinctUsersKind = kindDef{
	kind:    KindDistinctUsers,
	selects: []string{"distinct_users"},
	keys:    []string{"window_days", "distinct_users"},
	example: "distinct_users: 3, window_days: 7",
	parse: func(p *parser, f *fields, _ string, points int) (Rule, string) {
		r := &DistinctUsersRule{}
		r.Min, _ = p.positive(f, "distinct_users")
		if f.get("distinct_users") == nil {
			p.errorf(join(f.path, "distinct_users"), f.keys["distinct_users"], "must be a positive integer")
		}
		return r, activityCategory(points, "")
	},
}

// Kind implements Rule.
func (*DistinctUsersRule) Kind() SignalKind { return KindDistinctUsers }

// Needs implements Rule.
func (*DistinctUsersRule) Needs() Need { return Need{Users: true} }

// ReadsScore implements Rule.
func (*DistinctUsersRule) ReadsScore() bool { return false }

// Measure implements Rule.
func (r *DistinctUsersRule) Measure(s *Signal, _ int, f FactReader, end int64) Measurement {
	n := f.DistinctUsers(s.WindowDays, end)
	return Measurement{Fired: n >= r.Min, Users: n, Threshold: float64(r.Min)}
}

// AppendDetail implements Rule: "4 active users in 7 days (needs 3)".
func (r *DistinctUsersRule) AppendDetail(b []byte, s *Signal, m *Measurement) []byte {
	b = strconv.AppendInt(b, int64(m.Users), 10)
	if m.Users == 1 {
		b = append(b, " active user "...)
	} else {
		b = append(b, " active users "...)
	}
	b = appendWindow(b, s.WindowDays)
	b = append(b, " (needs "...)
	b = strconv.AppendInt(b, int64(r.Min), 10)
	return append(b, ')')
}
