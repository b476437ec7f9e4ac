package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakePQLBot stands in for pqlbot's health and ingest endpoints. With
// flaky set, it fails the first attempt of every batch with a 503.
type fakePQLBot struct {
	mu     sync.Mutex
	ids    map[string]int
	seen   map[string]bool // batch bodies already failed once
	flaky  bool
	probes int
}

func newFake(flaky bool) *fakePQLBot {
	return &fakePQLBot{ids: map[string]int{}, seen: map[string]bool{}, flaky: flaky}
}

func (f *fakePQLBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		_, _ = io.WriteString(w, `{"status":"ok"}`)
		return
	case "/v1/batch":
	default:
		http.NotFound(w, r)
		return
	}
	if user, _, _ := r.BasicAuth(); user != "k1" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var batch struct {
		Batch []struct {
			MessageID string `json:"messageId"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(body, &batch); err != nil || len(batch.Batch) == 0 {
		f.mu.Lock()
		f.probes++
		f.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.flaky && !f.seen[string(body)] {
		f.seen[string(body)] = true
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	for _, m := range batch.Batch {
		f.ids[m.MessageID]++
	}
	_, _ = io.WriteString(w, `{"success":true}`)
}

func TestRun(t *testing.T) {
	for _, flaky := range []bool{false, true} {
		t.Run(map[bool]string{false: "steady", true: "retries a 503"}[flaky], func(t *testing.T) {
			fake := newFake(flaky)
			srv := httptest.NewServer(fake)
			defer srv.Close()
			var out, errOut bytes.Buffer
			args := []string{"-url", srv.URL + "/", "-write-key", "k1", "-accounts", "12", "-now", "2026-11-20T15:00:00Z", "-database="}
			require.NoError(t, run(context.Background(), args, &out, &errOut), errOut.String())

			fake.mu.Lock()
			n := len(fake.ids)
			for id, c := range fake.ids {
				require.Equal(t, 1, c, "%s delivered %d times", id, c)
			}
			require.Equal(t, 1, fake.probes, "one preflight probe")
			fake.mu.Unlock()
			require.Positive(t, n)
			text := out.String()
			require.Contains(t, text, "Replayed ")
			require.Contains(t, text, " accepted, 0 failed")
			for _, kind := range []string{"hand_raiser", "strong_trial", "weak_trial", "personal_email", "tiny_company", "support_heavy", "paid_customer", "dormant"} {
				require.Contains(t, text, kind)
			}
			require.Contains(t, text, "@gmail.com", "personal accounts are looked up by email")
		})
	}
}

func TestRunFailsFast(t *testing.T) {
	fake := httptest.NewServer(newFake(false))
	defer fake.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown write key", []string{"-url", fake.URL, "-write-key", "secret-nope"}, "rejected the write key"},
		{"nothing listening", []string{"-url", down.URL}, "is `make run` going?"},
		{"bad url", []string{"-url", "localhost:8080"}, "want http(s)://host[:port]"},
		{"bad now", []string{"-now", "yesterday"}, "want RFC 3339"},
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "secret-nope", "write keys are never echoed")
			require.Less(t, time.Since(start), 5*time.Second, "no retry loop on a hopeless setup")
		})
	}
	err := run(context.Background(), []string{"-h"}, io.Discard, io.Discard)
	require.Equal(t, flag.ErrHelp, err)
}

func TestSummaryIsDeterministic(t *testing.T) {
	// Same seed and now: same accounts in the summary, so the README's
	// example output can be reproduced.
	render := func() string {
		fake := httptest.NewServer(newFake(false))
		defer fake.Close()
		var out bytes.Buffer
		args := []string{"-url", fake.URL, "-write-key", "k1", "-accounts", "20", "-now", "2026-11-20T15:00:00Z"}
		require.NoError(t, run(context.Background(), args, &out, io.Discard))
		// Drop the timing.
		lines := strings.Split(out.String(), "\n")
		return strings.Join(lines[2:], "\n")
	}
	require.Equal(t, render(), render())
}
