package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AlertHistory is the past the demo gives one alert (cmd/pqldemo): when it
// was posted and what its rep did. Only the demo writes it.
type AlertHistory struct {
	AccountID string
	PostedAt  time.Time
	Rep       string
	// ClaimedAt is set when the rep claimed it; ContactedAt when they
	// marked it contacted; NotFit closes it as not a fit at ClaimedAt.
	ClaimedAt   time.Time
	ContactedAt time.Time
	NotFit      string
}

// AlertedAccounts returns the accounts with an alert, and how many alerts
// there are (the demo waits for the count to settle).
func (s *Store) AlertedAccounts(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT account_id FROM alerts ORDER BY account_id`)
	if err != nil {
		return nil, fmt.Errorf("alerted accounts: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("alerted accounts: %w", err)
	}
	return ids, nil
}

// RewriteAlertHistory is for the demo only: it moves each account's latest
// alert back to h.PostedAt (its deadline, nudge and escalation with it, so
// the SLA sweeper has nothing left to do) and records what the rep did.
// Alerts pqlbot has not posted yet are left alone.
func (s *Store) RewriteAlertHistory(ctx context.Context, hs []AlertHistory, now time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, h := range hs {
			state := "open"
			var claimedBy, contactedBy, closedBy, reason *string
			var claimed, contacted, closed *time.Time
			if !h.ClaimedAt.IsZero() {
				state, claimedBy, claimed = "claimed", &h.Rep, &h.ClaimedAt
			}
			if !h.ContactedAt.IsZero() {
				state, contactedBy, contacted = "contacted", &h.Rep, &h.ContactedAt
			}
			if h.NotFit != "" {
				state, closedBy, closed, reason = "closed", &h.Rep, claimed, &h.NotFit
			}
			tag, err := tx.Exec(ctx, `
				WITH t AS (
					SELECT a.id, $2::timestamptz AS posted,
					       $2::timestamptz + make_interval(secs => a.sla_seconds) AS due,
					       $2::timestamptz + make_interval(secs => a.sla_seconds * 0.75) AS warn
					FROM alerts a
					WHERE a.id = (SELECT id FROM alerts WHERE account_id = $1 AND posted_at IS NOT NULL ORDER BY created_at DESC LIMIT 1)
				)
				UPDATE alerts a SET
					created_at = t.posted, posted_at = t.posted, due_at = t.due, warn_at = t.warn,
					nudged_at = CASE WHEN $3::timestamptz IS NULL AND t.warn < $11::timestamptz THEN t.warn END,
					breached_at = CASE WHEN ($5::timestamptz IS NULL OR $5::timestamptz > t.due) AND t.due < $11::timestamptz THEN t.due END,
					state = $4, claimed_by = $6, claimed_at = $3, contacted_by = $7, contacted_at = $5,
					closed_by = $8, closed_at = $9, close_reason = $10, updated_at = now()
				FROM t WHERE a.id = t.id`,
				h.AccountID, h.PostedAt, claimed, state, contacted, claimedBy, contactedBy, closedBy, closed, reason, now)
			if err != nil {
				return fmt.Errorf("rewrite alert history of %s: %w", h.AccountID, err)
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	return n, err
}
