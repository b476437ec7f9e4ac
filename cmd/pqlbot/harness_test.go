package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests and benchmarks that run the real binary share one build per
// test process and start `pqlbot serve` the same way (startServe).

var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// TestMain removes the shared binary after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// pqlbotBinary builds bin/pqlbot from this package once per test process.
func pqlbotBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "pqlbot-test-bin"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "pqlbot")
		build := exec.Command("go", "build", "-o", built.bin, ".")
		build.Stderr = os.Stderr
		built.err = build.Run()
	})
	require.NoError(t, built.err, "build pqlbot")
	return built.bin
}

// lockedBuffer is the process's log: written by os/exec's copying
// goroutine, read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveProc is a running `pqlbot serve`.
type serveProc struct {
	Base string // http://addr
	Cmd  *exec.Cmd
	Log  *lockedBuffer
	// Exited is closed when the process has exited; Err is then its
	// exit error.
	Exited chan struct{}
	Err    error
}

// startServe starts `pqlbot serve` on a free port with the test
// environment (baseEnv) plus env, waits until it is ready, and kills it
// when the test ends, printing its log if the test failed.
func startServe(t testing.TB, env ...string) *serveProc {
	t.Helper()
	addr := freeAddr(t)
	p := &serveProc{Base: "http://" + addr, Log: &lockedBuffer{}, Exited: make(chan struct{})}
	p.Cmd = exec.Command(pqlbotBinary(t), "serve")
	p.Cmd.Env = append(append(baseEnv(), "HTTP_ADDR="+addr), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Log, p.Log
	require.NoError(t, p.Cmd.Start())
	go func() {
		p.Err = p.Cmd.Wait()
		close(p.Exited)
	}()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill()
		select {
		case <-p.Exited:
		case <-time.After(10 * time.Second):
		}
		if t.Failed() {
			t.Logf("pqlbot log:\n%s", p.Log.String())
		}
	})
	exited := make(chan error, 1)
	go func() {
		<-p.Exited
		exited <- p.Err
	}()
	waitReady(t, p.Base+"/readyz", exited)
	return p
}

// Wait waits up to d for the process to exit and returns its exit error.
func (p *serveProc) Wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-p.Exited:
		return p.Err
	case <-time.After(d):
		t.Fatalf("pqlbot did not exit within %s", d)
		return nil
	}
}
