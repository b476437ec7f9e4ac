package main

import (
	"net/http"
	"net/http/pprof"
	"time"
)

// debugHandler serves net/http/pprof. It is mounted only on the separate
// PQLBOT_DEBUG_ADDR listener: profiles reveal code paths and can cost a
// core for their duration, so they must never be reachable through the
// service port that ingest and Slack use.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// newDebugServer is the operators' listener. A CPU profile or trace runs
// for as long as its seconds parameter asks, so there is no write timeout.
func newDebugServer(addr string) *http.Server {
	return &http.Server{Addr: addr, Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
}
