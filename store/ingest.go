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
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pqlbot/pqlbot/internal/events"
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

type flatMsg struct {
	source string
	m      *events.Message
	acct   string
}

type dayKey struct {
	acct, kind, name string
	day              time.Time
}

type dayUserKey struct {
	acct, user string
	day        time.Time
}

type acctDelta struct {
	traits      map[string]any
	first, last time.Time
}

type userDelta struct {
	email   string
	traits  map[string]any
	account string
}

func ingestTx(ctx context.Context, tx pgx.Tx, items []IngestItem, rules []model.OutcomeRule, urgent func(*events.Message) bool) (IngestResult, error) {
	var res IngestResult
	scope := newOutcomeScope(rules)
	if err := insertRejects(ctx, tx, items); err != nil {
		return res, err
	}
	// Flatten and drop repeats inside this commit; the unique constraint
	// handles repeats across commits.
	seen := make(map[[2]string]bool)
	var msgs []flatMsg
	for _, it := range items {
		for i := range it.Messages {
			m := &it.Messages[i]
			k := [2]string{it.Source, m.MessageID}
			if seen[k] {
				res.Duplicates++
				continue
			}
			seen[k] = true
			msgs = append(msgs, flatMsg{source: it.Source, m: m})
		}
	}
	if len(msgs) == 0 {
		return res, nil
	}

	// Attribution: context.groupId, else a group call in this commit, else
	// the user's stored link.
	links := make(map[string]string)
	for _, f := range msgs {
		if f.m.Type == events.TypeGroup {
			links[f.m.UserKey()] = f.m.GroupID
		}
	}
	var lookup []string
	for _, f := range msgs {
		if f.m.ContextGroupID == "" && f.m.Type != events.TypeGroup {
			if _, ok := links[f.m.UserKey()]; !ok {
				lookup = append(lookup, f.m.UserKey())
			}
		}
	}
	// A group call and a concurrent commit that looks the same user up
	// would otherwise miss each other: the lookup cannot see the uncommitted
	// link, and the link's back-fill cannot see the uncommitted events.
	// Per-user advisory locks (exclusive to link, shared to look up, taken
	// in key order) make one wait for the other.
	if err := lockUsers(ctx, tx, links, lookup); err != nil {
		return res, err
	}
	stored := make(map[string]string)
	if len(lookup) > 0 {
		rows, err := tx.Query(ctx, `SELECT user_id, account_id FROM users WHERE user_id = ANY($1) AND account_id IS NOT NULL`, dedupe(lookup))
		if err != nil {
			return res, fmt.Errorf("look up user links: %w", err)
		}
		for rows.Next() {
			var u, a string
			if err := rows.Scan(&u, &a); err != nil {
				return res, err
			}
			stored[u] = a
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("look up user links: %w", err)
		}
	}
	for i := range msgs {
		f := &msgs[i]
		switch {
		case f.m.Type == events.TypeGroup:
			f.acct = f.m.GroupID
		case f.m.ContextGroupID != "":
			f.acct = f.m.ContextGroupID
		case links[f.m.UserKey()] != "":
			f.acct = links[f.m.UserKey()]
		default:
			f.acct = stored[f.m.UserKey()]
		}
	}

	// Insert in key order so concurrent commits lock in the same order.
	sort.Slice(msgs, func(i, j int) bool {
		if msgs[i].source != msgs[j].source {
			return msgs[i].source < msgs[j].source
		}
		return msgs[i].m.MessageID < msgs[j].m.MessageID
	})
	n := len(msgs)
	var (
		src, mid, typ, name, uid, aid, acct = make([]string, n), make([]string, n), make([]string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		props, traits, ctxs                 = make([]*string, n), make([]*string, n), make([]*string, n)
		ts, recv                            = make([]time.Time, n), make([]time.Time, n)
		sent                                = make([]*time.Time, n)
	)
	for i, f := range msgs {
		src[i], mid[i], typ[i] = f.source, f.m.MessageID, f.m.Type
		name[i], uid[i], aid[i], acct[i] = nullable(f.m.Name), nullable(f.m.UserID), nullable(f.m.AnonymousID), nullable(f.acct)
		if f.m.Type != events.TypeTrack && f.m.Type != events.TypePage && f.m.Type != events.TypeScreen {
			name[i] = nil
		}
		props[i], traits[i], ctxs[i] = nullableJSON(f.m.Properties), nullableJSON(f.m.Traits), nullableJSON(f.m.Context)
		ts[i], recv[i] = f.m.Timestamp, f.m.ReceivedAt
		if !f.m.SentAt.IsZero() {
			t := f.m.SentAt
			sent[i] = &t
		}
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO events (source, message_id, type, name, user_id, anonymous_id, account_id, properties, traits, context, ts, sent_at, received_at)
		SELECT s, m, t, nm, u, a, ac, p::jsonb, tr::jsonb, c::jsonb, ts, sa, ra
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
		     AS x(s, m, t, nm, u, a, ac, p, tr, c, ts, sa, ra)
		ON CONFLICT (source, message_id) DO NOTHING
		RETURNING source, message_id`,
		src, mid, typ, name, uid, aid, acct, props, traits, ctxs, ts, sent, recv)
	if err != nil {
		return res, fmt.Errorf("insert events: %w", err)
	}
	inserted := make(map[[2]string]bool, n)
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return res, err
		}
		inserted[k] = true
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("insert events: %w", err)
	}
	res.Inserted = len(inserted)
	res.Duplicates += n - len(inserted)

	fresh := msgs[:0:0]
	for _, f := range msgs {
		if inserted[[2]string{f.source, f.m.MessageID}] {
			fresh = append(fresh, f)
		}
	}
	// Apply in event-time order so the latest traits win.
	sort.SliceStable(fresh, func(i, j int) bool { return fresh[i].m.Timestamp.Before(fresh[j].m.Timestamp) })

	accts := make(map[string]*acctDelta)
	acctOf := func(id string) *acctDelta {
		d := accts[id]
		if d == nil {
			d = &acctDelta{}
			accts[id] = d
		}
		return d
	}
	users := make(map[string]*userDelta)
	userOf := func(id string) *userDelta {
		d := users[id]
		if d == nil {
			d = &userDelta{}
			users[id] = d
		}
		return d
	}
	daily := make(map[dayKey]*dayAgg)
	dailyUsers := make(map[dayUserKey]bool)
	addActivity := func(acct, kind, name, user string, at time.Time, sums map[string]float64) {
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		k := dayKey{acct: acct, kind: kind, name: name, day: day}
		a := daily[k]
		if a == nil {
			a = &dayAgg{}
			daily[k] = a
		}
		a.n++
		for p, v := range sums {
			if a.sums == nil {
				a.sums = make(map[string]float64)
			}
			a.sums[p] += v
		}
		if user != "" {
			dailyUsers[dayUserKey{acct: acct, user: user, day: day}] = true
		}
		d := acctOf(acct)
		d.first = minTime(d.first, at)
		d.last = maxTime(d.last, at)
	}
	var newLinks [][2]string // user, account
	var identified []string
	for _, f := range fresh {
		m := f.m
		switch m.Type {
		case events.TypeGroup:
			d := acctOf(m.GroupID)
			d.first = minTime(d.first, m.Timestamp)
			if t := decodeTraits(m.Traits); len(t) > 0 {
				scope.group(m.GroupID, t)
				if d.traits == nil {
					d.traits = make(map[string]any)
				}
				for k, v := range t {
					d.traits[k] = v
				}
			}
			userOf(m.UserKey()).account = m.GroupID
			newLinks = append(newLinks, [2]string{m.UserKey(), m.GroupID})
		case events.TypeIdentify:
			identified = append(identified, m.UserKey())
			u := userOf(m.UserKey())
			if t := decodeTraits(m.Traits); len(t) > 0 {
				if u.traits == nil {
					u.traits = make(map[string]any)
				}
				for k, v := range t {
					u.traits[k] = v
				}
				if e, ok := t["email"].(string); ok {
					u.email = e
				}
			}
		default:
			if kind := m.Kind(); kind != "" && f.acct != "" {
				addActivity(f.acct, kind, m.Name, m.UserKey(), m.Timestamp, m.Sums)
				if m.Type == events.TypeTrack {
					scope.track(f.acct, m.Name)
				}
			}
		}
	}

	// Events stored before their user's first group call are attributed now.
	if len(newLinks) > 0 {
		lu, la := make([]string, 0, len(newLinks)), make([]string, 0, len(newLinks))
		latest := make(map[string]string)
		for _, l := range newLinks {
			latest[l[0]] = l[1]
		}
		for u, a := range latest {
			lu, la = append(lu, u), append(la, a)
		}
		rows, err := tx.Query(ctx, `
			UPDATE events e SET account_id = l.a
			FROM unnest($1::text[], $2::text[]) AS l(u, a)
			WHERE e.account_id IS NULL AND coalesce(e.user_id, e.anonymous_id) = l.u
			RETURNING e.account_id, e.type, coalesce(e.name, ''), coalesce(e.user_id, e.anonymous_id), e.ts, e.properties`, lu, la)
		if err != nil {
			return res, fmt.Errorf("attribute earlier events: %w", err)
		}
		for rows.Next() {
			var acct, typ, nm, user string
			var at time.Time
			var props []byte
			if err := rows.Scan(&acct, &typ, &nm, &user, &at, &props); err != nil {
				return res, err
			}
			m := events.Message{Type: typ}
			if kind := m.Kind(); kind != "" {
				addActivity(acct, kind, nm, user, at.UTC(), events.NumericSums(props))
			}
			if typ == events.TypeTrack {
				scope.track(acct, nm)
			}
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("attribute earlier events: %w", err)
		}
	}

	if err := upsertUsers(ctx, tx, users); err != nil {
		return res, err
	}
	if len(newLinks) > 0 {
		sort.Slice(newLinks, func(i, j int) bool {
			if newLinks[i][1] != newLinks[j][1] {
				return newLinks[i][1] < newLinks[j][1]
			}
			return newLinks[i][0] < newLinks[j][0]
		})
		lu, la := make([]string, len(newLinks)), make([]string, len(newLinks))
		for i, l := range newLinks {
			lu[i], la[i] = l[0], l[1]
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO account_users (account_id, user_id)
			SELECT DISTINCT a, u FROM unnest($1::text[], $2::text[]) AS x(a, u) ORDER BY a, u
			ON CONFLICT DO NOTHING`, la, lu); err != nil {
			return res, fmt.Errorf("link users: %w", err)
		}
	}
	if err := upsertAccounts(ctx, tx, accts); err != nil {
		return res, err
	}
	if err := upsertDaily(ctx, tx, daily, dailyUsers); err != nil {
		return res, err
	}
	if err := recordOutcomes(ctx, tx, rules, scope, accts); err != nil {
		return res, err
	}
	queue := make(map[string]bool, len(accts))
	for id := range accts {
		queue[id] = true
	}
	// A user's email feeds the derived email_domain trait of the accounts
	// the user belongs to: an identify changes their scores too.
	if len(identified) > 0 {
		rows, err := tx.Query(ctx, `SELECT DISTINCT account_id FROM account_users WHERE user_id = ANY($1)`, identified)
		if err != nil {
			return res, fmt.Errorf("accounts of identified users: %w", err)
		}
		linked, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return res, fmt.Errorf("accounts of identified users: %w", err)
		}
		for _, id := range linked {
			queue[id] = true
		}
	}
	ids := make([]string, 0, len(queue))
	for id := range queue {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		hurry := make(map[string]bool)
		if urgent != nil {
			for _, f := range fresh {
				if f.acct != "" && urgent(f.m) {
					hurry[f.acct] = true
				}
			}
		}
		flags := make([]bool, len(ids))
		for i, id := range ids {
			flags[i] = hurry[id]
		}
		// DO UPDATE (not DO NOTHING) locks an existing row: a scorer that
		// took it with SKIP LOCKED before these events were visible makes
		// this wait and queue the account again, and a scorer that comes
		// later skips it until these events are committed. An urgent
		// entry stays urgent until scored.
		if _, err := tx.Exec(ctx, `
			INSERT INTO rescore_queue (account_id, urgent) SELECT * FROM unnest($1::text[], $2::bool[])
			ON CONFLICT (account_id) DO UPDATE SET urgent = rescore_queue.urgent OR EXCLUDED.urgent`, ids, flags); err != nil {
			return res, fmt.Errorf("queue re-score: %w", err)
		}
	}
	res.Accounts = ids
	return res, nil
}

func userLockKey(user string) int64 {
	h := fnv.New64a()
	h.Write([]byte("pqlbot-user:"))
	h.Write([]byte(user))
	return int64(h.Sum64())
}

func lockUsers(ctx context.Context, tx pgx.Tx, links map[string]string, lookup []string) error {
	mode := make(map[int64]bool) // key -> exclusive
	for u := range links {
		mode[userLockKey(u)] = true
	}
	for _, u := range lookup {
		k := userLockKey(u)
		if _, ok := mode[k]; !ok {
			mode[k] = false
		}
	}
	if len(mode) == 0 {
		return nil
	}
	keys := make([]int64, 0, len(mode))
	for k := range mode {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	excl := make([]bool, len(keys))
	for i, k := range keys {
		excl[i] = mode[k]
	}
	_, err := tx.Exec(ctx, `
		SELECT CASE WHEN x THEN pg_advisory_xact_lock(k)::text ELSE pg_advisory_xact_lock_shared(k)::text END
		FROM unnest($1::bigint[], $2::bool[]) WITH ORDINALITY AS l(k, x, o) ORDER BY o`, keys, excl)
	if err != nil {
		return fmt.Errorf("lock users: %w", err)
	}
	return nil
}

type dayAgg struct {
	n    int64
	sums map[string]float64
}

func upsertUsers(ctx context.Context, tx pgx.Tx, users map[string]*userDelta) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	emails, traits, accts := make([]*string, len(ids)), make([]string, len(ids)), make([]*string, len(ids))
	for i, id := range ids {
		u := users[id]
		emails[i], accts[i] = nullable(u.email), nullable(u.account)
		traits[i] = mustJSON(u.traits)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO users (user_id, email, traits, account_id)
		SELECT u, e, t::jsonb, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(u, e, t, a)
		ON CONFLICT (user_id) DO UPDATE SET
			email = coalesce(EXCLUDED.email, users.email),
			traits = users.traits || EXCLUDED.traits,
			account_id = coalesce(EXCLUDED.account_id, users.account_id),
			updated_at = now()`, ids, emails, traits, accts)
	if err != nil {
		return fmt.Errorf("upsert users: %w", err)
	}
	return nil
}

func upsertAccounts(ctx context.Context, tx pgx.Tx, accts map[string]*acctDelta) error {
	if len(accts) == 0 {
		return nil
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
		traits[i] = mustJSON(d.traits)
		if s, ok := d.traits["name"].(string); ok {
			names[i] = &s
		}
		for _, k := range []string{"domain", "website"} {
			if s, ok := d.traits[k].(string); ok && s != "" {
				s := normalizeDomain(s)
				domains[i] = &s
				break
			}
		}
		if !d.first.IsZero() {
			t := d.first
			first[i] = &t
		}
		if !d.last.IsZero() {
			t := d.last
			last[i] = &t
		}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO accounts (account_id, name, domain, traits, first_event_at, last_event_at)
		SELECT id, n, d, t::jsonb, f, l FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS x(id, n, d, t, f, l)
		ON CONFLICT (account_id) DO UPDATE SET
			name = coalesce(EXCLUDED.name, accounts.name),
			domain = coalesce(EXCLUDED.domain, accounts.domain),
			traits = accounts.traits || EXCLUDED.traits,
			first_event_at = LEAST(accounts.first_event_at, EXCLUDED.first_event_at),
			last_event_at = GREATEST(accounts.last_event_at, EXCLUDED.last_event_at),
			updated_at = now()`, ids, names, domains, traits, first, last)
	if err != nil {
		return fmt.Errorf("upsert accounts: %w", err)
	}
	return nil
}

func upsertDaily(ctx context.Context, tx pgx.Tx, daily map[dayKey]*dayAgg, users map[dayUserKey]bool) error {
	if len(daily) > 0 {
		keys := make([]dayKey, 0, len(daily))
		for k := range daily {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b dayKey) int {
			return cmp.Or(cmp.Compare(a.acct, b.acct), a.day.Compare(b.day), cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name))
		})
		accts, kinds, names, sums := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
		days := make([]time.Time, len(keys))
		ns := make([]int64, len(keys))
		for i, k := range keys {
			accts[i], kinds[i], names[i], days[i] = k.acct, k.kind, k.name, k.day
			ns[i] = daily[k].n
			sums[i] = mustJSON(daily[k].sums)
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO account_daily AS d (account_id, day, kind, name, n, sums)
			SELECT a, dy, k, nm, n, s::jsonb FROM unnest($1::text[], $2::date[], $3::text[], $4::text[], $5::bigint[], $6::text[]) AS x(a, dy, k, nm, n, s)
			ON CONFLICT (account_id, day, kind, name) DO UPDATE SET
				n = d.n + EXCLUDED.n,
				sums = CASE WHEN EXCLUDED.sums = '{}'::jsonb THEN d.sums ELSE (
					SELECT jsonb_object_agg(k, coalesce((d.sums->>k)::numeric, 0) + coalesce((EXCLUDED.sums->>k)::numeric, 0))
					FROM jsonb_object_keys(d.sums || EXCLUDED.sums) AS k) END`,
			accts, days, kinds, names, ns, sums)
		if err != nil {
			return fmt.Errorf("roll up daily counts: %w", err)
		}
	}
	if len(users) > 0 {
		keys := make([]dayUserKey, 0, len(users))
		for k := range users {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b dayUserKey) int {
			return cmp.Or(cmp.Compare(a.acct, b.acct), a.day.Compare(b.day), cmp.Compare(a.user, b.user))
		})
		accts, us := make([]string, len(keys)), make([]string, len(keys))
		days := make([]time.Time, len(keys))
		for i, k := range keys {
			accts[i], us[i], days[i] = k.acct, k.user, k.day
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO account_daily_users (account_id, day, user_id)
			SELECT * FROM unnest($1::text[], $2::date[], $3::text[])
			ON CONFLICT DO NOTHING`, accts, days, us); err != nil {
			return fmt.Errorf("roll up daily users: %w", err)
		}
	}
	return nil
}

func decodeTraits(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
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

func dedupe(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// retryable reports errors a whole commit may simply be retried after.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001" // deadlock, serialization
	}
	return false
}
