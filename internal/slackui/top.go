package slackui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"
)

// TopRow is one account in `/pql top`.
type TopRow struct {
	AccountID   string
	AccountName string
	Domain      string
	Score       int
	Tier        string
	Segment     string
	// AlertState is the current alert's state, "" when there is none.
	AlertState State
	Breached   bool
	ClaimedBy  string
	Permalink  string
}

func stateWords(s State, claimedBy string, breached bool) string {
	var w string
	switch s {
	case "":
		w = "no alert"
	case StateOpen:
		w = "alert open"
	case StateClaimed:
		w = "claimed by " + mention(claimedBy)
	case StateContacted:
		w = "contacted"
	case StateClosedNotFit:
		w = "closed as not a fit"
	default:
		w = escClip(string(s), maxLabelLen)
	}
	if breached && (s == StateOpen || s == StateClaimed) {
		w += " · 🚨 breached"
	}
	return w
}

// TopReply renders `/pql top`: rows in the order given (highest score
// first), tier is the tier filter or "".
func TopReply(rows []TopRow, tier string) Reply {
	title := fmt.Sprintf("Top %d accounts", len(rows))
	if tier != "" {
		title += " · " + tierLabel(tier)
	}
	if len(rows) == 0 {
		msg := "No scored accounts yet."
		if tier != "" {
			msg = "No accounts in tier *" + escClip(tierLabel(tier), maxLabelLen) + "* right now."
		}
		return Reply{Text: msg, Blocks: []slack.Block{section(msg)}}
	}
	lines := make([]string, len(rows))
	for i, r := range rows {
		l := fmt.Sprintf("%d. %s — *%d* · %s", i+1, accountTitle(r.AccountName, r.Domain, r.AccountID), r.Score, escClip(tierLabel(r.Tier), maxLabelLen))
		if r.Segment != "" {
			l += " · " + escClip(r.Segment, maxLabelLen)
		}
		l += " · " + stateWords(r.AlertState, r.ClaimedBy, r.Breached)
		if safeURL(r.Permalink) {
			l += " · " + link(r.Permalink, "alert")
		}
		lines[i] = l
	}
	blocks := append([]slack.Block{header(title)}, rowSections(lines, MaxTopN, listBudget, "accounts")...)
	text := title + ": "
	for i, r := range rows {
		if i == 5 {
			text += ", …"
			break
		}
		if i > 0 {
			text += ", "
		}
		text += fmt.Sprintf("%s %d", escClip(plainAccount(r.AccountName, r.Domain, r.AccountID), 40), r.Score)
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
