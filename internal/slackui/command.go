package slackui

import (
	"fmt"
	"regexp"
	"strconv"
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

func parseScore(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, problemf("`score` needs a domain, account id or email, e.g. `score acme.com`")
	}
	if len(args) > 1 {
		return Command{}, problemf("`score` takes one domain, account id or email, got %s", quote(strings.Join(args, " ")))
	}
	raw := unwrapLink(args[0])
	if raw == "" || utf8.RuneCountInString(raw) > maxTargetLen {
		return Command{}, problemf("%s is not a domain, account id or email", quote(args[0]))
	}
	c := Command{Kind: CommandScore, Raw: raw}
	lower := strings.ToLower(raw)
	switch {
	case strings.Contains(raw, "@"):
		if !emailRe.MatchString(lower) {
			return Command{}, problemf("%s is not a valid email address", quote(raw))
		}
		c.Target, c.TargetKind = lower, TargetEmail
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		host := strings.TrimPrefix(strings.TrimPrefix(lower, "http://"), "https://")
		host, _, _ = strings.Cut(host, "/")
		host, _, _ = strings.Cut(host, ":")
		host = strings.TrimPrefix(host, "www.")
		if !domainRe.MatchString(host) {
			return Command{}, problemf("%s is not a valid domain", quote(raw))
		}
		c.Target, c.TargetKind = host, TargetDomain
	case domainRe.MatchString(lower) && !allDigitsAndDots(lower):
		c.Target, c.TargetKind = strings.TrimPrefix(lower, "www."), TargetDomain
	default:
		c.Target, c.TargetKind = raw, TargetAccountID
	}
	return c, nil
}

func allDigitsAndDots(s string) bool {
	return strings.Trim(s, "0123456789.") == ""
}

func parseTop(args []string) (Command, error) {
	c := Command{Kind: CommandTop, N: DefaultTopN}
	if len(args) > 2 {
		return Command{}, problemf("`top` takes at most a number and a tier, got %s", quote(strings.Join(args, " ")))
	}
	seenN := false
	for _, a := range args {
		if n, err := strconv.Atoi(a); err == nil || isNumberish(a) {
			if seenN {
				return Command{}, problemf("`top` takes one number, got %s", quote(strings.Join(args, " ")))
			}
			if err != nil || n < 1 || n > MaxTopN {
				return Command{}, problemf("the number of accounts must be between 1 and %d, got %s", MaxTopN, quote(a))
			}
			c.N, seenN = n, true
			continue
		}
		t := strings.ToLower(a)
		if c.Tier != "" {
			return Command{}, problemf("`top` takes one tier, got %s", quote(strings.Join(args, " ")))
		}
		if t == "hand-raiser" || t == "hand-raisers" || t == "hand_raisers" {
			t = "hand_raiser"
		}
		if !tierRe.MatchString(t) {
			return Command{}, problemf("%s is not a tier name", quote(a))
		}
		c.Tier = t
	}
	return c, nil
}

// isNumberish catches "+5", "-3", "10000000000000000000": things meant as a
// number that Atoi refuses or that are out of range.
func isNumberish(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

var (
	userMentionRe    = regexp.MustCompile(`^<@([UW][A-Z0-9]{2,30})(?:\|([^>]*))?>$`)
	channelMentionRe = regexp.MustCompile(`^<#([CG][A-Z0-9]{2,30})(?:\|([^>]*))?>$`)
	plainNameRe      = regexp.MustCompile(`^[\p{L}\p{N}._'-]{1,80}$`)
)

func parseSLA(args []string) (Command, error) {
	c := Command{Kind: CommandSLA, Days: DefaultSLADays}
	if len(args) > 2 {
		return Command{}, problemf("`sla` takes at most a period and one @user or #channel, got %s", quote(strings.Join(args, " ")))
	}
	seenPeriod, seenFilter := false, false
	for _, a := range args {
		lower := strings.ToLower(a)
		if m := periodRe.FindStringSubmatch(lower); m != nil || isNumberish(lower) {
			if seenPeriod {
				return Command{}, problemf("`sla` takes one period, got %s", quote(strings.Join(args, " ")))
			}
			if m == nil || (m[1] != "7" && m[1] != "30" && m[1] != "90") {
				return Command{}, problemf("the period must be 7d, 30d or 90d, got %s", quote(a))
			}
			c.Days, _ = strconv.Atoi(m[1])
			seenPeriod = true
			continue
		}
		if seenFilter {
			return Command{}, problemf("`sla` takes one @user or #channel, got %s", quote(strings.Join(args, " ")))
		}
		seenFilter = true
		switch {
		case userMentionRe.MatchString(a):
			m := userMentionRe.FindStringSubmatch(a)
			c.UserID, c.UserName = m[1], m[2]
		case channelMentionRe.MatchString(a):
			m := channelMentionRe.FindStringSubmatch(a)
			c.ChannelID, c.ChannelName = m[1], strings.ToLower(m[2])
		case strings.HasPrefix(a, "<!subteam"):
			return Command{}, problemf("user groups are not supported; name one @user or #channel")
		case strings.HasPrefix(a, "@") && plainNameRe.MatchString(a[1:]):
			c.UserName = a[1:]
		case strings.HasPrefix(a, "#") && plainNameRe.MatchString(a[1:]):
			c.ChannelName = strings.ToLower(a[1:])
		default:
			return Command{}, problemf("%s is neither a period (7d, 30d, 90d) nor an @user or #channel", quote(a))
		}
	}
	return c, nil
}
