package slackapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// Retry policy; see the package comment.
const (
	// DefaultRateLimitWait is the wait after a 429 that carried no usable
	// Retry-After.
	DefaultRateLimitWait = 30 * time.Second
	// OperatorWait is the wait after an error an operator has to fix
	// (channel missing, bot not invited).
	OperatorWait = 5 * time.Minute
	// MaxBackoff caps Backoff.
	MaxBackoff = 5 * time.Minute
	// MaxUnknownAttempts bounds the attempts NextAttempt allows for an
	// ok:false error Slack does not document.
	MaxUnknownAttempts = 5
	// backoffBase is the first retry's nominal wait.
	backoffBase = 2 * time.Second
)

// Class is the kind of failure an error is, which decides the retry.
type Class int

// The classes of Classify's policy.
const (
	// ClassNone is a nil error.
	ClassNone Class = iota
	// ClassRateLimited is an HTTP 429: wait the returned delay, for that
	// channel only.
	ClassRateLimited
	// ClassTransient is a 5xx, timeout, network or similar failure: retry
	// with Backoff. The request may have taken effect.
	ClassTransient
	// ClassOperator needs a person: a missing channel, a channel the bot is
	// not in, a revoked token or a missing scope. Retry after OperatorWait
	// and tell someone.
	ClassOperator
	// ClassUnknown is an ok:false error outside the known lists: retry with
	// Backoff a bounded number of times.
	ClassUnknown
	// ClassPermanent cannot succeed by retrying: fail with the reason.
	ClassPermanent
)

// String names the class for logs.
func (k Class) String() string {
	switch k {
	case ClassNone:
		return "none"
	case ClassRateLimited:
		return "rate_limited"
	case ClassTransient:
		return "transient"
	case ClassOperator:
		return "operator"
	case ClassUnknown:
		return "unknown"
	case ClassPermanent:
		return "permanent"
	}
	return "class(" + strconv.Itoa(int(k)) + ")"
}

// permanentCodes are ok:false errors that no retry can fix.
var permanentCodes = map[string]bool{
	// The message itself is wrong.
	"invalid_blocks": true, "invalid_blocks_format": true, "msg_too_long": true,
	"msg_blocks_too_long": true, "no_text": true, "too_many_attachments": true,
	"invalid_metadata_format": true, "invalid_metadata_schema": true, "metadata_too_large": true,
	"metadata_must_be_sent_from_app": true, "invalid_arguments": true, "invalid_arg_name": true,
	"invalid_ts_oldest": true, "invalid_ts_latest": true, "invalid_cursor": true, "invalid_limit": true,
	// The target is gone or not ours.
	"is_archived": true, "message_not_found": true, "cant_update_message": true,
	"edit_window_closed": true, "thread_not_found": true, "user_not_found": true,
	"user_not_in_channel": true, "not_enabled": true,
	// The workspace forbids it in that channel.
	"restricted_action": true, "restricted_action_read_only_channel": true,
	"restricted_action_thread_only_channel": true, "restricted_action_non_threadable_channel": true,
}

// transientCodes are ok:false errors Slack documents as temporary.
var transientCodes = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
}

// operatorCodes are ok:false errors an operator can fix.
// operatorCodes need a person: create the channel, invite the bot, fix or
// re-install the token or its scopes. Work waits for them instead of being
// dropped, so alerts go out once the operator acts.
var operatorCodes = map[string]bool{
	"channel_not_found": true, "not_in_channel": true,
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "missing_scope": true, "no_permission": true, "not_allowed_token_type": true,
	"ekm_access_denied": true, "team_access_not_granted": true, "access_denied": true,
}

// Classify tells the caller whether err is worth retrying, how long to wait
// first (0: the caller picks, normally Backoff(attempt)), and a short reason
// to log and store: the Slack error code for ok:false errors, "rate_limited",
// "http_503", "timeout", "network", "bad_response", "canceled". A nil error
// returns (false, 0, "").
func Classify(err error) (retry bool, after time.Duration, reason string) {
	k, after, reason := classify(err)
	switch k {
	case ClassNone, ClassPermanent:
		return false, 0, reason
	}
	return true, after, reason
}

// ClassOf returns the class of err under the same policy as Classify.
func ClassOf(err error) Class {
	k, _, _ := classify(err)
	return k
}

// NextAttempt applies the whole policy after attempt (1 for the first
// failure) failed with err: whether to try again, how long to wait (the
// Retry-After, OperatorWait, or Backoff(attempt)), and the reason. Unknown
// ok:false errors stop after MaxUnknownAttempts; every other retryable class
// retries without bound, since each one either ends or needs an operator
// and must never lose an alert.
func NextAttempt(err error, attempt int) (retry bool, wait time.Duration, reason string) {
	k, after, reason := classify(err)
	switch k {
	case ClassNone, ClassPermanent:
		return false, 0, reason
	case ClassUnknown:
		if attempt >= MaxUnknownAttempts {
			return false, 0, reason
		}
	}
	if after == 0 {
		after = Backoff(attempt)
	}
	return true, after, reason
}

// Backoff returns the wait before retry number attempt (1 for the first
// retry): 2 s doubled per attempt, capped at MaxBackoff, with "equal
// jitter" (between half and all of it) so that workers that failed together
// do not retry together.
func Backoff(attempt int) time.Duration {
	d := MaxBackoff
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 16 {
		d = min(backoffBase<<(attempt-1), MaxBackoff)
	}
	half := d / 2
	return half + rand.N(half+1)
}

func classify(err error) (Class, time.Duration, string) {
	if err == nil {
		return ClassNone, 0, ""
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		after := rl.RetryAfter
		if after <= 0 {
			after = DefaultRateLimitWait
		}
		return ClassRateLimited, after, "rate_limited"
	}
	var unknown *UnknownChannelError
	if errors.As(err, &unknown) {
		return ClassOperator, OperatorWait, "channel_not_found"
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch code := se.Err; {
		case code == "ratelimited":
			return ClassRateLimited, DefaultRateLimitWait, "rate_limited"
		case operatorCodes[code]:
			return ClassOperator, OperatorWait, code
		case permanentCodes[code]:
			return ClassPermanent, 0, code
		case transientCodes[code]:
			return ClassTransient, 0, code
		default:
			return ClassUnknown, 0, code
		}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		reason := "http_" + strconv.Itoa(sc.Code)
		switch {
		case sc.Code == http.StatusTooManyRequests:
			return ClassRateLimited, DefaultRateLimitWait, "rate_limited"
		case sc.Code >= 500, sc.Code == http.StatusRequestTimeout:
			return ClassTransient, 0, reason
		default:
			// 4xx: a used-up or expired response_url (404), a bad request.
			return ClassPermanent, 0, reason
		}
	}
	if errors.Is(err, slack.ErrParametersMissing) {
		return ClassPermanent, 0, "invalid_arguments"
	}
	if errors.Is(err, context.Canceled) {
		return ClassTransient, 0, "canceled"
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ClassTransient, 0, "timeout"
	}
	if ne != nil {
		return ClassTransient, 0, "network"
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &syn) || errors.As(err, &typ) {
		// A cut-off or garbled answer (a proxy page, a dropped connection).
		return ClassTransient, 0, "bad_response"
	}
	if errors.Is(err, ErrHistoryTooLong) {
		return ClassUnknown, 0, "history_too_long"
	}
	return ClassUnknown, 0, "unexpected_error"
}

// NextAttempt is the package policy as a method, so a *Client is all a
// dispatcher needs.
func (c *Client) NextAttempt(err error, attempt int) (retry bool, wait time.Duration, reason string) {
	return NextAttempt(err, attempt)
}
