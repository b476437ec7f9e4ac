package slackui

import (
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/words"
)

// The App Home, for whoever opens it: their own alerts to work, the open
// alerts anyone can claim, the SLA figures, the open breaches with an
// assign picker, then any further sections (program figures). Its buttons
// carry the same action ids and block ids as the alert message, so a click
// in the Home goes through the same actions and the same rules.

// Home list limits: each alert with buttons takes two blocks and the Home
// holds 100.
const (
	maxHomeYours    = 10
	maxHomeOpen     = 12
	maxHomeBreaches = 12
)

// HomeAlert is one alert in the Home: a rep's own or an open one.
type HomeAlert struct {
	AlertID     string
	AccountID   string
	AccountName string
	Domain      string
	Tier        string
	Score       int
	Channel     string
	PostedAt    time.Time
	DueAt       time.Time
	// Waiting is the SLA time since the post; Left the SLA time to the
	// deadline (negative: overdue). Both count business hours when the
	// model has them, like the deadline.
	Waiting time.Duration
	Left    time.Duration
	// Person is who to contact first (the hand-raiser when there is one).
	Person    *people.Person
	Permalink string
}

// HomeData is everything the Home shows.
type HomeData struct {
	Now    time.Time
	UserID string
	// Notice, when set, is shown first: what became of the user's last
	// click (another rep was faster, ...), as the mrkdwn pqlbot answers a
	// click with (user data in it already escaped). The Home has no
	// ephemeral replies.
	Notice string
	// Yours are the user's claimed, uncontacted alerts; Open the posted
	// alerts nobody claimed that are not past their deadline; Breaches
	// those past it.
	Yours, Open []HomeAlert
	Breaches    []BreachRow
	// Figures are the SLA periods side by side (7 d, 30 d); Reps the rep
	// table of the longest.
	Figures []FigureColumn
	Reps    []RepRow
	// BusinessHours describes the SLA clock ("Mon–Fri 09:00–18:00
	// America/New_York"), empty for wall-clock SLAs.
	BusinessHours string
	// More are further sections (each a list of blocks starting with its
	// own divider and heading), appended in order.
	More [][]slack.Block
}

func homeAlertText(a HomeAlert, clock string) string {
	l := accountTitle(a.AccountName, a.Domain, a.AccountID) + " — " + escClip(tierLabel(a.Tier), maxLabelLen) + fmt.Sprintf(" · score %d", a.Score)
	l += "\n" + clock
	if !a.DueAt.IsZero() {
		l += " · due " + dueDate(a.DueAt)
	}
	if a.Channel != "" {
		l += " · " + channelRef(a.Channel)
	}
	if safeURL(a.Permalink) {
		l += " · " + link(a.Permalink, "open alert")
	}
	if a.Person != nil {
		l += "\n" + PersonLine(*a.Person)
	}
	return l
}

func leftClock(left time.Duration) string {
	if left < 0 {
		return "🚨 *" + words.Overdue(-left) + "*"
	}
	return "⏳ *" + words.Left(left) + "*"
}

// HomeView renders the App Home. It stays within the Home tab's 100
// blocks: long lists end with "+N more".
func HomeView(d HomeData) slack.HomeTabViewRequest {
	updated := "Updated " + slackDate(d.Now, "{date_short_pretty} {time}")
	if d.BusinessHours != "" {
		updated += " · SLA times count business hours (" + esc(d.BusinessHours) + ")"
	}
	blocks := []slack.Block{header("PQL alerts"), contextLine(updated)}
	if d.Notice != "" {
		blocks = append(blocks, section("⚠️ "+clip(d.Notice, 500)))
	}

	blocks = append(blocks, section("*"+fmt.Sprintf("Your alerts waiting for contact (%d)", len(d.Yours))+"*"))
	if len(d.Yours) == 0 {
		blocks = append(blocks, contextLine("Nothing waiting on you. Claim an open alert below when you are free."))
	}
	for i, a := range d.Yours {
		if i == maxHomeYours {
			blocks = append(blocks, contextLine(fmt.Sprintf("+%d more: `/pql mine` lists them all", len(d.Yours)-i)))
			break
		}
		blocks = append(blocks, section(homeAlertText(a, leftClock(a.Left))), slack.NewActionBlock(BlockID(BlockActions, a.AlertID),
			button(ActionContacted, a.AlertID, "Mark contacted", slack.StylePrimary),
			button(ActionRelease, a.AlertID, "Release", slack.StyleDefault)))
	}

	blocks = append(blocks, slack.NewDividerBlock(), section("*"+fmt.Sprintf("Open alerts nobody has claimed (%d)", len(d.Open))+"*"))
	if len(d.Open) == 0 {
		blocks = append(blocks, contextLine("None: every open alert has an owner."))
	}
	for i, a := range d.Open {
		if i == maxHomeOpen {
			blocks = append(blocks, contextLine(fmt.Sprintf("+%d more open alerts", len(d.Open)-i)))
			break
		}
		clock := "waiting " + words.Duration(a.Waiting) + " · " + leftClock(a.Left)
		s := slack.NewSectionBlock(mrkdwn(homeAlertText(a, clock)), nil,
			slack.NewAccessory(button(ActionClaim, a.AlertID, "Claim", slack.StylePrimary)))
		s.BlockID = BlockID(BlockActions, a.AlertID)
		blocks = append(blocks, s)
	}

	if len(d.Figures) > 0 {
		blocks = append(blocks, slack.NewDividerBlock(), section("*SLA figures*"), section(FiguresTable(d.Figures)))
	}
	if len(d.Reps) > 0 {
		blocks = append(blocks, listSection("*By rep, last 30 days*", repTable(d.Reps), maxReps+1, 2800, "reps"))
	}

	blocks = append(blocks, slack.NewDividerBlock(), section("*"+words.Count(len(d.Breaches), "open breach")+"*"))
	if len(d.Breaches) == 0 {
		blocks = append(blocks, contextLine("None: every alert past its deadline has been contacted."))
	}
	for i, b := range d.Breaches {
		if i == maxHomeBreaches {
			blocks = append(blocks, contextLine(fmt.Sprintf("+%d more breaches: `/pql sla` lists them", len(d.Breaches)-i)))
			break
		}
		picker := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Assign to…"), ActionAssign)
		s := slack.NewSectionBlock(mrkdwn(breachLine(b)), nil, slack.NewAccessory(picker))
		s.BlockID = BlockID(BlockAssign, b.AlertID)
		blocks = append(blocks, s)
	}
	for _, more := range d.More {
		blocks = append(blocks, more...)
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}
