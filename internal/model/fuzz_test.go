package model

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts is internally consistent: routes name known tiers and segments,
// tiers descend, the summary renders and re-parsing gives the same hash.
func FuzzParse(f *testing.F) {
	f.Add(exampleYAML)
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("a model returned with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		for i := 1; i < len(m.Tiers); i++ {
			if m.Tiers[i].MinScore >= m.Tiers[i-1].MinScore {
				t.Fatalf("tiers out of order: %+v", m.Tiers)
			}
		}
		for _, r := range m.Routes {
			if r.Tier != TierHandRaiser && m.TierRank(r.Tier) > len(m.Tiers) {
				t.Fatalf("route to unknown tier %q", r.Tier)
			}
			if r.Notify && r.Channel == "" {
				t.Fatal("notifying route without a channel")
			}
		}
		_ = m.Summary()
		_ = m.FactsSpec()
		again, err := Parse(data)
		if err != nil || again.Hash != m.Hash {
			t.Fatalf("re-parse differs: %v", err)
		}
	})
}
