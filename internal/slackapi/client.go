// Package slackapi is pqlbot's Slack Web API client: a thin layer over
// slack-go that gives every call a deadline, resolves and caches channel
// names, finds posted messages again by their metadata, and classifies
// errors so the outbox dispatcher knows whether and when to try again.
//
// # Retries
//
// The client never retries by itself (slack-go's OptionRetry stays off):
// a retry that sleeps inside a call would hold up the 3-second interaction
// path or a dispatcher worker serving other channels. Every call returns
// at once and Classify (or NextAttempt) tells the caller what to do:
//
//   - HTTP 429 (*slack.RateLimitedError): retry after Retry-After, or after
//     DefaultRateLimitWait when Slack sent none. Rate limits are per method
//     and channel, so the caller should delay that channel's work only.
//   - HTTP 5xx, timeouts, network errors, unreadable answers, and the ok:false
//     errors Slack documents as transient (internal_error, fatal_error,
//     service_unavailable, request_timeout): retry with Backoff. A post that
//     failed this way may still have been accepted by Slack: look it up with
//     FindByMetadata before posting it again.
//   - channel_not_found, not_in_channel, a channel name that does not
//     resolve (*UnknownChannelError), and token or scope problems
//     (invalid_auth, token_revoked, missing_scope, ...): retry after
//     OperatorWait. An operator can create the channel, invite the bot or
//     re-install the app, so these are loud, logged and retried, never
//     dropped.
//   - ok:false errors that cannot succeed by retrying (invalid_blocks,
//     msg_too_long, msg_blocks_too_long, is_archived, restricted_action,
//     ...): no retry; the reason is the Slack error code, to be stored with
//     the failed job.
//   - any other ok:false error: retry with Backoff, at most
//     MaxUnknownAttempts times (NextAttempt enforces the bound).
//
// OnCall (WithOnCall) observes every call as ok, error or rate_limited, for
// the pqlbot_slack_api_calls_total metric.
package slackapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Defaults for the client's timeouts and caches.
const (
	// DefaultCallTimeout bounds each Web API call whose context has no
	// earlier deadline.
	DefaultCallTimeout = 10 * time.Second
	// DefaultChannelCacheTTL is how long resolved channel names are trusted.
	DefaultChannelCacheTTL = 10 * time.Minute
	// userCacheTTL is how long display names are trusted; people rarely
	// rename themselves and a stale name is harmless.
	userCacheTTL = time.Hour
	// missRefreshInterval limits how often an unknown channel name makes the
	// client list all channels again, so a misconfigured route cannot turn
	// every dispatch into a conversations.list sweep.
	missRefreshInterval = 30 * time.Second
)

// Outcomes passed to the OnCall observer; they match the "outcome" label
// values of pqlbot_slack_api_calls_total.
const (
	OutcomeOK          = "ok"
	OutcomeError       = "error"
	OutcomeRateLimited = "rate_limited"
)

// Client calls the Slack Web API for one bot token. It is safe for
// concurrent use.
type Client struct {
	api         *slack.Client
	http        *http.Client
	callTimeout time.Duration
	channelTTL  time.Duration
	onCall      func(method, outcome string)
	now         func() time.Time

	chanMu     sync.Mutex
	channels   map[string]string // lower-case name → id
	channelsAt time.Time         // when channels was listed; zero before the first list
	refreshMu  sync.Mutex        // one conversations.list sweep at a time

	userMu sync.Mutex
	users  map[string]cachedUser
}

type cachedUser struct {
	name string
	at   time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client used for Web API calls and
// response_url posts. It should have its own timeouts; New's default does.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithCallTimeout sets the deadline given to each call whose context has no
// earlier one (DefaultCallTimeout otherwise).
func WithCallTimeout(d time.Duration) Option { return func(c *Client) { c.callTimeout = d } }

// WithChannelCacheTTL sets how long resolved channel names are cached
// (DefaultChannelCacheTTL otherwise).
func WithChannelCacheTTL(d time.Duration) Option { return func(c *Client) { c.channelTTL = d } }

// WithOnCall registers an observer called after every Web API call with the
// method ("chat.postMessage", or "response_url" for PostWebhook) and the
// outcome: OutcomeOK, OutcomeError or OutcomeRateLimited.
func WithOnCall(fn func(method, outcome string)) Option { return func(c *Client) { c.onCall = fn } }

// WithClock sets the clock for cache expiry (time.Now otherwise).
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New builds a client for the bot token against apiURL (SLACK_API_URL,
// ending in "/"; https://slack.com/api/ in production).
func New(token, apiURL string, opts ...Option) *Client {
	c := &Client{
		callTimeout: DefaultCallTimeout,
		channelTTL:  DefaultChannelCacheTTL,
		now:         time.Now,
		users:       map[string]cachedUser{},
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	// No slack.OptionRetry: see the package comment.
	c.api = slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(c.http))
	return c
}

// defaultHTTPClient bounds every phase of a request. The overall Timeout is
// only a backstop: calls carry shorter context deadlines.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 20 * time.Second,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

// API returns the underlying slack-go client, for wiring that needs one
// (socketmode). Web API calls should go through Client's methods so they
// carry deadlines and are observed.
func (c *Client) API() *slack.Client { return c.api }

// AuthTest checks the token and returns the bot's identity.
func (c *Client) AuthTest(ctx context.Context) (*slack.AuthTestResponse, error) {
	var res *slack.AuthTestResponse
	err := c.do(ctx, "auth.test", func(ctx context.Context) (err error) {
		res, err = c.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("slack auth.test: %w", err)
	}
	return res, nil
}

// do runs one Web API call under the call deadline and reports its outcome.
func (c *Client) do(ctx context.Context, method string, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	err := call(ctx)
	c.observe(method, err)
	return err
}

func (c *Client) observe(method string, err error) {
	if c.onCall == nil {
		return
	}
	outcome := OutcomeOK
	switch {
	case err == nil:
	case ClassOf(err) == ClassRateLimited:
		outcome = OutcomeRateLimited
	default:
		outcome = OutcomeError
	}
	c.onCall(method, outcome)
}
