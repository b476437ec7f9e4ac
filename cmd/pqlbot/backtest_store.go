package main

import (
	"context"
	"time"

	"github.com/pqlbot/pqlbot/internal/backtest"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/store"
)

// storeHistory is the store as a backtest reads it: account history from
// ReplayAccounts, outcomes from the outcomes store (SPEC §7).
type storeHistory struct{ *store.Store }

// Outcomes implements backtest.History.
func (h storeHistory) Outcomes(ctx context.Context, from, to time.Time) ([]backtest.Outcome, error) {
	os, err := h.Store.Outcomes(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]backtest.Outcome, len(os))
	for i, o := range os {
		out[i] = backtest.Outcome{AccountID: o.AccountID, Kind: string(o.Kind), At: o.At}
	}
	return out, nil
}

// UnmatchedOutcomes implements backtest.History.
func (h storeHistory) UnmatchedOutcomes(ctx context.Context) (int, error) {
	os, err := h.Store.UnmatchedOutcomes(ctx)
	return len(os), err
}

// outcomeWindowDays is how long before a win a flag counts for it.
func outcomeWindowDays(m *model.Model) int { return m.OutcomeWindowDays() }
