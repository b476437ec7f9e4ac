package alerting

import (
	"context"
	"log/slog"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

// SweepStore records nudges and breaches. Each method takes up to limit
// alerts that are due at now, marks them (nudged_at, breached_at) so no
// replica or later sweep takes them again, and queues their Slack work in
// the same transaction, returning the alerts it took. Catching up after
// downtime needs nothing special: "due" is everything due by now.
type SweepStore interface {
	// DueNudges takes open, unclaimed, posted alerts past their warn point
	// that were never nudged and queues the note that note returns (nil:
	// none) as a reply in the alert's thread.
	DueNudges(ctx context.Context, now time.Time, limit int, note func(*Alert) *Note) ([]*Alert, error)
	// DueBreaches takes open or claimed (not contacted), posted alerts past
	// their deadline whose breach is not recorded; the alert's message is
	// re-rendered to show the breach and, when escalationChannel is set,
	// the breach is escalated there.
	DueBreaches(ctx context.Context, now time.Time, limit int, escalationChannel string) ([]*Alert, error)
}

// SweepObserver counts what the sweeper did, for metrics.
type SweepObserver interface {
	Nudged()
	Breached()
}

// Sweeper runs the SLA clock's side effects: at sla_warn_at with nobody
// claimed, a nudge in the alert's thread; at the deadline without contact,
// the breach on the message and an escalation post to the model's
// escalation_channel. Any number of sweepers may run on one database: the
// store decides each nudge and breach once, in SQL.
type Sweeper struct {
	Store SweepStore
	Model *model.Model
	Log   *slog.Logger
	Now   func() time.Time
	// Interval between sweeps; the first sweep runs at start, which is what
	// catches up after downtime. Default 30 s.
	Interval time.Duration
	// Batch bounds the alerts taken per transaction; a sweep loops until
	// nothing is due. Default 100.
	Batch    int
	Observer SweepObserver
	// Wake is the dispatcher's Wake, so nudges and escalations go out now.
	Wake func()
}

// Run sweeps at start and then every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil && s.Log != nil {
			s.Log.Error("sla sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce records every nudge and breach due now and reports how many of
// each this sweeper recorded.
func (s *Sweeper) RunOnce(ctx context.Context) (nudges, breaches int, err error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	now = now.UTC()
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	batch := s.Batch
	if batch <= 0 {
		batch = 100
	}
	defer func() {
		if nudges+breaches > 0 && s.Wake != nil {
			s.Wake()
		}
	}()
	// Nudges first, so a sweep that catches up past both points leaves
	// the thread in the order things were due.
	for {
		as, err := s.Store.DueNudges(ctx, now, batch, func(*Alert) *Note { return NudgeNote(now) })
		if err != nil {
			return nudges, breaches, err
		}
		for _, a := range as {
			nudges++
			log.Info("sla nudge", "alert_id", a.ID.String(), "account_id", a.AccountID, "channel", a.Channel, "warn_at", a.WarnAt, "due_at", a.DueAt)
			if s.Observer != nil {
				s.Observer.Nudged()
			}
		}
		if len(as) < batch {
			break
		}
	}
	for {
		as, err := s.Store.DueBreaches(ctx, now, batch, s.Model.EscalationChannel)
		if err != nil {
			return nudges, breaches, err
		}
		for _, a := range as {
			breaches++
			log.Warn("sla breached", "alert_id", a.ID.String(), "account_id", a.AccountID, "channel", a.Channel,
				"state", string(a.State), "claimed_by", a.ClaimedBy, "due_at", a.DueAt, "escalation_channel", s.Model.EscalationChannel)
			if s.Observer != nil {
				s.Observer.Breached()
			}
		}
		if len(as) < batch {
			break
		}
	}
	return nudges, breaches, nil
}
