package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/store/storetest"
)

func TestPeople(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	m, err := model.Parse(model.ExampleYAML())
	require.NoError(t, err)
	at := func(daysAgo int, hour int) time.Time {
		return scoreNow.Truncate(24*time.Hour).AddDate(0, 0, -daysAgo).Add(time.Duration(hour) * time.Hour)
	}
	msgs := []segMsg{
		{Type: "identify", ID: "i1", User: "hiro", Traits: map[string]any{"name": "Hiro Walsh", "title": "IT Administrator", "email": "hiro.walsh@ember.example"}, At: at(20, 9)},
		{Type: "identify", ID: "i2", User: "ana", Traits: map[string]any{"firstName": "Ana", "lastName": "Ruiz", "email": "ana@ember.example"}, At: at(20, 9)},
		{Type: "group", ID: "g1", User: "hiro", Group: "ember", Traits: map[string]any{"name": "Ember Motors", "employees": 600}, At: at(20, 9)},
		{Type: "group", ID: "g2", User: "ana", Group: "ember", At: at(20, 9)},
		{Type: "group", ID: "g3", User: "zed", Group: "ember", At: at(20, 9)},
		{Type: "group", ID: "g4", User: "old", Group: "ember", At: at(20, 9)},
	}
	add := func(id, user, typ, name string, at time.Time) {
		msgs = append(msgs, segMsg{Type: typ, ID: id, User: user, Group: "ember", Name: name, At: at})
	}
	// ana is the busiest; her last notable action is a scored event even
	// though she viewed a page after it.
	for i, d := range []int{1, 2, 3, 4} {
		add("a"+string(rune('0'+i)), "ana", "track", "Workflow Completed", at(d, 10))
	}
	add("a9", "ana", "page", "Docs", at(0, 11))
	// zed only browses: his last action is a page view.
	add("z1", "zed", "page", "Pricing", at(2, 8))
	add("z2", "zed", "page", "Docs", at(1, 8))
	// hiro has one event, the hand-raise, and still comes first.
	add("h1", "hiro", "track", "Sales Contact Requested", at(1, 19))
	// old was busy, but before the window.
	for i := range 10 {
		add("o"+string(rune('0'+i)), "old", "track", "Workflow Completed", at(15+i, 10))
	}
	ingestDirect(t, st, msgs)

	ps, err := st.People(ctx, people.For(m, "ember", scoreNow))
	require.NoError(t, err)
	require.Equal(t, []people.Person{
		{UserID: "hiro", Name: "Hiro Walsh", Title: "IT Administrator", Email: "hiro.walsh@ember.example", HandRaiser: true,
			Action: "Sales Contact Requested", ActionKind: people.ActionTrack, ActionAt: at(1, 19), Events: 1},
		{UserID: "ana", Name: "Ana Ruiz", Email: "ana@ember.example", Action: "Workflow Completed", ActionKind: people.ActionTrack, ActionAt: at(1, 10), Events: 5},
		{UserID: "zed", Action: "Pricing", ActionKind: people.ActionPage, ActionAt: at(2, 8), Events: 2},
	}, ps)

	t.Run("limit and no hand-raise", func(t *testing.T) {
		q := people.For(m, "ember", scoreNow)
		q.HandRaisers = nil
		q.Limit = 1
		ps, err := st.People(ctx, q)
		require.NoError(t, err)
		require.Len(t, ps, 1)
		require.Equal(t, "ana", ps[0].UserID)
		require.False(t, ps[0].HandRaiser)
	})
	t.Run("as of before the hand-raise", func(t *testing.T) {
		ps, err := st.People(ctx, people.For(m, "ember", at(1, 18)))
		require.NoError(t, err)
		require.Nil(t, people.HandRaiser(ps))
		require.Len(t, ps, 2)
		require.Equal(t, []string{"ana", "zed"}, []string{ps[0].UserID, ps[1].UserID})
	})
	t.Run("nobody in the window", func(t *testing.T) {
		ps, err := st.People(ctx, people.For(m, "ember", scoreNow.AddDate(0, 2, 0)))
		require.NoError(t, err)
		require.Empty(t, ps)
		ps, err = st.People(ctx, people.For(m, "nobody", scoreNow))
		require.NoError(t, err)
		require.Empty(t, ps)
	})
}
