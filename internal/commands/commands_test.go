package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares v, as indented JSON, with testdata/name.golden.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(v))
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	require.Equal(t, string(want), buf.String(), "golden file %s differs; run go test -update if the change is intended", path)
}

type replyDoc struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

func newService(t *testing.T, empty bool) (*commands.Service, fixture) {
	t.Helper()
	st := storetest.New(t)
	fx := fixture{model: model.Default(), now: fixtureNow}
	if !empty {
		fx = seed(t, st)
	}
	return &commands.Service{
		Store:      st,
		Model:      fx.model,
		Now:        func() time.Time { return fx.now },
		AccountURL: "https://app.example.com/accounts/{account}",
	}, fx
}

func TestRepliesGolden(t *testing.T) {
	svc, _ := newService(t, false)
	cases := []struct {
		name, user, text string
	}{
		{"help", alice, "help"},
		{"empty_text_is_help", alice, ""},
		{"score_domain", alice, "score acme.com"},
		{"score_hand_raiser_breached", alice, "score https://www.globex.com/pricing"},
		{"score_not_notified_tier", alice, "score initech.io"},
		{"score_gate_failed", alice, "score tiny.dev"},
		{"score_cooling_down", alice, "score umbrella.com"},
		{"score_suppressed", alice, "score hooli.xyz"},
		{"score_unknown", alice, "score nosuchcompany.com"},
		{"score_name_pick", alice, "score acme"},
		{"score_name_exact", alice, "score acme systems"},
		{"score_name_prefix", alice, "score Wayne"},
		{"top_default", alice, "top"},
		{"top_3_high", alice, "top 3 high"},
		{"top_hand_raiser", alice, "top hand-raiser"},
		{"top_mid", alice, "top 25 mid"},
		{"mine_alice", alice, "mine"},
		{"mine_bob_overdue", bob, "mine"},
		{"mine_empty", carol, "mine"},
		{"sla_default_7d", alice, "sla"},
		{"sla_30d", alice, "sla 30d"},
		{"sla_90d", alice, "sla 90d"},
		{"sla_30d_user", alice, "sla 30d <@" + bob + "|bob>"},
		{"sla_30d_channel_id", alice, "sla <#" + chanEnter + "|ae-enterprise> 30d"},
		{"sla_30d_channel_name", alice, "sla 30d #sdr-pql"},
		{"sla_user_without_alerts", alice, "sla 7d <@U0NOBODY1>"},
		{"stats_default_30d", alice, "stats"},
		{"stats_90d", alice, "stats 90d"},
		{"stats_quarter", alice, "stats QUARTER"},
		{"stats_bad_period", alice, "stats 7d"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := svc.Handle(context.Background(), commands.Request{UserID: c.user, Command: "/pql", Text: c.text})
			require.NotEmpty(t, r.Text)
			require.NoError(t, slackui.ValidateMessage(r.Blocks))
			golden(t, c.name, replyDoc{r.Text, r.Blocks})
		})
	}
}

func TestRepliesGoldenEmptyDatabase(t *testing.T) {
	svc, _ := newService(t, true)
	for _, c := range []struct{ name, text string }{
		{"empty_top", "top"},
		{"empty_mine", "mine"},
		{"empty_sla", "sla 30d"},
		{"empty_score", "score acme.com"},
		{"empty_stats", "stats"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := svc.Handle(context.Background(), commands.Request{UserID: alice, Command: "/pql", Text: c.text})
			require.NoError(t, slackui.ValidateMessage(r.Blocks))
			golden(t, c.name, replyDoc{r.Text, r.Blocks})
		})
	}
	t.Run("empty_home", func(t *testing.T) {
		v, err := svc.HomeView(context.Background(), alice, "")
		require.NoError(t, err)
		require.NoError(t, slackui.ValidateHomeView(v))
		golden(t, "empty_home", v)
	})
}

func TestHomeViewGolden(t *testing.T) {
	svc, _ := newService(t, false)
	for _, c := range []struct{ name, user string }{
		{"home_rep_with_alerts", alice},
		{"home_rep_overdue", bob},
		{"home_manager", carol},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := svc.HomeView(context.Background(), c.user, "")
			require.NoError(t, err)
			require.NoError(t, slackui.ValidateHomeView(v))
			golden(t, c.name, v)
		})
	}
}

// The same account found by domain, account id, user email and Slack's
// escaped link forms gives the same reply.
func TestScoreTargets(t *testing.T) {
	svc, _ := newService(t, false)
	want := svc.Handle(context.Background(), commands.Request{UserID: alice, Command: "/pql", Text: "score acme.com"})
	require.Contains(t, want.Text, "Acme Inc")
	for _, text := range []string{
		"score grp_acme",
		"score bob@acme.com",
		"score <mailto:BOB@acme.com|BOB@acme.com>",
		"score <http://acme.com|acme.com>",
		"SCORE   ACME.COM  ",
		"score www.acme.com",
	} {
		t.Run(text, func(t *testing.T) {
			got := svc.Handle(context.Background(), commands.Request{UserID: alice, Command: "/pql", Text: text})
			require.Equal(t, want, got)
		})
	}
}

// Input that cannot be understood gets the help text saying what was not
// understood, never an error.
func TestMalformedInput(t *testing.T) {
	svc, _ := newService(t, false)
	cases := []struct {
		name, text string
		// problem is a fragment of what the reply says was not understood.
		problem string
	}{
		{"unknown subcommand", "frobnicate acme.com", "unknown subcommand `frobnicate`"},
		{"bad period", "sla 14d", "the period must be 7d, 30d or 90d"},
		{"period without unit", "sla 30", "the period must be 7d, 30d or 90d"},
		{"two periods", "sla 7d 30d", "one period"},
		{"unknown user", "sla @nobody", "I don't know who `@nobody` is"},
		{"user group", "sla <!subteam^S123|sales>", "user groups are not supported"},
		{"unknown tier", "top 5 platinum", "there is no tier `platinum`"},
		{"top zero", "top 0", "between 1 and"},
		{"top too many", "top 1000", "between 1 and"},
		{"top negative", "top -3", "between 1 and"},
		{"score without target", "score", "needs a domain"},
		{"score two targets", "score acme.com globex.com", "takes one"},
		{"bad email", "score bob@", "not a valid email address"},
		{"mine with args", "mine please", "takes no arguments"},
		{"very long text", "score " + strings.Repeat("a", 5000), "too long"},
		{"very long multibyte text", strings.Repeat("🚀", 600), "too long"},
		{"control characters", "score \x00\x01", "not a domain, account name, account id or email"},
		{"invalid utf-8", "top \xff\xfe", "is not a tier name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := svc.Handle(context.Background(), commands.Request{UserID: alice, Command: "/pql", Text: c.text})
			require.NoError(t, slackui.ValidateMessage(r.Blocks))
			require.Contains(t, r.Text, "I didn't understand that")
			body, err := json.Marshal(r.Blocks)
			require.NoError(t, err)
			require.Contains(t, string(body), "*Usage*", "the reply shows the help")
			require.Contains(t, r.Text, c.problem)
		})
	}
	t.Run("extra spaces are fine", func(t *testing.T) {
		r := svc.Handle(context.Background(), commands.Request{UserID: alice, Command: "/pql", Text: "   top    3     high   "})
		require.True(t, strings.HasPrefix(r.Text, "Accounts to work first · high: "), r.Text)
		require.Equal(t, 2, strings.Count(r.Text, ","), "three accounts: "+r.Text)
	})
}

// A store that fails (database down) gets an apology, not an error or the
// cause.
func TestStoreFailureIsAnApology(t *testing.T) {
	svc, _ := newService(t, false)
	svc.Store = failingStore{svc.Store}
	for _, text := range []string{"score acme.com", "top", "mine", "sla 30d"} {
		r := svc.Handle(context.Background(), commands.Request{UserID: alice, Command: "/pql", Text: text})
		require.Contains(t, r.Text, "Something went wrong", text)
		require.NotContains(t, r.Text, "connection refused")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	svc.Store = slowStore{svc.Store}
	r := svc.Handle(ctx, commands.Request{UserID: alice, Command: "/pql", Text: "top"})
	require.Contains(t, r.Text, "took too long")
}

type failingStore struct{ commands.Store }

var errDown = &downError{}

type downError struct{}

func (*downError) Error() string { return "dial tcp 127.0.0.1:5432: connection refused" }

func (failingStore) LookupAccount(context.Context, string) (string, error) { return "", errDown }
func (failingStore) TopCandidates(context.Context, string, int) ([]commands.TopAccount, []commands.TopAccount, error) {
	return nil, nil, errDown
}
func (failingStore) ClaimedAlerts(context.Context, string) ([]commands.AlertRow, error) {
	return nil, errDown
}
func (failingStore) PostedAlerts(context.Context, time.Time, time.Time, commands.Filter, int) ([]commands.AlertRow, error) {
	return nil, errDown
}
func (failingStore) ProgramFacts(context.Context, time.Time, time.Time, []string) (program.Facts, error) {
	return program.Facts{}, errDown
}

type slowStore struct{ commands.Store }

func (slowStore) TopCandidates(ctx context.Context, _ string, _ int) ([]commands.TopAccount, []commands.TopAccount, error) {
	<-ctx.Done()
	return nil, nil, ctx.Err()
}

// An account that exists but was never scored says so rather than "no
// account matches".
func TestScoreOfAnAccountNotScoredYet(t *testing.T) {
	svc, _ := newService(t, true)
	st := svc.Store.(*store.Store)
	_, err := st.Pool().Exec(context.Background(), `INSERT INTO accounts (account_id, name, domain) VALUES ('grp_new', 'Newco', 'newco.io')`)
	require.NoError(t, err)
	r := svc.Handle(context.Background(), commands.Request{UserID: alice, Command: "/pql", Text: "score newco.io"})
	require.NoError(t, slackui.ValidateMessage(r.Blocks))
	body, err := json.Marshal(r.Blocks)
	require.NoError(t, err)
	require.Contains(t, string(body), "grp_new")
	require.Contains(t, string(body), "not been scored yet")
}

// The stored score is the last one that changed something; a lookup shows
// the account as it is now, counts included, even when the re-scorer has
// not written (or not yet run) since the latest events.
func TestScoreShowsTheCurrentExplanation(t *testing.T) {
	svc, _ := newService(t, false)
	st := svc.Store.(*store.Store)
	ctx := context.Background()
	stored, err := st.GetScore(ctx, "grp_acme")
	require.NoError(t, err)
	cmd, err := slackui.ParseCommand("score grp_acme")
	require.NoError(t, err)
	before, err := svc.ScoreView(ctx, cmd)
	require.NoError(t, err)

	var msgs []events.Message
	for i := range 4 {
		at := fixtureNow.Add(-time.Duration(i+1) * time.Hour)
		msgs = append(msgs, events.Message{Type: events.TypeTrack, MessageID: fmt.Sprintf("late-%d", i), UserID: "u_acme_0",
			ContextGroupID: "grp_acme", Name: "Workflow Completed", Timestamp: at, ReceivedAt: at})
	}
	_, err = st.Ingest(ctx, []store.IngestItem{{Source: "fixture", Messages: msgs}})
	require.NoError(t, err)
	after, err := svc.ScoreView(ctx, cmd)
	require.NoError(t, err)

	facts, err := st.LoadFacts(ctx, []string{"grp_acme"}, svc.Model.FactsSpec(), fixtureNow)
	require.NoError(t, err)
	want := scoring.Evaluate(svc.Model, facts["grp_acme"], fixtureNow)
	unchanged, err := st.GetScore(ctx, "grp_acme")
	require.NoError(t, err)
	require.Equal(t, stored, unchanged, "nothing re-scored the account")
	require.NotEqual(t, before.Signals, after.Signals, "the new events show in the lookup")
	require.Equal(t, want.Score, after.Score)
	require.Equal(t, fixtureNow, after.ScoredAt, "evaluated at lookup time")
}
