package slackui

import (
	"fmt"
	"math"
	"strings"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/words"
)

// parseStats reads `stats [30d | 90d | quarter]` (default 30d).
func parseStats(args []string) (Command, error) {
	c := Command{Kind: CommandStats, StatsPeriod: program.Period30d}
	switch {
	case len(args) > 1:
		return Command{}, problemf("`stats` takes one period (30d, 90d or quarter), got %s", quote(strings.Join(args, " ")))
	case len(args) == 1:
		switch p := strings.ToLower(args[0]); p {
		case program.Period30d, program.Period90d, program.PeriodQuarter:
			c.StatsPeriod = p
		default:
			return Command{}, problemf("the period must be 30d, 90d or quarter, got %s", quote(args[0]))
		}
	}
	return c, nil
}

// periodTitle names a period for people.
func periodTitle(p program.Period) string {
	switch p.Name {
	case program.Period90d:
		return "last 90 days"
	case program.PeriodQuarter:
		return fmt.Sprintf("Q%d %d so far", (int(p.From.Month())-1)/3+1, p.From.Year())
	}
	return "last 30 days"
}

// bandLine says where a rate sits against the seeds' healthy band.
func bandLine(b program.Band, lo, hi float64) string {
	rng := fmt.Sprintf("%.0f–%.0f%%", lo*100, hi*100)
	switch b {
	case program.BandTooFew:
		return fmt.Sprintf("_too few alerts to judge (under %d)_ · healthy %s", program.MinForBand, rng)
	case program.BandProblem:
		return fmt.Sprintf("🚩 under %.0f%%: a problem in the definition or the follow-up · healthy %s", program.ProblemBelow*100, rng)
	case program.BandLow:
		return "⚠️ below the healthy " + rng
	case program.BandHealthy:
		return "✅ within the healthy " + rng
	}
	return "⬆️ above the healthy " + rng + ": the threshold may be strict"
}

func days(m program.Median) string {
	if m.N == 0 {
		return "—"
	}
	d := math.Round(m.Days*10) / 10
	return fmt.Sprintf("%s d (%s)", trimFloat(d), words.Count(m.N, "account"))
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", f), "0"), ".")
}

func share(r program.Ratio) string { return words.Share(r.X, r.Y) }

// programBlocks are the figures, shared by `/pql stats`, the App Home
// section and the digest.
func programBlocks(f program.Figures) []slack.Block {
	if f.Alerts == 0 && f.WonAlertedFirst.Y == 0 {
		return []slack.Block{section(fmt.Sprintf("No PQL alerts were posted and no account was won in the %s.", periodTitle(f.Period)))}
	}
	field := func(label, value string) *slack.TextBlockObject { return mrkdwn("*" + label + "*\n" + value) }
	tiers := make([]string, len(f.ByTier))
	for i, t := range f.ByTier {
		tiers[i] = fmt.Sprintf("%s %s %d", tierEmoji(t.Tier), escClip(tierLabel(t.Tier), maxLabelLen), t.N)
	}
	alerts := fmt.Sprint(f.Alerts)
	if len(tiers) > 0 {
		alerts += " · " + strings.Join(tiers, " · ")
	}
	won := words.Count(f.WonAlertedFirst.Y, "account")
	if f.WonAlertedFirst.Y > 0 {
		won += " · " + share(f.WonAlertedFirst) + " alerted first"
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			field("PQL alerts", alerts),
			field("New accounts alerted", share(f.NewAlerted)+" of accounts first seen"),
			field("Alert → opportunity", share(f.ToOpportunity)+"\n"+bandLine(program.OpportunityBand(f.ToOpportunity), program.OppHealthyMin, program.OppHealthyMax)),
			field("Alert → won", share(f.ToWon)+"\n"+bandLine(program.WonBand(f.ToWon), program.WonHealthyMin, program.WonHealthyMax)),
			field("Days to won (median)", "after an alert: "+days(f.DaysToWon)+"\nnever alerted, from first seen: "+days(f.DaysToWonNeverAlerted)),
			field("Won in the period", won),
		}, nil),
	}
	var b strings.Builder
	b.WriteString("*Won rate by time to contact* (the 24-hour rule, on your own alerts)")
	for _, c := range f.ByContact {
		fmt.Fprintf(&b, "\n• contacted %s: %s won", c.Label, share(c.Won))
		if c.Label == program.ContactNever {
			b.WriteString(" _(not contacted yet)_")
		}
	}
	blocks = append(blocks, section(b.String()))
	notFit := "Not a fit: " + share(f.NotFit)
	if len(f.NotFitByReason) > 0 {
		parts := make([]string, 0, len(f.NotFitByReason))
		for i, r := range f.NotFitByReason {
			if i == 6 {
				parts = append(parts, fmt.Sprintf("+%d more", len(f.NotFitByReason)-6))
				break
			}
			parts = append(parts, escClip(closereason.Reason(r.Reason).Label(), maxLabelLen)+" "+fmt.Sprint(r.N))
		}
		notFit += " — " + strings.Join(parts, " · ")
	}
	blocks = append(blocks, contextLine(notFit,
		fmt.Sprintf("An outcome counts for an alert when dated up to %s after it, never before it; alerts younger than that may still convert.", words.Count(f.WindowDays, "day"))))
	return blocks
}

func programText(f program.Figures) string {
	return fmt.Sprintf("PQL program, %s: %s, %s to opportunity, %s won, %s won in the period",
		periodTitle(f.Period), words.Count(f.Alerts, "alert"), share(f.ToOpportunity), share(f.ToWon), words.Count(f.WonAlertedFirst.Y, "account"))
}

func periodContext(p program.Period) *slack.ContextBlock {
	return contextLine(slackDate(p.From, "{date_short}") + " – " + slackDate(p.To, "{date_short}"))
}

// StatsReply renders `/pql stats`.
func StatsReply(f program.Figures) Reply {
	blocks := append([]slack.Block{header("PQL program · " + periodTitle(f.Period)), periodContext(f.Period)}, programBlocks(f)...)
	return Reply{Text: programText(f), Blocks: blocks}
}

// ProgramHomeSection is the App Home's "PQL program" section: the last 30
// days' figures, below a divider.
func ProgramHomeSection(f program.Figures) []slack.Block {
	return append([]slack.Block{
		slack.NewDividerBlock(),
		section("*PQL program · " + periodTitle(f.Period) + "*"),
	}, programBlocks(f)...)
}

// DigestMessage renders the scheduled digest (every: week or month).
func DigestMessage(f program.Figures, every string) Reply {
	title := "Weekly PQL program digest"
	if every == "month" {
		title = "Monthly PQL program digest"
	}
	blocks := append([]slack.Block{header(title + " · " + periodTitle(f.Period)), periodContext(f.Period)}, programBlocks(f)...)
	blocks = append(blocks, contextLine("Run `/pql stats 90d` or `/pql stats quarter` for a longer view."))
	return Reply{Text: title + ": " + programText(f), Blocks: blocks}
}

// StatsPlainText renders the figures for a terminal (`pqlbot stats`).
func StatsPlainText(f program.Figures) string {
	var b strings.Builder
	fmt.Fprintf(&b, "PQL program · %s (%s – %s)\n\n", periodTitle(f.Period), f.Period.From.Format("2006-01-02 15:04"), f.Period.To.Format("2006-01-02 15:04 MST"))
	tiers := make([]string, len(f.ByTier))
	for i, t := range f.ByTier {
		tiers[i] = fmt.Sprintf("%s %d", tierLabel(t.Tier), t.N)
	}
	plainBand := func(b program.Band, lo, hi float64) string {
		if b == program.BandHealthy {
			return fmt.Sprintf("within the healthy %.0f–%.0f%%", lo*100, hi*100)
		}
		return fmt.Sprintf("%s (healthy %.0f–%.0f%%)", b, lo*100, hi*100)
	}
	fmt.Fprintf(&b, "%-28s %d  %s\n", "PQL alerts", f.Alerts, strings.Join(tiers, " · "))
	fmt.Fprintf(&b, "%-28s %s of accounts first seen\n", "New accounts alerted", share(f.NewAlerted))
	fmt.Fprintf(&b, "%-28s %s  %s\n", "Alert → opportunity", share(f.ToOpportunity), plainBand(program.OpportunityBand(f.ToOpportunity), program.OppHealthyMin, program.OppHealthyMax))
	fmt.Fprintf(&b, "%-28s %s  %s\n", "Alert → won", share(f.ToWon), plainBand(program.WonBand(f.ToWon), program.WonHealthyMin, program.WonHealthyMax))
	fmt.Fprintf(&b, "%-28s %s after an alert · %s never alerted (from first seen)\n", "Days to won (median)", days(f.DaysToWon), days(f.DaysToWonNeverAlerted))
	fmt.Fprintf(&b, "%-28s %s · %s alerted first\n", "Won in the period", words.Count(f.WonAlertedFirst.Y, "account"), share(f.WonAlertedFirst))
	b.WriteString("\nWon rate by time to contact\n")
	for _, c := range f.ByContact {
		fmt.Fprintf(&b, "  contacted %-10s %s won\n", c.Label, share(c.Won))
	}
	fmt.Fprintf(&b, "\nNot a fit: %s", share(f.NotFit))
	for i, r := range f.NotFitByReason {
		sep := " — "
		if i > 0 {
			sep = " · "
		}
		fmt.Fprintf(&b, "%s%s %d", sep, closereason.Reason(r.Reason).Label(), r.N)
	}
	fmt.Fprintf(&b, "\nAn outcome counts for an alert when dated up to %s after it, never before it.\n", words.Count(f.WindowDays, "day"))
	return b.String()
}
