package slackui

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/words"
)

// `/pql score` and `pqlbot score`: one ScoreView, two renderings
// (ScoreReply for Slack, ScoreText for a terminal), so both always state
// the same facts in the same order.

// ScoreStatus is what matters first about an account: the headline.
type ScoreStatus string

// Headline statuses, in the order a lookup checks them.
const (
	// ScoreAlerting: the account has an open or claimed alert.
	ScoreAlerting ScoreStatus = "alerting"
	// ScoreQualifies: nothing stands in the way; an alert is being posted.
	ScoreQualifies ScoreStatus = "qualifies"
	// ScoreExcluded: disqualified, suppressed or failing a fit gate.
	ScoreExcluded ScoreStatus = "excluded"
	// ScoreCoolingDown: it alerted recently and will not repeat yet.
	ScoreCoolingDown ScoreStatus = "cooling_down"
	// ScoreInactive: no event inside the recency window.
	ScoreInactive ScoreStatus = "inactive"
	// ScoreBelow: its score is short of every tier that alerts.
	ScoreBelow ScoreStatus = "below_threshold"
	// ScoreNotScored: the account exists but was not scored yet.
	ScoreNotScored ScoreStatus = "not_scored"
)

// Headline is the first thing a lookup says. Short is a few words for the
// title ("excluded: fit gate"); Text is the full sentence in a rep's words
// (plain text, escaped by the renderer); More are further reasons.
type Headline struct {
	Status ScoreStatus
	Short  string
	Text   string
	More   []string
}

func (h Headline) emoji() string {
	switch h.Status {
	case ScoreAlerting:
		return "🔔"
	case ScoreQualifies:
		return "📣"
	case ScoreExcluded:
		return "⛔"
	case ScoreCoolingDown:
		return "⏸️"
	case ScoreInactive:
		return "💤"
	case ScoreBelow:
		return "📉"
	}
	return "⏳"
}

// GateLine is one fit gate and whether the account passes it.
type GateLine struct {
	// Name is the requirement in words ("at least 10 employees").
	Name   string
	Passed bool
	// Detail is how the account stands ("has 4", "gmail.com is a free
	// email provider").
	Detail string
}

// EventLine is one recent event of the account.
type EventLine struct {
	At   time.Time
	Name string
	// User is who did it (email, name or user id), optional.
	User string
}

// AlertSummary is an account's alert as a lookup shows it.
type AlertSummary struct {
	AlertID     string
	Tier        string
	Score       int
	State       State
	Breached    bool
	PostedAt    time.Time
	DueAt       time.Time
	ClaimedBy   string
	ClaimedAt   time.Time
	ContactedBy string
	ContactedAt time.Time
	CloseReason closereason.Reason
	Channel     string
	// Left is the SLA time left (negative: overdue), counted like the
	// deadline (business hours when the model has them). Zero when the
	// alert is not active.
	Left time.Duration
	// Permalink to the alert message, empty if unknown.
	Permalink string
	// Status is where the alert stands, for the shared status line.
	Status Status
}

func (a *AlertSummary) active() bool { return a.State == StateOpen || a.State == StateClaimed }

// ScoreView is what `/pql score` and `pqlbot score` show about one account.
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
	// Now is when the lookup ran: status lines are relative to it.
	Now time.Time

	Headline Headline
	// Alert is the open or claimed alert (the "Alert" section); Last is
	// the latest alert otherwise. At most one is set.
	Alert *AlertSummary
	Last  *AlertSummary

	// People are who to contact, the hand-raiser first.
	People []people.Person

	// Signals fired; Unfired did not, with Points what they would add.
	// Details are in a rep's words.
	Signals []SignalLine
	Unfired []SignalLine
	Gates   []GateLine
	Fit     []Fact

	ActiveUsers     int
	ActiveUsersDays int
	// LatestEvents, newest first (the caller orders and limits them).
	LatestEvents []EventLine
}

func (v ScoreView) name() string { return plainAccount(v.AccountName, v.Domain, v.AccountID) }

// title is the header: what matters, then the score.
func (v ScoreView) title() string {
	t := v.Headline.emoji() + " " + v.name()
	if v.Headline.Short != "" {
		t += " — " + v.Headline.Short
	}
	if v.Headline.Status != ScoreNotScored {
		t += fmt.Sprintf(" · score %d", v.Score)
	}
	return t
}

// scoreLine is "Score 82 · tier high · segment mid_market".
func (v ScoreView) scoreLine() string {
	if v.Headline.Status == ScoreNotScored {
		return ""
	}
	return fmt.Sprintf("Score %d · tier %s · segment %s", v.Score, tierLabel(orDash(v.Tier)), orDash(v.Segment))
}

// alertClock is "3 h left" or "overdue 1 h 5 min" for an active alert.
func alertClock(a *AlertSummary) string {
	if !a.active() || a.DueAt.IsZero() {
		return ""
	}
	if a.Left < 0 || a.Breached {
		return words.Overdue(max(-a.Left, 0))
	}
	return words.Left(a.Left)
}

func alertSectionText(a *AlertSummary, now time.Time) string {
	l := "*Alert* (" + escClip(tierLabel(a.Tier), maxLabelLen) + fmt.Sprintf(", score %d at alert)\n", a.Score) + StatusLine(a.Status, now)
	var parts []string
	if c := alertClock(a); c != "" {
		if strings.HasPrefix(c, "overdue") {
			c = "🚨 *" + c + "*"
		}
		parts = append(parts, c+" in SLA time")
	}
	if a.Channel != "" {
		parts = append(parts, channelRef(a.Channel))
	}
	if safeURL(a.Permalink) {
		parts = append(parts, link(a.Permalink, "open alert"))
	}
	if len(parts) > 0 {
		l += "\n" + strings.Join(parts, " · ")
	}
	return l
}

func lastAlertText(a *AlertSummary, now time.Time) string {
	s := "Last alert (" + escClip(tierLabel(a.Tier), maxLabelLen) + "): " + StatusLine(a.Status, now)
	if safeURL(a.Permalink) {
		s += " · " + link(a.Permalink, "open alert")
	}
	return s
}

func gateMark(passed bool) string {
	if passed {
		return "✅"
	}
	return "❌"
}

// ScoreReply renders `/pql score` for one account: the headline first,
// then the alert, the signals, the fit gates and facts, the latest events.
func ScoreReply(v ScoreView) Reply {
	blocks := []slack.Block{header(v.title())}

	head := "*" + escClip(v.Headline.Text, 400) + "*"
	if len(v.Headline.More) > 0 {
		more := make([]string, len(v.Headline.More))
		for i, r := range v.Headline.More {
			more[i] = "• " + escClip(r, maxDetailLen)
		}
		head = lineList(head+"\n", more, 8, 1200, plusMore("reasons"))
	}
	if l := v.scoreLine(); l != "" {
		head += "\n" + escClip(l, 200)
	}
	blocks = append(blocks, section(head))

	if v.Alert != nil {
		blocks = append(blocks, section(alertSectionText(v.Alert, v.Now)))
	}
	if txt := PeopleText("*Who to contact*", v.People); txt != "" {
		blocks = append(blocks, section(txt))
	}
	if v.Headline.Status == ScoreNotScored {
		return Reply{Text: escClip(v.name(), maxNameLen) + ": " + escClip(v.Headline.Text, 200), Blocks: append(blocks, scoreContext(v))}
	}

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
			l := gateMark(g.Passed) + " " + escClip(g.Name, maxDetailLen)
			if g.Detail != "" {
				l += " — " + escClip(g.Detail, maxDetailLen)
			}
			gl[i] = l
		}
		blocks = append(blocks, section(lineList("*Fit gates*\n", gl, maxGates, 1000, plusMore("gates"))))
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
	if v.Last != nil {
		blocks = append(blocks, contextLine(lastAlertText(v.Last, v.Now)))
	}
	blocks = append(blocks, scoreContext(v))

	text := escClip(v.name(), maxNameLen) + ": " + escClip(v.Headline.Text, 200)
	return Reply{Text: text, Blocks: blocks}
}

func scoreContext(v ScoreView) *slack.ContextBlock {
	var ctx []string
	if v.Domain != "" {
		ctx = append(ctx, escClip(v.Domain, maxNameLen))
	}
	if v.AccountID != "" {
		ctx = append(ctx, "id "+escClip(v.AccountID, maxNameLen))
	}
	if v.ModelVersion != "" {
		ctx = append(ctx, "model "+escClip(v.ModelVersion, 40))
	}
	if !v.ScoredAt.IsZero() {
		ctx = append(ctx, "scored "+slackDate(v.ScoredAt, "{date_short_pretty} {time}"))
	}
	if safeURL(v.AccountURL) {
		ctx = append(ctx, link(v.AccountURL, "Open account ↗"))
	}
	return contextLine(strings.Join(ctx, " · "))
}

// ScoreText renders the same view for a terminal: plain text, times in
// UTC, the same sections in the same order as ScoreReply.
func ScoreText(v ScoreView) string {
	var b strings.Builder
	utc := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("%s", v.title())
	line("%s", v.Headline.Text)
	for _, r := range v.Headline.More {
		line("  • %s", r)
	}
	if l := v.scoreLine(); l != "" {
		line("%s", l)
	}
	if a := v.Alert; a != nil {
		s := fmt.Sprintf("\nAlert (%s, score %d at alert): %s", tierLabel(a.Tier), a.Score, StatusText(a.Status, v.Now, time.UTC))
		if c := alertClock(a); c != "" {
			s += " (" + c + " in SLA time)"
		}
		if a.Channel != "" {
			s += ", " + plainChannel(a.Channel)
		}
		if a.Permalink != "" {
			s += "\n  " + a.Permalink
		}
		line("%s", s)
	}
	if len(v.People) > 0 {
		line("\nWho to contact")
		for _, p := range v.People {
			line("  %s", personPlain(p))
		}
	}
	if v.Headline.Status == ScoreNotScored {
		line("\n%s", textFooter(v))
		return b.String()
	}
	line("\nSignals")
	if len(v.Signals)+len(v.Unfired) == 0 {
		line("  No signals in the model apply to this account.")
	}
	for _, s := range sortedSignals(v.Signals) {
		line("  %4s  %s — %s", points(s.Points), s.Name, s.Detail)
	}
	for _, s := range sortedSignals(v.Unfired) {
		line("  (%s) %s — %s (not met)", points(s.Points), s.Name, s.Detail)
	}
	if len(v.Gates) > 0 {
		line("\nFit gates")
		for _, g := range v.Gates {
			mark := "pass"
			if !g.Passed {
				mark = "FAIL"
			}
			l := fmt.Sprintf("  %s  %s", mark, g.Name)
			if g.Detail != "" {
				l += " — " + g.Detail
			}
			line("%s", l)
		}
	}
	line("\nFit")
	for _, f := range v.Fit {
		line("  %s: %s", f.Label, f.Value)
	}
	au := fmt.Sprintf("  Active users: %d", v.ActiveUsers)
	if v.ActiveUsersDays > 0 {
		au += fmt.Sprintf(" (last %d d)", v.ActiveUsersDays)
	}
	line("%s", au)
	line("\nLatest events")
	if len(v.LatestEvents) == 0 {
		line("  No events recorded.")
	}
	for _, e := range v.LatestEvents {
		l := "  " + utc(e.At) + "  " + e.Name
		if e.User != "" {
			l += " · " + e.User
		}
		line("%s", l)
	}
	if a := v.Last; a != nil {
		s := "\nLast alert (" + tierLabel(a.Tier) + "): " + StatusText(a.Status, v.Now, time.UTC)
		if !a.PostedAt.IsZero() {
			s += ", posted " + utc(a.PostedAt)
		}
		line("%s", s)
	}
	line("\n%s", textFooter(v))
	return b.String()
}

func textFooter(v ScoreView) string {
	var foot []string
	if v.Domain != "" {
		foot = append(foot, v.Domain)
	}
	foot = append(foot, "id "+v.AccountID)
	if v.ModelVersion != "" {
		foot = append(foot, "model "+v.ModelVersion)
	}
	if !v.ScoredAt.IsZero() {
		foot = append(foot, "scored "+v.ScoredAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if v.AccountURL != "" {
		foot = append(foot, v.AccountURL)
	}
	return strings.Join(foot, " · ")
}

// personPlain is a person for a terminal: "Hiro Walsh, IT Administrator
// · hiro@acme.io — requested sales contact 2026-11-28 14:00 UTC".
func personPlain(p people.Person) string {
	s := p.Name
	if s == "" {
		s = "user " + p.UserID
	}
	if p.HandRaiser {
		s = "✋ " + s
	}
	if p.Title != "" {
		s += ", " + p.Title
	}
	if p.Email != "" {
		s += " · " + p.Email
	}
	if p.Action != "" {
		s += " — " + ActionPhrase(p.Action, p.ActionKind)
		if !p.ActionAt.IsZero() {
			s += " " + p.ActionAt.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	return s
}

// plainChannel names a channel in a terminal, where a Slack channel link
// would not render.
func plainChannel(ch string) string {
	if channelIDRe.MatchString(ch) || strings.HasPrefix(ch, "#") {
		return ch
	}
	return "#" + ch
}

// Candidate is one account a name lookup matched.
type Candidate struct {
	AccountID string
	Name      string
	Domain    string
	Score     int
	Tier      string
}

// ScorePickReply lists the accounts a name matched, so the user can pick
// one: each line shows the command that looks it up exactly.
func ScorePickReply(command, query string, cands []Candidate, more bool) Reply {
	cmd := "/pql"
	if c := strings.TrimSpace(command); strings.HasPrefix(c, "/") && plainNameRe.MatchString(c[1:]) {
		cmd = c
	}
	q := "“" + escClip(query, 80) + "”"
	lines := make([]string, len(cands))
	for i, c := range cands {
		key := c.Domain
		if key == "" || !domainRe.MatchString(key) {
			key = c.AccountID
		}
		lines[i] = fmt.Sprintf("• %s — score %d · %s · `%s score %s`", accountTitle(c.Name, c.Domain, c.AccountID),
			c.Score, escClip(tierLabel(orDash(c.Tier)), maxLabelLen), esc(cmd), escClip(strings.ReplaceAll(key, "`", "'"), maxNameLen))
	}
	title := fmt.Sprintf("%s match %s. Which one?", words.Count(len(cands), "account"), q)
	if more {
		title = fmt.Sprintf("More than %s match %s; here are the first. Which one?", words.Count(len(cands), "account"), q)
	}
	blocks := []slack.Block{section("🔍 " + title), section(strings.Join(lines, "\n"))}
	return Reply{Text: title, Blocks: blocks}
}

// ScoreNotFoundReply is the `/pql score` reply when nothing matches query.
func ScoreNotFoundReply(query string) Reply {
	q := "`" + escClip(strings.ReplaceAll(query, "`", "'"), 80) + "`"
	return Reply{
		Text: "No account matches " + q,
		Blocks: []slack.Block{section("🔍 No account matches " + q +
			". Try a domain (`acme.com`), an account name, an account id, or the email of one of its users.")},
	}
}

// parseScore reads `score <domain | account id | email | name>`. A name
// may be several words; a single word that is no domain or email may be an
// account id or a name, and the lookup tries both.
func parseScore(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, problemf("`score` needs a domain, account name, account id or email, e.g. `score acme.com`")
	}
	if len(args) > 1 {
		name := strings.Join(args, " ")
		for _, a := range args {
			if l := strings.ToLower(unwrapLink(a)); strings.Contains(l, "@") || strings.Contains(l, "://") || (domainRe.MatchString(l) && !allDigitsAndDots(l)) {
				return Command{}, problemf("`score` takes one domain, account id or email (or an account name), got %s", quote(name))
			}
		}
		if utf8.RuneCountInString(name) > maxTargetLen {
			return Command{}, problemf("%s is too long for an account name", quote(name))
		}
		return Command{Kind: CommandScore, Raw: name, Target: name, TargetKind: TargetName}, nil
	}
	raw := unwrapLink(args[0])
	if raw == "" || utf8.RuneCountInString(raw) > maxTargetLen {
		return Command{}, problemf("%s is not a domain, account name, account id or email", quote(args[0]))
	}
	c := Command{Kind: CommandScore, Raw: raw}
	lower := strings.ToLower(raw)
	switch {
	case strings.Contains(raw, "@"):
		if !emailRe.MatchString(lower) {
			return Command{}, problemf("%s is not a valid email address", quote(raw))
		}
		c.Target, c.TargetKind = lower, TargetEmail
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		host := strings.TrimPrefix(strings.TrimPrefix(lower, "http://"), "https://")
		host, _, _ = strings.Cut(host, "/")
		host, _, _ = strings.Cut(host, ":")
		host = strings.TrimPrefix(host, "www.")
		if !domainRe.MatchString(host) {
			return Command{}, problemf("%s is not a valid domain", quote(raw))
		}
		c.Target, c.TargetKind = host, TargetDomain
	case domainRe.MatchString(lower) && !allDigitsAndDots(lower):
		c.Target, c.TargetKind = strings.TrimPrefix(lower, "www."), TargetDomain
	default:
		c.Target, c.TargetKind = raw, TargetAccountID
	}
	return c, nil
}

func allDigitsAndDots(s string) bool {
	return strings.Trim(s, "0123456789.") == ""
}
