package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
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

	// Round trip 1: the accounts, with the email of the earliest-linked
	// user for the derived email_domain trait. Their first-event days bound
	// the velocity reads of round trip 2.
	rows, err := db.Query(ctx, `
		SELECT a.account_id, coalesce(a.name, ''), coalesce(a.domain, ''), a.traits,
		       a.first_event_at, a.last_event_at, a.disqualified_until,
		       (SELECT u.email FROM account_users au JOIN users u ON u.user_id = au.user_id
		         WHERE au.account_id = a.account_id AND u.email LIKE '%_@_%'
		         ORDER BY au.linked_at, au.user_id LIMIT 1)
		FROM accounts a WHERE a.account_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load facts: accounts: %w", err)
	}
	if err := readAccounts(rows, out); err != nil {
		return nil, fmt.Errorf("load facts: accounts: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	found := make([]string, 0, len(out))
	for id := range out {
		found = append(found, id)
	}
	sort.Strings(found)

	// since(days) is the day before a window of that many days starts;
	// the zero time (no lower bound) for all history.
	since := func(days int) time.Time {
		if days == 0 {
			return time.Time{}
		}
		return today.AddDate(0, 0, -days)
	}
	// early lists, for velocity, the accounts whose first VelocityDays days
	// reach back to before = since(window), with the day after those days:
	// the windowed reads miss exactly these rows.
	early := func(window int) (accts []string, ends []time.Time) {
		if spec.VelocityDays == 0 || window == 0 {
			return nil, nil
		}
		before := since(window)
		for _, id := range found {
			f := out[id]
			if f.FirstEventAt.IsZero() {
				continue
			}
			if first := utcDay(f.FirstEventAt); !first.After(before) {
				accts = append(accts, id)
				ends = append(ends, first.AddDate(0, 0, spec.VelocityDays))
			}
		}
		return accts, ends
	}

	// Round trip 2, one pipelined batch: each read is an index range scan
	// on (account_id, day) for the widest window, plus a per-account range
	// for the first days. Rows of a series outside its own, narrower window
	// cost a little transfer but change nothing: the scorer applies every
	// window itself.
	b := &pgx.Batch{}
	wanted := make(map[[2]string]bool, len(spec.Series))
	if len(spec.Series) > 0 {
		var names, sumNames []string
		widest := spec.Series[0].Days
		for _, sr := range spec.Series {
			wanted[[2]string{sr.Kind, sr.Name}] = true
			names = append(names, sr.Name)
			if sr.Sums {
				sumNames = append(sumNames, sr.Name)
			}
			if sr.Days == 0 || widest == 0 {
				widest = 0
			} else {
				widest = max(widest, sr.Days)
			}
		}
		va, ve := early(widest)
		b.Queue(`
			SELECT account_id, day, kind, name, n, CASE WHEN name = ANY($3) AND sums <> '{}' THEN sums END
			FROM account_daily
			WHERE account_id = ANY($1) AND name = ANY($2) AND day > $5::date AND day <= $4::date
			UNION ALL
			SELECT d.account_id, d.day, d.kind, d.name, d.n, CASE WHEN d.name = ANY($3) AND d.sums <> '{}' THEN d.sums END
			FROM unnest($6::text[], $7::date[]) AS v(account_id, day_end)
			JOIN account_daily d ON d.account_id = v.account_id AND d.day < v.day_end AND d.day <= $5::date
			WHERE d.name = ANY($2)`,
			found, names, sumNames, today, since(widest), va, ve)
	}
	va, ve := early(spec.UserDays)
	b.Queue(`
		SELECT account_id, day, user_id FROM account_daily_users
		WHERE account_id = ANY($1) AND day > $3::date AND day <= $2::date
		UNION ALL
		SELECT du.account_id, du.day, du.user_id
		FROM unnest($4::text[], $5::date[]) AS v(account_id, day_end)
		JOIN account_daily_users du ON du.account_id = v.account_id AND du.day < v.day_end AND du.day <= $3::date`,
		found, today, since(spec.UserDays), va, ve)

	// Signals with `where` count raw events by JSON containment, grouped
	// into UTC days like the roll-ups (events_account_name_ts narrows the
	// scan to the account and event name). Bounds are instants (UTC
	// midnights), so the session time zone cannot shift them.
	for _, f := range spec.Filters {
		where, err := json.Marshal(f.Where)
		if err != nil {
			return nil, fmt.Errorf("load facts: filter %q: %w", f.Signal, err)
		}
		types := filterTypes(f.Kind)
		start := since(f.Days).AddDate(0, 0, 1) // the window's first day
		if f.Days == 0 {
			start = time.Time{}
		}
		va, ve := early(f.Days)
		// A live filter's roll-up, else (while its history is being
		// counted) the raw events, decided inside the one statement so
		// both come from the same snapshot.
		key := FilterKey(f)
		b.Queue(`
			WITH f AS (SELECT coalesce(bool_or(live), false) AS live FROM filter_series WHERE key = $10)
			SELECT account_id, day, sum(n)::bigint, sum((sums ->> $5::text)::float8)
			FROM (
				SELECT account_id, day, n, sums FROM account_daily
				WHERE account_id = ANY($1) AND kind = 'filter' AND name = ANY($11)
				  AND day >= ($7::timestamptz AT TIME ZONE 'UTC')::date AND day < ($6::timestamptz AT TIME ZONE 'UTC')::date
				UNION ALL
				SELECT d.account_id, d.day, d.n, d.sums
				FROM unnest($8::text[], $9::timestamptz[]) AS v(account_id, ts_end)
				JOIN account_daily d ON d.account_id = v.account_id AND d.kind = 'filter' AND d.name = ANY($11)
				     AND d.day < (v.ts_end AT TIME ZONE 'UTC')::date AND d.day < ($7::timestamptz AT TIME ZONE 'UTC')::date
			) r
			WHERE (SELECT live FROM f)
			GROUP BY 1, 2
			UNION ALL
			SELECT account_id, (ts AT TIME ZONE 'UTC')::date AS day, count(*),
			       sum(CASE WHEN jsonb_typeof(properties -> $5::text) = 'number' THEN (properties ->> $5::text)::float8 END)
			FROM (
				SELECT account_id, ts, properties FROM events
				WHERE account_id = ANY($1) AND name = $2 AND type = ANY($3)
				  AND ts >= $7::timestamptz AND ts < $6::timestamptz AND properties @> $4::jsonb
				UNION ALL
				SELECT e.account_id, e.ts, e.properties
				FROM unnest($8::text[], $9::timestamptz[]) AS v(account_id, ts_end)
				JOIN events e ON e.account_id = v.account_id AND e.name = $2
				     AND e.ts < v.ts_end AND e.ts < $7::timestamptz
				WHERE e.type = ANY($3) AND e.properties @> $4::jsonb
			) x
			WHERE NOT (SELECT live FROM f)
			GROUP BY 1, 2`,
			found, f.Name, types, string(where), f.Sum, today.AddDate(0, 0, 1), start, va, ve, key, []string{key, key + ":history"})
	}

	br := db.SendBatch(ctx, b)
	defer br.Close()
	if len(spec.Series) > 0 {
		if err := readDaily(br, out, wanted); err != nil {
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

func readAccounts(rows pgx.Rows, out map[string]*scoring.Facts) error {
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

func readDaily(br pgx.BatchResults, out map[string]*scoring.Facts, wanted map[[2]string]bool) error {
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
		if f := out[acct]; f != nil && wanted[[2]string{bk.Kind, bk.Name}] {
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
