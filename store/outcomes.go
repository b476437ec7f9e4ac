package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
)

// outcomeDeriveLockKey serialises re-derivations across replicas.
const outcomeDeriveLockKey = 7_512_004_350

// OutcomeRulesHash identifies a set of outcome rules: derived outcomes
// recorded under another hash are re-derived.
func OutcomeRulesHash(rules []model.OutcomeRule) string {
	b, err := json.Marshal(rules)
	if err != nil {
		panic(fmt.Sprintf("store: outcome rules hash: %v", err)) // plain values only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// deriveOutcomes records the outcomes that rules find in stored events of
// the accounts accts (of every account when all is set). Each (event, kind) is recorded once, whatever ran
// before, so it is safe to run again over the same events.
//
// An event rule matches track events of that name; the event's time dates
// the outcome. A trait rule matches group calls that set the trait to one of
// its values when the account's previous value of it (in event-time order)
// was none of them: the change, not every repetition, dates the outcome.
func deriveOutcomes(ctx context.Context, tx pgx.Tx, rules []model.OutcomeRule, accts []string, all bool) (int64, error) {
	var n int64
	for _, r := range rules {
		var (
			tag interface{ RowsAffected() int64 }
			err error
		)
		switch r.Source {
		case model.SourceEvent:
			tag, err = tx.Exec(ctx, `
				INSERT INTO outcomes (account_id, account_ref, kind, at, source, event_id, rule)
				SELECT e.account_id, e.account_id, $2, e.ts, 'event', e.id, $3
				FROM events e
				WHERE e.account_id IS NOT NULL AND e.name = $1 AND e.type = 'track'
				  AND ($4 OR e.account_id = ANY($5))
				ON CONFLICT (event_id, kind) WHERE event_id IS NOT NULL DO NOTHING`,
				r.Event, string(r.Outcome), r.String(), all, accts)
		case model.SourceTrait:
			tag, err = tx.Exec(ctx, `
				INSERT INTO outcomes (account_id, account_ref, kind, at, source, event_id, rule)
				SELECT x.account_id, x.account_id, $3, x.ts, 'trait', x.id, $4
				FROM (
					SELECT e.id, e.account_id, e.ts, e.traits->>$1 AS v,
					       lag(e.traits->>$1) OVER (PARTITION BY e.account_id ORDER BY e.ts, e.id) AS prev
					FROM events e
					WHERE e.type = 'group' AND e.account_id IS NOT NULL AND e.traits ? $1
					  AND ($5 OR e.account_id = ANY($6))
				) x
				WHERE x.v = ANY($2) AND (x.prev IS NULL OR NOT x.prev = ANY($2))
				ON CONFLICT (event_id, kind) WHERE event_id IS NOT NULL DO NOTHING`,
				r.Trait, r.Becomes, string(r.Outcome), r.String(), all, accts)
		default:
			return n, fmt.Errorf("derive outcomes: unknown rule source %q", r.Source)
		}
		if err != nil {
			return n, fmt.Errorf("derive outcomes (%s): %w", r, err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// outcomeScope picks, from the events a commit inserted or attributed, the
// accounts whose outcomes may have changed: those with a track event a rule
// names, or a group call carrying a trait a rule watches.
type outcomeScope struct {
	events map[string]bool
	traits []string
	accts  map[string]bool
}

func newOutcomeScope(rules []model.OutcomeRule) *outcomeScope {
	if len(rules) == 0 {
		return nil
	}
	s := &outcomeScope{events: map[string]bool{}, accts: map[string]bool{}}
	for _, r := range rules {
		switch r.Source {
		case model.SourceEvent:
			s.events[r.Event] = true
		case model.SourceTrait:
			s.traits = append(s.traits, r.Trait)
		}
	}
	return s
}

func (s *outcomeScope) track(acct, name string) {
	if s != nil && acct != "" && s.events[name] {
		s.accts[acct] = true
	}
}

func (s *outcomeScope) group(acct string, traits map[string]any) {
	if s == nil || acct == "" {
		return
	}
	for _, t := range s.traits {
		if _, ok := traits[t]; ok {
			s.accts[acct] = true
			return
		}
	}
}

func (s *outcomeScope) accounts() []string {
	if s == nil || len(s.accts) == 0 {
		return nil
	}
	out := make([]string, 0, len(s.accts))
	for a := range s.accts {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// DeriveResult says what a re-derivation did.
type DeriveResult struct {
	// Skipped is true when the stored outcomes were already derived with
	// these rules (and force was not set).
	Skipped bool
	// Removed and Recorded count derived outcomes deleted and recorded.
	Removed, Recorded int64
	Hash              string
}

// DeriveOutcomes re-derives every event and trait outcome from stored
// events with rules, unless the stored ones were derived with the same rules
// (force re-derives anyway). Replicas starting together take turns on an
// advisory lock; the second finds the work done. Imported outcomes are
// never touched.
func (s *Store) DeriveOutcomes(ctx context.Context, rules []model.OutcomeRule, force bool) (DeriveResult, error) {
	res := DeriveResult{Hash: OutcomeRulesHash(rules)}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(outcomeDeriveLockKey)); err != nil {
			return fmt.Errorf("lock outcome derivation: %w", err)
		}
		var stored string
		err := tx.QueryRow(ctx, `SELECT rules_hash FROM outcome_derivation`).Scan(&stored)
		if err != nil && err != pgx.ErrNoRows {
			return fmt.Errorf("read outcome derivation: %w", err)
		}
		if stored == res.Hash && !force {
			res.Skipped = true
			return nil
		}
		tag, err := tx.Exec(ctx, `DELETE FROM outcomes WHERE source IN ('event', 'trait')`)
		if err != nil {
			return fmt.Errorf("remove derived outcomes: %w", err)
		}
		res.Removed = tag.RowsAffected()
		if res.Recorded, err = deriveOutcomes(ctx, tx, rules, nil, true); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO outcome_derivation (rules_hash, derived_at) VALUES ($1, now())
			ON CONFLICT (singleton) DO UPDATE SET rules_hash = EXCLUDED.rules_hash, derived_at = EXCLUDED.derived_at`, res.Hash)
		if err != nil {
			return fmt.Errorf("record outcome derivation: %w", err)
		}
		return nil
	})
	return res, err
}

// ImportResult sums up an import (the last line `outcomes import` prints).
type ImportResult struct {
	// Imported rows are new; Duplicates were already stored (same account,
	// outcome and time), from an earlier import or earlier in the file.
	Imported, Duplicates int
	// Unmatched of the imported rows name an account not seen yet; they
	// are kept and matched when it appears.
	Unmatched int
}

// ImportOutcomes stores imported rows in one transaction: each row once
// (account as written, outcome and time are its identity), matched to an
// account by id, else by domain.
func (s *Store) ImportOutcomes(ctx context.Context, rows []outcomes.Row) (ImportResult, error) {
	var res ImportResult
	if len(rows) == 0 {
		return res, nil
	}
	n := len(rows)
	refs, kinds := make([]string, n), make([]string, n)
	doms := make([]*string, n)
	ats := make([]time.Time, n)
	amounts := make([]*float64, n)
	lines := make([]int32, n)
	for i, r := range rows {
		refs[i], kinds[i], ats[i], lines[i] = r.Account, string(r.Kind), r.At, int32(r.Line)
		if d := normalizeDomain(r.Account); strings.Contains(d, ".") {
			doms[i] = &d
		}
		if r.HasAmount {
			v := r.Amount
			amounts[i] = &v
		}
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rs, err := tx.Query(ctx, `
			WITH input AS (
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::numeric[], $6::int[])
				         AS x(ref, dom, kind, at, amount, line)
			), matched AS (
				SELECT i.*, (
					SELECT a.account_id FROM accounts a
					WHERE a.account_id = i.ref OR a.domain = i.dom
					ORDER BY (a.account_id = i.ref) DESC, a.first_event_at NULLS LAST, a.account_id
					LIMIT 1) AS account_id
				FROM input i
			)
			INSERT INTO outcomes (account_id, account_ref, ref_domain, kind, at, source, amount)
			SELECT DISTINCT ON (ref, kind, at) account_id, ref, dom, kind, at, 'import', amount
			FROM matched ORDER BY ref, kind, at, line
			ON CONFLICT (account_ref, kind, at) WHERE source = 'import' DO NOTHING
			RETURNING account_id IS NULL`, refs, doms, kinds, ats, amounts, lines)
		if err != nil {
			return fmt.Errorf("import outcomes: %w", err)
		}
		unmatched, err := pgx.CollectRows(rs, pgx.RowTo[bool])
		if err != nil {
			return fmt.Errorf("import outcomes: %w", err)
		}
		res.Imported = len(unmatched)
		for _, u := range unmatched {
			if u {
				res.Unmatched++
			}
		}
		res.Duplicates = n - res.Imported
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

const outcomeCols = `id, coalesce(account_id, ''), account_ref, kind, at, source, coalesce(rule, ''), amount`

func scanOutcome(row pgx.CollectableRow) (outcomes.Outcome, error) {
	var o outcomes.Outcome
	var kind, src string
	var amount *float64
	if err := row.Scan(&o.ID, &o.AccountID, &o.AccountRef, &kind, &o.At, &src, &o.Rule, &amount); err != nil {
		return o, err
	}
	o.Kind, o.Source, o.At = model.OutcomeKind(kind), outcomes.Source(src), o.At.UTC()
	if amount != nil {
		o.Amount, o.HasAmount = *amount, true
	}
	return o, nil
}

// Outcomes returns the outcomes of known accounts dated in [from, to),
// ordered by account and time (a zero from or to leaves that end open).
// Every recorded match is returned: for "won", the first per account dates
// the win.
func (s *Store) Outcomes(ctx context.Context, from, to time.Time) ([]outcomes.Outcome, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outcomeCols+` FROM outcomes
		WHERE account_id IS NOT NULL AND ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
		ORDER BY account_id, at, id`, nullTime(from), nullTime(to))
	if err != nil {
		return nil, fmt.Errorf("outcomes: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanOutcome)
	if err != nil {
		return nil, fmt.Errorf("outcomes: %w", err)
	}
	return out, nil
}

// AccountOutcomes returns one account's outcomes, oldest first.
func (s *Store) AccountOutcomes(ctx context.Context, accountID string) ([]outcomes.Outcome, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outcomeCols+` FROM outcomes WHERE account_id = $1 ORDER BY at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("outcomes of %s: %w", accountID, err)
	}
	out, err := pgx.CollectRows(rows, scanOutcome)
	if err != nil {
		return nil, fmt.Errorf("outcomes of %s: %w", accountID, err)
	}
	return out, nil
}

// UnmatchedOutcomes returns imported outcomes whose account has not been
// seen yet, oldest first.
func (s *Store) UnmatchedOutcomes(ctx context.Context) ([]outcomes.Outcome, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outcomeCols+` FROM outcomes WHERE account_id IS NULL ORDER BY at, id`)
	if err != nil {
		return nil, fmt.Errorf("unmatched outcomes: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanOutcome)
	if err != nil {
		return nil, fmt.Errorf("unmatched outcomes: %w", err)
	}
	return out, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
