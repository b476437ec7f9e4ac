package alerting

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pqlbot/pqlbot/internal/lease"
)

// errLeaseLost cancels the Slack work of a job whose lease this dispatcher
// could not renew: another dispatcher may hold it by now, and two holders
// posting is exactly what leases are for.
var errLeaseLost = errors.New("outbox lease lost")

// jobLeases keeps a dispatcher's leases alive while it works through a
// batch: every third of the lease it renews the jobs not finished yet, so
// a short lease (a dead replica's jobs are taken over within one lease)
// never runs out under a live holder however long Slack takes. A job whose
// renewal shows it taken over, or whose lease may have lapsed because
// renewals kept failing, is lost: its Slack call is cancelled and, if not
// started, it is skipped.
type jobLeases struct {
	d       *Dispatcher
	mu      sync.Mutex
	pending map[int64]Job
	running map[int64]context.CancelCauseFunc
	lost    map[int64]bool
	renewed time.Time // when the leases were last known good
	stop    func()
}

func (d *Dispatcher) keepLeases(ctx context.Context, jobs []Job, leasedAt time.Time) *jobLeases {
	k := &jobLeases{
		d: d, pending: make(map[int64]Job, len(jobs)), running: map[int64]context.CancelCauseFunc{},
		lost: map[int64]bool{}, renewed: leasedAt,
	}
	for _, j := range jobs {
		k.pending[j.ID] = j
	}
	k.stop = lease.Heartbeat(d.Lease, func() { k.renew(ctx) })
	return k
}

func (k *jobLeases) renew(ctx context.Context) {
	k.mu.Lock()
	jobs := make([]Job, 0, len(k.pending))
	for _, j := range k.pending {
		jobs = append(jobs, j)
	}
	k.mu.Unlock()
	if len(jobs) == 0 {
		return
	}
	now := k.d.Now()
	// Renewing must not stop with shutdown: the job in hand is finished
	// first, and its lease must hold until then.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lease.Period(k.d.Lease))
	defer cancel()
	held, err := k.d.Outbox.RenewJobs(rctx, jobs, now.Add(k.d.Lease))
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.d.Log.Warn("renew outbox leases", "err", err, "jobs", len(jobs))
		if now.Sub(k.renewed) >= k.d.Lease-lease.Period(k.d.Lease) {
			// The lease may run out before the next beat.
			for id := range k.pending {
				k.loseLocked(id)
			}
		}
		return
	}
	k.renewed = now
	ok := make(map[int64]bool, len(held))
	for _, id := range held {
		ok[id] = true
	}
	for _, j := range jobs {
		if _, still := k.pending[j.ID]; still && !ok[j.ID] {
			k.d.Log.Warn("outbox job taken over by another dispatcher", "job", j.ID, "kind", j.Kind, "alert_id", j.AlertID.String())
			k.loseLocked(j.ID)
		}
	}
}

func (k *jobLeases) loseLocked(id int64) {
	k.lost[id] = true
	delete(k.pending, id)
	if cancel := k.running[id]; cancel != nil {
		cancel(errLeaseLost)
	}
}

// begin starts work on j: a context for its Slack calls that is cancelled
// if the lease is lost, or false if it already was.
func (k *jobLeases) begin(ctx context.Context, j Job) (context.Context, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lost[j.ID] {
		return nil, false
	}
	jctx, cancel := context.WithCancelCause(ctx)
	k.running[j.ID] = cancel
	return jctx, true
}

// end stops renewing j once its outcome is recorded (or handed back).
func (k *jobLeases) end(j Job) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.pending, j.ID)
	if cancel := k.running[j.ID]; cancel != nil {
		cancel(context.Canceled)
		delete(k.running, j.ID)
	}
}

// held reports whether j's lease is still this dispatcher's.
func (k *jobLeases) held(j Job) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.lost[j.ID]
}
