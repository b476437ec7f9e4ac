package handlers

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
const (
	docSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	docTS     = "1531420618"
	docBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSlackSignature(t *testing.T) {
	at := time.Unix(1531420618, 0)
	hdr := func(ts, sig string) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", sig)
		return h
	}
	cases := []struct {
		name   string
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"slack's documented example", docSecret, hdr(docTS, docSig), docBody, at, nil},
		{"wrong secret", "not-the-secret", hdr(docTS, docSig), docBody, at, ErrSlackSignature},
		{"modified body", docSecret, hdr(docTS, docSig), docBody + "&x=1", at, ErrSlackSignature},
		{"stale timestamp", docSecret, hdr(docTS, docSig), docBody, at.Add(5*time.Minute + time.Second), ErrSlackStale},
		{"future timestamp", docSecret, hdr(docTS, docSig), docBody, at.Add(-6 * time.Minute), ErrSlackStale},
		{"inside the window", docSecret, hdr(docTS, docSig), docBody, at.Add(4 * time.Minute), nil},
		{"missing headers", docSecret, http.Header{}, docBody, at, ErrSlackSignature},
		{"not v0", docSecret, hdr(docTS, "v1=abc"), docBody, at, ErrSlackSignature},
		{"not hex", docSecret, hdr(docTS, "v0=zz"), docBody, at, ErrSlackSignature},
		{"no secret configured", "", hdr(docTS, docSig), docBody, at, ErrSlackSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := &SlackVerifier{Secret: tc.secret, Now: func() time.Time { return tc.now }}
			err := v.Check(tc.h, []byte(tc.body))
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
	// SignSlack reproduces Slack's signature.
	require.Equal(t, docSig, SignSlack(docSecret, at, []byte(docBody)).Get("X-Slack-Signature"))
}
