package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/model"
)

// Property-filtered signals (`where`) are rolled up at ingest into
// account_daily (kind 'filter', name the filter's key), so a re-score reads
// a few roll-up rows instead of the account's raw events. See migration
// 0081 for the protocol; in short:
//
//   - every ingest commit holds filterEpochLock shared, reads the newest
//     filter epoch, stamps its events with it and counts them for the
//     filters up to that epoch (queueFilterEpoch, queueFilterCounts);
//   - SyncFilters adds a filter under filterEpochLock exclusive, so the
//     events nobody counted for it are exactly those stamped lower, then
//     counts those (buildFilter) and turns it live;
//   - the scorer reads the roll-up of a live filter and the raw events of
//     one still building, in one statement (loadFacts).

// filterEpochLock is the advisory lock between ingest commits (shared)
// and the creation of filters (exclusive).
const filterEpochLock int64 = 0x5051_4c46_0000_0001 // "PQLF"

// filterKind is the account_daily kind of filter roll-ups.
const filterKind = "filter"

// FilterKey names a filter's roll-up: the same event, property filter and
// summed property give the same key in every model and replica.
func FilterKey(f model.Filter) string {
	where, err := json.Marshal(f.Where) // map keys are sorted
	if err != nil {
		panic(fmt.Sprintf("filter key: %v", err))
	}
	h := sha256.New()
	for _, part := range []string{f.Kind, f.Name, string(where), f.Sum} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "f:" + hex.EncodeToString(h.Sum(nil)[:12])
}

// filterTypes are the event types a filter of kind counts.
func filterTypes(kind string) []string {
	if kind == model.BucketPage {
		return []string{"page", "screen"}
	}
	return []string{"track"}
}

// SyncFilters makes every filter of filters a roll-up kept by ingest: it
// adds the ones not there yet and counts the history of each that is not
// live. Replicas may run it together (each filter is built once); ingest
// waits only while a new filter is added, not while it is counted. It
// returns how many filters it turned live.
func (s *Store) SyncFilters(ctx context.Context, filters []model.Filter) (int, error) {
	if len(filters) == 0 {
		return 0, nil
	}
	keys := make([]string, len(filters))
	for i, f := range filters {
		keys[i] = FilterKey(f)
	}
	rows, err := s.pool.Query(ctx, `SELECT k FROM unnest($1::text[]) AS k WHERE NOT EXISTS (SELECT 1 FROM filter_series WHERE key = k)`, keys)
	if err != nil {
		return 0, fmt.Errorf("sync filters: %w", err)
	}
	absent, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("sync filters: %w", err)
	}
	if len(absent) > 0 {
		// Exclusive: every ingest commit in flight finishes first and the
		// next ones wait for this short transaction, then see the filters.
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, filterEpochLock); err != nil {
				return err
			}
			for i, f := range filters {
				if !slices.Contains(absent, keys[i]) {
					continue
				}
				where, _ := json.Marshal(f.Where)
				if _, err := tx.Exec(ctx, `
					INSERT INTO filter_series (key, kind, name, where_json, sum_prop) VALUES ($1, $2, $3, $4::jsonb, $5)
					ON CONFLICT (key) DO NOTHING`, keys[i], f.Kind, f.Name, string(where), f.Sum); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("sync filters: add: %w", err)
		}
	}
	built := 0
	for i := range filters {
		ok, err := s.buildFilter(ctx, keys[i])
		if err != nil {
			return built, err
		}
		if ok {
			built++
		}
	}
	return built, nil
}

// buildFilter counts the events stored before the filter existed and
// turns it live, unless it is live already; one build or fix-up runs at a
// time. The history goes to rows of its own (key:history), so the rows
// ingest keeps current are never locked while it is counted.
func (s *Store) buildFilter(ctx context.Context, key string) (bool, error) {
	built := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, filterBuildLock); err != nil {
			return err
		}
		var live bool
		if err := tx.QueryRow(ctx, `SELECT live FROM filter_series WHERE key = $1`, key).Scan(&live); err != nil {
			return err
		}
		if live {
			return nil
		}
		if _, err := tx.Exec(ctx, filterRollupSQL("events", "f.key = $1", "f.key || ':history'", "e.filter_epoch < f.epoch"), key); err != nil {
			return fmt.Errorf("count its history: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE filter_series SET live = true, live_at = now() WHERE key = $1`, key); err != nil {
			return err
		}
		built = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("build filter %s: %w", key, err)
	}
	return built, nil
}

// filterBuildLock serializes the builds and the fix-ups of filters.
const filterBuildLock int64 = 0x5051_4c46_0000_0002

// FixUpFilters counts, for the live filters, the events a pod of an older
// release stored during a rolling upgrade (it stamps no epoch and counts
// nothing: filter_epoch is -1), and marks them -2. Filters not live yet
// count them when they are built (every stamp below 0 is below their
// epoch). It returns how many events it looked at; serve runs it every
// minute, and it costs one probe of a small partial index when there is
// nothing to do. An event such a pod attributed to an account after it
// was stored by this release is the one case it cannot see.
func (s *Store) FixUpFilters(ctx context.Context) (int64, error) {
	var waiting bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE filter_epoch = -1)`).Scan(&waiting); err != nil {
		return 0, fmt.Errorf("fix up filters: %w", err)
	}
	if !waiting {
		return 0, nil
	}
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, filterBuildLock); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			WITH fixed AS (
				UPDATE events SET filter_epoch = -2 WHERE filter_epoch = -1
				RETURNING id, account_id, name, type, ts, properties),
			counted AS (`+filterRollupSQL("fixed", "f.live", "f.key", "true")+`)
			SELECT count(*) FROM fixed`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("fix up filters: %w", err)
	}
	return n, nil
}

// filterRollupSQL adds the events of events (a table or a CTE with the
// columns of events) that the filters match picks count into their
// account_daily rows, named rowName (an expression of f.key); where
// narrows the events. Ingest, the build of a new filter and the fix-up of
// an older release's events all count with it, so they count alike.
func filterRollupSQL(events, match, rowName, where string) string {
	return `
		INSERT INTO account_daily AS d (account_id, day, kind, name, n, sums)
		SELECT e.account_id, (e.ts AT TIME ZONE 'UTC')::date, '` + filterKind + `', ` + rowName + `, count(*),
		       CASE WHEN f.sum_prop = '' THEN '{}'::jsonb ELSE jsonb_build_object(f.sum_prop, coalesce(sum(
		           CASE WHEN jsonb_typeof(e.properties -> f.sum_prop) = 'number' THEN (e.properties ->> f.sum_prop)::numeric END), 0)) END
		FROM ` + events + ` e
		JOIN filter_series f ON ` + match + ` AND f.name = e.name
		     AND e.type = ANY(CASE f.kind WHEN 'page' THEN ARRAY['page', 'screen'] ELSE ARRAY['track'] END)
		     AND e.properties @> f.where_json
		WHERE e.account_id IS NOT NULL AND ` + where + `
		GROUP BY e.account_id, 2, f.key, f.sum_prop
		ORDER BY e.account_id, 2, f.key
		ON CONFLICT (account_id, day, kind, name) DO UPDATE SET ` + addDailySQL
}

// addDailySQL adds EXCLUDED's count and sums to an account_daily row d.
const addDailySQL = `
	n = d.n + EXCLUDED.n,
	sums = CASE WHEN EXCLUDED.sums = '{}'::jsonb THEN d.sums ELSE (
		SELECT jsonb_object_agg(k, coalesce((d.sums->>k)::numeric, 0) + coalesce((EXCLUDED.sums->>k)::numeric, 0))
		FROM jsonb_object_keys(d.sums || EXCLUDED.sums) AS k) END`

// filterEpoch is what an ingest commit read of the filters: the newest
// epoch, which its events are stamped with, and the event names that
// some filter up to it counts.
type filterEpoch struct {
	epoch int64
	names map[string]bool
}

// queueFilterEpoch queues the shared lock and the read of the filters;
// the result is filled when the batch runs.
func queueFilterEpoch(b *pgx.Batch) *filterEpoch {
	fe := &filterEpoch{names: map[string]bool{}}
	queueExec(b, "lock filters", `SELECT pg_advisory_xact_lock_shared($1)`, filterEpochLock)
	b.Queue(`SELECT coalesce(max(epoch), 0), coalesce(array_agg(DISTINCT name), '{}') FROM filter_series`).Fn = func(br pgx.BatchResults) error {
		var names []string
		if err := br.QueryRow().Scan(&fe.epoch, &names); err != nil {
			return fmt.Errorf("read filters: %w", err)
		}
		for _, n := range names {
			fe.names[n] = true
		}
		return nil
	}
	return fe
}

// queueFilterCounts counts the events ids (stored or attributed by this
// commit, with an account) into the roll-ups of the filters up to epoch.
func queueFilterCounts(b *pgx.Batch, ids []int64, epoch int64) {
	if len(ids) == 0 || epoch == 0 {
		return
	}
	queueExec(b, "roll up filtered signals", filterRollupSQL("events", "f.epoch <= $2", "f.key", "e.id = ANY($1)"), ids, epoch)
}
