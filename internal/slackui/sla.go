package slackui

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/sla"
)

// Dist summarises a distribution of durations (time to claim, to contact).
type Dist struct {
	// N is the number of samples; zero renders as "—".
	N      int
	Median time.Duration
	P90    time.Duration
}

func (d Dist) String() string {
	if d.N == 0 {
		return "—"
	}
	return "median " + sla.FormatDuration(d.Median) + " · p90 " + sla.FormatDuration(d.P90)
}

// SLAStats are the SLA figures of a set of alerts.
type SLAStats struct {
	Posted    int
	Claimed   int
	Contacted int
	// Due counts alerts whose SLA outcome is known (contacted, or past the
	// deadline): the denominator of the within-SLA share.
	Due          int
	WithinSLA    int
	ClosedNotFit int
	// OpenBreaches counts alerts past their deadline without contact.
	OpenBreaches  int
	TimeToClaim   Dist
	TimeToContact Dist
}

// RepRow is one rep's figures (the alerts they claimed).
type RepRow struct {
	UserID string
	SLAStats
}

// SplitRow is the figures for one tier or segment.
type SplitRow struct {
	Name string
	SLAStats
}

// BreachRow is an alert past its SLA without contact.
type BreachRow struct {
	AlertID     string
	AccountID   string
	AccountName string
	Domain      string
	Tier        string
	Channel     string
	ClaimedBy   string
	PostedAt    time.Time
	DueAt       time.Time
	Permalink   string
}

// ReasonCount is how often a not-a-fit reason was given.
type ReasonCount struct {
	Reason Reason
	Count  int
}

// SLAReport is what `/pql sla` and the App Home show for one period.
type SLAReport struct {
	// Days is the period length (7, 30, 90); From and To bound it.
	Days     int
	From, To time.Time
	// FilterUserID or FilterChannel (an id or "#name") narrow the report;
	// both empty for everyone.
	FilterUserID  string
	FilterChannel string

	Totals        SLAStats
	Breaches      []BreachRow
	Reps          []RepRow
	ByTier        []SplitRow
	BySegment     []SplitRow
	NotFitReasons []ReasonCount
}

func (r SLAReport) filterWords() string {
	switch {
	case r.FilterUserID != "":
		return "for " + mention(r.FilterUserID)
	case r.FilterChannel != "":
		return "in " + channelRef(r.FilterChannel)
	default:
		return ""
	}
}

func statsFields(s SLAStats) []*slack.TextBlockObject {
	f := func(label, value string) *slack.TextBlockObject { return mrkdwn("*" + label + "*\n" + value) }
	within := "— (none due yet)"
	if s.Due > 0 {
		within = fmt.Sprintf("%s (%d of %d due)", pct(s.WithinSLA, s.Due), s.WithinSLA, s.Due)
	}
	return []*slack.TextBlockObject{
		f("Alerts posted", fmt.Sprint(s.Posted)),
		f("Contacted within SLA", within),
		f("Claimed", fmt.Sprintf("%d (%s)", s.Claimed, pct(s.Claimed, s.Posted))),
		f("Contacted", fmt.Sprintf("%d (%s)", s.Contacted, pct(s.Contacted, s.Posted))),
		f("Time to claim", s.TimeToClaim.String()),
		f("Time to contact", s.TimeToContact.String()),
		f("Closed as not a fit", fmt.Sprint(s.ClosedNotFit)),
		f("Open breaches", fmt.Sprint(s.OpenBreaches)),
	}
}

func breachLine(b BreachRow) string {
	l := "• " + accountTitle(b.AccountName, b.Domain, b.AccountID) + " — " + escClip(tierLabel(b.Tier), maxLabelLen)
	if b.Channel != "" {
		l += " · " + channelRef(b.Channel)
	}
	l += " · due " + dueDate(b.DueAt)
	if b.ClaimedBy != "" {
		l += " · claimed by " + mention(b.ClaimedBy)
	} else {
		l += " · unclaimed"
	}
	if safeURL(b.Permalink) {
		l += " · " + link(b.Permalink, "open alert")
	}
	return l
}

func repLine(r RepRow) string {
	return fmt.Sprintf("• %s — %d claimed · %d contacted · %s within SLA · claim %s · contact %s",
		mention(r.UserID), r.Claimed, r.Contacted, pct(r.WithinSLA, r.Due), medianOnly(r.TimeToClaim), medianOnly(r.TimeToContact))
}

// medianOnly renders the median alone, "—" without samples.
func medianOnly(d Dist) string {
	if d.N == 0 {
		return "—"
	}
	return sla.FormatDuration(d.Median)
}

func splitLine(s SplitRow) string {
	return fmt.Sprintf("• *%s* — %d posted · %s within SLA · contact %s",
		escClip(tierLabel(orDash(s.Name)), maxLabelLen), s.Posted, pct(s.WithinSLA, s.Due), medianOnly(s.TimeToContact))
}

// SLAReply renders `/pql sla`.
func SLAReply(r SLAReport) Reply {
	title := fmt.Sprintf("SLA · last %d days", r.Days)
	period := slackDate(r.From, "{date_short}") + " – " + slackDate(r.To, "{date_short}")
	blocks := []slack.Block{header(title), contextLine(strings.TrimSpace(period + " " + r.filterWords()))}
	if r.Totals.Posted == 0 && len(r.Breaches) == 0 {
		msg := fmt.Sprintf("No alerts were posted in the last %d days", r.Days)
		if w := r.filterWords(); w != "" {
			msg += " " + w
		}
		msg += "."
		return Reply{Text: msg, Blocks: append(blocks, section(msg))}
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, statsFields(r.Totals), nil))
	if len(r.Breaches) > 0 {
		blocks = append(blocks, listSection(fmt.Sprintf("*Open breaches (%d)*", len(r.Breaches)), mapLines(r.Breaches, breachLine), maxBreaches, 2200, "breaches"))
	}
	if len(r.Reps) > 0 {
		blocks = append(blocks, listSection("*By rep*", mapLines(r.Reps, repLine), maxReps, 2200, "reps"))
	}
	if len(r.ByTier) > 0 {
		blocks = append(blocks, listSection("*By tier*", mapLines(r.ByTier, splitLine), maxSplits, 1000, "tiers"))
	}
	if len(r.BySegment) > 0 {
		blocks = append(blocks, listSection("*By segment*", mapLines(r.BySegment, splitLine), maxSplits, 1000, "segments"))
	}
	if len(r.NotFitReasons) > 0 {
		parts := mapLines(r.NotFitReasons, func(c ReasonCount) string {
			return escClip(c.Reason.Label(), maxLabelLen) + " " + fmt.Sprint(c.Count)
		})
		if len(parts) > 8 {
			parts = append(parts[:8], fmt.Sprintf("+%d more", len(parts)-8))
		}
		blocks = append(blocks, contextLine("Not a fit: "+strings.Join(parts, " · ")))
	}
	text := fmt.Sprintf("SLA, last %d days: %d alerts, %s contacted within SLA, %d open breaches",
		r.Days, r.Totals.Posted, pct(r.Totals.WithinSLA, r.Totals.Due), r.Totals.OpenBreaches)
	return Reply{Text: text, Blocks: blocks}
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
