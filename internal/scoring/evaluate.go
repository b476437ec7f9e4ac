package scoring

import (
	"fmt"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

const secondsPerDay = 24 * 60 * 60

// dayOf is the UTC day number of t (days since 1970-01-01), whatever t's
// location.
func dayOf(t time.Time) int64 {
	s := t.Unix()
	d := s / secondsPerDay
	if s%secondsPerDay < 0 {
		d--
	}
	return d
}

// utc normalises a time for storage, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func dayTime(d int64) time.Time { return time.Unix(d*secondsPerDay, 0).UTC() }

// inWindow reports whether day d falls in the window of w days ending on
// day end (w == 0: all history up to end).
func inWindow(d, end int64, w int) bool {
	return d <= end && (w == 0 || d > end-int64(w))
}

// Evaluate scores one account. It is pure: the same model, facts and now
// always give the same Result.
func Evaluate(m *model.Model, f *Facts, now time.Time) Result {
	today := dayOf(now)
	r := Result{
		AccountID:    f.AccountID,
		Name:         f.Name,
		Domain:       f.Domain,
		ModelVersion: m.Version,
		ModelHash:    m.Hash,
		At:           now.UTC(),
		RecencyDays:  m.RecencyDays,
		FirstEventAt: utc(f.FirstEventAt),
		LastEventAt:  utc(f.LastEventAt),
		Signals:      make([]SignalResult, len(m.Signals)),
	}

	idx := newFactIndex(m, f)
	defer idx.release()
	r.Score = measure(m, idx, today, r.Signals)
	r.ActiveUsers = idx.DistinctUsers(m.RecencyDays, today)
	for i := range r.Signals {
		idx.buf = m.Signals[i].Rule.AppendDetail(idx.buf[:0], &m.Signals[i], &idx.meas[i])
		r.Signals[i].Detail = string(idx.buf)
	}

	r.Gates = make([]GateResult, len(m.Gates))
	gatesPass := true
	for i, g := range m.Gates {
		v, ok := f.trait(g.Trait)
		res := GateResult{Trait: g.Trait, Op: g.Op, Wanted: g.Wanted(), Present: ok, Passed: g.Match(v, ok)}
		if ok {
			res.Actual = v
		}
		res.Text = g.String() + " " + isText(v, ok)
		r.Gates[i] = res
		gatesPass = gatesPass && res.Passed
	}

	for _, s := range m.Segments {
		if s.Cond == nil {
			r.Segment = s.Name
			break
		}
		if v, ok := f.trait(s.Cond.Trait); s.Cond.Match(v, ok) {
			r.Segment = s.Name
			break
		}
	}

	r.HandRaise = idx.handRaise(m, today)
	r.Tier = tierFor(m, r.Score, r.HandRaise != nil)
	if r.Tier != model.TierHandRaiser {
		rank := m.TierRank(r.Tier) // 1-based position, len+1 when below every tier
		if rank >= 2 {
			next := m.Tiers[rank-2]
			r.NextTier, r.NextTierMin = next.Name, next.MinScore
		}
	}
	if rt, ok := m.Route(r.Tier, r.Segment); ok && r.Tier != "" {
		r.Route = &rt
	}

	r.Reasons = reasons(m, f, &r, now, today, gatesPass)
	r.Alertable = len(r.Reasons) == 0
	return r
}

// tierFor is hand_raiser after a hand-raise, else the first tier whose
// min_score the score meets, else "" (below every tier).
func tierFor(m *model.Model, score int, handRaised bool) string {
	if handRaised {
		return model.TierHandRaiser
	}
	for _, t := range m.Tiers {
		if score >= t.MinScore {
			return t.Name
		}
	}
	return ""
}

func reasons(m *model.Model, f *Facts, r *Result, now time.Time, today int64, gatesPass bool) []Reason {
	var out []Reason
	if !gatesPass {
		for _, g := range r.Gates {
			if !g.Passed {
				out = append(out, Reason{Code: ReasonGateFailed, Text: "fit gate failed: " + g.Text})
			}
		}
	}
	if r.Route == nil || !r.Route.Notify {
		out = append(out, Reason{Code: ReasonBelowThreshold, Text: belowText(r)})
	}
	switch {
	case f.LastEventAt.IsZero():
		out = append(out, Reason{Code: ReasonNotRecent, Text: "no events yet"})
	case !inWindow(dayOf(f.LastEventAt), today, m.RecencyDays) && dayOf(f.LastEventAt) <= today:
		ago := today - dayOf(f.LastEventAt)
		out = append(out, Reason{Code: ReasonNotRecent, Text: fmt.Sprintf(
			"last event %s (%d days ago), outside the %d-day recency window",
			f.LastEventAt.UTC().Format(time.DateOnly), ago, m.RecencyDays)})
	}
	for _, s := range m.Suppress {
		if v, ok := f.trait(s.Trait); s.Match(v, ok) {
			rule := s
			out = append(out, Reason{Code: ReasonSuppressed, Text: "suppressed: " + s.String() + " " + isText(v, ok), Rule: &rule, Actual: v})
		}
	}
	if f.DisqualifiedUntil.After(now) {
		out = append(out, Reason{Code: ReasonDisqualified, Text: "marked not a fit; disqualified until " +
			f.DisqualifiedUntil.UTC().Format("2006-01-02 15:04 MST"), Until: f.DisqualifiedUntil.UTC()})
	}
	return out
}

func belowText(r *Result) string {
	var b strings.Builder
	switch {
	case r.Tier == "":
		fmt.Fprintf(&b, "score %d is below every tier", r.Score)
	case r.Route == nil:
		fmt.Fprintf(&b, "score %d is tier %s, which has no route", r.Score, r.Tier)
	default:
		fmt.Fprintf(&b, "score %d is tier %s, which does not alert (notify: false)", r.Score, r.Tier)
	}
	if r.NextTier != "" {
		fmt.Fprintf(&b, "; %s needs %d (%d more)", r.NextTier, r.NextTierMin, r.NextTierMin-r.Score)
	}
	return b.String()
}

// isText is the "(is 250)" / "(unknown)" suffix for conditions.
func isText(v any, present bool) string {
	if !present {
		return "(unknown)"
	}
	return "(is " + model.FormatValue(v) + ")"
}
