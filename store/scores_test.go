package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
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

func evaluator(m *model.Model, now time.Time) func(*scoring.Facts) scoring.Result {
	return func(f *scoring.Facts) scoring.Result { return scoring.Evaluate(m, f, now) }
}

func queued(t *testing.T, st *store.Store) []string {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `SELECT account_id FROM rescore_queue ORDER BY account_id`)
	require.NoError(t, err)
	var ids []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

func countRows(t *testing.T, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, st.Pool().QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

func track(id, user, group, name string, at time.Time) segMsg {
	return segMsg{Type: "track", ID: id, User: user, Group: group, Name: name, At: at}
}

func TestScoreQueuedSavesAndKeepsHistoryOfChanges(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	ctx := context.Background()
	ingestDirect(t, st, []segMsg{
		{Type: "group", ID: "g1", User: "u1", Group: "acme", At: scoreNow.Add(-48 * time.Hour), Traits: map[string]any{"employees": 80, "email_domain": "acme.com"}},
		track("t1", "u1", "acme", "Workflow Completed", scoreNow.Add(-time.Hour)),
	})
	require.Equal(t, []string{"acme"}, queued(t, st))

	scored, err := st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), scoreNow, evaluator(m, scoreNow))
	require.NoError(t, err)
	require.Len(t, scored, 1)
	require.True(t, scored[0].Saved, "first score")
	require.True(t, scored[0].Changed)
	require.Equal(t, 10, scored[0].Result.Score)
	require.Empty(t, queued(t, st))

	require.NoError(t, st.MarkHooked(ctx, []string{"acme"}, scoreNow))

	// More events: the score rises, history grows.
	ingestDirect(t, st, []segMsg{
		track("t2", "u1", "acme", "Workflow Completed", scoreNow.Add(-time.Hour)),
		track("t3", "u1", "acme", "Workflow Completed", scoreNow.Add(-time.Hour)),
	})
	later := scoreNow.Add(time.Minute)
	scored, err = st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), later, evaluator(m, later))
	require.NoError(t, err)
	require.Len(t, scored, 1)
	require.Equal(t, 35, scored[0].Result.Score)
	require.True(t, scored[0].Saved)
	require.True(t, scored[0].Changed)
	require.Equal(t, 10, countRows(t, st, `SELECT score FROM score_history WHERE account_id = 'acme' ORDER BY at LIMIT 1`), "history keeps the old score")

	// Re-scoring with nothing new, while the stored score's hook has not
	// run: written again (the hook must still run), no history.
	_, err = st.Pool().Exec(ctx, `INSERT INTO rescore_queue (account_id) VALUES ('acme')`)
	require.NoError(t, err)
	again := scoreNow.Add(2 * time.Minute)
	scored, err = st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), again, evaluator(m, again))
	require.NoError(t, err)
	require.True(t, scored[0].Saved, "an un-hooked score is rewritten")
	require.False(t, scored[0].Changed)
	require.Equal(t, 2, countRows(t, st, `SELECT count(*) FROM score_history WHERE account_id = 'acme'`))
	got, err := st.GetScore(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, again, got.At)
	require.NoError(t, st.MarkHooked(ctx, []string{"acme"}, again))

	// Nothing new, the hook ran, the stored row is recent: it is left
	// alone, so a busy account costs no rewrite of its explanation and no
	// decision.
	take := rescore.Take{Limit: 10, Refresh: time.Minute}
	_, err = st.Pool().Exec(ctx, `INSERT INTO rescore_queue (account_id) VALUES ('acme')`)
	require.NoError(t, err)
	again2 := again.Add(59 * time.Second)
	scored, err = st.ScoreQueued(ctx, take, m.FactsSpec(), again2, evaluator(m, again2))
	require.NoError(t, err)
	require.Len(t, scored, 1)
	require.False(t, scored[0].Saved)
	require.False(t, scored[0].Changed)
	require.Equal(t, again2, scored[0].Result.At, "the fresh result is handed back all the same")
	got, err = st.GetScore(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, again, got.At, "the stored row is the last change")
	require.Equal(t, 1, countRows(t, st, `SELECT count(*) FROM account_scores WHERE hooked`))

	// Once the stored row is Refresh old, the same score is written again
	// (un-hooked), so its decision is taken again.
	_, err = st.Pool().Exec(ctx, `INSERT INTO rescore_queue (account_id) VALUES ('acme')`)
	require.NoError(t, err)
	again3 := again.Add(time.Minute)
	scored, err = st.ScoreQueued(ctx, take, m.FactsSpec(), again3, evaluator(m, again3))
	require.NoError(t, err)
	require.True(t, scored[0].Saved)
	require.False(t, scored[0].Changed)
	require.Equal(t, 0, countRows(t, st, `SELECT count(*) FROM account_scores WHERE hooked`))
	require.Equal(t, 2, countRows(t, st, `SELECT count(*) FROM score_history WHERE account_id = 'acme'`))

	// A new model version is a change even at the same score.
	m2, err := model.Parse([]byte(strings.Replace(string(model.ExampleYAML()), `version: "2026-q4"`, `version: "2027-q1"`, 1)))
	require.NoError(t, err)
	_, err = st.Pool().Exec(ctx, `INSERT INTO rescore_queue (account_id) VALUES ('acme')`)
	require.NoError(t, err)
	v2 := scoreNow.Add(3 * time.Minute)
	scored, err = st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m2.FactsSpec(), v2, evaluator(m2, v2))
	require.NoError(t, err)
	require.True(t, scored[0].Changed)
	require.Equal(t, 3, countRows(t, st, `SELECT count(*) FROM score_history WHERE account_id = 'acme' AND model_version IN ('2026-q4', '2027-q1')`))
	require.Equal(t, 1, countRows(t, st, `SELECT count(*) FROM account_scores WHERE model_version = '2027-q1' AND model_hash = $1`, m2.Hash))
}

func TestSaveScoreIgnoresOlderResults(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	newer := scoring.Result{AccountID: "a", Score: 50, Tier: "mid", ModelVersion: "v", ModelHash: "h", At: scoreNow}
	older := scoring.Result{AccountID: "a", Score: 10, Tier: "low", ModelVersion: "v", ModelHash: "h", At: scoreNow.Add(-time.Minute)}
	changed, err := st.SaveScore(ctx, newer)
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = st.SaveScore(ctx, older)
	require.NoError(t, err)
	require.False(t, changed)
	got, err := st.GetScore(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, 50, got.Score)
	require.Equal(t, 1, countRows(t, st, `SELECT count(*) FROM score_history`))

	_, err = st.GetScore(ctx, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestScoreQueuedRollsBackOnFailure(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	for i := range 5 {
		ingestDirect(t, st, []segMsg{track(fmt.Sprintf("t%d", i), "u", fmt.Sprintf("acct%d", i), "Logged In", scoreNow.Add(-time.Hour))})
	}
	require.Len(t, queued(t, st), 5)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := st.ScoreQueued(ctx, rescore.Take{Limit: 3}, m.FactsSpec(), scoreNow, func(f *scoring.Facts) scoring.Result {
		cancel() // the process is shutting down mid-batch
		return scoring.Evaluate(m, f, scoreNow)
	})
	require.Error(t, err)
	require.Len(t, queued(t, st), 5, "the taken accounts are back in the queue")
	require.Equal(t, 0, countRows(t, st, `SELECT count(*) FROM account_scores`))
	scored, err := st.ScoreQueued(context.Background(), rescore.Take{Limit: 10}, m.FactsSpec(), scoreNow, evaluator(m, scoreNow))
	require.NoError(t, err)
	require.Len(t, scored, 5, "the failed batch handed its claims back at once")
}

// TestClaimOfADeadWorkerRunsOut: a worker that claimed accounts and died
// before its scores committed holds them only until its lease ends.
func TestClaimOfADeadWorkerRunsOut(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	ctx := context.Background()
	ingestDirect(t, st, []segMsg{track("t1", "u1", "acme", "Logged In", scoreNow.Add(-time.Hour))})
	_, err := st.Pool().Exec(ctx, `UPDATE rescore_queue SET claim = gen_random_uuid(), claimed_until = $1`, scoreNow.Add(10*time.Second))
	require.NoError(t, err)
	take := rescore.Take{Limit: 10, Lease: 10 * time.Second}
	scored, err := st.ScoreQueued(ctx, take, m.FactsSpec(), scoreNow.Add(5*time.Second), evaluator(m, scoreNow))
	require.NoError(t, err)
	require.Empty(t, scored, "claimed by a worker whose lease runs")
	// An ingest meanwhile neither waits nor loses the account.
	ingestDirect(t, st, []segMsg{track("t2", "u1", "acme", "Logged In", scoreNow.Add(-time.Hour))})
	later := scoreNow.Add(11 * time.Second)
	scored, err = st.ScoreQueued(ctx, take, m.FactsSpec(), later, evaluator(m, later))
	require.NoError(t, err)
	require.Len(t, scored, 1, "taken again once the lease ran out")
	require.Empty(t, queued(t, st))
}

func TestScoreQueuedConcurrentWorkersScoreEachAccountOnce(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	const accounts = 300
	var msgs []segMsg
	for i := range accounts {
		msgs = append(msgs, track(fmt.Sprintf("t%d", i), fmt.Sprintf("u%d", i), fmt.Sprintf("acct%03d", i), "Workflow Completed", scoreNow.Add(-time.Hour)))
	}
	ingestDirect(t, st, msgs)
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				scored, err := st.ScoreQueued(ctx, rescore.Take{Limit: 25}, m.FactsSpec(), scoreNow, evaluator(m, scoreNow))
				require.NoError(t, err)
				if len(scored) == 0 {
					return
				}
				mu.Lock()
				for _, s := range scored {
					seen[s.Result.AccountID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, accounts)
	for id, n := range seen {
		require.Equal(t, 1, n, id)
	}
	require.Empty(t, queued(t, st))
	require.Equal(t, accounts, countRows(t, st, `SELECT count(*) FROM account_scores`))
}

// TestEventsArrivingDuringABatchAreScoredLater is the race the claim's
// version exists for: an ingest commit for an account that a batch is
// scoring must not wait for the batch, and must leave the account queued
// for the next one.
func TestEventsArrivingDuringABatchAreScoredLater(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	ingestDirect(t, st, []segMsg{track("t1", "u1", "acme", "Workflow Completed", scoreNow.Add(-time.Hour))})
	ctx := context.Background()
	ingested := make(chan struct{})
	waited := false
	_, err := st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), scoreNow, func(f *scoring.Facts) scoring.Result {
		go func() {
			defer close(ingested)
			ingestDirect(t, st, []segMsg{
				track("t2", "u1", "acme", "Workflow Completed", scoreNow.Add(-time.Hour)),
				track("t3", "u1", "acme", "Workflow Completed", scoreNow.Add(-time.Hour)),
			})
		}()
		// The batch's transaction is open here: the ingest commits anyway.
		select {
		case <-ingested:
		case <-time.After(5 * time.Second):
			waited = true
		}
		return scoring.Evaluate(m, f, scoreNow)
	})
	require.NoError(t, err)
	<-ingested
	require.False(t, waited, "ingest waited for the re-score batch")
	require.Equal(t, []string{"acme"}, queued(t, st), "the new events queued the account again")
	scored, err := st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), scoreNow, evaluator(m, scoreNow))
	require.NoError(t, err)
	require.Equal(t, 3, int(scored[0].Result.Signals[0].Count), "the next batch sees all three events")
}

func TestFindAccount(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	ingestDirect(t, st, []segMsg{
		{Type: "identify", ID: "i1", User: "u1", Traits: map[string]any{"email": "Ann@Initech.com"}, At: scoreNow.Add(-time.Hour)},
		{Type: "group", ID: "g1", User: "u1", Group: "acct_initech", Traits: map[string]any{"domain": "https://www.Initech.com/about"}, At: scoreNow.Add(-time.Hour)},
		{Type: "group", ID: "g2", User: "u2", Group: "acct_old", Traits: map[string]any{"domain": "globex.io"}, At: scoreNow.Add(-72 * time.Hour)},
		{Type: "group", ID: "g3", User: "u3", Group: "acct_new", Traits: map[string]any{"domain": "globex.io"}, At: scoreNow.Add(-72 * time.Hour)},
		track("t1", "u3", "acct_new", "Logged In", scoreNow.Add(-time.Hour)),
		track("t2", "u2", "acct_old", "Logged In", scoreNow.Add(-48*time.Hour)),
	})
	tests := []struct{ query, want string }{
		{"acct_initech", "acct_initech"},
		{"initech.com", "acct_initech"},
		{"INITECH.COM", "acct_initech"},
		{"https://www.initech.com", "acct_initech"},
		{"  initech.com ", "acct_initech"},
		{"ann@initech.com", "acct_initech"},
		{"ANN@INITECH.COM", "acct_initech"},
		{"globex.io", "acct_new"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got, err := st.FindAccount(ctx, tt.query)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	for _, q := range []string{"", "nobody@nowhere.com", "nowhere.com", "acct_missing"} {
		_, err := st.FindAccount(ctx, q)
		require.True(t, errors.Is(err, store.ErrNotFound), "%q: %v", q, err)
	}
}

func TestEnqueueStale(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	ctx := context.Background()
	day := 24 * time.Hour
	ingestDirect(t, st, []segMsg{
		track("t1", "u1", "fresh", "Logged In", scoreNow.Add(-time.Hour)),       // scored today: not stale
		track("t2", "u2", "yesterday", "Logged In", scoreNow.Add(-2*day)),       // scored yesterday, recent activity
		track("t3", "u3", "dormant", "Logged In", scoreNow.Add(-60*day)),        // nothing can change any more
		track("t4", "u4", "oldmodel", "Logged In", scoreNow.Add(-60*day)),       // scored under another model
		track("t5", "u5", "undisqualified", "Logged In", scoreNow.Add(-60*day)), // disqualification ended
		track("t6", "u6", "unhooked", "Logged In", scoreNow.Add(-60*day)),       // hook never ran: RequeueUndecided's
		track("t7", "u7", "neverscored", "Logged In", scoreNow.Add(-60*day)),    // no score at all
		track("t8", "u8", "edge", "Logged In", scoreNow.Add(-32*day)),           // past the longest window (30 days) and its margin
	})
	_, err := st.Pool().Exec(ctx, `DELETE FROM rescore_queue`)
	require.NoError(t, err)
	save := func(id string, at time.Time, hash string, hooked bool) {
		_, err := st.SaveScore(ctx, scoring.Result{AccountID: id, ModelVersion: m.Version, ModelHash: hash, At: at})
		require.NoError(t, err)
		if hooked {
			require.NoError(t, st.MarkHooked(ctx, []string{id}, at))
		}
	}
	save("fresh", scoreNow.Add(-time.Hour), m.Hash, true)
	save("yesterday", scoreNow.Add(-day), m.Hash, true)
	save("dormant", scoreNow.Add(-day), m.Hash, true)
	save("oldmodel", scoreNow.Add(-time.Hour), "another-hash", true)
	save("undisqualified", scoreNow.Add(-day), m.Hash, true)
	save("unhooked", scoreNow.Add(-time.Hour), m.Hash, false)
	save("edge", scoreNow.Add(-day), m.Hash, true)
	_, err = st.Pool().Exec(ctx, `UPDATE accounts SET disqualified_until = $1 WHERE account_id = 'undisqualified'`, scoreNow.Add(-time.Hour))
	require.NoError(t, err)
	_, err = st.Pool().Exec(ctx, `UPDATE accounts SET disqualified_until = $1 WHERE account_id = 'dormant'`, scoreNow.Add(time.Hour))
	require.NoError(t, err)

	n, err := st.EnqueueStale(ctx, scoreNow, m)
	require.NoError(t, err)
	want := []string{"neverscored", "oldmodel", "undisqualified", "yesterday"}
	require.Equal(t, len(want), n)
	require.Equal(t, want, queued(t, st))

	// Idempotent, and safe while the rows are already queued.
	n, err = st.EnqueueStale(ctx, scoreNow, m)
	require.NoError(t, err)
	require.Equal(t, 0, n)
}

func TestMarkHookedMatchesTheScoredMoment(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	_, err := st.SaveScore(ctx, scoring.Result{AccountID: "a", At: scoreNow})
	require.NoError(t, err)
	require.NoError(t, st.MarkHooked(ctx, []string{"a"}, scoreNow.Add(-time.Second)))
	require.Equal(t, 0, countRows(t, st, `SELECT count(*) FROM account_scores WHERE hooked`), "a newer score keeps its own mark")
	require.NoError(t, st.MarkHooked(ctx, []string{"a"}, scoreNow))
	require.Equal(t, 1, countRows(t, st, `SELECT count(*) FROM account_scores WHERE hooked`))
}

func TestTopScores(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	for i, tier := range []string{"low", "high", "mid", "high", "low"} {
		_, err := st.SaveScore(ctx, scoring.Result{AccountID: fmt.Sprintf("a%d", i), Score: 10 * i, Tier: tier, At: scoreNow})
		require.NoError(t, err)
	}
	ids := func(rs []scoring.Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.AccountID)
		}
		return out
	}
	top, err := st.TopScores(ctx, 3, "")
	require.NoError(t, err)
	require.Equal(t, []string{"a4", "a3", "a2"}, ids(top))
	high, err := st.TopScores(ctx, 10, "high")
	require.NoError(t, err)
	require.Equal(t, []string{"a3", "a1"}, ids(high))
}

// TestWorkerEndToEnd runs the real worker against the real store: events
// queue accounts, Drain scores them and runs the hook once per score, and a
// failing hook is retried after the retry delay.
func TestWorkerEndToEnd(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	ctx := context.Background()
	ingestDirect(t, st, history(5))
	var mu sync.Mutex
	calls := map[string]int{}
	failFor := "zeta"
	clock := scoreNow
	w := rescore.New(st, m, discardLog(), rescore.Options{
		BatchSize: 2,
		Now:       func() time.Time { return clock },
		OnScored: func(_ context.Context, r scoring.Result) error {
			mu.Lock()
			defer mu.Unlock()
			calls[r.AccountID]++
			if r.AccountID == failFor {
				return errors.New("slack is down")
			}
			return nil
		},
	})
	n, err := w.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, map[string]int{"acme": 1, "zeta": 1, "quiet": 1}, calls)
	require.Equal(t, 2, countRows(t, st, `SELECT count(*) FROM account_scores WHERE hooked`))

	// Before the retry delay nothing is taken over; after it the undecided
	// account is queued again.
	failFor = ""
	clock = scoreNow.Add(20 * time.Second)
	queuedN, err := w.RequeueUndecided(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, queuedN)
	clock = scoreNow.Add(31 * time.Second)
	queuedN, err = w.RequeueUndecided(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, queuedN)
	n, err = w.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, 2, calls["zeta"])
	require.Equal(t, 3, countRows(t, st, `SELECT count(*) FROM account_scores WHERE hooked`))

	// The next UTC day, windows moved: recently active accounts re-score.
	clock = scoreNow.Add(24 * time.Hour)
	queuedN, err = w.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, queuedN, "acme and zeta were active within the longest window")
	_, err = w.Drain(ctx)
	require.NoError(t, err)
	got, err := st.GetScore(ctx, "acme")
	require.NoError(t, err)
	facts, err := st.LoadFacts(ctx, []string{"acme"}, m.FactsSpec(), clock)
	require.NoError(t, err)
	require.Equal(t, scoring.Evaluate(m, facts["acme"], clock), *got)
	ids := make([]string, 0, len(calls))
	for id := range calls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	require.Equal(t, []string{"acme", "quiet", "zeta"}, ids)
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestRequeueUndecided: an undecided score is taken over only once its
// owner stopped renewing the lease, by one replica however many look.
func TestRequeueUndecided(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	lease := 10 * time.Second
	save := func(id string, at time.Time) {
		_, err := st.SaveScore(ctx, scoring.Result{AccountID: id, At: at})
		require.NoError(t, err)
	}
	save("decided", scoreNow.Add(-time.Hour))
	require.NoError(t, st.MarkHooked(ctx, []string{"decided"}, scoreNow.Add(-time.Hour)))
	save("fresh", scoreNow.Add(-5*time.Second))   // saved, never renewed, younger than the lease
	save("never", scoreNow.Add(-11*time.Second))  // owner died before its first renewal
	save("renewed", scoreNow.Add(-time.Minute))   // owner alive: renewed a moment ago
	save("abandoned", scoreNow.Add(-time.Minute)) // owner died: its last renewal ran out
	save("newer", scoreNow.Add(-time.Minute))     // renewed for an older score: does not count
	require.NoError(t, st.RenewHooks(ctx, []string{"renewed"}, scoreNow.Add(-time.Minute), scoreNow.Add(7*time.Second)))
	require.NoError(t, st.RenewHooks(ctx, []string{"abandoned"}, scoreNow.Add(-time.Minute), scoreNow.Add(-time.Second)))
	require.NoError(t, st.RenewHooks(ctx, []string{"newer"}, scoreNow.Add(-2*time.Minute), scoreNow.Add(time.Hour)))
	_, err := st.Pool().Exec(ctx, `DELETE FROM rescore_queue`)
	require.NoError(t, err)

	counts := make(chan int, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			n, err := st.RequeueUndecided(ctx, scoreNow, lease)
			assert.NoError(t, err)
			counts <- n
		})
	}
	wg.Wait()
	close(counts)
	total := 0
	for n := range counts {
		total += n
	}
	require.Equal(t, 3, total, "each abandoned account queued by exactly one caller")
	require.Equal(t, []string{"abandoned", "never", "newer"}, queued(t, st))

	// Taking over is a lease too: nobody takes them again until it lapses.
	_, err = st.Pool().Exec(ctx, `DELETE FROM rescore_queue`)
	require.NoError(t, err)
	n, err := st.RequeueUndecided(ctx, scoreNow.Add(time.Second), lease)
	require.NoError(t, err)
	require.Equal(t, 0, n)
	n, err = st.RequeueUndecided(ctx, scoreNow.Add(lease+time.Second), lease)
	require.NoError(t, err)
	require.Equal(t, 5, n, "the three again, and fresh and renewed, whose owners stopped renewing")
}

// TestScoreQueuedDebouncesBusyAccounts: an account scored moments ago
// stays queued until its debounce has passed, so its events are scored
// together; an account not scored lately, and a hand-raise queued through
// the ingester's Urgent, are taken at once.
func TestScoreQueuedDebouncesBusyAccounts(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	ctx := context.Background()
	const debounce = time.Minute
	ingestDirect(t, st, []segMsg{
		track("t1", "u1", "busy", "Workflow Completed", scoreNow.Add(-time.Hour)),
		track("t2", "u2", "raiser", "Workflow Completed", scoreNow.Add(-time.Hour)),
	})
	ids := func(sc []rescore.Scored) []string {
		var out []string
		for _, s := range sc {
			out = append(out, s.Result.AccountID)
		}
		sort.Strings(out)
		return out
	}
	scored, err := st.ScoreQueued(ctx, rescore.Take{Limit: 10, Debounce: debounce}, m.FactsSpec(), scoreNow, evaluator(m, scoreNow))
	require.NoError(t, err)
	require.Equal(t, []string{"busy", "raiser"}, ids(scored), "never scored: taken at once")

	// Both get new events right away; raiser's is a hand-raise, sent
	// through the ingester as serve does.
	g := store.NewIngester(st, store.IngesterOptions{Urgent: func(msg *events.Message) bool {
		return msg.Type == events.TypeTrack && m.IsHandRaiser(msg.Name)
	}})
	p, err := events.DecodeBatch(batchBody(t, []segMsg{
		track("t3", "u1", "busy", "Workflow Completed", scoreNow.Add(-time.Minute)),
		track("t4", "u2", "raiser", "Demo Requested", scoreNow.Add(-time.Minute)),
		track("t5", "u3", "quiet", "Workflow Completed", scoreNow.Add(-time.Minute)),
	}), scoreNow)
	require.NoError(t, err)
	require.NoError(t, g.Submit(ctx, store.SourceOf("k"), p.Messages, p.Rejects))
	g.Close()
	require.Equal(t, 1, countRows(t, st, `SELECT count(*) FROM rescore_queue WHERE urgent`))

	soon := scoreNow.Add(10 * time.Second)
	scored, err = st.ScoreQueued(ctx, rescore.Take{Limit: 10, Debounce: debounce}, m.FactsSpec(), soon, evaluator(m, soon))
	require.NoError(t, err)
	require.Equal(t, []string{"quiet", "raiser"}, ids(scored), "the hand-raise and the never-scored account go first")
	for _, s := range scored {
		if s.Result.AccountID == "raiser" {
			require.Equal(t, model.TierHandRaiser, s.Result.Tier)
		}
	}
	require.Equal(t, []string{"busy"}, queued(t, st), "the busy account waits out its debounce")

	// More events for the busy account while it waits: still one entry.
	ingestDirect(t, st, []segMsg{track("t6", "u1", "busy", "Workflow Completed", scoreNow.Add(-time.Minute))})
	scored, err = st.ScoreQueued(ctx, rescore.Take{Limit: 10, Debounce: debounce}, m.FactsSpec(), scoreNow.Add(59*time.Second), evaluator(m, scoreNow))
	require.NoError(t, err)
	require.Empty(t, scored)

	later := scoreNow.Add(debounce)
	scored, err = st.ScoreQueued(ctx, rescore.Take{Limit: 10, Debounce: debounce}, m.FactsSpec(), later, evaluator(m, later))
	require.NoError(t, err)
	require.Equal(t, []string{"busy"}, ids(scored))
	require.Equal(t, int64(3), scored[0].Result.Signals[0].Count, "one re-score sees every event of the interval")
	require.Empty(t, queued(t, st))
}

func TestRequeue(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	require.NoError(t, st.Requeue(ctx, []string{"b", "a"}))
	require.NoError(t, st.Requeue(ctx, []string{"a"}), "already queued: no error, no second row")
	require.Equal(t, []string{"a", "b"}, queued(t, st))
}
