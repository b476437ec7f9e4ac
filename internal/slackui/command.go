package slackui

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// CommandKind names a /pql subcommand.
type CommandKind string

// Subcommands.
const (
	CommandHelp  CommandKind = "help"
	CommandScore CommandKind = "score"
	CommandTop   CommandKind = "top"
	CommandMine  CommandKind = "mine"
	CommandSLA   CommandKind = "sla"
	CommandStats CommandKind = "stats"
)

// TargetKind says what a `score` argument looks like. It is a hint: a
// Segment groupId can itself look like a domain, so a lookup that finds
// nothing by domain may retry Command.Raw as an account id.
type TargetKind string

// Score target kinds.
const (
	TargetDomain    TargetKind = "domain"
	TargetEmail     TargetKind = "email"
	TargetAccountID TargetKind = "account_id"
	// TargetName is several words: an account name.
	TargetName TargetKind = "name"
)

// Grammar limits.
const (
	// MaxCommandLen caps the command text; longer input is refused
	// without being parsed.
	MaxCommandLen = 500
	// DefaultTopN is the number of accounts `top` lists by default.
	DefaultTopN = 10
	// MaxTopN is the most accounts `top` lists (one message's worth).
	MaxTopN = 25
	// DefaultSLADays is the period of `sla` without one.
	DefaultSLADays = 7
	maxTargetLen   = 200
)

// Command is a parsed /pql command.
type Command struct {
	Kind CommandKind

	// score: Target is normalised (domains and emails lower-cased, a
	// leading "www." and any URL scheme or path removed); Raw is the
	// argument as typed, after unwrapping Slack's <mailto:…|…> and
	// <http…|…> links.
	Target     string
	TargetKind TargetKind
	Raw        string

	// top: N accounts (1..MaxTopN), optionally in one Tier (lower-cased,
	// not checked against the model; that is the caller's job).
	N    int
	Tier string

	// sla: the period in days (7, 30 or 90) and at most one filter. A user
	// given as a Slack mention (<@U123|bob>) sets UserID (and UserName when
	// Slack sent one); a plain @bob sets only UserName, which the caller
	// resolves. Channels likewise: <#C123|sales> sets ChannelID (and
	// ChannelName), #sales sets only ChannelName.
	Days        int
	UserID      string
	UserName    string
	ChannelID   string
	ChannelName string

	// stats: the period name (30d, 90d or quarter).
	StatsPeriod string
}

// Period is the sla period as a duration.
func (c Command) Period() time.Duration { return time.Duration(c.Days) * 24 * time.Hour }

// CommandError is a command that could not be understood. Problem says what,
// for people, and quotes (clipped) what was typed; HelpReply shows it.
type CommandError struct {
	Problem string
}

func (e *CommandError) Error() string { return e.Problem }

func problemf(format string, args ...any) error {
	return &CommandError{Problem: fmt.Sprintf(format, args...)}
}

// quote renders user input inside a problem message: clipped and
// backquote-free so it reads as one code span.
func quote(s string) string {
	return "`" + strings.ReplaceAll(clip(s, 40), "`", "'") + "`"
}

// ParseCommand parses the text of a /pql slash command. Empty text is
// help. Subcommands are case-insensitive and extra spaces are ignored.
// Errors are *CommandError.
func ParseCommand(text string) (Command, error) {
	if len(text) > 4*MaxCommandLen || utf8.RuneCountInString(text) > MaxCommandLen {
		return Command{}, problemf("that command is too long (at most %d characters)", MaxCommandLen)
	}
	fields := strings.Fields(strings.ToValidUTF8(text, "\uFFFD"))
	if len(fields) == 0 {
		return Command{Kind: CommandHelp}, nil
	}
	sub, args := strings.ToLower(fields[0]), fields[1:]
	switch sub {
	case "help", "?", "-h", "--help":
		return Command{Kind: CommandHelp}, nil
	case "score":
		return parseScore(args)
	case "top":
		return parseTop(args)
	case "mine":
		if len(args) > 0 {
			return Command{}, problemf("`mine` takes no arguments, got %s", quote(strings.Join(args, " ")))
		}
		return Command{Kind: CommandMine}, nil
	case "sla":
		return parseSLA(args)
	case "stats":
		return parseStats(args)
	default:
		return Command{}, problemf("unknown subcommand %s", quote(fields[0]))
	}
}

var (
	domainRe = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+$`)
	emailRe  = regexp.MustCompile(`^[^@\s<>]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+$`)
	periodRe = regexp.MustCompile(`^(\d{1,4})d$`)
	tierRe   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)
)

// unwrapLink turns Slack's escaped links back into what was typed:
// <mailto:a@b.com|a@b.com> → a@b.com, <http://acme.com|acme.com> →
// http://acme.com.
func unwrapLink(s string) string {
	if !strings.HasPrefix(s, "<") || !strings.HasSuffix(s, ">") {
		return s
	}
	inner := s[1 : len(s)-1]
	target, _, _ := strings.Cut(inner, "|")
	return strings.TrimPrefix(target, "mailto:")
}
