package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/failpoint"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// recoveryBound is the promise: a crash anywhere between an event
// and its Slack message adds no more than this to event → post, and a
// nudge goes out this soon after it is due although its sweeper died.
const recoveryBound = 30 * time.Second

// TestRecoveryThreeReplicas runs three real binaries on one database and
// SIGKILLs one at each point where a crash hurts, frozen there by
// internal/failpoint (the production code path is otherwise the same):
//
//   - "scored": the re-score batch committed, its alert decisions not run;
//   - "posted": Slack accepted an alert post, pqlbot has not recorded it;
//   - "sla-swept": a sweeper holds a due nudge in its open transaction;
//   - "noted": Slack accepted a nudge (or escalation), not yet recorded.
//
// A killed replica is restarted at once, as Kubernetes would. Every alert
// must reach Slack exactly once within recoveryBound of the event that
// crossed, and every nudge exactly once within recoveryBound of its due
// time. PQLBOT_LEASE is left at its default: these are the shipped figures.
func TestRecoveryThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three binaries")
	}
	h := newCluster(t, 3)
	ctx := context.Background()

	// Phase 1: a crash between "scores committed" and "alerts decided".
	h.arm("scored")
	crossed := map[string]time.Time{}
	for acct, at := range h.handRaise(0, "acme1", "acme2") {
		crossed[acct] = at
	}
	h.waitPause("scored")
	h.waitPosts(crossed)

	// Phase 2: a crash between "post sent" and "post recorded"; and, as
	// the first alerts' nudges come due, a sweeper killed mid-sweep and a
	// dispatcher killed after Slack accepted the nudge.
	h.arm("posted", "sla-swept", "noted")
	// And a Slack that records one post but drops its answer: that post is
	// retried and found by its metadata, not posted again.
	h.fake.FailNext("chat.postMessage", 1, slackfake.AcceptThenFail())
	for acct, at := range h.handRaise(1, "acme3", "acme4") {
		crossed[acct] = at
	}
	h.waitPause("posted")
	h.waitPosts(crossed)
	h.waitPause("sla-swept")
	h.waitPause("noted")
	nudges := h.waitNudges(crossed)

	// Exactly once, within the bound.
	alerts := h.alerts(ctx)
	require.Len(t, alerts, len(crossed), "one alert per account")
	posts := h.alertPosts()
	require.Len(t, posts, len(alerts), "one Slack post per alert: %v", posts)
	var report []string
	for _, a := range alerts {
		ts, ok := posts[a.id]
		require.True(t, ok, "alert %s of %s never posted", a.id, a.account)
		require.Equal(t, ts, a.messageTS, "the recorded message is the one in Slack")
		took := tsTime(t, ts).Sub(crossed[a.account])
		require.LessOrEqual(t, took, recoveryBound, "%s: event → post took %s", a.account, took)
		recorded := a.recordedAt.Sub(crossed[a.account])
		require.LessOrEqual(t, recorded, recoveryBound, "%s: event → post recorded took %s", a.account, recorded)
		nudge := nudges[a.id]
		late := tsTime(t, nudge).Sub(a.warnAt)
		require.LessOrEqual(t, late, recoveryBound, "%s: nudge sent %s after it was due", a.account, late)
		report = append(report, fmt.Sprintf("%s: event → post %s (recorded %s), nudge due → sent %s",
			a.account, took.Round(100*time.Millisecond), recorded.Round(100*time.Millisecond), late.Round(100*time.Millisecond)))
	}
	seen := map[string]bool{}
	for _, ch := range []string{"C0AEHAND", "C0MGRS"} {
		for _, m := range h.fake.Messages(ch) {
			if m.Metadata != nil && m.Metadata.EventType == "pql_note" {
				job := fmt.Sprint(m.Metadata.EventPayload["job_id"])
				require.False(t, seen[job], "outbox job %s posted twice", job)
				seen[job] = true
			}
		}
	}
	// The survivors said what they took over (pqlbot_takeovers_total counts
	// the same, per replica).
	logs := h.allLogs()
	require.Contains(t, logs, `"msg":"queued scores another worker left undecided"`)
	require.Contains(t, logs, `"msg":"took over an outbox job whose holder stopped renewing its lease"`)
	for _, p := range h.pauses {
		report = append(report, fmt.Sprintf("killed %s at %q (%s)", p.replica, p.point, p.evidence))
	}
	t.Logf("recovery figures (PQLBOT_LEASE default):\n  %s", strings.Join(report, "\n  "))
}

// cluster is a fake Slack, one database and n replicas of the real binary.
type cluster struct {
	t        *testing.T
	bin      string
	env      []string
	pauseDir string
	fake     *slackfake.Server
	db       *pgxpool.Pool

	mu       sync.Mutex
	replicas []*replica
	pauses   []pause
	stop     chan struct{}
	monitor  sync.WaitGroup
}

type replica struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	log    *lockedBuffer
	seen   int // bytes of log already scanned for pauses
	exited chan error
	// all is every incarnation's log, for failures.
	all *lockedBuffer
}

type pause struct {
	point, replica, evidence string
	at                       time.Time
}

func newCluster(t *testing.T, n int) *cluster {
	bin := pqlbotBinary(t)

	dbURL := storetest.NewURL(t)
	fake := slackfake.New(t)
	fake.SetToken(smokeBotToken)
	for _, ch := range []slackfake.Channel{{ID: "C0AEHAND", Name: "ae-hand-raisers"}, {ID: "C0SDRPQL", Name: "sdr-pql"}, {ID: "C0AEENT", Name: "ae-enterprise"}, {ID: "C0MGRS", Name: "sales-managers"}} {
		fake.AddChannel(ch)
	}
	// The example model with a 30-second hand-raiser SLA, nudged halfway,
	// and no business hours: the SLA clock runs now, whatever the day.
	example, err := os.ReadFile(filepath.Join("..", "..", "internal", "model", "example.yaml"))
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(example), "\n") {
		switch {
		case strings.HasPrefix(l, "business_hours:"):
			continue
		case strings.HasPrefix(l, "sla_warn_at:"):
			l = "sla_warn_at: 0.5"
		case strings.Contains(l, "tier: hand_raiser, channel:"):
			l = `  - {tier: hand_raiser, channel: "#ae-hand-raisers", owner: AE, sla: 30s}`
		}
		lines = append(lines, l)
	}
	modelFile := filepath.Join(t.TempDir(), "model.yaml")
	require.NoError(t, os.WriteFile(modelFile, []byte(strings.Join(lines, "\n")), 0o600))

	db, err := pgxpool.New(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(db.Close)

	c := &cluster{
		t: t, bin: bin, pauseDir: t.TempDir(), fake: fake, db: db, stop: make(chan struct{}),
	}
	c.env = append(baseEnv(),
		"DATABASE_URL="+dbURL,
		"PQLBOT_WRITE_KEYS="+smokeWriteKey,
		"SLACK_BOT_TOKEN="+smokeBotToken,
		"SLACK_SIGNING_SECRET="+smokeSecret,
		"SLACK_API_URL="+fake.APIURL(),
		"PQLBOT_MODEL_FILE="+modelFile,
		"PQLBOT_SHUTDOWN_TIMEOUT=5s",
		failpoint.EnvDir+"="+c.pauseDir,
	)
	for i := range n {
		r := &replica{name: fmt.Sprintf("replica-%d", i), addr: freeAddr(t), all: &lockedBuffer{}}
		c.replicas = append(c.replicas, r)
		require.NoError(t, c.start(r))
	}
	for _, r := range c.replicas {
		waitReady(t, "http://"+r.addr+"/readyz", r.exited)
	}
	t.Cleanup(func() {
		close(c.stop)
		c.monitor.Wait()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, r := range c.replicas {
			_ = r.cmd.Process.Kill()
			<-r.exited
			if t.Failed() {
				t.Logf("%s log:\n%s", r.name, r.all.String())
			}
		}
	})
	c.monitor.Go(c.killPaused)
	return c
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// start runs a new incarnation of r.
func (c *cluster) start(r *replica) error {
	r.log = &lockedBuffer{}
	r.seen = 0
	cmd := exec.Command(c.bin, "serve")
	cmd.Env = append(append([]string(nil), c.env...), "HTTP_ADDR="+r.addr)
	w := &teeWriter{r.log, r.all}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", r.name, err)
	}
	r.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.exited = exited
	return nil
}

type teeWriter struct{ a, b *lockedBuffer }

func (w *teeWriter) Write(p []byte) (int, error) {
	_, _ = w.b.Write(p)
	return w.a.Write(p)
}

// arm makes the next process that reaches each point freeze there.
func (c *cluster) arm(points ...string) {
	for _, p := range points {
		require.NoError(c.t, os.WriteFile(filepath.Join(c.pauseDir, p), nil, 0o600))
	}
}

// killPaused watches every replica's log for a frozen failpoint, records
// what the database and Slack show at that moment, SIGKILLs the replica and
// starts it again.
func (c *cluster) killPaused() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		for _, r := range c.replicas {
			text := r.log.String()
			fresh := text[r.seen:]
			i := strings.Index(fresh, `"msg":"paused at failpoint"`)
			if i < 0 {
				continue
			}
			line := fresh[i:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			} else {
				continue // the line is still being written
			}
			r.seen = len(text)
			var p struct {
				Failpoint string `json:"failpoint"`
			}
			_ = json.Unmarshal([]byte(`{`+line), &p)
			ev := pause{point: p.Failpoint, replica: r.name, at: time.Now(), evidence: c.evidence(p.Failpoint)}
			_ = r.cmd.Process.Signal(syscall.SIGKILL)
			<-r.exited
			c.pauses = append(c.pauses, ev)
			// Restarted at once, as Kubernetes would; its port is free
			// again now that the process is gone.
			if err := c.start(r); err != nil {
				c.t.Error(err)
			}
		}
		c.mu.Unlock()
	}
}

// evidence describes the state a failpoint froze, so the test shows the
// crash landed inside the window it is about.
func (c *cluster) evidence(point string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	count := func(q string) int {
		var n int
		if err := c.db.QueryRow(ctx, q).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	switch point {
	case "scored":
		return fmt.Sprintf("undecided scores %d, alerts %d",
			count(`SELECT count(*) FROM account_scores WHERE NOT hooked AND account_id LIKE 'acme%'`),
			count(`SELECT count(*) FROM alerts`))
	case "posted":
		return fmt.Sprintf("alert posts in Slack %d, recorded %d", len(c.alertPosts()),
			count(`SELECT count(*) FROM alerts WHERE message_ts IS NOT NULL`))
	case "sla-swept":
		return fmt.Sprintf("nudges due and unrecorded %d",
			count(`SELECT count(*) FROM alerts WHERE warn_at <= now() AND nudged_at IS NULL`))
	case "noted":
		return fmt.Sprintf("notes in Slack %d, outbox notes done %d", c.notes(),
			count(`SELECT count(*) FROM slack_outbox WHERE kind IN ('reply', 'escalation') AND state = 'done'`))
	}
	return ""
}

func (c *cluster) allLogs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, r := range c.replicas {
		b.WriteString(r.all.String())
	}
	return b.String()
}

func (c *cluster) notes() int {
	n := 0
	for _, ch := range []string{"C0AEHAND", "C0MGRS"} {
		for _, m := range c.fake.Messages(ch) {
			if m.Metadata != nil && m.Metadata.EventType == "pql_note" {
				n++
			}
		}
	}
	return n
}

// waitPause waits until a replica froze at point and was killed, and
// checks the crash landed in its window.
func (c *cluster) waitPause(point string) {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, p := range c.pauses {
			if p.point == point {
				c.mu.Unlock()
				c.checkEvidence(p)
				return
			}
		}
		c.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no replica reached failpoint %q", point)
}

func (c *cluster) checkEvidence(p pause) {
	c.t.Helper()
	var a, b int
	switch p.point {
	case "scored":
		_, err := fmt.Sscanf(p.evidence, "undecided scores %d, alerts %d", &a, &b)
		require.NoError(c.t, err, p.evidence)
		require.Positive(c.t, a, "killed with scores committed and undecided: %s", p.evidence)
		require.Zero(c.t, b, "killed before any alert was decided: %s", p.evidence)
	case "posted":
		_, err := fmt.Sscanf(p.evidence, "alert posts in Slack %d, recorded %d", &a, &b)
		require.NoError(c.t, err, p.evidence)
		require.Greater(c.t, a, b, "killed with a post in Slack that pqlbot had not recorded: %s", p.evidence)
	case "sla-swept":
		_, err := fmt.Sscanf(p.evidence, "nudges due and unrecorded %d", &a)
		require.NoError(c.t, err, p.evidence)
		require.Positive(c.t, a, "killed while its sweep held a due nudge: %s", p.evidence)
	case "noted":
		_, err := fmt.Sscanf(p.evidence, "notes in Slack %d, outbox notes done %d", &a, &b)
		require.NoError(c.t, err, p.evidence)
		require.Greater(c.t, a, b, "killed with a note in Slack that pqlbot had not recorded: %s", p.evidence)
	}
}

// handRaise sends, through replica i, a batch in which each account's
// user asks for a demo, and returns when each crossing event was accepted.
func (c *cluster) handRaise(i int, accounts ...string) map[string]time.Time {
	c.t.Helper()
	var batch []map[string]any
	for _, acct := range accounts {
		u := "u-" + acct
		batch = append(batch,
			map[string]any{"type": "identify", "userId": u, "messageId": "id-" + acct, "traits": map[string]any{"email": u + "@" + acct + ".io"}},
			map[string]any{"type": "group", "userId": u, "groupId": acct, "messageId": "gr-" + acct,
				"traits": map[string]any{"name": strings.ToUpper(acct), "domain": acct + ".io", "employees": 120, "plan": "trial"}},
			map[string]any{"type": "track", "userId": u, "event": "Demo Requested", "messageId": "demo-" + acct},
		)
	}
	body, _ := json.Marshal(map[string]any{"batch": batch})
	c.mu.Lock()
	addr := c.replicas[i].addr
	c.mu.Unlock()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/batch", bytes.NewReader(body))
	require.NoError(c.t, err)
	req.SetBasicAuth(smokeWriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	resp.Body.Close()
	require.Equal(c.t, 200, resp.StatusCode)
	out := map[string]time.Time{}
	for _, a := range accounts {
		out[a] = sent
	}
	return out
}

// alertPosts maps alert id → ts of every pql_alert message in Slack; a
// second post of one alert fails the test.
func (c *cluster) alertPosts() map[string]string {
	out := map[string]string{}
	for _, m := range c.fake.Messages("C0AEHAND") {
		if m.Metadata == nil || m.Metadata.EventType != "pql_alert" {
			continue
		}
		id := fmt.Sprint(m.Metadata.EventPayload["alert_id"])
		if prev, dup := out[id]; dup {
			c.t.Errorf("alert %s posted twice: %s and %s", id, prev, m.TS)
		}
		out[id] = m.TS
	}
	return out
}

func (c *cluster) waitPosts(accounts map[string]time.Time) {
	c.t.Helper()
	require.Eventually(c.t, func() bool {
		var n int
		_ = c.db.QueryRow(context.Background(), `SELECT count(*) FROM alerts WHERE message_ts IS NOT NULL`).Scan(&n)
		return n == len(accounts) && len(c.alertPosts()) == len(accounts)
	}, 90*time.Second, 100*time.Millisecond, "every alert posted and recorded")
}

// waitNudges waits for one nudge in each alert's thread and returns their
// ts by alert id.
func (c *cluster) waitNudges(accounts map[string]time.Time) map[string]string {
	c.t.Helper()
	var out map[string]string
	require.Eventually(c.t, func() bool {
		out = map[string]string{}
		posts := c.alertPosts()
		byTS := map[string]string{}
		for id, ts := range posts {
			byTS[ts] = id
		}
		for _, m := range c.fake.Messages("C0AEHAND") {
			if m.ThreadTS == "" || m.Metadata == nil || m.Metadata.EventType != "pql_note" || m.Metadata.EventPayload["kind"] != "reply" {
				continue
			}
			id := byTS[m.ThreadTS]
			if prev, dup := out[id]; dup {
				c.t.Errorf("alert %s nudged twice: %s and %s", id, prev, m.TS)
			}
			out[id] = m.TS
		}
		var recorded int
		_ = c.db.QueryRow(context.Background(), `SELECT count(*) FROM slack_outbox WHERE kind = 'reply' AND state = 'done'`).Scan(&recorded)
		return len(out) == len(accounts) && recorded == len(accounts)
	}, 90*time.Second, 100*time.Millisecond, "every alert nudged and the nudge recorded")
	return out
}

type alertRow struct {
	id, account, messageTS string
	warnAt, recordedAt     time.Time
}

func (c *cluster) alerts(ctx context.Context) []alertRow {
	c.t.Helper()
	rows, err := c.db.Query(ctx, `
		SELECT a.id::text, a.account_id, coalesce(a.message_ts, ''), coalesce(a.warn_at, 'epoch'),
		       coalesce((SELECT min(at) FROM alert_audit WHERE alert_id = a.id AND action = 'posted'), 'epoch')
		FROM alerts a ORDER BY a.account_id`)
	require.NoError(c.t, err)
	defer rows.Close()
	var out []alertRow
	for rows.Next() {
		var a alertRow
		require.NoError(c.t, rows.Scan(&a.id, &a.account, &a.messageTS, &a.warnAt, &a.recordedAt))
		out = append(out, a)
	}
	require.NoError(c.t, rows.Err())
	return out
}

// tsTime reads a Slack ts ("1700000000.123456") as a time.
func tsTime(t *testing.T, ts string) time.Time {
	sec, frac, ok := strings.Cut(ts, ".")
	require.True(t, ok, ts)
	s, err := strconv.ParseInt(sec, 10, 64)
	require.NoError(t, err)
	us, err := strconv.ParseInt(frac, 10, 64)
	require.NoError(t, err)
	return time.Unix(s, us*1000)
}
