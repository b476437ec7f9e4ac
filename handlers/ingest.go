package handlers

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/events"
)

// Submitter commits messages durably and returns only once they are.
type Submitter interface {
	Submit(ctx context.Context, source string, msgs []events.Message) error
}

// IngestObserver receives ingest outcomes for metrics; reasons are short
// stable codes (unauthorized, too_large, malformed, invalid, unavailable).
type IngestObserver interface {
	Ingested(typ string, n int)
	Rejected(reason string)
}

// ErrUnavailable marks a submit that failed because the process is shutting
// down; the SDK should retry elsewhere.
var ErrUnavailable = errors.New("shutting down")

// ErrRejected marks a submit whose data the database refused: a 400, since
// a retry cannot succeed (Segment SDKs retry anything else).
var ErrRejected = errors.New("rejected")

// Ingest serves the Segment HTTP Tracking API.
type Ingest struct {
	Log       *slog.Logger
	Submitter Submitter
	// Keys maps each accepted write key to the source stored with its
	// events.
	Keys     map[string]string
	Observer IngestObserver
	Now      func() time.Time
}

// Handler serves /v1/{typ}.
func (in *Ingest) Handler(typ string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(events.MaxMessageBytes)
		if typ == "batch" {
			limit = events.MaxBatchBytes
		}
		now := time.Now
		if in.Now != nil {
			now = in.Now
		}
		received := now()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit+1))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				in.reject(w, "too_large", http.StatusRequestEntityTooLarge, tooLarge(typ))
				return
			}
			in.reject(w, "invalid", http.StatusBadRequest, "body: could not be read")
			return
		}
		if int64(len(body)) > limit {
			in.reject(w, "too_large", http.StatusRequestEntityTooLarge, tooLarge(typ))
			return
		}
		key, _, ok := r.BasicAuth()
		if !ok || key == "" {
			key = events.PeekWriteKey(body)
		}
		source, ok := in.lookup(key)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="pqlbot"`)
			msg := "writeKey: unknown write key"
			if key == "" {
				msg = "writeKey: missing (send it as the HTTP Basic user name or as writeKey in the body)"
			}
			in.reject(w, "unauthorized", http.StatusUnauthorized, msg)
			return
		}
		var p *events.Payload
		if typ == "batch" {
			p, err = events.DecodeBatch(body, received)
		} else {
			p, err = events.DecodeSingle(typ, body, received)
		}
		if err != nil {
			var e *events.Error
			if errors.As(err, &e) {
				reason := "invalid"
				switch {
				case e.Status == http.StatusRequestEntityTooLarge:
					reason = "too_large"
				case strings.Contains(e.Msg, "malformed JSON"):
					reason = "malformed"
				}
				in.reject(w, reason, e.Status, e.Msg)
				return
			}
			in.reject(w, "invalid", http.StatusBadRequest, err.Error())
			return
		}
		if err := in.Submitter.Submit(r.Context(), source, p.Messages); err != nil {
			if errors.Is(err, ErrRejected) {
				in.Log.Warn("ingest rejected by the database", "err", err, "messages", len(p.Messages))
				in.reject(w, "invalid", http.StatusBadRequest, "body: a value could not be stored (check for characters PostgreSQL refuses)")
				return
			}
			status, msg := http.StatusInternalServerError, "could not store the events; retry"
			if errors.Is(err, ErrUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				status, msg = http.StatusServiceUnavailable, "temporarily unavailable; retry"
			}
			in.Log.Error("ingest failed", "err", err, "messages", len(p.Messages))
			in.reject(w, "unavailable", status, msg)
			return
		}
		if in.Observer != nil {
			for _, m := range p.Messages {
				in.Observer.Ingested(m.Type, 1)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}

func (in *Ingest) lookup(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	found, source := 0, ""
	for k, s := range in.Keys {
		// Compare against every key in constant time so timing does not
		// reveal a prefix of a valid key.
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			found, source = 1, s
		}
	}
	return source, found == 1
}

func (in *Ingest) reject(w http.ResponseWriter, reason string, status int, msg string) {
	if in.Observer != nil {
		in.Observer.Rejected(reason)
	}
	writeJSON(w, status, map[string]any{"error": msg})
}

func tooLarge(typ string) string {
	if typ == "batch" {
		return "batch: body is over the 500 KB limit"
	}
	return "message: body is over the 32 KB limit"
}
