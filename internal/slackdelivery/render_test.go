package slackdelivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

func TestTSTime(t *testing.T) {
	tm, ok := tsTime("1700000000.123456")
	require.True(t, ok)
	require.Equal(t, time.Unix(1700000000, 123456000).UTC(), tm)
	_, ok = tsTime("x")
	require.False(t, ok)
}

// A change note is rendered when it is delivered, from the facts the
// decision recorded: the claimer then is mentioned.
func TestChangeNoteMentionsTheClaimer(t *testing.T) {
	now := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	r := &Renderer{Model: model.Default()}
	text := func(d alerting.Decision) string {
		return r.Message(alerting.Message{Kind: alerting.ThreadNote, Note: alerting.ChangeNote(d, now), Now: now}, nil).Text
	}
	a := &alerting.Alert{Tier: model.TierHandRaiser, Score: 90, AlertScore: 72, State: alerting.StateClaimed, ClaimedBy: "U0ANNA",
		Explanation: scoring.Result{HandRaise: &scoring.HandRaise{Event: "Demo Requested"}}}
	require.Equal(t, "✋ Hand-raise: *Demo Requested* — now *hand-raiser* (score 90) — <@U0ANNA>, this is yours",
		text(alerting.Decision{Action: alerting.Upgrade, Alert: a, FromTier: "high", FromScore: 72}))
	a.Tier, a.Score = "high", 60
	require.Equal(t, "📉 Score down to *60* (was 82, 72 at alert) — <@U0ANNA>, this is yours",
		text(alerting.Decision{Action: alerting.Rescore, Alert: a, FromTier: "high", FromScore: 82}))
	a.State, a.ClaimedBy = alerting.StateOpen, ""
	require.Equal(t, "📉 Score down to *60* (was 82, 72 at alert)", text(alerting.Decision{Action: alerting.Rescore, Alert: a, FromTier: "high", FromScore: 82}))
}

// A reply queued, already rendered, by an older build is sent as it was.
func TestLegacyReplyIsSentAsQueued(t *testing.T) {
	r := &Renderer{Model: model.Default()}
	out := r.Message(alerting.Message{Kind: alerting.ThreadNote, Text: "old words",
		Blocks: []byte(`[{"type":"section","text":{"type":"mrkdwn","text":"old"}}]`)}, nil)
	require.Equal(t, "old words", out.Text)
	require.Len(t, out.Blocks, 1)
}
