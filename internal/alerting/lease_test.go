package alerting_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/slackdelivery"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// slowSlack holds every post for delay, or until the call's context ends
// when delay is 0, and counts the calls that were cut short.
type slowSlack struct {
	*fakeSlack
	delay     time.Duration
	cancelled atomic.Int32
	calls     atomic.Int32
}

func (s *slowSlack) PostMessage(ctx context.Context, ch string, b []slack.Block, text, thread string, broadcast bool, meta *slack.SlackMetadata) (string, error) {
	s.calls.Add(1)
	wait := make(<-chan time.Time)
	if s.delay > 0 {
		wait = time.After(s.delay)
	}
	select {
	case <-wait:
		return s.fakeSlack.PostMessage(ctx, ch, b, text, thread, broadcast, meta)
	case <-ctx.Done():
		s.cancelled.Add(1)
		return "", ctx.Err()
	}
}

// takeovers records what a dispatcher reports taken over.
type takeovers struct{ takenOver []string }

func (o *takeovers) AlertPosted(string)       {}
func (o *takeovers) JobTakenOver(kind string) { o.takenOver = append(o.takenOver, kind) }

func realClockDispatcher(st alerting.Outbox, n slackdelivery.API, lease time.Duration) *alerting.Dispatcher {
	d := newDispatcher(st, n, nil)
	d.Now, d.Lease = time.Now, lease
	return d
}

// A live holder keeps its job however long Slack takes: the lease is
// renewed while the call runs, so a second dispatcher never takes it.
func TestSlowSlackKeepsTheLease(t *testing.T) {
	st := storetest.New(t)
	a := storetest.CreateAlert(t, st, model.Default(), "acme", "high", time.Now())
	// The lease is short next to the post (four leases long) but long enough
	// that a renewal due every third of it is not missed on a busy CI host.
	slow := &slowSlack{fakeSlack: newFake(), delay: 6 * time.Second}
	holder := realClockDispatcher(st, slow, 1500*time.Millisecond)
	holderObs := &takeovers{}
	holder.Observer = holderObs
	done := make(chan error, 1)
	go func() { _, err := holder.RunOnce(context.Background()); done <- err }()

	other := realClockDispatcher(st, newFake(), 1500*time.Millisecond)
	deadline := time.After(20 * time.Second)
	for finished := false; !finished; {
		select {
		case err := <-done:
			require.NoError(t, err)
			finished = true
		case <-deadline:
			t.Fatal("the slow post never finished")
		case <-time.After(50 * time.Millisecond):
			n, err := other.RunOnce(context.Background())
			require.NoError(t, err)
			require.Zero(t, n, "a job under a renewed lease was taken by another dispatcher")
		}
	}
	require.Equal(t, 1, slow.count("C_sdr-pql"))
	require.Empty(t, holderObs.takenOver, "a fresh lease is not a takeover")
	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPosted, got.Delivery)
	var attempts int
	require.NoError(t, st.Pool().QueryRow(context.Background(), `SELECT attempts FROM slack_outbox WHERE alert_id = $1`, a.ID).Scan(&attempts))
	require.Equal(t, 1, attempts)
}

// A holder that died after Slack accepted its post: the job is taken over
// once its lease runs out (not before), and the new holder finds the post
// by its metadata instead of posting again.
func TestDeadHoldersPostTakenOverAfterOneLease(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	lease := 300 * time.Millisecond
	a := storetest.CreateAlert(t, st, model.Default(), "acme", "high", time.Now())
	// The lease runs from the time it was taken, not from when the holder
	// died (its post came later), so that is the time the takeover waits on.
	leasedAt := time.Now()
	leased, err := st.LeaseJobs(ctx, leasedAt, 10, lease)
	require.NoError(t, err)
	require.Len(t, leased, 1)
	f := newFake()
	_, err = f.PostMessage(ctx, "C_sdr-pql", nil, "the dead holder's post", "", false, &slack.SlackMetadata{
		EventType: slackdelivery.MetadataEventType, EventPayload: map[string]any{"alert_id": a.ID.String()}})
	require.NoError(t, err)

	d := realClockDispatcher(st, f, lease)
	obs := &takeovers{}
	d.Observer = obs
	n, err := d.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "taken over before the lease ran out")
	require.Eventually(t, func() bool {
		n, err := d.RunOnce(ctx)
		require.NoError(t, err)
		return n == 1
	}, 5*time.Second, 20*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(leasedAt), lease)
	require.Equal(t, 1, f.count("C_sdr-pql"), "reconciled, not posted again")
	require.Equal(t, []string{alerting.JobPost}, obs.takenOver, "counted as a takeover")
	got, err := st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPosted, got.Delivery)
	require.Equal(t, "1700000000.000001", got.MessageTS)
}

// A holder that learns its job was taken over stops its Slack call rather
// than race the new holder to post.
func TestLostLeaseCancelsTheSlackCall(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a := storetest.CreateAlert(t, st, model.Default(), "acme", "high", time.Now())
	hang := &slowSlack{fakeSlack: newFake()}
	d := realClockDispatcher(st, hang, 300*time.Millisecond)
	done := make(chan error, 1)
	go func() { _, err := d.RunOnce(ctx); done <- err }()
	require.Eventually(t, func() bool { return hang.calls.Load() == 1 }, 5*time.Second, 10*time.Millisecond)
	// Another dispatcher takes the job over (as after an expired lease).
	_, err := st.Pool().Exec(ctx, `UPDATE slack_outbox SET attempts = attempts + 1 WHERE alert_id = $1`, a.ID)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the call under a lost lease was not cancelled")
	}
	require.EqualValues(t, 1, hang.cancelled.Load())
	require.Zero(t, hang.count("C_sdr-pql"))
	var state string
	var leasedUntil *time.Time
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT state, leased_until FROM slack_outbox WHERE alert_id = $1`, a.ID).Scan(&state, &leasedUntil))
	require.Equal(t, "pending", state)
	require.NotNil(t, leasedUntil, "the new holder's lease is untouched")
}
