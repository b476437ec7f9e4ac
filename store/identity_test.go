package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

func ingestJSON(t *testing.T, st *store.Store, body string, at time.Time) store.IngestResult {
	t.Helper()
	p, err := events.DecodeBatch([]byte(body), at)
	require.NoError(t, err)
	require.Empty(t, p.Rejects)
	res, err := st.Ingest(context.Background(), []store.IngestItem{{Source: "s", Messages: p.Messages}})
	require.NoError(t, err)
	return res
}

func one(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, st.Pool().QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

// Pre-signup page views (the intent signal's reason to exist) count for
// the person and account once the anonymous id is linked, whichever commit
// each part arrives in; distinct users count the person once.
func TestAnonymousHistoryJoinsThePersonAcrossCommits(t *testing.T) {
	st := storetest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }

	// 1. Anonymous Pricing views, one of them attributed to acme by context
	// (so a1 is an active user of acme that day).
	ingestJSON(t, st, `{"batch":[
		{"type":"page","messageId":"p1","anonymousId":"a1","name":"Pricing","timestamp":"`+ts(3*time.Hour)+`"},
		{"type":"page","messageId":"p2","anonymousId":"a1","name":"Pricing","timestamp":"`+ts(170*time.Minute)+`","context":{"groupId":"acme"}}]}`, now)
	require.Equal(t, 1, one(t, st, `SELECT count(*) FROM events WHERE account_id IS NULL`))
	// 2. Signup: identify carries both ids.
	ingestJSON(t, st, `{"batch":[{"type":"identify","messageId":"i1","anonymousId":"a1","userId":"u1","traits":{"email":"ada@acme.io"},"timestamp":"`+ts(2*time.Hour)+`"}]}`, now)
	// 3. The user joins acme, and u1 is active there the same day.
	_, err := st.Pool().Exec(context.Background(), `DELETE FROM rescore_queue`)
	require.NoError(t, err)
	res := ingestJSON(t, st, `{"batch":[
		{"type":"group","messageId":"g1","userId":"u1","groupId":"acme","timestamp":"`+ts(time.Hour)+`"},
		{"type":"track","messageId":"t1","userId":"u1","event":"Workflow Completed","timestamp":"`+ts(time.Hour)+`"}]}`, now)
	require.Contains(t, res.Accounts, "acme")
	// 4. After the link, an anonymous-only event (an old tab) counts too.
	ingestJSON(t, st, `{"batch":[{"type":"page","messageId":"p3","anonymousId":"a1","name":"Pricing","timestamp":"`+ts(30*time.Minute)+`"}]}`, now)

	require.Equal(t, 0, one(t, st, `SELECT count(*) FROM events WHERE type IN ('page','track') AND account_id IS DISTINCT FROM 'acme'`))
	require.Equal(t, 3, one(t, st, `SELECT sum(n)::int FROM account_daily WHERE account_id = 'acme' AND kind = 'page' AND name = 'Pricing'`))
	require.Equal(t, 1, one(t, st, `SELECT sum(n)::int FROM account_daily WHERE account_id = 'acme' AND kind = 'track'`))
	require.Equal(t, []string{"u1"}, activeUsers(t, st, "acme"), "one person, not two ids")
	require.Equal(t, 1, one(t, st, `SELECT count(*) FROM identities WHERE id = 'a1' AND person_id = 'u1'`))
}

func activeUsers(t *testing.T, st *store.Store, account string) []string {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT DISTINCT user_id FROM account_daily_users WHERE account_id = $1 ORDER BY 1`, account)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		require.NoError(t, rows.Scan(&u))
		out = append(out, u)
	}
	require.NoError(t, rows.Err())
	return out
}

// alias merges a person into another: its ids, its active days (re-keyed,
// and the account re-scored) and its waiting events.
func TestAliasMergesPeople(t *testing.T) {
	st := storetest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	ts := now.Add(-time.Hour).Format(time.RFC3339)
	ingestJSON(t, st, `{"batch":[
		{"type":"group","messageId":"g1","userId":"new-id","groupId":"acme","timestamp":"`+ts+`"},
		{"type":"track","messageId":"t1","userId":"new-id","event":"E","timestamp":"`+ts+`"},
		{"type":"track","messageId":"t2","userId":"old-id","event":"E","timestamp":"`+ts+`","context":{"groupId":"acme"}},
		{"type":"track","messageId":"t3","anonymousId":"anon","event":"E","timestamp":"`+ts+`"},
		{"type":"identify","messageId":"i1","anonymousId":"anon","userId":"old-id","timestamp":"`+ts+`"}]}`, now)
	require.Equal(t, []string{"new-id", "old-id"}, activeUsers(t, st, "acme"))
	require.Equal(t, 1, one(t, st, `SELECT count(*) FROM events WHERE account_id IS NULL AND type = 'track'`), "anon's event waits: old-id has no account")
	_, err := st.Pool().Exec(context.Background(), `DELETE FROM rescore_queue`)
	require.NoError(t, err)

	res := ingestJSON(t, st, `{"batch":[{"type":"alias","messageId":"x1","previousId":"old-id","userId":"new-id"}]}`, now)
	require.Equal(t, []string{"acme"}, res.Accounts)
	require.Equal(t, []string{"new-id"}, activeUsers(t, st, "acme"), "distinct users count people")
	require.Equal(t, 0, one(t, st, `SELECT count(*) FROM events WHERE account_id IS NULL AND type = 'track'`), "anon → old-id → new-id: its event joins acme")
	require.Equal(t, 3, one(t, st, `SELECT sum(n)::int FROM account_daily WHERE account_id = 'acme'`))
	require.Equal(t, 2, one(t, st, `SELECT count(*) FROM identities WHERE person_id = 'new-id'`), "kept flat: anon and old-id point at new-id")
}

// A message carrying both ids takes an exclusive lock on them only while
// it can still link them: once the anonymous id belongs to a person (every
// call analytics.js makes after identify), it only looks up, and a
// concurrent lookup of the same user does not hold it up.
func TestLinkedIDsTakeSharedLocks(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ingestJSON(t, st, `{"batch":[{"type":"identify","messageId":"i1","anonymousId":"a1","userId":"u1"}]}`, now)

	// Another commit looking u1 and u2 up holds shared locks on them.
	other, err := st.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = other.Rollback(ctx) }()
	for _, id := range []string{"u1", "u2"} {
		_, err = other.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, store.UserLockKey(id))
		require.NoError(t, err)
	}

	ingestAsync := func(body string) chan error {
		done := make(chan error, 1)
		p, err := events.DecodeBatch([]byte(body), now)
		require.NoError(t, err)
		go func() {
			_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: p.Messages}})
			done <- err
		}()
		return done
	}

	// Already linked: proceeds beside it.
	done := ingestAsync(`{"batch":[{"type":"page","messageId":"p1","anonymousId":"a1","userId":"u1","name":"Pricing"}]}`)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("a message whose ids are already linked waited for a lookup")
	}
	require.Equal(t, 1, one(t, st, `SELECT count(*) FROM identities`), "nothing new to link")

	// A new link still waits for the lookup to finish.
	linked := ingestAsync(`{"batch":[{"type":"page","messageId":"p2","anonymousId":"a2","userId":"u2","name":"Pricing"}]}`)
	select {
	case <-linked:
		t.Fatal("a new link did not wait for the commit looking the user up")
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, other.Rollback(ctx))
	require.NoError(t, <-linked)
	require.Equal(t, 2, one(t, st, `SELECT count(*) FROM identities`))
}
