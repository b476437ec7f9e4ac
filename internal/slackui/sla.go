package slackui

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/words"
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
	// Overdue is how long past DueAt, in SLA time (business hours when
	// the model has them), like the deadline.
	Overdue   time.Duration
	Permalink string
}

// ReasonCount is how often a not-a-fit reason was given.
type ReasonCount struct {
	Reason closereason.Reason
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

// FigureColumn is one column of a figures table: a period's totals.
type FigureColumn struct {
	Label string
	Stats SLAStats
}

// figureRows are the figures every SLA surface shows, each with what it is
// of ("67% (2/3)").
var figureRows = []struct {
	label string
	value func(SLAStats) string
}{
	{"Alerts posted", func(s SLAStats) string { return fmt.Sprint(s.Posted) }},
	{"Contacted within SLA", func(s SLAStats) string { return words.Share(s.WithinSLA, s.Due) }},
	{"Claimed", func(s SLAStats) string { return words.Share(s.Claimed, s.Posted) }},
	{"Contacted", func(s SLAStats) string { return words.Share(s.Contacted, s.Posted) }},
	{"Median time to claim", func(s SLAStats) string { return distPart(s.TimeToClaim, false) }},
	{"p90 time to claim", func(s SLAStats) string { return distPart(s.TimeToClaim, true) }},
	{"Median time to contact", func(s SLAStats) string { return distPart(s.TimeToContact, false) }},
	{"p90 time to contact", func(s SLAStats) string { return distPart(s.TimeToContact, true) }},
	{"Closed as not a fit", func(s SLAStats) string { return fmt.Sprint(s.ClosedNotFit) }},
	{"Missed SLA", func(s SLAStats) string { return fmt.Sprint(s.Due - s.WithinSLA) }},
	{"Open breaches", func(s SLAStats) string { return fmt.Sprint(s.OpenBreaches) }},
}

func distPart(d Dist, p90 bool) string {
	switch {
	case d.N == 0:
		return "—"
	case p90:
		return words.Duration(d.P90)
	}
	return words.Duration(d.Median)
}

// FiguresTable renders periods side by side as one table: a row per
// figure, a column per period, each row fixed-width code (no-break spaces,
// which Slack never collapses) so the columns line up. Times are SLA time
// (business hours when the model has them).
func FiguresTable(cols []FigureColumn) string {
	const labelW = 24
	width := 12
	for _, c := range cols {
		width = max(width, utf8.RuneCountInString(c.Label)+2)
		for _, r := range figureRows {
			width = max(width, utf8.RuneCountInString(r.value(c.Stats))+2)
		}
	}
	line := func(label string, cell func(FigureColumn) string) string {
		out := padCell(label, labelW)
		for _, c := range cols {
			out += padCell(cell(c), width)
		}
		return "`" + strings.TrimRight(out, "\u00a0") + "`"
	}
	lines := []string{line("", func(c FigureColumn) string { return c.Label })}
	for _, r := range figureRows {
		lines = append(lines, line(r.label, func(c FigureColumn) string { return r.value(c.Stats) }))
	}
	return strings.Join(lines, "\n")
}

// padCell pads s to w characters with no-break spaces.
func padCell(s string, w int) string {
	return s + strings.Repeat("\u00a0", max(w-utf8.RuneCountInString(s), 1))
}

func breachLine(b BreachRow) string {
	l := "• " + accountTitle(b.AccountName, b.Domain, b.AccountID) + " — 🚨 *" + words.Overdue(b.Overdue) + "*"
	if b.ClaimedBy != "" {
		l += " · claimed by " + mention(b.ClaimedBy)
	} else {
		l += " · unclaimed"
	}
	l += " · " + escClip(tierLabel(b.Tier), maxLabelLen)
	if b.Channel != "" {
		l += " · " + channelRef(b.Channel)
	}
	if safeURL(b.Permalink) {
		l += " · " + link(b.Permalink, "open alert")
	}
	return l
}

// repColumns are the rep table's columns; the rep comes last so the
// monospace part lines up whatever the length of their name.
var repColumns = []struct {
	label string
	width int
	value func(RepRow) string
}{
	{"Claimed", 8, func(r RepRow) string { return fmt.Sprint(r.Claimed) }},
	{"Contacted", 10, func(r RepRow) string { return fmt.Sprint(r.Contacted) }},
	{"Within SLA", 11, func(r RepRow) string { return fmt.Sprintf("%d/%d", r.WithinSLA, r.Due) }},
	{"Breaches", 9, func(r RepRow) string { return fmt.Sprint(r.Due - r.WithinSLA) }},
	{"Med. claim", 12, func(r RepRow) string { return medianOnly(r.TimeToClaim) }},
	{"Med. contact", 12, func(r RepRow) string { return medianOnly(r.TimeToContact) }},
}

func repCells(cell func(i int) string) string {
	var b strings.Builder
	for i, c := range repColumns {
		b.WriteString(padCell(cell(i), c.width))
	}
	return "`" + b.String() + "`"
}

// repTable is the per-rep table: a header and one row per rep, the figures
// in fixed-width code and the rep's mention after them. Breaches are the
// alerts that missed their SLA (contacted late, or still overdue).
func repTable(reps []RepRow) []string {
	lines := []string{repCells(func(i int) string { return repColumns[i].label }) + " *Rep*"}
	for _, r := range reps {
		lines = append(lines, repCells(func(i int) string { return repColumns[i].value(r) })+" "+mention(r.UserID))
	}
	return lines
}

// medianOnly renders the median alone, "—" without samples.
func medianOnly(d Dist) string {
	if d.N == 0 {
		return "—"
	}
	return words.Duration(d.Median)
}

func splitLine(s SplitRow) string {
	return fmt.Sprintf("• *%s* — %s · %s within SLA · median contact %s",
		escClip(tierLabel(orDash(s.Name)), maxLabelLen), words.Count(s.Posted, "alert"), words.Share(s.WithinSLA, s.Due), medianOnly(s.TimeToContact))
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
	blocks = append(blocks, section(FiguresTable([]FigureColumn{{Label: fmt.Sprintf("Last %d d", r.Days), Stats: r.Totals}})))
	if len(r.Breaches) > 0 {
		blocks = append(blocks, listSection("*"+words.Count(len(r.Breaches), "open breach")+"*", mapLines(r.Breaches, breachLine), maxBreaches, 2200, "breaches"))
	}
	if len(r.Reps) > 0 {
		blocks = append(blocks, listSection("*By rep*", repTable(r.Reps), maxReps+1, 2800, "reps"))
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
	text := fmt.Sprintf("SLA, last %d days: %s, %s contacted within SLA, %s",
		r.Days, words.Count(r.Totals.Posted, "alert"), words.Share(r.Totals.WithinSLA, r.Totals.Due), words.Count(r.Totals.OpenBreaches, "open breach"))
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
