package slackui

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Per-item clipping lengths (in characters). They keep any single
// user-supplied value from crowding out the rest of a message.
const (
	maxNameLen   = 80
	maxDetailLen = 160
	maxLabelLen  = 40
	maxValueLen  = 150
)

// zwsp (U+200B) is put on both sides of an underscore in user data: Slack
// has no escape for mrkdwn, and an underscore without a word boundary next
// to it opens no italics, while the reader sees it unchanged.
const zwsp = "\u200b"

// Look-alikes for the mrkdwn delimiters a fence does not hold: an asterisk
// inside a name that pqlbot shows in bold would close the bold early, and
// code spans open mid-word. These read the same and format nothing.
const (
	starLookalike     = "∗" // U+2217 ASTERISK OPERATOR
	tildeLookalike    = "∼" // U+223C TILDE OPERATOR
	backtickLookalike = "ˋ" // U+02CB MODIFIER LETTER GRAVE ACCENT
)

// esc escapes text for Slack mrkdwn so that user-supplied values can never
// become mentions, <!channel>, links, or bold, italic, strike-through and
// code: & < > become entities, * ~ ` become look-alikes and _ is fenced
// with zero-width spaces.
func esc(s string) string { return escape(s, false) }

// escProblem escapes a parse problem (CommandError.Problem): pqlbot's own
// words with the user's input in code spans (quote already took any
// backtick out of it), so backticks stay and everything else is escaped.
func escProblem(s string, n int) string { return escape(clip(s, n), true) }

func escape(s string, keepCode bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '`':
			if keepCode {
				b.WriteRune(r)
			} else {
				b.WriteString(backtickLookalike)
			}
		case '*':
			b.WriteString(starLookalike)
		case '~':
			b.WriteString(tildeLookalike)
		case '_':
			b.WriteString(zwsp + "_" + zwsp)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clip shortens s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + "…"
}

// escClip clips then escapes: clipping first never cuts an entity in half.
func escClip(s string, n int) string { return esc(clip(s, n)) }

// plainClip prepares text for a plain_text object: no escaping (Slack does
// not parse plain_text), newlines flattened, clipped.
func plainClip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	return clip(strings.TrimSpace(s), n)
}

var (
	userIDRe    = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)
	channelIDRe = regexp.MustCompile(`^[CGD][A-Z0-9]{2,30}$`)
	groupIDRe   = regexp.MustCompile(`^S[A-Z0-9]{2,30}$`)
)

// mention renders a user reference. Only well-formed Slack user ids become
// <@ID> mentions; anything else is shown as escaped text.
func mention(userID string) string {
	switch {
	case userIDRe.MatchString(userID):
		return "<@" + userID + ">"
	case userID == "":
		return "someone"
	default:
		return escClip(userID, maxNameLen)
	}
}

// channelRef renders a channel given as an id (C0123…) or a name (#sales).
func channelRef(ch string) string {
	if channelIDRe.MatchString(ch) {
		return "<#" + ch + ">"
	}
	if ch == "" {
		return "no channel"
	}
	return "#" + escClip(strings.TrimPrefix(ch, "#"), maxNameLen)
}

// safeURL reports whether u can sit inside <u|text> without breaking the
// link syntax or smuggling another link in.
func safeURL(u string) bool {
	if !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) || len(u) > 1500 {
		return false
	}
	return !strings.ContainsAny(u, "<>| \n\r\t") && utf8.ValidString(u)
}

// link renders <url|text>, or just the text when url is empty or unsafe.
// text must already be escaped.
func link(url, text string) string {
	if !safeURL(url) {
		return text
	}
	return "<" + url + "|" + text + ">"
}

// slackDate renders t with Slack date formatting, so every reader sees it in
// their own time zone; the fallback (UTC) is what clients that cannot
// format dates show.
func slackDate(t time.Time, format string) string {
	return fmt.Sprintf("<!date^%d^%s|%s>", t.Unix(), format, t.UTC().Format("2006-01-02 15:04 UTC"))
}

// dueDate is the format used for SLA deadlines: "Nov 23, 2026 at 2:00 PM"
// style, relative words ("today", "tomorrow") where they apply.
func dueDate(t time.Time) string { return slackDate(t, "{date_short_pretty} {time}") }

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func header(s string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(plain(plainClip(s, MaxHeaderText)))
}

func section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(s), nil, nil)
}

func contextLine(parts ...string) *slack.ContextBlock {
	els := make([]slack.MixedElement, 0, len(parts))
	for _, p := range parts {
		if p != "" && len(els) < MaxContextElements {
			els = append(els, mrkdwn(p))
		}
	}
	return slack.NewContextBlock("", els...)
}

// lineList joins lines into one mrkdwn text of at most budget characters.
// Lines that do not fit are counted and summarised by more(n), so a long
// list degrades to "+N more" instead of breaking the message.
func lineList(title string, lines []string, maxLines, budget int, more func(n int) string) string {
	var b strings.Builder
	used := 0
	if title != "" {
		b.WriteString(title)
		used = utf8.RuneCountInString(title)
	}
	reserve := 60 // room for the "+N more" line
	shown := 0
	newline := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	for i, l := range lines {
		n := utf8.RuneCountInString(l) + 1
		if shown >= maxLines || used+n > budget-reserve {
			newline()
			b.WriteString(more(len(lines) - i))
			return b.String()
		}
		newline()
		b.WriteString(l)
		used += n
		shown++
	}
	return b.String()
}

func plusMore(noun string) func(int) string {
	return func(n int) string { return fmt.Sprintf("_+%d more %s_", n, noun) }
}

// points renders signed points: "+25", "-15".
func points(p int) string {
	if p > 0 {
		return fmt.Sprintf("+%d", p)
	}
	return fmt.Sprintf("%d", p)
}

// tierLabel is the display name of a tier.
func tierLabel(t string) string {
	if t == "hand_raiser" {
		return "hand-raiser"
	}
	return t
}

func tierEmoji(t string) string {
	switch t {
	case "hand_raiser":
		return "✋"
	case "high":
		return "🔥"
	case "mid":
		return "📈"
	default:
		return "📣"
	}
}

// accountTitle is "Name (domain)" escaped, with fallbacks when either is
// missing, for use inside mrkdwn.
func accountTitle(name, domain, id string) string {
	switch {
	case name != "" && domain != "":
		return "*" + escClip(name, maxNameLen) + "* (" + escClip(domain, maxNameLen) + ")"
	case name != "":
		return "*" + escClip(name, maxNameLen) + "*"
	case domain != "":
		return "*" + escClip(domain, maxNameLen) + "*"
	default:
		return "*" + escClip(id, maxNameLen) + "*"
	}
}

// plainAccount is the account name for plain_text contexts.
func plainAccount(name, domain, id string) string {
	switch {
	case name != "":
		return name
	case domain != "":
		return domain
	case id != "":
		return id
	default:
		return "Unknown account"
	}
}
