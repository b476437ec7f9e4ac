package alerting_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// actT0 is a Monday 09:00 in New York (the example model's business
// hours open), later than the machine's clock so queued jobs are due.
var actT0 = time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)

type actObserver struct {
	mu          sync.Mutex
	transitions []string
}

func (o *actObserver) AlertTransition(tier, transition string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.transitions = append(o.transitions, tier+":"+transition)
}

func TestRefusal(t *testing.T) {
	open := &alerting.Alert{State: alerting.StateOpen}
	claimed := &alerting.Alert{State: alerting.StateClaimed, ClaimedBy: "U0ANNA"}
	contacted := &alerting.Alert{State: alerting.StateContacted, ClaimedBy: "U0ANNA", ContactedBy: "U0ANNA"}
	closed := &alerting.Alert{State: alerting.StateClosed, ClosedBy: "U0BOB", CloseReason: "competitor"}
	cases := []struct {
		name    string
		kind    alerting.ActionKind
		a       *alerting.Alert
		user    string
		reason  string
		outcome alerting.Outcome
		err     error
		owner   string
	}{
		{"claim open applies", alerting.ActionClaim, open, "U0BOB", "", 0, nil, ""},
		{"claim own is a no-op", alerting.ActionClaim, claimed, "U0ANNA", "", alerting.Unchanged, nil, ""},
		{"claim taken", alerting.ActionClaim, claimed, "U0BOB", "", 0, alerting.ErrAlreadyClaimed, "U0ANNA"},
		{"claim contacted", alerting.ActionClaim, contacted, "U0BOB", "", 0, alerting.ErrClosed, "U0ANNA"},
		{"claim closed", alerting.ActionClaim, closed, "U0ANNA", "", 0, alerting.ErrClosed, "U0BOB"},
		{"release open is a no-op", alerting.ActionRelease, open, "U0ANNA", "", alerting.Unchanged, nil, ""},
		{"release own applies", alerting.ActionRelease, claimed, "U0ANNA", "", 0, nil, ""},
		{"release other's", alerting.ActionRelease, claimed, "U0BOB", "", 0, alerting.ErrNotOwner, "U0ANNA"},
		{"release contacted", alerting.ActionRelease, contacted, "U0ANNA", "", 0, alerting.ErrClosed, "U0ANNA"},
		{"contact open applies", alerting.ActionContacted, open, "U0BOB", "", 0, nil, ""},
		{"contact own applies", alerting.ActionContacted, claimed, "U0ANNA", "", 0, nil, ""},
		{"contact other's", alerting.ActionContacted, claimed, "U0BOB", "", 0, alerting.ErrNotOwner, "U0ANNA"},
		{"contact again is a no-op", alerting.ActionContacted, contacted, "U0ANNA", "", alerting.Unchanged, nil, ""},
		{"contact after another's contact", alerting.ActionContacted, contacted, "U0BOB", "", 0, alerting.ErrClosed, "U0ANNA"},
		{"not a fit open applies", alerting.ActionNotFit, open, "U0BOB", "other", 0, nil, ""},
		{"not a fit on own claim applies", alerting.ActionNotFit, claimed, "U0ANNA", "other", 0, nil, ""},
		{"not a fit on other's claim", alerting.ActionNotFit, claimed, "U0BOB", "other", 0, alerting.ErrNotOwner, "U0ANNA"},
		{"same reason again is a no-op", alerting.ActionNotFit, closed, "U0BOB", "competitor", alerting.Unchanged, nil, ""},
		{"other reason on closed", alerting.ActionNotFit, closed, "U0BOB", "other", 0, alerting.ErrClosed, "U0BOB"},
		{"picker check on closed", alerting.ActionNotFit, closed, "U0BOB", "", 0, alerting.ErrClosed, "U0BOB"},
		{"not a fit on contacted", alerting.ActionNotFit, contacted, "U0ANNA", "other", 0, alerting.ErrClosed, "U0ANNA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := alerting.Refusal(tc.kind, tc.a, tc.user, tc.reason)
			require.Equal(t, tc.outcome, out)
			if tc.err == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.owner, alerting.Owner(err))
			require.Contains(t, err.Error(), string(tc.a.State))
		})
	}
}

func TestTimeToClaimAndContactInBusinessHours(t *testing.T) {
	hours := alerting.Hours(model.Default()) // Mon-Fri 09:00-18:00 New York
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	at := func(day, h, m int) time.Time { return time.Date(2030, 3, day, h, m, 0, 0, ny).UTC() }
	cases := []struct {
		name             string
		posted, claimed  time.Time
		contacted, due   time.Time
		hours            bool
		toClaim, toReach time.Duration
		within           bool
	}{
		{"same morning", at(4, 9, 0), at(4, 9, 35), at(4, 12, 12), at(6, 15, 0), true, 35 * time.Minute, 3*time.Hour + 12*time.Minute, true},
		{"Friday evening to Monday", at(8, 17, 0), at(11, 9, 30), at(11, 10, 0), at(12, 17, 0), true, 90 * time.Minute, 2 * time.Hour, true},
		{"posted Saturday, claimed Monday", at(9, 11, 0), at(11, 9, 10), at(11, 9, 20), at(13, 15, 0), true, 10 * time.Minute, 20 * time.Minute, true},
		{"wall clock over the weekend (DST starts Sunday)", at(8, 17, 0), at(11, 9, 30), at(11, 10, 0), at(9, 17, 0), false, 63*time.Hour + 30*time.Minute, 64 * time.Hour, false},
		{"not claimed yet", at(4, 9, 0), time.Time{}, time.Time{}, at(6, 15, 0), true, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &alerting.Alert{PostedAt: tc.posted, ClaimedAt: tc.claimed, ContactedAt: tc.contacted, DueAt: tc.due}
			h := hours
			if !tc.hours {
				h = nil
			}
			require.Equal(t, tc.toClaim, alerting.TimeToClaim(a, h))
			require.Equal(t, tc.toReach, alerting.TimeToContact(a, h))
			require.Equal(t, tc.within, alerting.WithinSLA(a))
		})
	}
}

func TestActions(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	m := model.Default()
	now := actT0
	obs := &actObserver{}
	wakes := 0
	svc := &alerting.Actions{
		Store: st, Model: m, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return now }, Observer: obs, Wake: func() { wakes++ },
	}
	_, err := st.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name) VALUES ('acme', 'Acme')`)
	require.NoError(t, err)
	a := storetest.PostedAlert(t, st, "acme", actT0, 24*time.Hour)

	t.Run("claim, repeat, refuse", func(t *testing.T) {
		now = actT0.Add(35 * time.Minute)
		got, err := svc.Claim(ctx, a.ID, "U0ANNA")
		require.NoError(t, err)
		require.Equal(t, alerting.StateClaimed, got.State)
		require.Equal(t, 35*time.Minute, alerting.TimeToClaim(got, alerting.Hours(m)))
		_, err = svc.Claim(ctx, a.ID, "U0ANNA")
		require.NoError(t, err, "a repeated claim is a friendly no-op")
		_, err = svc.Claim(ctx, a.ID, "U0BOB")
		require.ErrorIs(t, err, alerting.ErrAlreadyClaimed)
		require.Equal(t, "U0ANNA", alerting.Owner(err))
		require.Equal(t, 1, wakes, "only the change wakes the dispatcher")
	})
	t.Run("not a fit is the owner's", func(t *testing.T) {
		_, err := svc.NotFit(ctx, a.ID, "U0BOB")
		require.ErrorIs(t, err, alerting.ErrNotOwner)
		got, err := svc.NotFit(ctx, a.ID, "U0ANNA")
		require.NoError(t, err)
		require.Equal(t, a.ID, got.ID, "the alert to ask a reason for")
	})
	t.Run("invalid input", func(t *testing.T) {
		_, err := svc.ChooseReason(ctx, a.ID, "U0ANNA", "dunno")
		require.ErrorIs(t, err, alerting.ErrInvalidAction)
		_, err = svc.Claim(ctx, a.ID, "")
		require.ErrorIs(t, err, alerting.ErrInvalidAction)
		_, err = svc.Release(ctx, uuid.New(), "U0ANNA")
		require.ErrorIs(t, err, alerting.ErrNotFound)
	})
	t.Run("reason closes and disqualifies", func(t *testing.T) {
		now = actT0.Add(time.Hour)
		closed, err := svc.ChooseReason(ctx, a.ID, "U0ANNA", string(closereason.StudentPersonal))
		require.NoError(t, err)
		require.Equal(t, closereason.StudentPersonal, closed.Reason)
		require.Equal(t, now.Add(m.DisqualifiedFor), closed.SilencedUntil)
		var until time.Time
		require.NoError(t, st.Pool().QueryRow(ctx, `SELECT disqualified_until FROM accounts WHERE account_id = 'acme'`).Scan(&until))
		require.Equal(t, now.Add(m.DisqualifiedFor), until.UTC())
		_, err = svc.NotFit(ctx, a.ID, "U0ANNA")
		require.ErrorIs(t, err, alerting.ErrClosed)
	})
	require.Equal(t, []string{"high:claimed", "high:closed"}, obs.transitions)

	t.Run("release and contact", func(t *testing.T) {
		b := storetest.PostedAlert(t, st, "beta", actT0, 4*time.Hour)
		now = actT0.Add(time.Hour)
		_, err := svc.Claim(ctx, b.ID, "U0ANNA")
		require.NoError(t, err)
		got, err := svc.Release(ctx, b.ID, "U0ANNA")
		require.NoError(t, err)
		require.Equal(t, alerting.StateOpen, got.State)
		require.Empty(t, got.ClaimedBy)
		_, err = svc.Claim(ctx, b.ID, "U0BOB")
		require.NoError(t, err)
		_, err = svc.Contacted(ctx, b.ID, "U0ANNA")
		require.ErrorIs(t, err, alerting.ErrNotOwner)
		require.Equal(t, "U0BOB", alerting.Owner(err))
		now = actT0.Add(3*time.Hour + 12*time.Minute)
		got, err = svc.Contacted(ctx, b.ID, "U0BOB")
		require.NoError(t, err)
		require.Equal(t, alerting.StateContacted, got.State)
		require.Equal(t, 3*time.Hour+12*time.Minute, alerting.TimeToContact(got, alerting.Hours(m)))
		require.True(t, alerting.WithinSLA(got))
	})
	require.Equal(t, []string{"high:claimed", "high:closed", "high:claimed", "high:released", "high:claimed", "high:contacted"}, obs.transitions)
}
