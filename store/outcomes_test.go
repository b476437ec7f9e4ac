package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

func outcomeRules(t *testing.T, yaml string) []model.OutcomeRule {
	t.Helper()
	m, err := model.Parse([]byte("version: v\ntiers: [{name: high, min_score: 1}]\nroutes: [{tier: high, channel: \"#a\"}]\n" + yaml))
	require.NoError(t, err)
	return m.OutcomeRules()
}

func namedTrack(id, user, group, name string, at time.Time) events.Message {
	m := trackMsg(id, user, group, at)
	m.Name = name
	return m
}

func groupCall(id, user, group, traits string, at time.Time) events.Message {
	return events.Message{Type: events.TypeGroup, MessageID: id, UserID: user, GroupID: group, Traits: []byte(traits), Timestamp: at, ReceivedAt: at}
}

// kindAt is an outcome as the tests compare it.
type kindAt struct {
	Account string
	Kind    model.OutcomeKind
	At      time.Time
	Source  outcomes.Source
}

func allOutcomes(t *testing.T, st *store.Store) []kindAt {
	t.Helper()
	os, err := st.Outcomes(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	var out []kindAt
	for _, o := range os {
		out = append(out, kindAt{o.AccountID, o.Kind, o.At, o.Source})
	}
	return out
}

func TestOutcomesFromEventsAndTraitChanges(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	rules := outcomeRules(t, `outcomes:
  won: [{event: Order Completed}, {trait: plan, becomes: [team, business]}]
  opportunity: [{event: Opportunity Created}]
  lost: [{event: Opportunity Lost}]
`)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	ingest := func(msgs ...events.Message) {
		t.Helper()
		_, err := st.IngestWithOutcomes(ctx, []store.IngestItem{{Source: "s", Messages: msgs}}, rules)
		require.NoError(t, err)
	}
	ingest(
		groupCall("g1", "u1", "acme", `{"plan":"free","domain":"acme.io"}`, h(0)),
		namedTrack("t1", "u1", "acme", "Opportunity Created", h(1)),
		namedTrack("t2", "u1", "acme", "Workflow Completed", h(2)),
		groupCall("g2", "u2", "globex", `{"plan":"team"}`, h(3)), // a new account straight onto a paid plan
	)
	// The plan changes to team (won); repeating it or moving between won
	// plans is not another win; a redelivered event changes nothing.
	ingest(groupCall("g3", "u1", "acme", `{"plan":"team"}`, h(5)))
	ingest(groupCall("g4", "u1", "acme", `{"plan":"team"}`, h(6)), groupCall("g5", "u1", "acme", `{"plan":"business"}`, h(7)))
	ingest(groupCall("g3", "u1", "acme", `{"plan":"team"}`, h(5)), namedTrack("t1", "u1", "acme", "Opportunity Created", h(1)))
	// An event of a user not linked yet counts once the link arrives.
	ingest(namedTrack("t3", "u9", "", "Order Completed", h(8)))
	require.Len(t, allOutcomes(t, st), 3)
	ingest(groupCall("g9", "u9", "initech", `{"plan":"free"}`, h(9)))

	want := []kindAt{
		{"acme", model.OutcomeOpportunity, h(1), outcomes.SourceEvent},
		{"acme", model.OutcomeWon, h(5), outcomes.SourceTrait},
		{"globex", model.OutcomeWon, h(3), outcomes.SourceTrait},
		{"initech", model.OutcomeWon, h(8), outcomes.SourceEvent},
	}
	require.Equal(t, want, allOutcomes(t, st))

	// Ingest without rules (the default model) records nothing new.
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{namedTrack("t4", "u1", "acme", "Opportunity Lost", h(10))}}})
	require.NoError(t, err)
	require.Equal(t, want, allOutcomes(t, st))

	// A re-derivation with the same rules finds the same outcomes (and
	// the Lost event that arrived while no rules were configured).
	res, err := st.DeriveOutcomes(ctx, rules, false)
	require.NoError(t, err)
	require.False(t, res.Skipped)
	require.Equal(t, int64(4), res.Removed)
	require.Equal(t, int64(5), res.Recorded)
	res, err = st.DeriveOutcomes(ctx, rules, false)
	require.NoError(t, err)
	require.True(t, res.Skipped, "the same rules again: nothing to do")
	require.Contains(t, allOutcomes(t, st), kindAt{"acme", model.OutcomeLost, h(10), outcomes.SourceEvent})

	per, err := st.AccountOutcomes(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, per, 3)
	require.Equal(t, "won: plan becomes team | business", per[1].Rule)
}

// A model change re-derives outcomes from the events already stored,
// including events that arrived before any rule named them; imported
// outcomes survive it.
func TestOutcomesRederivedWhenRulesChange(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{
		groupCall("g1", "u1", "acme", `{"plan":"free","domain":"acme.io"}`, t0),
		namedTrack("t1", "u1", "acme", "Deal Won", t0.Add(48*time.Hour)),
		namedTrack("t2", "u1", "acme", "Demo Booked", t0.Add(24*time.Hour)),
		groupCall("g2", "u1", "acme", `{"plan":"pro"}`, t0.Add(72*time.Hour)),
	}}})
	require.NoError(t, err)
	imp, err := st.ImportOutcomes(ctx, []outcomes.Row{{Line: 2, Account: "acme.io", Kind: model.OutcomeOpportunity, At: t0}})
	require.NoError(t, err)
	require.Equal(t, store.ImportResult{Imported: 1}, imp)

	v1 := outcomeRules(t, "outcomes: {won: [{event: Deal Won}]}\n")
	_, err = st.DeriveOutcomes(ctx, v1, false)
	require.NoError(t, err)
	require.Equal(t, []kindAt{
		{"acme", model.OutcomeOpportunity, t0, outcomes.SourceImport},
		{"acme", model.OutcomeWon, t0.Add(48 * time.Hour), outcomes.SourceEvent},
	}, allOutcomes(t, st))

	v2 := outcomeRules(t, "outcomes: {won: [{trait: plan, becomes: [pro]}], opportunity: [{event: Demo Booked}]}\n")
	res, err := st.DeriveOutcomes(ctx, v2, false)
	require.NoError(t, err)
	require.Equal(t, int64(1), res.Removed)
	require.Equal(t, int64(2), res.Recorded)
	require.Equal(t, []kindAt{
		{"acme", model.OutcomeOpportunity, t0, outcomes.SourceImport},
		{"acme", model.OutcomeOpportunity, t0.Add(24 * time.Hour), outcomes.SourceEvent},
		{"acme", model.OutcomeWon, t0.Add(72 * time.Hour), outcomes.SourceTrait},
	}, allOutcomes(t, st))
}

func TestImportOutcomes(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{
		groupCall("g1", "u1", "acme", `{"domain":"https://www.Acme.io"}`, t0),
		groupCall("g2", "u2", "Globex-7", `{"domain":"globex.com"}`, t0),
	}}})
	require.NoError(t, err)
	rows := []outcomes.Row{
		{Line: 2, Account: "acme", Kind: model.OutcomeWon, At: t0.Add(24 * time.Hour), Amount: 1200, HasAmount: true},
		{Line: 3, Account: "GLOBEX.com", Kind: model.OutcomeOpportunity, At: t0},
		{Line: 4, Account: "Globex-7", Kind: model.OutcomeLost, At: t0.Add(time.Hour)},
		{Line: 5, Account: "newco.dev", Kind: model.OutcomeWon, At: t0.Add(2 * time.Hour)},
		{Line: 6, Account: "acme", Kind: model.OutcomeWon, At: t0.Add(24 * time.Hour), Amount: 99, HasAmount: true}, // same row again in the file
	}
	res, err := st.ImportOutcomes(ctx, rows)
	require.NoError(t, err)
	require.Equal(t, store.ImportResult{Imported: 4, Duplicates: 1, Unmatched: 1}, res)
	// Importing the same file twice changes nothing.
	res, err = st.ImportOutcomes(ctx, rows)
	require.NoError(t, err)
	require.Equal(t, store.ImportResult{Duplicates: 5}, res)

	got, err := st.AccountOutcomes(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, 1200.0, got[0].Amount, "the first line of a repeated row is kept")
	require.True(t, got[0].HasAmount)
	got, err = st.AccountOutcomes(ctx, "Globex-7")
	require.NoError(t, err)
	require.Len(t, got, 2, "matched by domain (any case) and by id")

	un, err := st.UnmatchedOutcomes(ctx)
	require.NoError(t, err)
	require.Len(t, un, 1)
	require.Equal(t, "newco.dev", un[0].AccountRef)
	require.Empty(t, un[0].AccountID)

	// The account appears: its outcome is matched in that same commit.
	_, err = st.Ingest(ctx, []store.IngestItem{{Source: "s", Messages: []events.Message{
		groupCall("g3", "u3", "acct_42", `{"domain":"newco.dev","name":"NewCo"}`, t0.Add(3*time.Hour)),
	}}})
	require.NoError(t, err)
	un, err = st.UnmatchedOutcomes(ctx)
	require.NoError(t, err)
	require.Empty(t, un)
	got, err = st.AccountOutcomes(ctx, "acct_42")
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, model.OutcomeWon, got[0].Kind)
	require.Equal(t, outcomes.SourceImport, got[0].Source)
}
