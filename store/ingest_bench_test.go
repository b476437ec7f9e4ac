package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// BenchmarkIngestIdentityLocks measures what the identity locks cost ingest
// (real PostgreSQL, the Ingester's group commit with its default 4
// committers, PQLBOT_BENCH_CLIENTS concurrent senders, default 8, each
// sending 100-event track batches from PQLBOT_BENCH_USERS users, default
// 2,000, every one already identified and in an account):
//
//   - userid-only: each message carries userId only (server-side SDKs);
//   - both-linked: each carries userId and the anonymousId already linked
//     to it, what analytics.js sends on every call after identify;
//   - both-new: each carries userId and an anonymousId never seen, so each
//     message links a new id (the first calls after a signup), the most
//     the locks and merges can cost.
//
// It reports events/s. Each case gets its own database; the seed is not
// timed. Run it on a quiet machine:
//
//	go test -run '^$' -bench IngestIdentityLocks -benchtime 20x ./store
func BenchmarkIngestIdentityLocks(b *testing.B) {
	users := envInt("PQLBOT_BENCH_USERS", 2000)
	clients := envInt("PQLBOT_BENCH_CLIENTS", 8)
	const batch = 100
	for _, mode := range []string{"userid-only", "both-linked", "both-new"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			st := storetest.New(b)
			now := time.Now().UTC()
			seedIdentifiedUsers(b, st, users, now)
			g := store.NewIngester(st, store.IngesterOptions{})
			defer g.Close()
			var seq atomic.Int64
			var took time.Duration
			for b.Loop() {
				start := time.Now()
				var wg sync.WaitGroup
				for range clients {
					msgs := make([]events.Message, batch)
					for i := range msgs {
						n := seq.Add(1)
						u := rand.IntN(users)
						m := events.Message{Type: events.TypeTrack, MessageID: fmt.Sprintf("b-%d", n), UserID: fmt.Sprintf("u%d", u),
							Name: "Workflow Completed", Timestamp: now, ReceivedAt: now}
						switch mode {
						case "both-linked":
							m.AnonymousID = fmt.Sprintf("a%d", u)
						case "both-new":
							m.AnonymousID = fmt.Sprintf("n%d", n)
						}
						msgs[i] = m
					}
					wg.Go(func() { require.NoError(b, g.Submit(ctx, "s", msgs, nil)) })
				}
				wg.Wait()
				took += time.Since(start)
			}
			b.ReportMetric(float64(b.N*clients*batch)/took.Seconds(), "events/s")
		})
	}
}

// seedIdentifiedUsers stores users u0..u{n-1}, each linked to anonymous id
// a<i> and a member of one of n/10 accounts.
func seedIdentifiedUsers(b *testing.B, st *store.Store, n int, at time.Time) {
	b.Helper()
	var msgs []events.Message
	for i := range n {
		u, a := fmt.Sprintf("u%d", i), fmt.Sprintf("a%d", i)
		msgs = append(msgs,
			events.Message{Type: events.TypeIdentify, MessageID: "i-" + u, UserID: u, AnonymousID: a, Timestamp: at, ReceivedAt: at},
			events.Message{Type: events.TypeGroup, MessageID: "g-" + u, UserID: u, GroupID: fmt.Sprintf("acct%d", i%max(1, n/10)), Timestamp: at, ReceivedAt: at})
	}
	_, err := st.Ingest(context.Background(), []store.IngestItem{{Source: "s", Messages: msgs}})
	require.NoError(b, err)
}
