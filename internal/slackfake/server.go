// Package slackfake is a Slack Web API stand-in for tests: an httptest
// server that speaks the methods pqlbot uses the way slack-go sends them,
// records every call, keeps the messages it was sent, and fails on demand.
//
// slack-go's own slacktest does not serve chat.update, views.publish or
// conversations.history, answers whole-second (non-unique) timestamps and only
// exposes posted messages over its RTM websocket, so it cannot test delivery
// that must be exactly once. This fake answers unique "sec.usec" timestamps
// per channel, stores message blocks and metadata so conversations.history
// can find a post by its metadata after a crash, and injects the failures
// delivery has to survive: 429 with Retry-After, 5xx, timeouts, ok:false
// errors, and a post that is accepted but never acknowledged.
//
// Served under APIURL(): auth.test, chat.postMessage, chat.update,
// chat.postEphemeral, chat.getPermalink, conversations.list,
// conversations.info, conversations.history, conversations.replies,
// views.publish, users.info. ResponseURL gives URLs that stand in for
// interaction response_urls. Any other method answers unknown_method.
//
// Channels must be declared with AddChannel and are addressed by id only, as
// pqlbot resolves names itself: a name where an id belongs is
// channel_not_found, a channel the bot is not in is not_in_channel.
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// The identity the fake answers auth.test with; posted messages carry it.
const (
	TeamID    = "T0PQLFAKE"
	BotUserID = "U0PQLBOT0"
	BotID     = "B0PQLBOT0"
)

// Channel is a conversation the fake knows. The zero value of the flags is
// the common case: a public channel the bot is a member of.
type Channel struct {
	ID        string
	Name      string // without '#'
	Private   bool
	Archived  bool
	NotMember bool // the bot is not in it: posts and history answer not_in_channel
}

// User is a workspace member users.info answers for.
type User struct {
	ID          string
	Name        string // the handle
	RealName    string
	DisplayName string
	IsBot       bool
}

// Message is a message the fake holds: posted through chat.postMessage (and
// possibly changed by chat.update) or seeded with AddMessage.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // empty for a top-level message
	// Broadcast is a thread reply sent with reply_broadcast: it shows in
	// the channel too.
	Broadcast bool
	User      string // the bot for posts
	Text      string
	// Blocks is the blocks JSON as sent; nil when the message has none.
	Blocks json.RawMessage
	// Metadata is the message metadata as sent; nil when none.
	Metadata *slack.SlackMetadata
	// Updates counts the chat.update calls that changed the message.
	Updates int
}

// DecodeBlocks parses the message's blocks with slack-go's types.
func (m Message) DecodeBlocks() (slack.Blocks, error) {
	var b slack.Blocks
	if len(m.Blocks) == 0 {
		return b, nil
	}
	if err := json.Unmarshal(m.Blocks, &b); err != nil {
		return b, fmt.Errorf("decode blocks of %s/%s: %w", m.Channel, m.TS, err)
	}
	return b, nil
}

// Ephemeral is a message sent with chat.postEphemeral.
type Ephemeral struct {
	Channel string
	User    string
	TS      string
	Text    string
	Blocks  json.RawMessage
}

// Call is one request the fake received.
type Call struct {
	// Method is the Web API method ("chat.postMessage"), or "response_url"
	// for posts to a ResponseURL.
	Method string
	// Params holds the form fields or query parameters. For a ResponseURL it
	// holds "response_id".
	Params url.Values
	// JSON is the request body when it was sent as JSON (views.publish,
	// response_url posts).
	JSON json.RawMessage
	// Token is the token the call carried, from the form or the
	// Authorization header.
	Token string
	// At is when the request arrived (wall clock, whatever SetClock says).
	At time.Time
	// Status is the HTTP status answered; 0 when the fake never answered
	// (a hang or a client that gave up).
	Status int
	// Error is the ok:false error answered, if any.
	Error string
	// Faulted reports whether an injected Fault shaped the answer.
	Faulted bool
}

// Server is the fake Slack Web API. Its methods are safe for concurrent use.
type Server struct {
	t       testing.TB
	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu         sync.Mutex
	now        func() time.Time
	token      string
	pageSize   int
	channels   []*Channel
	users      map[string]User
	messages   map[string][]*Message // by channel, oldest first
	lastTS     map[string]int64      // by channel, microseconds
	ephemerals map[string][]Ephemeral
	views      map[string]json.RawMessage
	viewSeq    int
	faults     map[string][]Fault
	calls      []Call
	changed    chan struct{} // closed and replaced whenever calls grow
}

// New starts a fake on a local port and closes it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:          t,
		closing:    make(chan struct{}),
		now:        time.Now,
		users:      map[string]User{},
		messages:   map[string][]*Message{},
		lastTS:     map[string]int64{},
		ephemerals: map[string][]Ephemeral{},
		views:      map[string]json.RawMessage{},
		faults:     map[string][]Fault{},
		changed:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("POST /response/{id}", s.serveResponseURL)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Close stops the server. Requests held by a Delay or Hang are released
// first, so Close never waits for them. It is called at test cleanup.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// URL is the server's base URL, e.g. "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the base URL to give slack-go (slack.OptionAPIURL) or
// SLACK_API_URL: it ends in "/api/".
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// ResponseURL returns a URL that stands in for an interaction's response_url.
// Posts to it are recorded as "response_url" calls with Params
// "response_id" = id and the JSON body, and are subject to FailNext faults
// for "response_url".
func (s *Server) ResponseURL(id string) string {
	return s.srv.URL + "/response/" + url.PathEscape(id)
}

// Client returns a slack-go client pointed at the fake with a bot token.
func (s *Server) Client() *slack.Client {
	return slack.New("xoxb-pqlbot-fake", slack.OptionAPIURL(s.APIURL()))
}

// SetToken makes the fake answer invalid_auth to calls without exactly this
// token. By default any non-empty token is accepted.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetClock sets the clock that message timestamps and Call.At come from
// (time.Now by default).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetPageSize caps the page size of conversations.list, history and replies
// below what the client asks for, to exercise cursor pagination.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// AddChannel declares a channel (or replaces the one with the same id).
func (s *Server) AddChannel(ch Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := ch
	for i, old := range s.channels {
		if old.ID == ch.ID {
			s.channels[i] = &c
			return
		}
	}
	s.channels = append(s.channels, &c)
}

// SetMember changes whether the bot is in a channel, as an operator
// inviting it (or removing it) would.
func (s *Server) SetMember(channelID string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channelLocked(channelID); c != nil {
		c.NotMember = !member
	}
}

// AddUser declares a user for users.info.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddMessage seeds history, e.g. older messages from other apps. An empty
// TS gets the next timestamp; an empty User is another user's message.
func (s *Server) AddMessage(m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.TS == "" {
		m.TS = s.nextTSLocked(m.Channel)
	} else if us, ok := parseTS(m.TS); ok && us > s.lastTS[m.Channel] {
		s.lastTS[m.Channel] = us
	}
	if m.User == "" {
		m.User = "U0SOMEONE"
	}
	c := m
	s.messages[m.Channel] = append(s.messages[m.Channel], &c)
	slices.SortStableFunc(s.messages[m.Channel], func(a, b *Message) int {
		x, _ := parseTS(a.TS)
		y, _ := parseTS(b.TS)
		return compareInt(x, y)
	})
	return c
}

// FailNext makes the next n requests to method answer with f. Faults queue
// up in order behind those already pending for the method.
func (s *Server) FailNext(method string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[method] = append(s.faults[method], f)
	}
}

// Calls returns the calls to method in arrival order; an empty method
// returns all calls.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

// WaitFor waits until at least n calls to method have been handled and
// returns them, failing the test if that takes longer than timeout. A call
// counts once its effect is stored (the message of a chat.postMessage is in
// Messages), or once the fault decided not to process it. Call it from the
// test goroutine.
func (s *Server) WaitFor(method string, n int, timeout time.Duration) []Call {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		calls := s.callsLocked(method)
		changed := s.changed
		s.mu.Unlock()
		if len(calls) >= n {
			return calls
		}
		select {
		case <-changed:
		case <-deadline.C:
			s.t.Fatalf("slackfake: %d %s calls after %s, want %d", len(calls), method, timeout, n)
			return nil
		}
	}
}

// Messages returns the messages of a channel, thread replies included,
// oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channelID]))
	for _, m := range s.messages[channelID] {
		out = append(out, *m)
	}
	return out
}

// Message returns one message by channel and ts.
func (s *Server) Message(channelID, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.messageLocked(channelID, ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Ephemerals returns the ephemeral messages sent in a channel, oldest first.
func (s *Server) Ephemerals(channelID string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ephemerals[channelID])
}

// HomeView returns the view last published to a user's App Home.
func (s *Server) HomeView(userID string) (json.RawMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[userID]
	return v, ok
}

func (s *Server) callsLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) popFault(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[method]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[method] = q[1:]
	return q[0], true
}

func (s *Server) channelLocked(id string) *Channel {
	for _, c := range s.channels {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func (s *Server) messageLocked(channelID, ts string) *Message {
	for _, m := range s.messages[channelID] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// nextTSLocked answers a "sec.usec" timestamp from the clock, unique and
// increasing within the channel, as Slack's are.
func (s *Server) nextTSLocked(channelID string) string {
	us := s.now().UnixMicro()
	if last := s.lastTS[channelID]; us <= last {
		us = last + 1
	}
	s.lastTS[channelID] = us
	return formatTS(us)
}

func formatTS(us int64) string {
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

// parseTS reads a Slack timestamp ("1700000000.123456", or whole seconds)
// into microseconds.
func parseTS(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return 0, false
	}
	var f int64
	if frac != "" {
		if len(frac) > 6 {
			return 0, false
		}
		f, err = strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err != nil || f < 0 {
			return 0, false
		}
	}
	return s*1_000_000 + f, true
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
