package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/store"
	"github.com/pqlbot/pqlbot/store/storetest"
)

// csT0 is the fixtures' posting time: a Monday, after the wall clock of
// the machine (queued updates are due from the database's now()).
var csT0 = time.Date(2030, 3, 4, 14, 0, 0, 0, time.UTC)

// csCount runs a count(*) query.
func csCount(t testing.TB, st *store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, st.Pool().QueryRow(context.Background(), q, args...).Scan(&n))
	return n
}

func csUpdates(t testing.TB, st *store.Store, id uuid.UUID) int {
	return csCount(t, st, `SELECT count(*) FROM slack_outbox WHERE alert_id = $1 AND kind = 'update'`, id)
}

// csDone marks every queued job done, as a dispatcher would, so the next
// queued update is visible as a new row.
func csDone(t testing.TB, st *store.Store) {
	t.Helper()
	_, err := st.Pool().Exec(context.Background(), `UPDATE slack_outbox SET state = 'done' WHERE state = 'pending'`)
	require.NoError(t, err)
}

func csConflict(t *testing.T, err error, sentinel error, owner string) {
	t.Helper()
	require.ErrorIs(t, err, sentinel)
	var ce *alerting.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, owner, ce.Owner)
}

func TestClaimReleaseContactLifecycle(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	a := storetest.PostedAlert(t, st, "acme", csT0, 24*time.Hour)
	csDone(t, st)
	t1 := csT0.Add(35 * time.Minute)

	type step struct {
		name    string
		do      func() (*alerting.Alert, alerting.Outcome, error)
		outcome alerting.Outcome
		err     error
		owner   string
		state   alerting.State
		// updates is how many message updates have been queued so far.
		updates int
	}
	claim := func(u string, at time.Time) func() (*alerting.Alert, alerting.Outcome, error) {
		return func() (*alerting.Alert, alerting.Outcome, error) { return st.ClaimAlert(ctx, a.ID, u, at) }
	}
	release := func(u string) func() (*alerting.Alert, alerting.Outcome, error) {
		return func() (*alerting.Alert, alerting.Outcome, error) { return st.ReleaseAlert(ctx, a.ID, u, t1) }
	}
	contact := func(u string, at time.Time) func() (*alerting.Alert, alerting.Outcome, error) {
		return func() (*alerting.Alert, alerting.Outcome, error) { return st.MarkContacted(ctx, a.ID, u, at) }
	}
	steps := []step{
		{name: "first claim wins", do: claim("U0ANNA", t1), outcome: alerting.Changed, state: alerting.StateClaimed, updates: 1},
		{name: "owner's repeated claim is a no-op", do: claim("U0ANNA", t1.Add(time.Minute)), outcome: alerting.Unchanged, state: alerting.StateClaimed, updates: 1},
		{name: "later claim names the owner", do: claim("U0BOB", t1), err: alerting.ErrAlreadyClaimed, owner: "U0ANNA", state: alerting.StateClaimed, updates: 1},
		{name: "contact by non-owner names the owner", do: contact("U0BOB", t1), err: alerting.ErrNotOwner, owner: "U0ANNA", state: alerting.StateClaimed, updates: 1},
		{name: "release by non-owner names the owner", do: release("U0BOB"), err: alerting.ErrNotOwner, owner: "U0ANNA", state: alerting.StateClaimed, updates: 1},
		{name: "owner releases", do: release("U0ANNA"), outcome: alerting.Changed, state: alerting.StateOpen, updates: 2},
		{name: "second release is a no-op", do: release("U0ANNA"), outcome: alerting.Unchanged, state: alerting.StateOpen, updates: 2},
		{name: "new owner claims", do: claim("U0BOB", t1.Add(time.Hour)), outcome: alerting.Changed, state: alerting.StateClaimed, updates: 3},
		{name: "owner marks contacted", do: contact("U0BOB", t1.Add(2*time.Hour)), outcome: alerting.Changed, state: alerting.StateContacted, updates: 4},
		{name: "repeated contact is a no-op", do: contact("U0BOB", t1.Add(3*time.Hour)), outcome: alerting.Unchanged, state: alerting.StateContacted, updates: 4},
		{name: "claim after contact is closed", do: claim("U0CARL", t1), err: alerting.ErrClosed, owner: "U0BOB", state: alerting.StateContacted, updates: 4},
		{name: "release after contact is closed", do: release("U0BOB"), err: alerting.ErrClosed, owner: "U0BOB", state: alerting.StateContacted, updates: 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, out, err := s.do()
			if s.err != nil {
				csConflict(t, err, s.err, s.owner)
			} else {
				require.NoError(t, err)
				require.Equal(t, s.outcome, out)
			}
			require.NotNil(t, got)
			require.Equal(t, s.state, got.State)
			require.Equal(t, s.updates, csUpdates(t, st, a.ID))
			// Keep the one-queued-update dedupe from hiding the next change.
			csDone(t, st)
		})
	}

	got, err := st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "U0BOB", got.ClaimedBy)
	require.Equal(t, t1.Add(time.Hour), got.ClaimedAt)
	require.Equal(t, "U0BOB", got.ContactedBy)
	require.Equal(t, t1.Add(2*time.Hour), got.ContactedAt)

	trail, err := st.AlertAudit(ctx, a.ID)
	require.NoError(t, err)
	var actions []string
	for _, e := range trail {
		actions = append(actions, e.Actor+" "+e.Action)
	}
	require.Equal(t, []string{"pqlbot created", "pqlbot posted", "U0ANNA claimed", "U0ANNA released", "U0BOB claimed", "U0BOB contacted"}, actions)
	require.Equal(t, t1.Add(2*time.Hour), trail[len(trail)-1].At)
	require.JSONEq(t, fmt.Sprintf(`{"claimed_at": %q, "due_at": %q, "within_sla": true}`,
		t1.Add(time.Hour).Format(time.RFC3339), csT0.Add(24*time.Hour).Format(time.RFC3339)), string(trail[len(trail)-1].Detail))
}

func TestContactOnReleasedAlertClaimsItToo(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	a := storetest.PostedAlert(t, st, "acme", csT0, 4*time.Hour)
	at := csT0.Add(5 * time.Hour)
	got, out, err := st.MarkContacted(ctx, a.ID, "U0ANNA", at)
	require.NoError(t, err)
	require.Equal(t, alerting.Changed, out)
	require.Equal(t, alerting.StateContacted, got.State)
	require.Equal(t, "U0ANNA", got.ClaimedBy)
	require.Equal(t, at, got.ClaimedAt)
	require.Equal(t, at, got.ContactedAt)
	trail, err := st.AlertAudit(ctx, a.ID)
	require.NoError(t, err)
	var detail struct {
		WithinSLA *bool `json:"within_sla"`
	}
	require.NoError(t, json.Unmarshal(trail[len(trail)-1].Detail, &detail))
	require.NotNil(t, detail.WithinSLA)
	require.False(t, *detail.WithinSLA, "contacted an hour after the 4 h deadline")
}

func TestUnknownAlert(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	id := uuid.New()
	for name, call := range map[string]func() error{
		"claim":   func() error { _, _, err := st.ClaimAlert(ctx, id, "U0ANNA", csT0); return err },
		"release": func() error { _, _, err := st.ReleaseAlert(ctx, id, "U0ANNA", csT0); return err },
		"contact": func() error { _, _, err := st.MarkContacted(ctx, id, "U0ANNA", csT0); return err },
		"not fit": func() error { _, _, err := st.CloseNotFit(ctx, id, "U0ANNA", "other", csT0, time.Hour); return err },
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, call(), alerting.ErrNotFound)
		})
	}
}

func TestConcurrentClaimsHaveOneWinner(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	a := storetest.PostedAlert(t, st, "acme", csT0, 24*time.Hour)
	csDone(t, st)
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners, refused := []string{}, map[string]int{}
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fmt.Sprintf("U0REP%03d", i)
			<-start
			_, out, err := st.ClaimAlert(ctx, a.ID, u, csT0.Add(time.Minute))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && out == alerting.Changed:
				winners = append(winners, u)
			case errors.Is(err, alerting.ErrAlreadyClaimed):
				refused[alerting.Owner(err)]++
			default:
				t.Errorf("claim by %s: outcome %v, err %v", u, out, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Len(t, winners, 1)
	require.Equal(t, map[string]int{winners[0]: n - 1}, refused, "every loser is told the winner")
	require.Equal(t, 1, csUpdates(t, st, a.ID))
	require.Equal(t, 1, csCount(t, st, `SELECT count(*) FROM alert_audit WHERE alert_id = $1 AND action = 'claimed'`, a.ID))
	got, err := st.GetAlert(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, winners[0], got.ClaimedBy)
}

func TestCloseNotFit(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	_, err := st.Pool().Exec(ctx, `INSERT INTO accounts (account_id, name) VALUES ('acme', 'Acme'), ('longer', 'Longer')`)
	require.NoError(t, err)
	const ninety = 90 * 24 * time.Hour
	at := csT0.Add(time.Hour)
	disq := func(account string) time.Time {
		var until time.Time
		require.NoError(t, st.Pool().QueryRow(ctx, `SELECT disqualified_until FROM accounts WHERE account_id = $1`, account).Scan(&until))
		return until.UTC()
	}

	t.Run("open alert closes and disqualifies", func(t *testing.T) {
		a := storetest.PostedAlert(t, st, "acme", csT0, 24*time.Hour)
		_, err := st.Pool().Exec(ctx, `DELETE FROM rescore_queue`)
		require.NoError(t, err)
		got, out, err := st.CloseNotFit(ctx, a.ID, "U0ANNA", "too_small", at, ninety)
		require.NoError(t, err)
		require.Equal(t, alerting.Changed, out)
		require.Equal(t, alerting.StateClosed, got.State)
		require.Equal(t, "U0ANNA", got.ClosedBy)
		require.Equal(t, at, got.ClosedAt)
		require.Equal(t, "too_small", got.CloseReason)
		require.Equal(t, at.Add(ninety), disq("acme"))
		require.Equal(t, 1, csCount(t, st, `SELECT count(*) FROM rescore_queue WHERE account_id = 'acme'`))
		require.Equal(t, 1, csCount(t, st, `SELECT count(*) FROM alert_audit WHERE alert_id = $1 AND action = 'closed_not_fit' AND actor = 'U0ANNA'`, a.ID))

		_, out, err = st.CloseNotFit(ctx, a.ID, "U0ANNA", "too_small", at.Add(time.Minute), ninety)
		require.NoError(t, err)
		require.Equal(t, alerting.Unchanged, out, "the same choice again is a no-op")
		_, _, err = st.CloseNotFit(ctx, a.ID, "U0BOB", "competitor", at, ninety)
		csConflict(t, err, alerting.ErrClosed, "U0ANNA")
		_, _, err = st.ClaimAlert(ctx, a.ID, "U0BOB", at)
		csConflict(t, err, alerting.ErrClosed, "U0ANNA")
	})

	t.Run("claimed alert: owner only", func(t *testing.T) {
		a := storetest.PostedAlert(t, st, "longer", csT0, 24*time.Hour)
		_, err := st.Pool().Exec(ctx, `UPDATE accounts SET disqualified_until = $1 WHERE account_id = 'longer'`, at.Add(2*ninety))
		require.NoError(t, err)
		_, _, err = st.ClaimAlert(ctx, a.ID, "U0ANNA", at)
		require.NoError(t, err)
		_, _, err = st.CloseNotFit(ctx, a.ID, "U0BOB", "competitor", at, ninety)
		csConflict(t, err, alerting.ErrNotOwner, "U0ANNA")
		got, out, err := st.CloseNotFit(ctx, a.ID, "U0ANNA", "competitor", at, ninety)
		require.NoError(t, err)
		require.Equal(t, alerting.Changed, out)
		require.Equal(t, alerting.StateClosed, got.State)
		require.Equal(t, at.Add(2*ninety), disq("longer"), "a longer disqualification is kept")
	})

	t.Run("account row missing is created disqualified", func(t *testing.T) {
		a := storetest.PostedAlert(t, st, "ghost", csT0, 24*time.Hour)
		_, _, err := st.CloseNotFit(ctx, a.ID, "U0ANNA", "other", at, ninety)
		require.NoError(t, err)
		require.Equal(t, at.Add(ninety), disq("ghost"))
	})
}
