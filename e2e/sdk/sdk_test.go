package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

const (
	serverKey  = "e2e-server-write-key"
	browserKey = "e2e-browser-write-key"
)

// missingTools names what the suite needs and is not installed, with how to
// install it: the one condition under which the suite does not run.
func missingTools() string {
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (apt-get install -y nodejs npm)")
	} else if _, err := exec.LookPath("npm"); err != nil {
		missing = append(missing, "npm (apt-get install -y npm)")
	}
	if _, err := os.Stat(chromiumPath()); err != nil {
		missing = append(missing, "chromium (apt-get install -y chromium)")
	}
	if len(missing) == 0 {
		return ""
	}
	return "SDK end-to-end suite NOT RUN: missing " + strings.Join(missing, ", ")
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	require.NoError(t, err, "%s %s\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), out.String(), errb.String())
	if errb.Len() > 0 {
		t.Logf("%s %s stderr:\n%s", name, strings.Join(args, " "), errb.String())
	}
	return out.String()
}

func freeAddr(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln, ln.Addr().String()
}

// TestRealSDKs sends one user journey per SDK (pre-signup page view,
// identify with both ids, group, three tracks, page, screen, a track under
// an older id and the alias that merges it) and checks that every event is
// stored, counted once, for that SDK's account, by one person.
func TestRealSDKs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node, chromium and the binary")
	}
	if line := missingTools(); line != "" {
		fmt.Fprintln(os.Stderr, line)
		t.Skip(line)
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@segment", "analytics-next")); err != nil {
		run(t, dir, nil, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	}

	bin := filepath.Join(t.TempDir(), "pqlbot")
	run(t, filepath.Join(dir, "..", ".."), nil, "go", "build", "-o", bin, "./cmd/pqlbot")

	// The page's origin differs from the API's: the browser preflights.
	pageLn, pageAddr := freeAddr(t)
	apiLn, apiAddr := freeAddr(t)
	apiLn.Close()
	dbURL := storetest.NewURL(t)
	var logBuf lockedBuffer
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(cleanEnv(),
		"DATABASE_URL="+dbURL,
		"HTTP_ADDR="+apiAddr,
		"PQLBOT_WRITE_KEYS="+serverKey+","+browserKey,
		"PQLBOT_CORS_ORIGINS=http://"+pageAddr,
	)
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("pqlbot log:\n%s", logBuf.String())
		}
	})
	waitReady(t, "http://"+apiAddr+"/readyz", exited)
	base := "http://" + apiAddr

	nodeEnv := []string{"PQLBOT_URL=" + base, "WRITE_KEY=" + serverKey}
	t.Log(run(t, dir, nodeEnv, "node", "node-sdks.mjs", "rudder", "rudder"))
	t.Log(run(t, dir, nodeEnv, "node", "node-sdks.mjs", "segment", "segnode"))

	page := template.Must(template.ParseFiles(filepath.Join(dir, "page.html")))
	mux := http.NewServeMux()
	mux.Handle("GET /analytics-next/bundles/", http.StripPrefix("/analytics-next/bundles/",
		http.FileServer(http.Dir(filepath.Join(dir, "node_modules", "@segment", "analytics-next", "dist", "umd")))))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, map[string]string{"WriteKey": browserKey, "APIHost": apiAddr + "/v1", "Prefix": "browser"})
	})
	pageSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = pageSrv.Serve(pageLn) }()
	t.Cleanup(func() { _ = pageSrv.Close() })
	out := run(t, dir, []string{"CHROMIUM=" + chromiumPath()}, "node", "browser.mjs", "http://"+pageAddr+"/")
	var browser struct {
		Failed      int    `json:"failed"`
		AnonymousID string `json:"anonymousId"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &browser), out)
	require.Zero(t, browser.Failed)
	require.NotEmpty(t, browser.AnonymousID)

	st, err := store.Open(context.Background(), dbURL)
	require.NoError(t, err)
	defer st.Close()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, st.Pool().QueryRow(context.Background(), q, args...).Scan(&n))
		return n
	}
	type journey struct {
		prefix, anon, source string
		// activity: page, 3 tracks, page, screen (and, from the node SDKs,
		// the older id's track); all: activity + identify, group, alias.
		activity, all int
	}
	for _, j := range []journey{
		{"rudder", "rudder-anon", store.SourceOf(serverKey), 7, 10},
		{"segnode", "segnode-anon", store.SourceOf(serverKey), 7, 10},
		{"browser", browser.AnonymousID, store.SourceOf(browserKey), 6, 9},
	} {
		t.Run(j.prefix, func(t *testing.T) {
			acct, user, old := j.prefix+"-acct", j.prefix+"-user", j.prefix+"-old"
			ids := []string{j.anon, user, old}
			// Every call arrived and was stored once (the node SDKs'
			// batches and the browser's calls are async: allow a moment).
			deadline := time.Now().Add(30 * time.Second)
			for count(`SELECT count(*) FROM events WHERE coalesce(user_id, anonymous_id) = ANY($1)`, ids) < j.all && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			require.Equal(t, j.all, count(`SELECT count(*) FROM events WHERE coalesce(user_id, anonymous_id) = ANY($1) AND source = $2`, ids, j.source))
			for _, typ := range []string{"identify", "group", "track", "page", "screen", "alias"} {
				require.Positive(t, count(`SELECT count(*) FROM events WHERE coalesce(user_id, anonymous_id) = ANY($1) AND type = $2`, ids, typ), "a %s arrived", typ)
			}
			// Every activity event counts for the right account, the
			// anonymous pre-signup page view and the aliased id's included.
			require.Equal(t, j.activity, count(`SELECT count(*) FROM events WHERE coalesce(user_id, anonymous_id) = ANY($1) AND type IN ('track','page','screen') AND account_id = $2`, ids, acct))
			require.Equal(t, j.activity, count(`SELECT coalesce(sum(n), 0)::int FROM account_daily WHERE account_id = $1`, acct))
			require.Equal(t, 15, count(`SELECT coalesce(sum((sums->>'records')::int), 0)::int FROM account_daily WHERE account_id = $1 AND name = 'Workflow Completed'`, acct))
			require.Equal(t, 2, count(`SELECT coalesce(sum(n), 0)::int FROM account_daily WHERE account_id = $1 AND kind = 'page' AND name = 'Pricing'`, acct))
			// One person, not three ids.
			require.Equal(t, 1, count(`SELECT count(DISTINCT user_id) FROM account_daily_users WHERE account_id = $1`, acct))
			require.Equal(t, 1, count(`SELECT count(*) FROM account_daily_users WHERE account_id = $1 AND user_id = $2`, acct, user))
			require.Equal(t, 2, count(`SELECT count(*) FROM identities WHERE person_id = $1 AND id = ANY($2)`, user, []string{j.anon, old}))
			require.Equal(t, 1, count(`SELECT count(*) FROM accounts WHERE account_id = $1 AND domain = $2 AND (traits->>'employees')::int = 120`, acct, j.prefix+".test"))
			require.Equal(t, 1, count(`SELECT count(*) FROM users WHERE user_id = $1 AND email = $2 AND account_id = $3`, user, j.prefix+"@acme.test", acct))
		})
	}
	require.Zero(t, count(`SELECT count(*) FROM rejected_messages`), "no SDK message was refused")
	require.Contains(t, logBuf.String(), `"route":"OPTIONS /v1/`, "the browser preflighted")
}

// lockedBuffer collects the server's log while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cleanEnv is the environment without the harness's own PQLBOT_ and
// database variables (an unknown PQLBOT_* variable stops pqlbot).
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PQLBOT_") && !strings.HasPrefix(kv, "SLACK_") && !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "HTTP_ADDR=") {
			out = append(out, kv)
		}
	}
	return out
}

func waitReady(t *testing.T, u string, exited chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("pqlbot exited before it was ready: %v", err)
		default:
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("pqlbot not ready at %s", u)
}
