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
