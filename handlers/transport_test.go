package handlers_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/store"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func (e *env) do(t *testing.T, method, path string, body []byte, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func basic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

// What real SDKs send on the wire (../shared/NOTES.md, "Real SDKs on the
// wire"), each accepted and stored.
func TestTransportShapes(t *testing.T) {
	e := newEnv(t)
	batch := func(id string) []byte {
		return []byte(`{"batch":[{"type":"track","messageId":"` + id + `","anonymousId":"a1","event":"Workflow Completed","originalTimestamp":"2026-11-30T08:00:00Z","context":{"groupId":"acme"}}],"sentAt":"2026-11-30T08:00:01Z"}`)
	}
	var zl bytes.Buffer
	zw := zlib.NewWriter(&zl)
	_, _ = zw.Write(batch("deflate"))
	_ = zw.Close()
	cases := []struct {
		name, path string
		body       []byte
		header     map[string]string
		id         string
	}{
		{"rudderstack: gzip labelled form-urlencoded", "/v1/batch", gzipped(t, batch("rudder")),
			map[string]string{"Content-Encoding": "gzip", "Content-Type": "application/x-www-form-urlencoded", "Authorization": basic(writeKey + ":")}, "rudder"},
		{"deflate", "/v1/batch", zl.Bytes(), map[string]string{"Content-Encoding": "deflate", "Authorization": basic(writeKey + ":")}, "deflate"},
		{"basic auth without the colon", "/v1/batch", batch("nocolon"), map[string]string{"Authorization": basic(writeKey)}, "nocolon"},
		{"sendBeacon: text/plain with writeKey inside", "/v1/t",
			[]byte(`{"type":"track","writeKey":"` + writeKey + `","messageId":"beacon","anonymousId":"a1","event":"Clicked","context":{"groupId":"acme"}}`),
			map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, "beacon"},
		{"analytics.js short batch path", "/v1/b", batch("short-b"), map[string]string{"Authorization": basic(writeKey + ":"), "Content-Type": "text/plain"}, "short-b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodPost, tc.path, tc.body, tc.header)
			require.Equal(t, 200, resp.StatusCode, body)
			require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events WHERE message_id = $1 AND account_id = 'acme'", tc.id))
		})
	}
	for path, typ := range map[string]string{"/v1/t": "track", "/v1/p": "page", "/v1/i": "identify", "/v1/g": "group", "/v1/a": "alias", "/v1/s": "screen"} {
		t.Run("short path "+path, func(t *testing.T) {
			body := `{"type":"` + typ + `","messageId":"short` + path + `","userId":"u9","anonymousId":"a9","event":"E","name":"N","groupId":"acme","previousId":"a8"}`
			resp, out := e.do(t, http.MethodPost, path, []byte(body), map[string]string{"Authorization": basic(writeKey)})
			require.Equal(t, 200, resp.StatusCode, out)
			require.Equal(t, 1, e.count(t, "SELECT count(*) FROM events WHERE message_id = $1 AND type = $2", "short"+path, typ))
		})
	}
	t.Run("unsupported encoding", func(t *testing.T) {
		resp, body := e.do(t, http.MethodPost, "/v1/batch", batch("br"), map[string]string{"Content-Encoding": "br", "Authorization": basic(writeKey)})
		require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, body)
		require.Contains(t, body, "Content-Encoding")
	})
	t.Run("gzip header on a plain body", func(t *testing.T) {
		resp, body := e.do(t, http.MethodPost, "/v1/batch", batch("liar"), map[string]string{"Content-Encoding": "gzip", "Authorization": basic(writeKey)})
		require.Equal(t, 400, resp.StatusCode, body)
		require.Contains(t, body, "not gzip data")
	})
}

// The limits apply to the decompressed bytes: a gzip bomb (10 MB of zeros
// in ~10 KB) is a 413 and is never inflated past the limit.
func TestGzipBombIs413(t *testing.T) {
	e := newEnv(t)
	bomb := gzipped(t, append([]byte(`{"batch":[{"type":"track","userId":"u","event":"`), make([]byte, 10<<20)...))
	require.Less(t, len(bomb), 64<<10)
	before := e.snapshot(t)
	resp, body := e.do(t, http.MethodPost, "/v1/batch", bomb, map[string]string{"Content-Encoding": "gzip", "Authorization": basic(writeKey)})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, body)
	require.Contains(t, body, "4 MB")
	require.Equal(t, before, e.snapshot(t))
	// A single call reads up to the same limit, to keep an oversized
	// message whole in the quarantine; beyond it, 413 as well.
	resp, body = e.do(t, http.MethodPost, "/v1/track", bomb, map[string]string{"Content-Encoding": "gzip", "Authorization": basic(writeKey)})
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, body)
}

func TestCORS(t *testing.T) {
	st := newEnv(t).st
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	serve := func(origins []string) *httptest.Server {
		g := store.NewIngester(st, store.IngesterOptions{})
		t.Cleanup(g.Close)
		s := &handlers.Server{Log: log, Ready: st,
			Ingest: &handlers.Ingest{Log: log, Submitter: g, Keys: map[string]string{writeKey: store.SourceOf(writeKey)}}}
		if origins != nil {
			s.CORS = &handlers.CORS{Origins: origins}
		}
		srv := httptest.NewServer(s.Routes())
		t.Cleanup(srv.Close)
		return srv
	}
	preflight := func(srv *httptest.Server, path, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	listed := serve([]string{"https://app.example.com"})
	for _, path := range []string{"/v1/t", "/v1/p", "/v1/i", "/v1/g", "/v1/a", "/v1/s", "/v1/b", "/v1/batch", "/v1/track"} {
		resp := preflight(listed, path, "https://app.example.com")
		require.Equal(t, http.StatusNoContent, resp.StatusCode, path)
		require.Equal(t, "https://app.example.com", resp.Header.Get("Access-Control-Allow-Origin"))
		require.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
		require.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Content-Type")
		require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
	}
	resp := preflight(listed, "/v1/t", "https://evil.example.com")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))

	// The POST itself carries the header the browser checks.
	req, _ := http.NewRequest(http.MethodPost, listed.URL+"/v1/t", bytes.NewReader([]byte(`{"userId":"u","event":"e"}`)))
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Authorization", basic(writeKey))
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	r2.Body.Close()
	require.Equal(t, 200, r2.StatusCode)
	require.Equal(t, "https://app.example.com", r2.Header.Get("Access-Control-Allow-Origin"))

	require.Equal(t, http.StatusNoContent, preflight(serve([]string{"*"}), "/v1/t", "http://localhost:3000").StatusCode)
	require.Equal(t, http.StatusForbidden, preflight(serve(nil), "/v1/t", "http://localhost:3000").StatusCode, "unset: no browser access")
}
