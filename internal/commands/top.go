package commands

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// `top`: the accounts to work first. Open hand-raisers, then the other
// open alerts by score, then every other account by score. Accounts nobody
// should work (marked not a fit, suppressed, failing a fit gate) are left
// out and counted, so the list never hides them silently.

// Exclusion reasons as the store derives them from a stored score
// (account_scores.excluded), most final first.
const (
	ExcludedDisqualified = "disqualified"
	ExcludedSuppressed   = "suppressed"
	ExcludedGateFailed   = "gate_failed"
)

// MaxActiveForTop caps the open alerts `top` reads.
const MaxActiveForTop = 500

func topGroup(a *TopAccount) slackui.TopGroup {
	switch {
	case a.Alert != nil && a.Alert.State.Active() && a.Alert.Tier == model.TierHandRaiser:
		return slackui.TopHandRaiser
	case a.Alert != nil && a.Alert.State.Active():
		return slackui.TopOpenAlert
	}
	return slackui.TopByScore
}

// TopPlan is `top` decided: the rows in priority order, the excluded
// accounts with an open alert (left out), and which excluded accounts
// without one count as left out: those scoring at least MinScore, or none
// when CountMore is false (the list is full of alerts).
type TopPlan struct {
	Rows      []TopAccount
	Left      map[string]int
	CountMore bool
	MinScore  int
}

// PlanTop orders `top` from the store's candidates (see
// Store.TopCandidates) and keeps the first n. An account with an open
// alert ranks by its group (hand-raiser first) then score; the rest by
// score. It is pure.
func PlanTop(active, ranked []TopAccount, n int) TopPlan {
	p := TopPlan{Left: map[string]int{}, CountMore: true, MinScore: math.MinInt32}
	seen := map[string]bool{}
	var alerts []TopAccount
	for _, a := range active {
		if seen[a.AccountID] {
			continue
		}
		seen[a.AccountID] = true
		if a.Excluded != "" {
			p.Left[a.Excluded]++
			continue
		}
		alerts = append(alerts, a)
	}
	slices.SortStableFunc(alerts, func(a, b TopAccount) int {
		return cmp.Or(cmp.Compare(topGroup(&a), topGroup(&b)), cmp.Compare(b.Score, a.Score), strings.Compare(a.AccountID, b.AccountID))
	})
	p.Rows = alerts[:min(len(alerts), n)]
	byScore := 0
	for _, r := range ranked {
		if len(p.Rows) >= n {
			break
		}
		if seen[r.AccountID] || r.Excluded != "" {
			continue
		}
		seen[r.AccountID] = true
		p.Rows = append(p.Rows, r)
		byScore++
		p.MinScore = r.Score
	}
	switch {
	case len(p.Rows) < n:
		// Everything that qualified is shown: every excluded account was
		// left out.
		p.MinScore = math.MinInt32
	case byScore == 0:
		p.CountMore = false
	}
	return p
}

func (s *Service) top(ctx context.Context, cmd slackui.Command) (slackui.Reply, error) {
	if cmd.Tier != "" && !slices.Contains(s.tierNames(), cmd.Tier) {
		return slackui.Reply{}, problem("there is no tier `%s`; the tiers are %s", cmd.Tier, strings.Join(s.tierNames(), ", "))
	}
	active, ranked, err := s.Store.TopCandidates(ctx, cmd.Tier, cmd.N)
	if err != nil {
		return slackui.Reply{}, fmt.Errorf("top accounts: %w", err)
	}
	plan := PlanTop(active, ranked, cmd.N)
	if plan.CountMore {
		skip := make([]string, 0, len(active))
		for _, a := range active {
			skip = append(skip, a.AccountID)
		}
		more, err := s.Store.ExcludedCounts(ctx, cmd.Tier, plan.MinScore, skip)
		if err != nil {
			return slackui.Reply{}, fmt.Errorf("excluded accounts: %w", err)
		}
		for k, n := range more {
			plan.Left[k] += n
		}
	}
	now := s.now()
	bh := alerting.Hours(s.Model)
	rows := make([]slackui.TopRow, len(plan.Rows))
	for i, a := range plan.Rows {
		r := slackui.TopRow{Group: topGroup(&a), AccountID: a.AccountID, AccountName: a.Name, Domain: a.Domain, Score: a.Score, Tier: a.Tier, Segment: a.Segment}
		if al := a.Alert; al != nil {
			r.AlertTier = al.Tier
			r.AlertState = uiState(al.State)
			r.ClaimedBy = al.ClaimedBy
			r.Permalink = s.permalink(al.ChannelID, al.MessageTS)
			r.AlertAt = cmp.Or(al.PostedAt, al.ClaimedAt)
			if al.State.Active() && !al.DueAt.IsZero() {
				r.DueAt = al.DueAt
				r.Left = sla.Remaining(now, al.DueAt, bh)
				r.Breached = now.After(al.DueAt)
			}
		}
		rows[i] = r
	}
	left := slackui.LeftOut{MinScore: plan.MinScore, AllCounted: plan.MinScore == math.MinInt32}
	left.Disqualified, left.Suppressed, left.GateFailed = plan.Left[ExcludedDisqualified], plan.Left[ExcludedSuppressed], plan.Left[ExcludedGateFailed]
	return slackui.TopReply(rows, cmd.Tier, left), nil
}
