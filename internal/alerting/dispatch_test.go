package alerting_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackdelivery"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// fakeSlack is a minimal in-memory Slack for dispatcher tests: it records
// posts and can fail calls the way Slack does.
type fakeSlack struct {
	mu       sync.Mutex
	posts    map[string][]post // channel id -> posts
	updates  int
	failures []error // returned by the next PostMessage calls, in order
	// acceptThenFail stores the post and then fails, like a connection that
	// dies after Slack accepted the message.
	acceptThenFail int
}

type post struct {
	ts, text, thread string
	broadcast        bool
	meta             *slack.SlackMetadata
}

type slackErr struct {
	retry  bool
	reason string
}

func (e slackErr) Error() string { return e.reason }

func newFake() *fakeSlack { return &fakeSlack{posts: map[string][]post{}} }

func (f *fakeSlack) ResolveChannel(_ context.Context, name string) (string, error) {
	if name == "#nope" {
		return "", slackErr{retry: true, reason: "channel_not_found"}
	}
	return "C_" + name[1:], nil
}

func (f *fakeSlack) PostMessage(_ context.Context, ch string, _ []slack.Block, text, thread string, broadcast bool, meta *slack.SlackMetadata) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) > 0 {
		err := f.failures[0]
		f.failures = f.failures[1:]
		return "", err
	}
	ts := fmt.Sprintf("1700000000.%06d", len(f.posts[ch])+1)
	f.posts[ch] = append(f.posts[ch], post{ts: ts, text: text, thread: thread, broadcast: broadcast, meta: meta})
	if f.acceptThenFail > 0 {
		f.acceptThenFail--
		return "", slackErr{retry: true, reason: "timeout"}
	}
	return ts, nil
}

func (f *fakeSlack) UpdateMessage(context.Context, string, string, []slack.Block, string) error {
	f.mu.Lock()
	f.updates++
	f.mu.Unlock()
	return nil
}

func (f *fakeSlack) FindByMetadata(_ context.Context, ch, evType, key, value string, _ time.Time) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.posts[ch] {
		if p.meta != nil && p.meta.EventType == evType && p.meta.EventPayload[key] == value {
			return p.ts, true, nil
		}
	}
	return "", false, nil
}

func (f *fakeSlack) FindReplyByMetadata(_ context.Context, ch, thread, evType, key, value string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.posts[ch] {
		if p.thread == thread && p.meta != nil && p.meta.EventType == evType && fmt.Sprint(p.meta.EventPayload[key]) == value {
			return p.ts, true, nil
		}
	}
	return "", false, nil
}

func (f *fakeSlack) Permalink(_ context.Context, ch, ts string) (string, error) {
	return "https://example.slack.com/archives/" + ch + "/p" + ts, nil
}

func (f *fakeSlack) NextAttempt(err error, attempt int) (bool, time.Duration, string) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return true, rl.RetryAfter, alerting.RateLimited
	}
	var se slackErr
	if errors.As(err, &se) {
		if se.reason == "channel_not_found" {
			return true, 5 * time.Minute, se.reason
		}
		return se.retry, time.Duration(attempt) * time.Second, se.reason
	}
	return true, time.Second, "unknown"
}

func (f *fakeSlack) count(ch string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.posts[ch])
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newDispatcher delivers through the one Slack adapter, over api.
func newDispatcher(st alerting.Outbox, api slackdelivery.API, c *clock) *alerting.Dispatcher {
	m := model.Default()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &alerting.Dispatcher{
		Outbox: st, Notifier: slackdelivery.NewSlack(api, &slackdelivery.Renderer{Model: m}, log), Model: m,
		Log: log, Now: c.Now, Batch: 10,
	}
}

func TestDispatchPostsOnceAndStartsTheClock(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)} // a Monday, 09:00 in New York
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	f := newFake()
	storetest.Drain(t, newDispatcher(st, f, c))
	require.Equal(t, 1, f.count("C_sdr-pql"))
	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPosted, got.Delivery)
	require.Equal(t, "C_sdr-pql", got.ChannelID)
	require.Equal(t, "1700000000.000001", got.MessageTS)
	require.Equal(t, c.Now(), got.PostedAt)
	// 24 business hours from Monday 09:00 at 9 h a day: Wednesday 15:00 New York.
	require.Equal(t, time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC), got.DueAt)
	p := f.posts["C_sdr-pql"][0]
	require.Equal(t, slackdelivery.MetadataEventType, p.meta.EventType)
	require.Equal(t, a.ID.String(), p.meta.EventPayload["alert_id"])
	// Nothing left to do.
	storetest.Drain(t, newDispatcher(st, f, c))
	require.Equal(t, 1, f.count("C_sdr-pql"))
}

func TestDispatchRetriesAndFailures(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		failures  []error
		wantPosts int
		advance   time.Duration
		delivery  string
	}{
		{"429 waits for Retry-After", []error{&slack.RateLimitedError{RetryAfter: 30 * time.Second}}, 1, 31 * time.Second, alerting.DeliveryPosted},
		{"5xx retries with backoff", []error{slackErr{retry: true, reason: "server_error"}, slackErr{retry: true, reason: "server_error"}}, 1, 10 * time.Minute, alerting.DeliveryPosted},
		{"timeout retries", []error{slackErr{retry: true, reason: "timeout"}}, 1, 10 * time.Minute, alerting.DeliveryPosted},
		{"invalid_blocks fails for good", []error{slackErr{retry: false, reason: "invalid_blocks"}}, 0, 10 * time.Minute, alerting.DeliveryFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := storetest.New(t)
			c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
			a := storetest.CreateAlert(t, st, model.Default(), "acme", "high", c.Now())
			f := newFake()
			f.failures = tc.failures
			d := newDispatcher(st, f, c)
			storetest.Drain(t, d)
			require.Equal(t, 0, f.count("C_sdr-pql"), "nothing posted before the retry is due")
			for range len(tc.failures) {
				c.Add(tc.advance)
				storetest.Drain(t, d)
			}
			require.Equal(t, tc.wantPosts, f.count("C_sdr-pql"))
			got, err := st.GetAlert(ctx, a.ID)
			require.NoError(t, err)
			require.Equal(t, tc.delivery, got.Delivery)
			if tc.delivery == alerting.DeliveryFailed {
				require.Equal(t, "invalid_blocks", got.DeliveryError)
			}
		})
	}
}

func TestRateLimitDelaysOnlyThatChannel(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	storetest.CreateAlert(t, st, m, "a1", "high", c.Now())
	storetest.CreateAlert(t, st, m, "a2", "high", c.Now())
	storetest.CreateAlert(t, st, m, model.TierHandRaiser, model.TierHandRaiser, c.Now())
	f := newFake()
	f.failures = []error{&slack.RateLimitedError{RetryAfter: time.Minute}}
	d := newDispatcher(st, f, c)
	storetest.Drain(t, d)
	require.Equal(t, 0, f.count("C_sdr-pql"), "both #sdr-pql alerts wait for Retry-After")
	require.Equal(t, 1, f.count("C_ae-hand-raisers"), "another channel is not held up")
	c.Add(61 * time.Second)
	storetest.Drain(t, d)
	require.Equal(t, 2, f.count("C_sdr-pql"))
}

func TestUnknownChannelIsRetriedNotDropped(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	m.Routes[2].Channel = "#nope"
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	d := newDispatcher(st, newFake(), c)
	storetest.Drain(t, d)
	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPending, got.Delivery)
	var lastErr string
	require.NoError(t, st.Pool().QueryRow(context.Background(), `SELECT last_error FROM slack_outbox WHERE alert_id = $1`, a.ID).Scan(&lastErr))
	require.Equal(t, "channel_not_found", lastErr)
}

// crashingOutbox loses every write after the Slack call, as if the process
// died between Slack accepting the post and the ts being saved.
type crashingOutbox struct{ *store.Store }

func (crashingOutbox) CompletePost(context.Context, alerting.Job, alerting.Posted) error {
	return errors.New("process died")
}
func (crashingOutbox) RetryJob(context.Context, alerting.Job, time.Time, string) error {
	return errors.New("process died")
}

func TestCrashAfterSlackAcceptedDoesNotDoublePost(t *testing.T) {
	st := storetest.New(t)
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	a := storetest.CreateAlert(t, st, model.Default(), "acme", "high", c.Now())
	f := newFake()
	_, err := newDispatcher(crashingOutbox{st}, f, c).RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, f.count("C_sdr-pql"))

	// After restart, the lease has expired: the job is retried, found by
	// its metadata, and recorded without a second post.
	c.Add(4 * time.Minute)
	storetest.Drain(t, newDispatcher(st, f, c))
	require.Equal(t, 1, f.count("C_sdr-pql"))
	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPosted, got.Delivery)
	require.Equal(t, "1700000000.000001", got.MessageTS)

	// Same when the connection died after Slack stored the message.
	a2 := storetest.CreateAlert(t, st, model.Default(), "globex", "high", c.Now())
	f.acceptThenFail = 1
	d := newDispatcher(st, f, c)
	storetest.Drain(t, d)
	c.Add(10 * time.Minute)
	storetest.Drain(t, d)
	require.Equal(t, 2, f.count("C_sdr-pql"))
	got, err = st.GetAlert(context.Background(), a2.ID)
	require.NoError(t, err)
	require.Equal(t, "1700000000.000002", got.MessageTS)
}

func TestTwoDispatchersPostEachAlertOnce(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	const n = 500
	for i := range n {
		storetest.CreateAlert(t, st, m, fmt.Sprintf("acct-%03d", i), "high", c.Now())
	}
	f := newFake()
	var wg sync.WaitGroup
	for range 2 {
		d := newDispatcher(st, f, c)
		wg.Go(func() {
			for {
				k, err := d.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, n, f.count("C_sdr-pql"))
	seen := map[any]bool{}
	for _, p := range f.posts["C_sdr-pql"] {
		id := p.meta.EventPayload["alert_id"]
		require.False(t, seen[id], "alert %v posted twice", id)
		seen[id] = true
	}
	var posted int
	require.NoError(t, st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM alerts WHERE delivery = 'posted'`).Scan(&posted))
	require.Equal(t, n, posted)
}

func TestUpgradeRepliesInThreadAndUpdates(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	f := newFake()
	d := newDispatcher(st, f, c)
	storetest.Drain(t, d)
	// A claimed alert is upgraded in place (an open one would move).
	_, _, err := st.ClaimAlert(context.Background(), a.ID, "U0ANNA", c.Now())
	require.NoError(t, err)
	storetest.Drain(t, d)
	f.updates = 0

	res := &scoring.Result{AccountID: "acme", Tier: model.TierHandRaiser, Segment: "smb", Score: 85, Alertable: true, ModelVersion: m.Version,
		HandRaise: &scoring.HandRaise{Event: "Demo Requested"}}
	rt, _ := m.Route(model.TierHandRaiser, "smb")
	res.Route = &rt
	svc := &alerting.Service{Model: m, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now}
	dec, err := svc.Evaluate(context.Background(), res)
	require.NoError(t, err)
	require.Equal(t, alerting.Upgrade, dec.Action)
	require.Equal(t, a.ID, dec.Alert.ID)
	storetest.Drain(t, d)
	posts := f.posts["C_sdr-pql"]
	require.Len(t, posts, 2, "the alert and one thread reply, in the original channel")
	require.Equal(t, posts[0].ts, posts[1].thread)
	require.Contains(t, posts[1].text, "Demo Requested")
	require.Equal(t, slackdelivery.NoteEventType, posts[1].meta.EventType)
	require.Contains(t, posts[1].text, "<@U0ANNA>", "the claimer hears of it")
	require.NotContains(t, posts[1].text, "<!")
	require.Equal(t, 1, f.updates)
	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, model.TierHandRaiser, got.Tier)
	require.Equal(t, 85, got.Score)
	// A repeat of the same score changes nothing.
	dec, err = svc.Evaluate(context.Background(), res)
	require.NoError(t, err)
	require.Equal(t, alerting.None, dec.Action)
}

func TestCrashAfterThreadReplyDoesNotRepeatIt(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	f := newFake()
	storetest.Drain(t, newDispatcher(st, f, c))
	_, _, err := st.ClaimAlert(context.Background(), a.ID, "U0ANNA", c.Now())
	require.NoError(t, err)
	storetest.Drain(t, newDispatcher(st, f, c))
	res := &scoring.Result{AccountID: "acme", Tier: model.TierHandRaiser, Segment: "smb", Score: 85, Alertable: true, ModelVersion: m.Version}
	rt, _ := m.Route(model.TierHandRaiser, "smb")
	res.Route = &rt
	svc := &alerting.Service{Model: m, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now}
	_, err = svc.Evaluate(context.Background(), res)
	require.NoError(t, err)
	// The reply reaches Slack but its answer is lost.
	f.acceptThenFail = 1
	d := newDispatcher(st, f, c)
	storetest.Drain(t, d)
	c.Add(10 * time.Minute)
	storetest.Drain(t, d)
	require.Len(t, f.posts["C_sdr-pql"], 2, "the alert and one reply, not two")
}

// A hand-raise on an open high alert moves it: one new post on the
// hand-raiser route, the old message edited, the two linked. Several
// replicas deciding the same score at once, and a post whose answer is
// lost, still make exactly one new post.
func TestHandRaiseMovesAnOpenAlertOnce(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	f := newFake()
	d := newDispatcher(st, f, c)
	storetest.Drain(t, d)

	res := &scoring.Result{AccountID: "acme", Tier: model.TierHandRaiser, Segment: "smb", Score: 85, Alertable: true, ModelVersion: m.Version,
		HandRaise: &scoring.HandRaise{Event: "Demo Requested"}}
	rt, _ := m.Route(model.TierHandRaiser, "smb")
	res.Route = &rt
	var wg sync.WaitGroup
	decisions := make([]alerting.Decision, 4)
	for i := range decisions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := &alerting.Service{Model: m, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now}
			dec, err := svc.Evaluate(context.Background(), res)
			if err != nil {
				t.Error(err)
			}
			decisions[i] = dec
		}()
	}
	wg.Wait()
	moves := 0
	for _, dec := range decisions {
		if dec.Action == alerting.Move {
			moves++
		}
	}
	require.Equal(t, 1, moves, "one replica moves it; the others see the hand-raiser alert")

	f.acceptThenFail = 1 // the new post reaches Slack, its answer is lost
	storetest.Drain(t, d)
	c.Add(10 * time.Minute)
	storetest.Drain(t, d)
	require.Len(t, f.posts["C_ae-hand-raisers"], 1, "exactly one new post")
	require.Len(t, f.posts["C_sdr-pql"], 1, "no new post in the old channel")
	require.Positive(t, f.updates, "the old message is edited")

	old, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.StateClosed, old.State)
	require.Equal(t, "moved", old.CloseReason)
	require.Equal(t, "#ae-hand-raisers", old.MovedToChannel)
	moved, err := st.GetAlert(context.Background(), old.MovedTo)
	require.NoError(t, err)
	require.Equal(t, a.ID, moved.MovedFrom)
	require.Equal(t, "#sdr-pql", moved.MovedFromChannel)
	require.Equal(t, alerting.StateOpen, moved.State)
	require.Equal(t, "AE", moved.OwnerRole)
	require.Equal(t, 4*time.Hour, moved.SLA)
	require.Equal(t, alerting.DeliveryPosted, moved.Delivery)
	require.Equal(t, f.posts["C_ae-hand-raisers"][0].ts, moved.MessageTS)
	require.False(t, moved.DueAt.IsZero(), "its own clock, from its post")
}

// Through the real Slack client and its retry policy: a long outage delays
// the alert, it never fails it.
func TestLongSlackOutageDelaysButNeverDrops(t *testing.T) {
	st := storetest.New(t)
	c := &clock{t: time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)}
	a := storetest.CreateAlert(t, st, model.Default(), "acme", "high", c.Now())
	fake := slackfake.New(t)
	fake.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
	fake.FailNext("chat.postMessage", 12, slackfake.ServerError(503))
	d := newDispatcher(st, slackapi.New("xoxb-test", fake.APIURL()), c)
	for range 40 {
		storetest.Drain(t, d)
		c.Add(6 * time.Minute) // past any backoff
	}
	require.Len(t, fake.Messages("C0SDRPQL"), 1)
	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPosted, got.Delivery)
}

// A post that can never succeed closes its alert, so the account is not
// held by an alert nobody saw: its next qualifying score alerts again.
func TestFailedPostFreesTheAccount(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)}
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	f := newFake()
	f.failures = []error{slackErr{retry: false, reason: "invalid_blocks"}}
	storetest.Drain(t, newDispatcher(st, f, c))
	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryFailed, got.Delivery)
	require.Equal(t, alerting.StateClosed, got.State)
	require.Equal(t, "delivery_failed", got.CloseReason)
	again := storetest.CreateAlert(t, st, m, "acme", "high", c.Now().Add(time.Hour))
	require.NotEqual(t, a.ID, again.ID)
}

// A dispatcher whose lease ran out cannot overwrite the outcome of the one
// that took the job over.
func TestOutcomesAreFencedByLease(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)
	storetest.CreateAlert(t, st, model.Default(), "acme", "high", now)
	first, err := st.LeaseJobs(ctx, now, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 1)
	second, err := st.LeaseJobs(ctx, now.Add(2*time.Minute), 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, second, 1, "the expired lease is taken over")
	require.NoError(t, st.RetryJob(ctx, first[0], now.Add(time.Hour), "stale holder"))
	require.NoError(t, st.FailJob(ctx, first[0], "stale holder"))
	var state string
	var leased *time.Time
	var lastErr *string
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT state, leased_until, last_error FROM slack_outbox WHERE id = $1`, first[0].ID).Scan(&state, &leased, &lastErr))
	require.Equal(t, "pending", state)
	require.NotNil(t, leased, "the new holder keeps its lease")
	require.Nil(t, lastErr)
}

// Jobs for one alert message are leased one at a time, oldest first.
func TestOneJobAtATimePerAlertMessage(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)
	a := storetest.PostedAlert(t, st, "acme", now, 24*time.Hour)
	_, _, err := st.ClaimAlert(ctx, a.ID, "U1", now)
	require.NoError(t, err)
	first, err := st.LeaseJobs(ctx, now, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 1)
	// A second update is queued while the first is in flight elsewhere.
	_, _, err = st.ReleaseAlert(ctx, a.ID, "U1", now)
	require.NoError(t, err)
	more, err := st.LeaseJobs(ctx, now, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, more, "the second update waits for the first")
	require.NoError(t, st.CompleteJob(ctx, first[0]))
	next, err := st.LeaseJobs(ctx, now, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, next, 1)
	require.Greater(t, next[0].ID, first[0].ID)
}

// A new alert is posted before older re-renders of other alerts: a burst of
// score changes must not hold up the next alert.
func TestNewAlertsGoBeforeReRenders(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	now := time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)
	for _, acct := range []string{"a1", "a2", "a3"} {
		a := storetest.PostedAlert(t, st, acct, now, 24*time.Hour)
		_, _, err := st.ClaimAlert(ctx, a.ID, "U1", now) // queues a re-render
		require.NoError(t, err)
	}
	fresh := storetest.CreateAlert(t, st, model.Default(), "newco", "high", now)
	first, err := st.LeaseJobs(ctx, now, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Equal(t, alerting.JobPost, first[0].Kind)
	require.Equal(t, fresh.ID, first[0].AlertID)
	rest, err := st.LeaseJobs(ctx, now, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, rest, 3, "then the re-renders, oldest first")
	require.Less(t, rest[0].ID, rest[1].ID)
}

// A score computed before a "Not a fit" click cannot open a new alert.
func TestDisqualifiedAccountNeverAlertsEvenOnAStaleScore(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	now := time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)
	_, err := st.Pool().Exec(context.Background(), `INSERT INTO accounts (account_id, disqualified_until) VALUES ('acme', $1)`, now.Add(90*24*time.Hour))
	require.NoError(t, err)
	res := &scoring.Result{AccountID: "acme", Tier: model.TierHandRaiser, Segment: "smb", Score: 90, Alertable: true, ModelVersion: m.Version}
	rt, _ := m.Route(model.TierHandRaiser, "smb")
	res.Route = &rt
	svc := &alerting.Service{Model: m, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	d, err := svc.Evaluate(context.Background(), res)
	require.NoError(t, err)
	require.Equal(t, alerting.None, d.Action)
	require.Equal(t, scoring.ReasonDisqualified, d.Reason)
}

// A moved alert's SLA clock starts at the hand-raise, not at its post: the
// person has been waiting since they asked.
func TestMovedAlertsClockStartsAtTheHandRaise(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)} // Monday 11:00 in New York
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	f := newFake()
	d := newDispatcher(st, f, c)
	storetest.Drain(t, d)

	// The hand-raise happened an hour ago; the score that moves the alert
	// comes now (a slow pipeline, a re-score after downtime).
	raised := c.Now().Add(-time.Hour)
	_, err := st.Pool().Exec(ctx, `INSERT INTO events (source, message_id, type, name, user_id, account_id, ts, received_at)
		VALUES ('test', 'hr-1', 'track', 'Demo Requested', 'hiro', 'acme', $1, $1)`, raised)
	require.NoError(t, err)
	res := &scoring.Result{AccountID: "acme", Tier: model.TierHandRaiser, Segment: "smb", Score: 85, Alertable: true, ModelVersion: m.Version,
		HandRaise: &scoring.HandRaise{Event: "Demo Requested", Day: raised.Truncate(24 * time.Hour)}}
	rt, _ := m.Route(model.TierHandRaiser, "smb")
	res.Route = &rt
	svc := &alerting.Service{Model: m, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now}
	dec, err := svc.Evaluate(ctx, res)
	require.NoError(t, err)
	require.Equal(t, alerting.Move, dec.Action)
	c.Add(5 * time.Minute)
	storetest.Drain(t, d)

	moved, err := st.GetAlert(ctx, dec.Alert.ID)
	require.NoError(t, err)
	require.Equal(t, a.ID, moved.MovedFrom)
	require.Equal(t, raised, moved.ClockFrom)
	hours := alerting.Hours(m)
	require.Equal(t, sla.Deadline(raised, 4*time.Hour, hours), moved.DueAt, "due 4 business hours after the hand-raise")
	require.Equal(t, time.Date(2026, 11, 23, 19, 0, 0, 0, time.UTC), moved.DueAt)
	require.Equal(t, sla.WarnAt(raised, 4*time.Hour, m.SLAWarnAt, hours), moved.WarnAt)
	require.True(t, moved.PostedAt.After(raised), "posted later, clock from the hand-raise")

	// An alert that was not moved keeps its clock from its post.
	fresh := storetest.CreateAlert(t, st, m, "beta", "high", c.Now())
	storetest.Drain(t, d)
	got, err := st.GetAlert(ctx, fresh.ID)
	require.NoError(t, err)
	require.True(t, got.ClockFrom.IsZero())
	require.Equal(t, sla.Deadline(got.PostedAt, got.SLA, hours), got.DueAt)
}

// An account that falls below every notifying tier raises nothing, but its
// active alert still shows the score it has now: the message is edited and
// the thread notes the drop.
func TestDropBelowNotifyingTiersStillRerenders(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	m := model.Default()
	c := &clock{t: time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)}
	fake := slackfake.New(t)
	fake.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
	d := newDispatcher(st, slackapi.New("xoxb-test", fake.APIURL()), c)
	a := storetest.CreateAlert(t, st, m, "acme", "high", c.Now())
	storetest.Drain(t, d)
	posted, err := st.GetAlert(ctx, a.ID)
	require.NoError(t, err)

	svc := &alerting.Service{Model: m, Store: st, Log: slog.New(slog.DiscardHandler), Now: c.Now}
	for _, tc := range []struct {
		tier  string
		score int
		shows string
	}{
		{"mid", 55, "score 55 · was 75 at alert"}, // mid does not notify
		{"", 20, "score 20 · was 75 at alert"},    // below every tier
	} {
		res := &scoring.Result{AccountID: "acme", Name: "Acct acme", Tier: tc.tier, Segment: "smb", Score: tc.score, ModelVersion: m.Version,
			Reasons: []scoring.Reason{{Code: scoring.ReasonBelowThreshold}}}
		if rt, ok := m.Route(tc.tier, "smb"); ok {
			res.Route = &rt
		}
		dec, err := svc.Evaluate(ctx, res)
		require.NoError(t, err)
		require.Equal(t, alerting.Rescore, dec.Action, tc.tier)
		storetest.Drain(t, d)
		msg, ok := fake.Message("C0SDRPQL", posted.MessageTS)
		require.True(t, ok)
		require.Contains(t, msg.Text, tc.shows)
	}
	var notes []string
	for _, msg := range fake.Messages("C0SDRPQL") {
		if msg.ThreadTS == posted.MessageTS {
			notes = append(notes, msg.Text)
		}
	}
	require.Equal(t, []string{"↘️ Now *mid*: score 55 (was 75)", "📉 Score down to *20* (was 55, 75 at alert)"}, notes)

	// A score that cannot alert, on an account without an alert, costs no
	// decision at all.
	res := &scoring.Result{AccountID: "nobody", Tier: "mid", Segment: "smb", Score: 55, Reasons: []scoring.Reason{{Code: scoring.ReasonBelowThreshold}}}
	dec, err := svc.Evaluate(ctx, res)
	require.NoError(t, err)
	require.Equal(t, alerting.None, dec.Action)
	require.Equal(t, scoring.ReasonBelowThreshold, dec.Reason)
}
