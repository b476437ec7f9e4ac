// Package rescore keeps account scores current: it drains the re-score
// queue that ingest fills, and periodically queues every account whose
// windows have moved, so scores fall as activity ages out and rise when a
// negative signal expires.
//
// Its cost follows the accounts that changed, not the events that arrived:
// a busy account is re-scored at most once per Debounce (hand-raises
// excepted), and a score is written, and its alert decision taken, only
// when something a decision looks at changed, or at least every Refresh
// while the account stays busy (see the store's ScoreQueued).
//
// Each batch claims its accounts for a lease and scores and saves them in
// one database transaction (the store's ScoreQueued), so a crash mid-batch
// loses nothing: the claims run out and the accounts are taken again.
// Replicas share the queue through FOR UPDATE SKIP LOCKED, and ingest never
// waits for a batch (a claimed account queued again stays queued). After
// the batch commits, OnScored runs for each result (alert decisions). The
// saved scores stay marked undecided until their hook succeeds, under a
// short lease the worker renews while the hooks run; every replica looks
// for undecided scores whose lease ran out (their owner died) every third
// of the lease and queues them again, so the hook runs at least once per
// score and a crash between score and decision costs about one lease.
package rescore

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pqlbot/pqlbot/internal/failpoint"
	"github.com/pqlbot/pqlbot/internal/lease"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// Take says which queued accounts one ScoreQueued call takes and which of
// their results it writes.
type Take struct {
	// Limit is the most accounts taken.
	Limit int
	// Debounce: an account scored less than this ago stays queued, unless
	// queued as urgent.
	Debounce time.Duration
	// Refresh: a result equal to the stored one (score, tier, segment,
	// alertability, reasons, model) is written anyway once the stored one
	// is this old, so its decision is taken again (a cool-down may have
	// ended); zero writes every result.
	Refresh time.Duration
	// Lease is how long the taken accounts stay claimed if the worker dies
	// before its scores commit; another worker takes them after that.
	Lease time.Duration
}

// Scored is one fresh score.
type Scored struct {
	Result scoring.Result
	// Saved is true when the result was written as the account's current
	// score; false when the stored one is the same in everything a
	// decision looks at and recent, and was kept.
	Saved bool
	// Changed is true when score, tier or model version changed, that is,
	// when a score history row was written.
	Changed bool
}

// Store is what the worker needs from the database.
type Store interface {
	// ScoreQueued takes the queued accounts take allows that no other
	// worker holds, loads the facts spec asks for, scores each with score,
	// saves the results take says to write and removes the accounts from
	// the queue, in one transaction.
	ScoreQueued(ctx context.Context, take Take, spec model.FactsSpec, now time.Time, score func(*scoring.Facts) scoring.Result) ([]Scored, error)
	// MarkHooked records that OnScored ran for the results saved at.
	MarkHooked(ctx context.Context, accountIDs []string, at time.Time) error
	// RenewHooks extends the lease on the undecided results saved at.
	RenewHooks(ctx context.Context, accountIDs []string, at, until time.Time) error
	// Requeue hands accounts back to the queue (shutdown, with their
	// decisions not run), so another worker takes them at once.
	Requeue(ctx context.Context, accountIDs []string) error
	// RequeueUndecided queues the accounts whose results are undecided and
	// whose lease ran out at now (or that are older than lease and were
	// never renewed); it returns how many it queued.
	RequeueUndecided(ctx context.Context, now time.Time, lease time.Duration) (int, error)
	// EnqueueStale queues the accounts whose score may differ from the
	// stored one at now under m; it returns how many it queued.
	EnqueueStale(ctx context.Context, now time.Time, m *model.Model) (int, error)
}

// Options tune a Worker. Zero values take the defaults.
type Options struct {
	// BatchSize is the number of accounts per transaction (default 200).
	BatchSize int
	// PollInterval is how often an idle worker looks at the queue when
	// nobody calls Notify (default 100ms). It bounds how late a debounced
	// account is taken after its interval ends.
	PollInterval time.Duration
	// Debounce is the least time between two re-scores of one account
	// (default 250ms); events in between are scored together. Urgent
	// queue entries (hand-raises) are not held back.
	Debounce time.Duration
	// Refresh is how old a stored score may get before an unchanged
	// re-score is written again and its hook runs (default 1m): the most
	// a time-driven change of decision (a cool-down ending) waits while
	// the account keeps being re-scored.
	Refresh time.Duration
	// SweepInterval is how often stale accounts are queued (default 1h);
	// the first sweep runs when Run starts.
	SweepInterval time.Duration
	// HookLease is how long undecided results stay with this worker after
	// its last renewal (default 10s): a replica that dies before deciding
	// costs about this much. Renewals and the look for other replicas'
	// abandoned results run every third of it.
	HookLease time.Duration
	// HookRetry is how long a result whose hook failed waits before it is
	// queued again (default 30s, at least HookLease).
	HookRetry time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnScored is called after each saved score, in order, once the batch
	// has committed. An error leaves the result undecided, and it is
	// re-scored after HookRetry so the hook runs again: it must be
	// idempotent.
	OnScored func(ctx context.Context, res scoring.Result) error
	// OnBatch observes each committed batch (metrics): accounts scored,
	// how many of those were saved, and how long it took.
	OnBatch func(accounts, saved int, took time.Duration)
	// HookWorkers is how many OnScored calls run at once (default 4).
	HookWorkers int
	// OnTakeover observes undecided results taken over from a worker
	// whose lease ran out (metrics).
	OnTakeover func(accounts int)
}

// Worker drains the re-score queue.
type Worker struct {
	store Store
	model *model.Model
	spec  model.FactsSpec
	log   *slog.Logger
	opts  Options
	wake  chan struct{}
}

// New builds a worker scoring with m.
func New(store Store, m *model.Model, log *slog.Logger, opts Options) *Worker {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 200
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 250 * time.Millisecond
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Minute
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Hour
	}
	if opts.HookWorkers <= 0 {
		opts.HookWorkers = 4
	}
	if opts.HookLease <= 0 {
		opts.HookLease = 10 * time.Second
	}
	if opts.HookRetry <= 0 {
		opts.HookRetry = 30 * time.Second
	}
	opts.HookRetry = max(opts.HookRetry, opts.HookLease)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Worker{
		store: store, model: m, spec: m.FactsSpec(), log: log.With("component", "rescore"),
		opts: opts, wake: make(chan struct{}, 1),
	}
}

// Notify wakes the worker early, for example after ingest committed events.
// It never blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run sweeps for stale accounts, then drains the queue until ctx ends,
// sweeping again every SweepInterval and taking over undecided results
// whose owner is gone every third of HookLease. Work in flight when ctx
// ends is rolled back and stays queued for the next worker. Errors are
// logged and retried; Run returns nil when ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	w.sweep(ctx)
	w.requeueUndecided(ctx)
	sweep := time.NewTicker(w.opts.SweepInterval)
	defer sweep.Stop()
	orphans := time.NewTicker(lease.Period(w.opts.HookLease))
	defer orphans.Stop()
	poll := time.NewTimer(w.opts.PollInterval)
	defer poll.Stop()
	failures := 0
	for {
		n, err := w.Batch(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			failures++
			w.log.Error("re-score batch failed", "err", err, "failures", failures)
		default:
			failures = 0
		}
		// A full batch means more is probably waiting: go again at once,
		// but let a due sweep in first.
		if n == w.opts.BatchSize && err == nil {
			select {
			case <-sweep.C:
				w.sweep(ctx)
			default:
			}
			continue
		}
		wait := w.opts.PollInterval
		if failures > 0 {
			wait = min(w.opts.PollInterval<<min(failures, 8), 30*time.Second)
		}
		poll.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
		case <-poll.C:
		case <-sweep.C:
			w.sweep(ctx)
		case <-orphans.C:
			w.requeueUndecided(ctx)
		}
	}
}

// Batch scores one batch from the queue and runs the hooks; it returns how
// many accounts it scored.
func (w *Worker) Batch(ctx context.Context) (int, error) {
	start := time.Now()
	// PostgreSQL keeps microseconds: truncating here makes the stored
	// scored_at equal to Result.At, which MarkHooked matches on.
	now := w.opts.Now().UTC().Truncate(time.Microsecond)
	take := Take{Limit: w.opts.BatchSize, Debounce: w.opts.Debounce, Refresh: w.opts.Refresh, Lease: w.opts.HookLease}
	scored, err := w.store.ScoreQueued(ctx, take, w.spec, now, func(f *scoring.Facts) scoring.Result {
		return scoring.Evaluate(w.model, f, now)
	})
	if err != nil {
		return 0, err
	}
	if len(scored) == 0 {
		return 0, nil
	}
	// Only saved scores are decided on: an unsaved one equals a stored
	// score that was decided (or is leased to be) less than Refresh ago.
	var ids []string
	for i := range scored {
		if scored[i].Saved {
			ids = append(ids, scored[i].Result.AccountID)
		}
	}
	if w.opts.OnBatch != nil {
		w.opts.OnBatch(len(scored), len(ids), time.Since(start))
	}
	stopRenewing := func() {}
	if len(ids) > 0 {
		stopRenewing = w.renewHooks(ctx, ids, now)
	}
	failpoint.Pause("scored")
	hooked, failed, unfinished, hookErr := w.runHooks(ctx, scored)
	stopRenewing()
	// A fresh context: the hooks ran, recording that must not be cut short
	// by shutdown, or another replica would run them again needlessly.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if len(failed) > 0 {
		if err := w.store.RenewHooks(mctx, failed, now, w.opts.Now().Add(w.opts.HookRetry)); err != nil {
			w.log.Error("put off the retry of failed score hooks", "err", err)
		}
	}
	if len(unfinished) > 0 {
		// Shutting down mid-batch: hand the rest back now rather than
		// make another replica wait out the lease.
		if err := w.store.Requeue(mctx, unfinished); err != nil {
			w.log.Error("hand back undecided scores", "err", err, "accounts", len(unfinished))
		}
	}
	if len(hooked) > 0 {
		if err := w.store.MarkHooked(mctx, hooked, now); err != nil {
			return len(scored), err
		}
	}
	if hookErr != nil {
		w.log.Warn("some score hooks failed", "failed", len(failed), "batch", len(scored))
	}
	return len(scored), nil
}

// runHooks runs OnScored for the saved results, HookWorkers at a time
// (decisions on different accounts do not wait for each other; each takes
// its account's lock), the changed ones first: a batch of a busy minute
// holds many unchanged refreshes, and a new alert should not queue behind
// them. It sorts the accounts into those whose hook ran, failed, or was
// not run because ctx ended.
func (w *Worker) runHooks(ctx context.Context, scored []Scored) (hooked, failed, unfinished []string, hookErr error) {
	todo := make([]*Scored, 0, len(scored))
	for i := range scored {
		if scored[i].Saved {
			todo = append(todo, &scored[i])
		}
	}
	slices.SortStableFunc(todo, func(a, b *Scored) int {
		switch {
		case a.Changed == b.Changed:
			return 0
		case a.Changed:
			return -1
		}
		return 1
	})
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(w.opts.HookWorkers, len(todo)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(todo) {
					return
				}
				res := todo[i].Result
				id := res.AccountID
				ran := ctx.Err() == nil
				var err error
				if ran && w.opts.OnScored != nil {
					err = w.opts.OnScored(ctx, res)
				}
				mu.Lock()
				switch {
				case ran && err == nil:
					hooked = append(hooked, id)
				case ctx.Err() != nil:
					unfinished = append(unfinished, id)
				default:
					w.log.Error("score hook failed; it is retried", "account_id", id, "err", err, "retry_in", w.opts.HookRetry.String())
					hookErr = errors.Join(hookErr, err)
					failed = append(failed, id)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return hooked, failed, unfinished, hookErr
}

// renewHooks renews the lease on the results saved at now, at once and
// then on the lease heartbeat, until the returned stop is called. A
// renewal that fails is retried at the next beat: the lease outlives a
// missed one.
func (w *Worker) renewHooks(ctx context.Context, ids []string, at time.Time) (stop func()) {
	renew := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lease.Period(w.opts.HookLease))
		defer cancel()
		if err := w.store.RenewHooks(rctx, ids, at, w.opts.Now().Add(w.opts.HookLease)); err != nil {
			w.log.Warn("renew score hook lease", "err", err)
		}
	}
	renew()
	return lease.Heartbeat(w.opts.HookLease, renew)
}

// RequeueUndecided queues the results other workers saved but never
// decided, once their lease ran out; Run calls it every third of HookLease.
func (w *Worker) RequeueUndecided(ctx context.Context) (int, error) {
	return w.store.RequeueUndecided(ctx, w.opts.Now(), w.opts.HookLease)
}

func (w *Worker) requeueUndecided(ctx context.Context) {
	n, err := w.RequeueUndecided(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("queue undecided scores", "err", err)
		}
		return
	}
	if n > 0 {
		w.log.Warn("queued scores another worker left undecided", "accounts", n)
		if w.opts.OnTakeover != nil {
			w.opts.OnTakeover(n)
		}
		w.Notify()
	}
}

// Drain scores batches until the queue is empty (tests, benchmarks, the
// start-up catch-up) and returns how many accounts it scored.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := w.Batch(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Sweep queues stale accounts now; Run calls it on its own schedule.
func (w *Worker) Sweep(ctx context.Context) (int, error) {
	return w.store.EnqueueStale(ctx, w.opts.Now(), w.model)
}

func (w *Worker) sweep(ctx context.Context) {
	n, err := w.Sweep(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("queue stale accounts", "err", err)
		}
		return
	}
	if n > 0 {
		w.log.Info("queued stale accounts for re-scoring", "accounts", n)
	}
}
