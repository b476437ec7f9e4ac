package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/people"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// memStore answers every query with one small, fixed data set, so the
// fuzzer explores the command text, not the database.
type memStore struct{ now time.Time }

func (m memStore) LookupAccount(_ context.Context, q string) (string, error) {
	if q == "acme.com" || q == "grp_acme" {
		return "grp_acme", nil
	}
	return "", commands.ErrAccountNotFound
}

func (m memStore) MatchAccounts(_ context.Context, name string, _ int) ([]commands.AccountMatch, error) {
	if name == "acme" {
		return []commands.AccountMatch{{AccountID: "grp_acme", Name: "Acme <!channel>"}, {AccountID: "grp_acme2", Name: "Acme *Two*", Domain: "acme2.com"}}, nil
	}
	return nil, nil
}

func (m memStore) People(context.Context, people.Query) ([]people.Person, error) {
	return []people.Person{{UserID: "u1", Name: "Ann <@U1>", Email: "ann@acme.com", HandRaiser: true, Action: "Demo Requested", ActionKind: people.ActionTrack, ActionAt: m.now}}, nil
}

func (m memStore) AccountScore(context.Context, string) (*scoring.Result, error) {
	return &scoring.Result{AccountID: "grp_acme", Name: "Acme <!channel>", Domain: "acme.com", Score: 72, Tier: "high", Segment: "smb",
		At: m.now, Alertable: true, Route: &model.Route{Tier: "high", Channel: "#sdr-pql", SLA: 24 * time.Hour, Notify: true}}, nil
}

// AccountFacts has nothing to add: the lookup shows the stored score.
func (m memStore) AccountFacts(context.Context, string, model.FactsSpec, time.Time) (*scoring.Facts, error) {
	return nil, nil
}

func (m memStore) LatestEvents(context.Context, string, int) ([]commands.Event, error) {
	return []commands.Event{{At: m.now.Add(-time.Hour), Type: "track", Name: "Workflow *Completed*", User: "a@acme.com"}}, nil
}

func (m memStore) LatestAlerts(context.Context, string) (*alerting.Alert, *alerting.Alert, error) {
	a := &alerting.Alert{ID: uuid.New(), AccountID: "grp_acme", Tier: "high", State: alerting.StateOpen, CreatedAt: m.now.Add(-time.Hour)}
	return a, a, nil
}

func (m memStore) row() commands.AlertRow {
	return commands.AlertRow{ID: uuid.New(), AccountID: "grp_acme", Tier: "high", Segment: "smb", State: alerting.StateClaimed,
		PostedAt: m.now.Add(-30 * time.Hour), DueAt: m.now.Add(-2 * time.Hour), ClaimedBy: "U0ALICE01", ClaimedAt: m.now.Add(-29 * time.Hour)}
}

func (m memStore) TopCandidates(context.Context, string, int) ([]commands.TopAccount, []commands.TopAccount, error) {
	r := m.row()
	return []commands.TopAccount{{AccountID: "grp_acme", Name: "Acme", Score: 72, Tier: "high", Alert: &r}},
		[]commands.TopAccount{{AccountID: "grp_b", Name: "B *co*", Score: 60, Tier: "mid"}, {AccountID: "grp_c", Score: 50, Tier: "mid", Excluded: commands.ExcludedSuppressed}}, nil
}

func (m memStore) ExcludedCounts(context.Context, string, int, []string) (map[string]int, error) {
	return map[string]int{commands.ExcludedGateFailed: 3}, nil
}

func (m memStore) ClaimedAlerts(context.Context, string) ([]commands.AlertRow, error) {
	return []commands.AlertRow{m.row()}, nil
}

func (m memStore) PostedAlerts(context.Context, time.Time, time.Time, commands.Filter, int) ([]commands.AlertRow, error) {
	return []commands.AlertRow{m.row(), m.row()}, nil
}

func (m memStore) ProgramFacts(_ context.Context, from, _ time.Time, _ []string) (program.Facts, error) {
	r := m.row()
	return program.Facts{
		Alerts:        []program.Alert{{AccountID: r.AccountID, Tier: r.Tier, PostedAt: from, NotFitReason: "other"}},
		FirstWon:      map[string]time.Time{r.AccountID: from.Add(time.Hour)},
		Opportunities: map[string][]time.Time{},
		Won:           []program.WonAccount{{AccountID: r.AccountID, WonAt: from.Add(time.Hour)}},
		NewAccounts:   3,
	}, nil
}

func (m memStore) OverdueAlerts(context.Context, time.Time, int) ([]commands.AlertRow, error) {
	return []commands.AlertRow{m.row()}, nil
}

func (m memStore) UnclaimedAlerts(context.Context, int) ([]commands.AlertRow, error) {
	return nil, nil
}

// FuzzHandle: whatever is typed after /pql, the reply has a fallback text
// and blocks Slack accepts, and nothing panics.
func FuzzHandle(f *testing.F) {
	for _, seed := range []string{"", "help", "score acme.com", "score acme", "score Acme Inc", "score <mailto:a@b.co|a@b.co>", "top 5 high", "top hand-raiser",
		"mine", "sla", "sla 30d <@U0ALICE01|alice>", "sla <#C0SALES01|sales> 90d", "sla #sales", "sla @bob", "frobnicate", "score \x00"} {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	svc := &commands.Service{Store: memStore{now: now}, Model: model.Default(), Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, text string) {
		r := svc.Handle(context.Background(), commands.Request{UserID: "U0ALICE01", Command: "/pql", Text: text})
		if r.Text == "" {
			t.Fatalf("no fallback text for %q", text)
		}
		if err := slackui.ValidateMessage(r.Blocks); err != nil {
			t.Fatalf("reply to %q breaks Block Kit limits: %v", text, err)
		}
	})
}
