package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/commands"
)

// likeEscape makes s match itself in a LIKE pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// MatchAccounts finds accounts by name, ignoring case: names equal to name
// or starting with it (through accounts_lower_name), and only when there
// are none, names containing it. Exact matches come first, then the
// highest scores.
func (s *Store) MatchAccounts(ctx context.Context, name string, limit int) ([]commands.AccountMatch, error) {
	q := strings.ToLower(strings.Join(strings.Fields(name), " "))
	if q == "" {
		return nil, nil
	}
	const query = `
		SELECT a.account_id, coalesce(a.name, ''), coalesce(a.domain, ''), coalesce(s.score, 0), coalesce(s.tier, ''),
		       lower(a.name) = $1 AS exact
		FROM accounts a LEFT JOIN account_scores s ON s.account_id = a.account_id
		WHERE lower(a.name) LIKE $2 ESCAPE '\'
		ORDER BY exact DESC, s.score DESC NULLS LAST, a.account_id
		LIMIT $3`
	scan := func(pattern string) ([]commands.AccountMatch, error) {
		rows, err := s.pool.Query(ctx, query, q, pattern, limit)
		if err != nil {
			return nil, fmt.Errorf("accounts named %q: %w", name, err)
		}
		out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (commands.AccountMatch, error) {
			var m commands.AccountMatch
			err := row.Scan(&m.AccountID, &m.Name, &m.Domain, &m.Score, &m.Tier, &m.Exact)
			return m, err
		})
		if err != nil {
			return nil, fmt.Errorf("accounts named %q: %w", name, err)
		}
		return out, nil
	}
	out, err := scan(likeEscape(q) + "%")
	if err != nil || len(out) > 0 {
		return out, err
	}
	return scan("%" + likeEscape(q) + "%")
}

// TopCandidates returns what `/pql top` ranks (see commands.Store): every
// account with an open or claimed alert, with that alert, its current
// score and exclusion; and the n+len(active) best current scores that are
// not excluded, each with its latest alert, so that n remain after the
// planner drops those already listed with an alert.
func (s *Store) TopCandidates(ctx context.Context, tier string, n int) (active, ranked []commands.TopAccount, err error) {
	alerts, err := s.reportRows(ctx, "open alerts for top", `SELECT `+reportColumns+reportFrom+`
		WHERE a.state IN ('open', 'claimed')
		ORDER BY a.created_at, a.id
		LIMIT $1`, commands.MaxActiveForTop)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(alerts))
	for i, a := range alerts {
		ids[i] = a.AccountID
	}
	type current struct {
		score                   int
		tier, segment, excluded string
	}
	scores := make(map[string]current, len(ids))
	if len(ids) > 0 {
		rows, err := s.pool.Query(ctx, `SELECT account_id, score, tier, segment, coalesce(excluded, '')
			FROM account_scores WHERE account_id = ANY($1)`, ids)
		if err != nil {
			return nil, nil, fmt.Errorf("scores of open alerts: %w", err)
		}
		for rows.Next() {
			var id string
			var c current
			if err := rows.Scan(&id, &c.score, &c.tier, &c.segment, &c.excluded); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("scores of open alerts: %w", err)
			}
			scores[id] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("scores of open alerts: %w", err)
		}
	}
	for i := range alerts {
		a := &alerts[i]
		t := commands.TopAccount{AccountID: a.AccountID, Name: a.AccountName, Domain: a.Domain, Score: a.Score, Tier: a.Tier, Segment: a.Segment, Alert: a}
		if c, ok := scores[a.AccountID]; ok {
			t.Score, t.Tier, t.Segment, t.Excluded = c.score, c.tier, c.segment, c.excluded
		}
		if tier != "" && t.Tier != tier && a.Tier != tier {
			continue
		}
		active = append(active, t)
	}

	rows, err := s.pool.Query(ctx, `
		SELECT t.account_id, coalesce(ac.name, ''), coalesce(ac.domain, ''), t.score, t.tier, t.segment
		FROM (SELECT account_id, score, tier, segment FROM account_scores
		      WHERE excluded IS NULL AND ($1 = '' OR tier = $1)
		      ORDER BY score DESC, account_id LIMIT $2) t
		LEFT JOIN accounts ac ON ac.account_id = t.account_id
		ORDER BY t.score DESC, t.account_id`, tier, n+len(active))
	if err != nil {
		return nil, nil, fmt.Errorf("top accounts: %w", err)
	}
	ranked, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (commands.TopAccount, error) {
		var t commands.TopAccount
		err := row.Scan(&t.AccountID, &t.Name, &t.Domain, &t.Score, &t.Tier, &t.Segment)
		return t, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("top accounts: %w", err)
	}
	if len(ranked) == 0 {
		return active, nil, nil
	}
	rids := make([]string, len(ranked))
	for i, t := range ranked {
		rids[i] = t.AccountID
	}
	latest, err := s.reportRows(ctx, "latest alerts of top accounts", `SELECT `+reportColumns+`
		FROM unnest($1::text[]) AS t(account_id)
		CROSS JOIN LATERAL (SELECT * FROM alerts WHERE account_id = t.account_id ORDER BY created_at DESC LIMIT 1) a
		LEFT JOIN accounts ac ON ac.account_id = a.account_id`, rids)
	if err != nil {
		return nil, nil, err
	}
	byAccount := make(map[string]*commands.AlertRow, len(latest))
	for i := range latest {
		byAccount[latest[i].AccountID] = &latest[i]
	}
	for i := range ranked {
		ranked[i].Alert = byAccount[ranked[i].AccountID]
	}
	return active, ranked, nil
}

// ExcludedCounts counts the excluded accounts of tier ("" for all)
// scoring at least minScore, by reason, leaving out skip (accounts the
// caller already counted).
func (s *Store) ExcludedCounts(ctx context.Context, tier string, minScore int, skip []string) (map[string]int, error) {
	if skip == nil {
		skip = []string{} // NOT (x = ANY(NULL)) would keep no row
	}
	rows, err := s.pool.Query(ctx, `
		SELECT excluded, count(*) FROM account_scores
		WHERE excluded IS NOT NULL AND score >= $2 AND ($1 = '' OR tier = $1) AND NOT (account_id = ANY($3))
		GROUP BY excluded`, tier, minScore, skip)
	if err != nil {
		return nil, fmt.Errorf("excluded accounts: %w", err)
	}
	out := map[string]int{}
	for rows.Next() {
		var reason string
		var n int
		if err := rows.Scan(&reason, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("excluded accounts: %w", err)
		}
		out[reason] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("excluded accounts: %w", err)
	}
	return out, nil
}
