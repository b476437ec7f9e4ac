package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// procKB reads a "VmRSS:"-style line of /proc/PID/status, in kB.
func procKB(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

// A zip bomb against the real server: 10 MB of zeros compressed to ~10 KB,
// sent by 8 clients at once, is a 413 each time and the process's peak
// resident memory grows by less than 64 MB.
func TestGzipBombKeepsServeMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Fatalf("this test reads the server's memory from /proc (Linux): %v", err)
	}
	srv := startServe(t, "DATABASE_URL="+storetest.NewURL(t), "PQLBOT_WRITE_KEYS=bomb-key")
	cmd, base := srv.Cmd, srv.Base

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"batch":[{"type":"track","userId":"u","event":"`))
	_, _ = zw.Write(make([]byte, 10<<20))
	require.NoError(t, zw.Close())
	bomb := buf.Bytes()
	require.Less(t, len(bomb), 64<<10)

	before := procKB(t, cmd.Process.Pid, "VmRSS")
	var wg sync.WaitGroup
	statuses := make(chan int, 8*3)
	for range 8 {
		wg.Go(func() {
			for range 3 {
				req, _ := http.NewRequest(http.MethodPost, base+"/v1/batch", bytes.NewReader(bomb))
				req.Header.Set("Content-Encoding", "gzip")
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("bomb-key:")))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					statuses <- 0
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses <- resp.StatusCode
			}
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		require.Equal(t, http.StatusRequestEntityTooLarge, s)
	}
	peak := procKB(t, cmd.Process.Pid, "VmHWM")
	t.Logf("serve RSS before %d kB, peak after 24 bombs %d kB (+%d kB)", before, peak, peak-before)
	require.Less(t, peak-before, 64<<10, "peak RSS grew by %d kB", peak-before)
}

func TestRejectsCommand(t *testing.T) {
	st := storetest.New(t)
	t.Setenv("DATABASE_URL", st.Pool().Config().ConnString())
	t.Setenv("PQLBOT_TEST_DATABASE_URL", "")
	require.NoError(t, os.Unsetenv("PQLBOT_TEST_DATABASE_URL"))

	code, out, errOut := runCLI(t, "rejects")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "no messages quarantined in the last 24h0m0s")

	p, err := events.DecodeBatch([]byte(`{"batch":[{"type":"track","userId":"u","event":"ok"},{"type":"track","userId":"u","event":"e","properties":{"x":"\u0000"}}]}`), time.Now())
	require.NoError(t, err)
	_, err = st.Ingest(context.Background(), []store.IngestItem{{Source: "src1", Messages: p.Messages, Rejects: p.Rejects}})
	require.NoError(t, err)
	code, out, errOut = runCLI(t, "rejects", "--since", "1h")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "1 message(s) quarantined in the last 1h0m0s")
	require.Contains(t, out, "source src1  #1  bad_text  field properties")
	require.Contains(t, out, `batch[1].properties: must not contain \u0000`)
	require.Contains(t, out, `message: {"type":"track","userId":"u","event":"e","properties":{"x":"\u0000"}}`)

	code, _, _ = runCLI(t, "rejects", "--since", "soon")
	require.Equal(t, 2, code)
}
