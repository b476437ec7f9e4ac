package scoring

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

// now is the fixed clock of every test: mid-afternoon UTC on a Sunday.
var now = time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)

// ago is the UTC midnight n days before now's day.
func ago(n int) time.Time {
	return time.Date(2026, 11, 22-n, 0, 0, 0, 0, time.UTC)
}

func track(name string, daysAgo int, n int64) Bucket {
	return Bucket{Day: ago(daysAgo), Kind: model.BucketTrack, Name: name, Count: n}
}

func page(name string, daysAgo int, n int64) Bucket {
	return Bucket{Day: ago(daysAgo), Kind: model.BucketPage, Name: name, Count: n}
}

func sums(b Bucket, kv map[string]float64) Bucket {
	b.Sums = kv
	return b
}

func users(daysAgo int, ids ...string) []UserDay {
	out := make([]UserDay, len(ids))
	for i, id := range ids {
		out[i] = UserDay{Day: ago(daysAgo), UserID: id}
	}
	return out
}

// mustModel parses a model body; version, tiers and routes are added when
// the body leaves them out.
func mustModel(t testing.TB, body string) *model.Model {
	t.Helper()
	m, err := model.Parse([]byte("version: test\n" + body))
	require.NoError(t, err)
	return m
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	require.Equal(t, string(want), got)
}

// signal returns the named signal's result.
func signal(t testing.TB, r Result, name string) SignalResult {
	t.Helper()
	for _, s := range r.Signals {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no signal %q", name)
	return SignalResult{}
}
