package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/failpoint"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackui"
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

// MetadataEventType marks pqlbot's alert posts so a post can be found again
// after a crash (conversations.history with metadata).
const MetadataEventType = "pql_alert"

// NoteEventType marks thread replies and escalation posts, keyed by their
// outbox job, for the same reconciliation.
const NoteEventType = "pql_note"

// Job is one leased unit of Slack work.
type Job struct {
	ID       int64
	AlertID  uuid.UUID
	Kind     string
	Channel  string
	Text     string
	Blocks   json.RawMessage
	Attempts int
	// TakenOver: the previous holder's lease ran out (it died or hung)
	// and this dispatcher took the job over.
	TakenOver bool
	// Broadcast: a thread reply that shows in the channel too.
	Broadcast bool
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
	// CompleteEscalation records where the escalation went.
	CompleteEscalation(ctx context.Context, j Job, channelID, ts string) error
	RetryJob(ctx context.Context, j Job, notBefore time.Time, reason string) error
	FailJob(ctx context.Context, j Job, reason string) error
	DeferChannel(ctx context.Context, channel string, until time.Time) error
	ReleaseJobs(ctx context.Context, jobs []Job) error
	GetAlert(ctx context.Context, id uuid.UUID) (*Alert, error)
	// People are who to contact at the account, as of the render.
	People(ctx context.Context, q people.Query) ([]people.Person, error)
}

// Notifier is the Slack Web API as the dispatcher uses it.
type Notifier interface {
	ResolveChannel(ctx context.Context, nameOrID string) (string, error)
	PostMessage(ctx context.Context, channelID string, blocks []slack.Block, text, threadTS string, broadcast bool, meta *slack.SlackMetadata) (string, error)
	UpdateMessage(ctx context.Context, channelID, ts string, blocks []slack.Block, text string) error
	FindByMetadata(ctx context.Context, channelID, eventType, key, value string, since time.Time) (string, bool, error)
	FindReplyByMetadata(ctx context.Context, channelID, threadTS, eventType, key, value string) (string, bool, error)
	Permalink(ctx context.Context, channelID, ts string) (string, error)
	// NextAttempt is the retry policy: whether a call that failed with err
	// on attempt may succeed later, how long to wait first, and a short
	// reason ("rate_limited" for 429s). Outages and rate limits retry
	// without bound: an alert is delayed, never dropped.
	NextAttempt(err error, attempt int) (retry bool, wait time.Duration, reason string)
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
	Render   *Renderer
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
		v := d.Render.View(a, d.people(octx, a, now, log))
		if err := d.Notifier.UpdateMessage(ctx, a.ChannelID, a.MessageTS, slackui.AlertBlocks(v, now), slackui.AlertText(v, now)); err != nil {
			return err
		}
		return d.Outbox.CompleteJob(octx, j)
	case JobReply:
		if _, err := d.note(ctx, j, a.ChannelID, a.MessageTS, decodeBlocks(j.Blocks), a.CreatedAt); err != nil {
			return err
		}
		return d.Outbox.CompleteJob(octx, j)
	case JobEscalation, JobEscalationUpdate:
		return d.escalation(ctx, octx, j, a, log)
	}
	log.Error("unknown job kind")
	return d.Outbox.FailJob(octx, j, "unknown job kind "+j.Kind)
}

// escalation posts the alert's escalation, or edits it in place
// (JobEscalationUpdate), rendered from the alert's state now: a claim or
// contact that came before the post is already in it, and one after it
// queues an edit.
func (d *Dispatcher) escalation(ctx, octx context.Context, j Job, a *Alert, log *slog.Logger) error {
	now := d.Now()
	if j.Kind == JobEscalationUpdate && a.EscalationTS == "" {
		// Nothing posted (no escalation, or it failed): nothing to edit.
		return d.Outbox.CompleteJob(octx, j)
	}
	link := ""
	if a.ChannelID != "" && a.MessageTS != "" {
		// The link is fetched here, not when the breach was recorded: that
		// transaction makes the escalation exactly-once and must not wait
		// on Slack.
		var err error
		if link, err = d.Notifier.Permalink(ctx, a.ChannelID, a.MessageTS); err != nil {
			log.Warn("permalink for escalation", "err", err)
		}
	}
	r := slackui.EscalationReply(d.Render.View(a, nil), link, now)
	if j.Kind == JobEscalationUpdate {
		if err := d.Notifier.UpdateMessage(ctx, a.EscalationChannelID, a.EscalationTS, r.Blocks, r.Text); err != nil {
			return err
		}
		return d.Outbox.CompleteJob(octx, j)
	}
	ch, err := d.Notifier.ResolveChannel(ctx, j.Channel)
	if err != nil {
		return err
	}
	j.Text = r.Text
	ts, err := d.note(ctx, j, ch, "", r.Blocks, a.CreatedAt)
	if err != nil {
		return err
	}
	return d.Outbox.CompleteEscalation(octx, j, ch, ts)
}

func (d *Dispatcher) post(ctx, octx context.Context, j Job, a *Alert, log *slog.Logger) error {
	if a.MessageTS != "" {
		return d.Outbox.CompleteJob(octx, j)
	}
	now := d.Now().UTC()
	p := Posted{AlertID: a.ID, PostedAt: now}
	a.PostedAt = now
	hours := Hours(d.Render.Model)
	a.DueAt = sla.Deadline(now, a.SLA, hours)
	a.WarnAt = sla.WarnAt(now, a.SLA, d.Render.Model.SLAWarnAt, hours)
	v := d.Render.View(a, d.people(octx, a, now, log))
	ch, err := d.Notifier.ResolveChannel(ctx, a.Channel)
	if err != nil {
		return err
	}
	p.ChannelID = ch
	if j.Attempts > 1 {
		// A previous attempt may have been accepted by Slack before
		// this process could record it: look before posting again.
		ts, found, err := d.Notifier.FindByMetadata(ctx, ch, MetadataEventType, "alert_id", a.ID.String(), a.CreatedAt.Add(-time.Minute))
		if err != nil {
			return err
		}
		if found {
			p.TS, p.Reconciled = ts, true
			if t, ok := tsTime(ts); ok {
				p.PostedAt = t
			}
		}
	}
	if p.TS == "" {
		meta := &slack.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"alert_id": a.ID.String(), "account_id": a.AccountID, "tier": a.Tier}}
		ts, err := d.Notifier.PostMessage(ctx, ch, slackui.AlertBlocks(v, now), slackui.AlertText(v, now), "", false, meta)
		if err != nil {
			return err
		}
		p.TS = ts
		failpoint.Pause("posted")
	}
	p.DueAt = sla.Deadline(p.PostedAt, a.SLA, hours)
	p.WarnAt = sla.WarnAt(p.PostedAt, a.SLA, d.Render.Model.SLAWarnAt, hours)
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
	ps, err := d.Outbox.People(ctx, people.For(d.Render.Model, a.AccountID, now))
	if err != nil {
		log.Warn("people for alert", "err", err)
		return nil
	}
	return ps
}

// note posts a thread reply (threadTS set) or a channel post for job j,
// tagged with the job id; a retry after an attempt whose outcome was lost
// looks for that tag first, so a nudge or escalation is posted once.
func (d *Dispatcher) note(ctx context.Context, j Job, channelID, threadTS string, blocks []slack.Block, since time.Time) (string, error) {
	key := fmt.Sprint(j.ID)
	if j.Attempts > 1 {
		var found bool
		var err error
		var ts string
		if threadTS != "" {
			ts, found, err = d.Notifier.FindReplyByMetadata(ctx, channelID, threadTS, NoteEventType, "job_id", key)
		} else {
			ts, found, err = d.Notifier.FindByMetadata(ctx, channelID, NoteEventType, "job_id", key, since.Add(-time.Minute))
		}
		if err != nil || found {
			return ts, err
		}
	}
	meta := &slack.SlackMetadata{EventType: NoteEventType, EventPayload: map[string]any{"job_id": key, "alert_id": j.AlertID.String(), "kind": j.Kind}}
	ts, err := d.Notifier.PostMessage(ctx, channelID, blocks, j.Text, threadTS, j.Broadcast && threadTS != "", meta)
	if err != nil {
		return "", err
	}
	failpoint.Pause("noted")
	return ts, nil
}

func decodeBlocks(raw json.RawMessage) []slack.Block {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var bs slack.Blocks
	if err := json.Unmarshal(raw, &bs); err != nil {
		return nil
	}
	return bs.BlockSet
}

// tsTime reads a Slack message ts ("1700000000.123456") as a time.
func tsTime(ts string) (time.Time, bool) {
	var sec, usec int64
	i := 0
	for ; i < len(ts) && ts[i] != '.'; i++ {
		if ts[i] < '0' || ts[i] > '9' {
			return time.Time{}, false
		}
		sec = sec*10 + int64(ts[i]-'0')
	}
	for k := i + 1; k < len(ts) && k < i+7; k++ {
		if ts[k] < '0' || ts[k] > '9' {
			return time.Time{}, false
		}
		usec = usec*10 + int64(ts[k]-'0')
	}
	return time.Unix(sec, usec*1000).UTC(), sec > 0
}
