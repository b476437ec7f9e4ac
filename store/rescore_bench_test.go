package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/rescore"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// BenchmarkRescoreAll measures a full re-score: every account queued, the
// re-scorer draining the queue in batches, against a database of
// PQLBOT_BENCH_ACCOUNTS accounts (default 100,000) with about 100 events
// each (10 million events), their daily roll-ups, active users and users.
//
// Generation writes straight to the tables with COPY and takes minutes; set
// PQLBOT_BENCH_KEEP=1 to keep the database (pqlbot_bench_<accounts>) and
// reuse it on the next run. PQLBOT_BENCH_WORKERS sets the number of
// concurrent workers (default 2, like two replicas). It reports seconds per
// full re-score, accounts/s and the peak RSS of the re-score itself
// (VmHWM, reset after generation).
func BenchmarkRescoreAll(b *testing.B) {
	accounts := envInt("PQLBOT_BENCH_ACCOUNTS", 100_000)
	workers := envInt("PQLBOT_BENCH_WORKERS", 2)
	ctx := context.Background()
	pool := benchDatabase(b, accounts)
	st := store.New(pool)
	m := model.Default()
	now := benchNow
	// As serve does at start: the model's `where` signals become roll-ups
	// (their history counted once), so the re-score reads what production
	// reads. A kept database has them already.
	start := time.Now()
	built, err := st.SyncFilters(ctx, m.FactsSpec().Filters)
	require.NoError(b, err)
	if built > 0 {
		b.Logf("rolled up %d filtered signals over the history in %s", built, time.Since(start).Round(time.Millisecond))
	}

	resetPeakRSS(b)
	var total time.Duration
	for b.Loop() {
		// Every account queued, none held back by the debounce of the
		// iteration before (the clock is fixed).
		_, err := pool.Exec(ctx, `DELETE FROM rescore_last; INSERT INTO rescore_queue (account_id) SELECT account_id FROM accounts ON CONFLICT DO NOTHING`)
		require.NoError(b, err)
		start := time.Now()
		var wg sync.WaitGroup
		counts := make([]int, workers)
		for i := range workers {
			w := rescore.New(st, m, discardLog(), rescore.Options{BatchSize: 500, Now: func() time.Time { return now }})
			wg.Go(func() {
				n, err := w.Drain(ctx)
				require.NoError(b, err)
				counts[i] = n
			})
		}
		wg.Wait()
		took := time.Since(start)
		total += took
		b.Logf("re-scored %d accounts with %d workers in %s", accounts, workers, took.Round(time.Millisecond))
		sum := 0
		for _, n := range counts {
			sum += n
		}
		require.Equal(b, accounts, sum)
	}
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/rescore")
	b.ReportMetric(float64(accounts)/per, "accounts/s")
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peakRSS-MB")
}

var benchNow = time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// resetPeakRSS makes VmHWM start from the current RSS (Linux clear_refs 5),
// so generation does not count against the re-score.
func resetPeakRSS(tb testing.TB) {
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Logf("cannot reset peak RSS (%v): it includes data generation", err)
	}
}

// peakRSS reads VmHWM from /proc/self/status, in bytes.
func peakRSS(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	require.NoError(tb, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(tb, err)
			return kb << 10
		}
	}
	tb.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// benchDatabase returns a pool on a populated benchmark database, creating
// and filling it when it is missing or incomplete.
func benchDatabase(b *testing.B, accounts int) *pgxpool.Pool {
	return benchDatabaseNamed(b, fmt.Sprintf("pqlbot_bench_%d", accounts), accounts)
}

// benchDatabaseNamed is benchDatabase under a name of the caller's: each
// benchmark that writes to its database (a re-score writes scores) keeps
// its own, so two benchmarks never fill the same one at once.
func benchDatabaseNamed(b *testing.B, name string, accounts int) *pgxpool.Pool {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, storetest.AdminURL())
	require.NoError(b, err)
	defer admin.Close(ctx)
	var exists bool
	require.NoError(b, admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	if !exists {
		_, err := admin.Exec(ctx, "CREATE DATABASE "+name)
		require.NoError(b, err)
	}
	if os.Getenv("PQLBOT_BENCH_KEEP") == "" {
		b.Cleanup(func() {
			c, err := pgx.Connect(context.Background(), storetest.AdminURL())
			if err != nil {
				return
			}
			defer c.Close(context.Background())
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
	}
	u, err := url.Parse(storetest.AdminURL())
	require.NoError(b, err)
	u.Path = "/" + name
	cfg, err := pgxpool.ParseConfig(u.String())
	require.NoError(b, err)
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	st := store.New(pool)
	_, err = st.Migrate(ctx)
	require.NoError(b, err)

	var have int
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&have))
	if have == accounts {
		var events int64
		require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events))
		b.Logf("reusing %s: %d accounts, %d events", name, have, events)
		return pool
	}
	for _, t := range []string{"events", "accounts", "users", "account_users", "account_daily", "account_daily_users", "rescore_queue", "account_scores", "score_history"} {
		_, err := pool.Exec(ctx, "TRUNCATE "+t)
		require.NoError(b, err)
	}
	start := time.Now()
	events := generate(b, pool, accounts)
	_, err = pool.Exec(ctx, `VACUUM ANALYZE`)
	require.NoError(b, err)
	b.Logf("generated %s: %d accounts, %d events in %s", name, accounts, events, time.Since(start).Round(time.Second))
	return pool
}

// benchAccount is one synthetic account, regenerated identically (seeded by
// its index) for each table it feeds.
type benchAccount struct {
	id     string
	users  []string
	traits []byte
	events []benchEvent
}

type benchEvent struct {
	kind, name, user string
	ts               time.Time
	props            []byte
	records          float64
}

var benchNames = []struct {
	kind, name string
	weight     int
}{
	{"track", "Logged In", 30}, {"track", "Workflow Completed", 15}, {"track", "Report Exported", 10},
	{"track", "Dashboard Viewed", 10}, {"track", "Records Imported", 6}, {"track", "Teammate Invited", 4},
	{"track", "Ticket Opened", 3}, {"track", "Integration Connected", 2}, {"track", "Comment Added", 8},
	{"page", "Pricing", 4}, {"page", "Docs", 7}, {"track", "Demo Requested", 1},
}

func benchAccountAt(i int) benchAccount {
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	a := benchAccount{id: fmt.Sprintf("acct%06d", i)}
	for u := range 1 + rng.IntN(6) {
		a.users = append(a.users, fmt.Sprintf("a%06d_u%d", i, u))
	}
	plan := []string{"trial", "trial", "trial", "paid"}[rng.IntN(4)]
	a.traits, _ = json.Marshal(map[string]any{"name": fmt.Sprintf("Account %d", i), "employees": rng.IntN(3000), "plan": plan})
	total := 0
	for _, n := range benchNames {
		total += n.weight
	}
	for range 20 + rng.IntN(161) { // 20..180, about 100 on average
		pick := rng.IntN(total)
		var kind, name string
		for _, n := range benchNames {
			if pick < n.weight {
				kind, name = n.kind, n.name
				break
			}
			pick -= n.weight
		}
		e := benchEvent{kind: kind, name: name, user: a.users[rng.IntN(len(a.users))],
			ts: benchNow.Add(-time.Duration(rng.Int64N(int64(45 * 24 * time.Hour))))}
		switch name {
		case "Records Imported":
			e.records = float64(rng.IntN(50))
			e.props = []byte(fmt.Sprintf(`{"records":%d,"source":"csv"}`, int(e.records)))
		case "Integration Connected":
			e.props = []byte(fmt.Sprintf(`{"type":%q}`, []string{"production_database", "staging"}[rng.IntN(2)]))
		}
		a.events = append(a.events, e)
	}
	return a
}

// copyAccounts streams rows for table, generated per account.
func copyAccounts(b *testing.B, pool *pgxpool.Pool, accounts int, table string, cols []string, rows func(a benchAccount, emit func(...any))) int64 {
	ctx := context.Background()
	var pending [][]any
	next := 0
	n, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		for len(pending) == 0 {
			if next == accounts {
				return nil, nil
			}
			rows(benchAccountAt(next), func(v ...any) { pending = append(pending, v) })
			next++
		}
		row := pending[0]
		pending = pending[1:]
		return row, nil
	}))
	require.NoError(b, err, table)
	return n
}

func generate(b *testing.B, pool *pgxpool.Pool, accounts int) int64 {
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	start := time.Now()
	events := copyAccounts(b, pool, accounts, "events",
		[]string{"source", "message_id", "type", "name", "user_id", "account_id", "properties", "ts", "received_at"},
		func(a benchAccount, emit func(...any)) {
			for j, e := range a.events {
				emit("bench", a.id+"-"+strconv.Itoa(j), e.kind, e.name, e.user, a.id, e.props, e.ts, e.ts)
			}
		})
	b.Logf("events: %d rows in %s", events, time.Since(start).Round(time.Second))
	copyAccounts(b, pool, accounts, "accounts",
		[]string{"account_id", "name", "domain", "traits", "first_event_at", "last_event_at"},
		func(a benchAccount, emit func(...any)) {
			first, last := a.events[0].ts, a.events[0].ts
			for _, e := range a.events {
				first, last = minT(first, e.ts), maxT(last, e.ts)
			}
			emit(a.id, "Account "+a.id, a.id+".example.com", a.traits, first, last)
		})
	copyAccounts(b, pool, accounts, "users", []string{"user_id", "email", "account_id"},
		func(a benchAccount, emit func(...any)) {
			for k, u := range a.users {
				var email any
				if k == 0 {
					email = u + "@" + a.id + ".example.com"
				}
				emit(u, email, a.id)
			}
		})
	copyAccounts(b, pool, accounts, "account_users", []string{"account_id", "user_id", "linked_at"},
		func(a benchAccount, emit func(...any)) {
			for k, u := range a.users {
				emit(a.id, u, benchNow.Add(-time.Duration(50-k)*24*time.Hour))
			}
		})
	type dk struct {
		day        time.Time
		kind, name string
	}
	start = time.Now()
	daily := copyAccounts(b, pool, accounts, "account_daily", []string{"account_id", "day", "kind", "name", "n", "sums"},
		func(a benchAccount, emit func(...any)) {
			agg := map[dk]*[2]float64{}
			var order []dk
			for _, e := range a.events {
				k := dk{day(e.ts), e.kind, e.name}
				v := agg[k]
				if v == nil {
					v = &[2]float64{}
					agg[k] = v
					order = append(order, k)
				}
				v[0]++
				v[1] += e.records
			}
			for _, k := range order {
				sums := []byte(`{}`)
				if k.name == "Records Imported" {
					sums = []byte(`{"records":` + strconv.FormatFloat(agg[k][1], 'f', -1, 64) + `}`)
				}
				emit(a.id, k.day, k.kind, k.name, int64(agg[k][0]), sums)
			}
		})
	users := copyAccounts(b, pool, accounts, "account_daily_users", []string{"account_id", "day", "user_id"},
		func(a benchAccount, emit func(...any)) {
			seen := map[string]bool{}
			for _, e := range a.events {
				k := day(e.ts).String() + e.user
				if !seen[k] {
					seen[k] = true
					emit(a.id, day(e.ts), e.user)
				}
			}
		})
	b.Logf("roll-ups: %d daily rows, %d daily user rows in %s", daily, users, time.Since(start).Round(time.Second))
	return events
}

func minT(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxT(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
