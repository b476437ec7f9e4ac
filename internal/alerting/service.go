package alerting

import (
	"context"
	"log/slog"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// DecisionStore applies a decision atomically with the account's alerts.
type DecisionStore interface {
	// HasActiveAlert reports whether the account has an open or claimed
	// alert: a score that cannot alert matters only then.
	HasActiveAlert(ctx context.Context, accountID string) (bool, error)
	// The thread note of an Upgrade or Rescore is ChangeNote(decision, now).
	DecideAlert(ctx context.Context, accountID string, now time.Time, decide func(active, last *Alert) Decision) (Decision, error)
}

// AlertObserver counts decisions for metrics.
type AlertObserver interface {
	AlertDecided(action, tier string)
}

// Service turns fresh scores into alerts.
type Service struct {
	Model    *model.Model
	Store    DecisionStore
	Log      *slog.Logger
	Now      func() time.Time
	Observer AlertObserver
	// Wake is called after a decision queued Slack work (the dispatcher's
	// Wake), so delivery does not wait for the next poll.
	Wake func()
}

// Evaluate decides what a new score means for the account's alerts and
// queues the Slack work in the same transaction.
func (s *Service) Evaluate(ctx context.Context, res *scoring.Result) (Decision, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	if !notifies(res) {
		// No alert can come of it; an active alert still follows the
		// score. Most accounts have none, and one indexed read spares
		// them the account's transaction.
		active, err := s.Store.HasActiveAlert(ctx, res.AccountID)
		if err != nil {
			return Decision{}, err
		}
		if !active {
			return Decide(s.Model, res, nil, nil, now), nil
		}
	}
	d, err := s.Store.DecideAlert(ctx, res.AccountID, now, func(active, last *Alert) Decision {
		return Decide(s.Model, res, active, last, now)
	})
	if err != nil {
		return d, err
	}
	if d.Action != None {
		s.Log.Info("alert decision", "action", d.Action.String(), "account_id", res.AccountID, "tier", d.Alert.Tier, "score", d.Alert.Score, "alert_id", d.Alert.ID.String())
		if s.Observer != nil {
			s.Observer.AlertDecided(d.Action.String(), d.Alert.Tier)
		}
		if s.Wake != nil {
			s.Wake()
		}
	}
	return d, nil
}
