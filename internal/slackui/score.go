package slackui

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

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

func parseScore(args []string) (Command, error) {
	if len(args) == 0 {
		return Command{}, problemf("`score` needs a domain, account id or email, e.g. `score acme.com`")
	}
	if len(args) > 1 {
		return Command{}, problemf("`score` takes one domain, account id or email, got %s", quote(strings.Join(args, " ")))
	}
	raw := unwrapLink(args[0])
	if raw == "" || utf8.RuneCountInString(raw) > maxTargetLen {
		return Command{}, problemf("%s is not a domain, account id or email", quote(args[0]))
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
