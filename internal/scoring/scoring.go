// Package scoring turns an account's facts into an explainable score: pure
// functions of a model, the facts and now, with no I/O and no clock.
//
// Days are UTC calendar days. A window of N days evaluated at now covers the
// N days ending with now's UTC day: N=1 is today, and an event exactly N×24h
// old is out. Buckets dated after now's day are ignored, so a score "as of"
// a moment only uses what had happened by then.
//
// Velocity (score_within_days_of_signup {days: D, min_score: M}) re-scores
// the account as of the D-th UTC day of its life (the day of its first event
// is day 1), with every non-velocity signal's window ending on that day and
// the current traits, and fires when that score reached M. While the account
// is younger than D days it is evaluated as of today, so a fast start fires
// as soon as it happens. Because it describes how the account started, a
// fired velocity signal stays fired: with no new events, time brings a score
// down to its time-independent baseline, the trait (fit) signals plus the
// velocity signals.
package scoring

import (
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

// Bucket is a daily roll-up of one event or page name for one account.
type Bucket struct {
	// Day is the UTC midnight the bucket covers.
	Day time.Time
	// Kind is model.BucketTrack or model.BucketPage.
	Kind string
	// Name is the track event name or the page name.
	Name  string
	Count int64
	// Sums holds, per top-level numeric property, its sum over the events.
	Sums map[string]float64
}

// UserDay says a user was active in the account on a UTC day.
type UserDay struct {
	Day    time.Time
	UserID string
}

// Facts is what the scorer knows about one account. The store fills it as
// model.FactsSpec asks.
type Facts struct {
	AccountID string
	Name      string
	Domain    string
	// Traits are the account's (group) traits, JSON-decoded (numbers are
	// float64), plus the derived "email_domain".
	Traits map[string]any
	// FirstEventAt and LastEventAt are zero when the account has no events.
	FirstEventAt time.Time
	LastEventAt  time.Time
	// Buckets are the daily roll-ups the FactsSpec asked for.
	Buckets []Bucket
	// ActiveUsers lists the distinct users active per day.
	ActiveUsers []UserDay
	// Filtered holds, per signal with `where`, the daily buckets of the
	// matching events.
	Filtered map[string][]Bucket
	// DisqualifiedUntil is zero unless a rep marked the account "Not a fit".
	DisqualifiedUntil time.Time
}

// trait looks a trait up; name and domain fall back to the account columns
// when the traits do not carry them.
func (f *Facts) trait(name string) (any, bool) {
	if v, ok := f.Traits[name]; ok && v != nil {
		return v, true
	}
	switch name {
	case "name":
		return f.Name, f.Name != ""
	case "domain":
		return f.Domain, f.Domain != ""
	}
	return nil, false
}

// Reason codes say why an account is not alerting.
const (
	ReasonGateFailed     = "gate_failed"
	ReasonBelowThreshold = "below_threshold"
	ReasonNotRecent      = "not_recent"
	ReasonSuppressed     = "suppressed"
	ReasonDisqualified   = "disqualified"
)

// Reason is one cause of an account not alerting. Text is for operators
// (it names model keys); the structured fields let a lookup say it in a
// rep's words.
type Reason struct {
	Code string `json:"code"`
	Text string `json:"text"`
	// Rule is the suppress rule that matched (suppressed) and Actual the
	// account's value for its trait.
	Rule   *model.Condition `json:"rule,omitempty"`
	Actual any              `json:"actual,omitempty"`
	// Until is when a disqualification ends (disqualified).
	Until time.Time `json:"until,omitzero"`
}

// GateResult is one fit gate's outcome.
type GateResult struct {
	Trait  string   `json:"trait"`
	Op     model.Op `json:"op"`
	Wanted string   `json:"wanted"`
	// Actual is the account's value; nil when the trait is missing.
	Actual  any    `json:"actual,omitempty"`
	Present bool   `json:"present"`
	Passed  bool   `json:"passed"`
	Text    string `json:"text"`
}

// SignalResult is one signal's outcome, fired or not, with the numbers
// behind it.
type SignalResult struct {
	Name     string           `json:"name"`
	Category string           `json:"category"`
	Kind     model.SignalKind `json:"kind"`
	// Points is what the signal adds when it fires.
	Points int  `json:"points"`
	Fired  bool `json:"fired"`
	// Count is the number of events (count signals).
	Count int64 `json:"count,omitempty"`
	// Sum is the property total (sum signals).
	Sum float64 `json:"sum,omitempty"`
	// Users is the number of distinct active users (distinct_users).
	Users int `json:"users,omitempty"`
	// Reached is the score reached early in the account's life (velocity).
	Reached int `json:"reached,omitempty"`
	// Actual is the trait value (trait signals); nil when missing.
	Actual any `json:"actual,omitempty"`
	// WindowDays is the window looked at; 0 means all history.
	WindowDays int `json:"window_days"`
	// Threshold is min_count, min_sum, distinct_users or min_score.
	Threshold float64 `json:"threshold,omitempty"`
	// Detail says it in words: "5× Workflow Completed in 7 days (needs 3)".
	Detail string `json:"detail"`
}

// HandRaise is the latest hand-raiser event inside the recency window.
type HandRaise struct {
	Event string    `json:"event"`
	Day   time.Time `json:"day"`
}

// Result is an account's score with everything needed to explain it.
type Result struct {
	AccountID    string    `json:"account_id"`
	Name         string    `json:"name,omitempty"`
	Domain       string    `json:"domain,omitempty"`
	ModelVersion string    `json:"model_version"`
	ModelHash    string    `json:"model_hash"`
	At           time.Time `json:"at"`

	Score   int    `json:"score"`
	Tier    string `json:"tier"`
	Segment string `json:"segment"`
	// NextTier and NextTierMin name the tier above the current one (empty
	// at the top), so a lookup can say how far the account is from it.
	NextTier    string `json:"next_tier,omitempty"`
	NextTierMin int    `json:"next_tier_min,omitempty"`

	Gates     []GateResult   `json:"gates"`
	Signals   []SignalResult `json:"signals"`
	HandRaise *HandRaise     `json:"hand_raise,omitempty"`
	// ActiveUsers counts distinct users active within RecencyDays.
	ActiveUsers  int       `json:"active_users"`
	RecencyDays  int       `json:"recency_days"`
	FirstEventAt time.Time `json:"first_event_at,omitzero"`
	LastEventAt  time.Time `json:"last_event_at,omitzero"`

	// Route is the model's route for Tier and Segment, when there is one.
	Route *model.Route `json:"route,omitempty"`
	// Alertable is true when nothing in Reasons stands in the way; whether
	// an alert is then sent (cool-down, open alert) is alerting's call.
	Alertable bool     `json:"alertable"`
	Reasons   []Reason `json:"reasons,omitempty"`
}

// Fired returns the signals that fired, in model order.
func (r *Result) Fired() []SignalResult {
	var out []SignalResult
	for _, s := range r.Signals {
		if s.Fired {
			out = append(out, s)
		}
	}
	return out
}

// HasReason reports whether code is among the reasons.
func (r *Result) HasReason(code string) bool {
	for _, x := range r.Reasons {
		if x.Code == code {
			return true
		}
	}
	return false
}
