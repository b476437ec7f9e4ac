package slackfake

import "time"

// hangFor is how long a hanging handler waits at most; in practice it ends
// much earlier, when the client gives up or the server closes.
const hangFor = time.Hour

// Fault shapes the answer to one request. FailNext queues faults per method;
// each request to that method takes the next one. Build faults with the
// constructors below, or fill the fields for a combination.
type Fault struct {
	// Accept processes the request normally first (a chat.postMessage is
	// stored and gets its ts) and only then applies the rest of the fault, so
	// the client never learns the outcome: the crash window between Slack
	// accepting a post and the caller saving its ts.
	Accept bool
	// Delay holds the answer back. A client that gives up first sees a
	// timeout; otherwise Status or Error follow, or the normal answer when
	// neither is set (a slow but successful call).
	Delay time.Duration
	// Hang never answers: the handler waits until the client gives up or the
	// server closes.
	Hang bool
	// Status is the HTTP status to answer (429, 500, 503...). Slack sends an
	// HTML body with 5xx answers, and so does the fake.
	Status int
	// RetryAfter is sent as the Retry-After header (whole seconds, rounded
	// up) when Status is 429. Zero leaves the header out, which slack-go
	// reports as a plain status error rather than a *slack.RateLimitedError.
	RetryAfter time.Duration
	// Error answers {"ok":false,"error":Error} with HTTP 200.
	Error string
}

// RateLimited answers HTTP 429 with Retry-After set to after.
func RateLimited(after time.Duration) Fault {
	return Fault{Status: 429, RetryAfter: after}
}

// ServerError answers the HTTP status code (500, 502, 503...) without
// processing the request.
func ServerError(code int) Fault { return Fault{Status: code} }

// SlackError answers {"ok":false,"error":code}, e.g. "channel_not_found".
func SlackError(code string) Fault { return Fault{Error: code} }

// Slow answers normally after d, or not at all if the client gives up first.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// Timeout never answers and does not process the request: the client's
// deadline is what ends the call.
func Timeout() Fault { return Fault{Hang: true} }

// AcceptThenFail stores the request's effect (a posted message) and then
// answers HTTP 500, as if the process had died after Slack accepted the
// post but before the answer was read.
func AcceptThenFail() Fault { return Fault{Accept: true, Status: 500} }

// AcceptThenHang stores the request's effect and then never answers, so the
// client times out on a post that did happen.
func AcceptThenHang() Fault { return Fault{Accept: true, Hang: true} }

// decided reports whether the fault answers with something other than the
// normal response, i.e. whether it is more than a delay.
func (f Fault) decided() bool { return f.Hang || f.Status != 0 || f.Error != "" }
