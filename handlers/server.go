// Package handlers is pqlbot's HTTP surface: Segment-compatible ingest,
// Slack endpoints and health. Handlers are thin: verify on the raw body,
// decode, make one service call, map the error, encode.
package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"

	"github.com/pqlbot/pqlbot/internal/metrics"
)

// Readiness is what /readyz asks.
type Readiness interface {
	Ready(ctx context.Context) error
}

// Middleware wraps a route's handler; route is the registered pattern.
type Middleware func(route string, h http.Handler) http.Handler

// Server holds the dependencies of every endpoint.
type Server struct {
	Log    *slog.Logger
	Ingest *Ingest
	// CORS lists the browser origins allowed on the ingest paths; nil
	// allows none (preflights are refused).
	CORS  *CORS
	Ready Readiness
	// Slack endpoints; nil ones answer 404.
	SlackCommands     http.Handler
	SlackInteractions http.Handler
	SlackEvents       http.Handler
	Metrics           http.Handler
	// Wrap instruments every route (metrics); nil means none.
	Wrap Middleware
}

// Routes returns the mux with every endpoint registered.
func (s *Server) Routes() http.Handler {
	mux := http.NewServeMux()
	wrap := s.Wrap
	if wrap == nil {
		wrap = func(_ string, h http.Handler) http.Handler { return h }
	}
	handle := func(pattern string, h http.Handler) {
		if h == nil {
			return
		}
		if s.Log != nil && pattern != "GET /healthz" && pattern != "GET /readyz" && pattern != "GET /metrics" {
			h = requestLog(s.Log, pattern, h)
		}
		mux.Handle(pattern, wrap(pattern, h))
	}
	if s.Ingest != nil {
		for _, path := range slices.Sorted(maps.Keys(ingestPaths)) {
			handle("POST /v1/"+path, s.CORS.Wrap(s.Ingest.Handler(ingestPaths[path])))
			handle("OPTIONS /v1/"+path, s.CORS.Preflight())
		}
	}
	handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	}))
	handle("GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Ready.Ready(r.Context()); err != nil {
			s.Log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	}))
	handle("POST /slack/commands", s.SlackCommands)
	handle("POST /slack/interactions", s.SlackInteractions)
	handle("POST /slack/events", s.SlackEvents)
	handle("GET /metrics", s.Metrics)
	// Requests no endpoint serves (404, 405) are still observed, under one
	// bounded route label, so a misconfigured SDK or probe is visible.
	unmatched := wrap(metrics.RouteUnmatched, mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			unmatched.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
