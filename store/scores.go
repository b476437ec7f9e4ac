package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/rescore"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// requeueOnConflict ends every INSERT INTO rescore_queue: an account
// already queued and unclaimed needs nothing more, but one a re-score batch
// has claimed must stay queued after that batch, which its version bump
// tells the batch (see ScoreQueued). It never waits for the batch.
const requeueOnConflict = `ON CONFLICT (account_id) DO UPDATE SET version = rescore_queue.version + 1 WHERE rescore_queue.claim IS NOT NULL`

// ErrNotFound is returned when a looked-up account or score does not exist.
var ErrNotFound = errors.New("not found")

// ScoreQueued takes up to take.Limit accounts from the re-score queue that
// no other worker holds, loads their facts, scores them with score, saves
// the results that changed (see saveScores) and removes the queue rows.
//
// An account scored less than take.Debounce before now stays queued until
// then, unless its queue row is urgent (a hand-raise): a busy account's
// events are coalesced into one re-score per interval, while an account
// that was quiet is scored at once. Urgent rows go first, then the
// accounts scored longest ago, so news is not stuck behind busy accounts.
//
// The rows are claimed in one short statement of their own (claim token,
// claimed_until = now + take.Lease) and the scores saved in a second
// transaction, which deletes each row only if its version is still the
// one claimed. An ingest commit never waits for scoring: it leaves an
// unclaimed row alone (no write, no row lock) and bumps a claimed row's
// version, which keeps it queued for a later batch. Between claim and
// facts the batch waits, on a per-account advisory lock, for the ingest
// commits that looked before the claim was visible, so every row deleted
// had its events scored. A failed batch hands its claims back at once; a
// worker that dies leaves them to be taken again when claimed_until
// passes.
func (s *Store) ScoreQueued(ctx context.Context, take rescore.Take, spec model.FactsSpec, now time.Time, score func(*scoring.Facts) scoring.Result) ([]rescore.Scored, error) {
	lease := take.Lease
	if lease <= 0 {
		lease = 10 * time.Second
	}
	token := uuid.New()
	rows, err := s.pool.Query(ctx, `
		WITH taken AS MATERIALIZED (
			SELECT q.account_id AS taken_id FROM rescore_queue q LEFT JOIN rescore_last l USING (account_id)
			WHERE (q.claimed_until IS NULL OR q.claimed_until <= $3)
			  AND (q.urgent OR l.scored_at IS NULL OR l.scored_at <= $2)
			ORDER BY q.urgent DESC, l.scored_at NULLS FIRST, q.enqueued_at
			LIMIT $1 FOR UPDATE OF q SKIP LOCKED)
		UPDATE rescore_queue SET claim = $4, claimed_until = $5, urgent = false
		FROM taken WHERE account_id = taken_id
		RETURNING account_id, version`, take.Limit, now.Add(-take.Debounce), now, token, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("score queued accounts: claim: %w", err)
	}
	versions := map[string]int64{}
	var ids []string
	var id string
	var version int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &version}, func() error {
		versions[id] = version
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("score queued accounts: claim: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	sort.Strings(ids) // a stable lock order for the score upserts
	vs := make([]int64, len(ids))
	for i, id := range ids {
		vs[i] = versions[id]
	}
	// Ingest commits that looked at these rows before the claim committed
	// (and so saw no claim to bump) hold a shared lock on the account until
	// they commit: wait for them, so the facts read below include their
	// events. Later commits see the claim and bump the version instead.
	if err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int[]) WITH ORDINALITY AS x(k, o) ORDER BY o`,
			rescoreLockClass, rescoreLockKeys(ids))
		return err
	}); err != nil {
		s.releaseClaims(ctx, ids, token)
		return nil, fmt.Errorf("score queued accounts: wait for ingest: %w", err)
	}

	var out []rescore.Scored
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO rescore_last (account_id, scored_at) SELECT unnest($1::text[]), $2
			ON CONFLICT (account_id) DO UPDATE SET scored_at = EXCLUDED.scored_at`, ids, now); err != nil {
			return fmt.Errorf("record re-score time: %w", err)
		}
		facts, err := loadFacts(ctx, tx, ids, spec, now)
		if err != nil {
			return err
		}
		results := make([]scoring.Result, 0, len(facts))
		for _, id := range ids {
			if f := facts[id]; f != nil {
				results = append(results, score(f))
			}
		}
		if out, err = saveScores(ctx, tx, results, take.Refresh); err != nil {
			return err
		}
		// Last, so the row locks these take are held only for the commit.
		if _, err := tx.Exec(ctx, `
			DELETE FROM rescore_queue q USING unnest($1::text[], $2::bigint[]) AS c(id, v)
			WHERE q.account_id = c.id AND q.claim = $3 AND q.version = c.v`, ids, vs, token); err != nil {
			return fmt.Errorf("remove scored accounts from the queue: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE rescore_queue SET claim = NULL, claimed_until = NULL WHERE account_id = ANY($1) AND claim = $2`, ids, token); err != nil {
			return fmt.Errorf("release re-queued accounts: %w", err)
		}
		return nil
	})
	if err != nil {
		s.releaseClaims(ctx, ids, token)
		return nil, fmt.Errorf("score queued accounts: %w", err)
	}
	return out, nil
}

// releaseClaims hands claims back so the accounts are not stuck for a
// lease; if this fails too, the lease running out does it.
func (s *Store) releaseClaims(ctx context.Context, ids []string, token uuid.UUID) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = s.pool.Exec(rctx, `UPDATE rescore_queue SET claim = NULL, claimed_until = NULL WHERE account_id = ANY($1) AND claim = $2`, ids, token)
}

// rescoreLockClass is the first key of the two-key advisory locks by which
// ingest commits and re-score claims meet on an account (see queueRescore
// and ScoreQueued); the two-key space is apart from every one-key lock.
// Accounts whose keys collide only wait for each other a little longer.
const rescoreLockClass = 0x5051_4c53 // "PQLS"

// rescoreLockKeys are the second keys for accounts, sorted and distinct,
// so every holder takes them in the same order.
func rescoreLockKeys(accounts []string) []int32 {
	keys := make([]int32, 0, len(accounts))
	for _, a := range accounts {
		h := fnv.New32a()
		h.Write([]byte(a))
		keys = append(keys, int32(h.Sum32()))
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// SaveScore stores r as the account's current score and appends a history
// row when score, tier or model version changed; it reports whether one
// was appended. A result older than the stored one is ignored.
func (s *Store) SaveScore(ctx context.Context, r scoring.Result) (changed bool, err error) {
	out, err := saveScores(ctx, s.pool, []scoring.Result{r}, 0)
	if err != nil {
		return false, err
	}
	return len(out) == 1 && out[0].Changed, nil
}

// reasonCodes is the stored form of a result's reason codes.
func reasonCodes(r *scoring.Result) string {
	var b strings.Builder
	for i, x := range r.Reasons {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x.Code)
	}
	return b.String()
}

// saveScores upserts results in one statement and reports, for each one,
// whether it was written and whether a history row was appended.
//
// A result is written only when something a decision or the stale sweep
// looks at differs from the stored row: score, tier, segment,
// alertability, reason codes or model; or the stored row is older than
// refresh (zero: always), from an earlier UTC day (the sweep would queue
// it again), or its hook has not run. Re-scoring a busy account whose
// score holds still then costs PostgreSQL a read, not a rewrite of the
// row, its explanation and its WAL, and costs no alert decision. The
// stored explanation is as of the last write; lookups that need the
// current one evaluate the account's facts themselves.
func saveScores(ctx context.Context, db factsDB, results []scoring.Result, refresh time.Duration) ([]rescore.Scored, error) {
	if len(results) == 0 {
		return nil, nil
	}
	n := len(results)
	ids, tiers, segs, vers, hashes, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	scores := make([]int32, n)
	alertable := make([]bool, n)
	at := make([]time.Time, n)
	byID := make(map[string]int, n)
	for i := range results {
		r := &results[i]
		ids[i], tiers[i], segs[i], vers[i], hashes[i] = r.AccountID, r.Tier, r.Segment, r.ModelVersion, r.ModelHash
		scores[i], alertable[i], at[i], reasons[i] = int32(r.Score), r.Alertable, r.At, reasonCodes(r)
		byID[r.AccountID] = i
	}
	// Only the rows that need writing are marshalled: the explanation is
	// most of the cost of a re-score that changed nothing.
	rows, err := db.Query(ctx, `
		SELECT x.account_id FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
		     AS x(account_id, score, tier, segment, alertable, reasons, model_version, model_hash, scored_at)
		LEFT JOIN account_scores s USING (account_id)
		WHERE s.account_id IS NULL
		   OR (s.scored_at <= x.scored_at AND (
		       s.score <> x.score OR s.tier <> x.tier OR s.segment <> x.segment OR s.alertable <> x.alertable
		       OR s.reasons <> x.reasons OR s.model_version <> x.model_version OR s.model_hash <> x.model_hash
		       OR NOT s.hooked OR s.scored_at <= x.scored_at - $10::interval
		       OR s.scored_at < date_trunc('day', x.scored_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))`,
		ids, scores, tiers, segs, alertable, reasons, vers, hashes, at, refresh)
	if err != nil {
		return nil, fmt.Errorf("save scores: compare: %w", err)
	}
	write, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("save scores: compare: %w", err)
	}
	out := make([]rescore.Scored, n)
	for i := range results {
		out[i].Result = results[i]
	}
	if len(write) == 0 {
		return out, nil
	}
	sort.Strings(write) // a stable lock order across concurrent batches
	m := len(write)
	wIDs, wTiers, wSegs, wVers, wHashes, wReasons, docs := make([]string, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m), make([]string, m)
	wScores, wAlertable, wAt := make([]int32, m), make([]bool, m), make([]time.Time, m)
	for j, id := range write {
		i := byID[id]
		b, err := json.Marshal(&results[i])
		if err != nil {
			return nil, fmt.Errorf("save score %s: %w", id, err)
		}
		wIDs[j], wTiers[j], wSegs[j], wVers[j], wHashes[j], wReasons[j], docs[j] = id, tiers[i], segs[i], vers[i], hashes[i], reasons[i], string(b)
		wScores[j], wAlertable[j], wAt[j] = scores[i], alertable[i], at[i]
	}
	rows, err = db.Query(ctx, `
		WITH input AS (
			SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
			         AS x(account_id, score, tier, segment, alertable, reasons, result, model_version, model_hash, scored_at)
		), prev AS (
			SELECT s.account_id, s.score, s.tier, s.model_version
			FROM account_scores s JOIN input USING (account_id)
		), up AS (
			INSERT INTO account_scores AS s (account_id, score, tier, segment, alertable, reasons, result, model_version, model_hash, scored_at, hooked)
			SELECT account_id, score, tier, segment, alertable, reasons, result::jsonb, model_version, model_hash, scored_at, false FROM input
			ORDER BY account_id
			ON CONFLICT (account_id) DO UPDATE SET
				score = EXCLUDED.score, tier = EXCLUDED.tier, segment = EXCLUDED.segment,
				alertable = EXCLUDED.alertable, reasons = EXCLUDED.reasons, result = EXCLUDED.result,
				model_version = EXCLUDED.model_version, model_hash = EXCLUDED.model_hash,
				scored_at = EXCLUDED.scored_at, hooked = false
			WHERE s.scored_at <= EXCLUDED.scored_at
			RETURNING account_id
		), hist AS (
			INSERT INTO score_history (account_id, score, tier, model_version, at)
			SELECT i.account_id, i.score, i.tier, i.model_version, i.scored_at
			FROM input i JOIN up USING (account_id) LEFT JOIN prev p USING (account_id)
			WHERE p.account_id IS NULL OR p.score <> i.score OR p.tier <> i.tier OR p.model_version <> i.model_version
			RETURNING account_id
		)
		SELECT up.account_id, hist.account_id IS NOT NULL FROM up LEFT JOIN hist USING (account_id)`,
		wIDs, wScores, wTiers, wSegs, wAlertable, wReasons, docs, wVers, wHashes, wAt)
	if err != nil {
		return nil, fmt.Errorf("save scores: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var changed bool
		if err := rows.Scan(&id, &changed); err != nil {
			return nil, fmt.Errorf("save scores: %w", err)
		}
		o := &out[byID[id]]
		o.Saved, o.Changed = true, changed
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("save scores: %w", err)
	}
	return out, nil
}

// MarkHooked records that the re-scorer's hook ran for the scores saved at
// at; a newer score saved meanwhile keeps its own mark.
func (s *Store) MarkHooked(ctx context.Context, accountIDs []string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE account_scores SET hooked = true WHERE account_id = ANY($1) AND scored_at = $2`, accountIDs, at); err != nil {
		return fmt.Errorf("mark scores hooked: %w", err)
	}
	return nil
}

// RenewHooks extends, to until, the lease on the undecided scores saved at
// at: the re-scorer calls it while their alert decisions run, and once more
// with a later until to put off the retry of decisions that failed. A
// newer score or one already decided keeps its own state.
func (s *Store) RenewHooks(ctx context.Context, accountIDs []string, at, until time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE account_scores SET hook_lease_until = $3 WHERE account_id = ANY($1) AND scored_at = $2 AND NOT hooked`, accountIDs, at, until); err != nil {
		return fmt.Errorf("renew score hook leases: %w", err)
	}
	return nil
}

// Requeue queues accounts again (a re-scorer shutting down hands back the
// ones whose alert decisions it did not run).
func (s *Store) Requeue(ctx context.Context, accountIDs []string) error {
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO rescore_queue (account_id) SELECT unnest($1::text[])
		`+requeueOnConflict, accountIDs); err != nil {
		return fmt.Errorf("queue accounts again: %w", err)
	}
	return nil
}

// RequeueUndecided queues again every account whose score is undecided and
// whose owner stopped renewing its lease: the lease ran out at now, or was
// never renewed and the score is older than lease. It takes the lease
// itself in the same statement, so replicas running this together queue
// each account once, and a replica that dies right after is covered by
// the durable queue row. It returns how many accounts it queued.
func (s *Store) RequeueUndecided(ctx context.Context, now time.Time, lease time.Duration) (int, error) {
	tag, err := s.pool.Exec(ctx, `
		WITH orphan AS (
			UPDATE account_scores SET hook_lease_until = $1::timestamptz + $2::interval
			WHERE NOT hooked AND GREATEST(hook_lease_until, scored_at + $2::interval) < $1
			RETURNING account_id)
		INSERT INTO rescore_queue (account_id)
		SELECT account_id FROM orphan ORDER BY account_id
		`+requeueOnConflict, now, lease)
	if err != nil {
		return 0, fmt.Errorf("queue undecided scores: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// GetScore returns the stored current score of an account, or ErrNotFound.
func (s *Store) GetScore(ctx context.Context, accountID string) (*scoring.Result, error) {
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT result FROM account_scores WHERE account_id = $1`, accountID).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("score of %s: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("score of %s: %w", accountID, err)
	}
	var r scoring.Result
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, fmt.Errorf("score of %s: %w", accountID, err)
	}
	return &r, nil
}

// TopScores returns the highest current scores, best first, optionally
// only of one tier; limit is capped at 100.
func (s *Store) TopScores(ctx context.Context, limit int, tier string) ([]scoring.Result, error) {
	limit = max(1, min(limit, 100))
	rows, err := s.pool.Query(ctx, `
		SELECT result FROM account_scores
		WHERE ($2 = '' OR tier = $2)
		ORDER BY score DESC, account_id LIMIT $1`, limit, tier)
	if err != nil {
		return nil, fmt.Errorf("top scores: %w", err)
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("top scores: %w", err)
	}
	out := make([]scoring.Result, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal(d, &out[i]); err != nil {
			return nil, fmt.Errorf("top scores: %w", err)
		}
	}
	return out, nil
}

// FindAccount resolves what a person types after `/pql score`: an account
// id, a domain (any case, with or without scheme, www. or path) or a user's
// email. When several accounts share a domain, the most recently active
// wins. It returns ErrNotFound when nothing matches.
func (s *Store) FindAccount(ctx context.Context, query string) (string, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return "", fmt.Errorf("find account: empty query: %w", ErrNotFound)
	}
	var id string
	err := s.pool.QueryRow(ctx, `SELECT account_id FROM accounts WHERE account_id = $1`, q).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("find account %q: %w", q, err)
	}
	if strings.Contains(q, "@") {
		// The user's current group, else the first group it was linked to.
		err = s.pool.QueryRow(ctx, `
			SELECT coalesce(u.account_id, first.account_id)
			FROM users u LEFT JOIN LATERAL (
				SELECT au.account_id FROM account_users au WHERE au.user_id = u.user_id
				ORDER BY au.linked_at LIMIT 1) first ON true
			WHERE lower(u.email) = lower($1) AND coalesce(u.account_id, first.account_id) IS NOT NULL
			ORDER BY u.updated_at DESC LIMIT 1`, q).Scan(&id)
	} else {
		err = s.pool.QueryRow(ctx, `
			SELECT account_id FROM accounts WHERE lower(domain) = $1
			ORDER BY last_event_at DESC NULLS LAST, account_id LIMIT 1`, normalizeDomain(q)).Scan(&id)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("find account %q: %w", q, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("find account %q: %w", q, err)
	}
	return id, nil
}

// EnqueueStale queues every account whose stored score may no longer be
// what m gives at now:
//   - never scored, or scored under another model (a changed model file
//     re-scores everything once the new version runs);
//   - active within the longest window (plus a day) and not yet scored
//     today: a UTC day boundary moved its windows;
//   - disqualified until a moment that has passed since it was scored.
//
// Scores whose alert decision never ran are RequeueUndecided's, which
// runs every few seconds.
// It returns how many accounts it queued. Safe to run on every replica.
func (s *Store) EnqueueStale(ctx context.Context, now time.Time, m *model.Model) (int, error) {
	today := utcDay(now)
	cutoff := today.AddDate(0, 0, -(m.FactsSpec().MaxDays + 1))
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO rescore_queue (account_id)
		SELECT a.account_id FROM accounts a LEFT JOIN account_scores s USING (account_id)
		WHERE s.account_id IS NULL
		   OR s.model_hash <> $1
		   OR (a.last_event_at >= $2 AND s.scored_at < $3)
		   OR (a.disqualified_until <= $4 AND s.scored_at < a.disqualified_until)
		ORDER BY a.account_id
		`+requeueOnConflict, m.Hash, cutoff, today, now)
	if err != nil {
		return 0, fmt.Errorf("queue stale accounts: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
