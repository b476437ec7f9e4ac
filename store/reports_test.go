package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

var reportNow = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

// reportAlert is an alerts row for the report queries; zero times are NULL.
type reportAlert struct {
	id                             int
	account, tier, state, channel  string
	channelID, claimedBy, contacBy string
	posted, due, claimed, contact  time.Time
}

func alertID(n int) uuid.UUID {
	return uuid.MustParse(fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
}

func insertReportAlerts(t *testing.T, s *store.Store, rows ...reportAlert) {
	t.Helper()
	null := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	for _, r := range rows {
		var ts *string
		if !r.posted.IsZero() {
			v := fmt.Sprintf("%d.%06d", r.posted.Unix(), r.id)
			ts = &v
		}
		_, err := s.Pool().Exec(context.Background(), `
			INSERT INTO alerts (id, account_id, tier, segment, score, channel, channel_id, sla_seconds, model_version, explanation,
				state, created_at, posted_at, message_ts, due_at, claimed_by, claimed_at, contacted_by, contacted_at)
			VALUES ($1, $2, $3, 'smb', 70, $4, $5, 86400, 'v1', '{}', $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			alertID(r.id), r.account, r.tier, r.channel, str(r.channelID), r.state, reportNow.Add(-100*24*time.Hour),
			null(r.posted), ts, null(r.due), str(r.claimedBy), null(r.claimed), str(r.contacBy), null(r.contact))
		require.NoError(t, err)
	}
}

func ids(rows []commands.AlertRow) []uuid.UUID {
	out := []uuid.UUID{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestReportQueries(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	_, err := s.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name, domain) VALUES ('a1', 'Acme', 'acme.com'), ('a2', 'Globex', 'globex.com')`)
	require.NoError(t, err)
	h := time.Hour
	d := 24 * h
	insertReportAlerts(t, s,
		// 1: open, unclaimed, posted 2 days ago, past due.
		reportAlert{id: 1, account: "a1", tier: "high", state: "open", channel: "#sdr", channelID: "C0SDR",
			posted: reportNow.Add(-2 * d), due: reportNow.Add(-d)},
		// 2: claimed by U1, due in 5 h.
		reportAlert{id: 2, account: "a2", tier: "high", state: "claimed", channel: "#sdr", channelID: "C0SDR",
			posted: reportNow.Add(-3 * h), due: reportNow.Add(5 * h), claimedBy: "U1", claimed: reportNow.Add(-2 * h)},
		// 3: claimed by U1, past due (an open breach).
		reportAlert{id: 3, account: "a3", tier: "mid", state: "claimed", channel: "C0ENT", channelID: "C0ENT",
			posted: reportNow.Add(-5 * d), due: reportNow.Add(-4 * d), claimedBy: "U1", claimed: reportNow.Add(-5 * d)},
		// 4: contacted by U2 without a claim, 20 days ago.
		reportAlert{id: 4, account: "a4", tier: "high", state: "contacted", channel: "#sdr", channelID: "C0SDR",
			posted: reportNow.Add(-20 * d), due: reportNow.Add(-19 * d), contacBy: "U2", contact: reportNow.Add(-20 * d)},
		// 5: not posted yet: in no report.
		reportAlert{id: 5, account: "a5", tier: "high", state: "open", channel: "#sdr"},
		// 6: posted 40 days ago, outside 30 days.
		reportAlert{id: 6, account: "a6", tier: "high", state: "contacted", channel: "#sdr", channelID: "C0SDR",
			posted: reportNow.Add(-40 * d), due: reportNow.Add(-39 * d), claimedBy: "U2", claimed: reportNow.Add(-40 * d), contacBy: "U2", contact: reportNow.Add(-40 * d)},
		// 7: open, unclaimed, posted an hour ago, not due.
		reportAlert{id: 7, account: "a7", tier: "high", state: "open", channel: "#other", channelID: "C0OTH",
			posted: reportNow.Add(-h), due: reportNow.Add(d)},
	)

	t.Run("posted alerts in a period", func(t *testing.T) {
		from, to := reportNow.Add(-30*d), reportNow
		cases := []struct {
			name string
			f    commands.Filter
			want []uuid.UUID
		}{
			{"everyone, newest first", commands.Filter{}, []uuid.UUID{alertID(7), alertID(2), alertID(1), alertID(3), alertID(4)}},
			{"claimant", commands.Filter{UserID: "U1"}, []uuid.UUID{alertID(2), alertID(3)}},
			{"contact maker when nobody claimed", commands.Filter{UserID: "U2"}, []uuid.UUID{alertID(4)}},
			{"unknown user", commands.Filter{UserID: "U9"}, []uuid.UUID{}},
			{"channel id", commands.Filter{ChannelID: "C0SDR"}, []uuid.UUID{alertID(2), alertID(1), alertID(4)}},
			{"channel id as configured", commands.Filter{ChannelID: "C0ENT"}, []uuid.UUID{alertID(3)}},
			{"channel name", commands.Filter{ChannelName: "other"}, []uuid.UUID{alertID(7)}},
			{"escaped mention: id and name", commands.Filter{ChannelID: "C0NOPE", ChannelName: "sdr"}, []uuid.UUID{alertID(2), alertID(1), alertID(4)}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rows, err := s.PostedAlerts(ctx, from, to, c.f, 100)
				require.NoError(t, err)
				require.Equal(t, c.want, ids(rows))
			})
		}
		rows, err := s.PostedAlerts(ctx, from, to, commands.Filter{}, 2)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{alertID(7), alertID(2)}, ids(rows), "the limit keeps the newest")
		rows, err = s.PostedAlerts(ctx, reportNow.Add(-3*h), reportNow.Add(-h), commands.Filter{}, 100)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{alertID(2)}, ids(rows), "from is inclusive, to exclusive")
	})

	t.Run("rows carry the alert and its account", func(t *testing.T) {
		rows, err := s.PostedAlerts(ctx, reportNow.Add(-4*h), reportNow, commands.Filter{UserID: "U1"}, 10)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		r := rows[0]
		require.Equal(t, commands.AlertRow{
			ID: alertID(2), AccountID: "a2", AccountName: "Globex", Domain: "globex.com", Tier: "high", Segment: "smb", Score: 70,
			Channel: "#sdr", ChannelID: "C0SDR", MessageTS: fmt.Sprintf("%d.%06d", reportNow.Add(-3*h).Unix(), 2), SLA: 24 * h,
			State: alerting.StateClaimed, PostedAt: reportNow.Add(-3 * h), DueAt: reportNow.Add(5 * h),
			ClaimedBy: "U1", ClaimedAt: reportNow.Add(-2 * h),
		}, r)
	})

	t.Run("claimed alerts, most urgent first", func(t *testing.T) {
		rows, err := s.ClaimedAlerts(ctx, "U1")
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{alertID(3), alertID(2)}, ids(rows))
		rows, err = s.ClaimedAlerts(ctx, "U2")
		require.NoError(t, err)
		require.Empty(t, rows, "contacted alerts are done")
	})

	t.Run("overdue alerts, most overdue first", func(t *testing.T) {
		rows, err := s.OverdueAlerts(ctx, reportNow, 10)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{alertID(3), alertID(1)}, ids(rows))
		rows, err = s.OverdueAlerts(ctx, reportNow, 1)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{alertID(3)}, ids(rows))
	})

	t.Run("unclaimed alerts, oldest first", func(t *testing.T) {
		rows, err := s.UnclaimedAlerts(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{alertID(1), alertID(7)}, ids(rows), "posted and open only")
	})
}

func TestTopCandidatesAndLookups(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	_, err := s.Pool().Exec(ctx, `
		INSERT INTO accounts (account_id, name, domain) VALUES ('a1', 'Acme', 'acme.com'), ('a2', 'Globex', 'globex.com'), ('a3', NULL, NULL);
		INSERT INTO account_scores (account_id, score, tier, segment, alertable, result, model_version, model_hash, scored_at) VALUES
			('a1', 80, 'high', 'smb', true, '{"account_id": "a1", "score": 80}', 'v1', 'h', now()),
			('a2', 90, 'high', 'enterprise', true, '{"account_id": "a2", "score": 90}', 'v1', 'h', now()),
			('a3', 55, 'mid', 'smb', false, '{"account_id": "a3", "score": 55}', 'v1', 'h', now())`)
	require.NoError(t, err)
	h := time.Hour
	insertReportAlerts(t, s,
		reportAlert{id: 1, account: "a2", tier: "mid", state: "contacted", channel: "#sdr", channelID: "C0SDR",
			posted: reportNow.Add(-90 * 24 * h), due: reportNow.Add(-89 * 24 * h), contacBy: "U1", contact: reportNow.Add(-89 * 24 * h)},
	)
	// The latest alert is the one shown.
	_, err = s.Pool().Exec(ctx, `
		INSERT INTO alerts (id, account_id, tier, segment, score, channel, sla_seconds, model_version, explanation, state, created_at, claimed_by)
		VALUES ($1, 'a2', 'high', 'enterprise', 90, '#sdr', 86400, 'v1', '{}', 'claimed', $2, 'U7')`, alertID(2), reportNow.Add(-h))
	require.NoError(t, err)

	// a4 is a customer (suppressed), a5 fails a gate; a5 has an open alert.
	_, err = s.Pool().Exec(ctx, `
		INSERT INTO accounts (account_id, name, domain) VALUES ('a4', 'Hooli', 'hooli.xyz'), ('a5', 'Tiny', 'tiny.dev');
		INSERT INTO account_scores (account_id, score, tier, segment, alertable, result, model_version, model_hash, scored_at) VALUES
			('a4', 95, 'high', 'smb', false, '{"account_id": "a4", "reasons": [{"code": "suppressed", "text": "x"}]}', 'v1', 'h', now()),
			('a5', 70, 'high', 'smb', false, '{"account_id": "a5", "reasons": [{"code": "below_threshold"}, {"code": "gate_failed", "text": "x"}]}', 'v1', 'h', now())`)
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, `
		INSERT INTO alerts (id, account_id, tier, segment, score, channel, sla_seconds, model_version, explanation, state, created_at)
		VALUES ($1, 'a5', 'hand_raiser', 'smb', 70, '#sdr', 86400, 'v1', '{}', 'open', $2)`, alertID(3), reportNow.Add(-h))
	require.NoError(t, err)

	active, ranked, err := s.TopCandidates(ctx, "", 10)
	require.NoError(t, err)
	require.Len(t, active, 2, "the open alerts")
	require.Equal(t, "a2", active[0].AccountID)
	require.Equal(t, alertID(2), active[0].Alert.ID)
	require.Equal(t, "U7", active[0].Alert.ClaimedBy)
	require.Equal(t, "enterprise", active[0].Segment)
	require.Equal(t, "a5", active[1].AccountID)
	require.Equal(t, "gate_failed", active[1].Excluded, "derived from the stored reasons")
	require.Equal(t, []string{"a2", "a1", "a3"}, []string{ranked[0].AccountID, ranked[1].AccountID, ranked[2].AccountID}, "excluded accounts never ranked")
	require.Equal(t, "Globex", ranked[0].Name)
	require.Equal(t, "globex.com", ranked[0].Domain)
	require.Equal(t, alertID(2), ranked[0].Alert.ID, "the latest alert")
	require.Nil(t, ranked[1].Alert)
	require.Empty(t, ranked[2].Name, "an account without a name")

	active, ranked, err = s.TopCandidates(ctx, "hand_raiser", 10)
	require.NoError(t, err)
	require.Len(t, active, 1, "an open alert of the tier counts, whatever the account's current tier")
	require.Empty(t, ranked)

	left, err := s.ExcludedCounts(ctx, "", 0, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"suppressed": 1, "gate_failed": 1}, left)
	left, err = s.ExcludedCounts(ctx, "high", 90, []string{"a5"})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"suppressed": 1}, left)
	left, err = s.ExcludedCounts(ctx, "", 96, nil)
	require.NoError(t, err)
	require.Empty(t, left)

	names, err := s.MatchAccounts(ctx, "  GLOBEX ", 5)
	require.NoError(t, err)
	require.Equal(t, []commands.AccountMatch{{AccountID: "a2", Name: "Globex", Domain: "globex.com", Score: 90, Tier: "high", Exact: true}}, names)
	names, err = s.MatchAccounts(ctx, "lob", 5)
	require.NoError(t, err)
	require.Len(t, names, 1, "a substring when no name starts with it")
	require.False(t, names[0].Exact)
	names, err = s.MatchAccounts(ctx, "%", 5)
	require.NoError(t, err)
	require.Empty(t, names, "LIKE wildcards match themselves")

	id, err := s.LookupAccount(ctx, "ACME.com")
	require.NoError(t, err)
	require.Equal(t, "a1", id)
	_, err = s.LookupAccount(ctx, "nosuch.com")
	require.ErrorIs(t, err, commands.ErrAccountNotFound)
	res, err := s.AccountScore(ctx, "a3")
	require.NoError(t, err)
	require.Equal(t, 55, res.Score)
	_, err = s.AccountScore(ctx, "a9")
	require.ErrorIs(t, err, commands.ErrNotScored)
}

func TestLatestEvents(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	_, err := s.Pool().Exec(ctx, `INSERT INTO users (user_id, email) VALUES ('u1', 'ann@acme.com'), ('u2', '')`)
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, `
		INSERT INTO events (source, message_id, type, name, user_id, anonymous_id, account_id, ts, received_at) VALUES
			('s', 'm1', 'track', 'Old', 'u1', NULL, 'a1', $1::timestamptz - interval '3 hours', $1),
			('s', 'm2', 'track', 'Workflow Completed', 'u1', NULL, 'a1', $1::timestamptz - interval '1 hour', $1),
			('s', 'm3', 'page', 'Pricing', 'u2', NULL, 'a1', $1::timestamptz - interval '2 hours', $1),
			('s', 'm4', 'group', NULL, NULL, 'anon-9', 'a1', $1::timestamptz - interval '2 hours', $1),
			('s', 'm5', 'track', 'Elsewhere', 'u1', NULL, 'a2', $1, $1)`, reportNow)
	require.NoError(t, err)
	evs, err := s.LatestEvents(ctx, "a1", 3)
	require.NoError(t, err)
	require.Equal(t, []commands.Event{
		{At: reportNow.Add(-time.Hour), Type: "track", Name: "Workflow Completed", User: "ann@acme.com"},
		{At: reportNow.Add(-2 * time.Hour), Type: "group", Name: "", User: "anon-9"},
		{At: reportNow.Add(-2 * time.Hour), Type: "page", Name: "Pricing", User: "u2"},
	}, evs, "newest first; email when known, else the user or anonymous id")
	evs, err = s.LatestEvents(ctx, "nobody", 5)
	require.NoError(t, err)
	require.Empty(t, evs)
}

func TestMarkEventSeen(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()

	first, err := s.MarkEventSeen(ctx, "Ev001")
	require.NoError(t, err)
	require.True(t, first)
	first, err = s.MarkEventSeen(ctx, "Ev001")
	require.NoError(t, err)
	require.False(t, first, "a retry of the same event")

	// Replicas receiving the same retry at once: exactly one handles it.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := s.MarkEventSeen(ctx, "Ev002")
			if err == nil && ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), wins.Load())

	// Ids older than a day are forgotten.
	_, err = s.Pool().Exec(ctx, `UPDATE slack_events_seen SET seen_at = now() - interval '2 days' WHERE event_id = 'Ev001'`)
	require.NoError(t, err)
	_, err = s.MarkEventSeen(ctx, "Ev003")
	require.NoError(t, err)
	var n int
	require.NoError(t, s.Pool().QueryRow(ctx, `SELECT count(*) FROM slack_events_seen WHERE event_id = 'Ev001'`).Scan(&n))
	require.Zero(t, n)
}
