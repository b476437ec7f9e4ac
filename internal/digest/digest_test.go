package digest_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/digest"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

const digestModel = `version: d1
tiers: [{name: high, min_score: 10}]
routes: [{tier: high, channel: "#sdr"}]
business_hours: {timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}
digest: {channel: "#revops", every: week}
`

func setup(t *testing.T) (*store.Store, *model.Model, *slackfake.Server, digest.Poster, *commands.Service) {
	t.Helper()
	st := storetest.New(t)
	m, err := model.Parse([]byte(digestModel))
	require.NoError(t, err)
	fake := slackfake.New(t)
	fake.SetToken("xoxb-test")
	fake.AddChannel(slackfake.Channel{ID: "C0REVOPS", Name: "revops"})
	poster := digest.SlackPoster{Client: slackapi.New("xoxb-test", fake.APIURL())}
	svc := &commands.Service{Store: st, Model: m}
	return st, m, fake, poster, svc
}

func worker(m *model.Model, st *store.Store, svc *commands.Service, poster digest.Poster, now *time.Time, mu *sync.Mutex) *digest.Worker {
	w := digest.New(m, st, svc, poster, slog.New(slog.DiscardHandler))
	w.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return *now }
	return w
}

// Replicas ticking together post the week's digest once; ticks later in
// the same week post nothing; the next Monday 09:00 Berlin posts again.
func TestDigestOncePerPeriodAcrossReplicas(t *testing.T) {
	st, m, fake, poster, svc := setup(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC) // Monday 09:00 in Berlin
	replicas := []*digest.Worker{
		worker(m, st, svc, poster, &now, &mu), worker(m, st, svc, poster, &now, &mu), worker(m, st, svc, poster, &now, &mu),
	}
	var wg sync.WaitGroup
	for _, w := range replicas {
		wg.Go(func() { require.NoError(t, w.Tick(ctx)) })
	}
	wg.Wait()
	msgs := fake.Messages("C0REVOPS")
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Text, "Weekly PQL program digest")
	require.NotNil(t, msgs[0].Metadata)
	require.Equal(t, digest.MetadataEvent, msgs[0].Metadata.EventType)

	// A restart later that week (a new worker) and more ticks: nothing.
	mu.Lock()
	now = now.Add(50 * time.Hour)
	mu.Unlock()
	require.NoError(t, worker(m, st, svc, poster, &now, &mu).Tick(ctx))
	require.NoError(t, replicas[1].Tick(ctx))
	require.Len(t, fake.Messages("C0REVOPS"), 1)

	// Down over the next two Mondays: on the way back up it catches up
	// once, with the latest week only.
	mu.Lock()
	now = time.Date(2026, 12, 16, 12, 0, 0, 0, time.UTC)
	mu.Unlock()
	require.NoError(t, replicas[0].Tick(ctx))
	require.NoError(t, replicas[2].Tick(ctx))
	require.Len(t, fake.Messages("C0REVOPS"), 2)
	var keys []string
	rows, err := st.Pool().Query(ctx, `SELECT period_key FROM program_digests WHERE state = 'sent' ORDER BY period_key`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		keys = append(keys, k)
	}
	require.Equal(t, []string{"week:2026-11-30", "week:2026-12-14"}, keys)
}

// A post Slack accepted but whose answer was lost is found by its
// metadata on the retry, not posted again.
func TestDigestRetryFindsAcceptedPost(t *testing.T) {
	st, m, fake, poster, svc := setup(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)
	w := worker(m, st, svc, poster, &now, &mu)
	fake.FailNext("chat.postMessage", 1, slackfake.AcceptThenFail())
	require.Error(t, w.Tick(ctx))
	require.Len(t, fake.Messages("C0REVOPS"), 1)
	require.NoError(t, w.Tick(ctx), "still within the retry pause: nothing happens")
	// The pause has passed.
	_, err := st.Pool().Exec(ctx, `UPDATE program_digests SET leased_until = now() - interval '1 second'`)
	require.NoError(t, err)
	require.NoError(t, w.Tick(ctx))
	require.Len(t, fake.Messages("C0REVOPS"), 1)
	var state string
	var attempts int
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT state, attempts FROM program_digests`).Scan(&state, &attempts))
	require.Equal(t, "sent", state)
	require.Equal(t, 2, attempts)
}
