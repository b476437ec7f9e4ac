package slackfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Sign returns the headers Slack adds to a request it sends to an app:
// X-Slack-Request-Timestamp (Unix seconds of ts) and
// X-Slack-Signature = "v0=" + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}")).
// Tests use it to build signed /slack/* requests, including stale or
// wrongly signed ones (sign with another secret or time).
func Sign(secret string, ts time.Time, body []byte) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}
