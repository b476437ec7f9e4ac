package handlers

import (
	"net/http"
	"slices"
)

// CORS lets browsers send events (analytics.js) from the listed origins.
// A write key is public in a browser by design; which origins may use the
// ingest API from a page is the operator's choice, "*" allowing any.
type CORS struct {
	Origins []string
}

func (c *CORS) allowed(origin string) bool {
	return origin != "" && (slices.Contains(c.Origins, "*") || slices.Contains(c.Origins, origin))
}

// headers sets the response headers for an allowed origin. The origin is
// echoed (not "*") so credentials-mode requests work too, and Vary keeps
// caches from serving one origin's answer to another.
func (c *CORS) headers(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}

// Preflight answers OPTIONS for an ingest path: 204 with the methods and
// headers analytics.js uses, or 403 for an origin not listed.
func (c *CORS) Preflight() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if c == nil || !c.allowed(origin) {
			w.Header().Add("Vary", "Origin")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		c.headers(w, origin)
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}

// Wrap adds the CORS response headers to an ingest handler's answers.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	if c == nil || len(c.Origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); c.allowed(origin) {
			c.headers(w, origin)
		}
		next.ServeHTTP(w, r)
	})
}
