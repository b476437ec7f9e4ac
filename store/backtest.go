package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pqlbot/pqlbot/internal/backtest"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// replayBatch is how many accounts one round of backtest reads covers:
// large enough that the per-query cost vanishes, small enough that a batch
// of history stays a few megabytes.
const replayBatch = 2000

// ReplayAccounts streams, in batches ordered by account id, every account
// seen before q.Until with its history before q.Until (backtest.History):
// the daily roll-ups (only the series q names keep their buckets, but every
// day with activity counts for recency), active users when q.Users, the
// property-filtered series of q.Filters counted from the raw events, the
// group calls in time order, and the Not a fit reasons given on its alerts.
// Each batch is one pipelined round trip.
func (s *Store) ReplayAccounts(ctx context.Context, q backtest.Query, fn func([]backtest.Account) error) error {
	until := utcDay(q.Until)
	// Series travel as their position in this list (1-based, 0 for a
	// series no model reads), so a row carries no names.
	keys := make([]string, len(q.Series))
	for i, sr := range q.Series {
		keys[i] = sr.Kind + "/" + sr.Name
	}
	after := ""
	for {
		batch, err := s.replayBatch(ctx, q, keys, until, after)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		after = batch[len(batch)-1].ID
		if err := fn(batch); err != nil {
			return err
		}
	}
}

func (s *Store) replayBatch(ctx context.Context, q backtest.Query, keys []string, until time.Time, after string) ([]backtest.Account, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.account_id, coalesce(a.name, ''), coalesce(a.domain, ''), a.traits,
		       (SELECT u.email FROM account_users au JOIN users u ON u.user_id = au.user_id
		         WHERE au.account_id = a.account_id AND u.email LIKE '%_@_%'
		         ORDER BY au.linked_at, au.user_id LIMIT 1)
		FROM accounts a
		WHERE a.account_id > $1 AND a.first_event_at < $2
		ORDER BY a.account_id LIMIT $3`, after, until, replayBatch)
	if err != nil {
		return nil, fmt.Errorf("replay accounts: %w", err)
	}
	var out []backtest.Account
	index := map[string]int{}
	for rows.Next() {
		var a backtest.Account
		var traits []byte
		var email *string
		if err := rows.Scan(&a.ID, &a.Name, &a.Domain, &traits, &email); err != nil {
			rows.Close()
			return nil, fmt.Errorf("replay accounts: %w", err)
		}
		if len(traits) > 0 {
			if err := json.Unmarshal(traits, &a.Traits); err != nil {
				rows.Close()
				return nil, fmt.Errorf("replay accounts: account %s traits: %w", a.ID, err)
			}
		}
		if a.Traits == nil {
			a.Traits = map[string]any{}
		}
		// The same derived email_domain as live facts (readAccounts).
		if v, ok := a.Traits["email_domain"].(string); (!ok || strings.TrimSpace(v) == "") && email != nil {
			if _, dom, ok := strings.Cut(*email, "@"); ok && dom != "" {
				a.Traits["email_domain"] = strings.ToLower(strings.TrimSpace(dom))
			}
		}
		index[a.ID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("replay accounts: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	ids := make([]string, len(out))
	for i, a := range out {
		ids[i] = a.ID
	}

	// days finds (or adds) an account's Day; rows arrive ordered by day,
	// so the day is usually the last one.
	dayOf := func(a *backtest.Account, day time.Time) *backtest.Day {
		for i := len(a.Days) - 1; i >= 0; i-- {
			switch d := a.Days[i].Day; {
			case d.Equal(day):
				return &a.Days[i]
			case d.Before(day):
				a.Days = append(a.Days, backtest.Day{})
				copy(a.Days[i+2:], a.Days[i+1:])
				a.Days[i+1] = backtest.Day{Day: day}
				return &a.Days[i+1]
			}
		}
		a.Days = append([]backtest.Day{{Day: day}}, a.Days...)
		return &a.Days[0]
	}

	b := &pgx.Batch{}
	b.Queue(`
		SELECT account_id, day, coalesce(array_position($3::text[], kind || '/' || name), 0), n,
		       CASE WHEN sums <> '{}' AND array_position($3::text[], kind || '/' || name) IS NOT NULL THEN sums END
		FROM account_daily WHERE account_id = ANY($1) AND day < $2::date
		ORDER BY account_id, day`, ids, until, keys)
	if q.Users {
		b.Queue(`
			SELECT account_id, day, user_id FROM account_daily_users
			WHERE account_id = ANY($1) AND day < $2::date ORDER BY account_id, day`, ids, until)
	}
	b.Queue(`
		SELECT account_id, ts, traits FROM events
		WHERE account_id = ANY($1) AND type = 'group' AND ts < $2
		ORDER BY account_id, ts, id`, ids, until)
	b.Queue(`
		SELECT account_id, close_reason FROM alerts
		WHERE account_id = ANY($1) AND close_reason IS NOT NULL AND close_reason <> 'delivery_failed'
		  AND closed_by IS NOT NULL AND closed_at < $2
		ORDER BY account_id, closed_at`, ids, until)
	for _, f := range q.Filters {
		where, err := json.Marshal(f.Where)
		if err != nil {
			return nil, fmt.Errorf("replay accounts: filter %q: %w", f.Signal, err)
		}
		types := []string{"track"}
		if f.Kind == "page" {
			types = []string{"page", "screen"}
		}
		b.Queue(`
			SELECT account_id, (ts AT TIME ZONE 'UTC')::date AS day, count(*),
			       sum(CASE WHEN jsonb_typeof(properties -> $5::text) = 'number' THEN (properties ->> $5::text)::float8 END)
			FROM events
			WHERE account_id = ANY($1) AND name = $2 AND type = ANY($3) AND ts < $6 AND properties @> $4::jsonb
			GROUP BY 1, 2 ORDER BY 1, 2`,
			ids, f.Name, types, string(where), f.Sum, until)
	}

	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	read := func(what string, scan func(pgx.Rows) error) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("replay accounts: %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("replay accounts: %s: %w", what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("replay accounts: %s: %w", what, err)
		}
		return nil
	}
	var acct string
	// Rows come ordered by account: find the account once per run of rows,
	// without a string per row.
	var cur *backtest.Account
	accountOf := func(id pgtype.DriverBytes) *backtest.Account {
		if cur == nil || cur.ID != string(id) {
			cur = &out[index[string(id)]]
		}
		return cur
	}
	// Scan targets live outside the per-row functions: each would
	// otherwise escape to the heap once per row.
	var (
		id   pgtype.DriverBytes
		day  time.Time
		k    int32
		n    int64
		sums []byte
	)
	err = read("daily roll-ups", func(rows pgx.Rows) error {
		if err := rows.Scan(&id, &day, &k, &n, &sums); err != nil {
			return err
		}
		a := accountOf(id)
		d := dayOf(a, day)
		if k == 0 {
			return nil // a day with activity, for recency, but no series the models read
		}
		sr := q.Series[k-1]
		bk := scoring.Bucket{Day: day, Kind: sr.Kind, Name: sr.Name, Count: n}
		if len(sums) > 0 {
			if err := json.Unmarshal(sums, &bk.Sums); err != nil {
				return fmt.Errorf("account %s sums: %w", a.ID, err)
			}
		}
		d.Buckets = append(d.Buckets, bk)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cur = nil
	if q.Users {
		// An account has a handful of users on many days: one string per
		// user, not per row.
		var userOf *backtest.Account
		var names []string
		var raw pgtype.DriverBytes
		err = read("active users", func(rows pgx.Rows) error {
			if err := rows.Scan(&id, &day, &raw); err != nil {
				return err
			}
			a := accountOf(id)
			if a != userOf {
				userOf, names = a, names[:0]
			}
			k := -1
			for i, n := range names {
				if n == string(raw) { // compared without a copy
					k = i
					break
				}
			}
			if k < 0 {
				k = len(names)
				names = append(names, string(raw))
			}
			user := names[k]
			d := dayOf(a, day)
			d.Users = append(d.Users, user)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err = read("group calls", func(rows pgx.Rows) error {
		var c backtest.TraitChange
		var traits []byte
		if err := rows.Scan(&acct, &c.At, &traits); err != nil {
			return err
		}
		if len(traits) > 0 && string(traits) != "null" {
			if err := json.Unmarshal(traits, &c.Traits); err != nil {
				return fmt.Errorf("account %s group traits: %w", acct, err)
			}
		}
		c.At = c.At.UTC()
		a := &out[index[acct]]
		a.TraitChanges = append(a.TraitChanges, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = read("not a fit reasons", func(rows pgx.Rows) error {
		var reason string
		if err := rows.Scan(&acct, &reason); err != nil {
			return err
		}
		a := &out[index[acct]]
		a.NotFit = append(a.NotFit, reason)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range q.Filters {
		err = read("signal "+f.Signal, func(rows pgx.Rows) error {
			bk := scoring.Bucket{Kind: f.Kind, Name: f.Name}
			var sum *float64
			if err := rows.Scan(&acct, &bk.Day, &bk.Count, &sum); err != nil {
				return err
			}
			if f.Sum != "" && sum != nil {
				bk.Sums = map[string]float64{f.Sum: *sum}
			}
			d := dayOf(&out[index[acct]], bk.Day)
			d.Filtered = append(d.Filtered, backtest.Filtered{Signal: f.Signal, Bucket: bk})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("replay accounts: %w", err)
	}
	return out, nil
}

// BacktestHistory is the store as a backtest reads it (backtest.History):
// account history from ReplayAccounts, outcomes from the outcomes table.
type BacktestHistory struct{ *Store }

// Outcomes implements backtest.History: the outcomes matched to an
// account, dated in [from, to).
func (h BacktestHistory) Outcomes(ctx context.Context, from, to time.Time) ([]backtest.Outcome, error) {
	os, err := h.Store.Outcomes(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]backtest.Outcome, len(os))
	for i, o := range os {
		out[i] = backtest.Outcome{AccountID: o.AccountID, Kind: string(o.Kind), At: o.At}
	}
	return out, nil
}

// UnmatchedOutcomes implements backtest.History: imported outcomes whose
// account is not known.
func (h BacktestHistory) UnmatchedOutcomes(ctx context.Context) (int, error) {
	os, err := h.Store.UnmatchedOutcomes(ctx)
	return len(os), err
}
