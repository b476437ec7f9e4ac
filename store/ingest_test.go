package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/rescore"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

func trackMsg(id, user, group string, at time.Time) events.Message {
	return events.Message{Type: events.TypeTrack, MessageID: id, UserID: user, Name: "Workflow Completed", ContextGroupID: group, Timestamp: at, ReceivedAt: at}
}

func isQueued(t *testing.T, st *store.Store, account string) bool {
	t.Helper()
	var n int
	require.NoError(t, st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM rescore_queue WHERE account_id = $1`, account).Scan(&n))
	return n == 1
}

// A scorer that took the queue row before new events were committed must
// not leave them unscored: the ingest waits for it and queues the account
// again.
func TestIngestRequeuesAccountBeingScored(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{trackMsg("m1", "u1", "acme", now)}}})
	require.NoError(t, err)
	require.True(t, isQueued(t, st, "acme"))

	scorer, err := st.Pool().Begin(ctx)
	require.NoError(t, err)
	_, err = scorer.Exec(ctx, `DELETE FROM rescore_queue WHERE account_id = 'acme'`)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{trackMsg("m2", "u1", "acme", now)}}})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("ingest did not wait for the scorer holding the queue row: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, scorer.Commit(ctx))
	require.NoError(t, <-done)
	require.True(t, isQueued(t, st, "acme"), "the account is queued again for the events the scorer could not see")
}

// An identify changes the derived email_domain of the user's accounts, so
// it queues them for re-scoring.
func TestIdentifyQueuesLinkedAccounts(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{
		{Type: events.TypeGroup, MessageID: "g1", UserID: "u1", GroupID: "acme", Timestamp: now, ReceivedAt: now},
	}}})
	require.NoError(t, err)
	_, err = st.Pool().Exec(ctx, `DELETE FROM rescore_queue`)
	require.NoError(t, err)
	res, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{
		{Type: events.TypeIdentify, MessageID: "i1", UserID: "u1", Traits: []byte(`{"email":"ada@acme.io"}`), Timestamp: now, ReceivedAt: now},
	}}})
	require.NoError(t, err)
	require.Equal(t, []string{"acme"}, res.Accounts)
	require.True(t, isQueued(t, st, "acme"))
}

// The other order: an ingest commit that queued the account before a batch
// claimed it saw no claim, so it bumps nothing; the batch must wait for
// that commit before reading facts, or it would score without its events
// and empty the queue.
func TestBatchWaitsForIngestThatQueuedBeforeItsClaim(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{trackMsg("m1", "u1", "acme", now)}}})
	require.NoError(t, err)

	// What the ingest transaction does last, before its commit: an event
	// and the queue statements of queueRescore.
	ingest, err := st.Pool().Begin(ctx)
	require.NoError(t, err)
	defer ingest.Rollback(ctx) //nolint:errcheck
	_, err = ingest.Exec(ctx, `INSERT INTO events (source, message_id, type, name, user_id, account_id, ts, received_at)
		VALUES ('s', 'm2', 'track', 'Workflow Completed', 'u1', 'acme', $1, $1)`, now)
	require.NoError(t, err)
	_, err = ingest.Exec(ctx, `INSERT INTO account_daily (account_id, day, kind, name, n) VALUES ('acme', $1, 'track', 'Workflow Completed', 1)
		ON CONFLICT (account_id, day, kind, name) DO UPDATE SET n = account_daily.n + 1`, now.Truncate(24*time.Hour))
	require.NoError(t, err)
	_, err = ingest.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1, $2)`, store.RescoreLockClass, store.RescoreLockKeys([]string{"acme"})[0])
	require.NoError(t, err)

	m := model.Default()
	score := func(f *scoring.Facts) scoring.Result { return scoring.Evaluate(m, f, now) }
	done := make(chan []rescore.Scored, 1)
	go func() {
		got, err := st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), now, score)
		assert.NoError(t, err)
		done <- got
	}()
	select {
	case <-done:
		t.Fatal("the batch read facts while an ingest that queued before its claim was open")
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, ingest.Commit(ctx))
	got := <-done
	require.Len(t, got, 1)
	require.Equal(t, 2, int(got[0].Result.Signals[0].Count), "the batch saw the event committed while it waited")
}

// TestIngestAroundABatchDelete: an ingest commit whose queue statements
// straddle a batch's delete of the account's claimed row (the batch read
// its facts before these events) must leave the account queued. The
// statements run here in queueRescore's order, with the batch let go
// between the second and the third.
func TestIngestAroundABatchDelete(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{trackMsg("m1", "u1", "acme", now)}}})
	require.NoError(t, err)

	m := model.Default()
	scoring1, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), now, func(f *scoring.Facts) scoring.Result {
			close(scoring1)
			<-release
			return scoring.Evaluate(m, f, now)
		})
		done <- err
	}()
	<-scoring1 // the batch has claimed acme and read its facts

	ingest, err := st.Pool().Begin(ctx)
	require.NoError(t, err)
	defer ingest.Rollback(ctx) //nolint:errcheck
	_, err = ingest.Exec(ctx, `INSERT INTO events (source, message_id, type, name, user_id, account_id, ts, received_at)
		VALUES ('s', 'm2', 'track', 'Workflow Completed', 'u1', 'acme', $1, $1)`, now)
	require.NoError(t, err)
	accts, flags := []string{"acme"}, []bool{false}
	_, err = ingest.Exec(ctx, store.RescoreQueueSQL[0], store.RescoreLockClass, store.RescoreLockKeys(accts))
	require.NoError(t, err)
	_, err = ingest.Exec(ctx, store.RescoreQueueSQL[1], accts, flags)
	require.NoError(t, err)
	close(release) // the batch saves and deletes the row it claimed, if it may
	select {
	case err := <-done:
		require.NoError(t, err)
		done <- nil
	case <-time.After(time.Second):
	}
	_, err = ingest.Exec(ctx, store.RescoreQueueSQL[2], accts, flags)
	require.NoError(t, err)
	require.NoError(t, ingest.Commit(ctx))
	require.NoError(t, <-done)
	require.True(t, isQueued(t, st, "acme"), "the account is queued for the events the batch did not see")
}

// Rows the database refuses fail only their own request, as ErrRejected,
// however the group commit grouped them.
func TestIngesterRejectsOnlyTheBadRequest(t *testing.T) {
	st := storetest.New(t)
	g := store.NewIngester(st, store.IngesterOptions{})
	defer g.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	bad := trackMsg("bad", "u0", "acme", now)
	bad.Properties = []byte(`{"x":"\u0000"}`) // validation would refuse it; the store must cope anyway
	errs := make(chan error, 21)
	for i := range 20 {
		go func() {
			errs <- g.Submit(ctx, "s", []events.Message{trackMsg(fmt.Sprint("m", i), "u1", "acme", now)}, nil)
		}()
	}
	go func() { errs <- g.Submit(ctx, "s", []events.Message{bad}, nil) }()
	var rejected int
	for range 21 {
		if err := <-errs; err != nil {
			require.ErrorIs(t, err, store.ErrRejected)
			rejected++
		}
	}
	require.Equal(t, 1, rejected)
	var n int
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n))
	require.Equal(t, 20, n)
}

// A value validation let through and the database refuses costs only its
// own message: the request is committed message by message, the refused
// one kept in the quarantine.
func TestIngesterQuarantinesWhatTheDatabaseRefuses(t *testing.T) {
	st := storetest.New(t)
	var refused int
	g := store.NewIngester(st, store.IngesterOptions{OnRefused: func(n int) { refused += n }})
	defer g.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	bad := trackMsg("bad", "u0", "acme", now)
	bad.Properties = []byte(`{"x":"\u0000"}`)
	bad.Raw = []byte(`{"messageId":"bad","properties":{"x":"\u0000"}}`)
	require.NoError(t, g.Submit(ctx, "s", []events.Message{trackMsg("m1", "u1", "acme", now), bad, trackMsg("m2", "u1", "acme", now)}, nil))
	var n int
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n))
	require.Equal(t, 2, n)
	rs, err := st.Rejects(ctx, now.Add(-time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, rs, 1)
	require.Equal(t, events.ReasonRefused, rs[0].Reason)
	require.Equal(t, string(bad.Raw), string(rs[0].Raw))
	require.Equal(t, 1, refused)
}

// Batch-level context and integrations reach every stored event, the
// message's own keys winning; a message sent without integrations stores
// NULL.
func TestIngestStoresMergedContextAndIntegrations(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	p, err := events.DecodeBatch([]byte(`{"integrations":{"All":true,"Salesforce":false},"context":{"library":{"name":"analytics-python"}},"batch":[
		{"type":"track","messageId":"m1","userId":"u1","event":"e","context":{"groupId":"acme"}},
		{"type":"track","messageId":"m2","userId":"u1","event":"e","integrations":{"Salesforce":true},"context":{"groupId":"acme","library":{"name":"own"}}}]}`), time.Now())
	require.NoError(t, err)
	require.Empty(t, p.Rejects)
	single, err := events.DecodeSingle(events.TypeTrack, []byte(`{"messageId":"m3","userId":"u1","event":"e"}`), time.Now())
	require.NoError(t, err)
	_, err = st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: append(p.Messages, single.Messages...)}})
	require.NoError(t, err)

	got := map[string][2]*string{}
	rows, err := st.Pool().Query(ctx, `SELECT message_id, integrations::text, context::text FROM events`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		var integ, c *string
		require.NoError(t, rows.Scan(&id, &integ, &c))
		got[id] = [2]*string{integ, c}
	}
	require.NoError(t, rows.Err())
	require.JSONEq(t, `{"All":true,"Salesforce":false}`, *got["m1"][0])
	require.JSONEq(t, `{"groupId":"acme","library":{"name":"analytics-python"}}`, *got["m1"][1])
	require.JSONEq(t, `{"All":true,"Salesforce":true}`, *got["m2"][0])
	require.JSONEq(t, `{"groupId":"acme","library":{"name":"own"}}`, *got["m2"][1])
	require.Nil(t, got["m3"][0])
	require.Nil(t, got["m3"][1])
}
