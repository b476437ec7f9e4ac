package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// factsDB is what loading facts needs: the pool or a transaction.
type factsDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// LoadFacts loads what the scorer needs for each account in ids, as spec
// asks, with a handful of set-based queries sent in one round trip: the
// account row, the daily roll-ups and active users inside the windows (and
// the first days for velocity), and the property-filtered series from the
// raw events. Accounts that do not exist are absent from the map.
func (s *Store) LoadFacts(ctx context.Context, ids []string, spec model.FactsSpec, now time.Time) (map[string]*scoring.Facts, error) {
	return loadFacts(ctx, s.pool, ids, spec, now)
}

// utcDay is the UTC midnight of t, which pgx sends as that calendar date.
func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func loadFacts(ctx context.Context, db factsDB, ids []string, spec model.FactsSpec, now time.Time) (map[string]*scoring.Facts, error) {
	out := make(map[string]*scoring.Facts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	today := utcDay(now)
	b := &pgx.Batch{}

	// The account, and the email of its earliest-linked user for the
	// derived email_domain trait.
	b.Queue(`
		SELECT a.account_id, coalesce(a.name, ''), coalesce(a.domain, ''), a.traits,
		       a.first_event_at, a.last_event_at, a.disqualified_until,
		       (SELECT u.email FROM account_users au JOIN users u ON u.user_id = au.user_id
		         WHERE au.account_id = a.account_id AND u.email LIKE '%_@_%'
		         ORDER BY au.linked_at, au.user_id LIMIT 1)
		FROM accounts a WHERE a.account_id = ANY($1)`, ids)

	// Daily roll-ups of the series the model reads. A series row is wanted
	// when it is inside that series' window, or (for velocity) inside the
	// account's first VelocityDays days.
	if len(spec.Series) > 0 {
		kinds, names := make([]string, len(spec.Series)), make([]string, len(spec.Series))
		days, sums := make([]int32, len(spec.Series)), make([]bool, len(spec.Series))
		for i, sr := range spec.Series {
			kinds[i], names[i], days[i], sums[i] = sr.Kind, sr.Name, int32(sr.Days), sr.Sums
		}
		b.Queue(`
			SELECT d.account_id, d.day, d.kind, d.name, d.n, CASE WHEN s.sums AND d.sums <> '{}' THEN d.sums END
			FROM unnest($2::text[], $3::text[], $4::int[], $5::bool[]) AS s(kind, name, days, sums)
			JOIN account_daily d ON d.kind = s.kind AND d.name = s.name
			JOIN accounts a ON a.account_id = d.account_id
			WHERE d.account_id = ANY($1) AND d.day <= $6::date
			  AND (s.days = 0 OR d.day > $6::date - s.days
			       OR d.day < (a.first_event_at AT TIME ZONE 'UTC')::date + $7::int)`,
			ids, kinds, names, days, sums, today, int32(spec.VelocityDays))
	}

	// Distinct active users per day.
	b.Queue(`
		SELECT du.account_id, du.day, du.user_id
		FROM account_daily_users du JOIN accounts a ON a.account_id = du.account_id
		WHERE du.account_id = ANY($1) AND du.day <= $2::date
		  AND ($3::int = 0 OR du.day > $2::date - $3::int
		       OR du.day < (a.first_event_at AT TIME ZONE 'UTC')::date + $4::int)`,
		ids, today, int32(spec.UserDays), int32(spec.VelocityDays))

	// Signals with `where` count raw events by JSON containment, grouped
	// into UTC days like the roll-ups (events_account_name_ts narrows the
	// scan to the account and event name).
	for _, f := range spec.Filters {
		where, err := json.Marshal(f.Where)
		if err != nil {
			return nil, fmt.Errorf("load facts: filter %q: %w", f.Signal, err)
		}
		types := []string{"track"}
		if f.Kind == model.BucketPage {
			types = []string{"page", "screen"}
		}
		// Window bounds as instants (UTC midnights), so the session time
		// zone cannot shift them.
		var since *time.Time
		if f.Days > 0 {
			t := today.AddDate(0, 0, -(f.Days - 1))
			since = &t
		}
		b.Queue(`
			SELECT e.account_id, (e.ts AT TIME ZONE 'UTC')::date AS day, count(*),
			       sum(CASE WHEN jsonb_typeof(e.properties -> $7::text) = 'number' THEN (e.properties ->> $7::text)::float8 END)
			FROM events e JOIN accounts a ON a.account_id = e.account_id
			WHERE e.account_id = ANY($1) AND e.name = $2 AND e.type = ANY($3) AND e.properties @> $4::jsonb
			  AND e.ts < $5::timestamptz
			  AND ($6::timestamptz IS NULL OR e.ts >= $6::timestamptz
			       OR (e.ts AT TIME ZONE 'UTC')::date < (a.first_event_at AT TIME ZONE 'UTC')::date + $8::int)
			GROUP BY 1, 2`,
			ids, f.Name, types, string(where), today.AddDate(0, 0, 1), since, f.Sum, int32(spec.VelocityDays))
	}

	br := db.SendBatch(ctx, b)
	defer br.Close()

	if err := readAccounts(br, out); err != nil {
		return nil, fmt.Errorf("load facts: accounts: %w", err)
	}
	if len(spec.Series) > 0 {
		if err := readDaily(br, out); err != nil {
			return nil, fmt.Errorf("load facts: daily roll-ups: %w", err)
		}
	}
	if err := readUsers(br, out); err != nil {
		return nil, fmt.Errorf("load facts: active users: %w", err)
	}
	for _, f := range spec.Filters {
		if err := readFiltered(br, out, f); err != nil {
			return nil, fmt.Errorf("load facts: signal %q: %w", f.Signal, err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("load facts: %w", err)
	}
	return out, nil
}

func readAccounts(br pgx.BatchResults, out map[string]*scoring.Facts) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		f := &scoring.Facts{}
		var traits []byte
		var first, last, disq *time.Time
		var email *string
		if err := rows.Scan(&f.AccountID, &f.Name, &f.Domain, &traits, &first, &last, &disq, &email); err != nil {
			return err
		}
		if len(traits) > 0 {
			if err := json.Unmarshal(traits, &f.Traits); err != nil {
				return fmt.Errorf("account %s traits: %w", f.AccountID, err)
			}
		}
		if f.Traits == nil {
			f.Traits = map[string]any{}
		}
		// An email_domain trait sent on the group wins; otherwise derive
		// it from the earliest-linked user's email.
		if v, ok := f.Traits["email_domain"].(string); !ok || strings.TrimSpace(v) == "" {
			if email != nil {
				if _, dom, ok := strings.Cut(*email, "@"); ok && dom != "" {
					f.Traits["email_domain"] = strings.ToLower(strings.TrimSpace(dom))
				}
			}
		}
		if first != nil {
			f.FirstEventAt = first.UTC()
		}
		if last != nil {
			f.LastEventAt = last.UTC()
		}
		if disq != nil {
			f.DisqualifiedUntil = disq.UTC()
		}
		out[f.AccountID] = f
	}
	return rows.Err()
}

func readDaily(br pgx.BatchResults, out map[string]*scoring.Facts) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var acct string
		var bk scoring.Bucket
		var sums []byte
		if err := rows.Scan(&acct, &bk.Day, &bk.Kind, &bk.Name, &bk.Count, &sums); err != nil {
			return err
		}
		if len(sums) > 0 {
			if err := json.Unmarshal(sums, &bk.Sums); err != nil {
				return fmt.Errorf("account %s sums: %w", acct, err)
			}
		}
		if f := out[acct]; f != nil {
			f.Buckets = append(f.Buckets, bk)
		}
	}
	return rows.Err()
}

func readUsers(br pgx.BatchResults, out map[string]*scoring.Facts) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var acct string
		var ud scoring.UserDay
		if err := rows.Scan(&acct, &ud.Day, &ud.UserID); err != nil {
			return err
		}
		if f := out[acct]; f != nil {
			f.ActiveUsers = append(f.ActiveUsers, ud)
		}
	}
	return rows.Err()
}

func readFiltered(br pgx.BatchResults, out map[string]*scoring.Facts, spec model.Filter) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var acct string
		bk := scoring.Bucket{Kind: spec.Kind, Name: spec.Name}
		var sum *float64
		if err := rows.Scan(&acct, &bk.Day, &bk.Count, &sum); err != nil {
			return err
		}
		if spec.Sum != "" && sum != nil {
			bk.Sums = map[string]float64{spec.Sum: *sum}
		}
		f := out[acct]
		if f == nil {
			continue
		}
		if f.Filtered == nil {
			f.Filtered = map[string][]scoring.Bucket{}
		}
		f.Filtered[spec.Signal] = append(f.Filtered[spec.Signal], bk)
	}
	return rows.Err()
}
