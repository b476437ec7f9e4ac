package scoring

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
)

const kindsModel = `
signals:
  - {name: count, event: Workflow Completed, min_count: 3, window_days: 7, points: 25}
  - {name: today, event: Login, window_days: 1, points: 1}
  - {name: pages, page: Pricing, min_count: 2, window_days: 7, points: 20}
  - {name: sum, event: Records Imported, sum: records, min_sum: 100, window_days: 30, points: 15}
  - {name: where, event: Integration Connected, where: {type: production_database}, points: 10}
  - {name: where sum, event: Export, sum: rows, min_sum: 10, where: {format: csv}, window_days: 7, points: 3}
  - {name: ever, event: Signed Up, points: 5}
  - {name: users, distinct_users: 3, window_days: 7, points: 10}
  - {name: all users, distinct_users: 4, points: 2}
  - {name: negative, event: Ticket Opened, min_count: 3, window_days: 7, points: -15}
tiers: [{name: t, min_score: 0}]
routes: [{tier: t, channel: "#t"}]
`

func TestSignalKinds(t *testing.T) {
	m := mustModel(t, kindsModel)
	tests := []struct {
		name   string
		facts  Facts
		signal string
		fired  bool
		count  int64
		sum    float64
		users  int
		detail string
	}{
		{name: "count meets min_count", signal: "count", fired: true, count: 3,
			facts:  Facts{Buckets: []Bucket{track("Workflow Completed", 0, 1), track("Workflow Completed", 3, 2)}},
			detail: "3× Workflow Completed in 7 days (needs 3)"},
		{name: "count below min_count", signal: "count", count: 2,
			facts: Facts{Buckets: []Bucket{track("Workflow Completed", 1, 2)}}},
		{name: "event exactly window_days old is out", signal: "count", count: 2,
			facts: Facts{Buckets: []Bucket{track("Workflow Completed", 7, 5), track("Workflow Completed", 6, 2)}}},
		{name: "last day of the window is in", signal: "count", fired: true, count: 7,
			facts: Facts{Buckets: []Bucket{track("Workflow Completed", 6, 7)}}},
		{name: "future days are ignored", signal: "count", count: 1,
			facts: Facts{Buckets: []Bucket{track("Workflow Completed", -1, 9), track("Workflow Completed", 0, 1)}}},
		{name: "window of one day is today", signal: "today", fired: true, count: 1,
			facts:  Facts{Buckets: []Bucket{track("Login", 0, 1), track("Login", 1, 4)}},
			detail: "1× Login today (needs 1)"},
		{name: "yesterday is outside a one-day window", signal: "today",
			facts: Facts{Buckets: []Bucket{track("Login", 1, 4)}}},
		{name: "other names do not count", signal: "count",
			facts: Facts{Buckets: []Bucket{track("Workflow Started", 0, 9)}}},
		{name: "page views", signal: "pages", fired: true, count: 2,
			facts:  Facts{Buckets: []Bucket{page("Pricing", 0, 1), page("Pricing", 2, 1)}},
			detail: "2× page Pricing in 7 days (needs 2)"},
		{name: "a track event named like the page is not a view", signal: "pages", count: 1,
			facts: Facts{Buckets: []Bucket{track("Pricing", 0, 5), page("Pricing", 0, 1)}}},
		{name: "sum reaches min_sum", signal: "sum", fired: true, count: 2, sum: 120,
			facts: Facts{Buckets: []Bucket{
				sums(track("Records Imported", 0, 1), map[string]float64{"records": 70.5}),
				sums(track("Records Imported", 29, 1), map[string]float64{"records": 49.5, "other": 1000}),
			}},
			detail: "120 records from Records Imported in 30 days (needs 100)"},
		{name: "sum below min_sum", signal: "sum", count: 2, sum: 99,
			facts: Facts{Buckets: []Bucket{
				sums(track("Records Imported", 0, 1), map[string]float64{"records": 50}),
				sums(track("Records Imported", 1, 1), map[string]float64{"records": 49}),
				sums(track("Records Imported", 30, 1), map[string]float64{"records": 1000}),
			}}},
		{name: "sum without the property", signal: "sum", count: 3,
			facts: Facts{Buckets: []Bucket{sums(track("Records Imported", 0, 3), map[string]float64{"rows": 500})}}},
		{name: "where uses the filtered series", signal: "where", fired: true, count: 1,
			facts: Facts{
				Buckets:  []Bucket{track("Integration Connected", 0, 4)},
				Filtered: map[string][]Bucket{"where": {track("Integration Connected", 200, 1)}},
			},
			detail: "1× Integration Connected (type: production database) ever (needs 1)"},
		{name: "where ignores unfiltered events", signal: "where",
			facts: Facts{Buckets: []Bucket{track("Integration Connected", 0, 4)}}},
		{name: "where with sum", signal: "where sum", fired: true, count: 2, sum: 12,
			facts: Facts{Filtered: map[string][]Bucket{"where sum": {
				sums(track("Export", 0, 2), map[string]float64{"rows": 12}),
				sums(track("Export", 8, 2), map[string]float64{"rows": 500}),
			}}}},
		{name: "all history", signal: "ever", fired: true, count: 1,
			facts: Facts{Buckets: []Bucket{track("Signed Up", 900, 1)}}},
		{name: "distinct users in window", signal: "users", fired: true, users: 3,
			facts:  Facts{ActiveUsers: concat(users(0, "a", "b"), users(1, "a", "c"), users(7, "d"))},
			detail: "3 active users in 7 days (needs 3)"},
		{name: "the same user on many days counts once", signal: "users", users: 2,
			facts: Facts{ActiveUsers: concat(users(0, "a"), users(1, "a"), users(2, "a"), users(3, "b"))}},
		{name: "distinct users over all history", signal: "all users", fired: true, users: 4,
			facts: Facts{ActiveUsers: concat(users(0, "a"), users(100, "b"), users(300, "c", "d"), users(-1, "future"))}},
		{name: "negative signal fires", signal: "negative", fired: true, count: 3,
			facts: Facts{Buckets: []Bucket{track("Ticket Opened", 0, 3)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(m, &tt.facts, now)
			s := signal(t, r, tt.signal)
			require.Equal(t, tt.fired, s.Fired)
			require.Equal(t, tt.count, s.Count)
			require.InDelta(t, tt.sum, s.Sum, 1e-9)
			require.Equal(t, tt.users, s.Users)
			if tt.detail != "" {
				require.Equal(t, tt.detail, s.Detail)
			}
			want := 0
			for _, x := range r.Signals {
				if x.Fired {
					want += x.Points
				}
			}
			require.Equal(t, want, r.Score)
			if tt.fired {
				require.Contains(t, r.Fired(), s)
			}
		})
	}
}

func concat(parts ...[]UserDay) []UserDay {
	var out []UserDay
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestNegativePoints(t *testing.T) {
	m := mustModel(t, kindsModel)
	r := Evaluate(m, &Facts{Buckets: []Bucket{
		track("Workflow Completed", 0, 3), track("Ticket Opened", 0, 5),
	}}, now)
	require.Equal(t, 25-15, r.Score)
	r = Evaluate(m, &Facts{Buckets: []Bucket{track("Ticket Opened", 0, 5)}}, now)
	require.Equal(t, -15, r.Score)
	require.Equal(t, "", r.Tier, "below the lowest tier (min_score 0)")
}

func TestTraitSignals(t *testing.T) {
	m := mustModel(t, `
signals:
  - {name: gte, trait: employees, gte: 50, points: 1}
  - {name: lte, trait: employees, lte: 10, points: 2}
  - {name: eq, trait: plan, eq: trial, points: 4}
  - {name: in, trait: industry, in: [software, fintech], points: 8}
  - {name: not_in, trait: industry, not_in: [agency], points: 16}
  - {name: business email, trait: email_domain, not_in: free_email, points: 32}
  - {name: domain, trait: domain, eq: acme.com, points: 64}
tiers: [{name: t, min_score: 0}]
routes: [{tier: t, channel: "#t"}]
`)
	tests := []struct {
		name   string
		facts  Facts
		fired  []string
		detail map[string]string
	}{
		{name: "numbers", facts: Facts{Traits: map[string]any{"employees": 250.0}}, fired: []string{"gte"},
			detail: map[string]string{"gte": "employees is 250 (needs ≥ 50)", "lte": "employees is 250 (needs ≤ 10)"}},
		{name: "numeric string", facts: Facts{Traits: map[string]any{"employees": "5"}}, fired: []string{"lte"}},
		{name: "edge of gte", facts: Facts{Traits: map[string]any{"employees": 50.0}}, fired: []string{"gte"}},
		{name: "text where a number is needed", facts: Facts{Traits: map[string]any{"employees": "lots"}}},
		{name: "eq and in", facts: Facts{Traits: map[string]any{"plan": "Trial", "industry": "software"}},
			fired:  []string{"eq", "in", "not_in"},
			detail: map[string]string{"in": "industry is software (needs one of [software, fintech])"}},
		{name: "not_in excludes", facts: Facts{Traits: map[string]any{"industry": "agency"}}},
		{name: "free email", facts: Facts{Traits: map[string]any{"email_domain": "gmail.com"}},
			detail: map[string]string{"business email": "email_domain is gmail.com (needs none of free_email)"}},
		{name: "business email", facts: Facts{Traits: map[string]any{"email_domain": "acme.com"}}, fired: []string{"business email"}},
		{name: "domain falls back to the account column", facts: Facts{Domain: "acme.com"}, fired: []string{"domain"}},
		{name: "missing traits never fire", facts: Facts{Traits: map[string]any{"employees": nil}},
			detail: map[string]string{"gte": "employees unknown (needs ≥ 50)", "not_in": "industry unknown (needs none of [agency])"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(m, &tt.facts, now)
			var fired []string
			want := 0
			for _, s := range r.Signals {
				if s.Fired {
					fired = append(fired, s.Name)
					want += s.Points
				}
			}
			require.Equal(t, tt.fired, fired)
			require.Equal(t, want, r.Score)
			for name, d := range tt.detail {
				require.Equal(t, d, signal(t, r, name).Detail)
			}
		})
	}
}

func TestVelocity(t *testing.T) {
	m := mustModel(t, `
signals:
  - {name: workflows, event: Workflow Completed, min_count: 3, window_days: 7, points: 40}
  - {name: size, trait: employees, gte: 50, points: 10}
  - {name: fast, score_within_days_of_signup: {days: 3, min_score: 50}, points: 10}
tiers: [{name: t, min_score: 0}]
routes: [{tier: t, channel: "#t"}]
`)
	fit := map[string]any{"employees": 100.0}
	at := func(daysAgo, hour int) time.Time { return ago(daysAgo).Add(time.Duration(hour) * time.Hour) }
	tests := []struct {
		name    string
		facts   Facts
		fired   bool
		reached int
		score   int
	}{
		{name: "fast start within three days", fired: true, reached: 50, score: 10,
			facts: Facts{Traits: fit, FirstEventAt: at(20, 23), Buckets: []Bucket{track("Workflow Completed", 20, 1), track("Workflow Completed", 18, 2)}}},
		{name: "the fourth day is too late", reached: 10, score: 10,
			facts: Facts{Traits: fit, FirstEventAt: at(20, 1), Buckets: []Bucket{track("Workflow Completed", 20, 1), track("Workflow Completed", 17, 2)}}},
		{name: "without the fit points it is not enough", reached: 40, score: 0,
			facts: Facts{FirstEventAt: at(20, 1), Buckets: []Bucket{track("Workflow Completed", 20, 3)}}},
		{name: "a young account fires as soon as it qualifies", fired: true, reached: 50, score: 50,
			facts: Facts{Traits: fit, FirstEventAt: at(0, 9), Buckets: []Bucket{track("Workflow Completed", 0, 3)}}},
		{name: "no events", facts: Facts{Traits: fit}, score: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(m, &tt.facts, now)
			s := signal(t, r, "fast")
			require.Equal(t, tt.fired, s.Fired)
			require.Equal(t, tt.reached, s.Reached)
			velocityPoints := 0
			if tt.fired {
				velocityPoints = 10
			}
			require.Equal(t, tt.score+velocityPoints, r.Score)
		})
	}
	r := Evaluate(m, &Facts{Traits: fit, FirstEventAt: at(20, 1), Buckets: []Bucket{track("Workflow Completed", 19, 3)}}, now)
	require.Equal(t, "reached 50 in the first 3 days (needs 50)", signal(t, r, "fast").Detail)
	r = Evaluate(m, &Facts{Traits: fit}, now)
	require.Equal(t, "no events yet (needs 50 in the first 3 days)", signal(t, r, "fast").Detail)
}

func TestTimeZones(t *testing.T) {
	m := mustModel(t, kindsModel)
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)

	// 20:00 in Los Angeles on Nov 21 is 04:00 UTC on Nov 22: "today" is
	// the UTC day, not the local one.
	laNow := time.Date(2026, 11, 21, 20, 0, 0, 0, la)
	require.Equal(t, 22, laNow.UTC().Day())
	facts := Facts{Buckets: []Bucket{track("Login", 0, 1)}}
	require.True(t, signal(t, Evaluate(m, &facts, laNow), "today").Fired)
	require.Equal(t, time.UTC, Evaluate(m, &facts, laNow).At.Location())

	// A bucket day handed over in another zone means the same instant.
	facts = Facts{Buckets: []Bucket{{Day: ago(0).In(tokyo), Kind: model.BucketTrack, Name: "Login", Count: 1}}}
	require.True(t, signal(t, Evaluate(m, &facts, now), "today").Fired)

	// Just before UTC midnight the day is still today; one second later
	// yesterday's bucket has left a one-day window.
	facts = Facts{Buckets: []Bucket{track("Login", 0, 1)}}
	require.True(t, signal(t, Evaluate(m, &facts, ago(-1).Add(-time.Second)), "today").Fired)
	require.False(t, signal(t, Evaluate(m, &facts, ago(-1)), "today").Fired)
}

const fullModel = `
recency_days: 14
gates:
  - {trait: employees, gte: 10}
  - {trait: email_domain, not_in: free_email}
signals:
  - {name: workflows, event: Workflow Completed, min_count: 3, window_days: 7, points: 60}
  - {name: pricing, page: Pricing, min_count: 1, window_days: 7, points: 20}
hand_raisers: [Demo Requested, Upgrade Started]
tiers:
  - {name: high, min_score: 70}
  - {name: mid, min_score: 50}
  - {name: low, min_score: 0}
segments:
  - {name: enterprise, trait: employees, gte: 500}
  - {name: smb}
routes:
  - {tier: hand_raiser, channel: "#ae-hand-raisers", owner: AE, sla: 4h}
  - {tier: high, segment: enterprise, channel: "#ae-enterprise", owner: AE}
  - {tier: high, channel: "#sdr-pql", owner: SDR}
  - {tier: mid, channel: "#nurture", notify: false}
suppress:
  - {trait: plan, in: [paid, enterprise]}
`

func TestTiersSegmentsRoutes(t *testing.T) {
	m := mustModel(t, fullModel)
	base := map[string]any{"employees": 40.0, "email_domain": "acme.com"}
	big := map[string]any{"employees": 900.0, "email_domain": "acme.com"}
	last := now.Add(-time.Hour)
	tests := []struct {
		name          string
		facts         Facts
		tier, segment string
		channel       string
		alertable     bool
		codes         []string
		next          string
		handRaise     string
		handRaiseAgo  int
	}{
		{name: "high smb", tier: "high", segment: "smb", channel: "#sdr-pql", alertable: true,
			facts: Facts{Traits: base, LastEventAt: last, Buckets: []Bucket{track("Workflow Completed", 0, 3), page("Pricing", 1, 1)}}},
		{name: "high enterprise", tier: "high", segment: "enterprise", channel: "#ae-enterprise", alertable: true,
			facts: Facts{Traits: big, LastEventAt: last, Buckets: []Bucket{track("Workflow Completed", 0, 3), page("Pricing", 1, 1)}}},
		{name: "mid does not notify", tier: "mid", segment: "smb", channel: "#nurture", codes: []string{"below_threshold"}, next: "high",
			facts: Facts{Traits: base, LastEventAt: last, Buckets: []Bucket{track("Workflow Completed", 0, 3)}}},
		{name: "low has no route", tier: "low", segment: "smb", codes: []string{"below_threshold"}, next: "mid",
			facts: Facts{Traits: base, LastEventAt: last, Buckets: []Bucket{page("Pricing", 1, 1)}}},
		{name: "hand raise beats score", tier: "hand_raiser", segment: "smb", channel: "#ae-hand-raisers", alertable: true,
			handRaise: "Upgrade Started", handRaiseAgo: 2,
			facts: Facts{Traits: base, LastEventAt: last, Buckets: []Bucket{
				track("Demo Requested", 9, 1), track("Upgrade Started", 2, 1), track("Demo Requested", 14, 1)}}},
		{name: "same-day hand raises: first listed wins", tier: "hand_raiser", segment: "smb", channel: "#ae-hand-raisers", alertable: true,
			handRaise: "Demo Requested", handRaiseAgo: 3,
			facts: Facts{Traits: base, LastEventAt: last, Buckets: []Bucket{track("Upgrade Started", 3, 1), track("Demo Requested", 3, 1)}}},
		{name: "old hand raise is out of recency", tier: "low", segment: "smb", codes: []string{"below_threshold", "not_recent"}, next: "mid",
			facts: Facts{Traits: base, LastEventAt: ago(14), Buckets: []Bucket{track("Demo Requested", 14, 1)}}},
		{name: "gate fails on missing trait", tier: "high", segment: "smb", channel: "#sdr-pql", codes: []string{"gate_failed"},
			facts: Facts{Traits: map[string]any{"employees": 40.0}, LastEventAt: last, Buckets: []Bucket{track("Workflow Completed", 0, 3), page("Pricing", 1, 1)}}},
		{name: "gates fail on free email and size", tier: "hand_raiser", segment: "smb", channel: "#ae-hand-raisers",
			codes: []string{"gate_failed", "gate_failed"}, handRaise: "Demo Requested",
			facts: Facts{Traits: map[string]any{"employees": 3.0, "email_domain": "gmail.com"}, LastEventAt: last, Buckets: []Bucket{track("Demo Requested", 0, 1)}}},
		{name: "suppressed customer", tier: "high", segment: "smb", channel: "#sdr-pql", codes: []string{"suppressed"},
			facts: Facts{Traits: map[string]any{"employees": 40.0, "email_domain": "acme.com", "plan": "Paid"}, LastEventAt: last,
				Buckets: []Bucket{track("Workflow Completed", 0, 3), page("Pricing", 1, 1)}}},
		{name: "disqualified", tier: "high", segment: "smb", channel: "#sdr-pql", codes: []string{"disqualified"},
			facts: Facts{Traits: base, LastEventAt: last, DisqualifiedUntil: now.Add(24 * time.Hour),
				Buckets: []Bucket{track("Workflow Completed", 0, 3), page("Pricing", 1, 1)}}},
		{name: "disqualification over", tier: "high", segment: "smb", channel: "#sdr-pql", alertable: true,
			facts: Facts{Traits: base, LastEventAt: last, DisqualifiedUntil: now,
				Buckets: []Bucket{track("Workflow Completed", 0, 3), page("Pricing", 1, 1)}}},
		{name: "no events at all", tier: "low", segment: "smb", codes: []string{"below_threshold", "not_recent"}, next: "mid",
			facts: Facts{Traits: base}},
		{name: "last event on the recency edge", tier: "low", segment: "smb", codes: []string{"below_threshold", "not_recent"}, next: "mid",
			facts: Facts{Traits: base, LastEventAt: ago(14).Add(23 * time.Hour)}},
		{name: "last event inside recency", tier: "low", segment: "smb", codes: []string{"below_threshold"}, next: "mid",
			facts: Facts{Traits: base, LastEventAt: ago(13)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(m, &tt.facts, now)
			require.Equal(t, tt.tier, r.Tier)
			require.Equal(t, tt.segment, r.Segment)
			if tt.channel == "" {
				require.Nil(t, r.Route)
			} else {
				require.NotNil(t, r.Route)
				require.Equal(t, tt.channel, r.Route.Channel)
			}
			var codes []string
			for _, x := range r.Reasons {
				codes = append(codes, x.Code)
				require.NotEmpty(t, x.Text)
			}
			require.Equal(t, tt.codes, codes)
			require.Equal(t, tt.alertable, r.Alertable)
			require.Equal(t, tt.next, r.NextTier)
			if tt.handRaise == "" {
				require.Nil(t, r.HandRaise)
			} else {
				require.NotNil(t, r.HandRaise)
				require.Equal(t, tt.handRaise, r.HandRaise.Event)
				require.Equal(t, ago(tt.handRaiseAgo), r.HandRaise.Day)
			}
		})
	}
}

func TestGateResults(t *testing.T) {
	m := mustModel(t, fullModel)
	r := Evaluate(m, &Facts{Traits: map[string]any{"employees": "250"}}, now)
	require.Equal(t, []GateResult{
		{Trait: "employees", Op: model.OpGTE, Wanted: "10", Actual: "250", Present: true, Passed: true, Text: "employees ≥ 10 (is 250)"},
		{Trait: "email_domain", Op: model.OpNotIn, Wanted: "free_email", Present: false, Passed: false, Text: "email_domain not in free_email (unknown)"},
	}, r.Gates)
	require.Equal(t, "fit gate failed: email_domain not in free_email (unknown)", r.Reasons[0].Text)
}

func TestReasonTexts(t *testing.T) {
	m := mustModel(t, fullModel)
	r := Evaluate(m, &Facts{
		Traits:            map[string]any{"employees": 40.0, "email_domain": "acme.com", "plan": "paid"},
		LastEventAt:       ago(20).Add(10 * time.Hour),
		DisqualifiedUntil: time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC),
		Buckets:           []Bucket{page("Pricing", 0, 1)},
	}, now)
	require.Equal(t, []Reason{
		{Code: "below_threshold", Text: "score 20 is tier low, which has no route; mid needs 50 (30 more)"},
		{Code: "not_recent", Text: "last event 2026-11-02 (20 days ago), outside the 14-day recency window"},
		{Code: "suppressed", Text: "suppressed: plan in [paid, enterprise] (is paid)", Rule: &m.Suppress[0], Actual: "paid"},
		{Code: "disqualified", Text: "marked not a fit; disqualified until 2027-01-15 12:00 UTC", Until: time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)},
	}, r.Reasons)

	m = mustModel(t, "signals: [{name: s, event: E, points: -5}]\ntiers: [{name: a, min_score: 0}]\nroutes: [{tier: a, channel: '#a'}]\n")
	r = Evaluate(m, &Facts{LastEventAt: now, Buckets: []Bucket{track("E", 0, 1)}}, now)
	require.Equal(t, "score -5 is below every tier; a needs 0 (5 more)", r.Reasons[0].Text)
}

func TestResultJSONRoundTrip(t *testing.T) {
	m := model.Default()
	f := richFacts()
	r := Evaluate(m, &f, now)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	var back Result
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, r, back)
}

func TestEvaluateIsDeterministic(t *testing.T) {
	m := model.Default()
	f := richFacts()
	require.Equal(t, Evaluate(m, &f, now), Evaluate(m, &f, now))
	require.Equal(t, m.Hash, Evaluate(m, &f, now).ModelHash)
	require.Equal(t, "2026-q4", Evaluate(m, &f, now).ModelVersion)
}

// richFacts is an enterprise account that alerts under the example model.
func richFacts() Facts {
	return Facts{
		AccountID: "acct_acme", Name: "Acme Inc", Domain: "acme.com",
		Traits:       map[string]any{"employees": 1200.0, "email_domain": "acme.com", "plan": "trial", "industry": "software"},
		FirstEventAt: ago(40).Add(14*time.Hour + 5*time.Minute),
		LastEventAt:  now.Add(-20 * time.Minute),
		Buckets: []Bucket{
			track("Workflow Completed", 0, 2), track("Workflow Completed", 2, 3), track("Workflow Completed", 9, 4),
			track("Teammate Invited", 5, 1), track("Teammate Invited", 12, 1),
			page("Pricing", 1, 1), page("Pricing", 3, 2),
			sums(track("Records Imported", 4, 2), map[string]float64{"records": 180}),
			track("Ticket Opened", 1, 1),
		},
		Filtered:    map[string][]Bucket{"Production integration": {track("Integration Connected", 25, 1)}},
		ActiveUsers: concat(users(0, "u1", "u2"), users(2, "u1", "u3"), users(6, "u4"), users(10, "u5")),
	}
}

func TestEvaluateConcurrently(t *testing.T) {
	// Evaluations share pooled scratch space; results must not leak
	// between goroutines or between accounts.
	m := model.Default()
	facts := []Facts{richFacts(), benchFacts(), {AccountID: "empty"}}
	want := make([]Result, len(facts))
	for i := range facts {
		want[i] = Evaluate(m, &facts[i], now)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for n := range 200 {
				i := (g + n) % len(facts)
				if got := Evaluate(m, &facts[i], now); !assertEqualResult(got, want[i]) {
					t.Errorf("goroutine %d: %s differs", g, facts[i].AccountID)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func assertEqualResult(a, b Result) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
