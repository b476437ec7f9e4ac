package slackui

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/words"
)

// MaxMineShown is how many alerts `/pql mine` shows with their buttons
// (two blocks each, within a message's 50); the rest are counted.
const MaxMineShown = 15

// mineBudget bounds the characters of the rows of `/pql mine`.
const mineBudget = 8000

// MineRow is one of my claimed, uncontacted alerts.
type MineRow struct {
	AlertID     string
	AccountID   string
	AccountName string
	Domain      string
	Tier        string
	Score       int
	Channel     string
	ClaimedAt   time.Time
	DueAt       time.Time
	// Left is the SLA time to the deadline (negative: overdue), counted
	// like the deadline.
	Left time.Duration
	// Person is who to contact first, nil when nobody is known.
	Person    *people.Person
	Permalink string
}

// MineReply renders `/pql mine`: each alert with its clock, the person to
// contact and the Mark contacted / Release buttons of the alert message.
// Rows are rendered in the order given (the caller sorts, most urgent
// first).
func MineReply(rows []MineRow) Reply {
	if len(rows) == 0 {
		msg := "🎉 You have no claimed alerts waiting for a first contact."
		return Reply{Text: msg, Blocks: []slack.Block{section(msg)}}
	}
	overdue := 0
	for _, r := range rows {
		if !r.DueAt.IsZero() && r.Left < 0 {
			overdue++
		}
	}
	title := "Your alerts waiting for contact (" + fmt.Sprint(len(rows)) + ")"
	blocks := []slack.Block{header(title)}
	used := 0
	for i, r := range rows {
		clock := "⏳ not posted yet"
		if !r.DueAt.IsZero() {
			clock = leftClock(r.Left)
		}
		a := HomeAlert{AlertID: r.AlertID, AccountID: r.AccountID, AccountName: r.AccountName, Domain: r.Domain, Tier: r.Tier,
			Score: r.Score, Channel: r.Channel, DueAt: r.DueAt, Person: r.Person, Permalink: r.Permalink}
		text := homeAlertText(a, clock)
		// Each row is its text and about 400 characters of buttons; the
		// budget keeps the message under Slack's size limit.
		used += utf8.RuneCountInString(text) + 400
		if i == MaxMineShown || used > mineBudget {
			blocks = append(blocks, contextLine(fmt.Sprintf("+%d more alerts", len(rows)-i)))
			break
		}
		blocks = append(blocks, section(text), slack.NewActionBlock(BlockID(BlockActions, r.AlertID),
			button(ActionContacted, r.AlertID, "Mark contacted", slack.StylePrimary),
			button(ActionRelease, r.AlertID, "Release", slack.StyleDefault)))
	}
	text := "You have " + words.Count(len(rows), "claimed alert") + " waiting for contact"
	if overdue > 0 {
		text += fmt.Sprintf(", %d over SLA", overdue)
	}
	if p := rows[0].Person; p != nil {
		text += "; first: " + PersonText(*p) + " at " + escClip(plainAccount(rows[0].AccountName, rows[0].Domain, rows[0].AccountID), maxNameLen)
	}
	return Reply{Text: text, Blocks: blocks}
}

// ActionDoneText confirms a rep's action taken from a copy of the alert's
// buttons (the `/pql mine` reply), whose own message does not change: the
// alert in its channel does.
func ActionDoneText(actionID string) string {
	switch actionID {
	case ActionClaim:
		return "🙋 Claimed: it is yours. The alert in its channel shows it."
	case ActionContacted:
		return "✅ Marked contacted. The alert in its channel shows the response time."
	case ActionRelease:
		return "↩️ Released: back in its channel for anyone to claim."
	}
	return ""
}
