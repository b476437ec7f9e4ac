package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/ingestplan"
	"github.com/pqlbot/pqlbot/internal/model"
)

// SourceOf maps a write key to the value stored in events.source: a short
// hash, so the key itself never lands in the database or its backups.
func SourceOf(writeKey string) string {
	h := sha256.Sum256([]byte(writeKey))
	return hex.EncodeToString(h[:8])
}

// IngestItem is one accepted request: its valid messages, the invalid ones
// for the quarantine, and the write key's source.
type IngestItem struct {
	Source   string
	Messages []events.Message
	Rejects  []events.Reject
}

// IngestResult says what a commit did.
type IngestResult struct {
	Inserted   int
	Duplicates int
	// Accounts were touched (new activity, traits or attribution) and are
	// queued for re-scoring.
	Accounts []string
}

// Ingest stores items in one transaction: the raw events (de-duplicated on
// source and messageId), user and account traits, group links, attribution
// of earlier unattributed events, daily roll-ups and the re-score queue.
// Roll-ups count only rows this transaction inserted, so a redelivered
// message is never counted twice.
func (s *Store) Ingest(ctx context.Context, items []IngestItem) (IngestResult, error) {
	return s.IngestWithOutcomes(ctx, items, nil)
}

// IngestWithOutcomes is Ingest that also records, in the same transaction,
// the outcomes that rules (the model's `outcomes`) find in what it stored:
// track events they name and group calls changing a trait they watch. It
// also gives imported outcomes waiting for an account to the accounts this
// commit created or gave a domain.
func (s *Store) IngestWithOutcomes(ctx context.Context, items []IngestItem, rules []model.OutcomeRule) (IngestResult, error) {
	return s.ingest(ctx, items, rules, nil)
}

// ingest is IngestWithOutcomes with the accounts of messages urgent
// reports queued for re-scoring without debounce.
func (s *Store) ingest(ctx context.Context, items []IngestItem, rules []model.OutcomeRule, urgent func(*events.Message) bool) (IngestResult, error) {
	var res IngestResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		res, err = ingestTx(ctx, tx, items, rules, urgent)
		return err
	})
	return res, err
}

func ingestTx(ctx context.Context, tx pgx.Tx, items []IngestItem, rules []model.OutcomeRule, urgent func(*events.Message) bool) (IngestResult, error) {
	var res IngestResult
	if err := insertRejects(ctx, tx, items); err != nil {
		return res, err
	}
	var msgs []ingestplan.Msg
	for _, it := range items {
		for i := range it.Messages {
			msgs = append(msgs, ingestplan.Msg{Source: it.Source, M: &it.Messages[i]})
		}
	}
	if len(msgs) == 0 {
		return res, nil
	}

	// A group call or merge and a concurrent commit that looks the same
	// ids up would otherwise miss each other: the lookup cannot see the
	// uncommitted link, and the link's back-fill cannot see the uncommitted
	// events. Per-id advisory locks (exclusive to link, shared to look up,
	// taken in key order) make one wait for the other; the persons the ids
	// resolve to are locked the same way once known. Links committed
	// before the locks tell which messages can no longer link anything
	// (ingestplan.IDs): those only look up.
	committed, err := readPersons(ctx, tx, ingestplan.LinkIDs(msgs))
	if err != nil {
		return res, err
	}
	exclusive, shared := ingestplan.IDs(msgs, committed)
	// The locks and the lookup go in one round trip: the lookup runs
	// after the locks are granted.
	b := &pgx.Batch{}
	fe := queueFilterEpoch(b)
	held := queueLockIDs(b, exclusive, shared, nil)
	known := queueReadLinks(b, append(exclusive, shared...))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return res, err
	}
	var exP, shP []string
	for _, id := range exclusive {
		exP = append(exP, personOf(known, id))
	}
	for _, id := range shared {
		shP = append(shP, personOf(known, id))
	}
	b = &pgx.Batch{}
	queueLockIDs(b, exP, shP, held)
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return res, err
		}
	}

	p := ingestplan.Build(msgs, known)
	res.Duplicates = p.Duplicates
	inserted, err := insertRows(ctx, tx, p.Rows, fe.epoch)
	if err != nil {
		return res, err
	}
	res.Inserted = len(inserted)
	res.Duplicates += len(p.Rows) - len(inserted)
	touched, err := applyMerges(ctx, tx, p.Merges)
	if err != nil {
		return res, err
	}
	backfilled, err := backfill(ctx, tx, p.Backfill, fe.epoch)
	if err != nil {
		return res, err
	}
	d := p.Rollup(func(source, id string) bool { _, ok := inserted[[2]string{source, id}]; return ok }, backfilled, touched)

	// Outcomes: tracks a rule names (new or just attributed) and group
	// traits a rule watches, per account.
	scope := newOutcomeScope(rules)
	for k := range d.Daily {
		if k.Kind == "track" {
			scope.track(k.Account, k.Name)
		}
	}
	changed := make([]string, 0, len(d.Accounts))
	for id, a := range d.Accounts {
		changed = append(changed, id)
		if len(a.Traits) > 0 {
			scope.group(id, a.Traits)
		}
	}
	slices.Sort(changed)
	hurry := make(map[string]bool)
	if urgent != nil {
		for _, r := range p.Rows {
			if _, ok := inserted[[2]string{r.Source, r.M.MessageID}]; ok && r.Account != "" && urgent(r.M) {
				hurry[r.Account] = true
			}
		}
	}

	res.Accounts = d.Rescore
	if len(d.Identified) > 0 {
		// A person's email feeds the derived email_domain trait of every
		// account they belong to: an identify changes their scores too.
		// (A membership this commit adds comes with its account queued.)
		rows, err := tx.Query(ctx, `SELECT DISTINCT account_id FROM account_users WHERE user_id = ANY($1)`, d.Identified)
		if err != nil {
			return res, fmt.Errorf("accounts of identified users: %w", err)
		}
		linked, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return res, fmt.Errorf("accounts of identified users: %w", err)
		}
		res.Accounts = append(slices.Clip(res.Accounts), linked...)
		slices.Sort(res.Accounts)
		res.Accounts = slices.Compact(res.Accounts)
	}

	// The roll-ups lock rows other commits touch too (a busy account's
	// accounts, account_daily and rescore_queue rows), so they go last and
	// in one round trip: each row lock is held for the time the statements
	// run and the commit, not for round trips through a busy client.
	// Every statement takes its rows in key order, and every commit runs
	// them in the same order, so commits queue behind each other instead
	// of deadlocking.
	b = &pgx.Batch{}
	queueUsers(b, d.Users)
	queueMemberships(b, d.Memberships)
	queueAccounts(b, d.Accounts)
	queueDaily(b, d.Daily, d.DailyUsers)
	queueFilterCounts(b, filtered(p.Rows, inserted, backfilled, fe), fe.epoch)
	queueMatchOutcomes(b, changed)
	queueRescore(b, res.Accounts, hurry)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return res, err
	}
	if accts := scope.accounts(); len(accts) > 0 {
		if _, err := deriveOutcomes(ctx, tx, rules, accts, false); err != nil {
			return res, err
		}
	}
	return res, nil
}

func personOf(l ingestplan.Links, id string) string {
	if p, ok := l.Person[id]; ok {
		return p
	}
	return id
}

// queueReadLinks queues the read of what the planner needs about ids:
// which person each belongs to, and each person's account. The returned
// Links are filled when the batch runs.
func queueReadLinks(b *pgx.Batch, ids []string) ingestplan.Links {
	l := ingestplan.Links{Person: map[string]string{}, Account: map[string]string{}}
	b.Queue(`
		SELECT x.id, i.person_id, u.user_id, u.account_id
		FROM unnest($1::text[]) AS x(id)
		LEFT JOIN identities i ON i.id = x.id
		LEFT JOIN users u ON u.user_id = coalesce(i.person_id, x.id) AND u.account_id IS NOT NULL`, ids).Fn = func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("look up identities: %w", err)
		}
		var id string
		var person, user, account *string
		_, err = pgx.ForEachRow(rows, []any{&id, &person, &user, &account}, func() error {
			if person != nil {
				l.Person[id] = *person
			}
			if user != nil && account != nil {
				l.Account[*user] = *account
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("look up identities: %w", err)
		}
		return nil
	}
	return l
}

// readPersons reads which person each of ids belongs to.
func readPersons(ctx context.Context, tx pgx.Tx, ids []string) (ingestplan.Links, error) {
	l := ingestplan.Links{Person: map[string]string{}, Account: map[string]string{}}
	if len(ids) == 0 {
		return l, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, person_id FROM identities WHERE id = ANY($1)`, ids)
	if err != nil {
		return l, fmt.Errorf("look up identities: %w", err)
	}
	for rows.Next() {
		var id, person string
		if err := rows.Scan(&id, &person); err != nil {
			return l, err
		}
		l.Person[id] = person
	}
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("look up identities: %w", err)
	}
	return l, nil
}

// insertRows stores the rows new to the events table, stamped with the
// filter epoch; it returns the events ids of the keys (source, message id)
// it inserted.
func insertRows(ctx context.Context, tx pgx.Tx, rows []ingestplan.Row, epoch int64) (map[[2]string]int64, error) {
	n := len(rows)
	var (
		src, mid, typ, name, uid, aid, acct = make([]string, n), make([]string, n), make([]string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		props, traits, ctxs, integ          = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		ts, recv                            = make([]time.Time, n), make([]time.Time, n)
		sent                                = make([]*time.Time, n)
	)
	for i, r := range rows {
		m := r.M
		src[i], mid[i], typ[i] = r.Source, m.MessageID, m.Type
		name[i], uid[i], aid[i], acct[i] = nullable(m.Name), nullable(m.UserID), nullable(m.AnonymousID), nullable(r.Account)
		if m.Kind() == "" {
			name[i] = nil
		}
		props[i], traits[i], ctxs[i], integ[i] = nullableJSON(m.Properties), nullableJSON(m.Traits), nullableJSON(m.Context), nullableJSON(m.Integrations)
		ts[i], recv[i] = m.Timestamp, m.ReceivedAt
		if !m.SentAt.IsZero() {
			t := m.SentAt
			sent[i] = &t
		}
	}
	res, err := tx.Query(ctx, `
		INSERT INTO events (source, message_id, type, name, user_id, anonymous_id, account_id, properties, traits, context, integrations, ts, sent_at, received_at, filter_epoch)
		SELECT s, m, t, nm, u, a, ac, p::jsonb, tr::jsonb, c::jsonb, ig::jsonb, ts, sa, ra, $15
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[])
		     AS x(s, m, t, nm, u, a, ac, p, tr, c, ig, ts, sa, ra)
		ON CONFLICT (source, message_id) DO NOTHING
		RETURNING source, message_id, id`,
		src, mid, typ, name, uid, aid, acct, props, traits, ctxs, integ, ts, sent, recv, epoch)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	ids := make(map[[2]string]int64, n)
	for res.Next() {
		var k [2]string
		var id int64
		if err := res.Scan(&k[0], &k[1], &id); err != nil {
			return nil, err
		}
		ids[k] = id
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	return ids, nil
}

// filtered lists the events of this commit that a filter may count: the
// rows it stored with an account, and the earlier ones it attributed,
// whose name some filter counts.
func filtered(rows []ingestplan.Row, ids map[[2]string]int64, backfilled []ingestplan.Backfilled, fe *filterEpoch) []int64 {
	if len(fe.names) == 0 {
		return nil
	}
	var out []int64
	for _, r := range rows {
		if id, ok := ids[[2]string{r.Source, r.M.MessageID}]; ok && r.Account != "" && fe.names[r.M.Name] {
			out = append(out, id)
		}
	}
	for _, b := range backfilled {
		if fe.names[b.Name] {
			out = append(out, b.EventID)
		}
	}
	return out
}

// applyMerges records each merge (the identity table stays flat: every id
// points straight at its person) and moves the merged person's active-user
// days to the person it joined, so distinct-user counts count people. It
// returns the accounts whose active users changed.
func applyMerges(ctx context.Context, tx pgx.Tx, merges []ingestplan.Merge) ([]string, error) {
	if len(merges) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	for _, m := range merges {
		b.Queue(`INSERT INTO identities (id, person_id) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET person_id = EXCLUDED.person_id, linked_at = now()`, m.From, m.Into)
		b.Queue(`UPDATE identities SET person_id = $2 WHERE person_id = $1`, m.From, m.Into)
		b.Queue(`WITH moved AS (DELETE FROM account_daily_users WHERE user_id = $1 RETURNING account_id, day),
			     ins AS (INSERT INTO account_daily_users (account_id, day, user_id) SELECT account_id, day, $2 FROM moved ON CONFLICT DO NOTHING)
			SELECT DISTINCT account_id FROM moved`, m.From, m.Into)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	var touched []string
	for range merges {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("merge identities: %w", err)
		}
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("merge identities: %w", err)
		}
		rows, err := br.Query()
		if err != nil {
			return nil, fmt.Errorf("merge active users: %w", err)
		}
		accts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("merge active users: %w", err)
		}
		touched = append(touched, accts...)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("merge identities: %w", err)
	}
	return touched, nil
}

// backfill attributes the waiting events of every id of each person to the
// account the plan gives it, and reports them for the roll-ups.
func backfill(ctx context.Context, tx pgx.Tx, links []ingestplan.Link, epoch int64) ([]ingestplan.Backfilled, error) {
	if len(links) == 0 {
		return nil, nil
	}
	lp, la := make([]string, len(links)), make([]string, len(links))
	for i, l := range links {
		lp[i], la[i] = l.Person, l.Account
	}
	rows, err := tx.Query(ctx, `
		UPDATE events e SET account_id = l.a, filter_epoch = $3
		FROM (SELECT l.p, l.a, x.id
		      FROM unnest($1::text[], $2::text[]) AS l(p, a)
		      CROSS JOIN LATERAL (SELECT l.p UNION SELECT id FROM identities WHERE person_id = l.p) AS x(id)) AS l
		WHERE e.account_id IS NULL AND coalesce(e.user_id, e.anonymous_id) = l.id
		RETURNING e.account_id, e.type, coalesce(e.name, ''), l.p, e.ts, e.properties, e.id`, lp, la, epoch)
	if err != nil {
		return nil, fmt.Errorf("attribute earlier events: %w", err)
	}
	var out []ingestplan.Backfilled
	for rows.Next() {
		var b ingestplan.Backfilled
		var props []byte
		if err := rows.Scan(&b.Account, &b.Type, &b.Name, &b.Person, &b.At, &props, &b.EventID); err != nil {
			return nil, err
		}
		b.Sums = events.NumericSums(props)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attribute earlier events: %w", err)
	}
	return out, nil
}

func userLockKey(user string) int64 {
	h := fnv.New64a()
	h.Write([]byte("pqlbot-user:"))
	h.Write([]byte(user))
	return int64(h.Sum64())
}

// queueLockIDs queues per-id advisory locks in key order, skipping keys
// already held; it returns the keys held once the batch has run.
func queueLockIDs(b *pgx.Batch, exclusive, shared []string, held map[int64]bool) map[int64]bool {
	mode := make(map[int64]bool) // key -> exclusive
	for _, u := range exclusive {
		mode[userLockKey(u)] = true
	}
	for _, u := range shared {
		k := userLockKey(u)
		if _, ok := mode[k]; !ok {
			mode[k] = false
		}
	}
	out := maps.Clone(held)
	if out == nil {
		out = map[int64]bool{}
	}
	keys := make([]int64, 0, len(mode))
	for k, x := range mode {
		if was, ok := held[k]; ok && (was || !x) {
			continue // already held at least as strongly
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return out
	}
	slices.Sort(keys)
	excl := make([]bool, len(keys))
	for i, k := range keys {
		excl[i] = mode[k]
		out[k] = mode[k] || out[k]
	}
	queueExec(b, "lock users", `
		SELECT CASE WHEN x THEN pg_advisory_xact_lock(k)::text ELSE pg_advisory_xact_lock_shared(k)::text END
		FROM unnest($1::bigint[], $2::bool[]) WITH ORDINALITY AS l(k, x, o) ORDER BY o`, keys, excl)
	return out
}

func queueUsers(b *pgx.Batch, users map[string]*ingestplan.UserDelta) {
	if len(users) == 0 {
		return
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	emails, traits, accts := make([]*string, len(ids)), make([]string, len(ids)), make([]*string, len(ids))
	for i, id := range ids {
		u := users[id]
		emails[i], accts[i] = nullable(u.Email), nullable(u.Account)
		traits[i] = traitsJSON(u.TraitsJSON, u.Traits)
	}
	queueExec(b, "upsert users", `
		INSERT INTO users (user_id, email, traits, account_id)
		SELECT u, e, t::jsonb, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(u, e, t, a)
		ON CONFLICT (user_id) DO UPDATE SET
			email = coalesce(EXCLUDED.email, users.email),
			traits = users.traits || EXCLUDED.traits,
			account_id = coalesce(EXCLUDED.account_id, users.account_id),
			updated_at = now()`, ids, emails, traits, accts)
}

func queueAccounts(b *pgx.Batch, accts map[string]*ingestplan.AccountDelta) {
	if len(accts) == 0 {
		return
	}
	ids := make([]string, 0, len(accts))
	for id := range accts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	traits := make([]string, len(ids))
	names, domains := make([]*string, len(ids)), make([]*string, len(ids))
	first, last := make([]*time.Time, len(ids)), make([]*time.Time, len(ids))
	for i, id := range ids {
		d := accts[id]
		traits[i] = traitsJSON(d.TraitsJSON, d.Traits)
		if s, ok := d.Traits["name"].(string); ok {
			names[i] = &s
		}
		for _, k := range []string{"domain", "website"} {
			if s, ok := d.Traits[k].(string); ok && s != "" {
				s := normalizeDomain(s)
				domains[i] = &s
				break
			}
		}
		if !d.First.IsZero() {
			t := d.First
			first[i] = &t
		}
		if !d.Last.IsZero() {
			t := d.Last
			last[i] = &t
		}
	}
	queueExec(b, "upsert accounts", `
		INSERT INTO accounts (account_id, name, domain, traits, first_event_at, last_event_at)
		SELECT id, n, d, t::jsonb, f, l FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS x(id, n, d, t, f, l)
		ON CONFLICT (account_id) DO UPDATE SET
			name = coalesce(EXCLUDED.name, accounts.name),
			domain = coalesce(EXCLUDED.domain, accounts.domain),
			traits = accounts.traits || EXCLUDED.traits,
			first_event_at = LEAST(accounts.first_event_at, EXCLUDED.first_event_at),
			last_event_at = GREATEST(accounts.last_event_at, EXCLUDED.last_event_at),
			updated_at = now()`, ids, names, domains, traits, first, last)
}

func queueDaily(b *pgx.Batch, daily map[ingestplan.DayKey]*ingestplan.DayAgg, users map[ingestplan.DayUserKey]bool) {
	if len(daily) > 0 {
		keys := make([]ingestplan.DayKey, 0, len(daily))
		for k := range daily {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b ingestplan.DayKey) int {
			return cmp.Or(cmp.Compare(a.Account, b.Account), a.Day.Compare(b.Day), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
		})
		accts, kinds, names, sums := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
		days := make([]time.Time, len(keys))
		ns := make([]int64, len(keys))
		for i, k := range keys {
			accts[i], kinds[i], names[i], days[i] = k.Account, k.Kind, k.Name, k.Day
			ns[i] = daily[k].N
			sums[i] = mustJSON(daily[k].Sums)
		}
		queueExec(b, "roll up daily counts", `
			INSERT INTO account_daily AS d (account_id, day, kind, name, n, sums)
			SELECT a, dy, k, nm, n, s::jsonb FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS x(a, dy, k, nm, n, s)
			ON CONFLICT (account_id, day, kind, name) DO UPDATE SET `+addDailySQL,
			accts, days, kinds, names, ns, sums)
	}
	if len(users) > 0 {
		keys := make([]ingestplan.DayUserKey, 0, len(users))
		for k := range users {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b ingestplan.DayUserKey) int {
			return cmp.Or(cmp.Compare(a.Account, b.Account), a.Day.Compare(b.Day), cmp.Compare(a.Person, b.Person))
		})
		accts, us := make([]string, len(keys)), make([]string, len(keys))
		days := make([]time.Time, len(keys))
		for i, k := range keys {
			accts[i], us[i], days[i] = k.Account, k.Person, k.Day
		}
		queueExec(b, "roll up daily users", `
			INSERT INTO account_daily_users (account_id, day, user_id)
			SELECT * FROM unnest($1::text[], $2::date[], $3::text[])
			ON CONFLICT DO NOTHING`, accts, days, us)
	}
}

// queueExec queues a statement whose error names what failed.
func queueExec(b *pgx.Batch, what, sql string, args ...any) {
	b.Queue(sql, args...).Fn = func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
}

// queueMatchOutcomes gives imported outcomes waiting for an account to the
// accounts that now exist: by account id first, else by domain (the
// account first seen wins when several share it). Almost always nothing
// waits, and the one-time EXISTS filter then spares the join.
func queueMatchOutcomes(b *pgx.Batch, ids []string) {
	if len(ids) == 0 {
		return
	}
	queueExec(b, "match imported outcomes", `
		WITH waiting AS (
			SELECT o.id, o.account_ref, o.ref_domain FROM outcomes o
			WHERE EXISTS (SELECT 1 FROM outcomes WHERE account_id IS NULL)
			  AND o.account_id IS NULL AND (o.account_ref = ANY($1)
			   OR o.ref_domain IN (SELECT domain FROM accounts WHERE account_id = ANY($1)))
		)
		UPDATE outcomes o SET account_id = (
			SELECT a.account_id FROM accounts a
			WHERE a.account_id = w.account_ref OR a.domain = w.ref_domain
			ORDER BY (a.account_id = w.account_ref) DESC, a.first_event_at NULLS LAST, a.account_id
			LIMIT 1)
		FROM waiting w
		WHERE o.id = w.id`, ids)
}

func queueMemberships(b *pgx.Batch, links []ingestplan.Link) {
	if len(links) == 0 {
		return
	}
	la, lu := make([]string, len(links)), make([]string, len(links))
	for i, l := range links {
		la[i], lu[i] = l.Account, l.Person
	}
	queueExec(b, "link users", `
		INSERT INTO account_users (account_id, user_id)
		SELECT a, u FROM unnest($1::text[], $2::text[]) AS x(a, u)
		ON CONFLICT DO NOTHING`, la, lu)
}

// queueRescore queues the accounts, hand-raises (hurry) without the
// re-scorer's debounce.
//
// It never waits for a re-score batch to finish scoring and writes nothing
// for an account already queued and not claimed, the usual case for a busy
// account. It holds a shared advisory lock on each account until this
// commit: a batch that claims one of them meanwhile waits for it before
// reading facts (see ScoreQueued), and a claim made before is seen here
// and its row's version bumped, which keeps the account queued after that
// batch. The bump comes first: a claimed row that the batch deletes
// meanwhile (it read its facts without these events) makes the bump wait
// for that delete and find nothing, and the insert after it then queues
// the account again. The other order would find the row, insert nothing,
// then bump a row already gone (rescoreQueueSQL, TestIngestAroundABatchDelete).
func queueRescore(b *pgx.Batch, accts []string, hurry map[string]bool) {
	if len(accts) == 0 {
		return
	}
	flags := make([]bool, len(accts))
	for i, id := range accts {
		flags[i] = hurry[id]
	}
	queueExec(b, "queue re-score: lock accounts", rescoreQueueSQL[0], rescoreLockClass, rescoreLockKeys(accts))
	queueExec(b, "queue re-score again", rescoreQueueSQL[1], accts, flags)
	queueExec(b, "queue re-score", rescoreQueueSQL[2], accts, flags)
}

// rescoreQueueSQL are queueRescore's statements, in their order.
var rescoreQueueSQL = [3]string{
	`SELECT pg_advisory_xact_lock_shared($1, k) FROM unnest($2::int[]) WITH ORDINALITY AS x(k, o) ORDER BY o`,
	`UPDATE rescore_queue q SET version = q.version + (q.claim IS NOT NULL)::int, urgent = q.urgent OR x.u
	 FROM unnest($1::text[], $2::bool[]) AS x(id, u)
	 WHERE q.account_id = x.id AND (q.claim IS NOT NULL OR (x.u AND NOT q.urgent))`,
	`INSERT INTO rescore_queue (account_id, urgent) SELECT * FROM unnest($1::text[], $2::bool[])
	 ON CONFLICT (account_id) DO NOTHING`,
}

// normalizeDomain turns "https://www.Acme.com/x" into "acme.com".
func normalizeDomain(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	return strings.ToLower(strings.TrimPrefix(s, "www."))
}

func mustJSON[T any](v map[string]T) string {
	if len(v) == 0 {
		return "{}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// traitsJSON is a delta's traits as sent when one message gave them all,
// else the merged traits encoded.
func traitsJSON(sent json.RawMessage, merged map[string]any) string {
	if len(sent) > 0 {
		return string(sent)
	}
	return mustJSON(merged)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullableJSON(b json.RawMessage) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}

// retryable reports errors a whole commit may simply be retried after.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001" // deadlock, serialization
	}
	return false
}
