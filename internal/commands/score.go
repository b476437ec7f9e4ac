package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackdelivery"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/internal/words"
)

// `score`: the lookup behind `/pql score` and `pqlbot score`. ScoreView
// finds the account and builds one slackui.ScoreView from the stored score
// (what the alert decisions were made on); slackui renders it for Slack or
// for a terminal.

// MaxCandidates is how many accounts a name lookup lists to pick from.
const MaxCandidates = 8

// AmbiguousError is a name that matches several accounts: the user picks
// one from Candidates (More: there were more than these).
type AmbiguousError struct {
	Query      string
	Candidates []slackui.Candidate
	More       bool
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s match %q", words.Count(len(e.Candidates), "account"), e.Query)
}

func (s *Service) score(ctx context.Context, cmd slackui.Command, req Request) (slackui.Reply, error) {
	// No account id, domain, name or email holds control characters, and
	// PostgreSQL refuses a NUL in text: say so instead of failing.
	if strings.ContainsFunc(cmd.Raw, unicode.IsControl) {
		return slackui.Reply{}, problem("that is not a domain, account name, account id or email (it holds control characters)")
	}
	v, err := s.ScoreView(ctx, cmd)
	var amb *AmbiguousError
	switch {
	case errors.Is(err, ErrAccountNotFound):
		return slackui.ScoreNotFoundReply(cmd.Raw), nil
	case errors.As(err, &amb):
		return slackui.ScorePickReply(req.Command, amb.Query, amb.Candidates, amb.More), nil
	case err != nil:
		return slackui.Reply{}, err
	}
	return slackui.ScoreReply(v), nil
}

// findAccount resolves a score target: a domain, email or account id
// exactly (retrying the argument as typed, since a Segment groupId can look
// like a domain), else an account name, case-insensitive. One exact name
// match wins; several matches are an *AmbiguousError.
func (s *Service) findAccount(ctx context.Context, cmd slackui.Command) (string, error) {
	if cmd.TargetKind != slackui.TargetName {
		id, err := s.Store.LookupAccount(ctx, cmd.Target)
		if errors.Is(err, ErrAccountNotFound) && cmd.Raw != "" && cmd.Raw != cmd.Target {
			id, err = s.Store.LookupAccount(ctx, cmd.Raw)
		}
		if !errors.Is(err, ErrAccountNotFound) || cmd.TargetKind == slackui.TargetEmail {
			return id, err
		}
	}
	matches, err := s.Store.MatchAccounts(ctx, cmd.Raw, MaxCandidates+1)
	if err != nil {
		return "", fmt.Errorf("accounts named %q: %w", cmd.Raw, err)
	}
	var exact []AccountMatch
	for _, m := range matches {
		if m.Exact {
			exact = append(exact, m)
		}
	}
	if len(exact) == 1 {
		return exact[0].AccountID, nil
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("find account %q: %w", cmd.Raw, ErrAccountNotFound)
	case 1:
		return matches[0].AccountID, nil
	}
	amb := &AmbiguousError{Query: cmd.Raw, More: len(matches) > MaxCandidates}
	for _, m := range matches[:min(len(matches), MaxCandidates)] {
		amb.Candidates = append(amb.Candidates, slackui.Candidate{AccountID: m.AccountID, Name: m.Name, Domain: m.Domain, Score: m.Score, Tier: m.Tier})
	}
	return "", amb
}

// ScoreView looks the account up (see findAccount) and describes it:
// the headline (alerting, excluded and why, cooling down, inactive, below
// threshold and by how much), its alert, signals, gates, fit and latest
// events. Errors: ErrAccountNotFound, *AmbiguousError.
func (s *Service) ScoreView(ctx context.Context, cmd slackui.Command) (slackui.ScoreView, error) {
	id, err := s.findAccount(ctx, cmd)
	if err != nil {
		return slackui.ScoreView{}, err
	}
	res, err := s.Store.AccountScore(ctx, id)
	if errors.Is(err, ErrNotScored) {
		// New accounts are scored within moments of their first event; say
		// so rather than pretend the account does not exist.
		return slackui.ScoreView{AccountID: id, Headline: slackui.Headline{
			Status: slackui.ScoreNotScored, Short: "not scored yet", Text: "It has not been scored yet; try again in a minute.",
		}}, nil
	}
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("score of %s: %w", id, err)
	}
	// The stored score is the last one that changed something a decision
	// looks at; counts in the explanation move with every event, so the
	// lookup evaluates the account now, as the re-scorer would.
	now := s.now()
	facts, err := s.Store.AccountFacts(ctx, id, s.Model.FactsSpec(), now)
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("facts of %s: %w", id, err)
	}
	if facts != nil {
		cur := scoring.Evaluate(s.Model, facts, now)
		res = &cur
	}
	events, err := s.Store.LatestEvents(ctx, id, LatestEventsShown)
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("latest events of %s: %w", id, err)
	}
	active, last, err := s.Store.LatestAlerts(ctx, id)
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("alerts of %s: %w", id, err)
	}
	ps, err := s.Store.People(ctx, people.For(s.Model, id, s.now()))
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("people of %s: %w", id, err)
	}
	v := s.scoreView(res, events, active, last)
	v.People = ps
	return v, nil
}

func (s *Service) scoreView(res *scoring.Result, events []Event, active, last *alerting.Alert) slackui.ScoreView {
	now := s.now()
	r := slackdelivery.Renderer{Model: s.Model, AccountURL: s.AccountURL}
	// The renderer derives an alert's fit facts and account link from a
	// score explanation; a lookup shows the same facts for the current one.
	av := r.View(&alerting.Alert{AccountID: res.AccountID, Explanation: *res}, nil)

	v := slackui.ScoreView{
		AccountID:       res.AccountID,
		AccountName:     res.Name,
		Domain:          res.Domain,
		AccountURL:      av.AccountURL,
		Score:           res.Score,
		Tier:            res.Tier,
		Segment:         res.Segment,
		ModelVersion:    res.ModelVersion,
		ScoredAt:        res.At,
		Now:             now,
		Fit:             av.Fit,
		ActiveUsers:     res.ActiveUsers,
		ActiveUsersDays: res.RecencyDays,
	}
	for _, sig := range res.Signals {
		line := slackui.SignalLine{Name: sig.Name, Category: sig.Category, Points: sig.Points, Detail: sig.Detail}
		if sig.Fired {
			v.Signals = append(v.Signals, line)
		} else {
			v.Unfired = append(v.Unfired, line)
		}
	}
	for _, g := range res.Gates {
		name, detail := gateWords(g, s.Model)
		v.Gates = append(v.Gates, slackui.GateLine{Name: name, Detail: detail, Passed: g.Passed})
	}
	for _, e := range events {
		v.LatestEvents = append(v.LatestEvents, slackui.EventLine{At: e.At, Name: cmp.Or(e.Name, e.Type), User: e.User})
	}
	if active != nil {
		v.Alert = s.alertSummary(active, now)
	} else if last != nil {
		v.Last = s.alertSummary(last, now)
	}
	v.Headline = s.headline(res, active, last, now)
	return v
}

func (s *Service) alertSummary(a *alerting.Alert, now time.Time) *slackui.AlertSummary {
	sum := &slackui.AlertSummary{
		AlertID:     a.ID.String(),
		Tier:        a.Tier,
		Score:       a.Score,
		State:       uiState(a.State),
		Breached:    !a.BreachedAt.IsZero() || (a.State.Active() && !a.DueAt.IsZero() && now.After(a.DueAt)),
		PostedAt:    a.PostedAt,
		DueAt:       a.DueAt,
		ClaimedBy:   a.ClaimedBy,
		ClaimedAt:   a.ClaimedAt,
		ContactedBy: a.ContactedBy,
		ContactedAt: a.ContactedAt,
		CloseReason: closereason.Reason(a.CloseReason),
		Channel:     cmp.Or(a.ChannelID, a.Channel),
		Permalink:   s.permalink(a.ChannelID, a.MessageTS),
	}
	bh := alerting.Hours(s.Model)
	if a.State.Active() && !a.DueAt.IsZero() {
		sum.Left = sla.Remaining(now, a.DueAt, bh)
	}
	sum.Status = slackui.Status{
		State: sum.State, Channel: a.Channel, PostedAt: a.PostedAt, DueAt: a.DueAt, Hours: bh,
		ClaimedBy: a.ClaimedBy, ClaimedAt: a.ClaimedAt, ContactedBy: a.ContactedBy, ContactedAt: a.ContactedAt,
		ClosedBy: a.ClosedBy, ClosedAt: a.ClosedAt, CloseReason: closereason.Reason(a.CloseReason), BreachedAt: a.BreachedAt, NudgedAt: a.NudgedAt,
	}
	return sum
}

// dateWords renders a date for a headline: "4 Dec 2026" (UTC; a date reads the
// same in every time zone that matters to a rep).
func dateWords(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// headline decides what a lookup says first, from the stored score and the
// account's alerts, with the same rules the alert decisions use.
func (s *Service) headline(res *scoring.Result, active, last *alerting.Alert, now time.Time) slackui.Headline {
	if active != nil {
		h := slackui.Headline{Status: slackui.ScoreAlerting, Short: "alerting"}
		switch {
		case active.State == alerting.StateClaimed:
			h.Text = "Alerting: claimed, waiting for a first contact."
		case active.PostedAt.IsZero():
			h.Text = "Alerting: the alert is being posted to " + active.Channel + "."
		default:
			h.Text = "Alerting: open, nobody has claimed it yet."
		}
		if !active.DueAt.IsZero() && now.After(active.DueAt) {
			h.Short = "alert overdue"
			h.Text = strings.TrimSuffix(h.Text, ".") + "; past its SLA."
		}
		h.More = reasonWords(res, s.Model, last, func(code string) bool { return code != scoring.ReasonBelowThreshold })
		return h
	}
	var h slackui.Headline
	switch {
	case res.HasReason(scoring.ReasonDisqualified) || res.HasReason(scoring.ReasonSuppressed) || res.HasReason(scoring.ReasonGateFailed):
		h.Status, h.Short = slackui.ScoreExcluded, "excluded"
	case res.Alertable:
		d := alerting.Decide(s.Model, res, nil, last, now)
		if d.Reason == alerting.ReasonCoolingDown {
			h.Status, h.Short = slackui.ScoreCoolingDown, "cooling down"
			h.Text = fmt.Sprintf("Cooling down: alerted at tier %s on %s (%s); alerts again at this tier after %s, sooner at a higher tier.",
				tierWords(last.Tier), dateWords(last.CreatedAt), lastStateWords(last), dateWords(alerting.CoolingDownUntil(s.Model, last)))
			return h
		}
		return slackui.Headline{Status: slackui.ScoreQualifies, Short: "qualifies",
			Text: fmt.Sprintf("Qualifies now at tier %s: an alert goes to %s at the next scoring pass.", tierWords(res.Tier), routeChannel(res))}
	case res.HasReason(scoring.ReasonNotRecent):
		h.Status, h.Short = slackui.ScoreInactive, "inactive"
	default:
		h.Status, h.Short = slackui.ScoreBelow, "below threshold"
		if tier, need, ok := alertGap(s.Model, res); ok {
			h.Short = fmt.Sprintf("%s short of %s", words.Count(need, "point"), tierWords(tier))
		}
	}
	all := reasonWords(res, s.Model, last, func(string) bool { return true })
	if len(all) > 0 {
		h.Text, h.More = all[0], all[1:]
	}
	return h
}

func tierWords(t string) string {
	if t == model.TierHandRaiser {
		return "hand-raiser"
	}
	return t
}

func routeChannel(res *scoring.Result) string {
	if res.Route != nil && res.Route.Channel != "" {
		return res.Route.Channel
	}
	return "its channel"
}

func lastStateWords(a *alerting.Alert) string {
	switch a.State {
	case alerting.StateContacted:
		return "contacted"
	case alerting.StateClosed:
		if a.CloseReason != "" {
			return "closed as not a fit: " + strings.ToLower(closereason.Reason(a.CloseReason).Label())
		}
		return "closed"
	case alerting.StateClaimed:
		return "claimed"
	}
	return "open"
}

// alertGap is the lowest tier above the account's score whose route (for
// its segment) alerts, and the points missing to reach it.
func alertGap(m *model.Model, res *scoring.Result) (tier string, need int, ok bool) {
	best := -1
	for i, t := range m.Tiers {
		if t.MinScore <= res.Score {
			continue
		}
		if r, found := m.Route(t.Name, res.Segment); found && r.Notify && (best < 0 || t.MinScore < m.Tiers[best].MinScore) {
			best = i
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return m.Tiers[best].Name, m.Tiers[best].MinScore - res.Score, true
}

// reasonOrder puts what matters most first: exclusions, then inactivity,
// then the threshold.
var reasonOrder = []string{scoring.ReasonDisqualified, scoring.ReasonSuppressed, scoring.ReasonGateFailed, scoring.ReasonNotRecent, scoring.ReasonBelowThreshold}

// reasonWords says why the account is not alerting, in a rep's words, most
// important first; keep filters reasons by code.
func reasonWords(res *scoring.Result, m *model.Model, last *alerting.Alert, keep func(code string) bool) []string {
	var out []string
	for _, code := range reasonOrder {
		if !keep(code) || !res.HasReason(code) {
			continue
		}
		switch code {
		case scoring.ReasonGateFailed:
			for _, g := range res.Gates {
				if !g.Passed {
					name, detail := gateWords(g, m)
					out = append(out, "Excluded: fails the fit gate “"+name+"” ("+detail+").")
				}
			}
		default:
			for _, r := range res.Reasons {
				if r.Code == code {
					out = append(out, oneReasonWords(r, res, m, last))
				}
			}
		}
	}
	return out
}

func oneReasonWords(r scoring.Reason, res *scoring.Result, m *model.Model, last *alerting.Alert) string {
	switch r.Code {
	case scoring.ReasonDisqualified:
		s := "Excluded: a rep marked it not a fit"
		if last != nil && last.State == alerting.StateClosed && last.CloseReason != "" {
			s += " (" + strings.ToLower(closereason.Reason(last.CloseReason).Label()) + ")"
		}
		if !r.Until.IsZero() {
			s += "; it can alert again after " + dateWords(r.Until)
		}
		return s + "."
	case scoring.ReasonSuppressed:
		if r.Rule == nil {
			return "Excluded: " + r.Text + "."
		}
		return "Excluded: its " + traitWords(r.Rule.Trait) + " is " + valueWords(r.Actual) +
			", and the model never alerts when " + conditionWords(*r.Rule) + "."
	case scoring.ReasonNotRecent:
		if res.LastEventAt.IsZero() {
			return "Inactive: no events yet."
		}
		ago := int(res.At.Sub(res.LastEventAt) / (24 * time.Hour))
		return fmt.Sprintf("Inactive: last event on %s (%s ago), outside the %d-day window.", dateWords(res.LastEventAt), words.Count(ago, "day"), m.RecencyDays)
	case scoring.ReasonBelowThreshold:
		where := fmt.Sprintf("score %d", res.Score)
		if res.Tier != "" {
			where += " (tier " + tierWords(res.Tier) + ", which does not alert)"
		}
		if tier, need, ok := alertGap(m, res); ok {
			return fmt.Sprintf("Below threshold: %s; %s short of %s (%d).", where, words.Count(need, "point"), tierWords(tier), res.Score+need)
		}
		return "Below threshold: " + where + "; no tier above it alerts."
	}
	return r.Text
}
