// Package commands answers the /pql slash command and builds the manager's
// App Home: it parses the command text (slackui's grammar), asks the store
// for what the subcommand needs, computes the report figures and renders
// them with slackui. The HTTP handler and the Socket Mode adapter both call
// the same Service, so a command behaves the same whichever way it arrives.
//
// The Store it needs is declared here; *store.Store implements it. The
// figures (SLA shares, medians, p90s in business hours) are computed in Go
// from the rows the store returns, so the arithmetic is pure and tested
// without a database.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// Lookup errors the store returns.
var (
	// ErrAccountNotFound: no account matches a score lookup.
	ErrAccountNotFound = errors.New("account not found")
	// ErrNotScored: the account exists but the re-scorer has not scored
	// it yet.
	ErrNotScored = errors.New("account not scored yet")
)

// Limits on what one reply or view asks the store for.
const (
	// LatestEventsShown is how many of an account's latest events `score`
	// lists.
	LatestEventsShown = 5
	// HomeListLimit caps the breaches and unclaimed alerts the App Home
	// loads; the view shows the first rows and "+N more".
	HomeListLimit = 500
	// SLARowLimit caps the alerts one SLA report reads (a 90-day report of
	// a very busy workspace); the figures then cover the newest ones.
	SLARowLimit = 200_000
)

// Store is what the commands read. Every method is a read; none changes
// state.
type Store interface {
	// LookupAccount resolves a score target (domain, account id or user
	// email) to an account id, or ErrAccountNotFound.
	LookupAccount(ctx context.Context, query string) (string, error)
	// MatchAccounts finds accounts by name, case-insensitive: exact
	// matches first, then names starting with name, then names containing
	// it; at most limit, each with its stored score.
	MatchAccounts(ctx context.Context, name string, limit int) ([]AccountMatch, error)
	// AccountScore returns the account's latest stored score, or
	// ErrNotScored when it was never scored.
	AccountScore(ctx context.Context, accountID string) (*scoring.Result, error)
	// People returns who to contact at an account: the hand-raiser first,
	// then the most active users of the window.
	People(ctx context.Context, q people.Query) ([]people.Person, error)
	// AccountFacts loads what scoring needs to evaluate the account at
	// now; nil when the account has no facts.
	AccountFacts(ctx context.Context, accountID string, spec model.FactsSpec, now time.Time) (*scoring.Facts, error)
	// LatestEvents returns the account's newest events, newest first.
	LatestEvents(ctx context.Context, accountID string, limit int) ([]Event, error)
	// LatestAlerts returns the account's active alert and its most recent
	// alert of any state (either may be nil).
	LatestAlerts(ctx context.Context, accountID string) (active, last *alerting.Alert, err error)
	// TopCandidates returns what `top` ranks: the accounts with an open or
	// claimed alert (at most MaxActiveForTop, each with that alert and its
	// current score and exclusion), and the n best-scoring accounts that
	// are not excluded (each with its latest alert). tier, when set, keeps
	// accounts whose current tier or open alert's tier is tier.
	TopCandidates(ctx context.Context, tier string, n int) (active, ranked []TopAccount, err error)
	// ExcludedCounts counts excluded accounts (by Excluded* reason) of tier
	// (all when "") scoring at least minScore, leaving out the accounts in
	// skip.
	ExcludedCounts(ctx context.Context, tier string, minScore int, skip []string) (map[string]int, error)
	// ClaimedAlerts returns the alerts userID claimed that nobody has
	// marked contacted yet (state claimed).
	ClaimedAlerts(ctx context.Context, userID string) ([]AlertRow, error)
	// PostedAlerts returns the alerts posted in [from, to) that match f,
	// at most limit of them (the newest). Only active alerts need carry
	// the account's name and domain.
	PostedAlerts(ctx context.Context, from, to time.Time, f Filter, limit int) ([]AlertRow, error)
	// OverdueAlerts returns active alerts whose deadline is before now, most
	// overdue first.
	OverdueAlerts(ctx context.Context, now time.Time, limit int) ([]AlertRow, error)
	// UnclaimedAlerts returns posted alerts nobody has claimed, oldest
	// first.
	UnclaimedAlerts(ctx context.Context, limit int) ([]AlertRow, error)
	// ProgramFacts returns what the program figures of [from, to) need;
	// notFit lists the close reasons that mean "Not a fit".
	ProgramFacts(ctx context.Context, from, to time.Time, notFit []string) (program.Facts, error)
}

// AccountMatch is an account a name lookup found.
type AccountMatch struct {
	AccountID string
	Name      string
	Domain    string
	Score     int
	Tier      string
	// Exact: the name equals the query, ignoring case.
	Exact bool
}

// Event is one raw event of an account, as `score` lists it.
type Event struct {
	At   time.Time
	Type string
	Name string
	// User is the user's email when known, else the user or anonymous id.
	User string
}

// AlertRow is an alert as the reports read it: its route, state and
// clock, and the account's name and domain, without the explanation.
type AlertRow struct {
	ID          uuid.UUID
	AccountID   string
	AccountName string
	Domain      string
	Tier        string
	Segment     string
	Score       int
	// Channel is the route's channel as configured ("#name" or an id);
	// ChannelID and MessageTS say where it was posted.
	Channel     string
	ChannelID   string
	MessageTS   string
	SLA         time.Duration
	State       alerting.State
	PostedAt    time.Time
	DueAt       time.Time
	ClaimedBy   string
	ClaimedAt   time.Time
	ContactedBy string
	ContactedAt time.Time
	ClosedAt    time.Time
	CloseReason string
	BreachedAt  time.Time
}

// TopAccount is one account of `top`: its stored score, its open alert or
// else its latest alert, if any, and why it is excluded, if it is (an
// Excluded* reason).
type TopAccount struct {
	AccountID string
	Name      string
	Domain    string
	Score     int
	Tier      string
	Segment   string
	Alert     *AlertRow
	Excluded  string
}

// Filter narrows an SLA report to the alerts one rep claimed, or to one
// channel (matched against the resolved channel id and the configured
// "#name"). The zero Filter is everyone.
type Filter struct {
	UserID string
	// ChannelID and ChannelName (without '#') may both be set when Slack
	// sent an escaped channel mention.
	ChannelID   string
	ChannelName string
}

// HomePublisher publishes a user's App Home view (views.publish).
type HomePublisher interface {
	PublishHome(ctx context.Context, userID string, view slack.HomeTabViewRequest) error
}

// Request is one /pql invocation, however it arrived.
type Request struct {
	UserID    string
	UserName  string
	TeamID    string
	ChannelID string
	// Command is the slash command as the workspace named it ("/pql").
	Command     string
	Text        string
	ResponseURL string
}

// Service answers /pql commands and builds the App Home.
type Service struct {
	Store Store
	Model *model.Model
	Log   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AccountURL is PQLBOT_ACCOUNT_URL ("{account}" is replaced).
	AccountURL string
	// Permalink links an alert's message; nil means SlackArchiveLink.
	Permalink func(channelID, ts string) string
	// Publisher publishes App Home views; PublishHome needs it.
	Publisher HomePublisher
	// HomeSections are further App Home sections, shown after the built-in
	// ones in this order.
	HomeSections []HomeSection
}

// SlackArchiveLink is a message permalink that needs no API call:
// https://slack.com/archives/<channel>/p<ts without the dot>. Slack
// redirects it to the message in the workspace.
func SlackArchiveLink(channelID, ts string) string {
	if channelID == "" || ts == "" {
		return ""
	}
	return "https://slack.com/archives/" + channelID + "/p" + strings.ReplaceAll(ts, ".", "")
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) permalink(channelID, ts string) string {
	if s.Permalink != nil {
		return s.Permalink(channelID, ts)
	}
	return SlackArchiveLink(channelID, ts)
}

// Handle answers one /pql command. It always returns a reply: input it
// cannot understand gets the help text saying what was not understood, and
// a failure behind it gets a short apology (the cause is logged, never
// shown).
func (s *Service) Handle(ctx context.Context, req Request) slackui.Reply {
	cmd, err := slackui.ParseCommand(req.Text)
	if err != nil {
		return replyFor(req, err, s.log())
	}
	var reply slackui.Reply
	switch cmd.Kind {
	case slackui.CommandScore:
		reply, err = s.score(ctx, cmd, req)
	case slackui.CommandTop:
		reply, err = s.top(ctx, cmd)
	case slackui.CommandMine:
		reply, err = s.mine(ctx, req.UserID)
	case slackui.CommandSLA:
		reply, err = s.sla(ctx, cmd)
	case slackui.CommandStats:
		reply, err = s.stats(ctx, cmd)
	default:
		reply = slackui.HelpReply(req.Command, "")
	}
	if err != nil {
		return replyFor(req, err, s.log().With("subcommand", string(cmd.Kind), "user_id", req.UserID))
	}
	return reply
}

// replyFor is the one place errors become replies: problems with the input
// are help with the problem stated; anything else is logged and apologised
// for.
func replyFor(req Request, err error, log *slog.Logger) slackui.Reply {
	var ce *slackui.CommandError
	if errors.As(err, &ce) {
		return slackui.HelpReply(req.Command, ce.Problem)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		log.Warn("command timed out", "err", err)
		msg := "⏱️ That took too long to look up. Please try again in a moment."
		return slackui.Reply{Text: msg, Blocks: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, msg, false, false), nil, nil)}}
	}
	log.Error("command failed", "err", err)
	msg := "⚠️ Something went wrong looking that up. Please try again; if it keeps happening, tell whoever runs pqlbot."
	return slackui.Reply{Text: msg, Blocks: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, msg, false, false), nil, nil)}}
}

// problem is an input problem found after parsing (an unknown tier).
func problem(format string, args ...any) error {
	return &slackui.CommandError{Problem: fmt.Sprintf(format, args...)}
}

// tierNames lists the tiers `top` accepts, highest first.
func (s *Service) tierNames() []string {
	names := []string{model.TierHandRaiser}
	for _, t := range s.Model.Tiers {
		names = append(names, t.Name)
	}
	return names
}

// channelOf is the channel to show: the resolved id when posted (rendered
// as a live channel link), else the configured name.
func channelOf(a AlertRow) string {
	if a.ChannelID != "" {
		return a.ChannelID
	}
	return a.Channel
}

func uiState(s alerting.State) slackui.State {
	switch s {
	case alerting.StateOpen:
		return slackui.StateOpen
	case alerting.StateClaimed:
		return slackui.StateClaimed
	case alerting.StateContacted:
		return slackui.StateContacted
	case alerting.StateClosed:
		return slackui.StateClosedNotFit
	}
	return slackui.State(s)
}
