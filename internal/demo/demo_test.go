package demo

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)

// scenarios vary the seed and put now next to UTC midnight, where window
// arithmetic is easiest to get wrong.
var scenarios = []struct {
	name string
	seed uint64
	now  time.Time
}{
	{"afternoon", 42, testNow},
	{"just after midnight", 7, time.Date(2026, 11, 21, 0, 0, 30, 0, time.UTC)},
	{"just before midnight", 2026, time.Date(2026, 11, 21, 23, 59, 50, 0, time.UTC)},
}

func generate(t *testing.T, opts Options) Dataset {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	ds, err := Generate(opts)
	require.NoError(t, err)
	return ds
}

// day is the UTC calendar day number, as the scorer counts windows.
func day(t time.Time) int64 { return t.Unix() / 86400 }

// inWindow mirrors the model's windows: N UTC days ending with now's day.
func inWindow(ts, now time.Time, n int) bool { return day(ts) > day(now)-int64(n) }

// facts is what the example model would look at for one account.
type facts struct {
	events      map[string]int // track events in the last 7 days
	events14    map[string]int
	eventsAll   map[string]int
	pricing7    int
	records30   float64
	production  bool
	activeUsers map[string]bool // in the last 7 days
	last        time.Time
}

func accountFacts(ds Dataset, now time.Time) map[string]*facts {
	out := map[string]*facts{}
	for _, a := range ds.Accounts {
		out[a.ID] = &facts{events: map[string]int{}, events14: map[string]int{}, eventsAll: map[string]int{}, activeUsers: map[string]bool{}}
	}
	for _, m := range ds.Messages {
		if m.Type != TypeTrack && m.Type != TypePage {
			continue
		}
		f := out[m.GroupID]
		if m.Timestamp.After(f.last) {
			f.last = m.Timestamp
		}
		if inWindow(m.Timestamp, now, 7) {
			f.activeUsers[m.UserID] = true
		}
		if m.Type == TypePage {
			if m.Name == PagePricing && inWindow(m.Timestamp, now, 7) {
				f.pricing7++
			}
			continue
		}
		f.eventsAll[m.Name]++
		if inWindow(m.Timestamp, now, 7) {
			f.events[m.Name]++
		}
		if inWindow(m.Timestamp, now, 14) {
			f.events14[m.Name]++
		}
		switch m.Name {
		case EventRecordsImported:
			if inWindow(m.Timestamp, now, 30) {
				f.records30 += float64(m.Properties["records"].(int))
			}
		case EventIntegrationConnected:
			f.production = f.production || m.Properties["type"] == "production_database"
		}
	}
	return out
}

func TestGenerateCounts(t *testing.T) {
	ds := generate(t, Options{Seed: 42})
	c := ds.Count()
	require.Len(t, ds.Accounts, 200)
	require.Equal(t, map[Category]int{
		HandRaiser: 12, StrongTrial: 30, PromisingTrial: 10, WeakTrial: 70, PersonalEmail: 20,
		TinyCompany: 20, SupportHeavy: 3, PaidCustomer: 15, Dormant: 20,
	}, c.Accounts)
	for _, s := range []Size{Enterprise, MidMarket, SMB, Tiny} {
		require.Positive(t, c.Sizes[s], "size %s", s)
	}
	for _, typ := range []string{TypeIdentify, TypeGroup, TypeTrack, TypePage} {
		require.Positive(t, c.Messages[typ], typ)
	}
	require.Equal(t, c.Users, c.Messages[TypeIdentify], "one identify per user")
	require.Equal(t, c.Users, c.Messages[TypeGroup], "one group call per user")
	// A realistic month, small enough to replay in seconds.
	require.Greater(t, len(ds.Messages), 3000)
	require.Less(t, len(ds.Messages), 20000)
	t.Logf("%d accounts, %d users, %d messages %v", len(ds.Accounts), c.Users, len(ds.Messages), c.Messages)
}

func TestGenerateSmallAndErrors(t *testing.T) {
	ds := generate(t, Options{Seed: 1, Accounts: len(Categories)})
	require.Len(t, ds.Accounts, len(Categories))
	for _, cat := range Categories {
		require.Len(t, ds.Examples(cat, 5), 1, "category %s", cat)
	}

	tests := []struct {
		name string
		opts Options
		msg  string
	}{
		{"no now", Options{Seed: 1}, "Now is required"},
		{"too few accounts", Options{Seed: 1, Now: testNow, Accounts: 3}, "need at least 9"},
		{"too few days", Options{Seed: 1, Now: testNow, Days: 10}, "need at least 21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(tt.opts)
			require.ErrorContains(t, err, tt.msg)
		})
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := generate(t, Options{Seed: 7})
	b := generate(t, Options{Seed: 7})
	require.Equal(t, a, b)

	other := generate(t, Options{Seed: 8})
	require.NotEqual(t, a.Accounts, other.Accounts)

	// A replay on a later day keeps every message id, so the ingest API
	// deduplicates it instead of counting the month twice.
	later := generate(t, Options{Seed: 7, Now: testNow.Add(49 * time.Hour)})
	ids := func(ds Dataset) []string {
		var out []string
		for _, m := range ds.Messages {
			out = append(out, m.MessageID)
		}
		slices.Sort(out)
		return out
	}
	require.Equal(t, ids(a), ids(later))
	require.Equal(t, a.Accounts, later.Accounts)
}

func TestGenerateInvariants(t *testing.T) {
	ds := generate(t, Options{Seed: 42})
	accounts := map[string]Account{}
	users := map[string]string{} // user → account
	for _, a := range ds.Accounts {
		_, dup := accounts[a.ID]
		require.False(t, dup, a.ID)
		accounts[a.ID] = a
		require.NotEmpty(t, a.Users)
		for _, u := range a.Users {
			users[u.ID] = a.ID
			require.True(t, strings.HasSuffix(u.Email, "@"+a.Domain), "%s in %s", u.Email, a.Domain)
		}
	}
	scored := []string{EventWorkflowCompleted, EventTeammateInvited, EventRecordsImported, EventIntegrationConnected,
		EventTicketOpened, EventDemoRequested, EventUpgradeStarted, EventSalesContact}
	knownEvents := append(slices.Clone(noiseEvents), scored...)
	knownPages := append(slices.Clone(noisePages), PagePricing)

	seen := map[string]bool{}
	identified := map[string]time.Time{}
	grouped := map[string]time.Time{}
	for i, m := range ds.Messages {
		require.False(t, seen[m.MessageID], "duplicate id %s", m.MessageID)
		seen[m.MessageID] = true
		require.LessOrEqual(t, len(m.MessageID), 100, "Segment's messageId limit")
		require.True(t, m.Timestamp.Before(testNow.Add(-59*time.Second)), "%s at %s: not in the past", m.MessageID, m.Timestamp)
		require.False(t, m.Timestamp.Before(testNow.AddDate(0, 0, -30)), "%s older than 30 days", m.MessageID)
		if i > 0 {
			require.False(t, m.Timestamp.Before(ds.Messages[i-1].Timestamp), "messages are in time order")
		}
		acct, ok := users[m.UserID]
		require.True(t, ok, "%s: unknown user %s", m.MessageID, m.UserID)
		switch m.Type {
		case TypeIdentify:
			require.Equal(t, []string{"email", "name", "title"}, sortedKeys(m.Traits))
			identified[m.UserID] = m.Timestamp
		case TypeGroup:
			require.Equal(t, acct, m.GroupID)
			require.Equal(t, []string{"domain", "employees", "industry", "name", "plan"}, sortedKeys(m.Traits))
			require.IsType(t, 0, m.Traits["employees"], "employees is a number")
			grouped[m.UserID] = m.Timestamp
		case TypeTrack, TypePage:
			require.Equal(t, acct, m.GroupID, "events carry their account as context.groupId")
			_, ok := identified[m.UserID]
			require.True(t, ok, "%s before its user's identify", m.MessageID)
			_, ok = grouped[m.UserID]
			require.True(t, ok, "%s before its user's group", m.MessageID)
			if m.Type == TypeTrack {
				require.True(t, slices.Contains(knownEvents, m.Name), m.Name)
			} else {
				require.True(t, slices.Contains(knownPages, m.Name), m.Name)
			}
		default:
			t.Fatalf("unexpected type %q", m.Type)
		}
		if m.Name == EventRecordsImported {
			require.IsType(t, 0, m.Properties["records"])
		}
	}
}

func sortedKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestCategoriesTellTheirStory checks each category against the example
// model's thresholds with the model's own window arithmetic.
func TestCategoriesTellTheirStory(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			checkCategories(t, generate(t, Options{Seed: sc.seed, Now: sc.now}), sc.now)
		})
	}
}

func checkCategories(t *testing.T, ds Dataset, now time.Time) {
	all := accountFacts(ds, now)
	handRaises := []string{EventDemoRequested, EventUpgradeStarted, EventSalesContact}
	strongUsage := func(t *testing.T, f *facts) {
		require.GreaterOrEqual(t, f.events[EventWorkflowCompleted], 3, "workflows in 7 days")
		require.GreaterOrEqual(t, f.events14[EventTeammateInvited], 2, "invites in 14 days")
		require.GreaterOrEqual(t, f.pricing7, 2, "pricing visits in 7 days")
		require.GreaterOrEqual(t, f.records30, 100.0, "records in 30 days")
		require.True(t, f.production, "production database connected")
	}
	for _, a := range ds.Accounts {
		f := all[a.ID]
		t.Run(string(a.Category)+"/"+a.ID, func(t *testing.T) {
			hand := 0
			for _, e := range handRaises {
				hand += f.events[e]
			}
			if a.Category == HandRaiser {
				require.Equal(t, 1, hand, "one hand-raise this week")
			} else {
				require.Zero(t, f.eventsAll[EventDemoRequested]+f.eventsAll[EventUpgradeStarted]+f.eventsAll[EventSalesContact])
			}
			if a.Category == SupportHeavy {
				require.GreaterOrEqual(t, f.events[EventTicketOpened], 3)
			} else {
				require.Zero(t, f.eventsAll[EventTicketOpened])
			}
			require.Equal(t, a.Category == PaidCustomer, a.Plan == PlanPaid)
			require.Equal(t, a.Category == PersonalEmail, a.Domain == "gmail.com")
			require.Equal(t, a.Category == TinyCompany, a.Employees < 10)
			switch a.Size {
			case Enterprise:
				require.GreaterOrEqual(t, a.Employees, 500)
			case MidMarket:
				require.True(t, a.Employees >= 50 && a.Employees < 500)
			case SMB:
				require.True(t, a.Employees >= 10 && a.Employees < 50)
			}

			switch a.Category {
			case StrongTrial, PaidCustomer, SupportHeavy:
				strongUsage(t, f)
				require.GreaterOrEqual(t, len(f.activeUsers), 3, "3+ active users in 7 days")
			case PersonalEmail, TinyCompany:
				strongUsage(t, f) // would alert, but for the fit gates
			case PromisingTrial:
				require.GreaterOrEqual(t, f.events[EventWorkflowCompleted], 3)
				require.GreaterOrEqual(t, f.records30, 100.0)
				require.GreaterOrEqual(t, len(f.activeUsers), 3)
				require.Zero(t, f.events14[EventTeammateInvited])
				require.LessOrEqual(t, f.pricing7, 1)
				require.False(t, f.production)
			case WeakTrial:
				require.LessOrEqual(t, f.events[EventWorkflowCompleted], 2)
				require.LessOrEqual(t, f.pricing7, 1)
				require.Zero(t, f.eventsAll[EventTeammateInvited])
				require.Less(t, f.records30, 100.0)
				require.False(t, f.production)
			case Dormant:
				require.False(t, inWindow(f.last, now, 14), "silent for the recency window, last event %s", f.last)
				require.Positive(t, f.eventsAll[EventWorkflowCompleted])
			}
			if a.Category != Dormant && a.Category != WeakTrial {
				require.True(t, inWindow(f.last, now, 7), "active this week")
			}
		})
	}
	for _, cat := range []Category{StrongTrial, HandRaiser, SupportHeavy, PaidCustomer} {
		var sizes []Size
		for _, a := range ds.Examples(cat, 2) {
			sizes = append(sizes, a.Size)
		}
		require.Equal(t, []Size{Enterprise, MidMarket}, sizes, "%s shows both enterprise and mid-market routes", cat)
	}
}

func TestSegmentMessages(t *testing.T) {
	ts := testNow.Add(-time.Hour)
	tests := []struct {
		name string
		msg  Message
		want map[string]any
	}{
		{"identify", Message{Type: TypeIdentify, MessageID: "m1", UserID: "u1", Timestamp: ts,
			Traits: map[string]any{"email": "a@b.com"}},
			map[string]any{"type": "identify", "messageId": "m1", "userId": "u1", "traits": map[string]any{"email": "a@b.com"}}},
		{"group", Message{Type: TypeGroup, MessageID: "m2", UserID: "u1", GroupID: "acct-1", Timestamp: ts,
			Traits: map[string]any{"employees": 120}},
			map[string]any{"type": "group", "groupId": "acct-1", "traits": map[string]any{"employees": 120.0}}},
		{"track", Message{Type: TypeTrack, MessageID: "m3", UserID: "u1", GroupID: "acct-1", Name: EventRecordsImported, Timestamp: ts,
			Properties: map[string]any{"records": 150}},
			map[string]any{"type": "track", "event": EventRecordsImported, "properties": map[string]any{"records": 150.0}}},
		{"page", Message{Type: TypePage, MessageID: "m4", UserID: "u1", GroupID: "acct-1", Name: PagePricing, Timestamp: ts},
			map[string]any{"type": "page", "name": PagePricing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := tt.msg.Segment()
			require.NoError(t, err)
			require.NoError(t, msg.Validate())
			got := sentMessages(t, []Message{tt.msg})
			require.Len(t, got, 1)
			for k, v := range tt.want {
				require.Equal(t, v, got[0][k], k)
			}
			require.Equal(t, tt.msg.MessageID, got[0]["messageId"], "the client keeps our id")
			require.Equal(t, ts.Format(time.RFC3339), got[0]["timestamp"], "the client keeps our timestamp")
			if tt.msg.Type == TypeTrack || tt.msg.Type == TypePage {
				require.Equal(t, "acct-1", got[0]["context"].(map[string]any)["groupId"])
			}
		})
	}
	_, err := Message{Type: "screen", MessageID: "m5"}.Segment()
	require.ErrorContains(t, err, `unknown type "screen"`)
}

// sentMessages replays msgs through the real Segment client into a
// stand-in of the ingest API and returns the messages it received.
func sentMessages(t *testing.T, msgs []Message) []map[string]any {
	t.Helper()
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/batch" {
			http.NotFound(w, r)
			return
		}
		auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
		cred, err := base64.StdEncoding.DecodeString(auth)
		if err != nil || string(cred) != "test-key:" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var batch struct {
			Batch []map[string]any `json:"batch"`
		}
		if err := json.Unmarshal(body, &batch); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, batch.Batch...)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"success":true}`)
	}))
	defer srv.Close()

	var failed int
	client, err := analytics.NewWithConfig("test-key", analytics.Config{
		Endpoint:  srv.URL,
		BatchSize: 100,
		Interval:  50 * time.Millisecond,
		Callback:  failureCounter{&mu, &failed},
	})
	require.NoError(t, err)
	require.NoError(t, Replay(Dataset{Messages: msgs}, client))
	require.NoError(t, client.Close())
	mu.Lock()
	defer mu.Unlock()
	require.Zero(t, failed)
	return got
}

type failureCounter struct {
	mu *sync.Mutex
	n  *int
}

func (f failureCounter) Success(analytics.Message) {}
func (f failureCounter) Failure(analytics.Message, error) {
	f.mu.Lock()
	*f.n++
	f.mu.Unlock()
}

func TestReplayDeliversEverything(t *testing.T) {
	ds := generate(t, Options{Seed: 3, Accounts: 16})
	got := sentMessages(t, ds.Messages)
	require.Len(t, got, len(ds.Messages))
	ids := map[string]bool{}
	for _, m := range got {
		ids[m["messageId"].(string)] = true
	}
	for _, m := range ds.Messages {
		require.True(t, ids[m.MessageID], "%s not delivered", m.MessageID)
	}
}
