package model

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func kindModel(signal string) string {
	return fmt.Sprintf("version: v\nsignals:\n  - {name: s, points: 5, %s}\ntiers: [{name: t, min_score: 1}]\nroutes: [{tier: t, channel: \"#a\"}]\n", signal)
}

// TestKindsTable checks every kind in the table: its example parses into a
// rule of that kind that measures and explains itself, and every key some
// other kind takes is refused on it, naming the kind. A kind that forgets a
// key, or accepts one it does not read, fails here.
func TestKindsTable(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k.kind), func(t *testing.T) {
			m, err := Parse([]byte(kindModel(k.example)))
			require.NoError(t, err)
			require.Len(t, m.Signals, 1)
			s := &m.Signals[0]
			require.Equal(t, k.kind, s.Kind())
			b, err := s.MarshalJSON()
			require.NoError(t, err)
			require.Contains(t, string(b), `"kind":"`+string(k.kind)+`"`)
			for _, key := range signalKeys {
				if contains(commonSignalKeys, key) || contains(k.keys, key) {
					continue
				}
				_, err := Parse([]byte(kindModel(k.example + ", " + key + ": 1")))
				require.Error(t, err, key)
				want := "signals[0]." + key + ": not used by " + string(k.kind) + " signals"
				switch {
				case contains(selectorKeys, key):
					want = "a signal takes only one of"
				case isMark(key):
					// The key turns the signal into another kind, which
					// refuses one of the example's keys instead.
					want = ": not used by "
				}
				require.Contains(t, err.Error(), want, key)
			}
		})
	}
}

// TestKindSelection: a selector shared by kinds (event) picks the kind with
// its mark present (sum), else the kind without marks (count).
func TestKindSelection(t *testing.T) {
	for yaml, want := range map[string]SignalKind{
		"event: A":                                             KindCount,
		"page: Pricing, min_count: 2":                          KindCount,
		"event: A, sum: n, min_sum: 1":                         KindSum,
		"page: P, sum: n, min_sum: 1":                          KindSum,
		"distinct_users: 2":                                    KindDistinctUsers,
		"trait: plan, eq: trial":                               KindTrait,
		"score_within_days_of_signup: {days: 1, min_score: 1}": KindVelocity,
	} {
		m, err := Parse([]byte(kindModel(yaml)))
		require.NoError(t, err, yaml)
		require.Equal(t, want, m.Signals[0].Kind(), yaml)
	}
}

func isMark(key string) bool {
	for _, k := range kinds {
		if contains(k.marks, key) {
			return true
		}
	}
	return false
}

func TestTargets(t *testing.T) {
	require.Equal(t, DefaultTargets, Default().Targets)
	require.Equal(t, Targets{CapturedMin: 0.60, FlaggedMin: 0.15, FlaggedMax: 0.25, WonRateMin: 0.20}, DefaultTargets)
	m, err := Parse([]byte(kindModel("event: A") + "targets: {captured_min: 0.7, flagged_max: 0.3}\n"))
	require.NoError(t, err)
	require.Equal(t, Targets{CapturedMin: 0.7, FlaggedMin: 0.15, FlaggedMax: 0.3, WonRateMin: 0.20}, m.Targets)
	plain, err := Parse([]byte(kindModel("event: A")))
	require.NoError(t, err)
	require.Equal(t, plain.Hash, m.Hash, "targets change no score, so not the hash")
}

// TestFreeEmailLookup: the indexed lookup matches the list's exact and
// any-top-level-domain entries, in any case, from an address too.
func TestFreeEmailLookup(t *testing.T) {
	for d, want := range map[string]bool{
		"GMX.co.uk": true, "bob@Yahoo.co.jp": true, "outlook.de.": true, " gmail.com ": true, "web.de": true,
		"notgmx.de": false, "gmx.": false, "mail.gmx.de": false, "gmail.com.evil.io": false, "bob@": false,
	} {
		require.Equal(t, want, IsFreeEmail(d), d)
	}
}
