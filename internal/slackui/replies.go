package slackui

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/sla"
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

// helpLines documents the grammar; <…> is escaped because it is mrkdwn.
var helpLines = []struct{ usage, what string }{
	{"score &lt;domain | account id | email&gt;", "an account's score, tier, signals, latest events and alert state"},
	{"top [N] [tier]", fmt.Sprintf("the N highest-scoring accounts (default %d, at most %d), optionally in one tier", DefaultTopN, MaxTopN)},
	{"mine", "your claimed alerts still waiting for a first touch, with the time left"},
	{"sla [7d | 30d | 90d] [@user | #channel]", "SLA compliance: alerts, % contacted within SLA, time to claim and contact, breaches, per rep"},
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
		b.WriteString("⚠️ I didn't understand that: " + escClip(problem, 300) + "\n\n")
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
		text = "I didn't understand that: " + escClip(problem, 300)
	}
	return Reply{Text: text, Blocks: []slack.Block{section(HelpText(command, problem))}}
}

// ---- score ----

// GateLine is one fit gate and whether the account passes it.
type GateLine struct {
	// Name describes the gate ("employees ≥ 10").
	Name   string
	Passed bool
	// Detail is the account's value ("4 employees").
	Detail string
}

// EventLine is one recent event of the account.
type EventLine struct {
	At   time.Time
	Name string
	// User is who did it (email, name or user id), optional.
	User string
}

// AlertSummary is an account's current (or latest) alert as a lookup shows it.
type AlertSummary struct {
	AlertID     string
	Tier        string
	State       State
	Breached    bool
	PostedAt    time.Time
	DueAt       time.Time
	ClaimedBy   string
	ContactedBy string
	Channel     string
	// Permalink to the alert message, empty if unknown.
	Permalink string
}

// ScoreView is what `/pql score` shows about one account.
type ScoreView struct {
	AccountID    string
	AccountName  string
	Domain       string
	AccountURL   string
	Score        int
	Tier         string
	Segment      string
	ModelVersion string
	ScoredAt     time.Time

	// Signals fired; Unfired did not, with Points what they would add and
	// Detail the facts as they stand ("1× of 3 in 7 days").
	Signals []SignalLine
	Unfired []SignalLine
	Gates   []GateLine
	Fit     []Fact

	ActiveUsers     int
	ActiveUsersDays int
	// LatestEvents, newest first (the caller orders and limits them).
	LatestEvents []EventLine

	// Alert is the current or latest alert, nil if none.
	Alert *AlertSummary
	// NotAlerting says why the account is not alerting now (gate failed,
	// below threshold, outside the recency window, suppressed, cooling
	// down, disqualified, tier does not notify). Empty when it is alerting.
	NotAlerting []string
}

func alertSummaryText(a *AlertSummary) string {
	var state string
	switch a.State {
	case StateClaimed:
		state = "claimed by " + mention(a.ClaimedBy)
	case StateContacted:
		state = "contacted by " + mention(a.ContactedBy)
	case StateClosedNotFit:
		state = "closed as not a fit"
	default:
		state = "open, unclaimed"
	}
	parts := []string{"*Alert:* " + state, escClip(tierLabel(a.Tier), maxLabelLen)}
	if a.Channel != "" {
		parts = append(parts, channelRef(a.Channel))
	}
	if !a.PostedAt.IsZero() {
		parts = append(parts, "posted "+slackDate(a.PostedAt, "{date_short_pretty} {time}"))
	}
	if !a.DueAt.IsZero() && (a.State == StateOpen || a.State == StateClaimed || a.State == "") {
		parts = append(parts, "due "+dueDate(a.DueAt))
	}
	s := strings.Join(parts, " · ")
	if a.Breached {
		s += " · 🚨 SLA breached"
	}
	if safeURL(a.Permalink) {
		s += " · " + link(a.Permalink, "open alert")
	}
	return s
}

// ScoreReply renders `/pql score` for one account.
func ScoreReply(v ScoreView) Reply {
	name := plainAccount(v.AccountName, v.Domain, v.AccountID)
	blocks := []slack.Block{header(fmt.Sprintf("%s — score %d · %s", name, v.Score, tierLabel(orDash(v.Tier))))}

	ctx := []string{}
	if v.Domain != "" {
		ctx = append(ctx, escClip(v.Domain, maxNameLen))
	}
	if v.AccountID != "" {
		ctx = append(ctx, "id "+escClip(v.AccountID, maxNameLen))
	}
	if v.Segment != "" {
		ctx = append(ctx, "Segment *"+escClip(v.Segment, maxLabelLen)+"*")
	}
	if v.ModelVersion != "" {
		ctx = append(ctx, "Model "+escClip(v.ModelVersion, 40))
	}
	if !v.ScoredAt.IsZero() {
		ctx = append(ctx, "scored "+slackDate(v.ScoredAt, "{date_short_pretty} {time}"))
	}
	if safeURL(v.AccountURL) {
		ctx = append(ctx, link(v.AccountURL, "Open account ↗"))
	}
	if len(ctx) > 0 {
		blocks = append(blocks, contextLine(strings.Join(ctx, " · ")))
	}

	var status []string
	if v.Alert != nil {
		status = append(status, alertSummaryText(v.Alert))
	}
	if len(v.NotAlerting) > 0 {
		reasons := make([]string, len(v.NotAlerting))
		for i, r := range v.NotAlerting {
			reasons[i] = "• " + escClip(r, maxDetailLen)
		}
		status = append(status, lineList("*Not alerting because*\n", reasons, 8, 1000, plusMore("reasons")))
	}
	if len(status) == 0 {
		status = append(status, "_No alert for this account._")
	}
	blocks = append(blocks, section(strings.Join(status, "\n")))

	sigLines := make([]string, 0, len(v.Signals)+len(v.Unfired))
	for _, s := range sortedSignals(v.Signals) {
		sigLines = append(sigLines, signalLine(s))
	}
	for _, s := range sortedSignals(v.Unfired) {
		l := "◦ _" + points(s.Points) + " " + escClip(s.Name, maxNameLen)
		if s.Detail != "" {
			l += " — " + escClip(s.Detail, maxDetailLen)
		}
		sigLines = append(sigLines, l+" (not met)_")
	}
	if len(sigLines) == 0 {
		blocks = append(blocks, section("*Signals*\n_No signals in the model apply to this account._"))
	} else {
		blocks = append(blocks, section(lineList("*Signals*\n", sigLines, maxScoreSignals, 2400, plusMore("signals"))))
	}

	if len(v.Gates) > 0 {
		gl := make([]string, len(v.Gates))
		for i, g := range v.Gates {
			mark := "✅"
			if !g.Passed {
				mark = "❌"
			}
			l := mark + " " + escClip(g.Name, maxNameLen)
			if g.Detail != "" {
				l += " — " + escClip(g.Detail, maxDetailLen)
			}
			gl[i] = l
		}
		blocks = append(blocks, section(lineList("*Gates*\n", gl, maxGates, 1000, plusMore("gates"))))
	}

	blocks = append(blocks, slack.NewSectionBlock(nil, factFields(v.Fit, v.ActiveUsers, v.ActiveUsersDays), nil))

	if len(v.LatestEvents) > 0 {
		el := make([]string, len(v.LatestEvents))
		for i, e := range v.LatestEvents {
			l := "• " + slackDate(e.At, "{date_short_pretty} {time}") + " " + escClip(e.Name, maxNameLen)
			if e.User != "" {
				l += " · " + escClip(e.User, maxNameLen)
			}
			el[i] = l
		}
		blocks = append(blocks, section(lineList("*Latest events*\n", el, maxScoreEvents, 1500, plusMore("events"))))
	} else {
		blocks = append(blocks, section("*Latest events*\n_No events recorded._"))
	}

	text := fmt.Sprintf("%s: score %d, tier %s", escClip(name, maxNameLen), v.Score, escClip(tierLabel(orDash(v.Tier)), maxLabelLen))
	return Reply{Text: text, Blocks: blocks}
}

// ScoreNotFoundReply is the `/pql score` reply when nothing matches query.
func ScoreNotFoundReply(query string) Reply {
	q := "`" + escClip(strings.ReplaceAll(query, "`", "'"), 80) + "`"
	return Reply{
		Text: "No account matches " + q,
		Blocks: []slack.Block{section("🔍 No account matches " + q +
			". Try a domain (`acme.com`), an account id, or the email of one of its users.")},
	}
}

// ---- top ----

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

// ---- mine ----

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

// ---- sla ----

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

// ---- App Home ----

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
