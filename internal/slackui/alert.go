package slackui

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/sla"
)

// SignalLine is one scoring signal as shown to people.
type SignalLine struct {
	// Name is the signal's name from the model ("Core workflow completed").
	Name string `json:"name"`
	// Category is the model category (usage, intent, fit, negative, velocity).
	Category string `json:"category,omitempty"`
	// Points is what the signal adds (negative for negative signals).
	Points int `json:"points"`
	// Detail is the facts behind it, e.g. "5× Workflow Completed in 7 days".
	Detail string `json:"detail,omitempty"`
}

// Fact is one labelled fit fact ("Employees": "250").
type Fact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// AlertView is everything an alert message shows. The alerting layer fills
// it from the stored alert (route, explanation and model version as of the
// alert) and its current state; the message is always re-rendered whole.
type AlertView struct {
	AlertID     string
	AccountID   string
	AccountName string
	Domain      string
	// AccountURL is PQLBOT_ACCOUNT_URL already expanded; empty for no link.
	AccountURL string

	Tier string
	// Score is the account's current score; AlertScore the score the alert
	// was raised with (0 or equal: unchanged).
	Score      int
	AlertScore int
	Segment    string
	// OwnerRole is the route's owner (AE, SDR).
	OwnerRole string
	// Channel is the route's channel as configured ("#sdr-pql" or an id).
	Channel string
	// Mention is the route's mention: user group ids (S…), user ids (U…,
	// W…) or "here". It is shown while the alert is open.
	Mention []string
	// SLA is the route's SLA; PostedAt and DueAt are when the clock started
	// and when it runs out (sla.Deadline with Hours).
	SLA      time.Duration
	PostedAt time.Time
	DueAt    time.Time
	// Hours are the model's business hours, nil for wall-clock SLAs. Time to
	// claim and to contact are measured in them, like the deadline.
	Hours        *sla.BusinessHours
	ModelVersion string

	// People are who to contact, the hand-raiser first (people.Max at most).
	People []people.Person
	// HandRaise is the hand-raise event in the window ("" for none) and the
	// UTC day it happened, for when no person carries it.
	HandRaise    string
	HandRaiseDay time.Time
	// Signals are the signals that fired, in any order; rendering sorts them.
	Signals []SignalLine
	// Fit holds fit facts (employees, industry, plan, email domain, ...).
	Fit []Fact
	// ActiveUsers is the number of distinct active users over
	// ActiveUsersDays days (0 days: shown without a window).
	ActiveUsers     int
	ActiveUsersDays int

	State       State
	ClaimedBy   string // Slack user id
	ClaimedAt   time.Time
	ContactedBy string // Slack user id
	ContactedAt time.Time
	ClosedBy    string // Slack user id
	// CloseReason is a not-a-fit reason, closereason.Moved or
	// closereason.DeliveryFailed.
	CloseReason closereason.Reason
	// MovedTo and MovedLink say where a moved alert went (closereason.Moved);
	// ClockFrom, when set, is when the SLA clock started instead of the
	// post: the hand-raise that moved the alert here.
	ClockFrom time.Time
	// MovedFrom is the channel of the alert a hand-raise moved here.
	MovedTo   string
	MovedLink string
	MovedFrom string
	// Breached is set once the sweeper has recorded the breach. An open or
	// claimed alert past DueAt is shown as breached even before that.
	Breached bool
	// NudgedAt is when the sla_warn_at nudge went out (zero: not yet); an
	// open alert shows it so the channel sees the clock is running.
	NudgedAt time.Time
}

// Message layout limits for the alert.
const (
	maxAlertSignals = 12
	signalBudget    = 2400
	maxFitFacts     = MaxFields - 1 // one field is kept for active users
	factsBudget     = 1500
)

// normalized treats an empty State as open, so callers may leave it unset
// for a fresh alert.
func (v AlertView) normalized() AlertView {
	if v.State == "" {
		v.State = StateOpen
	}
	return v
}

// Status is the alert's status, for StatusLine.
func (v AlertView) Status() Status {
	s := Status{
		State: v.State, Channel: v.Channel, PostedAt: v.PostedAt, DueAt: v.DueAt, Hours: v.Hours,
		ClaimedBy: v.ClaimedBy, ClaimedAt: v.ClaimedAt, ContactedBy: v.ContactedBy, ContactedAt: v.ContactedAt,
		ClosedBy: v.ClosedBy, CloseReason: v.CloseReason, NudgedAt: v.NudgedAt,
		MovedTo: v.MovedTo, MovedLink: v.MovedLink,
	}
	if s.State == "" {
		s.State = StateOpen
	}
	if v.Breached {
		s.BreachedAt = v.DueAt
		if s.BreachedAt.IsZero() {
			s.BreachedAt = v.PostedAt
		}
	}
	return s
}

// collapsed reports whether the alert is done with (contacted or closed):
// its message shrinks to the header, the status and one summary line.
func (v AlertView) collapsed() bool {
	return v.State == StateContacted || v.State == StateClosedNotFit
}

// AlertBlocks renders the alert message for its current state: the status
// line first, then who to contact and why now, the facts and the buttons.
// A contacted or closed alert collapses to its header, status and one
// summary line. now decides whether an open or claimed alert is shown as
// past its SLA and the relative times' fallbacks.
func AlertBlocks(v AlertView, now time.Time) []slack.Block {
	v = v.normalized()
	blocks := []slack.Block{header(alertHeader(v))}
	status := StatusLine(v.Status(), now)
	if m := mentions(v.Mention); m != "" && v.State == StateOpen {
		status += "\n" + m
	}
	blocks = append(blocks, section(status))
	if v.collapsed() {
		return append(blocks, contextLine(summaryLine(v)))
	}
	blocks = append(blocks, alertContext(v))
	if p := PeopleText("*Who to contact*", v.People); p != "" {
		blocks = append(blocks, section(p))
	}
	blocks = append(blocks,
		section(whyNow(v)),
		slack.NewSectionBlock(nil, factFields(v.Fit, v.ActiveUsers, v.ActiveUsersDays), nil),
	)
	if acts := alertActions(v); acts != nil {
		blocks = append(blocks, acts)
	}
	foot := []string{"Model " + escClip(orDash(v.ModelVersion), 40)}
	if !v.PostedAt.IsZero() {
		foot = append(foot, "posted "+slackDate(v.PostedAt, "{date_short_pretty} {time}"))
	}
	blocks = append(blocks, contextLine(strings.Join(foot, " · ")))
	return blocks
}

// alertHeader is "✋ Ember Motors — hand-raiser · 35 (was 10 at alert)";
// done alerts say so instead of shouting their tier.
func alertHeader(v AlertView) string {
	acct := plainAccount(v.AccountName, v.Domain, v.AccountID)
	switch {
	case v.State == StateContacted:
		return "✅ " + acct + " — contacted"
	case v.State == StateClosedNotFit && v.CloseReason == closereason.Moved:
		return "➡️ " + acct + " — moved"
	case v.State == StateClosedNotFit:
		return "🚫 " + acct + " — closed"
	}
	return fmt.Sprintf("%s %s — %s · %s", tierEmoji(v.Tier), acct, tierLabel(v.Tier), scoreWas(v))
}

// scoreWas is "35" or "35 (was 10 at alert)".
func scoreWas(v AlertView) string {
	if v.AlertScore != 0 && v.AlertScore != v.Score {
		return fmt.Sprintf("score %d · was %d at alert", v.Score, v.AlertScore)
	}
	return fmt.Sprintf("score %d", v.Score)
}

// summaryLine is a done alert in one line: who, what, tier and score, route.
func summaryLine(v AlertView) string {
	var parts []string
	if hr := people.HandRaiser(v.People); hr != nil {
		parts = append(parts, PersonText(*hr))
	} else if len(v.People) > 0 {
		parts = append(parts, PersonText(v.People[0]))
	}
	parts = append(parts, escClip(tierLabel(v.Tier), maxLabelLen)+" · "+escClip(scoreWas(v), maxLabelLen))
	if v.OwnerRole != "" {
		parts = append(parts, escClip(v.OwnerRole, maxLabelLen))
	}
	parts = append(parts, channelRef(v.Channel))
	if safeURL(v.AccountURL) {
		parts = append(parts, link(v.AccountURL, "Open account ↗"))
	}
	return strings.Join(parts, " · ")
}

// whyNow lists the hand-raise first (who, what, when), then the signals.
func whyNow(v AlertView) string {
	title := "*Why now*"
	hr := people.HandRaiser(v.People)
	switch {
	case hr != nil:
		title += "\n✋ *Hand-raise:* " + PersonText(*hr)
		if !hr.ActionAt.IsZero() {
			title += " " + slackDate(hr.ActionAt, "{date_short_pretty} at {time}")
		}
	case v.HandRaise != "":
		title += "\n✋ *Hand-raise:* " + escClip(v.HandRaise, maxNameLen)
		if !v.HandRaiseDay.IsZero() {
			title += " " + slackDate(v.HandRaiseDay, "{date_short_pretty}")
		}
	}
	return signalsText(title, v.Signals, maxAlertSignals, signalBudget)
}

// mentions renders a route's mention list: <!subteam^S…>, <@U…>, <!here>.
// Anything else (the model validates them) is left out.
func mentions(ids []string) string {
	var out []string
	for _, id := range ids {
		switch {
		case id == "here":
			out = append(out, "<!here>")
		case groupIDRe.MatchString(id):
			out = append(out, "<!subteam^"+id+">")
		case userIDRe.MatchString(id):
			out = append(out, "<@"+id+">")
		}
	}
	return strings.Join(out, " ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func alertContext(v AlertView) *slack.ContextBlock {
	var parts []string
	if v.Domain != "" {
		parts = append(parts, escClip(v.Domain, maxNameLen))
	}
	if v.Segment != "" {
		parts = append(parts, "Segment *"+escClip(v.Segment, maxLabelLen)+"*")
	}
	if v.OwnerRole != "" {
		parts = append(parts, "Owner *"+escClip(v.OwnerRole, maxLabelLen)+"*")
	}
	if v.SLA > 0 {
		s := "SLA " + sla.FormatDuration(v.SLA)
		if v.Hours != nil {
			s += " (business hours)"
		}
		if !v.ClockFrom.IsZero() {
			s += " from the hand-raise"
		}
		parts = append(parts, s)
	}
	if safeURL(v.AccountURL) {
		parts = append(parts, link(v.AccountURL, "Open account ↗"))
	}
	if v.MovedFrom != "" {
		parts = append(parts, "moved here from "+channelRef(v.MovedFrom)+" on a hand-raise")
	}
	if len(parts) == 0 {
		parts = append(parts, escClip(v.AccountID, maxNameLen))
	}
	return contextLine(parts...)
}

// sortedSignals returns signals largest points first (so positive before
// negative), ties by name, without touching the caller's slice.
func sortedSignals(in []SignalLine) []SignalLine {
	s := slices.Clone(in)
	slices.SortStableFunc(s, func(a, b SignalLine) int {
		if c := cmp.Compare(b.Points, a.Points); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return s
}

func signalLine(s SignalLine) string {
	l := "• *" + points(s.Points) + "* " + escClip(s.Name, maxNameLen)
	if s.Detail != "" {
		l += " — " + escClip(s.Detail, maxDetailLen)
	}
	return l
}

func signalsText(title string, signals []SignalLine, maxLines, budget int) string {
	if len(signals) == 0 {
		return title + "\n_No scored actions recorded._"
	}
	sorted := sortedSignals(signals)
	lines := make([]string, len(sorted))
	for i, s := range sorted {
		lines[i] = signalLine(s)
	}
	return lineList(title+"\n", lines, maxLines, budget, func(n int) string {
		rest := 0
		for _, s := range sorted[len(sorted)-n:] {
			rest += s.Points
		}
		return fmt.Sprintf("_+%d more (%s points)_", n, points(rest))
	})
}

// factFields renders fit facts as section fields, at most maxFitFacts and
// factsBudget characters in all, plus the active users field.
func factFields(facts []Fact, activeUsers, days int) []*slack.TextBlockObject {
	var fields []*slack.TextBlockObject
	used := 0
	for i, f := range facts {
		text := "*" + escClip(orDash(f.Label), maxLabelLen) + "*\n" + escClip(orDash(f.Value), maxValueLen)
		used += utf8.RuneCountInString(text)
		if i == maxFitFacts || used > factsBudget {
			break
		}
		fields = append(fields, mrkdwn(text))
	}
	au := fmt.Sprintf("*Active users*\n%d", activeUsers)
	if days > 0 {
		au += fmt.Sprintf(" (last %d d)", days)
	}
	return append(fields, mrkdwn(au))
}

func button(action, alertID, label string, style slack.Style) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(action, alertID, plain(label))
	if style != "" {
		b = b.WithStyle(style)
	}
	return b
}

func alertActions(v AlertView) *slack.ActionBlock {
	id := BlockID(BlockActions, v.AlertID)
	switch v.State {
	case StateOpen:
		return slack.NewActionBlock(id,
			button(ActionClaim, v.AlertID, "Claim", slack.StylePrimary),
			button(ActionNotFit, v.AlertID, "Not a fit", ""),
		)
	case StateClaimed:
		return slack.NewActionBlock(id,
			button(ActionContacted, v.AlertID, "Mark contacted", slack.StylePrimary),
			button(ActionRelease, v.AlertID, "Release", ""),
		)
	default:
		return nil
	}
}

// AlertText is the fallback text of the alert message: what a phone
// notification and a screen reader get. It names the account, the person and
// their action (the hand-raiser first), the owner role and the due time:
// "✋ Ember Motors — Hiro Walsh (IT Administrator) requested sales contact ·
// AE · due 1:00 PM EST". While the alert is open it carries the route's
// mention, so the post notifies; chat.update never notifies again.
func AlertText(v AlertView, now time.Time) string {
	v = v.normalized()
	var b strings.Builder
	b.WriteString(tierEmoji(v.Tier) + " " + escClip(plainAccount(v.AccountName, v.Domain, v.AccountID), maxNameLen) + " — ")
	if hr := people.HandRaiser(v.People); hr != nil {
		b.WriteString(PersonText(*hr))
	} else if len(v.People) > 0 {
		b.WriteString(PersonText(v.People[0]))
	} else if v.HandRaise != "" {
		b.WriteString(escClip(ActionPhrase(v.HandRaise, people.ActionTrack), maxNameLen))
	} else {
		b.WriteString(escClip(tierLabel(v.Tier), maxLabelLen) + " PQL")
	}
	b.WriteString(" · " + escClip(scoreWas(v), maxLabelLen))
	if v.OwnerRole != "" {
		b.WriteString(" · " + escClip(v.OwnerRole, maxLabelLen))
	}
	var loc *time.Location
	if v.Hours != nil {
		loc = v.Hours.Loc
	}
	if st := StatusText(v.Status(), now, loc); st != "" {
		b.WriteString(" · " + st)
	}
	if m := mentions(v.Mention); m != "" && v.State == StateOpen {
		b.WriteString(" " + m)
	}
	return b.String()
}

// NotFitReasonBlocks asks why an account is not a fit: a static select whose
// option values are closereason codes. Its actions block id carries the alert id
// (BlockNotFitReason); the selection arrives as ActionNotFitReason.
func NotFitReasonBlocks(alertID, accountName string) []slack.Block {
	who := "this account"
	if accountName != "" {
		who = "*" + escClip(accountName, maxNameLen) + "*"
	}
	opts := make([]*slack.OptionBlockObject, 0, len(closereason.NotFit()))
	for _, r := range closereason.NotFit() {
		opts = append(opts, slack.NewOptionBlockObject(string(r), plain(r.Label()), nil))
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Choose a reason"), ActionNotFitReason, opts...)
	return []slack.Block{
		section("Why is " + who + " not a fit? The alert will be closed and the account silenced."),
		slack.NewActionBlock(BlockID(BlockNotFitReason, alertID), sel),
	}
}

// NotFitReasonText is the fallback text for NotFitReasonBlocks.
func NotFitReasonText(accountName string) string {
	if accountName == "" {
		return "Why is this account not a fit?"
	}
	return "Why is " + escClip(accountName, maxNameLen) + " not a fit?"
}

// NotFitClosedText confirms a not-a-fit close to the rep who chose r, and
// until when the account stays silent (zero: no disqualification).
func NotFitClosedText(r closereason.Reason, silencedUntil time.Time) string {
	text := "🚫 Closed as not a fit: " + escClip(r.Label(), maxLabelLen) + "."
	if !silencedUntil.IsZero() {
		text += " The account will not alert again before " + silencedUntil.Format("2 Jan 2006") + "."
	}
	return text
}

// Upgrade describes a material change on an account with an active alert:
// a move to a higher tier, a hand-raise, or a score change of its own.
type Upgrade struct {
	FromTier, ToTier   string
	FromScore, ToScore int
	// AlertScore is the score the alert was raised with.
	AlertScore int
	// Rescore is a score change without a move up (Rescore decisions).
	Rescore bool
	// HandRaise is the hand-raise event name ("Demo Requested"), empty
	// when the change is a plain tier move.
	HandRaise string
	// Claimer is the rep who claimed the alert; the note mentions them.
	Claimer string
	// NewSignals are signals that fired since the alert (optional).
	NewSignals []SignalLine
}

// UpgradeText is the thread reply for an Upgrade. It mentions only the
// claimer (a well-formed user id); all other text is escaped.
func UpgradeText(u Upgrade) string {
	var b strings.Builder
	switch {
	case u.HandRaise != "":
		fmt.Fprintf(&b, "✋ Hand-raise: *%s* — now *%s* (score %d)", escClip(u.HandRaise, maxNameLen), escClip(tierLabel(u.ToTier), maxLabelLen), u.ToScore)
	case u.Rescore && u.FromTier != u.ToTier:
		fmt.Fprintf(&b, "↘️ Now *%s*: score %d (was %d", escClip(tierLabel(u.ToTier), maxLabelLen), u.ToScore, u.FromScore)
	case u.Rescore && u.ToScore > u.FromScore:
		fmt.Fprintf(&b, "📈 Score up to *%d* (was %d", u.ToScore, u.FromScore)
	case u.Rescore:
		fmt.Fprintf(&b, "📉 Score down to *%d* (was %d", u.ToScore, u.FromScore)
	default:
		fmt.Fprintf(&b, "⬆️ Moved up from *%s* (%d) to *%s* (%d)", escClip(tierLabel(u.FromTier), maxLabelLen), u.FromScore, escClip(tierLabel(u.ToTier), maxLabelLen), u.ToScore)
	}
	if u.Rescore {
		if u.AlertScore != 0 && u.AlertScore != u.FromScore {
			fmt.Fprintf(&b, ", %d at alert", u.AlertScore)
		}
		b.WriteString(")")
	}
	if u.Claimer != "" && userIDRe.MatchString(u.Claimer) {
		b.WriteString(" — " + mention(u.Claimer) + ", this is yours")
	}
	if len(u.NewSignals) > 0 {
		b.WriteString("\n")
		b.WriteString(signalsText("New since the alert:", u.NewSignals, 8, 1500))
	}
	return b.String()
}

// NudgeText is the thread reply at sla_warn_at, broadcast to the channel:
// how much SLA time is left and that nobody has claimed (or contacted) yet.
// An unclaimed alert's nudge mentions the route's mention; a claimed one's
// mentions the claimer.
func NudgeText(v AlertView, now time.Time) string {
	v = v.normalized()
	left := sla.Remaining(now, v.DueAt, v.Hours)
	when := sla.FormatDuration(left) + " left on the " + sla.FormatDuration(v.SLA) + " SLA (due " + dueDate(v.DueAt) + ")"
	if left <= 0 {
		when = "the " + sla.FormatDuration(v.SLA) + " SLA ran out " + dueDate(v.DueAt)
	}
	who := plainAccount(v.AccountName, v.Domain, v.AccountID)
	if hr := people.HandRaiser(v.People); hr != nil {
		who += " (" + hr.Name + ")"
	}
	if v.State == StateClaimed && v.ClaimedBy != "" {
		return fmt.Sprintf("⏰ *%s*: claimed by %s but not contacted yet — %s.", escClip(who, maxNameLen), mention(v.ClaimedBy), when)
	}
	l := "⏰ *" + escClip(who, maxNameLen) + "*: nobody has claimed this yet — " + when + "."
	if m := mentions(v.Mention); m != "" {
		l = m + " " + l
	}
	return l
}

// EscalationReply is the post to the escalation channel when an alert
// breaches its SLA: the account, the route, where the alert stands now (the
// status line) and a link to the alert message (permalink from
// chat.getPermalink; may be empty). It is rendered again, and the post
// edited in place, when the alert is later claimed, contacted or closed:
// a resolved escalation says so first.
func EscalationReply(v AlertView, permalink string, now time.Time) Reply {
	v = v.normalized()
	acct := accountTitle(v.AccountName, v.Domain, v.AccountID)
	st := v.Status()
	head, word := "🚨 *SLA breached:* ", "SLA breached"
	switch {
	case v.State == StateContacted || v.State == StateClosedNotFit:
		head, word = "✅ *Resolved after an SLA breach:* ", "Resolved after an SLA breach"
	}
	lines := []string{
		head + fmt.Sprintf("%s — %s · %d", acct, escClip(tierLabel(v.Tier), maxLabelLen), v.Score),
		fmt.Sprintf("Route: %s · owner %s · SLA %s · due %s", channelRef(v.Channel), escClip(orDash(v.OwnerRole), maxLabelLen), sla.FormatDuration(v.SLA), dueDate(v.DueAt)),
	}
	if p := waitingPerson(v); p != "" {
		lines = append(lines, p)
	}
	lines = append(lines, StatusLine(st, now))
	blocks := []slack.Block{section(strings.Join(lines, "\n"))}
	if safeURL(permalink) {
		blocks = append(blocks, contextLine(link(permalink, "Open the alert ↗")))
	}
	text := fmt.Sprintf("%s: %s (%s, %s)", word, escClip(plainAccount(v.AccountName, v.Domain, v.AccountID), maxNameLen), escClip(tierLabel(v.Tier), maxLabelLen), channelRef(v.Channel))
	return Reply{Text: text, Blocks: blocks}
}

// maxEscalated is how many alerts a grouped escalation lists at most, one
// section each, inside Block Kit's 50 blocks; the rest are counted. Long
// names can stop the list sooner (MaxMessageJSON).
const maxEscalated = 45

// waitingPerson is the person an escalated alert keeps waiting, the
// hand-raiser first (PersonLine), while the alert is still open or
// claimed; "" once it is resolved or nobody is known.
func waitingPerson(v AlertView) string {
	if len(v.People) == 0 || (v.State != StateOpen && v.State != StateClaimed) {
		return ""
	}
	p := v.People[0]
	if hr := people.HandRaiser(v.People); hr != nil {
		p = *hr
	}
	return PersonLine(p)
}

func jsonLen(b slack.Block) int {
	bs, _ := json.Marshal(b)
	return len(bs)
}

// EscalationGroupReply is the one post to the escalation channel for
// several breaches due in the same minute (with business hours, every
// overnight alert shares the morning deadline): a headline with how many
// still wait, then one section per alert — the account, the route and who
// owns it, where it stands now and a link to its message (links[i], from
// chat.getPermalink; may be empty) — those still waiting first. It is
// rendered again, and the post edited in place, as each alert is claimed,
// contacted or closed; once none waits the headline says all are resolved.
func EscalationGroupReply(vs []AlertView, links []string, now time.Time) Reply {
	type item struct {
		v    AlertView
		link string
	}
	var waiting, resolved []item
	var due time.Time
	for i, v := range vs {
		v = v.normalized()
		it := item{v: v}
		if i < len(links) {
			it.link = links[i]
		}
		if due.IsZero() || (!v.DueAt.IsZero() && v.DueAt.Before(due)) {
			due = v.DueAt
		}
		if v.State == StateOpen || v.State == StateClaimed {
			waiting = append(waiting, it)
		} else {
			resolved = append(resolved, it)
		}
	}
	n := len(vs)
	var head, text string
	switch {
	case len(waiting) == 0:
		head = fmt.Sprintf("✅ *Resolved after an SLA breach:* all %d alerts due %s", n, dueDate(due))
		text = fmt.Sprintf("Resolved after an SLA breach: %d alerts", n)
	case len(resolved) == 0:
		head = fmt.Sprintf("🚨 *SLA breached:* %d alerts due %s, none contacted", n, dueDate(due))
		text = fmt.Sprintf("SLA breached: %d alerts", n)
	default:
		head = fmt.Sprintf("🚨 *SLA breached:* %d alerts due %s · *%d still waiting*, %d resolved", n, dueDate(due), len(waiting), len(resolved))
		text = fmt.Sprintf("SLA breached: %d alerts, %d still waiting", n, len(waiting))
	}
	blocks := []slack.Block{section(head)}
	// What the list may spend, serialised, leaving room for the headline
	// and the "+N more" line.
	budget := MaxMessageJSON - jsonLen(blocks[0]) - 200
	var names []string
	shown := 0
	for _, it := range append(waiting, resolved...) {
		if len(names) < 3 {
			names = append(names, escClip(plainAccount(it.v.AccountName, it.v.Domain, it.v.AccountID), maxNameLen))
		}
		if shown == maxEscalated || budget <= 0 {
			continue
		}
		v := it.v
		l := accountTitle(v.AccountName, v.Domain, v.AccountID) + " — " + escClip(tierLabel(v.Tier), maxLabelLen) + fmt.Sprintf(" · %d", v.Score) +
			" · " + channelRef(v.Channel) + " · owner " + escClip(orDash(v.OwnerRole), maxLabelLen)
		if safeURL(it.link) {
			l += " · " + link(it.link, "open ↗")
		}
		if p := waitingPerson(v); p != "" {
			l += "\n" + p
		}
		b := section(l + "\n" + statusLine(v.Status(), now, false))
		if budget -= jsonLen(b); budget < 0 {
			continue
		}
		blocks = append(blocks, b)
		shown++
	}
	if n > shown {
		blocks = append(blocks, contextLine(fmt.Sprintf("+%d more alerts due in the same minute", n-shown)))
	}
	if more := n - len(names); more > 0 {
		names = append(names, fmt.Sprintf("+%d more", more))
	}
	return Reply{Text: text + " — " + strings.Join(names, ", "), Blocks: blocks}
}

// AlreadyClaimedText is the ephemeral reply to a Claim click on an alert
// someone else holds.
func AlreadyClaimedText(byUser string) string {
	return "Already claimed by " + mention(byUser) + "."
}

// NotOwnerText is the ephemeral reply when someone other than the claimant
// tries an owner-only action (Mark contacted, Release).
func NotOwnerText(owner string) string {
	return "Only " + mention(owner) + ", who claimed this alert, can do that."
}

// AlreadyClosedText is the ephemeral reply to a click on an alert that is
// already contacted or closed (a stale message).
func AlreadyClosedText() string {
	return "This alert is already closed; nothing to do."
}
