package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/pqlbot/pqlbot/internal/failpoint"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/sla"
)

// Job kinds in the outbox.
const (
	JobPost       = "post"
	JobUpdate     = "update"
	JobReply      = "reply"
	JobEscalation = "escalation"
	// JobEscalationUpdate edits the escalation post to the alert's
	// current state (claimed, contacted, closed after the breach).
	JobEscalationUpdate = "escalation_update"
)

// Job is one leased unit of Slack work.
type Job struct {
	ID      int64
	AlertID uuid.UUID
	Kind    string
	Channel string
	// Note is what a reply says; a reply queued by an older build carries
	// its rendering instead (Text, Blocks).
	Note     *Note
	Text     string
	Blocks   json.RawMessage
	Attempts int
	// TakenOver: the previous holder's lease ran out (it died or hung)
	// and this dispatcher took the job over.
	TakenOver bool
	// Broadcast: a thread reply that shows in the channel too.
	Broadcast bool
	// EscalationID is the escalation an escalation job posts or edits.
	EscalationID int64
}

// Posted records a successful alert post.
type Posted struct {
	AlertID    uuid.UUID
	ChannelID  string
	TS         string
	PostedAt   time.Time
	DueAt      time.Time
	WarnAt     time.Time
	Reconciled bool
}

// Outbox is the durable queue the dispatcher drains.
type Outbox interface {
	LeaseJobs(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Job, error)
	// RenewJobs extends the lease on those of jobs this holder still has
	// and returns their ids.
	RenewJobs(ctx context.Context, jobs []Job, until time.Time) ([]int64, error)
	// The outcome writes are fenced by the job's attempt number: a holder
	// whose lease ran out and was taken over cannot overwrite the new
	// holder's outcome.
	CompleteJob(ctx context.Context, j Job) error
	CompletePost(ctx context.Context, j Job, p Posted) error
	// Escalation loads the escalation job j posts or edits, with its
	// alerts as they stand now.
	Escalation(ctx context.Context, j Job) (*Escalation, error)
	// CompleteEscalation records where the escalation went.
	CompleteEscalation(ctx context.Context, j Job, escalationID int64, channelID, ts string) error
	RetryJob(ctx context.Context, j Job, notBefore time.Time, reason string) error
	FailJob(ctx context.Context, j Job, reason string) error
	DeferChannel(ctx context.Context, channel string, until time.Time) error
	ReleaseJobs(ctx context.Context, jobs []Job) error
	GetAlert(ctx context.Context, id uuid.UUID) (*Alert, error)
	// People are who to contact at the account, as of the render.
	People(ctx context.Context, q people.Query) ([]people.Person, error)
}

// DispatchObserver counts outcomes for metrics.
type DispatchObserver interface {
	AlertPosted(tier string)
	// JobTakenOver counts jobs taken over from a holder whose lease ran
	// out: a replica died or hung mid-job.
	JobTakenOver(kind string)
}

// Dispatcher delivers outbox jobs to Slack. Any number of dispatchers may
// run against one database: leases (FOR UPDATE SKIP LOCKED) give each job
// to one of them, and a post whose outcome was lost in a crash is
// reconciled by its metadata instead of being posted twice.
type Dispatcher struct {
	Outbox   Outbox
	Notifier Notifier
	// Model gives the SLA clock: business hours and sla_warn_at.
	Model    *model.Model
	Log      *slog.Logger
	Now      func() time.Time
	Observer DispatchObserver
	// Lease is how long a job stays with a dispatcher after its last
	// renewal: a dead replica's jobs are taken over this long after it
	// died. Renewals run every third of it while the batch is worked.
	Lease time.Duration
	Batch int
	Poll  time.Duration
	wake  chan struct{}
}

func (d *Dispatcher) init() {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Lease == 0 {
		d.Lease = 10 * time.Second
	}
	if d.Batch == 0 {
		d.Batch = 20
	}
	if d.Poll == 0 {
		d.Poll = 250 * time.Millisecond
	}
	if d.wake == nil {
		d.wake = make(chan struct{}, 1)
	}
}

// Wake makes a sleeping dispatcher look for work now.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run dispatches until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	t := time.NewTicker(d.Poll)
	defer t.Stop()
	for {
		for {
			n, err := d.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				d.Log.Error("dispatch", "err", err)
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// RunOnce leases one batch and works it, returning how many jobs it leased.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	d.init()
	leasedAt := d.Now()
	jobs, err := d.Outbox.LeaseJobs(ctx, leasedAt, d.Batch, d.Lease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	for _, j := range jobs {
		if j.TakenOver {
			d.Log.Warn("took over an outbox job whose holder stopped renewing its lease", "job", j.ID, "kind", j.Kind, "alert_id", j.AlertID.String(), "attempt", j.Attempts)
			if d.Observer != nil {
				d.Observer.JobTakenOver(j.Kind)
			}
		}
	}
	leases := d.keepLeases(ctx, jobs, leasedAt)
	defer leases.stop()
	deferred := map[string]bool{}
	var release []Job
	for i, j := range jobs {
		if ctx.Err() != nil {
			// Shutting down: hand back what was not started so another
			// replica takes it at once instead of after the lease.
			for _, rest := range jobs[i:] {
				if leases.held(rest) {
					release = append(release, rest)
				}
			}
			break
		}
		if deferred[j.Channel] {
			release = append(release, j)
			leases.end(j)
			continue
		}
		jctx, held := leases.begin(ctx, j)
		if !held {
			continue
		}
		limited := d.work(jctx, j)
		leases.end(j)
		if limited {
			deferred[j.Channel] = true
		}
	}
	if len(release) > 0 {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := d.Outbox.ReleaseJobs(rctx, release); err != nil {
			return len(jobs), err
		}
	}
	return len(jobs), nil
}

// work does one job and records the outcome. It reports whether the job's
// channel is rate limited, so the rest of the batch skips that channel.
func (d *Dispatcher) work(ctx context.Context, j Job) (rateLimited bool) {
	log := d.Log.With("job", j.ID, "kind", j.Kind, "alert_id", j.AlertID.String(), "channel", j.Channel)
	// Record outcomes even if shutdown starts mid-call.
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	a, err := d.Outbox.GetAlert(octx, j.AlertID)
	if err != nil {
		log.Error("load alert", "err", err)
		_ = d.Outbox.RetryJob(octx, j, d.Now().Add(5*time.Second), err.Error())
		return false
	}
	err = d.do(ctx, octx, j, a, log)
	if err == nil {
		return false
	}
	if errors.Is(context.Cause(ctx), errLeaseLost) {
		log.Warn("outbox lease lost mid-job; its next holder reconciles", "err", err)
		return false
	}
	retry, after, reason := d.Notifier.NextAttempt(err, j.Attempts)
	if reason == RateLimited {
		until := d.Now().Add(after)
		log.Warn("rate limited by Slack", "retry_after", after.String())
		if derr := d.Outbox.DeferChannel(octx, j.Channel, until); derr != nil {
			log.Error("defer channel", "err", derr)
		}
		_ = d.Outbox.RetryJob(octx, j, until, reason)
		return true
	}
	if retry {
		log.Warn("slack call failed; will retry", "err", err, "reason", reason, "retry_in", after.String(), "attempt", j.Attempts)
		_ = d.Outbox.RetryJob(octx, j, d.Now().Add(after), reason)
		return false
	}
	log.Error("slack call failed for good", "err", err, "reason", reason, "attempt", j.Attempts)
	if ferr := d.Outbox.FailJob(octx, j, reason); ferr != nil {
		log.Error("record failure", "err", ferr)
	}
	return false
}

// RateLimited is the reason NextAttempt gives for a 429: the whole channel
// waits, not just the job.
const RateLimited = "rate_limited"

func (d *Dispatcher) do(ctx, octx context.Context, j Job, a *Alert, log *slog.Logger) error {
	switch j.Kind {
	case JobPost:
		return d.post(ctx, octx, j, a, log)
	case JobUpdate:
		now := d.Now()
		m := Message{Kind: AlertMessage, Alert: a, People: d.people(octx, a, now, log), Edit: &Receipt{ChannelID: a.ChannelID, TS: a.MessageTS}, Now: now}
		if _, err := d.Notifier.Send(ctx, m); err != nil {
			return err
		}
		return d.Outbox.CompleteJob(octx, j)
	case JobReply:
		now := d.Now()
		m := Message{Kind: ThreadNote, Alert: a, Thread: &Receipt{ChannelID: a.ChannelID, TS: a.MessageTS},
			Note: j.Note, Text: j.Text, Blocks: j.Blocks, Broadcast: j.Broadcast || (j.Note != nil && j.Note.Broadcast),
			Key: fmt.Sprint(j.ID), Retry: j.Attempts > 1, Since: a.CreatedAt, Now: now}
		if j.Note != nil && j.Note.Kind == NoteNudge {
			// The nudge names the hand-raiser: who to call, not just which
			// account.
			m.People = d.people(octx, a, now, log)
		}
		r, err := d.Notifier.Send(ctx, m)
		if err != nil {
			return err
		}
		if !r.Found {
			failpoint.Pause("noted")
		}
		return d.Outbox.CompleteJob(octx, j)
	case JobEscalation, JobEscalationUpdate:
		return d.escalation(ctx, octx, j, log)
	}
	log.Error("unknown job kind")
	return d.Outbox.FailJob(octx, j, "unknown job kind "+j.Kind)
}

// escalation posts an escalation, or edits it in place
// (JobEscalationUpdate), rendered from its alerts' state now: a breach,
// claim or contact recorded before the post is already in it, and one
// after it queues an edit.
func (d *Dispatcher) escalation(ctx, octx context.Context, j Job, log *slog.Logger) error {
	e, err := d.Outbox.Escalation(octx, j)
	if err != nil {
		return err
	}
	if j.Kind == JobEscalationUpdate && e.TS == "" {
		// Nothing posted (the post failed for good): nothing to edit.
		return d.Outbox.CompleteJob(octx, j)
	}
	now := d.Now()
	m := Message{Kind: EscalationMessage, Channel: e.Channel, Escalated: e.Alerts, EscalatedPeople: make([][]people.Person, len(e.Alerts)),
		Key: fmt.Sprint(j.ID), Retry: j.Attempts > 1, Since: earliest(e.Alerts), Now: now}
	for i, a := range e.Alerts {
		if a.State.Active() {
			// Whoever reads the escalation sees whom the account is
			// waiting on to hear from us.
			m.EscalatedPeople[i] = d.people(octx, a, now, log)
		}
	}
	if j.Kind == JobEscalationUpdate {
		m.Edit = &Receipt{ChannelID: e.ChannelID, TS: e.TS}
		if _, err := d.Notifier.Send(ctx, m); err != nil {
			return err
		}
		return d.Outbox.CompleteJob(octx, j)
	}
	r, err := d.Notifier.Send(ctx, m)
	if err != nil {
		return err
	}
	if !r.Found {
		failpoint.Pause("noted")
	}
	return d.Outbox.CompleteEscalation(octx, j, e.ID, r.ChannelID, r.TS)
}

// earliest is when the first of as was created: no message about them
// can be older.
func earliest(as []*Alert) time.Time {
	var t time.Time
	for _, a := range as {
		if t.IsZero() || a.CreatedAt.Before(t) {
			t = a.CreatedAt
		}
	}
	return t
}

func (d *Dispatcher) post(ctx, octx context.Context, j Job, a *Alert, log *slog.Logger) error {
	if a.MessageTS != "" {
		return d.Outbox.CompleteJob(octx, j)
	}
	now := d.Now().UTC()
	hours := Hours(d.Model)
	// The message shows the deadline, so the clock is started before it
	// is rendered; a post found from an earlier attempt restarts it at
	// that post's time below. A moved alert's clock runs from the
	// hand-raise.
	a.PostedAt = now
	a.DueAt = sla.Deadline(a.ClockStart(now), a.SLA, hours)
	a.WarnAt = sla.WarnAt(a.ClockStart(now), a.SLA, d.Model.SLAWarnAt, hours)
	r, err := d.Notifier.Send(ctx, Message{Kind: AlertMessage, Channel: a.Channel, Alert: a, People: d.people(octx, a, now, log),
		Retry: j.Attempts > 1, Since: a.CreatedAt, Now: now})
	if err != nil {
		return err
	}
	p := Posted{AlertID: a.ID, ChannelID: r.ChannelID, TS: r.TS, PostedAt: now, Reconciled: r.Found}
	if r.Found && !r.At.IsZero() {
		p.PostedAt = r.At
	}
	if !r.Found {
		failpoint.Pause("posted")
	}
	start := a.ClockStart(p.PostedAt)
	p.DueAt = sla.Deadline(start, a.SLA, hours)
	p.WarnAt = sla.WarnAt(start, a.SLA, d.Model.SLAWarnAt, hours)
	if err := d.Outbox.CompletePost(octx, j, p); err != nil {
		// Slack has the message; the next attempt reconciles by metadata.
		log.Error("record post", "err", err)
		return nil
	}
	if d.Observer != nil {
		d.Observer.AlertPosted(a.Tier)
	}
	log.Info("alert posted", "account_id", a.AccountID, "tier", a.Tier, "score", a.Score, "ts", p.TS, "reconciled", p.Reconciled)
	return nil
}

// people loads who to contact for a's message. A failure costs the message
// its people section, never the post.
func (d *Dispatcher) people(ctx context.Context, a *Alert, now time.Time, log *slog.Logger) []people.Person {
	ps, err := d.Outbox.People(ctx, people.For(d.Model, a.AccountID, now))
	if err != nil {
		log.Warn("people for alert", "err", err)
		return nil
	}
	return ps
}
