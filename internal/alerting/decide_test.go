package alerting

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

func result(m *model.Model, tier, segment string, score int, alertable bool, reasons ...string) *scoring.Result {
	r := &scoring.Result{AccountID: "acme", Tier: tier, Segment: segment, Score: score, Alertable: alertable, ModelVersion: m.Version}
	if rt, ok := m.Route(tier, segment); ok {
		r.Route = &rt
	}
	for _, c := range reasons {
		r.Reasons = append(r.Reasons, scoring.Reason{Code: c})
	}
	return r
}

func TestDecide(t *testing.T) {
	m := model.Default()
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	alert := func(tier string, state State, age time.Duration) *Alert {
		return &Alert{Tier: tier, Score: 72, State: state, CreatedAt: now.Add(-age), Channel: "#sdr-pql"}
	}
	cases := []struct {
		name         string
		res          *scoring.Result
		active, last *Alert
		want         Action
		reason       string
		channel      string
	}{
		{"first high alert routes to SDRs", result(m, "high", "smb", 75, true), nil, nil, Create, "", "#sdr-pql"},
		{"enterprise high routes to AEs", result(m, "high", "enterprise", 75, true), nil, nil, Create, "", "#ae-enterprise"},
		{"hand-raiser routes to AEs", result(m, model.TierHandRaiser, "smb", 30, true), nil, nil, Create, "", "#ae-hand-raisers"},
		{"mid tier does not notify", result(m, "mid", "smb", 55, false, scoring.ReasonBelowThreshold), nil, nil, None, scoring.ReasonBelowThreshold, ""},
		{"suppressed never alerts", result(m, "high", "smb", 90, false, scoring.ReasonSuppressed), nil, nil, None, scoring.ReasonSuppressed, ""},
		{"disqualified never alerts", result(m, model.TierHandRaiser, "smb", 90, false, scoring.ReasonDisqualified), nil, nil, None, scoring.ReasonDisqualified, ""},
		{"same tier with an open alert", result(m, "high", "smb", 80, true), alert("high", StateOpen, time.Hour), alert("high", StateOpen, time.Hour), None, ReasonActiveAlert, ""},
		{"hand-raise on an open high alert upgrades", result(m, model.TierHandRaiser, "smb", 80, true), alert("high", StateClaimed, time.Hour), alert("high", StateClaimed, time.Hour), Upgrade, "", "#sdr-pql"},
		{"cooling down after a contacted alert", result(m, "high", "smb", 80, true), nil, alert("high", StateContacted, 13*24*time.Hour), None, ReasonCoolingDown, ""},
		{"realerts after realert_after", result(m, "high", "smb", 80, true), nil, alert("high", StateContacted, 14*24*time.Hour), Create, "", "#sdr-pql"},
		{"higher tier beats the cool-down", result(m, model.TierHandRaiser, "smb", 80, true), nil, alert("high", StateContacted, 24*time.Hour), Create, "", "#ae-hand-raisers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(m, tc.res, tc.active, tc.last, now)
			require.Equal(t, tc.want, d.Action, d.Reason)
			require.Equal(t, tc.reason, d.Reason)
			if tc.want != None {
				require.Equal(t, tc.channel, d.Alert.Channel)
				require.Equal(t, tc.res.Tier, d.Alert.Tier)
			}
			if tc.want == Create {
				require.Equal(t, now, d.Alert.CreatedAt)
				require.Equal(t, tc.res.Route.SLA, d.Alert.SLA)
			}
			if tc.want == Upgrade {
				require.Equal(t, tc.active.Tier, d.FromTier)
				require.Contains(t, UpgradeReply(d), "Moved up")
			}
		})
	}
}

func TestTSTime(t *testing.T) {
	tm, ok := tsTime("1700000000.123456")
	require.True(t, ok)
	require.Equal(t, time.Unix(1700000000, 123456000).UTC(), tm)
	_, ok = tsTime("x")
	require.False(t, ok)
}
