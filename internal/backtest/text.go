package backtest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pqlbot/pqlbot/internal/words"
)

// listedInText bounds the misses, noise and compare lists in the text
// report (the JSON document has up to 50 of each).
const listedInText = 15

// Text renders the report for a terminal: the seeds' validation step first
// (three figures with their definitions, counts and verdicts), then why.
func Text(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Backtest of model %s (sha256 %.12s)\n", r.Model.Version, r.Model.Hash)
	fmt.Fprintf(&b, "Window %s to %s (%d days, as of %s). Every account scored at the end of each UTC day\n",
		r.Window.From, r.Window.To, r.Window.Days, r.AsOf)
	fmt.Fprintf(&b, "with only what had happened by then, from %d days before the window; %s, %s (%s).\n",
		r.OutcomeWindowDays, words.Count(r.Accounts, "account"), words.Count(r.NewAccounts, "new account"),
		words.Count(r.WonAccounts, "won account"))

	b.WriteString("\nValidation against the targets\n")
	figure(&b, "Captured", r.Captured)
	figure(&b, "Flagged", r.Flagged)
	figure(&b, "PQL → won", r.WonRate)
	if r.OK {
		b.WriteString("  Verdict: PASS, every target holds.\n")
	} else {
		b.WriteString("  Verdict: FAIL, " + failed(r) + ".\n")
	}

	b.WriteString("\nLift (new accounts that won in the window)\n")
	fmt.Fprintf(&b, "  flagged %s, never flagged %s: lift %s\n",
		words.Share(r.LiftDetail.FlaggedWon, r.LiftDetail.Flagged),
		words.Share(r.LiftDetail.NotFlaggedWon, r.LiftDetail.NotFlagged), times(r.Lift))
	if len(r.Tiers) > 0 {
		rows := [][]string{{"highest tier flagged", "accounts", "won", "lift"}}
		for _, t := range r.Tiers {
			rows = append(rows, []string{t.Tier, itoa(t.Accounts), words.Share(t.Won, t.Accounts), times(t.Lift)})
		}
		table(&b, rows)
	}

	b.WriteString("\nSignals: fired in the 14 days before a win vs on some day of the window for active accounts that did not win\n")
	rows := [][]string{{"signal", "won", "did not win", "ratio", ""}}
	for _, s := range r.Signals {
		rows = append(rows, []string{s.Name, words.Share(s.WonFired, s.Won), words.Share(s.OtherFired, s.Other), times(s.Ratio), mark(s.Mark)})
	}
	table(&b, rows)

	if r.Sweep != nil {
		fmt.Fprintf(&b, "\nThreshold sweep: tier %s min_score (now %d); product = flagged share × won rate\n", r.Sweep.Tier, r.Sweep.Current)
		rows := [][]string{{"min_score", "flagged", "captured", "PQL → won", "product", ""}}
		for _, s := range r.Sweep.Rows {
			note := ""
			if s.Best {
				note = "← best"
			}
			if s.MinScore == r.Sweep.Current {
				note = strings.TrimSpace(note + " (current)")
			}
			rows = append(rows, []string{itoa(s.MinScore), pct(s.Flagged), pct(s.Captured), pct(s.WonRate), num(s.Product), note})
		}
		table(&b, rows)
	}

	fmt.Fprintf(&b, "\nMisses: %s never flagged in the %d days before the win\n", words.Count(len(r.Misses), "won account"), r.OutcomeWindowDays)
	for i, m := range r.Misses {
		if i == listedInText {
			fmt.Fprintf(&b, "  … and %d more (--json lists them all)\n", len(r.Misses)-i)
			break
		}
		fmt.Fprintf(&b, "  %s won %s", who(m.Account, m.Name), m.WonOn)
		if m.MaxScore != nil {
			fmt.Fprintf(&b, " · max score %d on %s", *m.MaxScore, m.MaxScoreOn)
		}
		fmt.Fprintf(&b, " · %s\n", strings.Join(m.HeldBack, "; "))
	}

	fmt.Fprintf(&b, "\nNoise: %s flagged in the window did not win", words.Count(r.Noise.Count, "account"))
	if len(r.Noise.NotAFit) > 0 {
		reasons := make([]string, 0, len(r.Noise.NotAFit))
		for k := range r.Noise.NotAFit {
			reasons = append(reasons, k)
		}
		slices.Sort(reasons)
		for i, k := range reasons {
			reasons[i] = fmt.Sprintf("%s %d", k, r.Noise.NotAFit[k])
		}
		fmt.Fprintf(&b, " · Not a fit: %s", strings.Join(reasons, ", "))
	}
	b.WriteString("\n")
	for i, n := range r.Noise.Accounts {
		if i == listedInText {
			fmt.Fprintf(&b, "  … (--json lists up to %d)\n", maxListed)
			break
		}
		fmt.Fprintf(&b, "  %s flagged %s (tier %s, max score %d)", who(n.Account, n.Name), n.FirstFlag, n.Tier, n.MaxScore)
		if len(n.NotAFit) > 0 {
			fmt.Fprintf(&b, " · Not a fit: %s", strings.Join(n.NotAFit, ", "))
		}
		b.WriteString("\n")
	}

	b.WriteString("\nData health\n")
	if len(r.Health.Warnings) == 0 {
		b.WriteString("  no problems found: outcomes all matched, events every day, samples large enough\n")
	}
	for _, w := range r.Health.Warnings {
		fmt.Fprintf(&b, "  ! %s\n", w)
	}
	var gaps []string
	for _, d := range r.Health.DaysWithoutEvents {
		if d > r.Health.FirstEvent { // after the data starts: a gap
			gaps = append(gaps, d)
		}
	}
	if n := len(gaps); n > 0 {
		days := gaps
		if n > 10 {
			days = append(slices.Clone(days[:10]), "…")
		}
		fmt.Fprintf(&b, "    days without events since the first: %s\n", strings.Join(days, ", "))
	}

	if c := r.Compare; c != nil {
		compareText(&b, r, c)
	}
	return b.String()
}

func compareText(b *strings.Builder, r *Report, c *Comparison) {
	cand := c.Candidate
	fmt.Fprintf(b, "\nCompare: current %s (%.12s) vs candidate %s (%.12s)\n", r.Model.Version, r.Model.Hash, cand.Model.Version, cand.Model.Hash)
	verdict := func(f Figure) string { return fmt.Sprintf("%s %s", figShare(f), mark(okMark(f.OK))) }
	table(b, [][]string{
		{"", "current", "candidate"},
		{"Captured", verdict(r.Captured), verdict(cand.Captured)},
		{"Flagged", verdict(r.Flagged), verdict(cand.Flagged)},
		{"PQL → won", verdict(r.WonRate), verdict(cand.WonRate)},
		{"Lift", times(r.Lift), times(cand.Lift)},
		{"Misses", itoa(len(r.Misses)), itoa(len(cand.Misses))},
		{"Noise", itoa(r.Noise.Count), itoa(cand.Noise.Count)},
		{"Verdict", passFail(r.OK), passFail(cand.OK)},
	})
	list := func(title string, ids []string, n int) {
		fmt.Fprintf(b, "  %s: %d", title, n)
		if n > 0 {
			shown := ids
			if len(shown) > listedInText {
				shown = shown[:listedInText]
			}
			fmt.Fprintf(b, " (%s", strings.Join(shown, ", "))
			if n > len(shown) {
				fmt.Fprintf(b, ", … %d more", n-len(shown))
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	list("Newly flagged by the candidate", c.NewlyFlagged, c.NewlyCount)
	list("No longer flagged by the candidate", c.NoLongerFlagged, c.NoLongerCount)
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func okMark(ok bool) string {
	if ok {
		return "ok"
	}
	return "fail"
}

func figure(b *strings.Builder, label string, f Figure) {
	status := "✓"
	if !f.OK {
		status = "✗"
	}
	target := ""
	switch {
	case f.Target != nil:
		target = "target ≥ " + pct(f.Target)
	case f.TargetMin != nil:
		target = "target " + pct(f.TargetMin) + "–" + pct(f.TargetMax)
	}
	fmt.Fprintf(b, "  %s %-10s %-14s %s\n      %s\n", status, label, figShare(f), target, f.Definition)
}

func figShare(f Figure) string { return words.Share(f.Count, f.Of) }

func failed(r *Report) string {
	var out []string
	t := func(f Figure, what string) {
		if f.OK {
			return
		}
		if f.Of == 0 {
			out = append(out, what+" cannot be measured (nothing to count)")
			return
		}
		out = append(out, what+" "+pct(f.Share)+" misses its target")
	}
	t(r.Captured, "captured")
	t(r.Flagged, "flagged")
	t(r.WonRate, "PQL → won")
	return strings.Join(out, "; ")
}

func who(id, name string) string {
	if name == "" || name == id {
		return id
	}
	return id + " (" + name + ")"
}

func mark(m string) string {
	switch m {
	case "near everyone":
		return "⚠ fires for nearly everyone"
	case "near no one":
		return "⚠ fires for nearly no one"
	case "ok":
		return "✓"
	case "fail":
		return "✗"
	}
	return m
}

func pct(f *float64) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", math.Round(*f*100))
}

func num(f *float64) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f", *f)
}

func times(f *float64) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f×", *f)
}

// table writes rows with aligned columns, indented by two spaces.
func table(b *strings.Builder, rows [][]string) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		line := "  "
		for i, c := range r {
			if i > 0 {
				line += "  "
			}
			line += c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}
