package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/store/storetest"
)

const cliModel = `version: cli
recency_days: 7
signals:
  - {name: Core, event: Workflow Completed, min_count: 2, window_days: 7, points: 80}
tiers: [{name: high, min_score: 70}]
routes: [{tier: high, channel: "#high"}]
`

// TestBacktestCommand runs `pqlbot outcomes import` and `pqlbot backtest`
// on a small history: a1 (3 workflows on Nov 10, won Nov 12) is captured;
// a2 (1 workflow, won Nov 15) is a miss; a3-a5 (2 workflows on Nov 5) are
// flagged and never win. The stricter candidate (5 workflows) flags no one.
func TestBacktestCommand(t *testing.T) {
	st := storetest.New(t)
	t.Setenv("DATABASE_URL", st.Pool().Config().ConnString())
	t.Setenv("PQLBOT_TEST_DATABASE_URL", "")
	require.NoError(t, os.Unsetenv("PQLBOT_TEST_DATABASE_URL"))
	ctx := context.Background()
	for _, a := range []struct {
		id  string
		day string
		n   int
	}{{"a1", "2026-11-10", 3}, {"a2", "2026-11-10", 1}, {"a3", "2026-11-05", 2}, {"a4", "2026-11-05", 2}, {"a5", "2026-11-05", 2}} {
		_, err := st.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name, domain, traits, first_event_at, last_event_at)
			VALUES ($1, upper($1), $1 || '.example', '{}', $2::date + interval '9 hours', $2::date + interval '9 hours')`, a.id, a.day)
		require.NoError(t, err)
		_, err = st.Pool().Exec(ctx, `INSERT INTO account_daily (account_id, day, kind, name, n, sums) VALUES ($1, $2::date, 'track', 'Workflow Completed', $3, '{}')`, a.id, a.day, a.n)
		require.NoError(t, err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	code, _, errOut := runCLI(t, "outcomes", "import", write("won.csv", "account,outcome,at\na1,won,2026-11-12\na2.example,won,2026-11-15\nghost.example,won,2026-11-01\n"))
	require.Equal(t, 0, code, errOut)
	current := write("model.yaml", cliModel)
	stricter := write("stricter.yaml", "version: stricter\nrecency_days: 7\nsignals:\n  - {name: Core, event: Workflow Completed, min_count: 5, window_days: 7, points: 80}\ntiers: [{name: high, min_score: 70}]\nroutes: [{tier: high, channel: \"#high\"}]\n")

	code, out, errOut := runCLI(t, "backtest", "--model", current, "--days", "30", "--as-of", "2026-11-20", "--json", "--check")
	require.Equal(t, 1, code, "captured 50%% and flagged 80%% miss their targets")
	require.Contains(t, errOut, "misses a target")
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	require.Equal(t, map[string]any{"from": "2026-10-22", "to": "2026-11-20", "days": 30.0}, doc["window"])
	require.Equal(t, "cli", doc["model"].(map[string]any)["version"])
	captured := doc["captured"].(map[string]any)
	require.Equal(t, 1.0, captured["count"])
	require.Equal(t, 2.0, captured["of"])
	require.Equal(t, 0.5, captured["share"])
	require.Equal(t, 0.6, captured["target"])
	require.Equal(t, false, captured["ok"])
	flagged := doc["flagged"].(map[string]any)
	require.Equal(t, 4.0, flagged["count"])
	require.Equal(t, 5.0, flagged["of"])
	require.Equal(t, 0.15, flagged["target_min"])
	require.Equal(t, 0.25, flagged["target_max"])
	wonRate := doc["won_rate"].(map[string]any)
	require.Equal(t, 1.0, wonRate["count"])
	require.Equal(t, 4.0, wonRate["of"])
	require.Contains(t, doc, "lift")
	misses := doc["misses"].([]any)
	require.Len(t, misses, 1)
	require.Equal(t, "a2", misses[0].(map[string]any)["account"])
	require.Equal(t, 0.0, misses[0].(map[string]any)["max_score"])
	require.Equal(t, 1.0, doc["health"].(map[string]any)["unmatched_outcomes"], "ghost.example is unknown")

	code, out, errOut = runCLI(t, "backtest", "--model", current, "--compare", stricter, "--days", "30", "--as-of", "2026-11-20", "--sweep")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Backtest of model cli")
	require.Contains(t, out, "✗ Captured   50% (1/2)")
	require.Contains(t, out, "Threshold sweep: tier high min_score (now 70)")
	require.Contains(t, out, "Compare: current cli")
	require.Contains(t, out, "No longer flagged by the candidate: 4 (a1, a3, a4, a5)")
	require.Contains(t, out, "Newly flagged by the candidate: 0")

	code, _, errOut = runCLI(t, "backtest", "--days", "0")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--days must be between 1 and 3660")
	code, _, errOut = runCLI(t, "backtest", "--as-of", "yesterday")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--as-of must be a date")
	code, out, _ = runCLI(t, "backtest", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "usage: pqlbot backtest")
}
