package lease

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHeartbeatBeatsUntilStopped(t *testing.T) {
	require.Equal(t, 100*time.Millisecond, Period(300*time.Millisecond))
	var beats atomic.Int32
	stop := Heartbeat(90*time.Millisecond, func() { beats.Add(1) })
	require.Eventually(t, func() bool { return beats.Load() >= 3 }, 5*time.Second, 5*time.Millisecond)
	stop()
	n := beats.Load()
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, n, beats.Load(), "no beat after stop returned")
	stop() // idempotent
}
