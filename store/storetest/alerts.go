package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/store"
)

// PostedAlert opens a high-tier alert for account in #sdr-pql through
// DecideAlert and records its post at postedAt (channel C0SDRPQL) with a
// wall-clock SLA and the warn point at 75%, as the dispatcher would.
func PostedAlert(tb testing.TB, st *store.Store, account string, postedAt time.Time, sla time.Duration) *alerting.Alert {
	tb.Helper()
	ctx := context.Background()
	a := &alerting.Alert{
		ID: uuid.New(), AccountID: account, Tier: "high", Segment: "smb", Score: 80, Channel: "#sdr-pql",
		OwnerRole: "SDR", SLA: sla, ModelVersion: "test", State: alerting.StateOpen, CreatedAt: postedAt,
		Explanation: scoring.Result{AccountID: account, Name: "Acct " + account, Domain: account + ".example", Tier: "high", Score: 80},
	}
	d, err := st.DecideAlert(ctx, account, postedAt, func(_, _ *alerting.Alert) alerting.Decision {
		return alerting.Decision{Action: alerting.Create, Alert: a}
	})
	require.NoError(tb, err)
	require.Equal(tb, alerting.Create, d.Action)
	var jobID int64
	require.NoError(tb, st.Pool().QueryRow(ctx, `SELECT id FROM slack_outbox WHERE alert_id = $1 AND kind = 'post'`, a.ID).Scan(&jobID))
	require.NoError(tb, st.CompletePost(ctx, alerting.Job{ID: jobID, AlertID: a.ID, Kind: alerting.JobPost}, alerting.Posted{
		AlertID: a.ID, ChannelID: "C0SDRPQL", TS: fmt.Sprintf("%d.%06d", postedAt.Unix(), time.Now().Nanosecond()/1000),
		PostedAt: postedAt, DueAt: postedAt.Add(sla), WarnAt: postedAt.Add(sla * 3 / 4),
	}))
	got, err := st.GetAlert(ctx, a.ID)
	require.NoError(tb, err)
	return got
}

// CreateAlert opens an alert for account in tier of m through the real
// decision path (alerting.Service) at now, and fails the test unless one
// was created.
func CreateAlert(tb testing.TB, st *store.Store, m *model.Model, account, tier string, now time.Time) *alerting.Alert {
	tb.Helper()
	res := &scoring.Result{AccountID: account, Name: "Acct " + account, Tier: tier, Segment: "smb", Score: 75, Alertable: true, ModelVersion: m.Version, At: now}
	rt, ok := m.Route(tier, "smb")
	require.True(tb, ok)
	res.Route = &rt
	svc := &alerting.Service{Model: m, Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	d, err := svc.Evaluate(context.Background(), res)
	require.NoError(tb, err)
	require.Equal(tb, alerting.Create, d.Action)
	return d.Alert
}

// Drain runs d until its outbox has no due job, and fails the test if it
// never empties.
func Drain(tb testing.TB, d *alerting.Dispatcher) {
	tb.Helper()
	for range 1000 {
		n, err := d.RunOnce(context.Background())
		require.NoError(tb, err)
		if n == 0 {
			return
		}
	}
	tb.Fatal("outbox never drained")
}
