package model

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOutcomesSection(t *testing.T) {
	b, err := os.ReadFile("testdata/good/outcomes.yaml")
	require.NoError(t, err)
	m, err := Parse(b)
	require.NoError(t, err)
	require.Equal(t, &Outcomes{WindowDays: 60, Rules: []OutcomeRule{
		{Outcome: OutcomeWon, Source: SourceEvent, Event: "Order Completed"},
		{Outcome: OutcomeWon, Source: SourceTrait, Trait: "plan", Becomes: []string{"team", "business", "enterprise"}},
		{Outcome: OutcomeOpportunity, Source: SourceEvent, Event: "Opportunity Created"},
		{Outcome: OutcomeLost, Source: SourceEvent, Event: "Opportunity Lost"},
		{Outcome: OutcomeLost, Source: SourceTrait, Trait: "plan_code", Becomes: []string{"0"}},
	}}, m.Outcomes)
	require.Equal(t, 60, m.OutcomeWindowDays())
	require.Equal(t, &Digest{Channel: "#revops", Every: DigestMonthly}, m.Digest)

	// Without the section: no rules and the default window.
	d := Default()
	require.Nil(t, d.Outcomes)
	require.Empty(t, d.OutcomeRules())
	require.Equal(t, DefaultOutcomeWindowDays, d.OutcomeWindowDays())
	require.Nil(t, d.Digest)
}

// Outcomes and digest change no score: the model hash (stamped on scores,
// and a re-score of every account when it changes) ignores them.
func TestOutcomesLeaveTheHash(t *testing.T) {
	base := "version: v\ntiers: [{name: high, min_score: 1}]\nroutes: [{tier: high, channel: \"#a\"}]\n"
	a, err := Parse([]byte(base + "outcomes: {won: [{event: Paid}]}\n"))
	require.NoError(t, err)
	b, err := Parse([]byte(base + "outcomes: {won: [{event: Paid}], window_days: 30}\n"))
	require.NoError(t, err)
	c, err := Parse([]byte(base))
	require.NoError(t, err)
	require.Equal(t, a.Hash, b.Hash)
	require.Equal(t, a.Hash, c.Hash)
}
