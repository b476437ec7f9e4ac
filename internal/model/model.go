// Package model parses, validates and compiles the declarative scoring model
// (SPEC §4): fit gates, signals, hand-raisers, tiers, segments, routes and the
// alerting and SLA settings that go with them.
//
// Validation happens once, in Parse: every problem is reported with the key
// path that holds it (signals[3].window_days: must be a positive integer), all
// problems at once, so `pqlbot model check` fixes a file in one round. After
// Parse the rest of the program trusts the Model and never re-checks it.
//
// Windows are counted in UTC calendar days: window_days N evaluated at now
// covers the N days ending with now's UTC day, so N=1 is "today" and an event
// exactly N×24h old is out. A signal without window_days looks at all history.
package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// TierHandRaiser is the built-in tier above every configured tier: an account
// is in it when one of the model's hand_raisers events happened within
// recency_days. Routes may name it; tiers may not redefine it.
const TierHandRaiser = "hand_raiser"

// Defaults applied when the model leaves a setting out.
const (
	DefaultRecencyDays     = 14
	DefaultRealertAfter    = 14 * 24 * time.Hour
	DefaultDisqualifiedFor = 90 * 24 * time.Hour
	DefaultSLA             = 24 * time.Hour
	DefaultSLAWarnAt       = 0.75
)

// Signal categories. A signal without a category gets one from its kind (see
// Parse), so the explanation can always group signals.
const (
	CategoryFit      = "fit"
	CategoryUsage    = "usage"
	CategoryIntent   = "intent"
	CategoryNegative = "negative"
	CategoryVelocity = "velocity"
)

// Bucket kinds, as stored in the daily roll-ups: track events and page views.
const (
	BucketTrack = "track"
	BucketPage  = "page"
)

// Model is a validated, compiled scoring model. Treat it as read-only: it is
// shared by every goroutine that scores.
type Model struct {
	// Version is the operator's label, stamped on every score and alert.
	Version string `json:"version"`
	// Hash is the hex SHA-256 of the normalised model (defaults filled in),
	// so two files that mean the same thing hash the same and any change
	// in meaning changes it, even when Version was not bumped.
	Hash string `json:"-"`

	RecencyDays       int            `json:"recency_days"`
	Gates             []Condition    `json:"gates"`
	Signals           []Signal       `json:"signals"`
	HandRaisers       []string       `json:"hand_raisers"`
	Tiers             []Tier         `json:"tiers"`
	Segments          []Segment      `json:"segments"`
	Routes            []Route        `json:"routes"`
	RealertAfter      time.Duration  `json:"realert_after"`
	Suppress          []Condition    `json:"suppress"`
	DisqualifiedFor   time.Duration  `json:"disqualified_for"`
	SLAWarnAt         float64        `json:"sla_warn_at"`
	EscalationChannel string         `json:"escalation_channel"`
	BusinessHours     *BusinessHours `json:"business_hours"`
	// Targets judge the model in backtests; they change no score, so they
	// are left out of the hash.
	Targets Targets `json:"-"`
	// Outcomes and Digest (nil when absent) say how the program is judged
	// and reported; like Targets they change no score, so they are left
	// out of the hash (outcome re-derivation hashes its own rules).
	Outcomes *Outcomes `json:"-"`
	Digest   *Digest   `json:"-"`
}

// Tier is a score band. Tiers are sorted by strictly descending MinScore.
type Tier struct {
	Name     string `json:"name"`
	MinScore int    `json:"min_score"`
}

// Segment sorts accounts for routing. The last segment has no condition and
// catches every account the others did not.
type Segment struct {
	Name string `json:"name"`
	// Cond is nil for the default (last) segment.
	Cond *Condition `json:"cond,omitempty"`
}

// Route says where alerts of a tier (and optionally a segment) go.
type Route struct {
	Tier string `json:"tier"`
	// Segment is empty when the route matches every segment.
	Segment string `json:"segment,omitempty"`
	// Channel is "#name" or a Slack channel id; empty only when Notify is
	// false.
	Channel string `json:"channel"`
	// Owner is free text naming the role that works the alert (AE, SDR).
	Owner string `json:"owner,omitempty"`
	// SLA is the time allowed from alert to first contact.
	SLA time.Duration `json:"sla"`
	// Notify false means the tier is tracked but never alerts.
	Notify bool `json:"notify"`
	// Mention lists who the alert post and its nudge mention: user group
	// ids (S…), user ids (U…, W…) or "here".
	Mention []string `json:"mention,omitempty"`
}

// BusinessHours limits when SLA clocks run.
type BusinessHours struct {
	Timezone string         `json:"timezone"`
	Location *time.Location `json:"-"`
	Days     []time.Weekday `json:"days"`
	// From and To are minutes after local midnight; From < To.
	From int `json:"from"`
	To   int `json:"to"`
}

// Load reads and parses the model file at path.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("model %s:\n%w", path, err)
	}
	return m, nil
}

// Route returns the first route for tier and segment: a route matches when
// its tier equals tier and it names no segment or names segment.
func (m *Model) Route(tier, segment string) (Route, bool) {
	for _, r := range m.Routes {
		if r.Tier == tier && (r.Segment == "" || r.Segment == segment) {
			return r, true
		}
	}
	return Route{}, false
}

// IsHandRaiser reports whether a track event named name is one of the
// model's hand-raisers: the re-scorer takes such an account without
// waiting out its debounce.
func (m *Model) IsHandRaiser(name string) bool {
	return slices.Contains(m.HandRaisers, name)
}

// TierRank orders tiers for "moved to a higher tier" decisions: hand_raiser
// is highest, then the configured tiers in order; a lower number is a higher
// tier. An unknown or empty tier ranks below all of them.
func (m *Model) TierRank(tier string) int {
	if tier == TierHandRaiser {
		return 0
	}
	for i, t := range m.Tiers {
		if t.Name == tier {
			return i + 1
		}
	}
	return len(m.Tiers) + 1
}

// Summary describes the model for `pqlbot model check`: version, hash, the
// counts of each section and one line per route.
func (m *Model) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model %s (sha256 %.12s)\n", m.Version, m.Hash)
	fmt.Fprintf(&b, "%s, %s, %s + %s, %s, %s, %s\n",
		plural(len(m.Gates), "gate"), plural(len(m.Signals), "signal"),
		plural(len(m.Tiers), "tier"), TierHandRaiser,
		plural(len(m.Segments), "segment"), plural(len(m.Routes), "route"),
		plural(len(m.Suppress), "suppress rule"))
	fmt.Fprintf(&b, "recency %d days, realert after %s, disqualified for %s, SLA nudge at %.0f%%\n",
		m.RecencyDays, FormatDuration(m.RealertAfter), FormatDuration(m.DisqualifiedFor), m.SLAWarnAt*100)
	tiers := []string{fmt.Sprintf("%s (%s)", TierHandRaiser, strings.Join(m.HandRaisers, ", "))}
	if len(m.HandRaisers) == 0 {
		tiers[0] = TierHandRaiser + " (no hand_raisers)"
	}
	for _, t := range m.Tiers {
		tiers = append(tiers, fmt.Sprintf("%s ≥ %d", t.Name, t.MinScore))
	}
	fmt.Fprintf(&b, "tiers: %s\n", strings.Join(tiers, ", "))
	if m.EscalationChannel != "" {
		fmt.Fprintf(&b, "escalation: %s\n", m.EscalationChannel)
	}
	if bh := m.BusinessHours; bh != nil {
		days := make([]string, len(bh.Days))
		for i, d := range bh.Days {
			days[i] = weekdayNames[d]
		}
		fmt.Fprintf(&b, "business hours: %s %s-%s %s\n", strings.Join(days, ","),
			clock(bh.From), clock(bh.To), bh.Timezone)
	}
	if o := m.Outcomes; o != nil {
		fmt.Fprintf(&b, "outcomes: %s, counted %d days after an alert\n", plural(len(o.Rules), "rule"), o.WindowDays)
		for _, r := range o.Rules {
			fmt.Fprintf(&b, "  %s\n", r)
		}
	}
	if d := m.Digest; d != nil {
		when := "Mondays"
		if d.Every == DigestMonthly {
			when = "the 1st of each month"
		}
		fmt.Fprintf(&b, "digest: %s, %s at %02d:00\n", d.Channel, when, DigestHour)
	}
	b.WriteString("routes:\n")
	for _, r := range m.Routes {
		match := r.Tier
		if r.Segment != "" {
			match += " / " + r.Segment
		}
		var what string
		if r.Notify {
			what = fmt.Sprintf("%-20s owner %-5s SLA %s", r.Channel, orDash(r.Owner), FormatDuration(r.SLA))
			if len(r.Mention) > 0 {
				what += " · mention " + strings.Join(r.Mention, " ")
			}
		} else {
			what = "no alert (notify: false)"
			if r.Channel != "" {
				what = fmt.Sprintf("%-20s no alert (notify: false)", r.Channel)
			}
		}
		fmt.Fprintf(&b, "  %-24s → %s\n", match, what)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

var weekdayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// hash fills m.Hash from the JSON form of the compiled model. encoding/json
// writes struct fields in declaration order and map keys sorted, so the
// bytes depend only on the model's meaning, not on the file's layout.
func (m *Model) hash() {
	b, err := json.Marshal(m)
	if err != nil {
		// Every field is a plain value; Marshal cannot fail on a model
		// that Parse built.
		panic(fmt.Sprintf("model: hash: %v", err))
	}
	sum := sha256.Sum256(b)
	m.Hash = hex.EncodeToString(sum[:])
}

// FactsSpec tells the fact loader what this model reads, so it loads only
// that: which daily series and how far back, the active-user window, the
// property-filtered series and the velocity window.
type FactsSpec struct {
	// Series lists every (kind, name) roll-up series a signal or the
	// hand-raiser check reads, with the days needed back from now's UTC
	// day (0: all history).
	Series []Series
	// UserDays is how many days of active users are needed (0: all history).
	UserDays int
	// Filters lists the signals with `where`; the loader fills
	// Facts.Filtered[Signal] from the raw events.
	Filters []Filter
	// VelocityDays, when > 0, asks additionally for every series, filter
	// and active user in the first VelocityDays UTC days of the account
	// (from the day of its first event).
	VelocityDays int
	// MaxDays is the longest finite window of any kind (recency included):
	// past it, time passing cannot change a score unless new events arrive.
	MaxDays int
}

// Series is one daily roll-up series.
type Series struct {
	Kind string // BucketTrack or BucketPage
	Name string
	Days int // 0: all history
	// Sums is true when a sum signal reads the series' property sums;
	// otherwise the loader may leave Bucket.Sums empty.
	Sums bool
}

// Filter is a property-filtered series for one signal.
type Filter struct {
	Signal string
	Kind   string
	Name   string
	Where  map[string]any
	Days   int // 0: all history
	// Sum is the property a sum signal adds up ("" for count signals).
	Sum string
}

// FactsSpec computes what the model needs loaded; see FactsSpec.
func (m *Model) FactsSpec() FactsSpec {
	spec := FactsSpec{MaxDays: m.RecencyDays}
	// needDays merges window requirements: 0 (all history) wins.
	needDays := func(cur int, have bool, w int) int {
		if !have {
			return w
		}
		if cur == 0 || w == 0 {
			return 0
		}
		return max(cur, w)
	}
	idx := map[[2]string]int{}
	addSeries := func(kind, name string, days int, sums bool) {
		k := [2]string{kind, name}
		if i, ok := idx[k]; ok {
			spec.Series[i].Days = needDays(spec.Series[i].Days, true, days)
			spec.Series[i].Sums = spec.Series[i].Sums || sums
			return
		}
		idx[k] = len(spec.Series)
		spec.Series = append(spec.Series, Series{Kind: kind, Name: name, Days: days, Sums: sums})
	}
	spec.UserDays = m.RecencyDays
	for _, s := range m.Signals {
		n := s.Rule.Needs()
		spec.MaxDays = max(spec.MaxDays, s.WindowDays, n.AfterSignup)
		switch {
		case n.Name != "" && len(n.Where) > 0:
			spec.Filters = append(spec.Filters, Filter{Signal: s.Name, Kind: n.Kind, Name: n.Name, Where: n.Where, Days: s.WindowDays, Sum: n.Sum})
		case n.Name != "":
			addSeries(n.Kind, n.Name, s.WindowDays, n.Sum != "")
		}
		if n.Users {
			spec.UserDays = needDays(spec.UserDays, true, s.WindowDays)
		}
		spec.VelocityDays = max(spec.VelocityDays, n.AfterSignup)
	}
	for _, h := range m.HandRaisers {
		addSeries(BucketTrack, h, m.RecencyDays, false)
	}
	slices.SortStableFunc(spec.Series, func(a, b Series) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return spec
}
