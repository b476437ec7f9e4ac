package slackdelivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/slackdelivery"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// The dry run is the same dispatcher with a Notifier that logs: an alert
// goes through the outbox, is recorded as posted, and its claim edits the
// "message" in the log, rendered exactly as Slack would get it.
func TestDryRunLogsThroughTheSameDispatcher(t *testing.T) {
	st := storetest.New(t)
	m := model.Default()
	now := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	a := storetest.CreateAlert(t, st, m, "acme", "high", now)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	d := &alerting.Dispatcher{Outbox: st, Notifier: slackdelivery.NewLog(&slackdelivery.Renderer{Model: m}, log), Model: m,
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
	storetest.Drain(t, d)

	got, err := st.GetAlert(context.Background(), a.ID)
	require.NoError(t, err)
	require.Equal(t, alerting.DeliveryPosted, got.Delivery)
	require.Equal(t, "#sdr-pql", got.ChannelID)
	require.NotEmpty(t, got.MessageTS)

	_, _, err = st.ClaimAlert(context.Background(), a.ID, "U0ANNA", now)
	require.NoError(t, err)
	storetest.Drain(t, d)

	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct {
			Msg     string `json:"msg"`
			Message struct {
				Text   string            `json:"text"`
				Blocks []json.RawMessage `json:"blocks"`
			} `json:"message"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec.Message.Text != "" {
			require.NotEmpty(t, rec.Message.Blocks, "the blocks that would be posted")
			msgs = append(msgs, rec.Msg)
		}
	}
	require.Equal(t, []string{"pql alert (dry run)", "message updated (dry run)"}, msgs)
	require.Contains(t, buf.String(), `*Claimed* by <@U0ANNA>`)
	require.Contains(t, buf.String(), `"event_type":"pql_alert"`, "with the metadata a real post carries")
}
