package model

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// OutcomeKind is what became of an account: the results a PQL program is
// judged by (SPEC §7).
type OutcomeKind string

// Outcome kinds, as spelled in the model, the CSV import and the store.
const (
	OutcomeWon         OutcomeKind = "won"
	OutcomeOpportunity OutcomeKind = "opportunity"
	OutcomeLost        OutcomeKind = "lost"
)

// OutcomeKinds lists every kind in the order the model and reports use.
func OutcomeKinds() []OutcomeKind {
	return []OutcomeKind{OutcomeWon, OutcomeOpportunity, OutcomeLost}
}

// ParseOutcomeKind reads a kind as written in a model or a CSV file.
func ParseOutcomeKind(s string) (OutcomeKind, bool) {
	for _, k := range OutcomeKinds() {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// DefaultOutcomeWindowDays is how long after an alert an outcome still
// counts for it when the model does not say.
const DefaultOutcomeWindowDays = 90

// Outcome sources a model rule can name. Each is one entry of
// outcomeSources below: adding a source is adding an entry there and its
// derivation in the store.
const (
	// SourceEvent: a track event of that name happened in the account.
	SourceEvent = "event"
	// SourceTrait: a group call changed the account trait to one of the
	// listed values (from a value not listed, or from nothing).
	SourceTrait = "trait"
)

// Outcomes is the model's `outcomes` section: which events and trait changes
// mean won, opportunity and lost, and how long after an alert a result
// still counts for it.
type Outcomes struct {
	// Rules in file order: won first, then opportunity, then lost.
	Rules []OutcomeRule `json:"rules"`
	// WindowDays: an outcome counts for an alert when it is dated at most
	// this many days after it (and not before it).
	WindowDays int `json:"window_days"`
}

// OutcomeRule is one entry of outcomes.won, .opportunity or .lost.
type OutcomeRule struct {
	Outcome OutcomeKind `json:"outcome"`
	Source  string      `json:"source"`
	// Event is the track event name (SourceEvent).
	Event string `json:"event,omitempty"`
	// Trait and Becomes are the account trait and the values that mean the
	// outcome (SourceTrait), compared as text: a JSON number 3 is "3".
	Trait   string   `json:"trait,omitempty"`
	Becomes []string `json:"becomes,omitempty"`
}

// String names the rule for people and logs: "won: event Order Completed".
func (r OutcomeRule) String() string {
	if r.Source == SourceTrait {
		return fmt.Sprintf("%s: %s becomes %s", r.Outcome, r.Trait, strings.Join(r.Becomes, " | "))
	}
	return fmt.Sprintf("%s: event %s", r.Outcome, r.Event)
}

// OutcomeWindowDays is outcomes.window_days, or the default when the model
// has no outcomes section (imported outcomes still need a window).
func (m *Model) OutcomeWindowDays() int {
	if m.Outcomes != nil && m.Outcomes.WindowDays > 0 {
		return m.Outcomes.WindowDays
	}
	return DefaultOutcomeWindowDays
}

// OutcomeRules returns the outcome rules (none without an outcomes section).
func (m *Model) OutcomeRules() []OutcomeRule {
	if m.Outcomes == nil {
		return nil
	}
	return m.Outcomes.Rules
}

// outcomeSource is one way a rule can recognise an outcome: the key that
// selects it, the other keys it takes, and how it reads them. A key the
// source does not declare is an error.
type outcomeSource struct {
	selector string
	keys     []string
	read     func(p *parser, f *fields, r *OutcomeRule)
}

var outcomeSources = []outcomeSource{
	{selector: SourceEvent, read: func(p *parser, f *fields, r *OutcomeRule) {
		r.Event = p.str(f, "event", true)
	}},
	{selector: SourceTrait, keys: []string{"becomes"}, read: func(p *parser, f *fields, r *OutcomeRule) {
		r.Trait = p.str(f, "trait", true)
		path := join(f.path, "becomes")
		n := f.get("becomes")
		if n == nil {
			p.errorf(path, f.node, "required: the values that mean the outcome, like [team, business]")
			return
		}
		items := p.seq(path, n)
		if n.Kind == yaml.SequenceNode && len(items) == 0 {
			p.errorf(path, n, "must list at least one value")
		}
		seen := map[string]bool{}
		for i, it := range items {
			v, ok := p.scalar(index(path, i), it)
			if !ok {
				continue
			}
			s := strings.TrimSpace(FormatValue(v))
			if _, isStr := v.(string); isStr {
				s = strings.TrimSpace(it.Value)
			}
			if s == "" || seen[s] {
				p.errorf(index(path, i), it, "empty or repeated value %q", s)
				continue
			}
			seen[s] = true
			r.Becomes = append(r.Becomes, s)
		}
	}},
}

func (p *parser) outcomes(n *yaml.Node) *Outcomes {
	f := p.mapping("outcomes", n, "won", "opportunity", "lost", "window_days")
	if n.Kind != yaml.MappingNode {
		return nil
	}
	o := &Outcomes{WindowDays: DefaultOutcomeWindowDays}
	if v, ok := p.positive(f, "window_days"); ok {
		o.WindowDays = v
	}
	type key struct{ source, name string }
	seen := map[key]string{}
	for _, kind := range OutcomeKinds() {
		list := join("outcomes", string(kind))
		for i, rn := range p.seq(list, f.get(string(kind))) {
			path := index(list, i)
			r, ok := p.outcomeRule(path, rn, kind)
			if !ok {
				continue
			}
			k := key{r.Source, r.Event + r.Trait}
			if r.Source == SourceEvent {
				if prev, dup := seen[k]; dup {
					p.errorf(path, rn, "event %q already means an outcome (%s)", r.Event, prev)
					continue
				}
				seen[k] = path
			}
			o.Rules = append(o.Rules, r)
		}
	}
	return o
}

func (p *parser) outcomeRule(path string, n *yaml.Node, kind OutcomeKind) (OutcomeRule, bool) {
	allowed := []string{}
	var names []string
	for _, s := range outcomeSources {
		allowed = append(allowed, s.selector)
		allowed = append(allowed, s.keys...)
		names = append(names, s.selector)
	}
	f := p.mapping(path, n, allowed...)
	if n.Kind != yaml.MappingNode {
		return OutcomeRule{}, false
	}
	before := len(p.errs)
	var picked []outcomeSource
	for _, s := range outcomeSources {
		if _, ok := f.keys[s.selector]; ok {
			picked = append(picked, s)
		}
	}
	if len(picked) != 1 {
		p.errorf(path, n, "an outcome rule takes exactly one of %s, like {event: Order Completed} or {trait: plan, becomes: [team]}", strings.Join(names, ", "))
		return OutcomeRule{}, false
	}
	src := picked[0]
	for _, k := range f.order {
		if k != src.selector && !contains(src.keys, k) {
			p.errorf(join(path, k), f.keys[k], "not used by %s rules", src.selector)
		}
	}
	r := OutcomeRule{Outcome: kind, Source: src.selector}
	src.read(p, f, &r)
	return r, len(p.errs) == before
}

// Digest schedules: the program figures are posted once a week (Monday) or
// once a month (the 1st), at DigestHour in the business-hours time zone.
const (
	DigestWeekly  = "week"
	DigestMonthly = "month"
	DigestHour    = 9
)

// Digest is the model's `digest` section.
type Digest struct {
	Channel string `json:"channel"`
	Every   string `json:"every"`
}

func (p *parser) digest(n *yaml.Node) *Digest {
	f := p.mapping("digest", n, "channel", "every")
	if n.Kind != yaml.MappingNode {
		return nil
	}
	before := len(p.errs)
	d := &Digest{}
	if cn := f.get("channel"); cn != nil {
		d.Channel = p.channel("digest.channel", cn)
	} else {
		p.errorf("digest.channel", n, "required: the channel the figures go to (\"#name\" or an id like C0123ABCD)")
	}
	d.Every = p.str(f, "every", true)
	if d.Every != "" && d.Every != DigestWeekly && d.Every != DigestMonthly {
		p.errorf("digest.every", f.get("every"), "must be %s (Mondays) or %s (the 1st), got %q", DigestWeekly, DigestMonthly, d.Every)
	}
	if len(p.errs) != before {
		return nil
	}
	return d
}
