package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/failpoint"
)

// DueNudges marks up to limit open, unclaimed, posted alerts whose warn
// point has passed at now and were never nudged, and queues each one's
// nudge as a reply in its thread and a message update (the message shows
// the reminder), in one transaction. The rows are taken
// with FOR UPDATE SKIP LOCKED and the nudged_at IS NULL check is
// re-evaluated under the lock, so each alert is nudged exactly once
// however many sweepers run, and a sweep after downtime catches up on
// everything due by now. The candidates are a MATERIALIZED CTE, not an
// IN (subquery): a subquery the planner rescans can pick a different
// LIMIT set each time and take more than limit rows.
func (s *Store) DueNudges(ctx context.Context, now time.Time, limit int, note func(*alerting.Alert) *alerting.Note) ([]*alerting.Alert, error) {
	out, err := s.sweep(ctx, `
		WITH due AS MATERIALIZED (
			SELECT id AS due_id FROM alerts
			WHERE state = 'open' AND nudged_at IS NULL AND warn_at <= $1 AND message_ts IS NOT NULL
			ORDER BY warn_at, id LIMIT $2
			FOR UPDATE SKIP LOCKED)
		UPDATE alerts SET nudged_at = $1, updated_at = now()
		FROM due WHERE id = due_id AND state = 'open' AND nudged_at IS NULL
		RETURNING `+alertColumns, now, limit,
		func(tx pgx.Tx, a *alerting.Alert) error {
			// The message of an open alert shows that the reminder went out.
			if err := queueUpdate(ctx, tx, a.ID, a.Channel, now); err != nil {
				return err
			}
			if n := note(a); n != nil {
				if err := queueNote(ctx, tx, a.ID, a.Channel, n, now); err != nil {
					return err
				}
			}
			return auditAt(ctx, tx, a.ID, "pqlbot", "nudged", map[string]any{"warn_at": a.WarnAt, "due_at": a.DueAt}, now)
		})
	if err != nil {
		return nil, fmt.Errorf("due nudges: %w", err)
	}
	return out, nil
}

// DueBreaches marks up to limit posted alerts that are open or claimed (no
// contact) past their deadline at now and not yet recorded as breached,
// queues a message update (the message shows the breach) and the
// escalation to escalationChannel (if set), in one transaction; exactly
// once per alert, like DueNudges. Breaches due in the same minute share
// one escalation post (escalate).
func (s *Store) DueBreaches(ctx context.Context, now time.Time, limit int, escalationChannel string) ([]*alerting.Alert, error) {
	out, err := s.sweep(ctx, `
		WITH due AS MATERIALIZED (
			SELECT id AS due_id FROM alerts
			WHERE state IN ('open', 'claimed') AND breached_at IS NULL AND due_at <= $1 AND message_ts IS NOT NULL
			ORDER BY due_at, id LIMIT $2
			FOR UPDATE SKIP LOCKED)
		UPDATE alerts SET breached_at = $1, updated_at = now()
		FROM due WHERE id = due_id AND state IN ('open', 'claimed') AND breached_at IS NULL
		RETURNING `+alertColumns, now, limit,
		func(tx pgx.Tx, a *alerting.Alert) error {
			if err := queueUpdate(ctx, tx, a.ID, a.Channel, now); err != nil {
				return err
			}
			detail := map[string]any{"due_at": a.DueAt, "state": string(a.State), "claimed_by": a.ClaimedBy}
			if escalationChannel != "" {
				if err := escalate(ctx, tx, a, escalationChannel, now); err != nil {
					return err
				}
				detail["escalation_channel"] = escalationChannel
			}
			return auditAt(ctx, tx, a.ID, "pqlbot", "breached", detail, now)
		})
	if err != nil {
		return nil, fmt.Errorf("due breaches: %w", err)
	}
	return out, nil
}

// sweep runs one marking UPDATE ... RETURNING and then each for every
// alert taken, all in one transaction: either the mark and the queued
// Slack work are both committed, or neither is.
func (s *Store) sweep(ctx context.Context, update string, now time.Time, limit int, each func(pgx.Tx, *alerting.Alert) error) ([]*alerting.Alert, error) {
	var out []*alerting.Alert
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, update, now, limit)
		if err != nil {
			return err
		}
		taken, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*alerting.Alert, error) { return scanAlert(r) })
		if err != nil {
			return err
		}
		if len(taken) > 0 {
			// The crash test freezes a sweeper here, holding the rows.
			failpoint.Pause("sla-swept")
		}
		// In due order, as every sweeper does: escalations of several
		// minutes are then locked in one order, never crosswise.
		slices.SortFunc(taken, func(a, b *alerting.Alert) int {
			return cmp.Or(a.DueAt.Compare(b.DueAt), strings.Compare(a.ID.String(), b.ID.String()))
		})
		for _, a := range taken {
			if err := each(tx, a); err != nil {
				return fmt.Errorf("alert %s: %w", a.ID, err)
			}
		}
		out = taken
		return nil
	})
	return out, err
}

// jobBody is an outbox job's body: a reply's note. Text, Blocks and
// Broadcast are a reply queued already rendered by an older build.
type jobBody struct {
	Note      *alerting.Note  `json:"note,omitempty"`
	Text      string          `json:"text,omitempty"`
	Blocks    json.RawMessage `json:"blocks,omitempty"`
	Broadcast bool            `json:"broadcast,omitempty"`
}

// queueNote queues a reply in an alert's thread; it is rendered when it is
// delivered.
func queueNote(ctx context.Context, tx pgx.Tx, alertID uuid.UUID, channel string, n *alerting.Note, now time.Time) error {
	body, err := json.Marshal(jobBody{Note: n})
	if err != nil {
		return fmt.Errorf("encode %s note: %w", n.Kind, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO slack_outbox (alert_id, kind, channel, body, not_before) VALUES ($1, 'reply', $2, $3, LEAST($4::timestamptz, now()))`,
		alertID, channel, body, now); err != nil {
		return fmt.Errorf("queue %s note: %w", n.Kind, err)
	}
	return nil
}
