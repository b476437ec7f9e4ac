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
	var r Result
	evaluate(m, f, now, &r, true)
	return r
}

// EvaluateBrief is Evaluate without the words: the same decision (score,
// tier, segment, every signal with its numbers, gates, hand-raise, route,
// alertable and the reason codes) with empty Detail and Text, written into
// r and reusing its slices, so a caller that scores one account day after
// day (the backtest's replay) allocates almost nothing. Both run the same
// code; only the sentences are skipped.
func EvaluateBrief(m *model.Model, f *Facts, now time.Time, r *Result) {
	evaluate(m, f, now, r, false)
}

func evaluate(m *model.Model, f *Facts, now time.Time, r *Result, explain bool) {
	today := dayOf(now)
	signals, gates, reasonBuf := resize(r.Signals, len(m.Signals)), resize(r.Gates, len(m.Gates)), r.Reasons[:0]
	*r = Result{
		AccountID:    f.AccountID,
		Name:         f.Name,
		Domain:       f.Domain,
		ModelVersion: m.Version,
		ModelHash:    m.Hash,
		At:           now.UTC(),
		RecencyDays:  m.RecencyDays,
		FirstEventAt: utc(f.FirstEventAt),
		LastEventAt:  utc(f.LastEventAt),
		Signals:      signals,
		Gates:        gates,
	}

	idx := newFactIndex(m, f)
	defer idx.release()
	r.Score = measure(m, idx, today, r.Signals)
	r.ActiveUsers = idx.DistinctUsers(m.RecencyDays, today)
	for i := range r.Signals {
		r.Signals[i].Detail = ""
		if explain {
			idx.buf = m.Signals[i].Rule.AppendDetail(idx.buf[:0], &m.Signals[i], &idx.meas[i])
			r.Signals[i].Detail = string(idx.buf)
		}
	}

	gatesPass := true
	for i, g := range m.Gates {
		v, ok := f.trait(g.Trait)
		res := GateResult{Trait: g.Trait, Op: g.Op, Present: ok, Passed: g.Match(v, ok)}
		if ok {
			res.Actual = v
		}
		if explain {
			res.Wanted = g.Wanted()
			res.Text = g.String() + " " + isText(v, ok)
		}
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

	r.Reasons = reasons(reasonBuf, m, f, r, now, today, gatesPass, explain)
	if len(r.Reasons) == 0 {
		r.Reasons = nil
	}
	r.Alertable = len(r.Reasons) == 0
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

// reasons appends to out why the account does not alert; with explain
// false only the codes are filled in.
func reasons(out []Reason, m *model.Model, f *Facts, r *Result, now time.Time, today int64, gatesPass, explain bool) []Reason {
	add := func(code string, text func() string) {
		x := Reason{Code: code}
		if explain {
			x.Text = text()
		}
		out = append(out, x)
	}
	if !gatesPass {
		for _, g := range r.Gates {
			if !g.Passed {
				add(ReasonGateFailed, func() string { return "fit gate failed: " + g.Text })
			}
		}
	}
	if r.Route == nil || !r.Route.Notify {
		add(ReasonBelowThreshold, func() string { return belowText(r) })
	}
	switch {
	case f.LastEventAt.IsZero():
		add(ReasonNotRecent, func() string { return "no events yet" })
	case !inWindow(dayOf(f.LastEventAt), today, m.RecencyDays) && dayOf(f.LastEventAt) <= today:
		add(ReasonNotRecent, func() string {
			return fmt.Sprintf("last event %s (%d days ago), outside the %d-day recency window",
				f.LastEventAt.UTC().Format(time.DateOnly), today-dayOf(f.LastEventAt), m.RecencyDays)
		})
	}
	for _, s := range m.Suppress {
		if v, ok := f.trait(s.Trait); s.Match(v, ok) {
			rule := s
			add(ReasonSuppressed, func() string { return "suppressed: " + s.String() + " " + isText(v, ok) })
			out[len(out)-1].Rule, out[len(out)-1].Actual = &rule, v
		}
	}
	if f.DisqualifiedUntil.After(now) {
		add(ReasonDisqualified, func() string {
			return "marked not a fit; disqualified until " + f.DisqualifiedUntil.UTC().Format("2006-01-02 15:04 MST")
		})
		out[len(out)-1].Until = f.DisqualifiedUntil.UTC()
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
