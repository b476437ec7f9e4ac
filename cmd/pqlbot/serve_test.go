package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/config"
)

func serveConfig(t *testing.T, addr, dbURL string) *config.Config {
	t.Helper()
	cfg, err := config.LoadFrom(context.Background(), config.ModeServe, []string{
		"DATABASE_URL=" + dbURL, "HTTP_ADDR=" + addr, "PQLBOT_WRITE_KEYS=k",
	})
	require.NoError(t, err)
	return cfg
}

// serve binds its port before it touches the database: a port in use
// fails at once, naming the address, however slow the database would be.
func TestServeBindsThePortFirst(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	// A database that accepts connections and never answers: reaching it
	// first would hang until the test's deadline.
	db := silentServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err = serve(ctx, serveConfig(t, busy.Addr().String(), "postgres://u@"+db+"/x?connect_timeout=30"), slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "listen "+busy.Addr().String())
	require.Less(t, time.Since(start), 5*time.Second)
}

// While serve connects and migrates, every path answers 503 "starting"
// (probes and load balancers wait) rather than leaving connections hanging.
func TestServeAnswersStartingWhileConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	db := silentServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, serveConfig(t, addr, "postgres://u@"+db+"/x?connect_timeout=30"), slog.New(slog.DiscardHandler))
	}()
	var status int
	var body string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		status, body = resp.StatusCode, string(b)
		return true
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.True(t, strings.Contains(body, `"status":"starting"`), body)
	cancel()
	select {
	case err := <-done:
		require.Error(t, err, "start-up cut short")
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop when cancelled during start-up")
	}
	// The listener is closed with it.
	_, err = net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err)
}

// silentServer accepts TCP connections and never writes a byte.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return ln.Addr().String()
}
