package slackui

import (
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/sla"
)

// UnclaimedRow is an open alert nobody has claimed.
type UnclaimedRow struct {
	AlertID     string
	AccountID   string
	AccountName string
	Domain      string
	Tier        string
	Channel     string
	PostedAt    time.Time
	DueAt       time.Time
	Permalink   string
}

// HomeView is the manager's App Home: the last 7 and 30 days' SLA figures,
// open breaches and unclaimed alerts (oldest first, as the caller sorts
// them). It stays within the Home tab's 100 blocks.
func HomeView(now time.Time, last7, last30 SLAReport, breaches []BreachRow, unclaimed []UnclaimedRow) slack.HomeTabViewRequest {
	blocks := []slack.Block{
		header("PQL alerts — SLA overview"),
		contextLine("Updated " + slackDate(now, "{date_short_pretty} {time}")),
		section("*Last 7 days*"),
		slack.NewSectionBlock(nil, statsFields(last7.Totals), nil),
		section("*Last 30 days*"),
		slack.NewSectionBlock(nil, statsFields(last30.Totals), nil),
		slack.NewDividerBlock(),
		section(fmt.Sprintf("*Open breaches (%d)*", len(breaches))),
	}
	if len(breaches) == 0 {
		blocks = append(blocks, contextLine("None — every alert past its deadline has been contacted."))
	} else {
		blocks = append(blocks, rowSections(mapLines(breaches, breachLine), maxHomeRows, homeListBudget, "breaches")...)
	}
	blocks = append(blocks, slack.NewDividerBlock(), section(fmt.Sprintf("*Unclaimed alerts (%d)*", len(unclaimed))))
	if len(unclaimed) == 0 {
		blocks = append(blocks, contextLine("None — every open alert has an owner."))
	} else {
		lines := mapLines(unclaimed, func(u UnclaimedRow) string {
			l := "• " + accountTitle(u.AccountName, u.Domain, u.AccountID) + " — " + escClip(tierLabel(u.Tier), maxLabelLen)
			if u.Channel != "" {
				l += " · " + channelRef(u.Channel)
			}
			l += " · posted " + sla.FormatDuration(now.Sub(u.PostedAt)) + " ago · due " + dueDate(u.DueAt)
			if safeURL(u.Permalink) {
				l += " · " + link(u.Permalink, "open alert")
			}
			return l
		})
		blocks = append(blocks, rowSections(lines, maxHomeRows, homeListBudget, "unclaimed alerts")...)
	}
	if len(last30.Reps) > 0 {
		blocks = append(blocks, slack.NewDividerBlock(), listSection("*Reps, last 30 days*", mapLines(last30.Reps, repLine), maxReps, sectionBudget, "reps"))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}
