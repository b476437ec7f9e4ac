package slackdelivery

import (
	"net/url"
	"strings"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// Renderer turns alerts into the views slackui renders.
type Renderer struct {
	Model *model.Model
	// AccountURL is PQLBOT_ACCOUNT_URL ("{account}" is replaced).
	AccountURL string
}

// View is the alert as the message shows it, with ps the people to contact
// (nil: none known).
func (r *Renderer) View(a *alerting.Alert, ps []people.Person) slackui.AlertView {
	ex := &a.Explanation
	v := slackui.AlertView{
		AlertID:         a.ID.String(),
		AccountID:       a.AccountID,
		AccountName:     ex.Name,
		Domain:          ex.Domain,
		Tier:            a.Tier,
		Score:           a.Score,
		AlertScore:      a.AlertScore,
		Mention:         a.Mention,
		People:          ps,
		MovedTo:         a.MovedToChannel,
		MovedFrom:       a.MovedFromChannel,
		Segment:         a.Segment,
		OwnerRole:       a.OwnerRole,
		Channel:         a.Channel,
		SLA:             a.SLA,
		PostedAt:        a.PostedAt,
		ClockFrom:       a.ClockFrom,
		DueAt:           a.DueAt,
		Hours:           alerting.Hours(r.Model),
		ModelVersion:    a.ModelVersion,
		Signals:         SignalLines(ex.Signals, false),
		Fit:             r.fitFacts(ex),
		ActiveUsers:     ex.ActiveUsers,
		ActiveUsersDays: ex.RecencyDays,
		ClaimedBy:       a.ClaimedBy,
		ClaimedAt:       a.ClaimedAt,
		ContactedBy:     a.ContactedBy,
		ContactedAt:     a.ContactedAt,
		ClosedBy:        a.ClosedBy,
		CloseReason:     closereason.Reason(a.CloseReason),
		Breached:        !a.BreachedAt.IsZero(),
		NudgedAt:        a.NudgedAt,
	}
	if hr := ex.HandRaise; hr != nil {
		v.HandRaise, v.HandRaiseDay = hr.Event, hr.Day
	}
	if r.AccountURL != "" {
		v.AccountURL = strings.ReplaceAll(r.AccountURL, "{account}", url.PathEscape(a.AccountID))
	}
	switch a.State {
	case alerting.StateClaimed:
		v.State = slackui.StateClaimed
	case alerting.StateContacted:
		v.State = slackui.StateContacted
	case alerting.StateClosed:
		v.State = slackui.StateClosedNotFit
	default:
		v.State = slackui.StateOpen
	}
	return v
}

// SignalLines lists signals as shown to people: the fired ones, or all of
// them when all is set (lookups).
func SignalLines(sigs []scoring.SignalResult, all bool) []slackui.SignalLine {
	var out []slackui.SignalLine
	for _, s := range sigs {
		if !s.Fired && !all {
			continue
		}
		out = append(out, slackui.SignalLine{Name: s.Name, Category: s.Category, Points: s.Points, Detail: s.Detail})
	}
	return out
}

func (r *Renderer) fitFacts(ex *scoring.Result) []slackui.Fact {
	var out []slackui.Fact
	add := func(label string, v any) {
		if v == nil {
			return
		}
		s := model.FormatValue(v)
		if s != "" {
			out = append(out, slackui.Fact{Label: label, Value: s})
		}
	}
	seen := map[string]bool{}
	for _, g := range ex.Gates {
		if g.Present && !seen[g.Trait] {
			seen[g.Trait] = true
			add(traitLabel(g.Trait), g.Actual)
		}
	}
	traitOf := map[string]string{}
	for _, s := range r.Model.Signals {
		if t, ok := s.Rule.(*model.TraitRule); ok {
			traitOf[s.Name] = t.Cond.Trait
		}
	}
	for _, s := range ex.Signals {
		if t := traitOf[s.Name]; t != "" && s.Actual != nil && !seen[t] {
			seen[t] = true
			add(traitLabel(t), s.Actual)
		}
	}
	if ex.Segment != "" {
		out = append(out, slackui.Fact{Label: "Segment", Value: ex.Segment})
	}
	return out
}

func traitLabel(t string) string {
	switch t {
	case "email_domain":
		return "Email domain"
	case "employees":
		return "Employees"
	}
	t = strings.ReplaceAll(t, "_", " ")
	if t == "" {
		return t
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

// changeText is the thread text for a change note.
func changeText(n *alerting.Note) string {
	return slackui.UpgradeText(slackui.Upgrade{FromTier: n.FromTier, ToTier: n.ToTier, FromScore: n.FromScore, ToScore: n.ToScore,
		AlertScore: n.AlertScore, Rescore: n.Rescore, HandRaise: n.HandRaise, Claimer: n.Claimer})
}

// Message renders m, with link giving the permalink of an escalated
// alert's message ("" when there is none).
func (r *Renderer) Message(m alerting.Message, link func(*alerting.Alert) string) slackui.Reply {
	now := m.Now
	switch m.Kind {
	case alerting.AlertMessage:
		v := r.View(m.Alert, m.People)
		return slackui.Reply{Text: slackui.AlertText(v, now), Blocks: slackui.AlertBlocks(v, now)}
	case alerting.EscalationMessage:
		vs, links := make([]slackui.AlertView, len(m.Escalated)), make([]string, len(m.Escalated))
		for i, a := range m.Escalated {
			var ps []people.Person
			if i < len(m.EscalatedPeople) {
				ps = m.EscalatedPeople[i]
			}
			vs[i], links[i] = r.View(a, ps), link(a)
		}
		if len(vs) == 1 {
			return slackui.EscalationReply(vs[0], links[0], now)
		}
		return slackui.EscalationGroupReply(vs, links, now)
	}
	n := m.Note
	switch {
	case n == nil:
		// Queued, already rendered, by an older build.
		return slackui.Reply{Text: m.Text, Blocks: decodeBlocks(m.Blocks)}
	case n.Kind == alerting.NoteNudge:
		return slackui.Reply{Text: slackui.NudgeText(r.View(m.Alert, m.People), n.At)}
	}
	return slackui.Reply{Text: changeText(n)}
}
