package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/sla"
)

// Errors a rep's action can meet. The store wraps them in a *ConflictError
// that names who holds the alert; transports map them to replies.
var (
	// ErrAlreadyClaimed: Claim on an alert another rep claimed first.
	ErrAlreadyClaimed = errors.New("alert already claimed")
	// ErrNotOwner: an owner-only action (Mark contacted, Release, Not a
	// fit on a claimed alert) by someone other than the claimant.
	ErrNotOwner = errors.New("not the alert's owner")
	// ErrClosed: the alert is already contacted or closed.
	ErrClosed = errors.New("alert already closed")
	// ErrInvalidAction: the click carried something pqlbot never sends (no
	// user, an unknown reason): a stale or forged payload.
	ErrInvalidAction = errors.New("invalid action")
)

// ConflictError is an action refused because of the alert's current
// state. Err is ErrAlreadyClaimed, ErrNotOwner or ErrClosed; Owner is the
// rep who holds the alert (or contacted or closed it), when there is one.
type ConflictError struct {
	Err   error
	State State
	Owner string
}

func (e *ConflictError) Error() string {
	if e.Owner == "" {
		return fmt.Sprintf("%v (%s)", e.Err, e.State)
	}
	return fmt.Sprintf("%v (%s by %s)", e.Err, e.State, e.Owner)
}

// Unwrap lets errors.Is match the sentinel.
func (e *ConflictError) Unwrap() error { return e.Err }

// Owner returns the rep a refused action names (see ConflictError), or "".
func Owner(err error) string {
	var ce *ConflictError
	if errors.As(err, &ce) {
		return ce.Owner
	}
	return ""
}

// Outcome says whether an action changed the alert.
type Outcome int

// Outcomes of an action that was not refused.
const (
	// Changed: the state changed, an audit row was written and a message
	// update queued.
	Changed Outcome = iota + 1
	// Unchanged: the alert already was in the requested state for this
	// rep (a repeated click); nothing was written.
	Unchanged
)

func (o Outcome) String() string {
	switch o {
	case Changed:
		return "changed"
	case Unchanged:
		return "unchanged"
	}
	return "none"
}

// ClaimStore applies reps' actions. Each method decides the race in one SQL
// statement and, when the state changes, writes an audit row and queues a
// message update in the same transaction. Refusals are *ConflictError
// (wrapped), returned together with the alert as it stands.
type ClaimStore interface {
	GetAlert(ctx context.Context, id uuid.UUID) (*Alert, error)
	ClaimAlert(ctx context.Context, id uuid.UUID, user string, now time.Time) (*Alert, Outcome, error)
	AssignAlert(ctx context.Context, id uuid.UUID, assignee, by string, now time.Time) (*Alert, Outcome, error)
	ReleaseAlert(ctx context.Context, id uuid.UUID, user string, now time.Time) (*Alert, Outcome, error)
	MarkContacted(ctx context.Context, id uuid.UUID, user string, now time.Time) (*Alert, Outcome, error)
	CloseNotFit(ctx context.Context, id uuid.UUID, user, reason string, now time.Time, disqualifiedFor time.Duration) (*Alert, Outcome, error)
}

// Alert transitions reported to an ActionObserver; they match the state
// label values of pqlbot_alerts_total.
const (
	TransitionClaimed   = "claimed"
	TransitionReleased  = "released"
	TransitionContacted = "contacted"
	TransitionClosed    = "closed"
)

// ActionObserver counts reps' actions for metrics. Only changes are
// reported, once, by the replica whose update made them.
type ActionObserver interface {
	AlertTransition(tier, transition string)
}

// Actions is what reps do to an alert from Slack: Claim, Release, Mark
// contacted and Not a fit. The message is never edited here: the store
// queues an update and the dispatcher re-renders the alert's current state.
type Actions struct {
	Store ClaimStore
	// Model gives disqualified_for and the business hours that time to
	// claim and time to contact are measured in.
	Model    *model.Model
	Log      *slog.Logger
	Now      func() time.Time
	Observer ActionObserver
	// Wake is the dispatcher's Wake, so the message update goes out now
	// rather than at the next poll.
	Wake func()
}

func (s *Actions) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Claim makes user the alert's owner if nobody is. A repeated click by the
// owner is a no-op; a click by anyone else is ErrAlreadyClaimed naming the
// owner.
func (s *Actions) Claim(ctx context.Context, id uuid.UUID, user string) (*Alert, error) {
	if user == "" {
		return nil, fmt.Errorf("claim alert %s: no user: %w", id, ErrInvalidAction)
	}
	a, out, err := s.Store.ClaimAlert(ctx, id, user, s.now())
	if err != nil {
		return a, err
	}
	if out == Changed {
		s.changed(a, TransitionClaimed, "time_to_claim", TimeToClaim(a, Hours(s.Model)).String())
	}
	return a, nil
}

// Assign claims the alert on assignee's behalf (the App Home's "Assign
// to…" picker, used by by): the same first-click-wins rule as Claim, so an
// alert someone claimed meanwhile stays theirs (ErrAlreadyClaimed naming
// them). The audit trail records who assigned it.
func (s *Actions) Assign(ctx context.Context, id uuid.UUID, assignee, by string) (*Alert, error) {
	if assignee == "" || by == "" {
		return nil, fmt.Errorf("assign alert %s: no assignee or assigner: %w", id, ErrInvalidAction)
	}
	a, out, err := s.Store.AssignAlert(ctx, id, assignee, by, s.now())
	if err != nil {
		return a, err
	}
	if out == Changed {
		s.changed(a, TransitionClaimed, "assigned_by", by, "time_to_claim", TimeToClaim(a, Hours(s.Model)).String())
	}
	return a, nil
}

// Release hands a claimed alert back to the channel; owner only.
func (s *Actions) Release(ctx context.Context, id uuid.UUID, user string) (*Alert, error) {
	if user == "" {
		return nil, fmt.Errorf("release alert %s: no user: %w", id, ErrInvalidAction)
	}
	a, out, err := s.Store.ReleaseAlert(ctx, id, user, s.now())
	if err != nil {
		return a, err
	}
	if out == Changed {
		s.changed(a, TransitionReleased)
	}
	return a, nil
}

// Contacted records the first touch; owner only. An alert nobody holds any
// more (released while the clicker's message was stale) is claimed and
// contacted in one step: the contact happened, and nobody else owns it.
func (s *Actions) Contacted(ctx context.Context, id uuid.UUID, user string) (*Alert, error) {
	if user == "" {
		return nil, fmt.Errorf("mark alert %s contacted: no user: %w", id, ErrInvalidAction)
	}
	a, out, err := s.Store.MarkContacted(ctx, id, user, s.now())
	if err != nil {
		return a, err
	}
	if out == Changed {
		s.changed(a, TransitionContacted, "time_to_contact", TimeToContact(a, Hours(s.Model)).String(), "within_sla", WithinSLA(a))
	}
	return a, nil
}

// NotFit checks that user may close the alert as not a fit and returns
// it: the transport then asks for a reason. The alert is only closed when a
// reason is chosen (ChooseReason), which decides any race again in SQL.
func (s *Actions) NotFit(ctx context.Context, id uuid.UUID, user string) (*Alert, error) {
	if user == "" {
		return nil, fmt.Errorf("not a fit on alert %s: no user: %w", id, ErrInvalidAction)
	}
	a, err := s.Store.GetAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := Refusal(ActionNotFit, a, user, ""); err != nil {
		return a, err
	}
	return a, nil
}

// NotFitClosed is what ChooseReason did: the alert closed as not a fit for
// Reason, its account silenced until SilencedUntil (zero when the model's
// disqualified_for is off).
type NotFitClosed struct {
	Alert         *Alert
	Reason        closereason.Reason
	SilencedUntil time.Time
}

// ChooseReason closes the alert as not a fit for reason and disqualifies
// the account for the model's disqualified_for. Choosing again after the
// alert closed with the same reason is a no-op.
func (s *Actions) ChooseReason(ctx context.Context, id uuid.UUID, user, reason string) (NotFitClosed, error) {
	r, ok := closereason.ParseNotFit(reason)
	if user == "" || !ok {
		return NotFitClosed{}, fmt.Errorf("not a fit on alert %s: user %q, reason %q: %w", id, user, reason, ErrInvalidAction)
	}
	a, out, err := s.Store.CloseNotFit(ctx, id, user, string(r), s.now(), s.Model.DisqualifiedFor)
	if err != nil {
		return NotFitClosed{Alert: a}, err
	}
	if out == Changed {
		s.changed(a, TransitionClosed, "reason", string(r))
	}
	c := NotFitClosed{Alert: a, Reason: r}
	if s.Model.DisqualifiedFor > 0 {
		c.SilencedUntil = a.ClosedAt.Add(s.Model.DisqualifiedFor)
	}
	return c, nil
}

// TimeToClaim is how long a claimed (or contacted) alert waited for its
// owner after it was posted, counted like its deadline: only inside
// business hours when hours is set. Zero before a claim.
func TimeToClaim(a *Alert, hours *sla.BusinessHours) time.Duration {
	if a.ClaimedAt.IsZero() || a.PostedAt.IsZero() {
		return 0
	}
	return sla.Elapsed(a.PostedAt, a.ClaimedAt, hours)
}

// TimeToContact is the response time: from the post to the first touch,
// counted like TimeToClaim. Zero before contact.
func TimeToContact(a *Alert, hours *sla.BusinessHours) time.Duration {
	if a.ContactedAt.IsZero() || a.PostedAt.IsZero() {
		return 0
	}
	return sla.Elapsed(a.PostedAt, a.ContactedAt, hours)
}

// WithinSLA reports whether a contacted alert was contacted by its
// deadline. The deadline already is in business hours, so comparing
// instants is enough.
func WithinSLA(a *Alert) bool {
	return !a.ContactedAt.IsZero() && (a.DueAt.IsZero() || !a.ContactedAt.After(a.DueAt))
}

// changed logs, counts and wakes the dispatcher after a state change.
func (s *Actions) changed(a *Alert, transition string, attrs ...any) {
	if s.Log != nil {
		args := append([]any{"alert_id", a.ID.String(), "account_id", a.AccountID, "tier", a.Tier, "state", string(a.State)}, attrs...)
		s.Log.Info("alert "+transition, args...)
	}
	if s.Observer != nil {
		s.Observer.AlertTransition(a.Tier, transition)
	}
	if s.Wake != nil {
		s.Wake()
	}
}

// ActionKind names a rep's action for Refusal.
type ActionKind string

// Rep actions.
const (
	ActionClaim     ActionKind = "claim"
	ActionRelease   ActionKind = "release"
	ActionContacted ActionKind = "contacted"
	ActionNotFit    ActionKind = "not_fit"
)

// Refusal explains, from the alert as it stands, why kind by user did not
// apply (the store's conditional UPDATE matched no row): Unchanged with no
// error when the alert already is where user wanted it (a repeated click),
// or a *ConflictError. It returns (0, nil) when the action does apply to
// the alert as it stands, which happens only when the alert changed
// between the store's update and its read; the store then tries again.
// reason matters only for ActionNotFit.
func Refusal(kind ActionKind, a *Alert, user, reason string) (Outcome, error) {
	conflict := func(err error, owner string) (Outcome, error) {
		return 0, &ConflictError{Err: err, State: a.State, Owner: owner}
	}
	switch a.State {
	case StateOpen:
		if kind == ActionRelease {
			return Unchanged, nil // someone (likely the clicker) released it already
		}
		return 0, nil
	case StateClaimed:
		switch {
		case kind == ActionClaim && a.ClaimedBy == user:
			return Unchanged, nil
		case kind == ActionClaim:
			return conflict(ErrAlreadyClaimed, a.ClaimedBy)
		case a.ClaimedBy != user:
			return conflict(ErrNotOwner, a.ClaimedBy)
		}
		return 0, nil
	case StateContacted:
		if kind == ActionContacted && a.ContactedBy == user {
			return Unchanged, nil
		}
		return conflict(ErrClosed, a.ContactedBy)
	default:
		if kind == ActionNotFit && a.ClosedBy == user && reason != "" && a.CloseReason == reason {
			return Unchanged, nil
		}
		return conflict(ErrClosed, a.ClosedBy)
	}
}
