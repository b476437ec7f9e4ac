package ingestplan

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/events"
)

var recv = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// at is a time on the test day, hh:mm.
func at(hhmm string) string { return "2026-11-30T" + hhmm + ":00Z" }

// decode turns a batch body into the commit's messages, exactly as ingest
// does, so the decoder's rules (batch context, originalTimestamp, skew)
// are part of what these tables pin.
func decode(t *testing.T, body string) []Msg {
	t.Helper()
	p, err := events.DecodeBatch([]byte(body), recv)
	require.NoError(t, err)
	require.Empty(t, p.Rejects)
	out := make([]Msg, len(p.Messages))
	for i := range p.Messages {
		out[i] = Msg{Source: "s", M: &p.Messages[i]}
	}
	return out
}

type rowWant struct {
	Person, Account string
	At              string // optional: the event time, RFC 3339
}

func TestBuild(t *testing.T) {
	cases := []struct {
		name     string
		batch    string
		known    Links
		rows     map[string]rowWant // by messageId
		merges   []Merge
		links    []Link
		backfill []Link
	}{
		{
			name: "anonymous before and after identify, in one commit",
			batch: `{"batch":[
				{"type":"page","messageId":"p1","anonymousId":"a1","name":"Pricing","timestamp":"` + at("08:00") + `"},
				{"type":"identify","messageId":"i1","anonymousId":"a1","userId":"u1","timestamp":"` + at("08:05") + `"},
				{"type":"group","messageId":"g1","userId":"u1","groupId":"acme","timestamp":"` + at("08:06") + `"},
				{"type":"page","messageId":"p2","anonymousId":"a1","name":"Pricing","timestamp":"` + at("08:10") + `"}]}`,
			rows: map[string]rowWant{
				"p1": {"u1", "acme", ""}, "i1": {"u1", "acme", ""}, "g1": {"u1", "acme", ""}, "p2": {"u1", "acme", ""},
			},
			merges:   []Merge{{"a1", "u1"}},
			links:    []Link{{"u1", "acme"}},
			backfill: []Link{{"u1", "acme"}},
		},
		{
			name:  "anonymous events stored earlier: identify merges, the account's back-fill takes them",
			batch: `{"batch":[{"type":"identify","messageId":"i1","anonymousId":"a1","userId":"u1"}]}`,
			known: Links{Account: map[string]string{"u1": "acme"}},
			rows:  map[string]rowWant{"i1": {"u1", "acme", ""}},
			// a1's stored events (unattributed) are back-filled to acme,
			// and its active-user days move to u1 (the store's merge).
			merges:   []Merge{{"a1", "u1"}},
			backfill: []Link{{"u1", "acme"}},
		},
		{
			name:  "after the link, an anonymous-only event counts for the person and account",
			batch: `{"batch":[{"type":"track","messageId":"t1","anonymousId":"a1","event":"Workflow Completed"}]}`,
			known: Links{Person: map[string]string{"a1": "u1"}, Account: map[string]string{"u1": "acme"}},
			rows:  map[string]rowWant{"t1": {"u1", "acme", ""}},
		},
		{
			name: "a message with userId and anonymousId links them (track, not only identify)",
			batch: `{"batch":[
				{"type":"track","messageId":"t1","anonymousId":"a1","event":"E","timestamp":"` + at("08:00") + `"},
				{"type":"track","messageId":"t2","anonymousId":"a1","userId":"u1","event":"E","timestamp":"` + at("09:00") + `"}]}`,
			known:    Links{Account: map[string]string{"u1": "acme"}},
			rows:     map[string]rowWant{"t1": {"u1", "acme", ""}, "t2": {"u1", "acme", ""}},
			merges:   []Merge{{"a1", "u1"}},
			backfill: []Link{{"u1", "acme"}},
		},
		{
			name: "alias chain in one commit: a1 → u1 → u2",
			batch: `{"batch":[
				{"type":"alias","messageId":"x1","previousId":"a1","userId":"u1","timestamp":"` + at("08:00") + `"},
				{"type":"alias","messageId":"x2","previousId":"u1","userId":"u2","timestamp":"` + at("08:01") + `"},
				{"type":"track","messageId":"t1","anonymousId":"a1","event":"E","timestamp":"` + at("08:02") + `"}]}`,
			known:    Links{Account: map[string]string{"u2": "acme"}},
			rows:     map[string]rowWant{"x1": {"u2", "acme", ""}, "x2": {"u2", "acme", ""}, "t1": {"u2", "acme", ""}},
			merges:   []Merge{{"a1", "u1"}, {"u1", "u2"}},
			backfill: []Link{{"u2", "acme"}},
		},
		{
			name:     "alias chain across commits: stored a1 → u1, now u1 → u2",
			batch:    `{"batch":[{"type":"alias","messageId":"x2","previousId":"u1","userId":"u2"},{"type":"page","messageId":"p1","anonymousId":"a1","name":"Docs"}]}`,
			known:    Links{Person: map[string]string{"a1": "u1"}, Account: map[string]string{"u1": "acme"}},
			rows:     map[string]rowWant{"x2": {"u2", "acme", ""}, "p1": {"u2", "acme", ""}},
			merges:   []Merge{{"u1", "u2"}},
			links:    []Link{{"u2", "acme"}}, // u2 takes u1's account: it had none
			backfill: []Link{{"u2", "acme"}},
		},
		{
			name:  "alias whose ends are already one person changes nothing",
			batch: `{"batch":[{"type":"alias","messageId":"x1","previousId":"a1","userId":"u1"}]}`,
			known: Links{Person: map[string]string{"a1": "u1"}, Account: map[string]string{"u1": "acme"}},
			rows:  map[string]rowWant{"x1": {"u1", "acme", ""}},
		},
		{
			name:  "a shared device does not merge two users",
			batch: `{"batch":[{"type":"identify","messageId":"i2","anonymousId":"a1","userId":"u2"},{"type":"track","messageId":"t1","userId":"u2","event":"E"}]}`,
			known: Links{Person: map[string]string{"a1": "u1"}, Account: map[string]string{"u1": "acme", "u2": "globex"}},
			rows:  map[string]rowWant{"i2": {"u2", "globex", ""}, "t1": {"u2", "globex", ""}},
		},
		{
			name: "a user who moves accounts: events follow the link in force at their time",
			batch: `{"batch":[
				{"type":"track","messageId":"t0","userId":"u1","event":"E","timestamp":"` + at("07:00") + `"},
				{"type":"group","messageId":"g1","userId":"u1","groupId":"acme","timestamp":"` + at("08:00") + `"},
				{"type":"track","messageId":"t1","userId":"u1","event":"E","timestamp":"` + at("09:00") + `"},
				{"type":"group","messageId":"g2","userId":"u1","groupId":"globex","timestamp":"` + at("10:00") + `"},
				{"type":"track","messageId":"t2","userId":"u1","event":"E","timestamp":"` + at("11:00") + `"}]}`,
			rows: map[string]rowWant{
				"t0": {"u1", "acme", ""}, // before any link: the first account claims it
				"g1": {"u1", "acme", ""}, "t1": {"u1", "acme", ""},
				"g2": {"u1", "globex", ""}, "t2": {"u1", "globex", ""},
			},
			links:    []Link{{"u1", "globex"}},
			backfill: []Link{{"u1", "acme"}},
		},
		{
			name: "a stored user moving accounts keeps earlier events on the old account",
			batch: `{"batch":[
				{"type":"track","messageId":"t1","userId":"u1","event":"E","timestamp":"` + at("09:00") + `"},
				{"type":"group","messageId":"g2","userId":"u1","groupId":"globex","timestamp":"` + at("10:00") + `"},
				{"type":"track","messageId":"t2","userId":"u1","event":"E","timestamp":"` + at("11:00") + `"}]}`,
			known:    Links{Account: map[string]string{"u1": "acme"}},
			rows:     map[string]rowWant{"t1": {"u1", "acme", ""}, "g2": {"u1", "globex", ""}, "t2": {"u1", "globex", ""}},
			links:    []Link{{"u1", "globex"}},
			backfill: []Link{{"u1", "acme"}},
		},
		{
			name: "groupId precedence: context.groupId, then top-level groupId, then the linked account",
			batch: `{"batch":[
				{"type":"track","messageId":"c","userId":"u1","event":"E","groupId":"top","context":{"groupId":"ctx"}},
				{"type":"track","messageId":"g","userId":"u1","event":"E","groupId":"top"},
				{"type":"track","messageId":"l","userId":"u1","event":"E"}]}`,
			known: Links{Account: map[string]string{"u1": "linked"}},
			rows:  map[string]rowWant{"c": {"u1", "ctx", ""}, "g": {"u1", "top", ""}, "l": {"u1", "linked", ""}},
		},
		{
			name: "batch context merges into each message; the message's own keys win",
			batch: `{"context":{"groupId":"batch-acct"},"batch":[
				{"type":"track","messageId":"b","userId":"u1","event":"E"},
				{"type":"track","messageId":"o","userId":"u1","event":"E","context":{"groupId":"own-acct"}}]}`,
			known: Links{Account: map[string]string{"u1": "linked"}},
			rows:  map[string]rowWant{"b": {"u1", "batch-acct", ""}, "o": {"u1", "own-acct", ""}},
		},
		{
			name: "originalTimestamp is the time when timestamp is absent, skew-corrected with sentAt",
			batch: `{"sentAt":"2026-11-30T13:00:00Z","batch":[
				{"type":"track","messageId":"o","userId":"u1","event":"E","originalTimestamp":"2026-11-30T12:50:00Z","context":{"groupId":"acme"}},
				{"type":"track","messageId":"t","userId":"u1","event":"E","timestamp":"2026-11-30T12:30:00Z","context":{"groupId":"acme"}},
				{"type":"track","messageId":"n","userId":"u1","event":"E","context":{"groupId":"acme"}}]}`,
			rows: map[string]rowWant{
				// The client clock is an hour fast: sentAt 13:00 at receipt 12:00.
				"o": {"u1", "acme", "2026-11-30T11:50:00Z"},
				"t": {"u1", "acme", "2026-11-30T11:30:00Z"},
				"n": {"u1", "acme", "2026-11-30T12:00:00Z"},
			},
		},
		{
			name:     "an anonymous id's group call carries over to the user it is merged into",
			batch:    `{"batch":[{"type":"identify","messageId":"i1","anonymousId":"a1","userId":"u1"}]}`,
			known:    Links{Account: map[string]string{"a1": "acme"}},
			rows:     map[string]rowWant{"i1": {"u1", "acme", ""}},
			merges:   []Merge{{"a1", "u1"}},
			links:    []Link{{"u1", "acme"}},
			backfill: []Link{{"u1", "acme"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Build(decode(t, tc.batch), tc.known)
			got := map[string]rowWant{}
			for _, r := range p.Rows {
				w := rowWant{r.Person, r.Account, ""}
				if tc.rows[r.M.MessageID].At != "" {
					w.At = r.M.Timestamp.Format(time.RFC3339)
				}
				got[r.M.MessageID] = w
			}
			require.Equal(t, tc.rows, got)
			require.Equal(t, tc.merges, p.Merges)
			require.Equal(t, tc.links, p.Links)
			require.Equal(t, tc.backfill, p.Backfill)
		})
	}
}

func TestRowsAreDeduplicatedAndOrdered(t *testing.T) {
	p := Build(decode(t, `{"batch":[
		{"type":"track","messageId":"m2","userId":"u","event":"E","context":{"groupId":"a"}},
		{"type":"track","messageId":"m1","userId":"u","event":"E","context":{"groupId":"a"}},
		{"type":"track","messageId":"m2","userId":"u","event":"E","context":{"groupId":"a"}}]}`), Links{})
	require.Equal(t, 1, p.Duplicates)
	require.Len(t, p.Rows, 2)
	require.Equal(t, "m1", p.Rows[0].M.MessageID)
}

func TestIDs(t *testing.T) {
	msgs := decode(t, `{"batch":[
		{"type":"track","messageId":"1","userId":"u1","event":"E"},
		{"type":"track","messageId":"2","anonymousId":"a9","event":"E"},
		{"type":"group","messageId":"3","userId":"u2","groupId":"g"},
		{"type":"alias","messageId":"4","userId":"u3","previousId":"p3"},
		{"type":"page","messageId":"5","userId":"u4","anonymousId":"a4"},
		{"type":"page","messageId":"6","userId":"u5","anonymousId":"a5"},
		{"type":"page","messageId":"7","userId":"u6","anonymousId":"a6"},
		{"type":"alias","messageId":"8","userId":"u7","previousId":"p7"}]}`)
	require.Equal(t, []string{"a4", "a5", "a6", "p3", "p7", "u3", "u4", "u5", "u6", "u7"}, LinkIDs(msgs))

	ex, sh := IDs(msgs, Links{})
	require.Equal(t, []string{"a4", "a5", "a6", "p3", "p7", "u2", "u3", "u4", "u5", "u6", "u7"}, ex)
	require.Equal(t, []string{"a9", "u1"}, sh)

	// Committed links: a5 is u5's already, a6 another user's (a shared
	// device: never moved), p7 already merged into u7. Those messages can
	// link nothing and only look up.
	ex, sh = IDs(msgs, Links{Person: map[string]string{"a5": "u5", "a6": "u1", "p7": "u7"}})
	require.Equal(t, []string{"a4", "p3", "u2", "u3", "u4"}, ex)
	require.Equal(t, []string{"a5", "a6", "a9", "p7", "u1", "u5", "u6", "u7"}, sh)
}

func TestRollup(t *testing.T) {
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	p := Build(decode(t, `{"batch":[
		{"type":"track","messageId":"t1","anonymousId":"a1","event":"Records Imported","properties":{"records":40},"timestamp":"`+at("08:00")+`"},
		{"type":"identify","messageId":"i1","anonymousId":"a1","userId":"u1","traits":{"email":"ada@acme.io","title":"CTO"},"timestamp":"`+at("08:01")+`"},
		{"type":"identify","messageId":"i2","userId":"u1","traits":{"title":"CEO"},"timestamp":"`+at("09:00")+`"},
		{"type":"group","messageId":"g1","userId":"u1","groupId":"acme","traits":{"name":"Acme","employees":120},"timestamp":"`+at("08:02")+`"},
		{"type":"track","messageId":"t2","userId":"u1","event":"Records Imported","properties":{"records":2},"timestamp":"`+at("10:00")+`"},
		{"type":"track","messageId":"dup","userId":"u1","event":"Records Imported","properties":{"records":1000},"timestamp":"`+at("10:00")+`"},
		{"type":"page","messageId":"p1","userId":"u1","name":"Pricing","context":{"groupId":"globex"},"timestamp":"`+at("11:00")+`"}]}`), Links{})
	// dup was stored by an earlier commit: not counted again.
	inserted := func(_, id string) bool { return id != "dup" }
	// An earlier event of a0, merged into u1 before, back-filled now.
	back := []Backfilled{{Account: "acme", Type: "track", Name: "Records Imported", Person: "u1", At: recv.Add(-2 * time.Hour), Sums: map[string]float64{"records": 8}}}
	d := p.Rollup(inserted, back, []string{"initech"})

	require.Equal(t, &DayAgg{N: 3, Sums: map[string]float64{"records": 50}}, d.Daily[DayKey{"acme", "track", "Records Imported", day}])
	require.Equal(t, &DayAgg{N: 1}, d.Daily[DayKey{"globex", "page", "Pricing", day}])
	var users []string
	for k := range d.DailyUsers {
		users = append(users, fmt.Sprintf("%s/%s", k.Account, k.Person))
	}
	sort.Strings(users)
	require.Equal(t, []string{"acme/u1", "globex/u1"}, users, "an anonymous id and its user are one active person")
	require.Equal(t, map[string]any{"email": "ada@acme.io", "title": "CEO"}, d.Users["u1"].Traits, "the latest traits win")
	require.Equal(t, "ada@acme.io", d.Users["u1"].Email)
	require.Equal(t, "acme", d.Users["u1"].Account)
	require.Nil(t, d.Users["u1"].TraitsJSON, "two identifies: the merged traits are encoded")
	require.Equal(t, map[string]any{"name": "Acme", "employees": float64(120)}, d.Accounts["acme"].Traits)
	require.Equal(t, `{"name":"Acme","employees":120}`, string(d.Accounts["acme"].TraitsJSON), "one group call: its traits as sent")
	require.Equal(t, recv.Add(-4*time.Hour), d.Accounts["acme"].First, "the first event, before its identify")
	require.Equal(t, []Link{{Person: "u1", Account: "acme"}}, d.Memberships)
	require.Equal(t, []string{"u1"}, d.Identified)
	require.Equal(t, []string{"acme", "globex", "initech"}, d.Rescore)
}
