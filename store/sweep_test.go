package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/store/storetest"
)

func TestDueNudgesAndBreaches(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	const sla = 4 * time.Hour
	open := storetest.PostedAlert(t, st, "open", csT0, sla)
	claimed := storetest.PostedAlert(t, st, "claimed", csT0, sla)
	contacted := storetest.PostedAlert(t, st, "contacted", csT0, sla)
	later := storetest.PostedAlert(t, st, "later", csT0.Add(2*time.Hour), sla)
	_, _, err := st.ClaimAlert(ctx, claimed.ID, "U0ANNA", csT0.Add(time.Hour))
	require.NoError(t, err)
	_, _, err = st.MarkContacted(ctx, contacted.ID, "U0BOB", csT0.Add(time.Hour))
	require.NoError(t, err)
	csDone(t, st)

	nudge := func(*alerting.Alert) *alerting.Note { return alerting.NudgeNote(csT0) }
	const escalate = "#sales-managers"
	ids := func(as []*alerting.Alert) []uuid.UUID {
		out := []uuid.UUID{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	jobs := func(kind string) map[uuid.UUID]int {
		rows, err := st.Pool().Query(ctx, `SELECT alert_id FROM slack_outbox WHERE kind = $1 AND state = 'pending'`, kind)
		require.NoError(t, err)
		defer rows.Close()
		out := map[uuid.UUID]int{}
		for rows.Next() {
			var id uuid.UUID
			require.NoError(t, rows.Scan(&id))
			out[id]++
		}
		return out
	}

	t.Run("nothing before the warn point", func(t *testing.T) {
		as, err := st.DueNudges(ctx, csT0.Add(sla*3/4-time.Second), 10, nudge)
		require.NoError(t, err)
		require.Empty(t, as)
	})
	t.Run("nudges only the open alert, once", func(t *testing.T) {
		at := csT0.Add(sla * 3 / 4)
		as, err := st.DueNudges(ctx, at, 10, nudge)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{open.ID}, ids(as))
		require.Equal(t, at, as[0].NudgedAt)
		as, err = st.DueNudges(ctx, at.Add(time.Minute), 10, nudge)
		require.NoError(t, err)
		require.Empty(t, as)
		require.Equal(t, map[uuid.UUID]int{open.ID: 1}, jobs(alerting.JobReply))
		require.Equal(t, map[uuid.UUID]int{open.ID: 1}, jobs(alerting.JobUpdate), "the message shows the reminder")
		var body string
		require.NoError(t, st.Pool().QueryRow(ctx, `SELECT body::text FROM slack_outbox WHERE kind = 'reply' AND alert_id = $1`, open.ID).Scan(&body))
		require.JSONEq(t, `{"note": {"kind": "nudge", "at": "2030-03-04T14:00:00Z", "broadcast": true}}`, body)
	})
	t.Run("breaches open and claimed, never contacted", func(t *testing.T) {
		at := csT0.Add(sla)
		as, err := st.DueBreaches(ctx, at, 10, escalate)
		require.NoError(t, err)
		require.ElementsMatch(t, []uuid.UUID{open.ID, claimed.ID}, ids(as))
		for _, a := range as {
			require.Equal(t, at, a.BreachedAt)
		}
		as, err = st.DueBreaches(ctx, at.Add(time.Hour), 10, escalate)
		require.NoError(t, err)
		require.Empty(t, as, "each breach is recorded once")
		require.Equal(t, map[uuid.UUID]int{open.ID: 1, claimed.ID: 1}, jobs(alerting.JobUpdate), "the messages show the breach")
		// Both were due in the same minute: one escalation lists them.
		escs := jobs(alerting.JobEscalation)
		require.Len(t, escs, 1)
		o, err := st.GetAlert(ctx, open.ID)
		require.NoError(t, err)
		c, err := st.GetAlert(ctx, claimed.ID)
		require.NoError(t, err)
		require.NotZero(t, o.EscalationID)
		require.Equal(t, o.EscalationID, c.EscalationID)

		// The dispatcher leases the post first; the edit waits for it.
		leased, err := st.LeaseJobs(ctx, at, 10, time.Minute)
		require.NoError(t, err)
		var esc []alerting.Job
		for _, j := range leased {
			if j.Kind == alerting.JobEscalation || j.Kind == alerting.JobEscalationUpdate {
				esc = append(esc, j)
			}
		}
		require.Len(t, esc, 1)
		require.Equal(t, alerting.JobEscalation, esc[0].Kind)
		require.Equal(t, "#sales-managers", esc[0].Channel)
		require.Equal(t, o.EscalationID, esc[0].EscalationID)
		e, err := st.Escalation(ctx, esc[0])
		require.NoError(t, err)
		require.ElementsMatch(t, []uuid.UUID{open.ID, claimed.ID}, ids(e.Alerts))
	})
	t.Run("catch-up takes everything due by now", func(t *testing.T) {
		at := csT0.Add(2*time.Hour + sla + time.Hour)
		as, err := st.DueNudges(ctx, at, 10, nudge)
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{later.ID}, ids(as))
		as, err = st.DueBreaches(ctx, at, 10, "")
		require.NoError(t, err)
		require.Equal(t, []uuid.UUID{later.ID}, ids(as))
		require.NotContains(t, jobs(alerting.JobEscalation), later.ID, "no escalation channel, no escalation job")
		require.Equal(t, 1, csCount(t, st, `SELECT count(*) FROM alert_audit WHERE alert_id = $1 AND action = 'breached'`, later.ID))
	})
	t.Run("unposted alerts are never swept", func(t *testing.T) {
		d, err := st.DecideAlert(ctx, "unposted", csT0, func(_, _ *alerting.Alert) alerting.Decision {
			return alerting.Decision{Action: alerting.Create, Alert: &alerting.Alert{ID: uuid.New(), AccountID: "unposted", Tier: "high",
				Channel: "#sdr-pql", SLA: sla, ModelVersion: "test", State: alerting.StateOpen, CreatedAt: csT0}}
		})
		require.NoError(t, err)
		far := csT0.Add(100 * sla)
		as, err := st.DueNudges(ctx, far, 10, nudge)
		require.NoError(t, err)
		require.Empty(t, as)
		as, err = st.DueBreaches(ctx, far, 10, escalate)
		require.NoError(t, err)
		require.Empty(t, as)
		got, err := st.GetAlert(ctx, d.Alert.ID)
		require.NoError(t, err)
		require.True(t, got.NudgedAt.IsZero())
	})
	t.Run("limit bounds a batch", func(t *testing.T) {
		for range 3 {
			storetest.PostedAlert(t, st, "batch-"+uuid.NewString()[:8], csT0, sla)
		}
		at := csT0.Add(sla * 3 / 4)
		as, err := st.DueNudges(ctx, at, 2, nudge)
		require.NoError(t, err)
		require.Len(t, as, 2)
		as, err = st.DueNudges(ctx, at, 2, nudge)
		require.NoError(t, err)
		require.Len(t, as, 1)
	})
}

// An escalation job queued by a build from before groups (no escalation)
// is adopted as an escalation of its own alert, once.
func TestLegacyEscalationJobIsAdopted(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	a := storetest.PostedAlert(t, st, "legacy", csT0, time.Hour)
	csDone(t, st)
	_, err := st.Pool().Exec(ctx, `UPDATE alerts SET breached_at = $2 WHERE id = $1`, a.ID, csT0.Add(time.Hour))
	require.NoError(t, err)
	_, err = st.Pool().Exec(ctx, `INSERT INTO slack_outbox (alert_id, kind, channel, not_before) VALUES ($1, 'escalation', '#sales-managers', $2)`, a.ID, csT0)
	require.NoError(t, err)

	jobs, err := st.LeaseJobs(ctx, csT0.Add(2*time.Hour), 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Zero(t, jobs[0].EscalationID)
	e, err := st.Escalation(ctx, jobs[0])
	require.NoError(t, err)
	require.NotZero(t, e.ID)
	require.Equal(t, "#sales-managers", e.Channel)
	require.Len(t, e.Alerts, 1)
	require.Equal(t, a.ID, e.Alerts[0].ID)
	again, err := st.Escalation(ctx, jobs[0])
	require.NoError(t, err)
	require.Equal(t, e.ID, again.ID, "adopted once")

	// Recorded where it went, a later claim edits it.
	require.NoError(t, st.CompleteEscalation(ctx, jobs[0], e.ID, "C0MGRS", "1.000001"))
	_, _, err = st.ClaimAlert(ctx, a.ID, "U0ANNA", csT0.Add(3*time.Hour))
	require.NoError(t, err)
	jobs, err = st.LeaseJobs(ctx, csT0.Add(3*time.Hour), 10, time.Minute)
	require.NoError(t, err)
	var edit *alerting.Job
	for i := range jobs {
		if jobs[i].Kind == alerting.JobEscalationUpdate {
			edit = &jobs[i]
		}
	}
	require.NotNil(t, edit)
	require.Equal(t, e.ID, edit.EscalationID)
	got, err := st.Escalation(ctx, *edit)
	require.NoError(t, err)
	require.Equal(t, "1.000001", got.TS)
}
