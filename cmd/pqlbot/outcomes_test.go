package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/store/storetest"
)

func TestOutcomesImportCommand(t *testing.T) {
	st := storetest.New(t)
	t.Setenv("DATABASE_URL", st.Pool().Config().ConnString())
	t.Setenv("PQLBOT_TEST_DATABASE_URL", "")
	require.NoError(t, os.Unsetenv("PQLBOT_TEST_DATABASE_URL"))
	ctx := context.Background()
	_, err := st.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name, domain) VALUES ('acme', 'Acme', 'acme.io')`)
	require.NoError(t, err)
	count := func() int {
		var n int
		require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM outcomes`).Scan(&n))
		return n
	}
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	bad := file("bad.csv", "account,outcome,at,amount\nacme,won,2026-11-02,100\nacme.io,opportunity,2026-10-01,\nacme,wonn,2026-11-02,\nunknown.dev,won,2026-11-03T10:00:00Z,5\nacme,lost,yesterday,\n")

	code, out, errOut := runCLI(t, "outcomes", "import", bad)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "line 4, column outcome: must be won, opportunity or lost")
	require.Contains(t, errOut, `line 6, column at: must be a date YYYY-MM-DD or an RFC 3339 time`)
	require.Contains(t, errOut, "nothing imported: 2 bad line(s)")
	require.Equal(t, 0, count(), "a refused file imports nothing")

	code, out, errOut = runCLI(t, "outcomes", "import", "--skip-bad", bad)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "line 4, column outcome")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "imported 3, duplicates 0, unmatched 1, skipped 2", lines[len(lines)-1])
	require.Equal(t, 3, count())

	code, out, _ = runCLI(t, "outcomes", "import", "--skip-bad", bad)
	require.Equal(t, 0, code)
	require.Equal(t, "imported 0, duplicates 3, unmatched 0, skipped 2\n", out)
	require.Equal(t, 3, count())

	code, _, errOut = runCLI(t, "outcomes", "import", file("hdr.csv", "acct,result,date\nacme,won,2026-11-02\n"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "line 1: the header must be account,outcome,at")
	code, _, _ = runCLI(t, "outcomes", "import", "--skip-bad", file("hdr2.csv", "acct,result,date\n"))
	require.Equal(t, 1, code, "a bad header is never skipped past")
	code, _, _ = runCLI(t, "outcomes", "import")
	require.Equal(t, 2, code)

	// acme won 2026-11-02 (matched by id); the terminal figures show it.
	_, err = st.Pool().Exec(ctx, `UPDATE accounts SET first_event_at = '2026-10-01' WHERE account_id = 'acme'`)
	require.NoError(t, err)
	code, out, errOut = runCLI(t, "stats", "quarter")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "PQL program · Q")
	require.Contains(t, out, "Won rate by time to contact")
	code, _, _ = runCLI(t, "stats", "7d")
	require.Equal(t, 2, code)

	code, out, errOut = runCLI(t, "outcomes", "derive")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "0 outcome rule(s)")
	require.Equal(t, 3, count(), "imports survive a re-derivation")
}
