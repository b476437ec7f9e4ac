package scoring

import (
	"testing"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

func TestExplainGolden(t *testing.T) {
	m := model.Default()
	rich := richFacts()

	handRaiser := richFacts()
	handRaiser.AccountID, handRaiser.Name, handRaiser.Domain = "acct_globex", "Globex", "globex.io"
	handRaiser.Traits = map[string]any{"employees": 35.0, "email_domain": "globex.io"}
	handRaiser.Buckets = []Bucket{track("Demo Requested", 1, 1), page("Pricing", 1, 3)}
	handRaiser.Filtered = nil

	blocked := Facts{
		AccountID:         "acct_hooli",
		Name:              "Hooli",
		Traits:            map[string]any{"employees": 4.0, "email_domain": "gmail.com", "plan": "paid"},
		FirstEventAt:      ago(50),
		LastEventAt:       ago(20).Add(9 * time.Hour),
		DisqualifiedUntil: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC),
		Buckets:           []Bucket{track("Workflow Completed", 20, 9), track("Ticket Opened", 20, 4)},
	}

	fast := Facts{
		AccountID:    "acct_initech",
		Domain:       "initech.com",
		Traits:       map[string]any{"employees": "75", "email_domain": "initech.com"},
		FirstEventAt: ago(1).Add(8 * time.Hour),
		LastEventAt:  now.Add(-2 * time.Hour),
		Buckets: []Bucket{
			track("Workflow Completed", 1, 2), track("Workflow Completed", 0, 2),
			track("Teammate Invited", 0, 2), page("Pricing", 0, 1),
		},
		ActiveUsers: concat(users(1, "a"), users(0, "a", "b")),
	}

	tests := []struct {
		name  string
		facts Facts
	}{
		{"alerting_enterprise", rich},
		{"hand_raiser", handRaiser},
		{"not_alerting", blocked},
		{"fast_start_mid", fast},
		{"no_events", Facts{AccountID: "acct_new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "explain_"+tt.name+".txt", Explain(Evaluate(m, &tt.facts, now)))
		})
	}
}
