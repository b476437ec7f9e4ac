package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/store/storetest"
)

// BenchmarkServeIngest measures ingest through the whole `serve` (the real
// binary with the re-scorer and the alert dispatcher running, Slack in dry
// run) for batches and single calls, each with and without gzip bodies,
// alternating so machine load falls on both alike. Reported per workload:
// events/s and acknowledgement p50/p99.
func BenchmarkServeIngest(b *testing.B) {
	const (
		batchClients, batchSize, batchEvents = 8, 100, 50_000
		singleClients, singleEvents          = 32, 10_000
		rounds                               = 2
	)
	for range b.N {
		bin := filepath.Join(b.TempDir(), "pqlbot")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Stderr = os.Stderr
		require.NoError(b, build.Run())
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(baseEnv(), "DATABASE_URL="+storetest.NewURL(b), "HTTP_ADDR="+addr,
			"PQLBOT_WRITE_KEYS="+smokeWriteKey, "PQLBOT_LOG_LEVEL=error")
		require.NoError(b, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		b.Cleanup(func() { _ = cmd.Process.Kill() })
		waitReady(b, "http://"+addr+"/readyz", exited)

		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(smokeWriteKey+":"))
		day := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
		var seq atomic.Int64
		event := func(sb *strings.Builder) {
			n := seq.Add(1)
			fmt.Fprintf(sb, `{"type":"track","messageId":"m-%d","userId":"u%d","event":"E%d","timestamp":%q,"context":{"groupId":"acct-%d","library":{"name":"analytics-node","version":"3.1.0"}},"properties":{"records":%d,"plan":"trial"}}`,
				n, n%5000, n%7, day, n%1000, n%50)
		}
		post := func(path string, body []byte, gz bool) (time.Duration, error) {
			if gz {
				var buf bytes.Buffer
				w := gzip.NewWriter(&buf)
				_, _ = w.Write(body)
				_ = w.Close()
				body = buf.Bytes()
			}
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(body))
			req.Header.Set("Authorization", auth)
			req.Header.Set("Content-Type", "application/json")
			if gz {
				req.Header.Set("Content-Encoding", "gzip")
			}
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return 0, fmt.Errorf("status %d", resp.StatusCode)
			}
			return time.Since(start), nil
		}
		type result struct {
			name             string
			perSec, p50, p99 float64
		}
		var results []result
		workload := func(name string, clients, requests, perRequest int, path string, gz bool) {
			var mu sync.Mutex
			var lat []time.Duration
			var next atomic.Int64
			errs := make(chan error, clients)
			start := time.Now()
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(requests) {
						var sb strings.Builder
						if perRequest > 1 {
							sb.WriteString(`{"batch":[`)
							for i := range perRequest {
								if i > 0 {
									sb.WriteByte(',')
								}
								event(&sb)
							}
							sb.WriteString(`]}`)
						} else {
							event(&sb)
						}
						d, err := post(path, []byte(sb.String()), gz)
						if err != nil {
							errs <- err
							return
						}
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			took := time.Since(start)
			close(errs)
			for err := range errs {
				require.NoError(b, err)
			}
			slices.Sort(lat)
			ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
			results = append(results, result{name, float64(requests*perRequest) / took.Seconds(), ms(0.5), ms(0.99)})
		}
		for r := range rounds {
			for _, gz := range []bool{false, true} {
				suffix := fmt.Sprintf(" round %d", r+1)
				if gz {
					suffix = ", gzip" + suffix
				}
				workload("batch 100, 8 clients"+suffix, batchClients, batchEvents/batchSize, batchSize, "/v1/batch", gz)
				workload("single track, 32 clients"+suffix, singleClients, singleEvents, 1, "/v1/track", gz)
			}
		}
		for _, r := range results {
			b.Logf("%-42s %8.0f events/s  p50 %6.1f ms  p99 %6.1f ms", r.name, r.perSec, r.p50, r.p99)
		}
		// A sample batch's wire size, for the docs.
		var sb strings.Builder
		sb.WriteString(`{"batch":[`)
		for i := range batchSize {
			if i > 0 {
				sb.WriteByte(',')
			}
			event(&sb)
		}
		sb.WriteString(`]}`)
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		_, _ = zw.Write([]byte(sb.String()))
		_ = zw.Close()
		b.Logf("a batch of %d: %d bytes plain, %d gzip", batchSize, sb.Len(), zb.Len())
	}
}
