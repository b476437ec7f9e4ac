package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/people"
)

// People returns up to q.Limit people at the account (people.Max when
// unset): the sender of the latest hand-raise in the window first, with
// that event, then the users with the most events in the window, each with
// their last notable action. Names, titles and emails come from identify
// traits; a user who never identified is shown by id.
func (s *Store) People(ctx context.Context, q people.Query) ([]people.Person, error) {
	return queryPeople(ctx, s.pool, q)
}

// rowsQuerier is a pool or a transaction: alert decisions read the people
// inside the account's transaction.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// peopleSQL works over the window's events only (events_account_ts), so its
// cost follows an account's recent traffic, not its history.
const peopleSQL = `
WITH ev AS MATERIALIZED (
	SELECT coalesce(e.user_id, e.anonymous_id) AS uid, e.type, coalesce(e.name, '') AS name, e.ts, e.id
	FROM events e
	WHERE e.account_id = $1 AND e.ts >= $2 AND e.ts <= $3 AND e.type IN ('track', 'page', 'screen')
), hr AS (
	SELECT uid, name, ts FROM ev WHERE type = 'track' AND name = ANY($4::text[]) ORDER BY ts DESC, id DESC LIMIT 1
), per AS (
	SELECT uid, count(*) AS n, max(ts) AS last_ts FROM ev GROUP BY uid
), last_action AS (
	SELECT DISTINCT ON (uid) uid, type, name, ts FROM ev
	ORDER BY uid, (name = ANY($5::text[])) DESC, (type = 'track') DESC, ts DESC, id DESC
)
SELECT p.uid, p.n,
	hr.uid IS NOT NULL AS hand_raiser,
	coalesce(CASE WHEN hr.uid IS NOT NULL THEN 'track' ELSE la.type END, ''),
	coalesce(hr.name, la.name, ''),
	coalesce(hr.ts, la.ts),
	coalesce(u.traits->>'name', ''),
	coalesce(u.traits->>'firstName', u.traits->>'first_name', ''),
	coalesce(u.traits->>'lastName', u.traits->>'last_name', ''),
	coalesce(u.traits->>'title', ''),
	coalesce(nullif(u.email, ''), u.traits->>'email', '')
FROM per p
LEFT JOIN hr ON hr.uid = p.uid
LEFT JOIN last_action la ON la.uid = p.uid
LEFT JOIN users u ON u.user_id = p.uid
ORDER BY hr.uid IS NOT NULL DESC, p.n DESC, p.last_ts DESC, p.uid
LIMIT $6`

func queryPeople(ctx context.Context, q rowsQuerier, pq people.Query) ([]people.Person, error) {
	limit := pq.Limit
	if limit <= 0 {
		limit = people.Max
	}
	hand, notable := pq.HandRaisers, pq.Notable
	if hand == nil {
		hand = []string{}
	}
	if notable == nil {
		notable = []string{}
	}
	rows, err := q.Query(ctx, peopleSQL, pq.AccountID, pq.From(), pq.Now, hand, notable, limit)
	if err != nil {
		return nil, fmt.Errorf("people of %s: %w", pq.AccountID, err)
	}
	defer rows.Close()
	var out []people.Person
	for rows.Next() {
		var p people.Person
		var n int64
		var at *time.Time
		var name, first, last string
		if err := rows.Scan(&p.UserID, &n, &p.HandRaiser, &p.ActionKind, &p.Action, &at, &name, &first, &last, &p.Title, &p.Email); err != nil {
			return nil, fmt.Errorf("people of %s: %w", pq.AccountID, err)
		}
		p.Events = int(n)
		if at != nil {
			p.ActionAt = at.UTC()
		}
		p.Name = strings.TrimSpace(name)
		if p.Name == "" {
			p.Name = strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last))
		}
		p.Title, p.Email = strings.TrimSpace(p.Title), strings.TrimSpace(p.Email)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("people of %s: %w", pq.AccountID, err)
	}
	return out, nil
}
