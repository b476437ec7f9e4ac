package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// filterModels are the models whose `where` signals the tests roll up:
// the example model's all-history count, and a windowed count and sum.
func filterModels(t *testing.T) []*model.Model {
	t.Helper()
	windowed, err := model.Parse([]byte(windowedModel))
	require.NoError(t, err)
	return []*model.Model{model.Default(), windowed}
}

func syncFilters(t *testing.T, st *store.Store, ms []*model.Model) int {
	t.Helper()
	var filters []model.Filter
	for _, m := range ms {
		filters = append(filters, m.FactsSpec().Filters...)
	}
	require.NotEmpty(t, filters)
	n, err := st.SyncFilters(context.Background(), filters)
	require.NoError(t, err)
	return n
}

// TestFilterRollUpScoresLikeTheRawEvents: events stored before a filter
// existed (counted when it is built) and after (counted by ingest) give
// the same facts as the reference roll-up of the raw history, as the
// windows move.
func TestFilterRollUpScoresLikeTheRawEvents(t *testing.T) {
	st := storetest.New(t)
	msgs := history(1)
	half := len(msgs) / 2
	for i := 0; i < half; i += 25 {
		ingestDirect(t, st, msgs[i:min(i+25, half)])
	}
	ms := filterModels(t)
	require.Equal(t, 2, syncFilters(t, st, ms), "two filters built: the models share one")
	require.Zero(t, syncFilters(t, st, ms), "built once")
	for i := half; i < len(msgs); i += 25 {
		ingestDirect(t, st, msgs[i:min(i+25, len(msgs))])
	}
	require.Equal(t, 0, countRows(t, st, `SELECT count(*) FROM filter_series WHERE NOT live`))
	// The roll-up, not the raw events, is what the scorer reads now.
	_, err := st.Pool().Exec(context.Background(), `UPDATE events SET properties = '{}' WHERE name IN ('Integration Connected', 'Records Imported')`)
	require.NoError(t, err)
	for _, m := range ms {
		t.Run(m.Version, func(t *testing.T) { compareWithReference(t, st, msgs, m) })
	}
}

// TestFilterBuiltWhileIngesting: a filter added and counted while ingest
// goes on counts every event exactly once.
func TestFilterBuiltWhileIngesting(t *testing.T) {
	st := storetest.New(t)
	msgs := history(4)
	third := len(msgs) / 3
	ingestDirect(t, st, msgs[:third])
	ms := filterModels(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := third; i < len(msgs); i += 5 {
			ingestDirect(t, st, msgs[i:min(i+5, len(msgs))])
		}
	}()
	syncFilters(t, st, ms)
	<-done
	require.Equal(t, 0, countRows(t, st, `SELECT count(*) FROM filter_series WHERE NOT live`))
	_, err := st.Pool().Exec(context.Background(), `UPDATE events SET properties = '{}' WHERE name IN ('Integration Connected', 'Records Imported')`)
	require.NoError(t, err)
	for _, m := range ms {
		t.Run(m.Version, func(t *testing.T) { compareWithReference(t, st, msgs, m) })
	}
}

// TestFilterKeyIsStable: the key depends on what is counted, not on the
// signal's name or the order of the filter's keys.
func TestFilterKeyIsStable(t *testing.T) {
	a := model.Filter{Signal: "a", Kind: model.BucketTrack, Name: "X", Where: map[string]any{"p": 1, "q": "z"}}
	b := model.Filter{Signal: "b", Kind: model.BucketTrack, Name: "X", Where: map[string]any{"q": "z", "p": 1}, Days: 7}
	require.Equal(t, store.FilterKey(a), store.FilterKey(b))
	b.Sum = "n"
	require.NotEqual(t, store.FilterKey(a), store.FilterKey(b))
	b.Sum, b.Kind = "", model.BucketPage
	require.NotEqual(t, store.FilterKey(a), store.FilterKey(b))
}

// TestEventsOfAnOlderReleaseAreCountedLater: a pod of a release before
// filter roll-ups stores events without an epoch during a rolling upgrade;
// FixUpFilters counts them for the live filters, once.
func TestEventsOfAnOlderReleaseAreCountedLater(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	msgs := history(5)
	ingestDirect(t, st, msgs)
	ms := filterModels(t)
	syncFilters(t, st, ms)
	m := ms[1] // the windowed model: a count and a sum
	raw := func() map[string]any {
		_, err := st.Pool().Exec(ctx, `UPDATE filter_series SET live = false`)
		require.NoError(t, err)
		defer func() {
			_, err := st.Pool().Exec(ctx, `UPDATE filter_series SET live = true`)
			require.NoError(t, err)
		}()
		return filteredOf(t, st, m)
	}
	// What an older pod does: the event row, no epoch, nothing counted.
	for i, props := range []string{`{"type": "production_database"}`, `{"type": "staging"}`, `{"source": "csv", "records": 7}`} {
		name := "Integration Connected"
		if i == 2 {
			name = "Records Imported"
		}
		_, err := st.Pool().Exec(ctx, `INSERT INTO events (source, message_id, type, name, user_id, account_id, properties, ts, received_at)
			VALUES ('old', $1, 'track', $2, 'u1', 'acme', $3::jsonb, $4, $4)`, fmt.Sprintf("old-%d", i), name, props, scoreNow.Add(-time.Hour))
		require.NoError(t, err)
	}
	require.NotEqual(t, raw(), filteredOf(t, st, m), "not counted yet")
	n, err := st.FixUpFilters(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	require.Equal(t, raw(), filteredOf(t, st, m))
	n, err = st.FixUpFilters(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "counted once")
	require.Equal(t, raw(), filteredOf(t, st, m))
}

// filteredOf is acme's property-filtered facts under m, as LoadFacts reads them.
func filteredOf(t *testing.T, st *store.Store, m *model.Model) map[string]any {
	t.Helper()
	facts, err := st.LoadFacts(context.Background(), []string{"acme"}, m.FactsSpec(), scoreNow)
	require.NoError(t, err)
	out := map[string]any{}
	for sig, buckets := range facts["acme"].Filtered {
		var n int64
		var sum float64
		for _, b := range buckets {
			n += b.Count
			sum += b.Sums["records"]
		}
		out[sig] = [2]float64{float64(n), sum}
	}
	return out
}
