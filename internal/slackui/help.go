package slackui

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// helpLines documents the grammar; <…> is escaped because it is mrkdwn.
var helpLines = []struct{ usage, what string }{
	{"score &lt;domain | name | account id | email&gt;", "an account: alerting or why not, its alert, who to contact, signals, fit and latest events"},
	{"top [N] [tier]", fmt.Sprintf("the N accounts to work first (default %d, at most %d): open hand-raisers, open alerts, then by score; optionally in one tier", DefaultTopN, MaxTopN)},
	{"mine", "your claimed alerts waiting for a first contact: time left, who to contact, Mark contacted and Release"},
	{"sla [7d | 30d | 90d] [@user | #channel]", "SLA: alerts contacted within SLA (x/y), time to claim and to contact, open breaches, a row per rep"},
	{"stats [30d | 90d | quarter]", "the PQL program: alerts, alert → opportunity and → won, days to won, won rate by time to contact, not a fit"},
	{"help", "this help"},
}

// HelpText is the help as mrkdwn text. command is the slash command as the
// workspace named it ("/pql" when empty); problem, when set, is shown first
// as what was not understood (usually CommandError.Problem).
func HelpText(command, problem string) string {
	cmd := "/pql"
	if c := strings.TrimSpace(command); strings.HasPrefix(c, "/") && plainNameRe.MatchString(c[1:]) {
		cmd = c
	}
	var b strings.Builder
	if problem != "" {
		b.WriteString("⚠️ I didn't understand that: " + escProblem(problem, 300) + "\n\n")
	}
	b.WriteString("*Usage*")
	for _, l := range helpLines {
		fmt.Fprintf(&b, "\n`%s %s` — %s", esc(cmd), l.usage, l.what)
	}
	return b.String()
}

// HelpReply renders HelpText as a reply.
func HelpReply(command, problem string) Reply {
	text := "pqlbot help"
	if problem != "" {
		text = "I didn't understand that: " + escProblem(problem, 300)
	}
	return Reply{Text: text, Blocks: []slack.Block{section(HelpText(command, problem))}}
}
