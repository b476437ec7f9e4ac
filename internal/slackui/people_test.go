package slackui

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/people"
)

func samplePeople() []people.Person {
	return []people.Person{
		{UserID: "u-hiro", Name: "Hiro Walsh", Title: "IT Administrator", Email: "hiro.walsh@embermotors.com", HandRaiser: true,
			Action: "Sales Contact Requested", ActionKind: people.ActionTrack, ActionAt: time.Date(2026, 11, 21, 19, 54, 0, 0, time.UTC), Events: 1},
		{UserID: "u-ana", Name: "Ana Ruiz", Title: "Data Engineer", Email: "ana_ruiz@embermotors.com",
			Action: "Workflow Completed", ActionKind: people.ActionTrack, ActionAt: time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC), Events: 31},
		{UserID: "anon-7f3a", Action: "Pricing", ActionKind: people.ActionPage, ActionAt: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC), Events: 4},
	}
}

func TestPeopleGolden(t *testing.T) {
	goldenReply(t, "people", Reply{Text: PersonText(samplePeople()[0]), Blocks: []slack.Block{section(PeopleText("*Who to contact*", samplePeople()))}})
}

func TestActionPhrase(t *testing.T) {
	for _, tc := range []struct{ action, kind, want string }{
		{"Sales Contact Requested", people.ActionTrack, "requested sales contact"},
		{"Demo Requested", people.ActionTrack, "requested demo"},
		{"Upgrade Started", people.ActionTrack, "started upgrade"},
		{"API Key Created", people.ActionTrack, "created API key"},
		{"GitHub Repo Connected", people.ActionTrack, "connected GitHub repo"},
		{"Signed", people.ActionTrack, "signed"},
		{"Export", people.ActionTrack, "triggered “Export”"},
		{"Speed", people.ActionTrack, "triggered “Speed”"},
		{"Pricing", people.ActionPage, "viewed Pricing"},
		{"Settings", people.ActionScreen, "opened the Settings screen"},
		{"  Teammate   Invited ", people.ActionTrack, "invited teammate"},
	} {
		t.Run(tc.action, func(t *testing.T) {
			require.Equal(t, tc.want, ActionPhrase(tc.action, tc.kind))
		})
	}
}

func TestPersonLine(t *testing.T) {
	ps := samplePeople()
	require.Equal(t, "✋ *Hiro Walsh*, IT Administrator · <mailto:hiro.walsh@embermotors.com|hiro.walsh@embermotors.com> — requested sales contact <!date^1795290840^{date_short_pretty} at {time}|2026-11-21 19:54 UTC>", PersonLine(ps[0]))
	require.Equal(t, "👤 user anon-7f3a — viewed Pricing <!date^1795161600^{date_short_pretty} at {time}|2026-11-20 08:00 UTC>", PersonLine(ps[2]))
	require.Equal(t, "Hiro Walsh (IT Administrator) requested sales contact", PersonText(ps[0]))
	require.Equal(t, "user anon-7f3a viewed Pricing", PersonText(ps[2]))
	require.Empty(t, PeopleText("*Who*", nil))

	t.Run("user data never formats or links", func(t *testing.T) {
		evil := people.Person{UserID: "<!channel>", Name: "*Boss* <@U123> _x_ ~y~ `z`", Title: "<https://evil|click>", Email: "a@b.co|<!here>", Action: "<!everyone> Done", ActionKind: people.ActionTrack}
		for _, tc := range []struct {
			s        string
			ownStars int
		}{
			{PersonLine(evil), 2}, // the name's own bold
			{PersonText(evil), 0},
			{PeopleText("", []people.Person{evil, {UserID: "<!here>"}}), 2},
		} {
			require.NotContains(t, tc.s, "<!")
			require.NotContains(t, tc.s, "<@")
			require.NotContains(t, tc.s, "<https")
			require.NotContains(t, tc.s, "<mailto")
			bare := strings.ReplaceAll(tc.s, zwsp+"_"+zwsp, "")
			require.Equal(t, tc.ownStars, strings.Count(bare, "*"), bare)
			require.NotContains(t, bare, "_")
			require.NotContains(t, bare, "~")
			require.NotContains(t, bare, "`")
		}
	})
}
