package alerting

import (
	"net/url"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// Hours converts the model's business hours for the SLA clock; nil means
// wall-clock SLAs.
func Hours(m *model.Model) *sla.BusinessHours {
	bh := m.BusinessHours
	if bh == nil || bh.Location == nil {
		return nil
	}
	out, err := sla.NewBusinessHours(bh.Location, bh.Days, time.Duration(bh.From)*time.Minute, time.Duration(bh.To)*time.Minute)
	if err != nil {
		// The model validated these at load; an impossible value falls
		// back to wall-clock time rather than stopping alerts.
		return nil
	}
	return out
}

// Renderer turns stored alerts into Slack views.
type Renderer struct {
	Model *model.Model
	// AccountURL is PQLBOT_ACCOUNT_URL ("{account}" is replaced).
	AccountURL string
}

// View is the alert as the message shows it, with ps the people to contact
// (nil: none known).
func (r *Renderer) View(a *Alert, ps []people.Person) slackui.AlertView {
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
		DueAt:           a.DueAt,
		Hours:           Hours(r.Model),
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
		CloseReason:     slackui.Reason(a.CloseReason),
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
	case StateClaimed:
		v.State = slackui.StateClaimed
	case StateContacted:
		v.State = slackui.StateContacted
	case StateClosed:
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

// UpgradeReply is the thread text for an Upgrade or Rescore decision. It
// mentions the claimer, if there is one: the rep who owns the alert must
// hear that it changed.
func UpgradeReply(d Decision) string {
	u := slackui.Upgrade{FromTier: d.FromTier, ToTier: d.Alert.Tier, FromScore: d.FromScore, ToScore: d.Alert.Score,
		AlertScore: d.Alert.AlertScore, Rescore: d.Action == Rescore}
	if d.Alert.State == StateClaimed {
		u.Claimer = d.Alert.ClaimedBy
	}
	if hr := d.Alert.Explanation.HandRaise; hr != nil && d.Alert.Tier == model.TierHandRaiser {
		u.HandRaise = hr.Event
	}
	return slackui.UpgradeText(u)
}
