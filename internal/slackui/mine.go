package slackui

import (
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/sla"
)

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
	Permalink   string
}

// MineReply renders `/pql mine`. Rows are rendered in the order given (the
// caller sorts, most urgent first); time left is counted in business hours
// when bh is set.
func MineReply(rows []MineRow, now time.Time, bh *sla.BusinessHours) Reply {
	if len(rows) == 0 {
		msg := "🎉 You have no claimed alerts waiting for a first touch."
		return Reply{Text: msg, Blocks: []slack.Block{section(msg)}}
	}
	lines := make([]string, len(rows))
	overdue := 0
	for i, r := range rows {
		left := sla.Remaining(now, r.DueAt, bh)
		clock := "⏳ *" + sla.FormatDuration(left) + " left*"
		if left <= 0 && now.After(r.DueAt) {
			clock = "🚨 *" + sla.FormatDuration(-left) + " over SLA*"
			overdue++
		}
		l := fmt.Sprintf("%s — %s · %d\n%s · due %s", accountTitle(r.AccountName, r.Domain, r.AccountID), escClip(tierLabel(r.Tier), maxLabelLen), r.Score, clock, dueDate(r.DueAt))
		if r.Channel != "" {
			l += " · " + channelRef(r.Channel)
		}
		if safeURL(r.Permalink) {
			l += " · " + link(r.Permalink, "open alert")
		}
		lines[i] = l
	}
	title := fmt.Sprintf("Your alerts waiting for contact (%d)", len(rows))
	blocks := append([]slack.Block{header(title)}, rowSections(lines, maxListRows, listBudget, "alerts")...)
	text := fmt.Sprintf("You have %d claimed alerts waiting for contact", len(rows))
	if overdue > 0 {
		text += fmt.Sprintf(", %d over SLA", overdue)
	}
	return Reply{Text: text, Blocks: blocks}
}
