package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/slackfake"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// BenchmarkAlertLatency measures, over 1,000 alerts, the time from the
// ingest 200 of the event that crosses the threshold to the
// chat.postMessage request arriving at a local Slack stand-in, through the
// real binary (re-scorer, alert decision, outbox, dispatcher).
func BenchmarkAlertLatency(b *testing.B) {
	const accounts = 1000
	for range b.N {
		bin := pqlbotBinary(b)
		fake := slackfake.New(b)
		fake.SetToken(smokeBotToken)
		fake.AddChannel(slackfake.Channel{ID: "C0SDRPQL", Name: "sdr-pql"})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		addr := ln.Addr().String()
		ln.Close()
		base := "http://" + addr
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(baseEnv(), "DATABASE_URL="+storetest.NewURL(b), "HTTP_ADDR="+addr, "PQLBOT_WRITE_KEYS="+smokeWriteKey,
			"SLACK_BOT_TOKEN="+smokeBotToken, "SLACK_SIGNING_SECRET="+smokeSecret, "SLACK_API_URL="+fake.APIURL(), "PQLBOT_LOG_LEVEL=warn")
		require.NoError(b, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		b.Cleanup(func() { _ = cmd.Process.Kill() })
		waitReady(b, base+"/readyz", exited)

		// Every account first reaches mid (no alert): the crossing event
		// is a second Teammate Invited.
		day := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339Nano)
		var batch strings.Builder
		flush := func() {
			if batch.Len() == 0 {
				return
			}
			require.Equal(b, 200, postJSON(b, base+"/v1/batch", `{"batch":[`+strings.TrimSuffix(batch.String(), ",")+`]}`))
			batch.Reset()
		}
		for i := range accounts {
			acct, user := fmt.Sprintf("acct-%04d", i), fmt.Sprintf("user-%04d", i)
			fmt.Fprintf(&batch, `{"type":"identify","userId":%q,"traits":{"email":"%s@co%d.io"}},`, user, user, i)
			fmt.Fprintf(&batch, `{"type":"group","userId":%q,"groupId":%q,"traits":{"name":"Co %d","domain":"co%d.io","employees":120}},`, user, acct, i, i)
			for k := range 3 {
				fmt.Fprintf(&batch, `{"type":"track","userId":%q,"event":"Workflow Completed","timestamp":%q,"messageId":"w%d-%d"},`, user, day, i, k)
			}
			for k := range 2 {
				fmt.Fprintf(&batch, `{"type":"page","userId":%q,"name":"Pricing","timestamp":%q,"messageId":"p%d-%d"},`, user, day, i, k)
			}
			fmt.Fprintf(&batch, `{"type":"track","userId":%q,"event":"Teammate Invited","timestamp":%q,"messageId":"t%d-0"},`, user, day, i)
			if i%50 == 49 {
				flush()
			}
		}
		flush()
		// Let the re-scorer settle every account at mid.
		time.Sleep(3 * time.Second)
		require.Empty(b, fake.Calls("chat.postMessage"), "no account alerts before it crosses")

		acked := make([]time.Time, accounts)
		var wg sync.WaitGroup
		b.ResetTimer()
		for i := range accounts {
			body := fmt.Sprintf(`{"userId":"user-%04d","event":"Teammate Invited","messageId":"t%d-1"}`, i, i)
			wg.Go(func() {
				require.Equal(b, 200, postJSON(b, base+"/v1/track", body))
				acked[i] = time.Now()
			})
			time.Sleep(10 * time.Millisecond) // about 100 crossings a second
		}
		wg.Wait()
		calls := fake.WaitFor("chat.postMessage", accounts, 60*time.Second)
		b.StopTimer()
		lat := make([]time.Duration, 0, accounts)
		for _, c := range calls {
			var meta struct {
				Payload struct {
					AccountID string `json:"account_id"`
				} `json:"event_payload"`
			}
			require.NoError(b, json.Unmarshal([]byte(c.Params.Get("metadata")), &meta))
			var i int
			_, err := fmt.Sscanf(meta.Payload.AccountID, "acct-%d", &i)
			require.NoError(b, err)
			lat = append(lat, c.At.Sub(acked[i]))
		}
		require.Len(b, lat, accounts, "exactly one post per crossing account")
		slices.Sort(lat)
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		b.Logf("%d alerts: ingest 200 → chat.postMessage p50 %s, p99 %s, max %s", accounts, p50, p99, lat[len(lat)-1])
	}
}

func postJSON(b *testing.B, u, body string) int {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.SetBasicAuth(smokeWriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
