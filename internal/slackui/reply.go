package slackui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Reply is a rendered message: Block Kit blocks and the plain-text fallback
// Slack shows in notifications and on clients without blocks.
type Reply struct {
	Text   string
	Blocks []slack.Block
}

// Ephemeral returns the reply as a response_url payload visible only to the
// user who ran the command.
func (r Reply) Ephemeral() *slack.WebhookMessage {
	return &slack.WebhookMessage{
		Text:         r.Text,
		Blocks:       &slack.Blocks{BlockSet: r.Blocks},
		ResponseType: slack.ResponseTypeEphemeral,
	}
}

// Reply list limits: each keeps a reply within one message.
const (
	maxRowsPerSection = 6
	maxListRows       = 20
	maxScoreSignals   = 20
	maxScoreEvents    = 10
	maxGates          = 15
	maxReps           = 15
	maxSplits         = 10
	maxBreaches       = 10
	maxHomeRows       = 25
	// sectionBudget keeps each section under MaxSectionText with room to spare.
	sectionBudget = 2800
	// listBudget bounds a list in a message so the whole reply stays well
	// under MaxMessageJSON; homeListBudget is the same for the Home tab.
	listBudget     = 6500
	homeListBudget = 20000
)

// rowSections lays rows out in sections of a few rows each (fewer blocks
// than one per row, each under the section text limit), shows at most
// maxRows rows and budget characters in all, and ends with "+N more noun".
func rowSections(rows []string, maxRows, budget int, noun string) []slack.Block {
	var blocks []slack.Block
	var cur []string
	curLen, used, shown := 0, 0, 0
	flush := func() {
		if len(cur) > 0 {
			blocks = append(blocks, section(strings.Join(cur, "\n")))
			cur, curLen = nil, 0
		}
	}
	for _, r := range rows {
		r = clip(r, sectionBudget) // rows are built from clipped parts; this is a backstop
		n := utf8.RuneCountInString(r) + 1
		if shown == maxRows || used+n > budget {
			break
		}
		if len(cur) == maxRowsPerSection || curLen+n > sectionBudget {
			flush()
		}
		cur = append(cur, r)
		curLen += n
		used += n
		shown++
	}
	flush()
	if n := len(rows) - shown; n > 0 {
		blocks = append(blocks, contextLine(fmt.Sprintf("+%d more %s", n, noun)))
	}
	return blocks
}

func listSection(title string, lines []string, maxLines, budget int, noun string) slack.Block {
	return section(lineList(title+"\n", lines, maxLines, budget, plusMore(noun)))
}

func mapLines[T any](in []T, f func(T) string) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
