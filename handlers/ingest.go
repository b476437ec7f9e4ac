package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/events"
)

// Submitter commits messages durably, with the invalid messages of the same
// request set aside in the quarantine, and returns only once both are.
type Submitter interface {
	Submit(ctx context.Context, source string, msgs []events.Message, rejects []events.Reject) error
}

// IngestObserver receives ingest outcomes for metrics. Rejected is called
// once per refused request (unauthorized, too_large, malformed, invalid,
// unavailable) and once per quarantined message (its events.Reason*).
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

// ingestPaths maps every ingest path to its message type ("batch" for a
// batch): Segment's names and analytics.js's one-letter short paths.
var ingestPaths = map[string]string{
	"track": events.TypeTrack, "identify": events.TypeIdentify, "group": events.TypeGroup,
	"page": events.TypePage, "screen": events.TypeScreen, "alias": events.TypeAlias, "batch": "batch",
	"t": events.TypeTrack, "i": events.TypeIdentify, "g": events.TypeGroup,
	"p": events.TypePage, "s": events.TypeScreen, "a": events.TypeAlias, "b": "batch",
}

// Handler serves /v1/{typ}. Every endpoint reads up to the batch limit so
// that a single message over 32 KB can still be kept whole in the
// quarantine.
func (in *Ingest) Handler(typ string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now
		if in.Now != nil {
			now = in.Now
		}
		received := now()
		body, err := events.ReadBody(http.MaxBytesReader(w, r.Body, events.MaxBatchBytes+1), r.Header.Get("Content-Encoding"), events.MaxBatchBytes)
		if err != nil {
			var mbe *http.MaxBytesError
			var e *events.Error
			switch {
			case errors.As(err, &mbe):
				in.reject(w, events.ReasonTooLarge, http.StatusRequestEntityTooLarge, "body: over the 4 MB limit")
			case errors.As(err, &e):
				in.reject(w, e.Reason, e.Status, e.Msg)
			default:
				in.reject(w, events.ReasonInvalid, http.StatusBadRequest, "body: could not be read")
			}
			return
		}
		decode := func() (*events.Payload, error) {
			if typ == "batch" {
				return events.DecodeBatch(body, received)
			}
			return events.DecodeSingle(typ, body, received)
		}
		var p *events.Payload
		decoded := false
		key := basicAuthUser(r.Header.Get("Authorization"))
		if key == "" {
			// The key is in the body (sendBeacon cannot set headers): take it
			// from the one decode the body gets. Nothing the decode found is
			// told before the key is checked; only a body refused whole needs
			// the key looked for on its own.
			p, err = decode()
			decoded = true
			if p != nil {
				key = p.WriteKey
			} else {
				key = events.PeekWriteKey(body)
			}
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
		if !decoded {
			p, err = decode()
		}
		if p == nil {
			// The request itself is wrong (not JSON, not the shape of its
			// endpoint): nothing to keep.
			var e *events.Error
			if errors.As(err, &e) {
				in.reject(w, e.Reason, e.Status, e.Msg)
				return
			}
			in.reject(w, events.ReasonInvalid, http.StatusBadRequest, err.Error())
			return
		}
		if serr := in.Submitter.Submit(r.Context(), source, p.Messages, p.Rejects); serr != nil {
			if errors.Is(serr, ErrRejected) {
				in.Log.Warn("ingest rejected by the database", "err", serr, "messages", len(p.Messages))
				in.reject(w, events.ReasonInvalid, http.StatusBadRequest, "body: a value could not be stored (check for characters PostgreSQL refuses); the message is kept in the quarantine")
				return
			}
			status, msg := http.StatusInternalServerError, "could not store the events; retry"
			if errors.Is(serr, ErrUnavailable) || errors.Is(serr, context.Canceled) || errors.Is(serr, context.DeadlineExceeded) {
				status, msg = http.StatusServiceUnavailable, "temporarily unavailable; retry"
			}
			in.Log.Error("ingest failed", "err", serr, "messages", len(p.Messages))
			in.reject(w, "unavailable", status, msg)
			return
		}
		if in.Observer != nil {
			for _, m := range p.Messages {
				in.Observer.Ingested(m.Type, 1)
			}
			for _, rj := range p.Rejects {
				in.Observer.Rejected(rj.Err.Reason)
			}
		}
		if err != nil {
			// A single call whose message is invalid: quarantined above,
			// and answered with what is wrong with it.
			var e *events.Error
			if errors.As(err, &e) {
				writeJSON(w, e.Status, map[string]any{"error": e.Msg})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}

// basicAuthUser is the user name of HTTP Basic credentials, the write key.
// Segment's docs allow "key" as well as "key:" inside the base64, which
// net/http's BasicAuth refuses without the colon.
func basicAuthUser(h string) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return ""
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return user
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
