package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/rescore"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestModelCheck(t *testing.T) {
	code, out, _ := runCLI(t, "model", "check", filepath.Join("..", "..", "internal", "model", "example.yaml"))
	require.Equal(t, 0, code)
	require.Contains(t, out, "model 2026-q4")
	require.Contains(t, out, "high / enterprise")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: x\ntiers:\n  - {name: high, min_score: 70}\nroutes:\n  - {tier: hgih, channel: \"#x\"}\n  - {tier: high, channel: \"\"}\n"), 0o600))
	code, _, errOut := runCLI(t, "model", "check", bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `routes[0].tier: unknown tier "hgih"`)
	require.Contains(t, errOut, "routes[1].channel")

	code, _, _ = runCLI(t, "model", "check")
	require.Equal(t, 2, code)
	code, _, errOut = runCLI(t, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "unknown command")
}

func TestScoreCommand(t *testing.T) {
	st := storetest.New(t)
	t.Setenv("DATABASE_URL", st.Pool().Config().ConnString())
	// The harness's own variable would be an unknown PQLBOT_* variable to
	// the command; t.Setenv restores it afterwards.
	t.Setenv("PQLBOT_TEST_DATABASE_URL", "")
	require.NoError(t, os.Unsetenv("PQLBOT_TEST_DATABASE_URL"))
	code, _, errOut := runCLI(t, "score", "nobody.example")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, `no account matches "nobody.example"`)

	_, err := st.Pool().Exec(context.Background(), `INSERT INTO accounts (account_id, name, domain, traits, first_event_at, last_event_at)
		VALUES ('acme', 'Acme', 'acme.io', '{"employees": 120}', now(), now())`)
	require.NoError(t, err)
	code, out, errOut := runCLI(t, "score", "ACME.io")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "acme — not scored yet")
	require.Contains(t, out, "id acme")
}

// `pqlbot score` and `/pql score` are one lookup: for the same account
// they state the same facts (the headline, the score, every signal with
// its points and words, every gate, the alert and who has it, the latest
// events), the one as text, the other as Block Kit.
func TestScoreSameFactsInSlackAndTerminal(t *testing.T) {
	st := storetest.New(t)
	t.Setenv("DATABASE_URL", st.Pool().Config().ConnString())
	t.Setenv("PQLBOT_TEST_DATABASE_URL", "")
	require.NoError(t, os.Unsetenv("PQLBOT_TEST_DATABASE_URL"))
	ctx := context.Background()
	now := time.Now().UTC()
	m := model.Default()

	var msgs []events.Message
	add := func(msg events.Message) {
		msg.MessageID = fmt.Sprintf("m-%d", len(msgs))
		msg.ReceivedAt = msg.Timestamp
		msgs = append(msgs, msg)
	}
	for i, u := range []string{"u1", "u2", "u3"} {
		at := now.Add(-time.Duration(i+2) * time.Hour)
		add(events.Message{Type: events.TypeIdentify, UserID: u, Traits: json.RawMessage(`{"email": "` + u + `@acme.io"}`), Timestamp: at})
		add(events.Message{Type: events.TypeGroup, UserID: u, GroupID: "acme", Timestamp: at,
			Traits: json.RawMessage(`{"name": "Acme Systems", "domain": "acme.io", "employees": 120, "plan": "trial"}`)})
		add(events.Message{Type: events.TypeTrack, UserID: u, Name: "Workflow Completed", Timestamp: at})
		add(events.Message{Type: events.TypePage, UserID: u, Name: "Pricing", Timestamp: at})
	}
	add(events.Message{Type: events.TypeTrack, UserID: "u1", Name: "Integration Connected", Timestamp: now.Add(-time.Hour),
		Properties: json.RawMessage(`{"type": "production_database"}`)})
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "test", Messages: msgs}})
	require.NoError(t, err)
	_, err = st.ScoreQueued(ctx, rescore.Take{Limit: 10}, m.FactsSpec(), now, func(f *scoring.Facts) scoring.Result { return scoring.Evaluate(m, f, now) })
	require.NoError(t, err)
	a := storetest.PostedAlert(t, st, "acme", now.Add(-30*time.Minute), 24*time.Hour)
	_, _, err = st.ClaimAlert(ctx, a.ID, "U0ANNA", now.Add(-10*time.Minute))
	require.NoError(t, err)

	code, text, errOut := runCLI(t, "score", "acme", "systems")
	require.Equal(t, 0, code, errOut)

	svc := &commands.Service{Store: st, Model: m}
	reply := svc.Handle(ctx, commands.Request{UserID: "U0ANNA", Command: "/pql", Text: "score acme.io"})
	blocks, err := json.Marshal(reply.Blocks)
	require.NoError(t, err)
	slackText := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "\u200b", "", "*", "").Replace(string(blocks))

	cmd, err := slackui.ParseCommand("score acme.io")
	require.NoError(t, err)
	v, err := svc.ScoreView(ctx, cmd)
	require.NoError(t, err)
	require.Equal(t, slackui.ScoreAlerting, v.Headline.Status)
	facts := []string{v.Headline.Text, fmt.Sprintf("score %d", v.Score), "Acme Systems", "claimed by", "U0ANNA", "Integration Connected (type: production database)"}
	for _, s := range append(v.Signals, v.Unfired...) {
		facts = append(facts, s.Name, s.Detail, fmt.Sprintf("%+d", s.Points))
	}
	for _, g := range v.Gates {
		facts = append(facts, g.Name, g.Detail)
	}
	for _, e := range v.LatestEvents {
		facts = append(facts, e.Name, e.User)
	}
	for _, f := range v.Fit {
		facts = append(facts, f.Label, f.Value)
	}
	require.NotEmpty(t, v.People)
	for _, p := range v.People {
		facts = append(facts, p.Email, slackui.ActionPhrase(p.Action, p.ActionKind))
	}
	// Case aside: the status line capitalises its first word in Slack.
	lowText, lowSlack := strings.ToLower(text), strings.ToLower(slackText)
	for _, f := range facts {
		require.Contains(t, lowText, strings.ToLower(f), "terminal")
		require.Contains(t, lowSlack, strings.ToLower(f), "Slack")
	}
	require.NotContains(t, text, "type=production_database", "model wording stays out of the lookup")
	require.NotContains(t, slackText, "not_in", "model wording stays out of the lookup")
}
