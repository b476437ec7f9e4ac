package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/store/storetest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestModelCheck(t *testing.T) {
	code, out, _ := runCLI(t, "model", "check", filepath.Join("..", "..", "internal", "model", "example.yaml"))
	require.Equal(t, 0, code)
	require.Contains(t, out, "model 2026-q4")
	require.Contains(t, out, "high / enterprise")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: x\ntiers:\n  - {name: high, min_score: 70}\nroutes:\n  - {tier: hgih, channel: \"#x\"}\n  - {tier: high, channel: \"\"}\n"), 0o600))
	code, _, errOut := runCLI(t, "model", "check", bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `routes[0].tier: unknown tier "hgih"`)
	require.Contains(t, errOut, "routes[1].channel")

	code, _, _ = runCLI(t, "model", "check")
	require.Equal(t, 2, code)
	code, _, errOut = runCLI(t, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "unknown command")
}

func TestScoreCommand(t *testing.T) {
	st := storetest.New(t)
	t.Setenv("DATABASE_URL", st.Pool().Config().ConnString())
	// The harness's own variable would be an unknown PQLBOT_* variable to
	// the command; t.Setenv restores it afterwards.
	t.Setenv("PQLBOT_TEST_DATABASE_URL", "")
	require.NoError(t, os.Unsetenv("PQLBOT_TEST_DATABASE_URL"))
	code, _, errOut := runCLI(t, "score", "nobody.example")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no account matches "nobody.example"`)

	_, err := st.Pool().Exec(context.Background(), `INSERT INTO accounts (account_id, name, domain, traits, first_event_at, last_event_at)
		VALUES ('acme', 'Acme', 'acme.io', '{"employees": 120}', now(), now())`)
	require.NoError(t, err)
	code, out, errOut := runCLI(t, "score", "ACME.io")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "Acme (acme.io) · account acme")
	require.Contains(t, out, "Alert: none yet")
}
