// Package failpoint lets a test freeze a running pqlbot at a named point,
// so it can kill the process exactly where a crash hurts most (scores
// committed but not decided, a post sent but not recorded).
//
// It is inert unless PQLBOT_TEST_PAUSE_DIR is set, which only tests do.
// A point is armed by creating a file of its name in that directory; the
// first goroutine of any process that reaches an armed point removes the
// file (so exactly one process pauses, however many replicas share the
// directory), writes one JSON line to stderr and blocks for good. The rest
// of the process keeps running, as it would while one goroutine is stuck.
package failpoint

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// EnvDir names the directory of armed points.
const EnvDir = "PQLBOT_TEST_PAUSE_DIR"

var dir = os.Getenv(EnvDir)

// Pause blocks forever if the point name is armed; otherwise it returns at
// once (without a system call when no directory is configured).
func Pause(name string) {
	if dir == "" {
		return
	}
	if os.Remove(filepath.Join(dir, name)) != nil {
		return
	}
	fmt.Fprintf(os.Stderr, `{"time":%q,"level":"WARN","msg":"paused at failpoint","failpoint":%q,"pid":%d}`+"\n",
		time.Now().UTC().Format(time.RFC3339Nano), name, os.Getpid())
	for {
		time.Sleep(time.Hour)
	}
}
