package slackui

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pqlbot/pqlbot/internal/people"
)

// Budget of the people section: three lines of a name, a title, an email
// and an action fit easily; the cap only matters for hostile traits.
const peopleBudget = 1500

// mailtoRe is deliberately narrow: only an address that cannot break the
// <mailto:…|…> syntax becomes a link.
var mailtoRe = regexp.MustCompile(`^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$`)

// PeopleText renders the people to contact as mrkdwn under title (e.g.
// "*Who to contact*"), one line each (PersonLine), the hand-raiser first as
// given. It returns "" for no people, so callers can leave the section out.
func PeopleText(title string, ps []people.Person) string {
	if len(ps) == 0 {
		return ""
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = PersonLine(p)
	}
	head := ""
	if title != "" {
		head = title + "\n"
	}
	return lineList(head, lines, people.Max, peopleBudget, plusMore("people"))
}

// PersonLine is one person as a rep scans it: who (name, else email, else
// the user id when identify never named them), title, email as a mailto link, then what
// they last did and when, in the reader's time zone. The hand-raiser is
// marked ✋. Every piece of user data is escaped.
func PersonLine(p people.Person) string {
	var b strings.Builder
	if p.HandRaiser {
		b.WriteString("✋ ")
	} else {
		b.WriteString("👤 ")
	}
	switch {
	case p.Name != "":
		b.WriteString("*" + escClip(p.Name, maxNameLen) + "*")
	case p.Email != "":
		// No name on record: the address is who they are.
	default:
		b.WriteString("user " + escClip(orDash(p.UserID), maxNameLen))
	}
	if p.Title != "" {
		b.WriteString(", " + escClip(p.Title, maxLabelLen))
	}
	if p.Email != "" {
		if p.Name != "" || p.Title != "" {
			b.WriteString(" · ")
		}
		if mailtoRe.MatchString(p.Email) {
			b.WriteString("<mailto:" + p.Email + "|" + esc(p.Email) + ">")
		} else {
			b.WriteString(escClip(p.Email, maxNameLen))
		}
	}
	if p.Action != "" {
		b.WriteString(" — " + escClip(ActionPhrase(p.Action, p.ActionKind), maxDetailLen))
		if !p.ActionAt.IsZero() {
			b.WriteString(" " + slackDate(p.ActionAt, "{date_short_pretty} at {time}"))
		}
	}
	return b.String()
}

// PersonText is a person and their action in one escaped phrase for the
// fallback text of a message (what a phone notification shows): "Hiro
// Walsh (IT Administrator) requested sales contact". No dates: fallback
// text shows Slack date tokens raw on some clients.
func PersonText(p people.Person) string {
	who := p.Name
	if who == "" {
		who = p.Email
	}
	if who == "" {
		who = "user " + p.UserID
	}
	s := escClip(who, maxNameLen)
	if p.Title != "" {
		s += " (" + escClip(p.Title, maxLabelLen) + ")"
	}
	if p.Action != "" {
		s += " " + escClip(ActionPhrase(p.Action, p.ActionKind), maxDetailLen)
	}
	return s
}

// ActionPhrase says what an event or page view was as a verb phrase:
// "Sales Contact Requested" → "requested sales contact", "Workflow
// Completed" → "completed workflow", page "Pricing" → "viewed Pricing".
// A name that does not end in a past-tense verb is quoted: `triggered
// "Export"`. The result is plain text; escape it for mrkdwn.
func ActionPhrase(action, kind string) string {
	action = strings.Join(strings.Fields(action), " ")
	switch kind {
	case people.ActionPage:
		return "viewed " + action
	case people.ActionScreen:
		return "opened the " + action + " screen"
	}
	words := strings.Fields(action)
	if n := len(words); n >= 2 && pastTense(words[n-1]) {
		obj := make([]string, n-1)
		for i, w := range words[:n-1] {
			obj[i] = lowerWord(w)
		}
		return strings.ToLower(words[n-1]) + " " + strings.Join(obj, " ")
	}
	if len(words) == 1 && pastTense(words[0]) {
		return strings.ToLower(words[0])
	}
	return "triggered “" + action + "”"
}

func pastTense(w string) bool {
	w = strings.ToLower(w)
	return len(w) > 3 && strings.HasSuffix(w, "ed") && !strings.HasSuffix(w, "eed")
}

// lowerWord lowercases a capitalised word but keeps acronyms (API, CSV)
// and mixed-case names (GitHub) as written.
func lowerWord(w string) string {
	r, size := utf8.DecodeRuneInString(w)
	rest := w[size:]
	if !unicode.IsUpper(r) || strings.ToLower(rest) != rest {
		return w
	}
	return strings.ToLower(w[:size]) + rest
}
