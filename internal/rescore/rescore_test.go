package rescore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// fakeStore is an in-memory queue with the Store contract: ScoreQueued
// hands out up to limit queued accounts and remembers the scores; a result
// equal in score to the stored one is not saved.
type fakeStore struct {
	mu       sync.Mutex
	queue    []string
	scores   map[string]scoring.Result
	hooked   map[string]time.Time
	sweeps   int
	stale    []string
	failNext error
	take     Take
	batches  chan int

	renewals     []renewal
	orphans      []string
	orphanChecks int
	requeued     []string
}

type renewal struct {
	ids       []string
	at, until time.Time
}

func newFake(ids ...string) *fakeStore {
	return &fakeStore{queue: ids, scores: map[string]scoring.Result{}, hooked: map[string]time.Time{}, batches: make(chan int, 100)}
}

func (f *fakeStore) push(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = append(f.queue, ids...)
}

func (f *fakeStore) ScoreQueued(ctx context.Context, take Take, spec model.FactsSpec, now time.Time, score func(*scoring.Facts) scoring.Result) ([]Scored, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.take = take
	limit := take.Limit
	if err := f.failNext; err != nil {
		f.failNext = nil
		return nil, err
	}
	n := min(limit, len(f.queue))
	ids := f.queue[:n]
	f.queue = f.queue[n:]
	var out []Scored
	for _, id := range ids {
		r := score(&scoring.Facts{AccountID: id, LastEventAt: now})
		p, ok := f.scores[id]
		saved := !ok || p.Score != r.Score
		if saved {
			f.scores[id] = r
		}
		out = append(out, Scored{Result: r, Saved: saved, Changed: saved})
	}
	if n > 0 {
		f.batches <- n
	}
	return out, nil
}

func (f *fakeStore) MarkHooked(ctx context.Context, ids []string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		f.hooked[id] = at
	}
	return nil
}

func (f *fakeStore) RenewHooks(ctx context.Context, ids []string, at, until time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renewals = append(f.renewals, renewal{ids: append([]string(nil), ids...), at: at, until: until})
	return nil
}

func (f *fakeStore) Requeue(ctx context.Context, ids []string) error {
	f.mu.Lock()
	f.requeued = append(f.requeued, ids...)
	f.mu.Unlock()
	f.push(ids...)
	return nil
}

func (f *fakeStore) RequeueUndecided(ctx context.Context, now time.Time, lease time.Duration) (int, error) {
	f.mu.Lock()
	f.orphanChecks++
	orphans := f.orphans
	f.orphans = nil
	f.mu.Unlock()
	f.push(orphans...)
	return len(orphans), nil
}

func (f *fakeStore) EnqueueStale(ctx context.Context, now time.Time, m *model.Model) (int, error) {
	f.mu.Lock()
	f.sweeps++
	stale := f.stale
	f.stale = nil
	f.mu.Unlock()
	f.push(stale...)
	return len(stale), nil
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var testNow = time.Date(2026, 11, 22, 15, 0, 0, 123456789, time.UTC)

func TestBatchScoresHooksAndMarks(t *testing.T) {
	st := newFake("a", "b", "c")
	var hooked []string
	w := New(st, model.Default(), discard(), Options{
		BatchSize:   2,
		HookWorkers: 1, // the order of the hooks is what is checked
		Now:         func() time.Time { return testNow },
		OnScored: func(_ context.Context, r scoring.Result) error {
			hooked = append(hooked, r.AccountID)
			if r.AccountID == "b" {
				return errors.New("boom")
			}
			return nil
		},
	})
	n, err := w.Batch(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []string{"a", "b"}, hooked)
	require.Contains(t, st.hooked, "a")
	require.NotContains(t, st.hooked, "b", "a failed hook stays undecided, to be retried")
	at := testNow.Truncate(time.Microsecond)
	require.Equal(t, []renewal{
		{ids: []string{"a", "b"}, at: at, until: testNow.Add(10 * time.Second)},
		{ids: []string{"b"}, at: at, until: testNow.Add(30 * time.Second)},
	}, st.renewals, "the batch is leased before its hooks run; a failed hook is retried after HookRetry")
	require.Equal(t, testNow.Truncate(time.Microsecond), st.hooked["a"], "marked at the stored (microsecond) instant")
	require.Equal(t, testNow.Truncate(time.Microsecond), st.scores["a"].At)
	require.Equal(t, model.Default().Hash, st.scores["a"].ModelHash)

	n, err = w.Drain(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"a", "b", "c"}, hooked)
}

// An unchanged score is not saved and costs no hook; the defaults reach
// the store.
func TestBatchHooksSavedScoresOnly(t *testing.T) {
	st := newFake("a", "b")
	var hooked []string
	var batches [][2]int
	w := New(st, model.Default(), discard(), Options{
		HookWorkers: 1, // the order of the hooks is what is checked
		Now:         func() time.Time { return testNow },
		OnScored: func(_ context.Context, r scoring.Result) error {
			hooked = append(hooked, r.AccountID)
			return nil
		},
		OnBatch: func(n, saved int, _ time.Duration) { batches = append(batches, [2]int{n, saved}) },
	})
	_, err := w.Batch(context.Background())
	require.NoError(t, err)
	require.Equal(t, Take{Limit: 200, Debounce: 250 * time.Millisecond, Refresh: time.Minute, Lease: 10 * time.Second}, st.take)
	require.Equal(t, []string{"a", "b"}, hooked)

	st.push("a", "b")
	st.hooked = map[string]time.Time{}
	n, err := w.Batch(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, n, "both re-scored")
	require.Equal(t, []string{"a", "b"}, hooked, "neither changed: no hook ran")
	require.Empty(t, st.hooked)
	require.Equal(t, [][2]int{{2, 2}, {2, 0}}, batches, "scored and saved per batch, for the metrics")
}

func TestRunSweepsAtStartDrainsAndWakesOnNotify(t *testing.T) {
	st := newFake()
	st.stale = []string{"s1", "s2", "s3"}
	scored := make(chan string, 10)
	w := New(st, model.Default(), discard(), Options{
		BatchSize:    2,
		PollInterval: time.Hour, // only Notify can wake it in this test
		Now:          func() time.Time { return testNow },
		OnScored: func(_ context.Context, r scoring.Result) error {
			scored <- r.AccountID
			return nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()

	// The start-up sweep queued three accounts: a full batch, then the
	// rest straight away.
	for _, want := range []string{"s1", "s2", "s3"} {
		require.Equal(t, want, <-scored)
	}
	st.push("late")
	w.Notify()
	w.Notify() // coalesced, never blocks
	select {
	case id := <-scored:
		require.Equal(t, "late", id)
	case <-time.After(5 * time.Second):
		t.Fatal("Notify did not wake the worker")
	}
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, 1, st.sweeps)
}

func TestRunPollsAndSurvivesErrors(t *testing.T) {
	st := newFake()
	st.failNext = errors.New("database restarting")
	w := New(st, model.Default(), discard(), Options{
		PollInterval: 5 * time.Millisecond,
		Now:          func() time.Time { return testNow },
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	st.push("x")
	select {
	case n := <-st.batches:
		require.Equal(t, 1, n)
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not recover from the failed batch")
	}
	cancel()
	require.NoError(t, <-done)
}

func TestRunSweepsPeriodically(t *testing.T) {
	st := newFake()
	w := New(st, model.Default(), discard(), Options{
		PollInterval:  time.Hour,
		SweepInterval: 10 * time.Millisecond,
		Now:           func() time.Time { return testNow },
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	require.Eventually(t, func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.sweeps >= 3
	}, 5*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// TestLeaseRenewedWhileHooksRun: a slow hook does not let the lease lapse,
// so no other replica takes over work whose owner is alive.
func TestLeaseRenewedWhileHooksRun(t *testing.T) {
	st := newFake("slow")
	release := make(chan struct{})
	w := New(st, model.Default(), discard(), Options{
		HookLease: 300 * time.Millisecond,
		OnScored: func(context.Context, scoring.Result) error {
			<-release
			return nil
		},
	})
	done := make(chan error)
	go func() { _, err := w.Batch(context.Background()); done <- err }()
	require.Eventually(t, func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.renewals) >= 3
	}, 5*time.Second, 10*time.Millisecond, "renewed every third of the lease while the hook runs")
	close(release)
	require.NoError(t, <-done)
	st.mu.Lock()
	n := len(st.renewals)
	st.mu.Unlock()
	time.Sleep(250 * time.Millisecond)
	st.mu.Lock()
	defer st.mu.Unlock()
	require.Equal(t, n, len(st.renewals), "renewals stop with the hooks")
	require.Contains(t, st.hooked, "slow")
}

// TestRunTakesOverUndecidedScores: Run looks for abandoned undecided
// scores at start and every third of the lease, and scores what it queued
// at once.
func TestRunTakesOverUndecidedScores(t *testing.T) {
	st := newFake()
	st.orphans = []string{"o1"}
	scored := make(chan string, 10)
	var takenOver atomic.Int32
	w := New(st, model.Default(), discard(), Options{
		PollInterval: time.Hour, // only Notify wakes it
		HookLease:    150 * time.Millisecond,
		OnTakeover:   func(n int) { takenOver.Add(int32(n)) },
		OnScored: func(_ context.Context, r scoring.Result) error {
			scored <- r.AccountID
			return nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	require.Equal(t, "o1", <-scored)
	st.mu.Lock()
	st.orphans = []string{"o2"}
	st.mu.Unlock()
	select {
	case id := <-scored:
		require.Equal(t, "o2", id)
	case <-time.After(5 * time.Second):
		t.Fatal("the periodic look for abandoned scores did not run")
	}
	cancel()
	require.NoError(t, <-done)
	require.EqualValues(t, 2, takenOver.Load(), "each takeover observed")
}

// TestShutdownHandsBackUndecidedScores: a batch cut short by shutdown
// queues the accounts whose decisions did not run, so another replica
// takes them at once instead of after the lease.
func TestShutdownHandsBackUndecidedScores(t *testing.T) {
	st := newFake("a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	w := New(st, model.Default(), discard(), Options{
		HookWorkers: 1, // one at a time, so c has not started when b sees shutdown
		OnScored: func(ctx context.Context, r scoring.Result) error {
			if r.AccountID == "b" {
				cancel() // shutdown starts while b is being decided
				return ctx.Err()
			}
			return nil
		},
	})
	n, err := w.Batch(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Contains(t, st.hooked, "a")
	require.Equal(t, []string{"b", "c"}, st.requeued)
	require.Equal(t, []string{"b", "c"}, st.queue, "back in the queue for any replica")
}

// TestHooksRunSideBySide: a batch's decisions run HookWorkers at a time,
// so one slow decision does not hold up the batch's new alerts.
func TestHooksRunSideBySide(t *testing.T) {
	st := newFake("a", "b", "c", "d", "e", "f")
	var inFlight, most atomic.Int64
	release := make(chan struct{})
	var once sync.Once
	w := New(st, model.Default(), discard(), Options{
		HookWorkers: 3,
		OnScored: func(ctx context.Context, r scoring.Result) error {
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			if n == 3 {
				once.Do(func() { close(release) })
			}
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			return nil
		},
	})
	n, err := w.Batch(context.Background())
	require.NoError(t, err)
	require.Equal(t, 6, n)
	require.EqualValues(t, 3, most.Load(), "three decisions at once")
	require.Len(t, st.hooked, 6)
}
