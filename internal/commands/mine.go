package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// `mine`: the caller's claimed alerts still waiting for a first contact,
// most urgent first, each with the person to contact and the Mark
// contacted / Release buttons of the alert message.

// sortByDue puts the most urgent first: with one business-hours calendar
// the time left is monotonic in the deadline, so ordering by deadline is
// ordering by time left. Alerts not posted yet have no deadline and go
// last.
func sortByDue(alerts []AlertRow) {
	slices.SortStableFunc(alerts, func(a, b AlertRow) int {
		switch {
		case a.DueAt.IsZero() != b.DueAt.IsZero():
			if a.DueAt.IsZero() {
				return 1
			}
			return -1
		case !a.DueAt.Equal(b.DueAt):
			return a.DueAt.Compare(b.DueAt)
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
}

func (s *Service) mine(ctx context.Context, userID string) (slackui.Reply, error) {
	now := s.now()
	alerts, err := s.Store.ClaimedAlerts(ctx, userID)
	if err != nil {
		return slackui.Reply{}, fmt.Errorf("claimed alerts of %s: %w", userID, err)
	}
	sortByDue(alerts)
	bh := alerting.Hours(s.Model)
	rows := make([]slackui.MineRow, len(alerts))
	for i, a := range alerts {
		rows[i] = slackui.MineRow{
			AlertID: a.ID.String(), AccountID: a.AccountID, AccountName: a.AccountName, Domain: a.Domain,
			Tier: a.Tier, Score: a.Score, Channel: channelOf(a), ClaimedAt: a.ClaimedAt, DueAt: a.DueAt,
			Permalink: s.permalink(a.ChannelID, a.MessageTS),
		}
		if !a.DueAt.IsZero() {
			rows[i].Left = sla.Remaining(now, a.DueAt, bh)
		}
		// Only the rows the reply can show get a person: one query each.
		if i < slackui.MaxMineShown {
			if rows[i].Person, err = s.firstPerson(ctx, a.AccountID, now); err != nil {
				return slackui.Reply{}, err
			}
		}
	}
	return slackui.MineReply(rows), nil
}
