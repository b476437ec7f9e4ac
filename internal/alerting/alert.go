// Package alerting owns the alert lifecycle: deciding when an account's
// score becomes an alert (routing, cool-down, upgrades, moves), reps'
// actions on it, its SLA clock, and delivering its messages through a
// durable outbox. It speaks in domain terms only: it declares the Store and
// the Notifier it needs, and returns outcomes (a Decision, a NotFitClosed,
// a *ConflictError naming who holds the alert), never Slack types. The
// store implements the Store; slackdelivery implements the Notifier, for
// Slack and for the dry run.
package alerting

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// State is an alert's lifecycle state as stored.
type State string

// Alert states. Open and claimed alerts are "active": an account has at
// most one active alert.
const (
	StateOpen      State = "open"
	StateClaimed   State = "claimed"
	StateContacted State = "contacted"
	StateClosed    State = "closed"
)

// Active reports whether the alert still waits on a rep.
func (s State) Active() bool { return s == StateOpen || s == StateClaimed }

// Delivery states of the Slack post.
const (
	DeliveryPending = "pending"
	DeliveryPosted  = "posted"
	DeliveryFailed  = "failed"
)

// Errors the store returns and transports map to replies.
var (
	ErrNotFound = errors.New("alert not found")
)

// Alert is one PQL alert with its route, the score explanation as of the
// alert, and its current state.
type Alert struct {
	ID        uuid.UUID
	AccountID string
	Tier      string
	Segment   string
	Score     int
	// Channel is the route's channel as configured; ChannelID is the
	// resolved id once posted.
	Channel      string
	ChannelID    string
	OwnerRole    string
	SLA          time.Duration
	ModelVersion string
	Explanation  scoring.Result

	State     State
	CreatedAt time.Time
	PostedAt  time.Time
	// ClockFrom, when set, is when the SLA clock started instead of the
	// post: the hand-raise that moved the alert here.
	ClockFrom time.Time
	MessageTS string
	DueAt     time.Time
	WarnAt    time.Time

	ClaimedBy   string
	ClaimedAt   time.Time
	ContactedBy string
	ContactedAt time.Time
	ClosedBy    string
	ClosedAt    time.Time
	CloseReason string
	NudgedAt    time.Time
	BreachedAt  time.Time

	Delivery      string
	DeliveryError string

	// AlertScore is the score the alert was raised with; Score follows the
	// account after a material change.
	AlertScore int
	// Mention is the route's mention as of the alert (model.Route.Mention).
	Mention []string
	// MovedTo is the alert a hand-raise moved this one to (CloseReason
	// CloseMoved), MovedToChannel that alert's channel; MovedFrom links the
	// other way.
	MovedTo          uuid.UUID
	MovedToChannel   string
	MovedFrom        uuid.UUID
	MovedFromChannel string
	// EscalationID is the escalation listing the alert's breach, if any;
	// later changes edit that post.
	EscalationID int64
}

// Escalation is one post to the escalation channel: the breaches due in
// the same minute for that channel, listed together and edited as each
// resolves, and where the post is once it is out.
type Escalation struct {
	ID        int64
	Channel   string
	ChannelID string
	TS        string
	// Alerts are the escalated alerts as they stand: in due order, the
	// highest score first.
	Alerts []*Alert
}

// Action is what a decision does.
type Action int

// Actions.
const (
	// None: nothing to send.
	None Action = iota
	// Create: a new alert and its post.
	Create
	// Upgrade: the active alert moves to a higher tier (or a hand-raise
	// on a claimed alert); its thread gets a reply (mentioning the claimer)
	// and its message is re-rendered.
	Upgrade
	// Rescore: the active alert's score moved materially (MaterialChange
	// points, or a lower tier) without a move up; the message shows the
	// current score beside the one at alert, and the thread notes it.
	Rescore
	// Move: a hand-raise on an open alert of a lower tier. The open alert
	// closes as moved and a new alert (Alert) goes to the hand_raiser
	// route, linked both ways; From is the alert it replaces.
	Move
)

// MaterialChange is how far the score must move, with the tier unchanged,
// before an active alert's message is re-rendered.
const MaterialChange = 10

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Upgrade:
		return "upgrade"
	case Rescore:
		return "rescore"
	case Move:
		return "move"
	}
	return "none"
}

// Why-not codes, in addition to scoring's reasons.
const (
	ReasonCoolingDown = "cooling_down"
	ReasonActiveAlert = "alert_open"
)

// Decision is the outcome of Decide.
type Decision struct {
	Action Action
	// Reason says why nothing is sent (Action None).
	Reason string
	// Alert is the new alert (Create) or the active alert with its new
	// tier, score and explanation (Upgrade).
	Alert *Alert
	// FromTier and FromScore are the active alert's before an Upgrade,
	// Rescore or Move.
	FromTier  string
	FromScore int
	// From is the alert a Move closes.
	From *Alert
}

// Decide applies the re-alert rules to a fresh score. active is the
// account's open or claimed alert, last its most recent alert of any state;
// either may be nil. It is pure: the store calls it under the account's lock.
//
//   - An account that is not alertable (gates, threshold, recency,
//     suppression, disqualification) or whose tier does not notify never
//     raises an alert; an active alert it already has still follows its
//     score (a Rescore), so the message never shows a score the account
//     has left behind.
//   - With an active alert, a hand-raise on an open lower-tier alert is a
//     Move, a higher tier an Upgrade (the alert keeps its channel and SLA
//     clock), a lower tier or ±MaterialChange points a Rescore.
//   - Otherwise it alerts, unless its last alert is younger than
//     realert_after and the new tier is not higher than that alert's.
func Decide(m *model.Model, res *scoring.Result, active, last *Alert, now time.Time) Decision {
	if !notifies(res) {
		if d, ok := rescore(res, active); ok {
			return d
		}
		reason := scoring.ReasonBelowThreshold
		if len(res.Reasons) > 0 {
			reason = res.Reasons[0].Code
		}
		return Decision{Reason: reason}
	}
	if active != nil {
		switch {
		case res.Tier == model.TierHandRaiser && active.Tier != model.TierHandRaiser && active.State == StateOpen:
			// Nobody works the alert yet: it goes where hand-raisers go,
			// with that route's owner and SLA.
			moved := newAlert(res, now)
			moved.MovedFrom = active.ID
			return Decision{Action: Move, Alert: moved, From: active, FromTier: active.Tier, FromScore: active.Score}
		case m.TierRank(res.Tier) < m.TierRank(active.Tier):
			d := following(res, active)
			d.Action = Upgrade
			return d
		}
		if d, ok := rescore(res, active); ok {
			return d
		}
		return Decision{Reason: ReasonActiveAlert}
	}
	if last != nil && now.Sub(last.CreatedAt) < m.RealertAfter && m.TierRank(res.Tier) >= m.TierRank(last.Tier) {
		return Decision{Reason: ReasonCoolingDown}
	}
	return Decision{Action: Create, Alert: newAlert(res, now)}
}

// notifies reports whether res can raise an alert: alertable, on a route
// that notifies.
func notifies(res *scoring.Result) bool {
	return res.Alertable && res.Route != nil && res.Route.Notify
}

// rescore is the Rescore of active (nil: none) when res moved materially
// from it: another tier, or MaterialChange points.
func rescore(res *scoring.Result, active *Alert) (Decision, bool) {
	if active == nil {
		return Decision{}, false
	}
	tier := res.Tier
	if tier == "" {
		// Below every tier: the alert keeps its tier's name and shows the
		// score the account has now.
		tier = active.Tier
	}
	if tier == active.Tier && abs(res.Score-active.Score) < MaterialChange {
		return Decision{}, false
	}
	d := following(res, active)
	d.Alert.Tier, d.Action = tier, Rescore
	return d, true
}

// following is active brought to res: its tier, score and explanation,
// same channel and clock.
func following(res *scoring.Result, active *Alert) Decision {
	up := *active
	up.Tier, up.Score, up.Segment = res.Tier, res.Score, res.Segment
	up.Explanation = *res
	up.ModelVersion = res.ModelVersion
	return Decision{Alert: &up, FromTier: active.Tier, FromScore: active.Score}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// newAlert is a fresh open alert on res's route.
func newAlert(res *scoring.Result, now time.Time) *Alert {
	r := res.Route
	return &Alert{
		ID:           uuid.New(),
		AccountID:    res.AccountID,
		Tier:         res.Tier,
		Segment:      res.Segment,
		Score:        res.Score,
		AlertScore:   res.Score,
		Mention:      r.Mention,
		Channel:      r.Channel,
		OwnerRole:    r.Owner,
		SLA:          r.SLA,
		ModelVersion: res.ModelVersion,
		Explanation:  *res,
		State:        StateOpen,
		CreatedAt:    now,
		Delivery:     DeliveryPending,
	}
}

// ClockStart is when the alert's SLA clock starts if it is posted at
// posted: the post, or the hand-raise that moved it here if that came
// first.
func (a *Alert) ClockStart(posted time.Time) time.Time {
	if !a.ClockFrom.IsZero() && a.ClockFrom.Before(posted) {
		return a.ClockFrom
	}
	return posted
}

// CoolingDownUntil is when an account whose last alert is last may alert
// again at the same tier.
func CoolingDownUntil(m *model.Model, last *Alert) time.Time {
	if last == nil {
		return time.Time{}
	}
	return last.CreatedAt.Add(m.RealertAfter)
}

// Describe is a one-line summary for logs and lookups.
func (a *Alert) Describe() string {
	return fmt.Sprintf("%s alert for %s (%s, score %d) in %s: %s", a.Tier, a.AccountID, a.Segment, a.Score, a.Channel, a.State)
}
