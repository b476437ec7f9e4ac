package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/handlers"
	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/rescore"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// scoreNow is the fixed clock of the scoring integration tests.
var scoreNow = time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)

// segMsg is one Segment call of a synthetic account history, kept in a form
// the reference roll-up below can read without going through SQL.
type segMsg struct {
	Type, ID, User, Group, Name string
	Props, Traits               map[string]any
	At                          time.Time
}

func (m segMsg) json() map[string]any {
	out := map[string]any{"type": m.Type, "messageId": m.ID, "userId": m.User, "timestamp": m.At.Format(time.RFC3339Nano)}
	switch m.Type {
	case "track":
		out["event"] = m.Name
	case "page":
		out["name"] = m.Name
	case "group":
		out["groupId"] = m.Group
	}
	if m.Props != nil {
		out["properties"] = m.Props
	}
	if m.Traits != nil {
		out["traits"] = m.Traits
	}
	if m.Group != "" && m.Type != "group" {
		out["context"] = map[string]any{"groupId": m.Group}
	}
	return out
}

func batchBody(t testing.TB, msgs []segMsg) []byte {
	t.Helper()
	items := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		items[i] = m.json()
	}
	b, err := json.Marshal(map[string]any{"batch": items})
	require.NoError(t, err)
	return b
}

// history builds a deterministic, busy history for three accounts over the
// last 40 days: an enterprise account with several users and every kind of
// activity the example model reads, a consumer-email account whose size
// arrives as a string, and an account that only ever made a group call.
func history(seed uint64) []segMsg {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []segMsg
	n := 0
	id := func(p string) string { n++; return fmt.Sprintf("%s-%d", p, n) }
	at := func(daysAgo int) time.Time {
		return scoreNow.Add(-time.Duration(daysAgo)*24*time.Hour - time.Duration(rng.IntN(14*60))*time.Minute)
	}
	out = append(out,
		segMsg{Type: "identify", ID: id("i"), User: "u1", Traits: map[string]any{"email": "Bob@Acme.com"}, At: at(40)},
		segMsg{Type: "group", ID: id("g"), User: "u1", Group: "acme", At: at(39),
			Traits: map[string]any{"name": "Acme Inc", "domain": "https://www.acme.com/", "employees": 1200, "plan": "trial"}},
		segMsg{Type: "group", ID: id("g"), User: "u2", Group: "acme", At: at(39)},
		segMsg{Type: "group", ID: id("g"), User: "u3", Group: "acme", At: at(30)},
		segMsg{Type: "group", ID: id("g"), User: "z1", Group: "zeta", At: at(20),
			Traits: map[string]any{"name": "Zeta", "employees": "8", "email_domain": "gmail.com"}},
		segMsg{Type: "group", ID: id("g"), User: "q1", Group: "quiet", At: at(10), Traits: map[string]any{"employees": 40}},
	)
	names := []string{"Workflow Completed", "Teammate Invited", "Records Imported", "Ticket Opened", "Logged In", "Integration Connected"}
	for d := 38; d >= 0; d-- {
		for range 1 + rng.IntN(6) {
			user := []string{"u1", "u2", "u3", "u4"}[rng.IntN(4)]
			name := names[rng.IntN(len(names))]
			m := segMsg{Type: "track", ID: id("t"), User: user, Group: "acme", Name: name, At: at(d)}
			switch name {
			case "Records Imported":
				m.Props = map[string]any{"records": rng.IntN(60), "source": "csv"}
			case "Integration Connected":
				m.Props = map[string]any{"type": []string{"production_database", "staging", "production_database"}[rng.IntN(3)], "vendor": "pg"}
			}
			out = append(out, m)
		}
		if rng.IntN(3) == 0 {
			out = append(out, segMsg{Type: "page", ID: id("p"), User: "u2", Group: "acme", Name: "Pricing", At: at(d)})
		}
		if rng.IntN(4) == 0 {
			out = append(out, segMsg{Type: "track", ID: id("t"), User: "z1", Group: "zeta", Name: "Workflow Completed", At: at(d)})
		}
	}
	out = append(out,
		segMsg{Type: "track", ID: id("t"), User: "u3", Group: "acme", Name: "Demo Requested", At: at(2)},
		segMsg{Type: "track", ID: id("t"), User: "z1", Group: "zeta", Name: "Upgrade Started", At: at(20)},
	)
	return out
}

// referenceFacts rolls msgs up in plain Go, independently of the SQL, into
// the facts the scorer should see for account.
func referenceFacts(msgs []segMsg, account string, m *model.Model) *scoring.Facts {
	f := &scoring.Facts{AccountID: account, Traits: map[string]any{}, Filtered: map[string][]scoring.Bucket{}}
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	type key struct {
		day        time.Time
		kind, name string
	}
	buckets := map[key]*scoring.Bucket{}
	usersSeen := map[string]bool{}
	emails := map[string]string{}
	var linked []string
	first := func(t time.Time) {
		if f.FirstEventAt.IsZero() || t.Before(f.FirstEventAt) {
			f.FirstEventAt = t
		}
	}
	for _, msg := range msgs {
		if msg.Type == "identify" {
			if e, ok := msg.Traits["email"].(string); ok {
				emails[msg.User] = e
			}
			continue
		}
		if msg.Group != account {
			continue
		}
		if msg.Type == "group" {
			linked = append(linked, msg.User)
			for k, v := range msg.Traits {
				if n, ok := v.(int); ok {
					v = float64(n)
				}
				f.Traits[k] = v
			}
			first(msg.At)
			continue
		}
		first(msg.At)
		if msg.At.After(f.LastEventAt) {
			f.LastEventAt = msg.At
		}
		k := key{day(msg.At), msg.Type, msg.Name}
		b := buckets[k]
		if b == nil {
			b = &scoring.Bucket{Day: k.day, Kind: msg.Type, Name: msg.Name, Sums: map[string]float64{}}
			buckets[k] = b
		}
		b.Count++
		for p, v := range msg.Props {
			if n, ok := v.(int); ok {
				b.Sums[p] += float64(n)
			}
		}
		if u := msg.User + "@" + k.day.String(); !usersSeen[u] {
			usersSeen[u] = true
			f.ActiveUsers = append(f.ActiveUsers, scoring.UserDay{Day: k.day, UserID: msg.User})
		}
		for _, s := range m.Signals {
			need := s.Rule.Needs()
			if len(need.Where) == 0 || need.Name != msg.Name || need.Kind != msg.Type {
				continue
			}
			match := true
			for wk, wv := range need.Where {
				if msg.Props[wk] != wv {
					match = false
				}
			}
			if match {
				fb := scoring.Bucket{Day: k.day, Kind: msg.Type, Name: msg.Name, Count: 1, Sums: map[string]float64{}}
				for p, v := range msg.Props {
					if n, ok := v.(int); ok {
						fb.Sums[p] = float64(n)
					}
				}
				f.Filtered[s.Name] = append(f.Filtered[s.Name], fb)
			}
		}
	}
	for _, b := range buckets {
		f.Buckets = append(f.Buckets, *b)
	}
	if n, ok := f.Traits["name"].(string); ok {
		f.Name = n
	}
	if d, ok := f.Traits["domain"].(string); ok {
		f.Domain = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "www."), "/")
	}
	if _, ok := f.Traits["email_domain"]; !ok {
		for _, u := range linked {
			if e := emails[u]; e != "" {
				f.Traits["email_domain"] = strings.ToLower(e[strings.Index(e, "@")+1:])
				break
			}
		}
	}
	return f
}

func ingestDirect(t testing.TB, st *store.Store, msgs []segMsg) {
	t.Helper()
	p, err := events.DecodeBatch(batchBody(t, msgs), scoreNow)
	require.NoError(t, err)
	_, err = st.Ingest(context.Background(), []store.IngestItem{{Source: store.SourceOf("k"), Messages: p.Messages}})
	require.NoError(t, err)
}

// windowedModel exercises the loader paths the example model does not: a
// windowed `where` signal (with a sum), all-history counts and active
// users, and a longer velocity period.
const windowedModel = `version: windowed
signals:
  - {name: prod, event: Integration Connected, where: {type: production_database}, window_days: 5, points: 10}
  - {name: prod rows, event: Records Imported, where: {source: csv}, sum: records, min_sum: 10, window_days: 9, points: 5}
  - {name: ever, event: Workflow Completed, min_count: 30, points: 5}
  - {name: users ever, distinct_users: 4, points: 5}
  - {name: pricing, page: Pricing, min_count: 1, window_days: 2, points: 30}
  - {name: fast, score_within_days_of_signup: {days: 6, min_score: 10}, points: 7}
tiers: [{name: t, min_score: 0}]
routes: [{tier: t, channel: "#t"}]
`

func TestLoadFactsScoresLikeTheReferenceRollUp(t *testing.T) {
	st := storetest.New(t)
	msgs := history(1)
	// Ingest in several commits, the identify first, as SDKs would.
	for i := 0; i < len(msgs); i += 25 {
		ingestDirect(t, st, msgs[i:min(i+25, len(msgs))])
	}
	windowed, err := model.Parse([]byte(windowedModel))
	require.NoError(t, err)
	for _, m := range []*model.Model{model.Default(), windowed} {
		t.Run(m.Version, func(t *testing.T) { compareWithReference(t, st, msgs, m) })
	}
}

func compareWithReference(t *testing.T, st *store.Store, msgs []segMsg, m *model.Model) {
	ctx := context.Background()
	facts, err := st.LoadFacts(ctx, []string{"acme", "zeta", "quiet", "missing"}, m.FactsSpec(), scoreNow)
	require.NoError(t, err)
	require.Len(t, facts, 3, "unknown accounts are absent")
	for _, acct := range []string{"acme", "zeta", "quiet"} {
		t.Run(acct, func(t *testing.T) {
			want := scoring.Evaluate(m, referenceFacts(msgs, acct, m), scoreNow)
			got := scoring.Evaluate(m, facts[acct], scoreNow)
			require.Equal(t, want, got, "database:\n%s\nreference:\n%s", scoring.Explain(got), scoring.Explain(want))
		})
	}
	require.Equal(t, "acme.com", facts["acme"].Traits["email_domain"], "derived from the first linked user's email")
	if m.Version == model.Default().Version {
		acme := scoring.Evaluate(m, facts["acme"], scoreNow)
		require.Equal(t, "hand_raiser", acme.Tier)
		require.True(t, acme.Alertable, scoring.Explain(acme))
		zeta := scoring.Evaluate(m, facts["zeta"], scoreNow)
		require.True(t, zeta.HasReason(scoring.ReasonGateFailed))
	}
	// Later days, including past every window: the loader and the
	// reference still agree as events age out.
	for _, later := range []int{-36, -30, -20, 1, 7, 15, 31, 60} {
		at := scoreNow.Add(time.Duration(later) * 24 * time.Hour)
		facts, err := st.LoadFacts(ctx, []string{"acme", "zeta"}, m.FactsSpec(), at)
		require.NoError(t, err)
		for _, acct := range []string{"acme", "zeta"} {
			require.Equal(t, scoring.Evaluate(m, referenceFacts(msgs, acct, m), at), scoring.Evaluate(m, facts[acct], at), "%s +%d days", acct, later)
		}
	}
}

func TestLoadFactsLoadsOnlyTheWindows(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	ingestDirect(t, st, history(2))
	facts, err := st.LoadFacts(context.Background(), []string{"acme"}, m.FactsSpec(), scoreNow)
	require.NoError(t, err)
	f := facts["acme"]
	first := f.FirstEventAt.UTC().Truncate(24 * time.Hour)
	for _, b := range f.Buckets {
		age := int(scoreNow.Truncate(24*time.Hour).Sub(b.Day).Hours() / 24)
		inVelocity := b.Day.Before(first.AddDate(0, 0, 3))
		require.True(t, age < 30 || inVelocity, "bucket %s %s is %d days old", b.Kind, b.Name, age)
		require.NotEqual(t, "Logged In", b.Name, "no signal reads it")
		if b.Name != "Records Imported" {
			require.Empty(t, b.Sums, "sums are loaded only for sum signals")
		}
	}
	for _, u := range f.ActiveUsers {
		age := int(scoreNow.Truncate(24*time.Hour).Sub(u.Day).Hours() / 24)
		require.True(t, age < 14 || u.Day.Before(first.AddDate(0, 0, 3)))
	}
}

func TestReplayedBatchDoesNotChangeScore(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	msgs := history(3)
	ingestDirect(t, st, msgs)
	ctx := context.Background()
	before, err := st.LoadFacts(ctx, []string{"acme", "zeta"}, m.FactsSpec(), scoreNow)
	require.NoError(t, err)
	// The whole history again, and a slice of it concurrently twice.
	ingestDirect(t, st, msgs)
	done := make(chan struct{})
	go func() { defer close(done); ingestDirect(t, st, msgs[10:60]) }()
	ingestDirect(t, st, msgs[10:60])
	<-done
	after, err := st.LoadFacts(ctx, []string{"acme", "zeta"}, m.FactsSpec(), scoreNow)
	require.NoError(t, err)
	for _, acct := range []string{"acme", "zeta"} {
		require.Equal(t, scoring.Evaluate(m, before[acct], scoreNow), scoring.Evaluate(m, after[acct], scoreNow))
	}
}

// TestScoreThroughIngestHTTP sends the history through the real /v1/batch
// handler, drains the queue and compares the stored score with the pure
// engine on the reference roll-up; a replayed request changes nothing.
func TestScoreThroughIngestHTTP(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	g := store.NewIngester(st, store.IngesterOptions{})
	t.Cleanup(g.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer((&handlers.Server{Log: log, Ready: st, Ingest: &handlers.Ingest{
		Log: log, Submitter: g, Keys: map[string]string{"wk": store.SourceOf("wk")}, Now: func() time.Time { return scoreNow },
	}}).Routes())
	t.Cleanup(srv.Close)
	post := func(body []byte) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/batch", bytes.NewReader(body))
		require.NoError(t, err)
		req.SetBasicAuth("wk", "")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	}
	msgs := history(4)
	for i := 0; i < len(msgs); i += 40 {
		post(batchBody(t, msgs[i:min(i+40, len(msgs))]))
	}
	ctx := context.Background()
	score := func() []scoring.Result {
		scored, err := st.ScoreQueued(ctx, rescore.Take{Limit: 100}, m.FactsSpec(), scoreNow, func(f *scoring.Facts) scoring.Result {
			return scoring.Evaluate(m, f, scoreNow)
		})
		require.NoError(t, err)
		out := make([]scoring.Result, len(scored))
		for i, s := range scored {
			out[i] = s.Result
		}
		return out
	}
	first := score()
	require.Len(t, first, 3)
	for _, r := range first {
		require.Equal(t, scoring.Evaluate(m, referenceFacts(msgs, r.AccountID, m), scoreNow), r)
		stored, err := st.GetScore(ctx, r.AccountID)
		require.NoError(t, err)
		require.Equal(t, r, *stored)
	}
	require.Empty(t, score(), "the queue is drained")

	// A replayed request is accepted and stores nothing new: re-scoring
	// every account gives the same results and writes no history.
	post(batchBody(t, msgs[:40]))
	_, err := st.Pool().Exec(ctx, `INSERT INTO rescore_queue (account_id) SELECT account_id FROM accounts ON CONFLICT DO NOTHING`)
	require.NoError(t, err)
	require.Equal(t, first, score())
	var history int
	require.NoError(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM score_history`).Scan(&history))
	require.Equal(t, 3, history, "one row per account, from the first score")
}
