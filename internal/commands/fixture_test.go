package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/events"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
	"github.com/pqlbot/pqlbot/internal/rescore"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/internal/sla"
	"github.com/pqlbot/pqlbot/store"
)

// fixtureNow is a Friday, 10:00 in New York: inside the example model's
// business hours, so SLA clocks are running.
var fixtureNow = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

// Slack users and channels the fixture uses.
const (
	alice = "U0ALICE01"
	bob   = "U0BOB0001"
	carol = "U0CAROL01"

	chanSDR   = "C0SDRPQL1"
	chanHand  = "C0HANDRS1"
	chanEnter = "C0AEENT01"
)

type fixture struct {
	model *model.Model
	now   time.Time
	// alerts by a short name, for tests that look one up.
	alerts map[string]uuid.UUID
}

type account struct {
	id, name, domain string
	employees        int
	plan             string
	users            []string // emails; the first user does the tracked events
}

type tracked struct {
	account string
	user    int // index into the account's users
	name    string
	page    bool
	at      time.Time
	props   string
}

// seed fills st through the real ingest path and the real scorer: the
// accounts' group and identify calls, their events, and their scores as of
// fixtureNow. Then it adds alerts in every state the reports distinguish.
func seed(t testing.TB, st *store.Store) fixture {
	t.Helper()
	ctx := context.Background()
	m := model.Default()
	fx := fixture{model: m, now: fixtureNow, alerts: map[string]uuid.UUID{}}
	day := func(d int, hour int) time.Time { // d days before now, at hour UTC
		n := fixtureNow.AddDate(0, 0, -d)
		return time.Date(n.Year(), n.Month(), n.Day(), hour, 0, 0, 0, time.UTC)
	}

	accounts := []account{
		{"grp_acme", "Acme Inc", "acme.com", 250, "trial", []string{"alice@acme.com", "bob@acme.com", "carol@acme.com"}},
		{"grp_globex", "Globex", "globex.com", 800, "trial", []string{"hank@globex.com"}},
		{"grp_initech", "Initech", "initech.io", 60, "trial", []string{"peter@initech.io"}},
		{"grp_tiny", "Tiny Labs", "tiny.dev", 4, "trial", []string{"solo@tiny.dev"}},
		{"grp_umbrella", "Umbrella Corp", "umbrella.com", 120, "trial", []string{"ada@umbrella.com", "ben@umbrella.com", "cy@umbrella.com"}},
		{"grp_hooli", "Hooli", "hooli.xyz", 40, "paid", []string{"gavin@hooli.xyz"}},
		{"grp_old1", "Vandelay Industries", "vandelay.com", 75, "trial", []string{"art@vandelay.com"}},
		{"grp_old2", "Kramerica", "kramerica.biz", 12, "trial", []string{"cosmo@kramerica.biz"}},
		{"grp_old3", "Soylent", "soylent.co", 300, "trial", []string{"sol@soylent.co"}},
		{"grp_old4", "Massive Dynamic", "massive.io", 900, "trial", []string{"nina@massive.io"}},
		{"grp_fresh", "Stark Industries", "stark.com", 150, "trial", []string{"pepper@stark.com"}},
		{"grp_wayne", "Wayne Enterprises", "wayne.com", 90, "trial", []string{"lucius@wayne.com"}},
		{"grp_acmesys", "Acme Systems", "acmesystems.com", 30, "trial", []string{"wile@acmesystems.com"}},
	}
	var track []tracked
	add := func(acct string, user int, name string, page bool, props string, ats ...time.Time) {
		for _, at := range ats {
			track = append(track, tracked{acct, user, name, page, at, props})
		}
	}
	// Acme: high tier (workflows, invites, pricing, 3 active users).
	add("grp_acme", 0, "Workflow Completed", false, "", day(1, 14), day(2, 10), day(3, 16), day(4, 9), day(0, 13))
	add("grp_acme", 1, "Teammate Invited", false, "", day(5, 11), day(6, 12))
	add("grp_acme", 2, "Pricing", true, "", day(1, 15), day(0, 14))
	// Globex: a hand-raise.
	add("grp_globex", 0, "Demo Requested", false, "", day(2, 15))
	add("grp_globex", 0, "Workflow Completed", false, "", day(3, 10))
	// Initech: mid tier, which does not notify.
	add("grp_initech", 0, "Workflow Completed", false, "", day(1, 10), day(2, 10), day(3, 10))
	add("grp_initech", 0, "Pricing", true, "", day(1, 11), day(2, 11))
	// Tiny: busy but fails the size gate.
	add("grp_tiny", 0, "Workflow Completed", false, "", day(1, 10), day(2, 10), day(3, 10), day(4, 10))
	add("grp_tiny", 0, "Records Imported", false, `{"records": 500}`, day(2, 12))
	// Umbrella: high, but alerted three days ago (cooling down).
	add("grp_umbrella", 0, "Workflow Completed", false, "", day(1, 10), day(2, 10), day(3, 10))
	add("grp_umbrella", 1, "Teammate Invited", false, "", day(2, 11), day(3, 11))
	add("grp_umbrella", 2, "Pricing", true, "", day(1, 12), day(2, 12))
	// Hooli: a paying customer, suppressed.
	add("grp_hooli", 0, "Workflow Completed", false, "", day(1, 10), day(2, 10), day(3, 10))
	add("grp_hooli", 0, "Integration Connected", false, `{"type": "production_database"}`, day(2, 9))
	// Acme Systems: a second "Acme", a little activity, below threshold.
	add("grp_acmesys", 0, "Workflow Completed", false, "", day(1, 10))
	// The others were active weeks ago.
	for _, id := range []string{"grp_old1", "grp_old2", "grp_old3", "grp_old4"} {
		add(id, 0, "Workflow Completed", false, "", day(30, 10))
	}
	// Stark and Wayne: high, alerted today.
	for _, id := range []string{"grp_fresh", "grp_wayne"} {
		add(id, 0, "Workflow Completed", false, "", day(1, 10), day(2, 10), day(3, 10))
		add(id, 0, "Pricing", true, "", day(1, 11), day(2, 11))
		add(id, 0, "Teammate Invited", false, "", day(1, 12), day(2, 12))
	}

	var msgs []events.Message
	seq := 0
	msg := func(m events.Message) {
		seq++
		m.MessageID = fmt.Sprintf("fixture-%04d", seq)
		if m.ReceivedAt.IsZero() {
			m.ReceivedAt = m.Timestamp
		}
		msgs = append(msgs, m)
	}
	userID := map[[2]string]string{}
	for _, a := range accounts {
		for i, email := range a.users {
			uid := fmt.Sprintf("u_%s_%d", a.id[4:], i)
			userID[[2]string{a.id, fmt.Sprint(i)}] = uid
			at := day(40, 9)
			msg(events.Message{Type: events.TypeIdentify, UserID: uid, Traits: mustJSON(t, map[string]any{"email": email}), Timestamp: at})
			msg(events.Message{Type: events.TypeGroup, UserID: uid, GroupID: a.id, Timestamp: at,
				Traits: mustJSON(t, map[string]any{"name": a.name, "domain": a.domain, "employees": a.employees, "plan": a.plan})})
		}
	}
	for _, e := range track {
		m := events.Message{Type: events.TypeTrack, UserID: userID[[2]string{e.account, fmt.Sprint(e.user)}], Name: e.name, Timestamp: e.at}
		if e.page {
			m.Type = events.TypePage
		}
		if e.props != "" {
			m.Properties = json.RawMessage(e.props)
			m.Sums = events.NumericSums(m.Properties)
		}
		msgs = append(msgs, m)
		seq++
		msgs[len(msgs)-1].MessageID = fmt.Sprintf("fixture-%04d", seq)
		msgs[len(msgs)-1].ReceivedAt = e.at
	}
	_, err := st.Ingest(ctx, []store.IngestItem{{Source: "fixture", Messages: msgs}})
	require.NoError(t, err)
	_, err = st.ScoreQueued(ctx, rescore.Take{Limit: 100}, m.FactsSpec(), fixtureNow, func(f *scoring.Facts) scoring.Result {
		return scoring.Evaluate(m, f, fixtureNow)
	})
	require.NoError(t, err)

	bh := alerting.Hours(m)
	type alertSpec struct {
		key, account, tier, segment, channel, channelID string
		score                                           int
		slaDur                                          time.Duration
		posted                                          time.Time // zero: not posted yet
		claimedBy                                       string
		claimAfter, contactAfter                        time.Duration // wall-clock time after the post
		closeReason                                     string
		closeAfter                                      time.Duration
		breached                                        bool
	}
	specs := []alertSpec{
		// Claimed by Alice yesterday, not contacted, still in SLA.
		{key: "acme", account: "grp_acme", tier: "high", segment: "mid_market", channel: "#sdr-pql", channelID: chanSDR, score: 85, slaDur: 24 * time.Hour,
			posted: day(1, 14), claimedBy: alice, claimAfter: 40 * time.Minute},
		// A hand-raise nobody claimed: past its 4 h deadline.
		{key: "globex", account: "grp_globex", tier: "hand_raiser", segment: "enterprise", channel: "#ae-hand-raisers", channelID: chanHand, score: 25, slaDur: 4 * time.Hour,
			posted: day(2, 16), breached: true},
		// Contacted by Bob within SLA three days ago (Umbrella cools down).
		{key: "umbrella", account: "grp_umbrella", tier: "high", segment: "mid_market", channel: "#sdr-pql", channelID: chanSDR, score: 75, slaDur: 24 * time.Hour,
			posted: day(3, 14), claimedBy: bob, claimAfter: time.Hour, contactAfter: 3 * time.Hour},
		// Posted on a Saturday, claimed on the Sunday (no business time
		// yet) and contacted by Alice on the Friday: late.
		{key: "old1", account: "grp_old1", tier: "high", segment: "mid_market", channel: "#sdr-pql", channelID: chanSDR, score: 72, slaDur: 24 * time.Hour,
			posted: day(20, 14), claimedBy: alice, claimAfter: 26 * time.Hour, contactAfter: 150 * time.Hour},
		// Closed as too small before its deadline.
		{key: "old2", account: "grp_old2", tier: "high", segment: "smb", channel: "#sdr-pql", channelID: chanSDR, score: 70, slaDur: 24 * time.Hour,
			posted: day(10, 15), claimedBy: carol, claimAfter: 2 * time.Hour, closeReason: "too_small", closeAfter: 3 * time.Hour},
		// Closed as a competitor after its deadline, never contacted.
		{key: "old3", account: "grp_old3", tier: "high", segment: "mid_market", channel: "#sdr-pql", channelID: chanSDR, score: 71, slaDur: 24 * time.Hour,
			posted: day(25, 15), closeReason: "competitor", closeAfter: 200 * time.Hour},
		// Posted on a Sunday, claimed by Bob the same day, never
		// contacted: an open breach.
		{key: "old4", account: "grp_old4", tier: "high", segment: "enterprise", channel: "#ae-enterprise", channelID: chanEnter, score: 80, slaDur: 24 * time.Hour,
			posted: day(5, 15), claimedBy: bob, claimAfter: 5 * time.Hour, breached: true},
		// Posted an hour ago, unclaimed, due on Monday.
		{key: "fresh", account: "grp_fresh", tier: "high", segment: "mid_market", channel: "#sdr-pql", channelID: chanSDR, score: 70, slaDur: 24 * time.Hour,
			posted: fixtureNow.Add(-time.Hour)},
		// Two months ago, contacted by Carol: only in the 90-day report.
		{key: "ancient", account: "grp_old2", tier: "high", segment: "smb", channel: "#sdr-pql", channelID: chanSDR, score: 70, slaDur: 24 * time.Hour,
			posted: day(60, 15), claimedBy: carol, claimAfter: 30 * time.Minute, contactAfter: 2 * time.Hour},
		// Not posted yet: in no report.
		{key: "pending", account: "grp_wayne", tier: "high", segment: "mid_market", channel: "#sdr-pql", score: 70, slaDur: 24 * time.Hour},
	}
	for i, sp := range specs {
		id := uuid.MustParse(fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1))
		fx.alerts[sp.key] = id
		res, err := st.GetScore(ctx, sp.account)
		require.NoError(t, err)
		expl, err := json.Marshal(res)
		require.NoError(t, err)
		state := "open"
		var posted, due, claimed, contacted, closed, breached *time.Time
		var channelID, ts, claimedBy, contactedBy, closedBy, reason *string
		created := sp.posted
		if created.IsZero() {
			created = fixtureNow.Add(-time.Minute)
		} else {
			p := sp.posted
			d := sla.Deadline(p, sp.slaDur, bh)
			posted, due = &p, &d
			channelID = &sp.channelID
			stamp := fmt.Sprintf("%d.%06d", p.Unix(), i+1)
			ts = &stamp
		}
		if sp.claimedBy != "" {
			c := sp.posted.Add(sp.claimAfter)
			claimed, claimedBy, state = &c, &sp.claimedBy, "claimed"
		}
		if sp.contactAfter > 0 {
			c := sp.posted.Add(sp.contactAfter)
			contacted, contactedBy, state = &c, &sp.claimedBy, "contacted"
		}
		if sp.closeReason != "" {
			c := sp.posted.Add(sp.closeAfter)
			who := sp.claimedBy
			if who == "" {
				who = carol
			}
			closed, closedBy, reason, state = &c, &who, &sp.closeReason, "closed"
		}
		if sp.breached {
			breached = due
		}
		_, err = st.Pool().Exec(ctx, `
			INSERT INTO alerts (id, account_id, tier, segment, score, channel, channel_id, owner_role, sla_seconds, model_version,
				explanation, state, created_at, posted_at, message_ts, due_at, claimed_by, claimed_at, contacted_by, contacted_at,
				closed_by, closed_at, close_reason, breached_at, delivery)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'SDR', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
				CASE WHEN $13::timestamptz IS NULL THEN 'pending' ELSE 'posted' END)`,
			id, sp.account, sp.tier, sp.segment, sp.score, sp.channel, channelID, int64(sp.slaDur/time.Second), m.Version,
			expl, state, created, posted, ts, due, claimedBy, claimed, contactedBy, contacted, closedBy, closed, reason, breached)
		require.NoError(t, err, sp.key)
	}
	// What became of them (for /pql stats and the Home's program section):
	// Umbrella (contacted in 3 h) won; Old1 (contacted after 6 days) went
	// to an opportunity; Ancient's account won after its alert; Initech
	// won without ever alerting.
	_, err = st.ImportOutcomes(ctx, []outcomes.Row{
		{Line: 2, Account: "umbrella.com", Kind: model.OutcomeOpportunity, At: day(2, 10)},
		{Line: 3, Account: "umbrella.com", Kind: model.OutcomeWon, At: day(1, 10), Amount: 24000, HasAmount: true},
		{Line: 4, Account: "grp_old1", Kind: model.OutcomeOpportunity, At: day(12, 10)},
		{Line: 5, Account: "kramerica.biz", Kind: model.OutcomeWon, At: day(40, 10)},
		{Line: 6, Account: "initech.io", Kind: model.OutcomeWon, At: day(4, 10)},
	})
	require.NoError(t, err)
	return fx
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
