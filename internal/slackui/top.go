package slackui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/words"
)

// TopGroup is a priority group of `/pql top`, in order.
type TopGroup int

// Priority groups.
const (
	// TopHandRaiser: an open or claimed hand-raiser alert.
	TopHandRaiser TopGroup = iota
	// TopOpenAlert: any other open or claimed alert.
	TopOpenAlert
	// TopByScore: every other account, best score first.
	TopByScore
)

func (g TopGroup) title() string {
	switch g {
	case TopHandRaiser:
		return "✋ Open hand-raisers"
	case TopOpenAlert:
		return "🔔 Open alerts"
	}
	return "📈 Highest scores without an open alert"
}

// TopRow is one account in `/pql top`.
type TopRow struct {
	Group       TopGroup
	AccountID   string
	AccountName string
	Domain      string
	Score       int
	Tier        string
	Segment     string
	// AlertTier and AlertState describe the open alert (groups
	// TopHandRaiser and TopOpenAlert) or the latest one (TopByScore);
	// AlertState is "" when the account never alerted.
	AlertTier  string
	AlertState State
	ClaimedBy  string
	// AlertAt is when the alert was posted.
	AlertAt time.Time
	// DueAt and Left (SLA time, negative when overdue) for an open alert.
	DueAt     time.Time
	Left      time.Duration
	Breached  bool
	Permalink string
}

// LeftOut counts the accounts `top` did not list because nobody should
// work them. With AllCounted every such account is counted; otherwise
// those scoring at least MinScore (they would have made the list).
type LeftOut struct {
	Disqualified, Suppressed, GateFailed int
	AllCounted                           bool
	MinScore                             int
}

func (l LeftOut) total() int { return l.Disqualified + l.Suppressed + l.GateFailed }

// Text is "Left out: 1 account marked not a fit · 2 suppressed by the
// model (e.g. customers) · 3 failing a fit gate", or "" when none.
func (l LeftOut) Text() string {
	if l.total() == 0 {
		return ""
	}
	var parts []string
	if l.Disqualified > 0 {
		parts = append(parts, words.Count(l.Disqualified, "account")+" marked not a fit")
	}
	if l.Suppressed > 0 {
		parts = append(parts, fmt.Sprintf("%d suppressed by the model's rules (such as customers)", l.Suppressed))
	}
	if l.GateFailed > 0 {
		parts = append(parts, fmt.Sprintf("%d failing a fit gate", l.GateFailed))
	}
	head := "Left out: "
	if !l.AllCounted {
		head = fmt.Sprintf("Left out (scoring %d or more): ", l.MinScore)
	}
	return head + strings.Join(parts, " · ")
}

func topState(r TopRow) string {
	switch r.AlertState {
	case "":
		return "never alerted"
	case StateOpen, StateClaimed:
		w := "unclaimed"
		if r.AlertState == StateOpen && r.AlertAt.IsZero() {
			return "being posted"
		}
		if r.AlertState == StateClaimed {
			w = "claimed by " + mention(r.ClaimedBy)
		}
		if !r.DueAt.IsZero() {
			if r.Breached || r.Left < 0 {
				w += " · 🚨 *" + words.Overdue(max(-r.Left, 0)) + "*"
			} else {
				w += " · " + words.Left(r.Left)
			}
		}
		return w
	case StateContacted:
		return "last alert contacted"
	case StateClosedNotFit:
		return "last alert closed"
	}
	return escClip(string(r.AlertState), maxLabelLen)
}

func topLine(i int, r TopRow) string {
	l := fmt.Sprintf("%d. %s — ", i+1, accountTitle(r.AccountName, r.Domain, r.AccountID))
	if r.Group != TopByScore {
		l += escClip(tierLabel(r.AlertTier), maxLabelLen) + " alert, " + topState(r) + fmt.Sprintf(" · score %d", r.Score)
	} else {
		l += fmt.Sprintf("score *%d* · %s", r.Score, escClip(tierLabel(orDash(r.Tier)), maxLabelLen))
		if r.Segment != "" {
			l += " · " + escClip(r.Segment, maxLabelLen)
		}
		l += " · " + topState(r)
	}
	if safeURL(r.Permalink) {
		l += " · " + link(r.Permalink, "alert")
	}
	return l
}

// TopReply renders `/pql top`: rows in priority order (grouped, numbered
// through), tier is the tier filter or "", left what was left out.
func TopReply(rows []TopRow, tier string, left LeftOut) Reply {
	title := "Accounts to work first"
	if tier != "" {
		title += " · " + tierLabel(tier)
	}
	if len(rows) == 0 {
		msg := "No scored accounts yet."
		if tier != "" {
			msg = "No accounts in tier *" + escClip(tierLabel(tier), maxLabelLen) + "* right now."
		}
		blocks := []slack.Block{section(msg)}
		if t := left.Text(); t != "" {
			blocks = append(blocks, contextLine(t+"."))
			msg += " " + t + "."
		}
		return Reply{Text: msg, Blocks: blocks}
	}
	blocks := []slack.Block{header(title)}
	shown, more := rows, 0
	if len(rows) > MaxTopN {
		shown, more = rows[:MaxTopN], len(rows)-MaxTopN
	}
	// Rows come in priority order; each group gets its heading, and rows
	// keep their rank numbers.
	for _, g := range []TopGroup{TopHandRaiser, TopOpenAlert, TopByScore} {
		var lines []string
		for i, r := range shown {
			if r.Group == g {
				lines = append(lines, topLine(i, r))
			}
		}
		if len(lines) == 0 {
			continue
		}
		blocks = append(blocks, section("*"+g.title()+"*"))
		blocks = append(blocks, rowSections(lines, MaxTopN, listBudget/3, "accounts")...)
	}
	if more > 0 {
		blocks = append(blocks, contextLine(fmt.Sprintf("+%d more accounts", more)))
	}
	foot := words.Count(len(rows), "account") + " · open hand-raisers first, then open alerts, then by score"
	if t := left.Text(); t != "" {
		foot += "\n" + t
	}
	blocks = append(blocks, contextLine(foot))
	text := title + ": "
	for i, r := range rows {
		if i == 5 {
			text += ", …"
			break
		}
		if i > 0 {
			text += ", "
		}
		text += escClip(plainAccount(r.AccountName, r.Domain, r.AccountID), 40) + " " + strconv.Itoa(r.Score)
	}
	return Reply{Text: text, Blocks: blocks}
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
