package model

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata file name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -update")
	require.Equal(t, string(want), got)
}

func TestExampleIsTheSpecExample(t *testing.T) {
	spec, err := os.ReadFile("../../../shared/SPEC.md")
	if err != nil {
		t.Skip("SPEC.md not available outside the workspace")
	}
	s := string(spec)
	start := strings.Index(s, "```yaml\n")
	require.GreaterOrEqual(t, start, 0)
	s = s[start+len("```yaml\n"):]
	end := strings.Index(s, "```")
	require.Equal(t, s[:end], string(exampleYAML))
}

func TestDefault(t *testing.T) {
	m := Default()
	require.Equal(t, "2026-q4", m.Version)
	require.Len(t, m.Hash, 64)
	require.Equal(t, 14, m.RecencyDays)
	require.Equal(t, []Condition{
		{Trait: "employees", Op: OpGTE, Number: 10},
		{Trait: "email_domain", Op: OpNotIn, List: ListFreeEmail},
	}, m.Gates)
	require.Len(t, m.Signals, 9)
	require.Equal(t, Signal{Name: "Core workflow completed", Category: "usage", Points: 25, WindowDays: 7,
		Rule: &CountRule{BucketKind: BucketTrack, Event: "Workflow Completed", MinCount: 3}}, m.Signals[0])
	require.Equal(t, Signal{Name: "Pricing page 2+ visits", Category: "intent", Points: 20, WindowDays: 7,
		Rule: &CountRule{BucketKind: BucketPage, Event: "Pricing", MinCount: 2}}, m.Signals[2])
	require.Equal(t, Signal{Name: "Crossed 100 records", Category: "usage", Points: 15, WindowDays: 30,
		Rule: &SumRule{BucketKind: BucketTrack, Event: "Records Imported", Sum: "records", MinSum: 100}}, m.Signals[3])
	require.Equal(t, Signal{Name: "Production integration", Category: "usage", Points: 10,
		Rule: &CountRule{BucketKind: BucketTrack, Event: "Integration Connected", MinCount: 1, Where: map[string]any{"type": "production_database"}}}, m.Signals[4])
	require.Equal(t, Signal{Name: "3+ active users", Category: "usage", Points: 10, WindowDays: 7, Rule: &DistinctUsersRule{Min: 3}}, m.Signals[5])
	require.Equal(t, Signal{Name: "Target company size", Category: "fit", Points: 10,
		Rule: &TraitRule{Cond: &Condition{Trait: "employees", Op: OpGTE, Number: 50}}}, m.Signals[6])
	require.Equal(t, -15, m.Signals[7].Points)
	require.Equal(t, Signal{Name: "Fast start", Category: "velocity", Points: 10,
		Rule: &VelocityRule{Velocity: Velocity{Days: 3, MinScore: 50}}}, m.Signals[8])
	for i, kind := range []SignalKind{KindCount, KindCount, KindCount, KindSum, KindCount, KindDistinctUsers, KindTrait, KindCount, KindVelocity} {
		require.Equal(t, kind, m.Signals[i].Kind(), m.Signals[i].Name)
	}
	require.Equal(t, []string{"Demo Requested", "Upgrade Started", "Sales Contact Requested"}, m.HandRaisers)
	require.Equal(t, []Tier{{"high", 70}, {"mid", 50}, {"low", 0}}, m.Tiers)
	require.Equal(t, []Segment{
		{Name: "enterprise", Cond: &Condition{Trait: "employees", Op: OpGTE, Number: 500}},
		{Name: "mid_market", Cond: &Condition{Trait: "employees", Op: OpGTE, Number: 50}},
		{Name: "smb"},
	}, m.Segments)
	require.Equal(t, []Route{
		{Tier: "hand_raiser", Channel: "#ae-hand-raisers", Owner: "AE", SLA: 4 * time.Hour, Notify: true},
		{Tier: "high", Segment: "enterprise", Channel: "#ae-enterprise", Owner: "AE", SLA: 24 * time.Hour, Notify: true},
		{Tier: "high", Channel: "#sdr-pql", Owner: "SDR", SLA: 24 * time.Hour, Notify: true},
		{Tier: "mid", Channel: "#pql-nurture", SLA: 24 * time.Hour, Notify: false},
	}, m.Routes)
	require.Equal(t, 14*24*time.Hour, m.RealertAfter)
	require.Equal(t, []Condition{{Trait: "plan", Op: OpIn, Values: []any{"paid", "enterprise"}}}, m.Suppress)
	require.Equal(t, 90*24*time.Hour, m.DisqualifiedFor)
	require.Equal(t, 0.75, m.SLAWarnAt)
	require.Equal(t, "#sales-managers", m.EscalationChannel)
	require.NotNil(t, m.BusinessHours)
	require.Equal(t, "America/New_York", m.BusinessHours.Location.String())
	require.Equal(t, []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, m.BusinessHours.Days)
	require.Equal(t, 9*60, m.BusinessHours.From)
	require.Equal(t, 18*60, m.BusinessHours.To)

	require.NotSame(t, Default(), m, "each call returns its own copy")
	require.Equal(t, Default().Hash, m.Hash)
}

func TestDefaults(t *testing.T) {
	m, err := Parse([]byte("version: v\ntiers: [{name: a, min_score: 1}]\nroutes: [{tier: a, channel: '#a'}]\n"))
	require.NoError(t, err)
	require.Equal(t, DefaultRecencyDays, m.RecencyDays)
	require.Equal(t, DefaultRealertAfter, m.RealertAfter)
	require.Equal(t, DefaultDisqualifiedFor, m.DisqualifiedFor)
	require.Equal(t, DefaultSLAWarnAt, m.SLAWarnAt)
	require.Equal(t, DefaultSLA, m.Routes[0].SLA)
	require.True(t, m.Routes[0].Notify)
	require.Nil(t, m.BusinessHours)
}

func TestGoodFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			m, err := Load(file)
			require.NoError(t, err)
			golden(t, "good/"+name+".summary", m.Summary())
		})
	}
}

func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			require.NoError(t, err)
			m, err := Parse(b)
			require.Error(t, err)
			require.Nil(t, m)
			var errs Errors
			require.True(t, errors.As(err, &errs))
			require.NotEmpty(t, errs)
			golden(t, "bad/"+name+".err", err.Error()+"\n")
		})
	}
}

func TestErrorsNamePaths(t *testing.T) {
	// The exact phrasings operators see for the common mistakes.
	base := "version: v\nsignals: [{name: s, event: E, points: 1}]\ntiers: [{name: high, min_score: 70}, {name: low, min_score: 0}]\nsegments: [{name: big, trait: employees, gte: 500}, {name: small}]\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"window", "version: v\nsignals: [{name: a, event: A, points: 1}, {name: b, event: B, points: 1}, {name: c, event: C, points: 1}, {name: d, event: D, window_days: 0, points: 1}]\ntiers: [{name: a, min_score: 1}]\nroutes: [{tier: a, channel: '#a'}]\n",
			"signals[3].window_days: must be a positive integer, got 0 (line 2)"},
		{"tier typo", base + "routes: [{tier: high, channel: '#a'}, {tier: low, channel: '#b'}, {tier: hgih, channel: '#c'}]\n",
			`routes[2].tier: unknown tier "hgih" (did you mean high?) (line 5)`},
		{"segment", base + "routes: [{tier: high, channel: '#a'}, {tier: high, segment: medium, channel: '#b'}]\n",
			`routes[1].segment: unknown segment "medium" (segments: big, small) (line 5)`},
		{"empty channel", base + "routes: [{tier: high, channel: ''}]\n",
			`routes[0].channel: empty channel (line 5)`},
		{"unquoted channel", base + "routes:\n  - tier: high\n    channel: #sales\n",
			`routes[0].channel: empty channel (quote it: "#name" — an unquoted # starts a YAML comment) (line 7)`},
		{"unknown top key", base + "routes: [{tier: high, channel: '#a'}]\nrecency_dayz: 3\n",
			`recency_dayz: unknown key (did you mean recency_days?) (line 6)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			require.Error(t, err)
			require.Equal(t, tt.want, err.Error())
		})
	}
}

func TestCollectsAllErrors(t *testing.T) {
	b, err := os.ReadFile("testdata/bad/signals.yaml")
	require.NoError(t, err)
	_, err = Parse(b)
	var errs Errors
	require.True(t, errors.As(err, &errs))
	require.Greater(t, len(errs), 10, "every broken signal is reported, not just the first")
	var fe *FieldError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "signals[0]", fe.Path)
}

func TestRoute(t *testing.T) {
	m := Default()
	tests := []struct {
		tier, segment string
		channel       string
		ok            bool
	}{
		{"hand_raiser", "smb", "#ae-hand-raisers", true},
		{"hand_raiser", "enterprise", "#ae-hand-raisers", true},
		{"high", "enterprise", "#ae-enterprise", true},
		{"high", "mid_market", "#sdr-pql", true},
		{"high", "smb", "#sdr-pql", true},
		{"mid", "enterprise", "#pql-nurture", true},
		{"low", "smb", "", false},
		{"", "smb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.tier+"/"+tt.segment, func(t *testing.T) {
			r, ok := m.Route(tt.tier, tt.segment)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.channel, r.Channel)
		})
	}
	r, _ := m.Route("mid", "smb")
	require.False(t, r.Notify)
}

func TestTierRank(t *testing.T) {
	m := Default()
	require.Less(t, m.TierRank("hand_raiser"), m.TierRank("high"))
	require.Less(t, m.TierRank("high"), m.TierRank("mid"))
	require.Less(t, m.TierRank("mid"), m.TierRank("low"))
	require.Less(t, m.TierRank("low"), m.TierRank(""))
	require.Equal(t, m.TierRank(""), m.TierRank("nope"))
}

func TestHash(t *testing.T) {
	a := Default()
	// Same meaning, different layout, comments and explicit defaults.
	reformatted := strings.ReplaceAll(string(exampleYAML), "# stamped on every score and alert", "")
	reformatted = strings.Replace(reformatted, "{tier: high, channel: \"#sdr-pql\", owner: SDR, sla: 24h}",
		"{owner: SDR, channel: \"#sdr-pql\", tier: high, notify: true}", 1)
	b, err := Parse([]byte(reformatted))
	require.NoError(t, err)
	require.Equal(t, a.Hash, b.Hash)

	changed, err := Parse([]byte(strings.Replace(string(exampleYAML), "points: 25", "points: 26", 1)))
	require.NoError(t, err)
	require.NotEqual(t, a.Hash, changed.Hash)
	require.Equal(t, a.Version, changed.Version, "the hash catches changes the version label missed")
}

func TestFactsSpec(t *testing.T) {
	spec := Default().FactsSpec()
	require.Equal(t, []Series{
		{Kind: "page", Name: "Pricing", Days: 7},
		{Kind: "track", Name: "Demo Requested", Days: 14},
		{Kind: "track", Name: "Records Imported", Days: 30, Sums: true},
		{Kind: "track", Name: "Sales Contact Requested", Days: 14},
		{Kind: "track", Name: "Teammate Invited", Days: 14},
		{Kind: "track", Name: "Ticket Opened", Days: 7},
		{Kind: "track", Name: "Upgrade Started", Days: 14},
		{Kind: "track", Name: "Workflow Completed", Days: 7},
	}, spec.Series)
	require.Equal(t, 14, spec.UserDays)
	require.Equal(t, []Filter{{Signal: "Production integration", Kind: "track", Name: "Integration Connected",
		Where: map[string]any{"type": "production_database"}}}, spec.Filters)
	require.Equal(t, 3, spec.VelocityDays)
	require.Equal(t, 30, spec.MaxDays)

	// An all-history signal on a series wins over a windowed one, and an
	// all-history distinct_users asks for every active user.
	m, err := Parse([]byte(`version: v
signals:
  - {name: a, event: X, window_days: 7, points: 1}
  - {name: b, event: X, points: 1}
  - {name: c, distinct_users: 2, points: 1}
tiers: [{name: t, min_score: 1}]
routes: [{tier: t, channel: "#a"}]
`))
	require.NoError(t, err)
	spec = m.FactsSpec()
	require.Equal(t, []Series{{Kind: "track", Name: "X", Days: 0}}, spec.Series)
	require.Equal(t, 0, spec.UserDays)
	require.Equal(t, 14, spec.MaxDays)
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"24h", 24 * time.Hour, false},
		{"4h", 4 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"14d", 14 * 24 * time.Hour, false},
		{"90d", 90 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"0d", 0, false},
		{"", 0, true},
		{"1.5d", 0, true},
		{"-1d", 0, true},
		{"-4h", 0, true},
		{"d", 0, true},
		{"2 weeks", 0, true},
		{"14", 0, true},
		{"1dd", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		4 * time.Hour:                "4h",
		24 * time.Hour:               "24h",
		36 * time.Hour:               "36h",
		14 * 24 * time.Hour:          "14d",
		2*time.Hour + 30*time.Minute: "2h30m",
		90 * time.Second:             "1m30s",
	} {
		require.Equal(t, want, FormatDuration(d))
	}
}

func TestConditionMatch(t *testing.T) {
	gte := Condition{Trait: "employees", Op: OpGTE, Number: 10}
	lte := Condition{Trait: "employees", Op: OpLTE, Number: 10}
	eq := Condition{Trait: "plan", Op: OpEQ, Value: "trial"}
	eqNum := Condition{Trait: "seats", Op: OpEQ, Value: 5.0}
	eqBool := Condition{Trait: "test", Op: OpEQ, Value: true}
	in := Condition{Trait: "plan", Op: OpIn, Values: []any{"paid", "enterprise"}}
	notIn := Condition{Trait: "plan", Op: OpNotIn, Values: []any{"paid", "enterprise"}}
	free := Condition{Trait: "email_domain", Op: OpNotIn, List: ListFreeEmail}
	isFree := Condition{Trait: "email_domain", Op: OpIn, List: ListFreeEmail}
	tests := []struct {
		name    string
		c       Condition
		v       any
		present bool
		want    bool
	}{
		{"gte above", gte, 250.0, true, true},
		{"gte equal", gte, 10.0, true, true},
		{"gte below", gte, 9.0, true, false},
		{"gte numeric string", gte, "250", true, true},
		{"gte padded string", gte, " 10 ", true, true},
		{"gte small string", gte, "9", true, false},
		{"gte int", gte, 12, true, true},
		{"gte text", gte, "lots", true, false},
		{"gte bool", gte, true, true, false},
		{"gte missing", gte, nil, false, false},
		{"gte null", gte, nil, true, false},
		{"lte below", lte, 3.0, true, true},
		{"lte equal", lte, "10", true, true},
		{"lte above", lte, 11.0, true, false},
		{"lte missing", lte, nil, false, false},
		{"eq same", eq, "trial", true, true},
		{"eq case", eq, "Trial", true, true},
		{"eq other", eq, "paid", true, false},
		{"eq number as string", eqNum, "5", true, true},
		{"eq number", eqNum, 5.0, true, true},
		{"eq number other", eqNum, 6.0, true, false},
		{"eq bool", eqBool, true, true, true},
		{"eq bool false", eqBool, false, true, false},
		{"eq bool vs string", eqBool, "true", true, false},
		{"eq missing", eq, nil, false, false},
		{"in member", in, "paid", true, true},
		{"in member case", in, "Enterprise", true, true},
		{"in not member", in, "trial", true, false},
		{"in missing", in, nil, false, false},
		{"not_in member", notIn, "paid", true, false},
		{"not_in not member", notIn, "trial", true, true},
		{"not_in missing fails", notIn, nil, false, false},
		{"free_email gmail", free, "gmail.com", true, false},
		{"free_email upper", free, "GMail.com", true, false},
		{"free_email gmx.de", free, "gmx.de", true, false},
		{"free_email yandex.ru", free, "yandex.ru", true, false},
		{"free_email full address", free, "bob@hotmail.co.uk", true, false},
		{"free_email company", free, "acme.com", true, true},
		{"free_email lookalike", free, "gmail.company.com", true, true},
		{"free_email missing fails", free, nil, false, false},
		{"in free_email", isFree, "proton.me", true, true},
		{"in free_email company", isFree, "acme.io", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.c.Match(tt.v, tt.present))
		})
	}
}

func TestConditionString(t *testing.T) {
	require.Equal(t, "employees ≥ 10", Condition{Trait: "employees", Op: OpGTE, Number: 10}.String())
	require.Equal(t, "employees ≤ 2.5", Condition{Trait: "employees", Op: OpLTE, Number: 2.5}.String())
	require.Equal(t, "email_domain not in free_email", Condition{Trait: "email_domain", Op: OpNotIn, List: ListFreeEmail}.String())
	require.Equal(t, "plan in [paid, enterprise]", Condition{Trait: "plan", Op: OpIn, Values: []any{"paid", "enterprise"}}.String())
	require.Equal(t, "test = true", Condition{Trait: "test", Op: OpEQ, Value: true}.String())
}

func TestFreeEmailList(t *testing.T) {
	list := FreeEmailDomains()
	require.GreaterOrEqual(t, len(list), 40)
	for _, d := range []string{"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com",
		"proton.me", "protonmail.com", "gmx.net", "mail.ru", "yandex.com", "qq.com", "163.com", "live.com", "msn.com", "me.com"} {
		require.True(t, IsFreeEmail(d), d)
	}
	for _, d := range []string{"", "acme.com", "gmx", "yahoo", "mail.acme.com", "example.org"} {
		require.False(t, IsFreeEmail(d), d)
	}
}

func TestAliasBomb(t *testing.T) {
	// Exponentially expanding aliases must not stall Parse.
	var b strings.Builder
	b.WriteString("version: v\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	b.WriteString("signals:\n")
	for i := 0; i < 2000; i++ {
		b.WriteString("  - {name: s, trait: t, in: *a0, points: 1}\n")
	}
	start := time.Now()
	_, err := Parse([]byte(b.String()))
	require.Error(t, err)
	require.Less(t, time.Since(start), 5*time.Second)
}
