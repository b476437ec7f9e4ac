package alerting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackdelivery"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// swClock is a fake clock shared by goroutines.
type swClock struct{ ns atomic.Int64 }

func (c *swClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *swClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *swClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

type swObserver struct{ nudged, breached atomic.Int64 }

func (o *swObserver) Nudged()   { o.nudged.Add(1) }
func (o *swObserver) Breached() { o.breached.Add(1) }

func newSweeper(st *store.Store, c *swClock, obs alerting.SweepObserver, batch int) *alerting.Sweeper {
	m := model.Default()
	return &alerting.Sweeper{
		Store: st, Model: m,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.Now, Batch: batch, Observer: obs,
	}
}

// swFleet is alerts in the three situations the sweeper tells apart.
type swFleet struct {
	open, claimed, contacted []*alerting.Alert
}

// swMakeFleet posts n alerts a minute apart with a wall-clock SLA: half of
// them stay open, a quarter are claimed and never contacted, a quarter are
// contacted before their warn point.
func swMakeFleet(t *testing.T, st *store.Store, n int, sla time.Duration) swFleet {
	ctx := context.Background()
	var f swFleet
	for i := range n {
		posted := actT0.Add(time.Duration(i) * time.Minute)
		a := storetest.PostedAlert(t, st, "acct-"+uuid.NewString()[:8], posted, sla)
		switch i % 4 {
		case 2:
			_, _, err := st.ClaimAlert(ctx, a.ID, "U0ANNA", posted.Add(time.Minute))
			require.NoError(t, err)
			f.claimed = append(f.claimed, a)
		case 3:
			_, _, err := st.MarkContacted(ctx, a.ID, "U0BOB", posted.Add(time.Minute))
			require.NoError(t, err)
			f.contacted = append(f.contacted, a)
		default:
			f.open = append(f.open, a)
		}
	}
	return f
}

// swJobs counts outbox jobs of a kind per alert.
func swJobs(t *testing.T, st *store.Store, kind string) map[uuid.UUID]int {
	rows, err := st.Pool().Query(context.Background(), `SELECT alert_id FROM slack_outbox WHERE kind = $1`, kind)
	require.NoError(t, err)
	defer rows.Close()
	out := map[uuid.UUID]int{}
	for rows.Next() {
		var id uuid.UUID
		require.NoError(t, rows.Scan(&id))
		out[id]++
	}
	require.NoError(t, rows.Err())
	return out
}

func swOnce(as ...[]*alerting.Alert) map[uuid.UUID]int {
	out := map[uuid.UUID]int{}
	for _, list := range as {
		for _, a := range list {
			out[a.ID] = 1
		}
	}
	return out
}

func TestTwoSweepersNudgeAndEscalateOnce(t *testing.T) {
	st := storetest.New(t)
	const sla = 4 * time.Hour
	f := swMakeFleet(t, st, 200, sla)
	c := &swClock{}
	c.Set(actT0)
	obs := &swObserver{}
	sweepers := []*alerting.Sweeper{newSweeper(st, c, obs, 7), newSweeper(st, c, obs, 7)}

	// Both sweepers run flat out on their own goroutines while the clock
	// walks past every warn point and deadline, as two replicas would.
	var nudges, breaches atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range sweepers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, b, err := s.RunOnce(context.Background())
				if err != nil {
					t.Errorf("sweep: %v", err)
					return
				}
				nudges.Add(int64(n))
				breaches.Add(int64(b))
			}
		}()
	}
	end := actT0.Add(200*time.Minute + sla + time.Minute)
	for c.Now().Before(end) {
		c.Add(5 * time.Minute)
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	// A last sweep by each, in case the loops stopped between the clock's
	// last step and their next sweep.
	for _, s := range sweepers {
		n, b, err := s.RunOnce(context.Background())
		require.NoError(t, err)
		nudges.Add(int64(n))
		breaches.Add(int64(b))
	}

	require.Equal(t, swOnce(f.open), swJobs(t, st, alerting.JobReply), "one nudge per open alert, none for claimed or contacted")
	require.Equal(t, swOnce(f.open, f.claimed), swJobs(t, st, alerting.JobEscalation), "one escalation per uncontacted alert")
	require.EqualValues(t, len(f.open), nudges.Load())
	require.EqualValues(t, len(f.open)+len(f.claimed), breaches.Load())
	require.EqualValues(t, len(f.open), obs.nudged.Load())
	require.EqualValues(t, len(f.open)+len(f.claimed), obs.breached.Load())
	for _, a := range f.contacted {
		got, err := st.GetAlert(context.Background(), a.ID)
		require.NoError(t, err)
		require.True(t, got.BreachedAt.IsZero(), "a contacted alert is never escalated")
	}
}

func TestMissedTicksCatchUp(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	const sla = 4 * time.Hour
	f := swMakeFleet(t, st, 40, sla)
	c := &swClock{}
	c.Set(actT0.Add(time.Hour))
	woken := 0
	s := newSweeper(st, c, nil, 3)
	s.Wake = func() { woken++ }

	n, b, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 0}, [2]int{n, b}, "nothing is due an hour in")
	require.Zero(t, woken)

	// The process was down for two days: the first sweep takes everything
	// due by now, across several batches.
	c.Add(48 * time.Hour)
	n, b, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, len(f.open), n)
	require.Equal(t, len(f.open)+len(f.claimed), b)
	require.Equal(t, 1, woken)
	n, b, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 0}, [2]int{n, b})

	// What was queued: a nudge note (rendered when delivered, as of the
	// sweep) and an escalation to the model's channel.
	var body json.RawMessage
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT body FROM slack_outbox WHERE kind = 'reply' AND alert_id = $1`, f.open[0].ID).Scan(&body))
	var reply struct{ Note *alerting.Note }
	require.NoError(t, json.Unmarshal(body, &reply))
	require.Equal(t, alerting.NudgeNote(c.Now()), reply.Note)
	var channel string
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT channel FROM slack_outbox WHERE kind = 'escalation' AND alert_id = $1`, f.claimed[0].ID).Scan(&channel))
	require.Equal(t, "#sales-managers", channel)
	require.Equal(t, 1, swJobs(t, st, alerting.JobUpdate)[f.open[0].ID], "the message is re-rendered to show the breach")
}

func TestNoEscalationChannelStillRecordsTheBreach(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	a := storetest.PostedAlert(t, st, "acme", actT0, time.Hour)
	c := &swClock{}
	c.Set(actT0.Add(2 * time.Hour))
	s := newSweeper(st, c, nil, 10)
	s.Model.EscalationChannel = ""
	n, b, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{1, 1}, [2]int{n, b})
	require.Empty(t, swJobs(t, st, alerting.JobEscalation))
	got, err := st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, c.Now(), got.BreachedAt)
}

func TestSweeperRunStopsWithContext(t *testing.T) {
	st := storetest.New(t)
	storetest.PostedAlert(t, st, "acme", actT0, time.Hour)
	c := &swClock{}
	c.Set(actT0.Add(2 * time.Hour))
	obs := &swObserver{}
	s := newSweeper(st, c, obs, 10)
	s.Interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	require.Eventually(t, func() bool { return obs.breached.Load() == 1 }, 5*time.Second, 10*time.Millisecond, "the first sweep runs at start")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	require.EqualValues(t, 1, obs.nudged.Load())
}

func TestSweepDeliveredBySlack(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	fake := slackfake.New(t)
	fake.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
	fake.AddChannel(slackfake.Channel{ID: "C0MANAGERS", Name: "sales-managers"})
	m := model.Default()
	c := &swClock{}
	c.Set(actT0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := &alerting.Dispatcher{Outbox: st, Notifier: slackdelivery.NewSlack(slackapi.New("xoxb-test", fake.APIURL()), &slackdelivery.Renderer{Model: m}, log),
		Model: m, Log: log, Now: c.Now}
	drainAll := func() {
		for range 100 {
			n, err := d.RunOnce(ctx)
			require.NoError(t, err)
			if n == 0 {
				return
			}
		}
		t.Fatal("outbox never drained")
	}

	// Posted by the dispatcher: Monday 09:00 New York, 24 business hours
	// (due Wednesday 15:00), nudged at 75% (18 business hours: Tuesday 18:00).
	res := &scoring.Result{AccountID: "acme", Name: "Acme", Domain: "acme.example", Tier: "high", Segment: "smb", Score: 82,
		Alertable: true, ModelVersion: m.Version, At: c.Now()}
	rt, _ := m.Route("high", "smb")
	res.Route = &rt
	dec, err := (&alerting.Service{Model: m, Store: st, Log: log, Now: c.Now}).Evaluate(ctx, res)
	require.NoError(t, err)
	drainAll()
	a, err := st.GetAlert(ctx, dec.Alert.ID)
	require.NoError(t, err)
	ny, _ := time.LoadLocation("America/New_York")
	require.Equal(t, time.Date(2030, 3, 5, 18, 0, 0, 0, ny).UTC(), a.WarnAt)
	require.Equal(t, time.Date(2030, 3, 6, 15, 0, 0, 0, ny).UTC(), a.DueAt)

	s := newSweeper(st, c, nil, 10)
	s.Wake = d.Wake
	c.Set(a.WarnAt.Add(-time.Minute))
	n, b, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 0}, [2]int{n, b})

	c.Set(a.WarnAt)
	n, _, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	drainAll()
	msgs := fake.Messages("C0SDRPQL")
	require.Len(t, msgs, 2)
	require.Equal(t, a.MessageTS, msgs[1].ThreadTS, "the nudge is a thread reply")
	require.True(t, strings.HasPrefix(msgs[1].Text, "⏰ *Acme*: nobody has claimed this yet — 6 h left on the 24 h SLA (due <!date^"+fmt.Sprint(a.DueAt.Unix())+"^"), msgs[1].Text)
	require.True(t, msgs[1].Broadcast, "the nudge is broadcast to the channel (reply_broadcast)")

	c.Set(a.DueAt.Add(time.Minute))
	_, b, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, b)
	drainAll()
	esc := fake.Messages("C0MANAGERS")
	require.Len(t, esc, 1)
	require.Equal(t, "SLA breached: Acme (high, #sdr-pql)", esc[0].Text)
	require.NotEmpty(t, esc[0].Blocks)
	post, ok := fake.Message("C0SDRPQL", a.MessageTS)
	require.True(t, ok)
	require.Contains(t, string(post.Blocks), "SLA breached")
	require.Len(t, fake.Messages("C0SDRPQL"), 2, "the breach is shown on the message, not posted in the thread")

	// Later sweeps find nothing more to do.
	c.Add(72 * time.Hour)
	n, b, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, [2]int{0, 0}, [2]int{n, b})
}

// Breaches due in the same minute for the escalation channel are one post
// listing them, whichever sweeper records each breach and whichever
// dispatcher posts, even when Slack accepts the post and the answer is
// lost; the post is edited as each alert is claimed and contacted.
func TestGroupedEscalationPostedOnceAndEdited(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	fake := slackfake.New(t)
	fake.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
	fake.AddChannel(slackfake.Channel{ID: "C0MANAGERS", Name: "sales-managers"})
	m := model.Default()
	c := &swClock{}
	c.Set(actT0)
	// Slack's clock is the test's: a retry looks for its post in the
	// history since the alerts were created.
	fake.SetClock(c.Now)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dispatcher := func() *alerting.Dispatcher {
		return &alerting.Dispatcher{Outbox: st, Notifier: slackdelivery.NewSlack(slackapi.New("xoxb-test", fake.APIURL()), &slackdelivery.Renderer{Model: m}, log),
			Model: m, Log: log, Now: c.Now, Batch: 2}
	}
	ds := []*alerting.Dispatcher{dispatcher(), dispatcher()}
	// drain runs both dispatchers at once until nothing is left, moving
	// the clock on so retries come due.
	drain := func() {
		t.Helper()
		for range 50 {
			var wg sync.WaitGroup
			var leased atomic.Int64
			for _, d := range ds {
				wg.Go(func() {
					for {
						n, err := d.RunOnce(ctx)
						require.NoError(t, err)
						if n == 0 {
							return
						}
						leased.Add(int64(n))
					}
				})
			}
			wg.Wait()
			var pending int
			require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM slack_outbox WHERE state = 'pending'`).Scan(&pending))
			if pending == 0 {
				return
			}
			c.Add(30 * time.Second)
		}
		t.Fatal("outbox never drained")
	}

	// Four alerts posted together share a deadline; a fifth, two minutes
	// later, has its own.
	var same []*alerting.Alert
	for i := range 4 {
		same = append(same, storetest.CreateAlert(t, st, m, fmt.Sprintf("acct-%d", i), "high", c.Now()))
	}
	drain()
	c.Add(2 * time.Minute)
	late := storetest.CreateAlert(t, st, m, "acct-late", "high", c.Now())
	drain()
	first, err := st.GetAlert(ctx, same[0].ID)
	require.NoError(t, err)
	lateA, err := st.GetAlert(ctx, late.ID)
	require.NoError(t, err)

	// The nudges go out first, so the only posts left are escalations.
	c.Set(lateA.WarnAt.Add(time.Minute))
	_, _, err = newSweeper(st, c, nil, 10).RunOnce(ctx)
	require.NoError(t, err)
	drain()

	// Two sweepers record the breaches one alert per transaction; Slack
	// accepts the first escalation post but the answer is lost.
	fake.FailNext("chat.postMessage", 1, slackfake.AcceptThenFail())
	c.Set(lateA.DueAt.Add(time.Minute))
	var wg sync.WaitGroup
	var breached atomic.Int64
	for range 2 {
		s := newSweeper(st, c, nil, 1)
		wg.Go(func() {
			_, b, err := s.RunOnce(ctx)
			require.NoError(t, err)
			breached.Add(int64(b))
		})
	}
	wg.Wait()
	require.EqualValues(t, 5, breached.Load())
	drain()

	posts := fake.Messages("C0MANAGERS")
	var texts []string
	for _, p := range posts {
		texts = append(texts, p.Text)
	}
	require.Len(t, posts, 2, "one post per minute of deadlines, never two: %q", texts)
	group, single := posts[0], posts[1]
	if !strings.Contains(group.Text, "4 alerts") {
		group, single = single, group
	}
	require.Equal(t, "SLA breached: 4 alerts — Acct acct-0, Acct acct-1, Acct acct-2, +1 more", group.Text)
	for i := range 4 {
		require.Contains(t, string(group.Blocks), fmt.Sprintf("Acct acct-%d", i))
	}
	require.Contains(t, string(group.Blocks), "https://", "each alert with its link")
	require.Equal(t, "SLA breached: Acct acct-late (high, #sdr-pql)", single.Text)
	require.NotEqual(t, first.DueAt.Truncate(time.Minute), lateA.DueAt.Truncate(time.Minute))
	require.Equal(t, 5+5+2, len(fake.Calls("chat.postMessage")), "the alerts, their nudges and the two escalations: the lost answer was found in the history, not posted again")

	// A late claim edits the group's post in place.
	acts := &alerting.Actions{Store: st, Model: m, Log: log, Now: c.Now}
	_, err = acts.Claim(ctx, same[2].ID, "U0ANNA")
	require.NoError(t, err)
	drain()
	edited, ok := fake.Message("C0MANAGERS", group.TS)
	require.True(t, ok)
	require.Positive(t, edited.Updates)
	require.Contains(t, strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(string(edited.Blocks)), "claimed by <@U0ANNA>, not contacted yet")

	// Contacted one by one: the last contact resolves the post.
	for _, a := range same {
		_, err = acts.Contacted(ctx, a.ID, "U0ANNA")
		require.NoError(t, err)
	}
	drain()
	edited, _ = fake.Message("C0MANAGERS", group.TS)
	require.True(t, strings.HasPrefix(edited.Text, "Resolved after an SLA breach: 4 alerts"), edited.Text)
	require.Len(t, fake.Messages("C0MANAGERS"), 2, "edited, never posted again")
}

// Many breaches over a few minutes, recorded by three sweepers at once in
// small batches: one escalation per minute, every breach in the one for
// its minute, and no sweep fails (the minutes are locked in one order).
func TestSweepersGroupBreachesByMinute(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	const sla = time.Hour
	minuteOf := map[uuid.UUID]time.Time{}
	for i := range 45 {
		posted := actT0.Add(time.Duration(i%3)*time.Minute + time.Duration(i)*time.Second)
		a := storetest.PostedAlert(t, st, fmt.Sprintf("acct-%02d", i), posted, sla)
		minuteOf[a.ID] = a.DueAt.Truncate(time.Minute)
	}
	c := &swClock{}
	c.Set(actT0.Add(sla + 10*time.Minute))
	var wg sync.WaitGroup
	var breached atomic.Int64
	for range 3 {
		s := newSweeper(st, c, nil, 4)
		wg.Go(func() {
			_, b, err := s.RunOnce(ctx)
			require.NoError(t, err)
			breached.Add(int64(b))
		})
	}
	wg.Wait()
	require.EqualValues(t, 45, breached.Load())

	var posts int
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM slack_outbox WHERE kind = 'escalation'`).Scan(&posts))
	require.Equal(t, 3, posts, "one escalation post per minute of deadlines")
	escOf := map[time.Time]int64{}
	for id, minute := range minuteOf {
		a, err := st.GetAlert(ctx, id)
		require.NoError(t, err)
		require.NotZero(t, a.EscalationID)
		if e, ok := escOf[minute]; ok {
			require.Equal(t, e, a.EscalationID, "one escalation per minute")
		}
		escOf[minute] = a.EscalationID
	}
	require.Len(t, escOf, 3)
}

// Sweeps run every few seconds, so a minute's breaches are often recorded
// apart: the first posts the escalation, a later one of the same minute
// joins it and the post is edited to list both.
func TestLateBreachJoinsThePostedEscalation(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	fake := slackfake.New(t)
	fake.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
	fake.AddChannel(slackfake.Channel{ID: "C0MANAGERS", Name: "sales-managers"})
	m := model.Default()
	c := &swClock{}
	c.Set(actT0.Add(10 * time.Second))
	fake.SetClock(c.Now)
	log := slog.New(slog.DiscardHandler)
	d := &alerting.Dispatcher{Outbox: st, Notifier: slackdelivery.NewSlack(slackapi.New("xoxb-test", fake.APIURL()), &slackdelivery.Renderer{Model: m}, log),
		Model: m, Log: log, Now: c.Now}
	drain := func() {
		t.Helper()
		for range 100 {
			n, err := d.RunOnce(ctx)
			require.NoError(t, err)
			if n == 0 {
				return
			}
		}
		t.Fatal("outbox never drained")
	}
	first := storetest.CreateAlert(t, st, m, "acct-a", "high", c.Now())
	drain()
	c.Add(40 * time.Second)
	second := storetest.CreateAlert(t, st, m, "acct-b", "high", c.Now())
	drain()
	a, err := st.GetAlert(ctx, first.ID)
	require.NoError(t, err)
	b, err := st.GetAlert(ctx, second.ID)
	require.NoError(t, err)
	require.Equal(t, a.DueAt.Truncate(time.Minute), b.DueAt.Truncate(time.Minute), "due in the same minute")
	require.True(t, a.DueAt.Before(b.DueAt))

	s := newSweeper(st, c, nil, 10)
	c.Set(a.DueAt.Add(time.Second))
	_, n, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	drain()
	posts := fake.Messages("C0MANAGERS")
	require.Len(t, posts, 1)
	require.Equal(t, "SLA breached: Acct acct-a (high, #sdr-pql)", posts[0].Text)

	c.Set(b.DueAt.Add(time.Second))
	_, n, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	drain()
	require.Len(t, fake.Messages("C0MANAGERS"), 1, "joined, not posted again")
	edited, _ := fake.Message("C0MANAGERS", posts[0].TS)
	require.Equal(t, "SLA breached: 2 alerts — Acct acct-a, Acct acct-b", edited.Text)
}
