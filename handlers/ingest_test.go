package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	analytics "github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

const writeKey = "test-write-key"

type env struct {
	st  *store.Store
	srv *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := storetest.New(t)
	g := store.NewIngester(st, store.IngesterOptions{})
	t.Cleanup(g.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &handlers.Server{
		Log:   log,
		Ready: st,
		Ingest: &handlers.Ingest{
			Log:       log,
			Submitter: g,
			Keys:      map[string]string{writeKey: store.SourceOf(writeKey), "second-key": store.SourceOf("second-key")},
		},
	}
	srv := httptest.NewServer(s.Routes())
	t.Cleanup(srv.Close)
	return &env{st: st, srv: srv}
}

func (e *env) post(t *testing.T, path, key string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.st.Pool().QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

// snapshot counts every table ingest writes, to prove a rejection stored nothing.
func (e *env) snapshot(t *testing.T) map[string]int {
	out := map[string]int{}
	for _, tbl := range []string{"events", "accounts", "users", "account_users", "account_daily", "account_daily_users", "rescore_queue"} {
		out[tbl] = e.count(t, "SELECT count(*) FROM "+tbl)
	}
	return out
}

func TestSegmentClientEndToEnd(t *testing.T) {
	e := newEnv(t)
	client, err := analytics.NewWithConfig(writeKey, analytics.Config{
		Endpoint: e.srv.URL, BatchSize: 3, Interval: 50 * time.Millisecond,
		Logger: testLogger{t},
	})
	require.NoError(t, err)
	now := time.Now().UTC()
	require.NoError(t, client.Enqueue(analytics.Identify{UserId: "u1", Traits: analytics.NewTraits().SetEmail("ada@acme.io").SetName("Ada").Set("title", "CTO")}))
	// Before the group call: stored unattributed, attributed when the link arrives.
	require.NoError(t, client.Enqueue(analytics.Track{UserId: "u1", Event: "Workflow Completed", Timestamp: now.Add(-2 * time.Hour), MessageId: "m-early"}))
	require.NoError(t, client.Enqueue(analytics.Group{UserId: "u1", GroupId: "acme", Traits: analytics.NewTraits().SetName("Acme").Set("domain", "acme.io").Set("employees", 120).Set("plan", "trial")}))
	require.NoError(t, client.Enqueue(analytics.Track{UserId: "u1", Event: "Records Imported", Properties: analytics.NewProperties().Set("records", 60)}))
	require.NoError(t, client.Enqueue(analytics.Track{UserId: "u1", Event: "Records Imported", Properties: analytics.NewProperties().Set("records", 50)}))
	require.NoError(t, client.Enqueue(analytics.Page{UserId: "u1", Name: "Pricing"}))
	// context.groupId wins over the user's linked group.
	require.NoError(t, client.Enqueue(analytics.Track{UserId: "u2", Event: "Teammate Invited", Context: &analytics.Context{GroupID: "globex"}}))
	require.NoError(t, client.Enqueue(analytics.Track{UserId: "u1", Event: "Demo Requested", Context: &analytics.Context{GroupID: "globex"}}))
	require.NoError(t, client.Close())

	require.Equal(t, 8, e.count(t, "SELECT count(*) FROM events"))
	require.Equal(t, 0, e.count(t, "SELECT count(*) FROM events WHERE type IN ('track','page') AND account_id IS NULL"))
	require.Equal(t, 4, e.count(t, "SELECT count(*) FROM events WHERE account_id = 'acme' AND type IN ('track','page')"))
	require.Equal(t, 2, e.count(t, "SELECT count(*) FROM events WHERE account_id = 'globex'"))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM accounts WHERE account_id = 'acme' AND name = 'Acme' AND domain = 'acme.io' AND (traits->>'employees')::int = 120"))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM users WHERE user_id = 'u1' AND email = 'ada@acme.io' AND account_id = 'acme' AND traits->>'title' = 'CTO'"))
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM account_users WHERE account_id = 'acme' AND user_id = 'u1'"))
	require.Equal(t, 2, e.count(t, "SELECT n FROM account_daily WHERE account_id = 'acme' AND kind = 'track' AND name = 'Records Imported' AND day = $1", now.Truncate(24*time.Hour)))
	require.Equal(t, 110, e.count(t, "SELECT (sums->>'records')::int FROM account_daily WHERE account_id = 'acme' AND name = 'Records Imported'"))
	require.Equal(t, 1, e.count(t, "SELECT coalesce(sum(n),0) FROM account_daily WHERE account_id = 'acme' AND kind = 'page' AND name = 'Pricing'"))
	require.Equal(t, 1, e.count(t, "SELECT coalesce(sum(n),0) FROM account_daily WHERE account_id = 'acme' AND name = 'Workflow Completed'"), "the early event is rolled up once it is attributed")
	require.Equal(t, 2, e.count(t, "SELECT count(DISTINCT user_id) FROM account_daily_users WHERE account_id = 'globex'"))
	require.Equal(t, 2, e.count(t, "SELECT count(*) FROM rescore_queue WHERE account_id IN ('acme','globex')"))
}

type testLogger struct{ t *testing.T }

func (l testLogger) Logf(format string, args ...any)   { l.t.Logf(format, args...) }
func (l testLogger) Errorf(format string, args ...any) { l.t.Errorf(format, args...) }

func msg(fields string) string {
	return `{"type":"track","userId":"u1","event":"Workflow Completed","messageId":"` + fmt.Sprint(rand.Int64()) + `"` + fields + `}`
}

func TestBadInputStoresNothing(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 33*1024)
	var hugeBatch strings.Builder
	hugeBatch.WriteString(`{"batch":[`)
	for i := range 140 {
		if i > 0 {
			hugeBatch.WriteString(",")
		}
		hugeBatch.WriteString(msg(`,"properties":{"pad":"` + strings.Repeat("y", 30*1024) + `"}`))
	}
	hugeBatch.WriteString(`]}`)
	cases := []struct {
		name, path, key, body string
		status                int
		want                  string
		quarantined           bool // a single message that is invalid is kept
	}{
		{"no write key", "/v1/track", "", `{"userId":"u1","event":"x"}`, 401, "writeKey: missing", false},
		{"unknown write key", "/v1/track", "nope", `{"userId":"u1","event":"x"}`, 401, "writeKey: unknown", false},
		{"unknown body write key", "/v1/track", "", `{"writeKey":"nope","userId":"u1","event":"x"}`, 401, "writeKey: unknown", false},
		{"malformed JSON", "/v1/track", writeKey, `{"userId":`, 400, "malformed JSON", false},
		{"not an object", "/v1/track", writeKey, `[1,2]`, 400, "malformed JSON", false},
		{"empty body", "/v1/track", writeKey, ``, 400, "empty body", false},
		{"batch over 4 MB", "/v1/batch", writeKey, hugeBatch.String(), 413, "4 MB", false},
		{"batch not an array", "/v1/batch", writeKey, `{"batch":{}}`, 400, "malformed JSON", false},
		{"batch empty", "/v1/batch", writeKey, `{"batch":[]}`, 400, "batch: must hold at least one message", false},
		{"batch missing", "/v1/batch", writeKey, `{"sentAt":"2026-01-01T00:00:00Z"}`, 400, "batch: required", false},
		{"batch bad sentAt", "/v1/batch", writeKey, `{"sentAt":"later","batch":[` + msg("") + `]}`, 400, "sentAt: ", false},
		{"no user", "/v1/track", writeKey, `{"event":"x"}`, 400, "userId: one of userId or anonymousId is required", true},
		{"user not a string", "/v1/track", writeKey, `{"userId":{"a":1},"event":"x"}`, 400, "userId: must be a string", true},
		{"track without event", "/v1/track", writeKey, `{"userId":"u1"}`, 400, "event: required", true},
		{"group without groupId", "/v1/group", writeKey, `{"userId":"u1"}`, 400, "groupId: required", true},
		{"alias without previousId", "/v1/alias", writeKey, `{"userId":"u1"}`, 400, "previousId: required", true},
		{"type mismatch", "/v1/track", writeKey, `{"type":"page","userId":"u1"}`, 400, "type: \"page\" sent to the /v1/track endpoint", true},
		{"bad timestamp", "/v1/track", writeKey, `{"userId":"u1","event":"x","timestamp":"yesterday"}`, 400, "timestamp: \"yesterday\" is not an ISO-8601 timestamp", true},
		{"bad sentAt", "/v1/track", writeKey, `{"userId":"u1","event":"x","sentAt":12}`, 400, "sentAt: must be an ISO-8601 string", true},
		{"properties not an object", "/v1/track", writeKey, `{"userId":"u1","event":"x","properties":[1]}`, 400, "properties: must be an object", true},
		{"messageId too long", "/v1/track", writeKey, `{"userId":"u1","event":"x","messageId":"` + strings.Repeat("m", 101) + `"}`, 400, "messageId: longer than 100", true},
		{"message over 32 KB", "/v1/track", writeKey, `{"userId":"u1","event":"x","properties":{"p":"` + big + `"}}`, 413, "32 KB", true},
		{"NUL in event name", "/v1/track", writeKey, `{"userId":"u1","event":"a\u0000b"}`, 400, "event: must be valid UTF-8 without NUL", true},
		{"invalid UTF-8 in traits", "/v1/identify", writeKey, "{\"userId\":\"u1\",\"traits\":{\"n\":\"\xff\"}}", 400, "traits: must be valid UTF-8", true},
	}
	before := e.snapshot(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kept := e.count(t, "SELECT count(*) FROM rejected_messages")
			status, body := e.post(t, tc.path, tc.key, []byte(tc.body))
			require.Equal(t, tc.status, status, body)
			var out struct{ Error string }
			require.NoError(t, json.Unmarshal([]byte(body), &out), body)
			require.Contains(t, out.Error, tc.want)
			require.Equal(t, before, e.snapshot(t), "a rejected request stores no event")
			if tc.quarantined {
				require.Equal(t, kept+1, e.count(t, "SELECT count(*) FROM rejected_messages"))
				var raw []byte
				var errText string
				require.NoError(t, e.st.Pool().QueryRow(context.Background(), `SELECT raw, error FROM rejected_messages ORDER BY id DESC LIMIT 1`).Scan(&raw, &errText))
				require.Equal(t, tc.body, string(raw), "kept whole, as sent")
				require.Contains(t, errText, tc.want)
			} else {
				require.Equal(t, kept, e.count(t, "SELECT count(*) FROM rejected_messages"), "a refused request is not a message to keep")
			}
		})
	}
}

// SDKs drop a whole batch on any 4xx, so one bad message must not cost its
// neighbours: the valid ones are stored and answered 200, the bad ones kept
// whole in the quarantine with the reason and field.
func TestBatchQuarantinesOnlyBadMessages(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 33*1024)
	surrogate := msg(`,"properties":{"x":"\ud800"}`)
	body := `{"batch":[` + strings.Join([]string{
		msg(""),
		msg(`,"properties":{"x":"\u0000"}`),
		`{"type":"boop","userId":"u","messageId":"b1"}`,
		`{"type":"track","event":"x","messageId":"b2"}`,
		`{"type":"track","anonymousId":"a","event":"x","timestamp":"2026-13-45"}`,
		msg(`,"properties":{"p":"` + big + `"}`),
		surrogate,
		msg(""),
	}, ",") + `]}`
	status, resp := e.post(t, "/v1/batch", writeKey, []byte(body))
	require.Equal(t, 200, status, resp)
	require.JSONEq(t, `{"success":true}`, resp)
	require.Equal(t, 2, e.count(t, "SELECT count(*) FROM events"))
	rows, err := e.st.Pool().Query(context.Background(), `SELECT batch_index, reason, field FROM rejected_messages ORDER BY batch_index`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var i int
		var reason, field string
		require.NoError(t, rows.Scan(&i, &reason, &field))
		got = append(got, fmt.Sprintf("%d %s %s", i, reason, field))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		"1 bad_text properties", "2 unknown_type type", "3 no_identity userId",
		"4 bad_timestamp timestamp", "5 too_large message", "6 bad_text properties",
	}, got)
	rs, err := e.st.Rejects(context.Background(), time.Now().Add(-time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, rs, 6)
	require.Equal(t, store.SourceOf(writeKey), rs[0].Source)
	// Newest first: the last bad message, kept byte for byte.
	require.Equal(t, surrogate, string(rs[0].Raw))
}

func TestBodyWriteKeyAndSkew(t *testing.T) {
	e := newEnv(t)
	// The client's clock is 1 hour fast: sentAt and timestamp both read an
	// hour ahead, so the event happened 10 minutes before it was received.
	fast := time.Now().UTC().Add(time.Hour)
	body := fmt.Sprintf(`{"writeKey":%q,"userId":"u1","event":"x","timestamp":%q,"sentAt":%q,"context":{"groupId":"a1"}}`,
		writeKey, fast.Add(-10*time.Minute).Format(time.RFC3339Nano), fast.Format(time.RFC3339Nano))
	status, resp := e.post(t, "/v1/track", "", []byte(body))
	require.Equal(t, 200, status, resp)
	require.JSONEq(t, `{"success":true}`, resp)
	var ts time.Time
	require.NoError(t, e.st.Pool().QueryRow(context.Background(), `SELECT ts FROM events`).Scan(&ts))
	require.WithinDuration(t, time.Now().Add(-10*time.Minute), ts, 30*time.Second)
}

func TestRedeliveryCountedOnce(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"batch":[{"type":"track","messageId":"dup-1","userId":"u1","event":"Workflow Completed","context":{"groupId":"acme"}},
		{"type":"track","messageId":"dup-1","userId":"u1","event":"Workflow Completed","context":{"groupId":"acme"}}]}`)
	for range 3 {
		status, resp := e.post(t, "/v1/batch", writeKey, body)
		require.Equal(t, 200, status, resp)
	}
	require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events"))
	require.Equal(t, 1, e.count(t, "SELECT sum(n)::int FROM account_daily"))
	// De-duplication is per write key: another source's dup-1 is its own event.
	status, resp := e.post(t, "/v1/batch", "second-key", body)
	require.Equal(t, 200, status, resp)
	require.Equal(t, 2, e.count(t, "SELECT count(*) FROM events"))
	require.Equal(t, 2, e.count(t, "SELECT sum(n)::int FROM account_daily"))
}

func TestConcurrentOverlappingBatches(t *testing.T) {
	e := newEnv(t)
	const clients, batches, perBatch, pool = 20, 10, 100, 3000
	day := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := map[int]bool{}
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for range batches {
				var b strings.Builder
				b.WriteString(`{"batch":[`)
				for i := range perBatch {
					id := r.IntN(pool)
					mu.Lock()
					sent[id] = true
					mu.Unlock()
					if i > 0 {
						b.WriteString(",")
					}
					fmt.Fprintf(&b, `{"type":"track","messageId":"m-%d","userId":"u%d","event":"E%d","timestamp":%q,"context":{"groupId":"acct-%d"},"properties":{"v":1}}`,
						id, id%50, id%7, day, id%40)
				}
				b.WriteString(`]}`)
				status, body := e.post(t, "/v1/batch", writeKey, []byte(b.String()))
				if status != 200 {
					errs <- fmt.Errorf("status %d: %s", status, body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, len(sent), e.count(t, "SELECT count(*) FROM events"))
	require.Equal(t, len(sent), e.count(t, "SELECT sum(n)::int FROM account_daily"))
	require.Equal(t, len(sent), e.count(t, "SELECT sum((sums->>'v')::int)::int FROM account_daily"))
}
