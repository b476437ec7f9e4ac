package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// naiveSubmitter is the baseline: one INSERT (and one transaction, so one
// fsync) per event, no roll-ups.
type naiveSubmitter struct{ st *store.Store }

func (n naiveSubmitter) Submit(ctx context.Context, source string, msgs []events.Message, _ []events.Reject) error {
	for _, m := range msgs {
		_, err := n.st.Pool().Exec(ctx, `INSERT INTO events (source, message_id, type, name, user_id, account_id, properties, ts, received_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7::jsonb,$8,$9) ON CONFLICT DO NOTHING`,
			source, m.MessageID, m.Type, m.Name, m.UserID, m.ContextGroupID, string(m.Properties), m.Timestamp, m.ReceivedAt)
		if err != nil {
			return err
		}
	}
	return nil
}

// directSubmitter is the full ingest transaction per request, without group commit.
type directSubmitter struct{ st *store.Store }

func (d directSubmitter) Submit(ctx context.Context, source string, msgs []events.Message, rejects []events.Reject) error {
	_, err := d.st.Ingest(ctx, []store.IngestItem{{Source: source, Messages: msgs, Rejects: rejects}})
	return err
}

var benchRun atomic.Int64

func BenchmarkIngest(b *testing.B) {
	type mode struct {
		name string
		sub  func(st *store.Store) (handlers.Submitter, func())
	}
	modes := []mode{
		{"group-commit", func(st *store.Store) (handlers.Submitter, func()) {
			g := store.NewIngester(st, store.IngesterOptions{})
			return g, g.Close
		}},
		{"txn-per-request", func(st *store.Store) (handlers.Submitter, func()) { return directSubmitter{st}, func() {} }},
		{"insert-per-event-baseline", func(st *store.Store) (handlers.Submitter, func()) { return naiveSubmitter{st}, func() {} }},
	}
	shapes := []struct {
		name                         string
		clients, perReq, totalEvents int
	}{
		{"batch100x8clients", 8, 100, 100_000},
		{"single-track x32clients", 32, 1, 20_000},
	}
	for _, shape := range shapes {
		for _, m := range modes {
			b.Run(shape.name+"/"+m.name, func(b *testing.B) {
				for range b.N {
					st := storetest.New(b)
					sub, closeFn := m.sub(st)
					eps, p50, p99 := runIngestLoad(b, st, sub, shape.clients, shape.perReq, shape.totalEvents)
					closeFn()
					b.ReportMetric(eps, "events/s")
					b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
				}
			})
		}
	}
}

func runIngestLoad(b *testing.B, st *store.Store, sub handlers.Submitter, clients, perReq, total int) (float64, time.Duration, time.Duration) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer((&handlers.Server{Log: log, Ready: st, Ingest: &handlers.Ingest{
		Log: log, Submitter: sub, Keys: map[string]string{writeKey: store.SourceOf(writeKey)},
	}}).Routes())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}}
	run := benchRun.Add(1)
	path := "/v1/batch"
	if perReq == 1 {
		path = "/v1/track"
	}
	requests := total / perReq
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	ts := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339Nano)
	mkMsg := func(i int64) string {
		return fmt.Sprintf(`{"type":"track","messageId":"r%d-%d","userId":"u%d","event":"Workflow Completed","timestamp":%q,"context":{"groupId":"acct-%d"},"properties":{"records":3}}`,
			run, i, i%5000, ts, i%1000)
	}
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for c := range clients {
		wg.Go(func() {
			for {
				r := next.Add(1) - 1
				if r >= int64(requests) {
					return
				}
				var body bytes.Buffer
				if perReq == 1 {
					body.WriteString(mkMsg(r))
				} else {
					body.WriteString(`{"batch":[`)
					for i := range perReq {
						if i > 0 {
							body.WriteByte(',')
						}
						body.WriteString(mkMsg(r*int64(perReq) + int64(i)))
					}
					body.WriteString(`]}`)
				}
				req, _ := http.NewRequest(http.MethodPost, srv.URL+path, &body)
				req.SetBasicAuth(writeKey, "")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.Zero(b, failed.Load(), "requests failed")
	var n int
	require.NoError(b, st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n))
	require.Equal(b, total, n)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	eps := float64(total) / elapsed.Seconds()
	p50, p99 := all[len(all)/2], all[len(all)*99/100]
	b.Logf("%d events in %s: %.0f events/s, ack p50 %s p99 %s", total, elapsed.Round(time.Millisecond), eps, p50, p99)
	return eps, p50, p99
}
