package alerting

import (
	"testing"
	"time"

	"github.com/google/uuid"
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
		return &Alert{ID: uuid.New(), Tier: tier, Score: 72, State: state, CreatedAt: now.Add(-age), Channel: "#sdr-pql"}
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
		{"hand-raise on a claimed high alert upgrades in place", result(m, model.TierHandRaiser, "smb", 80, true), alert("high", StateClaimed, time.Hour), alert("high", StateClaimed, time.Hour), Upgrade, "", "#sdr-pql"},
		{"hand-raise on an open high alert moves it to the hand-raiser route", result(m, model.TierHandRaiser, "smb", 80, true), alert("high", StateOpen, time.Hour), alert("high", StateOpen, time.Hour), Move, "", "#ae-hand-raisers"},
		{"hand-raise on an open hand-raiser alert is not news", result(m, model.TierHandRaiser, "smb", 80, true), alert(model.TierHandRaiser, StateOpen, time.Hour), nil, None, ReasonActiveAlert, ""},
		{"score up 10 on an open alert re-renders it", result(m, "high", "smb", 82, true), alert("high", StateOpen, time.Hour), nil, Rescore, "", "#sdr-pql"},
		{"score down 10 on a claimed alert re-renders it", result(m, "high", "smb", 62, true), alert("high", StateClaimed, time.Hour), nil, Rescore, "", "#sdr-pql"},
		{"dropping to a tier that does not notify re-renders the open alert", result(m, "mid", "smb", 55, false, scoring.ReasonBelowThreshold), alert("high", StateOpen, time.Hour), nil, Rescore, "", "#sdr-pql"},
		{"a suppressed account's alert follows its score", result(m, "high", "smb", 40, false, scoring.ReasonSuppressed), alert("high", StateClaimed, time.Hour), nil, Rescore, "", "#sdr-pql"},
		{"a score that cannot alert and barely moved is not news", result(m, "high", "smb", 75, false, scoring.ReasonNotRecent), alert("high", StateOpen, time.Hour), nil, None, scoring.ReasonNotRecent, ""},
		{"score up 9 is not material", result(m, "high", "smb", 81, true), alert("high", StateOpen, time.Hour), nil, None, ReasonActiveAlert, ""},
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
			switch tc.want {
			case Upgrade:
				require.Equal(t, tc.active.Tier, d.FromTier)
				require.Equal(t, model.TierHandRaiser, ChangeNote(d, now).ToTier)
			case Rescore:
				require.Equal(t, tc.active.Score, d.FromScore)
				require.Equal(t, tc.active.ID, d.Alert.ID, "the same alert, re-rendered")
				require.True(t, ChangeNote(d, now).Rescore)
			case Move:
				require.Same(t, tc.active, d.From)
				require.Equal(t, tc.active.ID, d.Alert.MovedFrom)
				require.NotEqual(t, tc.active.ID, d.Alert.ID, "a new alert")
				require.Equal(t, "AE", d.Alert.OwnerRole)
				require.Equal(t, 4*time.Hour, d.Alert.SLA)
				require.Equal(t, StateOpen, d.Alert.State)
			}
		})
	}
}

// Below every tier the alert keeps its tier's name and shows the score.
func TestDecideBelowEveryTier(t *testing.T) {
	m := model.Default()
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	active := &Alert{ID: uuid.New(), Tier: "high", Score: 75, AlertScore: 75, State: StateOpen, Channel: "#sdr-pql"}
	res := result(m, "", "smb", 20, false, scoring.ReasonBelowThreshold)
	d := Decide(m, res, active, active, now)
	require.Equal(t, Rescore, d.Action)
	require.Equal(t, "high", d.Alert.Tier)
	require.Equal(t, 20, d.Alert.Score)
	require.Equal(t, 75, d.Alert.AlertScore)
	require.Equal(t, 75, d.FromScore)
	require.Equal(t, active.ID, d.Alert.ID)
}

func TestChangeNoteNamesTheClaimer(t *testing.T) {
	now := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	a := &Alert{Tier: model.TierHandRaiser, Score: 90, AlertScore: 72, State: StateClaimed, ClaimedBy: "U0ANNA",
		Explanation: scoring.Result{HandRaise: &scoring.HandRaise{Event: "Demo Requested"}}}
	require.Equal(t, &Note{Kind: NoteChange, At: now, FromTier: "high", ToTier: model.TierHandRaiser, FromScore: 72, ToScore: 90, AlertScore: 72,
		HandRaise: "Demo Requested", Claimer: "U0ANNA"}, ChangeNote(Decision{Action: Upgrade, Alert: a, FromTier: "high", FromScore: 72}, now))
	a.Tier, a.Score, a.State, a.ClaimedBy = "high", 60, StateOpen, ""
	require.Equal(t, &Note{Kind: NoteChange, At: now, FromTier: "high", ToTier: "high", FromScore: 82, ToScore: 60, AlertScore: 72, Rescore: true},
		ChangeNote(Decision{Action: Rescore, Alert: a, FromTier: "high", FromScore: 82}, now))
}
