package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/program"
)

// ProgramFacts reads what the program figures of [from, to) need, in one
// read-only snapshot: the alerts posted in it, their accounts' first wins
// and opportunities, the accounts first won in it with their last alert
// before the win, and how many accounts were first seen in it. notFit lists
// the close reasons that mean "Not a fit" (others, like delivery_failed,
// are not a rep's verdict).
func (s *Store) ProgramFacts(ctx context.Context, from, to time.Time, notFit []string) (program.Facts, error) {
	f := program.Facts{FirstWon: map[string]time.Time{}, Opportunities: map[string][]time.Time{}}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return f, fmt.Errorf("program facts: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only

	// One pass over the period's alerts (with each account's first
	// event, to tell new accounts): the alerts table is wide, so it is
	// read once and every other question is answered in Go or from the
	// much smaller outcomes table.
	rows, err := tx.Query(ctx, `
		SELECT a.account_id, a.tier, a.posted_at, a.contacted_at,
		       CASE WHEN a.state = 'closed' AND a.close_reason = ANY($3) THEN a.close_reason ELSE '' END,
		       acc.first_event_at
		FROM alerts a LEFT JOIN accounts acc ON acc.account_id = a.account_id
		WHERE a.posted_at >= $1 AND a.posted_at < $2`, from, to, notFit)
	if err != nil {
		return f, fmt.Errorf("program alerts: %w", err)
	}
	var (
		acct, kind, tier, reason string
		at, posted               time.Time
		contacted, first         *time.Time
	)
	alerted := map[string]bool{}
	_, err = pgx.ForEachRow(rows, []any{&acct, &tier, &posted, &contacted, &reason, &first}, func() error {
		a := program.Alert{AccountID: acct, Tier: tier, PostedAt: posted.UTC(), NotFitReason: reason}
		if contacted != nil {
			a.ContactedAt = contacted.UTC()
		}
		if first != nil {
			a.AccountFirstSeen = first.UTC()
		}
		f.Alerts = append(f.Alerts, a)
		alerted[acct] = true
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("program alerts: %w", err)
	}

	// Outcomes: each account's first win (whenever it was), and
	// opportunities and wins from the period's start on; kept for the
	// alerted accounts.
	rows, err = tx.Query(ctx, `
		SELECT account_id, kind, at, at = min(at) FILTER (WHERE kind = 'won') OVER (PARTITION BY account_id)
		FROM outcomes
		WHERE kind IN ('won', 'opportunity') AND account_id IS NOT NULL`)
	if err != nil {
		return f, fmt.Errorf("program outcomes: %w", err)
	}
	var firstWin *bool
	_, err = pgx.ForEachRow(rows, []any{&acct, &kind, &at, &firstWin}, func() error {
		if !alerted[acct] {
			return nil
		}
		at = at.UTC()
		if kind == "won" && firstWin != nil && *firstWin {
			f.FirstWon[acct] = at
		}
		if !at.Before(from) {
			f.Opportunities[acct] = append(f.Opportunities[acct], at)
		}
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("program outcomes: %w", err)
	}

	rows, err = tx.Query(ctx, `
		WITH w AS (
			SELECT account_id, min(at) AS won FROM outcomes
			WHERE kind = 'won' AND account_id IS NOT NULL
			GROUP BY account_id HAVING min(at) >= $1 AND min(at) < $2
		)
		SELECT w.account_id, w.won, acc.first_event_at,
		       (SELECT max(a.posted_at) FROM alerts a WHERE a.account_id = w.account_id AND a.posted_at <= w.won)
		FROM w LEFT JOIN accounts acc ON acc.account_id = w.account_id`, from, to)
	if err != nil {
		return f, fmt.Errorf("program wins: %w", err)
	}
	f.Won, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (program.WonAccount, error) {
		var w program.WonAccount
		var first, last *time.Time
		err := r.Scan(&w.AccountID, &w.WonAt, &first, &last)
		w.WonAt = w.WonAt.UTC()
		if first != nil {
			w.FirstSeen = first.UTC()
		}
		if last != nil {
			w.LastAlertBefore = last.UTC()
		}
		return w, err
	})
	if err != nil {
		return f, fmt.Errorf("program wins: %w", err)
	}

	if err := tx.QueryRow(ctx, `SELECT count(*) FROM accounts WHERE first_event_at >= $1 AND first_event_at < $2`, from, to).Scan(&f.NewAccounts); err != nil {
		return f, fmt.Errorf("program new accounts: %w", err)
	}
	return f, nil
}
