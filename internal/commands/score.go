package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

func (s *Service) score(ctx context.Context, cmd slackui.Command) (slackui.Reply, error) {
	// No account id, domain or email holds control characters, and
	// PostgreSQL refuses a NUL in text: say so instead of failing.
	if strings.ContainsFunc(cmd.Raw, unicode.IsControl) {
		return slackui.Reply{}, problem("that is not a domain, account id or email (it holds control characters)")
	}
	v, err := s.ScoreView(ctx, cmd.Target, cmd.Raw)
	if errors.Is(err, ErrAccountNotFound) {
		return slackui.ScoreNotFoundReply(cmd.Raw), nil
	}
	if err != nil {
		return slackui.Reply{}, err
	}
	return slackui.ScoreReply(v), nil
}

// ScoreView looks an account up by target (a normalised domain, account id
// or email) and, failing that, by raw (the argument as typed: a Segment
// groupId can look like a domain), and describes its score, signals, gates,
// latest events, alert and why it is not alerting. It returns
// ErrAccountNotFound when nothing matches.
func (s *Service) ScoreView(ctx context.Context, target, raw string) (slackui.ScoreView, error) {
	id, err := s.Store.LookupAccount(ctx, target)
	if errors.Is(err, ErrAccountNotFound) && raw != "" && raw != target {
		id, err = s.Store.LookupAccount(ctx, raw)
	}
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("find account %q: %w", target, err)
	}
	res, err := s.Store.AccountScore(ctx, id)
	if errors.Is(err, ErrNotScored) {
		// New accounts are scored within moments of their first event; say
		// so rather than pretend the account does not exist.
		return slackui.ScoreView{AccountID: id, NotAlerting: []string{"it has not been scored yet; try again in a minute"}}, nil
	}
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("score of %s: %w", id, err)
	}
	events, err := s.Store.LatestEvents(ctx, id, LatestEventsShown)
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("latest events of %s: %w", id, err)
	}
	active, last, err := s.Store.LatestAlerts(ctx, id)
	if err != nil {
		return slackui.ScoreView{}, fmt.Errorf("alerts of %s: %w", id, err)
	}
	return s.scoreView(res, events, active, last), nil
}

func (s *Service) scoreView(res *scoring.Result, events []Event, active, last *alerting.Alert) slackui.ScoreView {
	now := s.now()
	r := alerting.Renderer{Model: s.Model, AccountURL: s.AccountURL}
	// The renderer derives an alert's fit facts and account link from a
	// score explanation; a lookup shows the same facts for the current one.
	av := r.View(&alerting.Alert{AccountID: res.AccountID, Explanation: *res})

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
		Fit:             av.Fit,
		ActiveUsers:     res.ActiveUsers,
		ActiveUsersDays: res.RecencyDays,
	}
	for _, sig := range res.Signals {
		line := alerting.SignalLines([]scoring.SignalResult{sig}, true)
		if sig.Fired {
			v.Signals = append(v.Signals, line...)
		} else {
			v.Unfired = append(v.Unfired, line...)
		}
	}
	for _, g := range res.Gates {
		v.Gates = append(v.Gates, slackui.GateLine{Name: g.Text, Passed: g.Passed})
	}
	for _, e := range events {
		name := e.Name
		if name == "" {
			name = e.Type
		}
		v.LatestEvents = append(v.LatestEvents, slackui.EventLine{At: e.At, Name: name, User: e.User})
	}

	shown := active
	if shown == nil {
		shown = last
	}
	if shown != nil {
		v.Alert = &slackui.AlertSummary{
			AlertID:     shown.ID.String(),
			Tier:        shown.Tier,
			State:       uiState(shown.State),
			Breached:    !shown.BreachedAt.IsZero() || (shown.State.Active() && !shown.DueAt.IsZero() && now.After(shown.DueAt)),
			PostedAt:    shown.PostedAt,
			DueAt:       shown.DueAt,
			ClaimedBy:   shown.ClaimedBy,
			ContactedBy: shown.ContactedBy,
			Channel:     cmp.Or(shown.ChannelID, shown.Channel),
			Permalink:   s.permalink(shown.ChannelID, shown.MessageTS),
		}
	}
	v.NotAlerting = s.whyNot(res, active, last)
	return v
}

// whyNot says why the account is not alerting now: scoring's reasons (gates,
// threshold, recency, suppression, disqualification), then alerting's own
// rules, decided by the same pure function the re-scorer uses.
func (s *Service) whyNot(res *scoring.Result, active, last *alerting.Alert) []string {
	var out []string
	for _, r := range res.Reasons {
		out = append(out, r.Text)
	}
	if !res.Alertable {
		return out
	}
	d := alerting.Decide(s.Model, res, active, last, s.now())
	switch d.Reason {
	case alerting.ReasonActiveAlert:
		out = append(out, fmt.Sprintf("an alert is already %s for it (tier %s); only a move to a higher tier is news",
			activeWords(active), active.Tier))
	case alerting.ReasonCoolingDown:
		out = append(out, fmt.Sprintf("cooling down: it alerted at tier %s on %s and alerts again at this tier after %s",
			last.Tier, last.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"),
			alerting.CoolingDownUntil(s.Model, last).UTC().Format("2006-01-02 15:04 UTC")))
	}
	return out
}

func activeWords(a *alerting.Alert) string {
	if a.State == alerting.StateClaimed {
		return "claimed"
	}
	return "open"
}
