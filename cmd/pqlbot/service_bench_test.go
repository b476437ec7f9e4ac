package main

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store/storetest"
)

var (
	serviceCPUProfile = flag.String("service.cpuprofile", "", "BenchmarkService: write a CPU profile of `pqlbot serve` under the batch load (from PQLBOT_DEBUG_ADDR) to this file")
	serviceSingleCPU  = flag.String("service.cpuprofile-single", "", "BenchmarkService: write a CPU profile of `pqlbot serve` under the single-event load to this file")
)

// The whole-service workload (issue 15).
const (
	svcAccounts    = 1000
	svcUsers       = 5000
	svcBatchEvents = 150_000 // 8 clients × 100-event batches
	svcBatchSize   = 100
	svcBatchConns  = 8
	svcSingle      = 40_000 // 32 clients of single track
	svcSingleConns = 32
	svcProbes      = 300 // accounts of each probe kind (crossing, hand-raise)
	svcProbeEvery  = 50 * time.Millisecond
)

// BenchmarkService measures the real binary with every worker on (ingest,
// re-scorer, alert decisions, dispatcher posting to a Slack stand-in with a
// bot token, SLA sweeper) under the load of issue 15, beside two baselines
// measured in the same run on the same machine: PostgreSQL's own batched
// INSERT rate, and a no-op HTTP server driven by the same client. While
// the loads run (plain JSON, then the same loads with gzip bodies), probe
// events cross accounts over the alert threshold or
// raise a hand, and the time from sending each to its chat.postMessage
// arriving is measured. It prints one table; nothing in it is asserted
// beyond correctness (every request 200, every event stored, exactly one
// post per probe).
func BenchmarkService(b *testing.B) {
	for range b.N {
		runServiceBench(b)
	}
}

type loadResult struct {
	events   int
	elapsed  time.Duration
	p50, p99 time.Duration
	failed   int64
}

func (r loadResult) rate() float64 { return float64(r.events) / r.elapsed.Seconds() }

// cpuTimes are CPU seconds (user + system) consumed so far, and the
// re-scorer's counters.
type cpuTimes struct {
	at               time.Time
	pqlbot           float64
	self             float64
	pg               map[int]float64 // per backend of the benchmark database
	rescored, writes float64
}

type cpuSplit struct {
	pqlbot, pg, client float64 // cores
	rescored, writes   float64 // per second
}

func runServiceBench(b *testing.B) {
	ctx := context.Background()
	loadStart := loadavg()
	bin := pqlbotBinary(b)

	fake := slackfake.New(b)
	fake.SetToken(smokeBotToken)
	for _, ch := range []slackfake.Channel{{ID: "C0SDRPQL", Name: "sdr-pql"}, {ID: "C0AEHAND", Name: "ae-hand-raisers"},
		{ID: "C0AEENT", Name: "ae-enterprise"}, {ID: "C0NURTURE", Name: "pql-nurture"}, {ID: "C0MGRS", Name: "sales-managers"}} {
		fake.AddChannel(ch)
	}
	dbURL := storetest.NewURL(b)
	addr, debugAddr := freeAddr(b), freeAddr(b)
	base := "http://" + addr
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(baseEnv(), "DATABASE_URL="+dbURL, "HTTP_ADDR="+addr, "PQLBOT_DEBUG_ADDR="+debugAddr,
		"PQLBOT_WRITE_KEYS="+smokeWriteKey, "SLACK_BOT_TOKEN="+smokeBotToken, "SLACK_SIGNING_SECRET="+smokeSecret,
		"SLACK_API_URL="+fake.APIURL(), "PQLBOT_LOG_LEVEL=warn", "PQLBOT_RESCORE_DEBOUNCE="+cmp.Or(os.Getenv("SERVICE_RESCORE_DEBOUNCE"), "500ms"))
	cmd.Stderr = os.Stderr
	require.NoError(b, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(b, base+"/readyz", exited)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(b, err)
	defer pool.Close()

	// Seed: every load account reaches the high tier and alerts once (its
	// alert stays open, so each later re-score runs a decision that finds
	// it); probe accounts sit at mid, which does not notify.
	seedService(b, base)
	seeded := fake.WaitFor("chat.postMessage", svcAccounts, 3*time.Minute)
	require.Len(b, seeded, svcAccounts, "every load account alerted once, no probe account did")
	time.Sleep(2 * time.Second) // let the seed's re-scores settle
	var seededEvents int
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&seededEvents))

	stamp := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339Nano)
	batchBodies, singleBodies := loadBodies("b", "s", stamp)
	// The same load again with gzip bodies (what RudderStack's SDKs send by
	// default), compressed before the clock starts as an SDK would.
	gzBatchBodies, gzSingleBodies := loadBodies("gb", "gs", stamp)
	gzBatchBodies, gzSingleBodies = gzipAll(gzBatchBodies), gzipAll(gzSingleBodies)

	b.ResetTimer()
	// Baselines first, while pqlbot idles.
	rawRate := rawInsertRate(b, pool, stamp)
	noop := noopServer(b)
	noopBatch := drive(b, noop+"/v1/batch", svcBatchConns, batchBodies, svcBatchSize)
	noopSingle := drive(b, noop+"/v1/track", svcSingleConns, singleBodies, 1)

	probes := newProber(base)
	probes.start()
	var profile chan error
	if *serviceCPUProfile != "" {
		profile = make(chan error, 1)
		go func() { profile <- fetchProfile(debugAddr, *serviceCPUProfile, 8) }()
	}
	c0 := sampleCPU(b, pool, cmd.Process.Pid, base)
	batch := drive(b, base+"/v1/batch", svcBatchConns, batchBodies, svcBatchSize)
	c1 := sampleCPU(b, pool, cmd.Process.Pid, base)
	if profile != nil {
		require.NoError(b, <-profile)
		profile = nil
	}
	if *serviceSingleCPU != "" {
		profile = make(chan error, 1)
		go func() { profile <- fetchProfile(debugAddr, *serviceSingleCPU, 8) }()
	}
	single := drive(b, base+"/v1/track", svcSingleConns, singleBodies, 1)
	c2 := sampleCPU(b, pool, cmd.Process.Pid, base)
	gzBatch := drive(b, base+"/v1/batch", svcBatchConns, gzBatchBodies, svcBatchSize)
	c3 := sampleCPU(b, pool, cmd.Process.Pid, base)
	gzSingle := drive(b, base+"/v1/track", svcSingleConns, gzSingleBodies, 1)
	c4 := sampleCPU(b, pool, cmd.Process.Pid, base)
	sent := probes.stop()
	if profile != nil {
		require.NoError(b, <-profile)
	}
	calls := fake.WaitFor("chat.postMessage", svcAccounts+len(sent), 2*time.Minute)
	b.StopTimer()
	loadEnd := loadavg()

	require.Zero(b, batch.failed+single.failed+gzBatch.failed+gzSingle.failed, "requests failed")
	var stored int
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&stored))
	require.Equal(b, seededEvents+2*(svcBatchEvents+svcSingle)+len(sent), stored, "every acknowledged event is stored")
	crossing, hand := probeLatencies(b, calls[svcAccounts:], sent)

	b.ReportMetric(batch.rate(), "batch-events/s")
	b.ReportMetric(single.rate(), "single-events/s")
	b.ReportMetric(gzBatch.rate(), "gzip-batch-events/s")
	b.ReportMetric(gzSingle.rate(), "gzip-single-events/s")
	b.ReportMetric(ms(single.p99), "single-p99-ms")
	b.ReportMetric(ms(pct(crossing, 99)), "crossing-p99-ms")
	b.ReportMetric(ms(pct(hand, 99)), "handraise-p99-ms")

	bs, ss, gbs, gss := split(c0, c1), split(c1, c2), split(c2, c3), split(c3, c4)
	w := os.Stdout
	fmt.Fprintf(w, "\n== BenchmarkService: `pqlbot serve` with every worker on (re-scorer, alert decisions, dispatcher → Slack stand-in, SLA sweeper)\n")
	fmt.Fprintf(w, "   %d accounts / %d users (plus %d probe accounts), every event a scoring signal; %d CPUs; load average %s at start, %s at end\n",
		svcAccounts, svcUsers, 2*svcProbes, runtime.NumCPU(), loadStart, loadEnd)
	fmt.Fprintf(w, "   CPU in cores over the phase: pqlbot = the serve process; PostgreSQL = the backends of this database (WAL writer and other shared processes not counted); client = this process (load generator, no-op server, Slack stand-in)\n")
	fmt.Fprintf(w, "   re-scores/s = accounts the re-scorer evaluated; written/s = of those, scores written (changed, undecided or due a refresh), each with an alert decision\n\n")
	fmt.Fprintf(w, "| %-59s | %8s | %9s | %8s | %8s | %-18s | %6s | %6s | %6s | %10s | %9s |\n", "workload", "events", "events/s", "ack p50", "ack p99", "against baseline", "pqlbot", "PG", "client", "re-scores/s", "written/s")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", dash(61), dash(10), dash(11), dash(10), dash(10), dash(20), dash(8), dash(8), dash(8), dash(12), dash(11))
	row := func(name string, r loadResult, vs string, c *cpuSplit) {
		cpu := [5]string{}
		if c != nil {
			cpu = [5]string{fmt.Sprintf("%.2f", c.pqlbot), fmt.Sprintf("%.2f", c.pg), fmt.Sprintf("%.2f", c.client), fmt.Sprintf("%.0f", c.rescored), fmt.Sprintf("%.0f", c.writes)}
		}
		p50, p99 := "", ""
		if r.p99 > 0 {
			p50, p99 = fmtDur(r.p50), fmtDur(r.p99)
		}
		fmt.Fprintf(w, "| %-59s | %8d | %9.0f | %8s | %8s | %-18s | %6s | %6s | %6s | %10s | %9s |\n", name, r.events, r.rate(), p50, p99, vs, cpu[0], cpu[1], cpu[2], cpu[3], cpu[4])
	}
	row("baseline: PostgreSQL batched INSERT, 8 conns × 100 rows/txn", loadResult{events: rawRate.events, elapsed: rawRate.elapsed}, "", nil)
	row("baseline: no-op HTTP server, 8 clients × 100-event batches", noopBatch, "", nil)
	row("pqlbot serve, 8 clients × 100-event batches", batch, fmt.Sprintf("%.0f%% of raw INSERT", 100*batch.rate()/rawRate.rate()), &bs)
	row("baseline: no-op HTTP server, 32 clients × single track", noopSingle, "", nil)
	row("pqlbot serve, 32 clients × single track", single, fmt.Sprintf("%.0f%% of no-op", 100*single.rate()/noopSingle.rate()), &ss)
	row("pqlbot serve, 8 clients × 100-event batches, gzip", gzBatch, fmt.Sprintf("%.0f%% of plain JSON", 100*gzBatch.rate()/batch.rate()), &gbs)
	row("pqlbot serve, 32 clients × single track, gzip", gzSingle, fmt.Sprintf("%.0f%% of plain JSON", 100*gzSingle.rate()/single.rate()), &gss)
	fmt.Fprintf(w, "\n   wire bytes: a 100-event batch %s plain, %s gzip; a single track %s plain, %s gzip\n",
		avgLen(batchBodies), avgLen(gzBatchBodies), avgLen(singleBodies), avgLen(gzSingleBodies))
	fmt.Fprintf(w, "\n| %-58s | %5s | %8s | %8s | %8s |\n", "while both loads ran: event sent → chat.postMessage", "n", "p50", "p99", "max")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|\n", dash(60), dash(7), dash(10), dash(10), dash(10))
	for _, l := range []struct {
		name string
		lat  []time.Duration
	}{{"account crossing the alert threshold (→ #sdr-pql)", crossing}, {"hand-raise (Demo Requested → #ae-hand-raisers)", hand}} {
		fmt.Fprintf(w, "| %-58s | %5d | %8s | %8s | %8s |\n", l.name, len(l.lat), fmtDur(pct(l.lat, 50)), fmtDur(pct(l.lat, 99)), fmtDur(pct(l.lat, 100)))
	}
	fmt.Fprintf(w, "\ntargets (issue 15): batched ≥ 20,000 events/s (goal ≥ 35%% of raw INSERT): %s; single ≥ 5,000 events/s, p99 ≤ 50 ms (goal ≥ 60%% of no-op, p99 ≤ 25 ms): %s;\n",
		verdict(batch.rate() >= 20_000, batch.rate() >= 0.35*rawRate.rate()),
		verdict(single.rate() >= 5_000 && single.p99 <= 50*time.Millisecond, single.rate() >= 0.6*noopSingle.rate() && single.p99 <= 25*time.Millisecond))
	fmt.Fprintf(w, "crossing → post p99 < 1 s: %s; hand-raise → post p99 < 500 ms: %s\n\n",
		verdict(pct(crossing, 99) < time.Second, true), verdict(pct(hand, 99) < 500*time.Millisecond, true))
}

// loadBodies builds the batch and single-call bodies of the load, message
// ids prefixed so each load is its own events.
func loadBodies(batchPrefix, singlePrefix, stamp string) (batches, singles [][]byte) {
	batches = make([][]byte, 0, svcBatchEvents/svcBatchSize)
	for r := range svcBatchEvents / svcBatchSize {
		var body bytes.Buffer
		body.WriteString(`{"batch":[`)
		for i := range svcBatchSize {
			if i > 0 {
				body.WriteByte(',')
			}
			body.WriteString(loadEvent(batchPrefix, r*svcBatchSize+i, stamp, false))
		}
		body.WriteString(`]}`)
		batches = append(batches, body.Bytes())
	}
	singles = make([][]byte, svcSingle)
	for i := range singles {
		singles[i] = []byte(loadEvent(singlePrefix, i, stamp, true))
	}
	return batches, singles
}

func gzipAll(bodies [][]byte) [][]byte {
	out := make([][]byte, len(bodies))
	for i, body := range bodies {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(body)
		_ = w.Close()
		out[i] = buf.Bytes()
	}
	return out
}

func avgLen(bodies [][]byte) string {
	n := 0
	for _, b := range bodies {
		n += len(b)
	}
	return fmt.Sprintf("%d B", n/len(bodies))
}

func verdict(target, goal bool) string {
	switch {
	case target && goal:
		return "met"
	case target:
		return "target met, goal not"
	}
	return "NOT met"
}

func dash(n int) string { return strings.Repeat("-", n) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fmtDur(d time.Duration) string {
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", ms(d))
}

// pct is the p-th percentile of sorted durations (100: the maximum).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

// loadEvent is load message i: every one is an event some signal of the
// example model counts, spread over the accounts and their users. With
// trackOnly it is always a track call (/v1/track takes nothing else).
func loadEvent(prefix string, i int, stamp string, trackOnly bool) string {
	user := i % svcUsers
	acct := user % svcAccounts
	head := fmt.Sprintf(`"messageId":"%s%d","userId":"u%04d","timestamp":%q,"context":{"groupId":"acct-%04d"}`, prefix, i, user, stamp, acct)
	kind := i % 5
	if trackOnly && kind == 2 {
		kind = 0
	}
	switch kind {
	case 0:
		return `{"type":"track","event":"Workflow Completed",` + head + `}`
	case 1:
		return `{"type":"track","event":"Teammate Invited",` + head + `}`
	case 2:
		return `{"type":"page","name":"Pricing",` + head + `}`
	case 3:
		return `{"type":"track","event":"Records Imported","properties":{"records":3},` + head + `}`
	default:
		return `{"type":"track","event":"Integration Connected","properties":{"type":"production_database"},` + head + `}`
	}
}

// seedService gives every user an email and an account, takes every load
// account to the high tier (workflows, invites, pricing visits, three
// active users, company size) and every probe account to mid (one short of
// the invites signal), all through the service's own ingest.
func seedService(b *testing.B, base string) {
	stamp := time.Now().UTC().Add(-2 * time.Hour).Format(time.RFC3339Nano)
	var msgs []string
	flush := func(force bool) {
		if len(msgs) == 0 || (!force && len(msgs) < 400) {
			return
		}
		require.Equal(b, 200, postJSON(b, base+"/v1/batch", `{"batch":[`+strings.Join(msgs, ",")+`]}`))
		msgs = msgs[:0]
	}
	for u := range svcUsers {
		a := u % svcAccounts
		msgs = append(msgs,
			fmt.Sprintf(`{"type":"identify","userId":"u%04d","messageId":"seed-i%d","traits":{"email":"u%04d@co%d.io"}}`, u, u, u, a),
			fmt.Sprintf(`{"type":"group","userId":"u%04d","groupId":"acct-%04d","messageId":"seed-g%d","traits":{"name":"Co %d","domain":"co%d.io","employees":120,"plan":"trial"}}`, u, a, u, a, a))
		flush(false)
	}
	n := 0
	ev := func(kind, name, user, acct string) {
		n++
		msgs = append(msgs, fmt.Sprintf(`{"type":%q,%q:%q,"userId":%q,"messageId":"seed-e%d","timestamp":%q,"context":{"groupId":%q}}`,
			kind, map[string]string{"track": "event", "page": "name"}[kind], name, user, n, stamp, acct))
		flush(false)
	}
	for a := range svcAccounts {
		acct := fmt.Sprintf("acct-%04d", a)
		for k := range 3 {
			ev("track", "Workflow Completed", fmt.Sprintf("u%04d", a+k*svcAccounts), acct)
		}
		ev("track", "Teammate Invited", fmt.Sprintf("u%04d", a), acct)
		ev("track", "Teammate Invited", fmt.Sprintf("u%04d", a), acct)
		ev("page", "Pricing", fmt.Sprintf("u%04d", a), acct)
		ev("page", "Pricing", fmt.Sprintf("u%04d", a), acct)
	}
	for _, kind := range []string{"probe", "hand"} {
		for p := range svcProbes {
			acct, user := fmt.Sprintf("%s-%03d", kind, p), fmt.Sprintf("%su-%03d", kind, p)
			msgs = append(msgs,
				fmt.Sprintf(`{"type":"identify","userId":%q,"messageId":"seed-pi-%s","traits":{"email":"%s@%s.io"}}`, user, acct, user, acct),
				fmt.Sprintf(`{"type":"group","userId":%q,"groupId":%q,"messageId":"seed-pg-%s","traits":{"name":%q,"domain":"%s.io","employees":120,"plan":"trial"}}`, user, acct, acct, acct, acct))
			for range 3 {
				ev("track", "Workflow Completed", user, acct)
			}
			ev("page", "Pricing", user, acct)
			ev("page", "Pricing", user, acct)
			ev("track", "Teammate Invited", user, acct)
		}
	}
	flush(true)
}

// rawInsertRate is PostgreSQL's own rate for the same rows pqlbot stores
// per event, inserted in transactions of 100 rows from 8 connections into
// a copy of the events table (same columns, indexes and unique key),
// durably committed.
func rawInsertRate(b *testing.B, pool *pgxpool.Pool, stamp string) loadResult {
	ctx := context.Background()
	_, err := pool.Exec(ctx, `CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL)`)
	require.NoError(b, err)
	ts, err := time.Parse(time.RFC3339Nano, stamp)
	require.NoError(b, err)
	const rows = svcBatchEvents / 2
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for range svcBatchConns {
		wg.Go(func() {
			for {
				r := int(next.Add(1) - 1)
				if r*svcBatchSize >= rows {
					return
				}
				n := svcBatchSize
				src, mid, typ, name, uid, acct, props := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
				at := make([]time.Time, n)
				for i := range n {
					k := r*n + i
					src[i], mid[i], typ[i], name[i] = "bench", "raw"+strconv.Itoa(k), "track", "Records Imported"
					uid[i], acct[i], props[i], at[i] = fmt.Sprintf("u%04d", k%svcUsers), fmt.Sprintf("acct-%04d", k%svcAccounts), `{"records":3}`, ts
				}
				_, err := pool.Exec(ctx, `
					INSERT INTO bench_raw_events (source, message_id, type, name, user_id, account_id, properties, ts, received_at)
					SELECT s, m, t, nm, u, a, p::jsonb, ts, now()
					FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[]) AS x(s, m, t, nm, u, a, p, ts)`,
					src, mid, typ, name, uid, acct, props, at)
				if err != nil {
					failed.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.Zero(b, failed.Load(), "raw INSERT baseline failed")
	_, err = pool.Exec(ctx, `DROP TABLE bench_raw_events`)
	require.NoError(b, err)
	return loadResult{events: rows, elapsed: elapsed}
}

// noopServer answers every request 200 after reading its body: the
// ceiling the HTTP client and this machine allow.
func noopServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true}`))
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// drive posts bodies from clients connections, each taking the next body
// as soon as its previous request is answered.
func drive(b *testing.B, u string, clients int, bodies [][]byte, perBody int) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var failed atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(bodies)) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(bodies[i]))
				req.SetBasicAuth(smokeWriteKey, "")
				req.Header.Set("Content-Type", "application/json")
				if len(bodies[i]) > 1 && bodies[i][0] == 0x1f && bodies[i][1] == 0x8b {
					req.Header.Set("Content-Encoding", "gzip")
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	if failed.Load() > 0 {
		b.Errorf("%s: %d requests failed", u, failed.Load())
	}
	return loadResult{events: len(bodies) * perBody, elapsed: elapsed, p50: pct(all, 50), p99: pct(all, 99), failed: failed.Load()}
}

// prober sends one probe event every svcProbeEvery, alternating an event
// that takes a mid account over the alert threshold and a hand-raise, and
// records when each was sent.
type prober struct {
	base string
	quit chan struct{}
	done chan struct{}
	sent map[string]probeSent // by account
}

type probeSent struct {
	hand bool
	at   time.Time
	ack  time.Duration // until pqlbot answered 200
}

func newProber(base string) *prober {
	return &prober{base: base, quit: make(chan struct{}), done: make(chan struct{}), sent: map[string]probeSent{}}
}

func (p *prober) start() {
	go func() {
		defer close(p.done)
		client := &http.Client{Timeout: 30 * time.Second}
		tick := time.NewTicker(svcProbeEvery)
		defer tick.Stop()
		for i := 0; i < 2*svcProbes; i++ {
			select {
			case <-p.quit:
				return
			case <-tick.C:
			}
			hand := i%2 == 1
			kind, event := "probe", "Teammate Invited"
			if hand {
				kind, event = "hand", "Demo Requested"
			}
			acct, user := fmt.Sprintf("%s-%03d", kind, i/2), fmt.Sprintf("%su-%03d", kind, i/2)
			body := fmt.Sprintf(`{"userId":%q,"event":%q,"messageId":"probe-%s","context":{"groupId":%q}}`, user, event, acct, acct)
			req, _ := http.NewRequest(http.MethodPost, p.base+"/v1/track", strings.NewReader(body))
			req.SetBasicAuth(smokeWriteKey, "")
			req.Header.Set("Content-Type", "application/json")
			at := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.sent[acct] = probeSent{hand: hand, at: at, ack: time.Since(at)}
			}
		}
	}()
}

func (p *prober) stop() map[string]probeSent {
	close(p.quit)
	<-p.done
	return p.sent
}

func probeLatencies(b *testing.B, calls []slackfake.Call, sent map[string]probeSent) (crossing, hand []time.Duration) {
	seen := map[string]bool{}
	for _, c := range calls {
		var meta struct {
			EventType string `json:"event_type"`
			Payload   struct {
				AccountID string `json:"account_id"`
			} `json:"event_payload"`
		}
		require.NoError(b, json.Unmarshal([]byte(c.Params.Get("metadata")), &meta))
		if meta.EventType != "pql_alert" {
			// A thread note (a hand-raise in the load on an account whose
			// alert is open), not a new alert.
			continue
		}
		id := meta.Payload.AccountID
		s, ok := sent[id]
		require.True(b, ok, "a post for %s, which no probe touched", id)
		require.False(b, seen[id], "two posts for %s", id)
		seen[id] = true
		if os.Getenv("SERVICE_PROBE_DUMP") != "" {
			fmt.Printf("probe %s sent %s ack %s post %s\n", id, s.at.Format("15:04:05.000"), s.ack.Round(time.Millisecond), c.At.Sub(s.at).Round(time.Millisecond))
		}
		if s.hand {
			require.Equal(b, "C0AEHAND", c.Params.Get("channel"))
			hand = append(hand, c.At.Sub(s.at))
		} else {
			require.Equal(b, "C0SDRPQL", c.Params.Get("channel"))
			crossing = append(crossing, c.At.Sub(s.at))
		}
	}
	require.Len(b, seen, len(sent), "one post per probe")
	slices.Sort(crossing)
	slices.Sort(hand)
	return crossing, hand
}

// fetchProfile saves a CPU profile of seconds from the debug listener.
func fetchProfile(debugAddr, path string, seconds int) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// clkTck is USER_HZ, the unit of /proc/<pid>/stat CPU times: 100 on every
// Linux architecture Go supports.
const clkTck = 100

// procCPU returns a process's user + system CPU seconds.
func procCPU(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which may hold spaces: state is
	// field 3, utime 14 and stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clkTck, true
}

func sampleCPU(b *testing.B, pool *pgxpool.Pool, pqlbotPID int, base string) cpuTimes {
	rows, err := pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	require.NoError(b, err)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(b, err)
	c := cpuTimes{at: time.Now(), pg: map[int]float64{}}
	c.rescored = counter(b, base, "pqlbot_score_evaluations_total")
	c.writes = counter(b, base, "pqlbot_scores_written_total")
	c.pqlbot, _ = procCPU(pqlbotPID)
	c.self, _ = procCPU(os.Getpid())
	for _, p := range pids {
		if v, ok := procCPU(int(p)); ok {
			c.pg[int(p)] = v
		}
	}
	return c
}

// split is the cores each side used between two samples; a backend that
// connected in between counts from its start.
func split(from, to cpuTimes) cpuSplit {
	secs := to.at.Sub(from.at).Seconds()
	var pg float64
	for pid, v := range to.pg {
		pg += v - from.pg[pid]
	}
	return cpuSplit{pqlbot: (to.pqlbot - from.pqlbot) / secs, pg: pg / secs, client: (to.self - from.self) / secs,
		rescored: (to.rescored - from.rescored) / secs, writes: (to.writes - from.writes) / secs}
}

// counter reads an unlabelled counter from pqlbot's /metrics.
func counter(b *testing.B, base, name string) float64 {
	text := get(b, base+"/metrics")
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			require.NoError(b, err)
			return f
		}
	}
	b.Fatalf("%s not in /metrics", name)
	return 0
}
