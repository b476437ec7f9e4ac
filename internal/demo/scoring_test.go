package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// scoringFacts rolls the dataset up the way the ingest store does (daily
// UTC buckets per event or page name with numeric property sums, active
// users per day, where-filtered buckets) so the real scorer can judge it.
func scoringFacts(ds Dataset, m *model.Model) map[string]*scoring.Facts {
	spec := m.FactsSpec()
	out := map[string]*scoring.Facts{}
	buckets := map[string]map[[3]string]*scoring.Bucket{}
	seenUser := map[string]bool{}
	for _, a := range ds.Accounts {
		out[a.ID] = &scoring.Facts{
			AccountID: a.ID, Name: a.Name, Domain: a.Domain,
			Traits: map[string]any{
				"name": a.Name, "domain": a.Domain, "employees": float64(a.Employees),
				"industry": a.Industry, "plan": a.Plan,
				"email_domain": a.Users[0].Email[strings.IndexByte(a.Users[0].Email, '@')+1:],
			},
			Filtered: map[string][]scoring.Bucket{},
		}
		buckets[a.ID] = map[[3]string]*scoring.Bucket{}
	}
	add := func(f *scoring.Facts, key [3]string, day time.Time, kind, name string, props map[string]any) {
		b := buckets[f.AccountID][key]
		if b == nil {
			b = &scoring.Bucket{Day: day, Kind: kind, Name: name, Sums: map[string]float64{}}
			buckets[f.AccountID][key] = b
		}
		b.Count++
		for k, v := range props {
			if n, ok := v.(int); ok {
				b.Sums[k] += float64(n)
			}
		}
	}
	for _, msg := range ds.Messages {
		if msg.Type != TypeTrack && msg.Type != TypePage {
			continue
		}
		f := out[msg.GroupID]
		day := msg.Timestamp.UTC().Truncate(24 * time.Hour)
		if f.FirstEventAt.IsZero() || msg.Timestamp.Before(f.FirstEventAt) {
			f.FirstEventAt = msg.Timestamp
		}
		if msg.Timestamp.After(f.LastEventAt) {
			f.LastEventAt = msg.Timestamp
		}
		kind := model.BucketTrack
		if msg.Type == TypePage {
			kind = model.BucketPage
		}
		add(f, [3]string{day.Format(time.DateOnly), kind, msg.Name}, day, kind, msg.Name, msg.Properties)
		for _, flt := range spec.Filters {
			if flt.Kind != kind || flt.Name != msg.Name {
				continue
			}
			match := true
			for k, v := range flt.Where {
				match = match && msg.Properties[k] == v
			}
			if match {
				add(f, [3]string{day.Format(time.DateOnly), "filter:" + flt.Signal, msg.Name}, day, kind, msg.Name, msg.Properties)
			}
		}
		if k := f.AccountID + "|" + day.Format(time.DateOnly) + "|" + msg.UserID; !seenUser[k] {
			seenUser[k] = true
			f.ActiveUsers = append(f.ActiveUsers, scoring.UserDay{Day: day, UserID: msg.UserID})
		}
	}
	for id, f := range out {
		for key, b := range buckets[id] {
			if signal, ok := strings.CutPrefix(key[1], "filter:"); ok {
				f.Filtered[signal] = append(f.Filtered[signal], *b)
			} else {
				f.Buckets = append(f.Buckets, *b)
			}
		}
	}
	return out
}

// TestExampleModelVerdicts scores the demo with the real scorer and the
// built-in example model: each category must land where the README says.
func TestExampleModelVerdicts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "model", "example.yaml"))
	require.NoError(t, err)
	m, err := model.Parse(data)
	require.NoError(t, err)

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			checkVerdicts(t, m, generate(t, Options{Seed: sc.seed, Now: sc.now}), sc.now)
		})
	}
}

func checkVerdicts(t *testing.T, m *model.Model, ds Dataset, now time.Time) {
	facts := scoringFacts(ds, m)
	tiers := map[Category]map[string]int{}
	for _, a := range ds.Accounts {
		r := scoring.Evaluate(m, facts[a.ID], now)
		if tiers[a.Category] == nil {
			tiers[a.Category] = map[string]int{}
		}
		tiers[a.Category][r.Tier]++
		t.Run(string(a.Category)+"/"+a.ID, func(t *testing.T) {
			explain := scoring.Explain(r)
			switch a.Category {
			case StrongTrial, SupportHeavy:
				require.Equal(t, "high", r.Tier, explain)
				require.True(t, r.Alertable, explain)
				want := "#sdr-pql"
				if a.Size == Enterprise {
					want = "#ae-enterprise"
				}
				require.Equal(t, want, r.Route.Channel, explain)
			case HandRaiser:
				require.Equal(t, model.TierHandRaiser, r.Tier, explain)
				require.True(t, r.Alertable, explain)
				require.Equal(t, "#ae-hand-raisers", r.Route.Channel, explain)
			case PromisingTrial:
				require.Equal(t, "mid", r.Tier, explain)
				require.False(t, r.Alertable, explain)
				require.True(t, r.HasReason(scoring.ReasonBelowThreshold), explain)
			case WeakTrial:
				require.False(t, r.Alertable, explain)
				require.True(t, r.HasReason(scoring.ReasonBelowThreshold), explain)
			case PersonalEmail, TinyCompany:
				require.False(t, r.Alertable, explain)
				require.True(t, r.HasReason(scoring.ReasonGateFailed), explain)
				require.GreaterOrEqual(t, r.Score, 50, "only the fit gate stands in the way: %s", explain)
				failed := map[string]bool{}
				for _, g := range r.Gates {
					failed[g.Trait] = !g.Passed
				}
				want := map[Category]map[string]bool{
					PersonalEmail: {"employees": false, "email_domain": true},
					TinyCompany:   {"employees": true, "email_domain": false},
				}[a.Category]
				require.Equal(t, want, failed, explain)
			case PaidCustomer:
				require.False(t, r.Alertable, explain)
				require.True(t, r.HasReason(scoring.ReasonSuppressed), explain)
			case Dormant:
				require.False(t, r.Alertable, explain)
				require.True(t, r.HasReason(scoring.ReasonNotRecent), explain)
			}
			if a.Category == SupportHeavy {
				for _, s := range r.Signals {
					if s.Category == "negative" {
						require.True(t, s.Fired, explain)
					}
				}
			}
		})
	}
	t.Logf("tiers by category: %v", tiers)
}
