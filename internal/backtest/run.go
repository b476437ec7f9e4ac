package backtest

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pqlbot/pqlbot/internal/model"
)

// History is what a backtest reads from storage.
type History interface {
	// ReplayAccounts calls fn with batches of accounts that had activity or
	// group calls before q.Until, each with its history before q.Until as
	// q asks. fn's error stops the stream and is returned.
	ReplayAccounts(ctx context.Context, q Query, fn func([]Account) error) error
	// Outcomes returns the outcomes matched to an account dated in
	// [from, to).
	Outcomes(ctx context.Context, from, to time.Time) ([]Outcome, error)
	// UnmatchedOutcomes counts the outcomes tied to no known account.
	UnmatchedOutcomes(ctx context.Context) (int, error)
}

// Query says which history to load: the daily roll-up series and filtered
// series the models read, active users when a model counts them, up to
// Until (exclusive).
type Query struct {
	Series  []model.Series
	Filters []model.Filter
	Users   bool
	Until   time.Time
}

// Options configure a backtest.
type Options struct {
	// AsOf is the window's last day; Days its length (default 90).
	AsOf time.Time
	Days int
	// OutcomeWindowDays is the model's outcomes.window_days (default 90):
	// a flag counts for a win at most this many days before it.
	OutcomeWindowDays int
	// Compare, when set, is replayed beside the model as a candidate.
	Compare *model.Model
	// Workers replay accounts in parallel (default 2).
	Workers int
	// Sweep tries the highest alerting tier's min_score from 30 to 100.
	Sweep bool
}

// Run replays history through m (and the candidate) and reports.
func Run(ctx context.Context, h History, m *model.Model, opt Options) (*Report, error) {
	if opt.Days <= 0 {
		opt.Days = 90
	}
	if opt.OutcomeWindowDays <= 0 {
		opt.OutcomeWindowDays = 90
	}
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	to := dayTime(dayOf(opt.AsOf))
	from := to.AddDate(0, 0, -(opt.Days - 1))
	until := to.AddDate(0, 0, 1)

	plans := []*plan{newPlan(m, from, to, opt.OutcomeWindowDays, opt.Sweep)}
	if opt.Compare != nil {
		plans = append(plans, newPlan(opt.Compare, from, to, opt.OutcomeWindowDays, opt.Sweep))
	}
	q := Query{Until: until}
	for _, p := range plans {
		q.merge(p.m)
	}

	outcomes, err := h.Outcomes(ctx, time.Time{}, until)
	if err != nil {
		return nil, fmt.Errorf("backtest: outcomes: %w", err)
	}
	unmatched, err := h.UnmatchedOutcomes(ctx)
	if err != nil {
		return nil, fmt.Errorf("backtest: unmatched outcomes: %w", err)
	}
	won := wonDays(outcomes, dayOf(to))

	results := make([][]*AccountResult, len(plans))
	activeDays := map[int64]bool{}
	seen := map[string]bool{}
	var mu sync.Mutex
	batches := make(chan []Account, opt.Workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Go(func() {
			local := make([][]*AccountResult, len(plans))
			days := map[int64]bool{}
			var ids []string
			for batch := range batches {
				for i := range batch {
					a := &batch[i]
					ids = append(ids, a.ID)
					for _, d := range a.Days {
						days[dayOf(d.Day)] = true
					}
					for k, p := range plans {
						local[k] = append(local[k], p.replay(a, won[a.ID]))
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for k := range plans {
				results[k] = append(results[k], local[k]...)
			}
			for d := range days {
				activeDays[d] = true
			}
			for _, id := range ids {
				seen[id] = true
			}
		})
	}
	err = h.ReplayAccounts(ctx, q, func(batch []Account) error {
		select {
		case batches <- batch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(batches)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("backtest: replay: %w", err)
	}

	// Won outcomes of accounts with no stored history cannot be replayed:
	// they are misses with nothing to show, and data health names them.
	for id := range won {
		if !seen[id] {
			unmatched++
			for k, p := range plans {
				results[k] = append(results[k], p.replay(&Account{ID: id}, won[id]))
			}
		}
	}

	reports := make([]*Report, len(plans))
	for k, p := range plans {
		reports[k] = p.build(results[k], unmatched, activeDays)
	}
	r := reports[0]
	if len(plans) > 1 {
		r.Compare = compare(results[0], results[1], reports[1])
	}
	return r, nil
}

// merge adds what m reads to the query.
func (q *Query) merge(m *model.Model) {
	spec := m.FactsSpec()
	for _, s := range spec.Series {
		if !slices.ContainsFunc(q.Series, func(x model.Series) bool { return x.Kind == s.Kind && x.Name == s.Name }) {
			q.Series = append(q.Series, s)
		} else {
			for i := range q.Series {
				if q.Series[i].Kind == s.Kind && q.Series[i].Name == s.Name {
					q.Series[i].Sums = q.Series[i].Sums || s.Sums
				}
			}
		}
	}
	for _, f := range spec.Filters {
		f.Signal = filterPrefix(m) + f.Signal
		if !slices.ContainsFunc(q.Filters, func(x model.Filter) bool { return x.Signal == f.Signal }) {
			q.Filters = append(q.Filters, f)
		}
	}
	for _, s := range m.Signals {
		q.Users = q.Users || s.Rule.Needs().Users
	}
}

// TuneGC sets the garbage collector for a process whose one job is a
// backtest: the replay makes short-lived garbage at a high rate while its
// live heap stays small (a few batches of history and a summary per
// account), so collecting less often saves a good share of the CPU. The
// memory limit keeps the process well under 1 GB whatever the data. It
// returns a function that restores the previous settings.
func TuneGC() (restore func()) {
	gc := debug.SetGCPercent(300)
	limit := debug.SetMemoryLimit(512 << 20)
	return func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	}
}

// filterPrefix keeps two models' signals with `where` apart in one
// history: a candidate may define a signal of the same name differently.
func filterPrefix(m *model.Model) string { return m.Hash[:12] + "/" }

// compare lists the accounts whose flag in the window differs.
func compare(cur, cand []*AccountResult, candReport *Report) *Comparison {
	c := &Comparison{Candidate: candReport, NewlyFlagged: []string{}, NoLongerFlagged: []string{}}
	byID := make(map[string]*AccountResult, len(cur))
	for _, a := range cur {
		byID[a.ID] = a
	}
	for _, b := range cand {
		a := byID[b.ID]
		was := a != nil && a.Flagged
		switch {
		case b.Flagged && !was:
			c.NewlyCount++
			if len(c.NewlyFlagged) < maxListed {
				c.NewlyFlagged = append(c.NewlyFlagged, b.ID)
			}
		case !b.Flagged && was:
			c.NoLongerCount++
			if len(c.NoLongerFlagged) < maxListed {
				c.NoLongerFlagged = append(c.NoLongerFlagged, b.ID)
			}
		}
	}
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func trimPrefix(s, prefix string) string { return strings.TrimPrefix(s, prefix) }
