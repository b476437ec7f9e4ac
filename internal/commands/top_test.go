package commands_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/commands"
)

func TestPlanTop(t *testing.T) {
	alert := func(tier string, state alerting.State) *commands.AlertRow {
		return &commands.AlertRow{Tier: tier, State: state}
	}
	acct := func(id string, score int, a *commands.AlertRow, excluded string) commands.TopAccount {
		return commands.TopAccount{AccountID: id, Score: score, Alert: a, Excluded: excluded}
	}
	ids := func(p commands.TopPlan) []string {
		var out []string
		for _, r := range p.Rows {
			out = append(out, r.AccountID)
		}
		return out
	}
	active := []commands.TopAccount{
		acct("high_open", 110, alert("high", alerting.StateOpen), ""),
		acct("hand2", 35, alert("hand_raiser", alerting.StateClaimed), ""),
		acct("hand1", 55, alert("hand_raiser", alerting.StateOpen), ""),
		acct("mid_claimed", 60, alert("mid", alerting.StateClaimed), ""),
		acct("customer_alert", 120, alert("hand_raiser", alerting.StateOpen), commands.ExcludedSuppressed),
	}
	ranked := []commands.TopAccount{
		acct("high_open", 110, alert("high", alerting.StateOpen), ""),
		acct("r1", 100, alert("high", alerting.StateContacted), ""),
		acct("r2", 90, nil, ""),
		acct("r3", 80, nil, ""),
	}
	tests := []struct {
		name      string
		active    []commands.TopAccount
		ranked    []commands.TopAccount
		n         int
		want      []string
		countMore bool
		minScore  int
		left      map[string]int
	}{
		{"hand-raisers, then open alerts by score, then the rest by score", active, ranked, 10,
			[]string{"hand1", "hand2", "high_open", "mid_claimed", "r1", "r2", "r3"}, true, math.MinInt32, map[string]int{"suppressed": 1}},
		{"a full list counts excluded accounts down to its last score", active, ranked, 5,
			[]string{"hand1", "hand2", "high_open", "mid_claimed", "r1"}, true, 100, map[string]int{"suppressed": 1}},
		{"a list full of alerts counts no other excluded account", active, ranked, 2,
			[]string{"hand1", "hand2"}, false, math.MinInt32, map[string]int{"suppressed": 1}},
		{"no alerts", nil, ranked, 2, []string{"high_open", "r1"}, true, 100, map[string]int{}},
		{"nothing at all", nil, nil, 10, nil, true, math.MinInt32, map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := commands.PlanTop(tc.active, tc.ranked, tc.n)
			require.Equal(t, tc.want, ids(p))
			require.Equal(t, tc.countMore, p.CountMore)
			if tc.countMore {
				require.Equal(t, tc.minScore, p.MinScore)
			}
			require.Equal(t, tc.left, p.Left)
		})
	}
}
