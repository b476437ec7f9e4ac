package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// Benchmark data set (SPEC issues 6 and 13): 100,000 accounts, 10 million
// events, 50,000 alerts, 10,000 outcomes. PQLBOT_BENCH_EVENTS overrides the event count for a quick
// run.
const (
	benchAccounts = 100_000
	benchEvents   = 10_000_000
	benchAlerts   = 50_000
	benchOutcomes = 10_000
)

// BenchmarkSlashCommands measures `/pql score`, `/pql sla 30d` and `/pql
// stats 90d` over real
// HTTP (signed requests through the route, handler, service and store)
// against a database of the size above. Each iteration sends a fixed
// number of sequential requests and reports their p50 and p99.
func BenchmarkSlashCommands(b *testing.B) {
	nEvents := benchEvents
	if v := os.Getenv("PQLBOT_BENCH_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(b, err)
		nEvents = n
	}
	st := storetest.New(b)
	m := model.Default()
	now := time.Now().UTC()
	start := time.Now()
	seedBench(b, st, m, now, nEvents)
	b.Logf("seeded %d accounts, %d events, %d alerts in %s", benchAccounts, nEvents, benchAlerts, time.Since(start).Round(time.Second))

	log := slog.New(slog.DiscardHandler)
	svc := &commands.Service{Store: st, Model: m, Log: log}
	cmds := &handlers.Commands{
		Verifier: &handlers.SlackVerifier{Secret: slashSecret},
		Service:  svc,
		Log:      log,
	}
	srv := httptest.NewServer((&handlers.Server{Log: log, SlackCommands: cmds}).Routes())
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	rng := rand.New(rand.NewPCG(1, 2))

	run := func(b *testing.B, requests int, text func() string, want string) {
		for range b.N {
			lat := make([]time.Duration, 0, requests)
			for range requests {
				body := []byte(slashForm(text(), "").Encode())
				req, err := http.NewRequest(http.MethodPost, srv.URL+"/slack/commands", strings.NewReader(string(body)))
				require.NoError(b, err)
				for k, v := range handlers.SignSlack(slashSecret, time.Now(), body) {
					req.Header[k] = v
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				t0 := time.Now()
				resp, err := client.Do(req)
				require.NoError(b, err)
				out, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				require.NoError(b, err)
				require.Equal(b, http.StatusOK, resp.StatusCode)
				var msg slack.WebhookMessage
				require.NoError(b, json.Unmarshal(out, &msg))
				require.Contains(b, msg.Text, want, "answered in the response, within the budget")
			}
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		}
	}
	b.Run("score", func(b *testing.B) {
		run(b, 1000, func() string {
			return fmt.Sprintf("score c%06d.example", rng.IntN(benchAccounts))
		}, "Company ")
	})
	b.Run("sla_30d", func(b *testing.B) {
		run(b, 200, func() string { return "sla 30d" }, "SLA, last 30 days")
	})
	b.Run("stats_90d", func(b *testing.B) {
		run(b, 200, func() string { return "stats 90d" }, "PQL program, last 90 days")
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// seedBench loads the data set with COPY: accounts, their users, events
// spread over the last 60 days, a stored score per account (a real scorer
// result as template) and alerts spread over the last 90 days in every
// state.
func seedBench(b testing.TB, st *store.Store, m *model.Model, now time.Time, nEvents int) {
	b.Helper()
	ctx := context.Background()
	pool := st.Pool()
	copyRows := func(table string, cols []string, n int, row func(i int) []any) {
		b.Helper()
		_, err := pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				i++
				return row(i - 1), nil
			}
		}()))
		require.NoError(b, err, table)
	}
	acct := func(i int) string { return fmt.Sprintf("acct-%06d", i) }
	user := func(i, j int) string { return fmt.Sprintf("u%06d_%d", i, j) }

	copyRows("accounts", []string{"account_id", "name", "domain", "traits", "first_event_at", "last_event_at"}, benchAccounts, func(i int) []any {
		traits := fmt.Sprintf(`{"name": "Company %d", "domain": "c%06d.example", "employees": %d, "plan": "trial"}`, i, i, 5+i%900)
		return []any{acct(i), fmt.Sprintf("Company %d", i), fmt.Sprintf("c%06d.example", i), traits, now.AddDate(0, 0, -60), now.Add(-time.Hour)}
	})
	copyRows("users", []string{"user_id", "email", "account_id"}, benchAccounts*3, func(k int) []any {
		i, j := k/3, k%3
		return []any{user(i, j), fmt.Sprintf("person%d@c%06d.example", j, i), acct(i)}
	})
	names := []string{"Workflow Completed", "Teammate Invited", "Records Imported", "Integration Connected", "Report Viewed", "Dashboard Opened", "Ticket Opened", "Pricing"}
	// Events in chunks on two connections: COPY into the indexed table is
	// the slow part of the setup.
	const chunk = 500_000
	errs := make(chan error, (nEvents+chunk-1)/chunk)
	sem := make(chan struct{}, 2)
	for lo := 0; lo < nEvents; lo += chunk {
		hi := min(lo+chunk, nEvents)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			k := lo
			_, err := pool.CopyFrom(ctx, pgx.Identifier{"events"},
				[]string{"source", "message_id", "type", "name", "user_id", "account_id", "ts", "received_at"},
				pgx.CopyFromFunc(func() ([]any, error) {
					if k == hi {
						return nil, nil
					}
					i := k % benchAccounts
					ts := now.Add(-time.Duration(k%(60*24*60)) * time.Minute)
					typ, name := "track", names[k%len(names)]
					if name == "Pricing" {
						typ = "page"
					}
					row := []any{"bench", "m" + strconv.Itoa(k), typ, name, user(i, k%3), acct(i), ts, ts}
					k++
					return row, nil
				}))
			errs <- err
		}()
	}
	for range (nEvents + chunk - 1) / chunk {
		require.NoError(b, <-errs, "copy events")
	}

	// A real explanation as the template of every stored score.
	tmpl := scoring.Evaluate(m, &scoring.Facts{
		AccountID: "tmpl", Name: "Template", Domain: "template.example",
		Traits:       map[string]any{"employees": 250.0, "plan": "trial", "email_domain": "template.example"},
		FirstEventAt: now.AddDate(0, 0, -60), LastEventAt: now.Add(-time.Hour),
		Buckets: []scoring.Bucket{
			{Day: now.Truncate(24 * time.Hour), Kind: model.BucketTrack, Name: "Workflow Completed", Count: 5},
			{Day: now.Truncate(24 * time.Hour), Kind: model.BucketPage, Name: "Pricing", Count: 2},
		},
	}, now)
	tiers := []string{"high", "mid", "low", "low", "low"}
	copyRows("account_scores", []string{"account_id", "score", "tier", "segment", "alertable", "result", "model_version", "model_hash", "scored_at"}, benchAccounts, func(i int) []any {
		r := tmpl
		r.AccountID, r.Name, r.Domain = acct(i), fmt.Sprintf("Company %d", i), fmt.Sprintf("c%06d.example", i)
		r.Tier = tiers[i%len(tiers)]
		r.Score = 100 - i%100
		doc, _ := json.Marshal(r)
		return []any{acct(i), r.Score, r.Tier, r.Segment, r.Alertable, string(doc), m.Version, m.Hash, now}
	})

	bh := alerting.Hours(m)
	expl, _ := json.Marshal(tmpl)
	rng := rand.New(rand.NewPCG(3, 4))
	reps := []string{"U0REP0001", "U0REP0002", "U0REP0003", "U0REP0004", "U0REP0005", "U0REP0006", "U0REP0007", "U0REP0008"}
	copyRows("alerts", []string{"id", "account_id", "tier", "segment", "score", "channel", "channel_id", "owner_role", "sla_seconds",
		"model_version", "explanation", "state", "created_at", "posted_at", "message_ts", "due_at", "claimed_by", "claimed_at",
		"contacted_by", "contacted_at", "closed_by", "closed_at", "close_reason", "breached_at", "delivery"}, benchAlerts, func(i int) []any {
		posted := now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour))))
		due := sla.Deadline(posted, 24*time.Hour, bh)
		rep := reps[rng.IntN(len(reps))]
		var state string
		var claimedBy, contactedBy, closedBy, reason *string
		var claimed, contacted, closed, breached *time.Time
		claimAt := posted.Add(time.Duration(rng.Int64N(int64(10 * time.Hour))))
		contactAt := claimAt.Add(time.Duration(rng.Int64N(int64(30 * time.Hour))))
		switch p := rng.IntN(100); {
		case p < 78 && contactAt.Before(now):
			state, claimedBy, claimed, contactedBy, contacted = "contacted", &rep, &claimAt, &rep, &contactAt
		case p < 88 && claimAt.Before(now):
			r := "too_small"
			state, claimedBy, claimed, closedBy, closed, reason = "closed", &rep, &claimAt, &rep, &claimAt, &r
		case p < 95 && claimAt.Before(now):
			state, claimedBy, claimed = "claimed", &rep, &claimAt
		default:
			state = "open"
		}
		if (state == "open" || state == "claimed") && due.Before(now) {
			breached = &due
		}
		ts := fmt.Sprintf("%d.%06d", posted.Unix(), i%1_000_000)
		return []any{uuid.New(), acct(i * 2), "high", "mid_market", 80, "#sdr-pql", "C0SDRPQL1", "SDR", int64(86400),
			m.Version, string(expl), state, posted, posted, ts, due, claimedBy, claimed, contactedBy, contacted, closedBy, closed, reason, breached, "posted"}
	})
	// Outcomes (issue 13): 10,000 over the last 120 days, most for
	// accounts that alerted (acct(2k)), the rest for accounts that never
	// did; about half opportunities, a third wins.
	kinds := []string{"opportunity", "opportunity", "won", "won", "lost", "opportunity"}
	copyRows("outcomes", []string{"account_id", "account_ref", "kind", "at", "source"}, benchOutcomes, func(i int) []any {
		a := acct(2 * rng.IntN(benchAlerts))
		if i%5 == 4 {
			a = acct(2*rng.IntN(benchAccounts/2) + 1)
		}
		at := now.Add(-time.Duration(rng.Int64N(int64(120 * 24 * time.Hour))))
		return []any{a, a, kinds[i%len(kinds)], at, "import"}
	})
	// As autovacuum would have by now: statistics, and the visibility map
	// that lets index-only scans skip the wide alert rows.
	_, err := pool.Exec(ctx, `VACUUM (ANALYZE) alerts, accounts, outcomes`)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
}
