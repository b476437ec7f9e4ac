package scoring

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pqlbot/pqlbot/internal/model"
)

// Explain renders a result as plain text for a terminal or a slash-command
// reply: the score line, whether it alerts and why not, the gates, every
// signal (fired first) with the numbers behind it, the hand-raise and
// activity. It is what `pqlbot score` prints.
func Explain(r Result) string {
	var b strings.Builder
	title := r.AccountID
	switch {
	case r.Name != "" && r.Domain != "":
		title = fmt.Sprintf("%s (%s) · account %s", r.Name, r.Domain, r.AccountID)
	case r.Name != "":
		title = fmt.Sprintf("%s · account %s", r.Name, r.AccountID)
	case r.Domain != "":
		title = fmt.Sprintf("%s · account %s", r.Domain, r.AccountID)
	}
	b.WriteString(title + "\n")
	tier := r.Tier
	if tier == "" {
		tier = "none"
	}
	fmt.Fprintf(&b, "Score %d · tier %s · segment %s", r.Score, tier, orNone(r.Segment))
	if r.NextTier != "" {
		fmt.Fprintf(&b, " · %d to %s", r.NextTierMin-r.Score, r.NextTier)
	}
	b.WriteString("\n")

	if r.Alertable {
		fmt.Fprintf(&b, "Alerting: yes → %s", r.Route.Channel)
		if r.Route.Owner != "" {
			fmt.Fprintf(&b, " (owner %s, SLA %s)", r.Route.Owner, model.FormatDuration(r.Route.SLA))
		} else {
			fmt.Fprintf(&b, " (SLA %s)", model.FormatDuration(r.Route.SLA))
		}
		b.WriteString("\n")
	} else {
		b.WriteString("Not alerting:\n")
		for _, x := range r.Reasons {
			fmt.Fprintf(&b, "  • %s\n", x.Text)
		}
	}

	if len(r.Gates) > 0 {
		b.WriteString("\nFit gates\n")
		for _, g := range r.Gates {
			fmt.Fprintf(&b, "  %s %s\n", mark(g.Passed), g.Text)
		}
	}

	width := 0
	for _, s := range r.Signals {
		width = max(width, utf8.RuneCountInString(s.Name))
	}
	var fired, idle []SignalResult
	for _, s := range r.Signals {
		if s.Fired {
			fired = append(fired, s)
		} else {
			idle = append(idle, s)
		}
	}
	if len(fired) > 0 {
		b.WriteString("\nSignals that fired\n")
		for _, s := range fired {
			fmt.Fprintf(&b, "  %5s  %-*s  %-8s  %s\n", fmt.Sprintf("%+d", s.Points), width, s.Name, s.Category, s.Detail)
		}
		fmt.Fprintf(&b, "  %5s  total\n", fmt.Sprintf("%d", r.Score))
	}
	if len(idle) > 0 {
		b.WriteString("\nSignals that did not fire\n")
		for _, s := range idle {
			fmt.Fprintf(&b, "  %5s  %-*s  %-8s  %s\n", fmt.Sprintf("(%+d)", s.Points), width, s.Name, s.Category, s.Detail)
		}
	}

	b.WriteString("\n")
	if r.HandRaise != nil {
		fmt.Fprintf(&b, "Hand-raise: %s on %s\n", r.HandRaise.Event, r.HandRaise.Day.Format(time.DateOnly))
	}
	fmt.Fprintf(&b, "Active users in the last %d days: %d", r.RecencyDays, r.ActiveUsers)
	if !r.LastEventAt.IsZero() {
		fmt.Fprintf(&b, " · last event %s", r.LastEventAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if !r.FirstEventAt.IsZero() {
		fmt.Fprintf(&b, " · first event %s", r.FirstEventAt.UTC().Format(time.DateOnly))
	}
	b.WriteString("\n")
	hash := r.ModelHash
	if len(hash) > 12 {
		hash = hash[:12]
	}
	fmt.Fprintf(&b, "Scored %s · model %s (%s)\n", r.At.UTC().Format("2006-01-02 15:04 UTC"), r.ModelVersion, hash)
	return b.String()
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
