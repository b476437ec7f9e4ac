package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/backtest"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/store"
)

// testHistory is the store with outcomes given by the test.
type testHistory struct {
	*store.Store
	outcomes  []backtest.Outcome
	unmatched int
}

func (h testHistory) Outcomes(_ context.Context, from, to time.Time) ([]backtest.Outcome, error) {
	var out []backtest.Outcome
	for _, o := range h.outcomes {
		if (from.IsZero() || !o.At.Before(from)) && (to.IsZero() || o.At.Before(to)) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (h testHistory) UnmatchedOutcomes(context.Context) (int, error) { return h.unmatched, nil }

// BenchmarkBacktest measures `pqlbot backtest` on the benchmark database
// (PQLBOT_BENCH_ACCOUNTS accounts, default 100,000, about 100 events each
// over 45 days: 10 million events): the example model over 90 days, each
// account scored from 90 days before the window (outcome window) to
// as-of, with one account in 40 won in the last 30 days. It reports
// seconds per backtest, account-days re-scored and the peak RSS of the
// backtest itself. The database is pqlbot_bench_backtest_<accounts>
// (PQLBOT_BENCH_KEEP=1 keeps it for the next run).
func BenchmarkBacktest(b *testing.B) {
	accounts := envInt("PQLBOT_BENCH_ACCOUNTS", 100_000)
	pool := benchDatabaseNamed(b, fmt.Sprintf("pqlbot_bench_backtest_%d", accounts), accounts)
	st := store.New(pool)
	m := model.Default()
	var won []backtest.Outcome
	for i := 0; i < accounts; i += 40 {
		won = append(won, backtest.Outcome{AccountID: fmt.Sprintf("acct%06d", i), Kind: backtest.OutcomeWon,
			At: benchNow.Add(-time.Duration(i%30) * 24 * time.Hour)})
	}
	h := testHistory{Store: st, outcomes: won}

	defer backtest.TuneGC()() // as `pqlbot backtest` runs
	resetPeakRSS(b)
	var total time.Duration
	var r *backtest.Report
	for b.Loop() {
		start := time.Now()
		var err error
		r, err = backtest.Run(context.Background(), h, m, backtest.Options{AsOf: benchNow, Days: 90, Sweep: true})
		require.NoError(b, err)
		took := time.Since(start)
		total += took
		b.Logf("backtest of %d accounts over 90 days in %s: %d re-scores, captured %d/%d, flagged %d/%d",
			r.Accounts, took.Round(time.Millisecond), r.Evaluations, r.Captured.Count, r.Captured.Of, r.Flagged.Count, r.Flagged.Of)
	}
	require.Equal(b, accounts, r.Accounts)
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/backtest")
	b.ReportMetric(float64(r.Evaluations), "rescores")
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peakRSS-MB")
}
