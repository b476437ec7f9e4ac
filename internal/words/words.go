// Package words renders counts and durations for people: "1 account",
// "2 accounts", "1 h 5 min", "67% (2/3)". Every reply, the App Home and the
// terminal output use it, so a plural or a unit reads the same everywhere.
// It is pure.
package words

import (
	"fmt"
	"strings"
	"time"
)

// irregular holds the plurals English spelling rules below get wrong.
var irregular = map[string]string{
	"person": "people",
	"is":     "are",
	"was":    "were",
	"has":    "have",
}

// Plural is noun's plural form. The noun may be several words; only the
// last one changes ("open breach" → "open breaches").
func Plural(noun string) string {
	head, last := "", noun
	if i := strings.LastIndexByte(noun, ' '); i >= 0 {
		head, last = noun[:i+1], noun[i+1:]
	}
	if p, ok := irregular[last]; ok {
		return head + p
	}
	n := len(last)
	switch {
	case n == 0:
		return noun
	case strings.HasSuffix(last, "s") || strings.HasSuffix(last, "x") || strings.HasSuffix(last, "z") ||
		strings.HasSuffix(last, "ch") || strings.HasSuffix(last, "sh"):
		return noun + "es"
	case n > 1 && last[n-1] == 'y' && !strings.ContainsRune("aeiou", rune(last[n-2])):
		return head + last[:n-1] + "ies"
	}
	return noun + "s"
}

// Noun is noun in the number n asks for: singular for 1 (and -1), plural
// otherwise ("0 accounts").
func Noun(n int, noun string) string {
	if n == 1 || n == -1 {
		return noun
	}
	return Plural(noun)
}

// Count is "1 account", "2 accounts", "0 accounts".
func Count(n int, noun string) string {
	return fmt.Sprintf("%d %s", n, Noun(n, noun))
}

// Share is a percentage with what it is of: "67% (2/3)". With nothing to
// count (of 0) it is "— (0/0)", never a made-up 0% or 100%.
func Share(x, of int) string {
	if of <= 0 {
		return fmt.Sprintf("— (%d/%d)", x, of)
	}
	return fmt.Sprintf("%d%% (%d/%d)", (x*100+of/2)/of, x, of)
}

// Duration renders a duration the way every pqlbot surface shows SLA
// clocks: "< 1 min", "45 min", "1 h 5 min", "24 h", "2 d 3 h". Days start
// at 48 h, so a 24 h SLA reads as configured (and 24 business hours never
// pass for "1 d"). Smaller units are truncated, not rounded, so "35 min"
// never means 34 min 40 s. Negative durations get a leading "-".
func Duration(d time.Duration) string {
	if d < 0 {
		if d == -1<<63 {
			d++
		}
		return "-" + Duration(-d)
	}
	switch {
	case d == 0:
		return "0 min"
	case d < time.Minute:
		return "< 1 min"
	case d < time.Hour:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d < 48*time.Hour:
		h, m := d/time.Hour, d%time.Hour/time.Minute
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	default:
		days, h := d/(24*time.Hour), d%(24*time.Hour)/time.Hour
		if h == 0 {
			return fmt.Sprintf("%d d", days)
		}
		return fmt.Sprintf("%d d %d h", days, h)
	}
}

// Overdue is "overdue 1 h 5 min"; left is "3 h left". d is counted by the
// caller on the SLA clock (business hours when the model has them).
func Overdue(d time.Duration) string { return "overdue " + Duration(d) }

// Left is the time before a deadline: "3 h left".
func Left(d time.Duration) string { return Duration(d) + " left" }
