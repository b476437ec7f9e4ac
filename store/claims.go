package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/alerting"
)

// ClaimAlert makes user the owner of an open alert. The first click wins:
// concurrent claims serialise on the row and every later UPDATE finds the
// alert no longer open. A repeated claim by the owner is Unchanged; any
// other refusal is a *alerting.ConflictError, returned with the alert.
func (s *Store) ClaimAlert(ctx context.Context, id uuid.UUID, user string, now time.Time) (*alerting.Alert, alerting.Outcome, error) {
	return s.claim(ctx, id, user, "", now)
}

// AssignAlert claims an open alert on assignee's behalf, by (a manager in
// the App Home): the same first-click-wins update as ClaimAlert, with the
// assigner in the audit trail.
func (s *Store) AssignAlert(ctx context.Context, id uuid.UUID, assignee, by string, now time.Time) (*alerting.Alert, alerting.Outcome, error) {
	return s.claim(ctx, id, assignee, by, now)
}

func (s *Store) claim(ctx context.Context, id uuid.UUID, user, by string, now time.Time) (*alerting.Alert, alerting.Outcome, error) {
	var details map[string]any
	if by != "" && by != user {
		details = map[string]any{"assigned_by": by}
	}
	a, out, err := s.act(ctx, alerting.ActionClaim, id, user, "", now, `
		UPDATE alerts SET state = 'claimed', claimed_by = $2, claimed_at = $3, updated_at = now()
		WHERE id = $1 AND state = 'open'
		RETURNING `+alertColumns, []any{id, user, now},
		func(tx pgx.Tx, a *alerting.Alert) error {
			return auditAt(ctx, tx, a.ID, user, "claimed", details, now)
		})
	if err != nil {
		return a, out, fmt.Errorf("claim alert %s: %w", id, err)
	}
	return a, out, nil
}

// ReleaseAlert hands a claimed alert back: open again, no owner. Only the
// owner may release; releasing an alert that is already open is Unchanged.
func (s *Store) ReleaseAlert(ctx context.Context, id uuid.UUID, user string, now time.Time) (*alerting.Alert, alerting.Outcome, error) {
	a, out, err := s.act(ctx, alerting.ActionRelease, id, user, "", now, `
		UPDATE alerts SET state = 'open', claimed_by = NULL, claimed_at = NULL, updated_at = now()
		WHERE id = $1 AND state = 'claimed' AND claimed_by = $2
		RETURNING `+alertColumns, []any{id, user},
		func(tx pgx.Tx, a *alerting.Alert) error {
			return auditAt(ctx, tx, a.ID, user, "released", nil, now)
		})
	if err != nil {
		return a, out, fmt.Errorf("release alert %s: %w", id, err)
	}
	return a, out, nil
}

// MarkContacted records the owner's first touch. An open alert (released
// while the clicker's message was stale) is claimed and contacted by the
// clicker in the same statement. Others are refused with the owner's name.
func (s *Store) MarkContacted(ctx context.Context, id uuid.UUID, user string, now time.Time) (*alerting.Alert, alerting.Outcome, error) {
	a, out, err := s.act(ctx, alerting.ActionContacted, id, user, "", now, `
		UPDATE alerts SET state = 'contacted', contacted_by = $2, contacted_at = $3,
			claimed_by = coalesce(claimed_by, $2), claimed_at = coalesce(claimed_at, $3), updated_at = now()
		WHERE id = $1 AND (state = 'open' OR (state = 'claimed' AND claimed_by = $2))
		RETURNING `+alertColumns, []any{id, user, now},
		func(tx pgx.Tx, a *alerting.Alert) error {
			return auditAt(ctx, tx, a.ID, user, "contacted", map[string]any{
				"claimed_at": a.ClaimedAt, "due_at": a.DueAt, "within_sla": a.DueAt.IsZero() || !a.ContactedAt.After(a.DueAt),
			}, now)
		})
	if err != nil {
		return a, out, fmt.Errorf("mark alert %s contacted: %w", id, err)
	}
	return a, out, nil
}

// CloseNotFit closes an open alert (or one user claimed) as not a fit,
// disqualifies its account until now+disqualifiedFor (never shortening a
// longer disqualification) and queues the account for re-scoring, so
// lookups say why it no longer alerts. Choosing the same reason again is
// Unchanged.
func (s *Store) CloseNotFit(ctx context.Context, id uuid.UUID, user, reason string, now time.Time, disqualifiedFor time.Duration) (*alerting.Alert, alerting.Outcome, error) {
	until := now.Add(disqualifiedFor)
	a, out, err := s.act(ctx, alerting.ActionNotFit, id, user, reason, now, `
		UPDATE alerts SET state = 'closed', closed_by = $2, closed_at = $3, close_reason = $4, updated_at = now()
		WHERE id = $1 AND (state = 'open' OR (state = 'claimed' AND claimed_by = $2))
		RETURNING `+alertColumns, []any{id, user, now, reason},
		func(tx pgx.Tx, a *alerting.Alert) error {
			// An upsert, so the disqualification holds even for an account
			// whose row is not there (yet): it must never be lost.
			if _, err := tx.Exec(ctx, `
				INSERT INTO accounts (account_id, disqualified_until) VALUES ($1, $2)
				ON CONFLICT (account_id) DO UPDATE
				SET disqualified_until = GREATEST(coalesce(accounts.disqualified_until, $2), $2)`, a.AccountID, until); err != nil {
				return fmt.Errorf("disqualify account %s: %w", a.AccountID, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO rescore_queue (account_id) VALUES ($1) `+requeueOnConflict, a.AccountID); err != nil {
				return fmt.Errorf("queue rescore of %s: %w", a.AccountID, err)
			}
			return auditAt(ctx, tx, a.ID, user, "closed_not_fit", map[string]any{"reason": reason, "disqualified_until": until}, now)
		})
	if err != nil {
		return a, out, fmt.Errorf("close alert %s as not a fit: %w", id, err)
	}
	return a, out, nil
}

// act runs one rep action in a transaction. update is a conditional UPDATE
// ... RETURNING alertColumns that matches only when the action applies, so
// the race is decided by the row lock and PostgreSQL's re-check of the
// WHERE clause. On a match, after records the change and a message update
// is queued. On no match the alert is read under lock and
// alerting.Refusal says whether it is a no-op or a conflict; if the alert
// moved back into a state the action applies to (a release between the
// two statements), the update runs again under that lock.
func (s *Store) act(ctx context.Context, kind alerting.ActionKind, id uuid.UUID, user, reason string, now time.Time,
	update string, args []any, after func(pgx.Tx, *alerting.Alert) error) (*alerting.Alert, alerting.Outcome, error) {
	var a *alerting.Alert
	var out alerting.Outcome
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for range 2 {
			var err error
			a, err = scanAlert(tx.QueryRow(ctx, update, args...))
			if err == nil {
				out = alerting.Changed
				if err := queueUpdate(ctx, tx, a.ID, a.Channel, now); err != nil {
					return err
				}
				if !a.BreachedAt.IsZero() {
					if err := queueEscalationUpdate(ctx, tx, a.ID, now); err != nil {
						return err
					}
				}
				return after(tx, a)
			}
			if !errors.Is(err, alerting.ErrNotFound) {
				return err
			}
			a, err = scanAlert(tx.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1 FOR UPDATE`, id))
			if err != nil {
				a = nil
				return err
			}
			o, err := alerting.Refusal(kind, a, user, reason)
			if err != nil || o != 0 {
				out = o
				return err
			}
		}
		return fmt.Errorf("alert %s: state %s changed twice during %s", id, a.State, kind)
	})
	if err != nil {
		return a, 0, err
	}
	return a, out, nil
}

// auditAt is audit with the time given by the caller's clock, so the
// audit trail agrees with the claimed_at, contacted_at and closed_at it
// records.
func auditAt(ctx context.Context, tx pgx.Tx, alertID uuid.UUID, actor, action string, detail map[string]any, at time.Time) error {
	var b []byte
	if detail != nil {
		b, _ = json.Marshal(detail)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO alert_audit (alert_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5)`, alertID, actor, action, b, at); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// AuditEntry is one row of an alert's audit trail.
type AuditEntry struct {
	Actor  string
	Action string
	Detail json.RawMessage
	At     time.Time
}

// AlertAudit returns an alert's audit trail, oldest first.
func (s *Store) AlertAudit(ctx context.Context, id uuid.UUID) ([]AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT actor, action, coalesce(detail, 'null'), at FROM alert_audit WHERE alert_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("audit of alert %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.Actor, &e.Action, &e.Detail, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit of alert %s: %w", id, err)
	}
	return out, nil
}
