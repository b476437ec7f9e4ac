package failpoint

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPauseOnlyWhereArmedAndOnce(t *testing.T) {
	Pause("anything") // no directory configured: returns at once

	// Left set: the goroutine that stays paused read it unsynchronised,
	// so resetting it would be a data race.
	dir = t.TempDir()
	Pause("scored") // not armed
	require.NoError(t, os.WriteFile(filepath.Join(dir, "scored"), nil, 0o600))
	var paused, passed atomic.Int32
	for range 3 {
		go func() {
			paused.Add(1)
			Pause("scored")
			passed.Add(1)
		}()
	}
	require.Eventually(t, func() bool { return passed.Load() == 2 }, 5*time.Second, 10*time.Millisecond,
		"exactly one of the goroutines stays paused")
	time.Sleep(50 * time.Millisecond)
	require.EqualValues(t, 2, passed.Load())
	require.NoFileExists(t, filepath.Join(dir, "scored"), "disarmed by the one that paused")
}
