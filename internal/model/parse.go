package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// FieldError is one problem in a model file, tied to the key path that holds
// it (routes[2].tier) and the line it is on.
type FieldError struct {
	Path string
	Line int
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// Errors is every problem Parse found, in file order, one per line.
type Errors []*FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// maxNodes bounds the work of walking a document, so aliases that expand
// exponentially ("billion laughs") cannot stall Parse.
const maxNodes = 100_000

// Parse validates and compiles a model. It reports every problem at once
// (an Errors value); on error the model is nil.
func Parse(data []byte) (*Model, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{Msg: "the model is empty"}}
		}
		return nil, Errors{{Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, Errors{{Line: extra.Line, Msg: "a model file holds one YAML document; found another after ---"}}
	}
	p := &parser{budget: maxNodes}
	m := p.model(&doc)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	m.hash()
	return m, nil
}

type parser struct {
	errs   Errors
	budget int
	// halted is set once the node budget runs out; later errors would be
	// noise.
	halted bool
}

func (p *parser) errorf(path string, n *yaml.Node, format string, args ...any) {
	if p.halted {
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &FieldError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and charges the node budget.
func (p *parser) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	p.budget--
	if p.budget == 0 {
		p.errorf("", n, "the document is too large or aliases expand too far")
		p.halted = true
	}
	if p.halted {
		return nil
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// fields reads a mapping, reporting unknown and repeated keys. Null values
// are treated as absent.
type fields struct {
	path  string
	node  *yaml.Node
	vals  map[string]*yaml.Node
	keys  map[string]*yaml.Node
	order []string
}

func (f *fields) get(key string) *yaml.Node { return f.vals[key] }

func (f *fields) has(key string) bool { return f.vals[key] != nil }

func (p *parser) mapping(path string, n *yaml.Node, allowed ...string) *fields {
	f := &fields{path: path, node: n, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if n == nil {
		return f
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(path, n, "must be a mapping (key: value), got %s", describe(n))
		return f
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.resolve(n.Content[i]), p.resolve(n.Content[i+1])
		if k == nil || v == nil {
			return f
		}
		if k.Kind != yaml.ScalarNode {
			p.errorf(path, k, "keys must be plain words, got %s", describe(k))
			continue
		}
		key := k.Value
		if prev, dup := f.keys[key]; dup {
			p.errorf(join(path, key), k, "repeated key (first at line %d)", prev.Line)
			continue
		}
		f.keys[key] = k
		if !contains(allowed, key) {
			msg := "unknown key"
			if s := suggest(key, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += " (allowed: " + strings.Join(allowed, ", ") + ")"
			}
			p.errorf(join(path, key), k, "%s", msg)
			continue
		}
		f.order = append(f.order, key)
		if !isNull(v) {
			f.vals[key] = v
		}
	}
	return f
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

// seq returns the items of a list (nil and an error for anything else).
func (p *parser) seq(path string, n *yaml.Node) []*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(path, n, "must be a list, got %s", describe(n))
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		r := p.resolve(c)
		if r == nil {
			return out
		}
		out = append(out, r)
	}
	return out
}

// str reads a non-empty string scalar; any scalar counts (version: 2026 is
// the text "2026").
func (p *parser) str(f *fields, key string, required bool) string {
	n := f.get(key)
	path := join(f.path, key)
	if n == nil {
		if required {
			p.errorf(path, f.node, "required")
		}
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(path, n, "must be text, got %s", describe(n))
		return ""
	}
	v := strings.TrimSpace(n.Value)
	if v == "" {
		p.errorf(path, n, "must not be empty")
	}
	return v
}

// integer reads a whole number.
func (p *parser) integer(f *fields, key string) (int, *yaml.Node, bool) {
	n := f.get(key)
	if n == nil {
		return 0, nil, false
	}
	var v int64
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil || v > math.MaxInt32 || v < math.MinInt32 {
		p.errorf(join(f.path, key), n, "must be a whole number, got %s", describe(n))
		return 0, n, false
	}
	return int(v), n, true
}

// positive reads a whole number > 0.
func (p *parser) positive(f *fields, key string) (int, bool) {
	v, n, ok := p.integer(f, key)
	if ok && v <= 0 {
		p.errorf(join(f.path, key), n, "must be a positive integer, got %d", v)
		return 0, false
	}
	return v, ok
}

// number reads an int or float.
func (p *parser) number(path string, n *yaml.Node) (float64, bool) {
	var v float64
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.errorf(path, n, "must be a number, got %s", describe(n))
		return 0, false
	}
	return v, true
}

// scalar reads a string, number or bool value (for eq, in, where).
func (p *parser) scalar(path string, n *yaml.Node) (any, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(path, n, "must be a text, number or true/false value, got %s", describe(n))
		return nil, false
	}
	switch n.Tag {
	case "!!int", "!!float":
		if v, ok := p.number(path, n); ok {
			return v, true
		}
		return nil, false
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			p.errorf(path, n, "must be true or false")
			return nil, false
		}
		return b, true
	case "!!str":
		return n.Value, true
	}
	p.errorf(path, n, "must be a text, number or true/false value, got a %s value", strings.TrimPrefix(n.Tag, "!!"))
	return nil, false
}

func (p *parser) boolean(f *fields, key string, def bool) bool {
	n := f.get(key)
	if n == nil {
		return def
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		p.errorf(join(f.path, key), n, "must be true or false, got %s", describe(n))
		return def
	}
	return b
}

func (p *parser) duration(f *fields, key string, def time.Duration) time.Duration {
	n := f.get(key)
	if n == nil {
		return def
	}
	path := join(f.path, key)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		p.errorf(path, n, "must be a duration like 4h, 24h or 14d, got %s", describe(n))
		return def
	}
	d, err := ParseDuration(n.Value)
	if err != nil {
		p.errorf(path, n, "must be a duration like 4h, 24h or 14d, got %q", n.Value)
		return def
	}
	if d <= 0 {
		p.errorf(path, n, "must be longer than zero")
		return def
	}
	return d
}

var topKeys = []string{
	"version", "recency_days", "gates", "signals", "hand_raisers", "tiers", "segments", "routes",
	"realert_after", "suppress", "disqualified_for", "sla_warn_at", "escalation_channel", "business_hours",
	"targets",
	"outcomes", "digest",
}

func (p *parser) model(doc *yaml.Node) *Model {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			p.errorf("", root, "the model is empty")
			return nil
		}
		root = root.Content[0]
	}
	root = p.resolve(root)
	if root == nil {
		return nil
	}
	if isNull(root) {
		p.errorf("", root, "the model is empty")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errorf("", root, "the model must be a mapping of keys (version:, signals:, ...), got %s", describe(root))
		return nil
	}
	f := p.mapping("", root, topKeys...)
	m := &Model{
		Version:         p.str(f, "version", true),
		RecencyDays:     DefaultRecencyDays,
		RealertAfter:    p.duration(f, "realert_after", DefaultRealertAfter),
		DisqualifiedFor: p.duration(f, "disqualified_for", DefaultDisqualifiedFor),
		SLAWarnAt:       DefaultSLAWarnAt,
	}
	if v, ok := p.positive(f, "recency_days"); ok {
		m.RecencyDays = v
	}
	for i, n := range p.seq("gates", f.get("gates")) {
		path := index("gates", i)
		gf := p.mapping(path, n, condKeys...)
		if c := p.condition(gf, true); c != nil {
			m.Gates = append(m.Gates, *c)
		}
	}
	for i, n := range p.seq("suppress", f.get("suppress")) {
		path := index("suppress", i)
		sf := p.mapping(path, n, condKeys...)
		if c := p.condition(sf, true); c != nil {
			m.Suppress = append(m.Suppress, *c)
		}
	}
	m.Signals = p.signals(f.get("signals"))
	m.HandRaisers = p.handRaisers(f.get("hand_raisers"))
	m.Tiers = p.tiers(f.get("tiers"))
	m.Segments = p.segments(f.get("segments"))
	m.Routes = p.routes(f.get("routes"), m)
	if n := f.get("sla_warn_at"); n != nil {
		if v, ok := p.number("sla_warn_at", n); ok {
			if v <= 0 || v >= 1 {
				p.errorf("sla_warn_at", n, "must be a share of the SLA between 0 and 1 (exclusive), like 0.75; got %s", n.Value)
			} else {
				m.SLAWarnAt = v
			}
		}
	}
	if f.has("escalation_channel") {
		m.EscalationChannel = p.channel(join("", "escalation_channel"), f.get("escalation_channel"))
	}
	if n := f.get("business_hours"); n != nil {
		m.BusinessHours = p.businessHours(n)
	}
	m.Targets = p.targets(f.get("targets"))
	if n := f.get("outcomes"); n != nil {
		m.Outcomes = p.outcomes(n)
	}
	if n := f.get("digest"); n != nil {
		m.Digest = p.digest(n)
	}
	if !f.has("tiers") && !f.has("hand_raisers") {
		p.errorf("tiers", root, "required: at least one tier (or hand_raisers), or no account can ever alert")
	}
	if len(m.Routes) == 0 && !f.has("routes") {
		p.errorf("routes", root, "required: at least one route, or no account can ever alert")
	}
	return m
}

var condKeys = []string{"trait", "gte", "lte", "eq", "in", "not_in"}

var condOps = []Op{OpGTE, OpLTE, OpEQ, OpIn, OpNotIn}

// condition reads trait + one operator from f. With required false and no
// trait or operator at all, it returns nil without error (a default
// segment).
func (p *parser) condition(f *fields, required bool) *Condition {
	var ops []Op
	for _, op := range condOps {
		if _, seen := f.keys[string(op)]; seen {
			ops = append(ops, op)
		}
	}
	_, hasTrait := f.keys["trait"]
	if !required && !hasTrait && len(ops) == 0 {
		return nil
	}
	c := &Condition{Trait: p.str(f, "trait", true)}
	switch len(ops) {
	case 0:
		p.errorf(f.path, f.node, "a trait condition needs one of gte, lte, eq, in, not_in")
		return nil
	case 1:
	default:
		names := make([]string, len(ops))
		for i, op := range ops {
			names[i] = string(op)
		}
		p.errorf(f.path, f.node, "use exactly one of gte, lte, eq, in, not_in (found %s)", strings.Join(names, ", "))
		return nil
	}
	c.Op = ops[0]
	path := join(f.path, string(c.Op))
	n := f.get(string(c.Op))
	if n == nil {
		p.errorf(path, f.keys[string(c.Op)], "needs a value")
		return nil
	}
	switch c.Op {
	case OpGTE, OpLTE:
		v, ok := p.number(path, n)
		if !ok {
			return nil
		}
		c.Number = v
	case OpEQ:
		v, ok := p.scalar(path, n)
		if !ok {
			return nil
		}
		c.Value = v
	case OpIn, OpNotIn:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			if n.Value != ListFreeEmail {
				p.errorf(path, n, "unknown list %q: the built-in list is %s; write literal values as a YAML list ([a, b])", n.Value, ListFreeEmail)
				return nil
			}
			c.List = ListFreeEmail
			break
		}
		items := p.seq(path, n)
		if n.Kind == yaml.SequenceNode && len(items) == 0 && !p.halted {
			p.errorf(path, n, "must list at least one value")
			return nil
		}
		for i, it := range items {
			v, ok := p.scalar(index(path, i), it)
			if !ok {
				return nil
			}
			c.Values = append(c.Values, v)
		}
		if c.Values == nil {
			return nil
		}
	}
	if c.Trait == "" {
		return nil
	}
	return c
}

var categories = []string{CategoryFit, CategoryUsage, CategoryIntent, CategoryNegative, CategoryVelocity}

func (p *parser) signals(n *yaml.Node) []Signal {
	var out []Signal
	seen := map[string]int{}
	for i, sn := range p.seq("signals", n) {
		path := index("signals", i)
		f := p.mapping(path, sn, signalKeys...)
		if sn.Kind != yaml.MappingNode {
			continue
		}
		s, ok := p.signal(f)
		if s.Name != "" {
			if j, dup := seen[s.Name]; dup {
				p.errorf(join(path, "name"), f.get("name"), "duplicate signal name %q (also signals[%d])", s.Name, j)
				ok = false
			}
			seen[s.Name] = i
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) where(path string, n *yaml.Node) map[string]any {
	if n.Kind != yaml.MappingNode {
		p.errorf(path, n, "must map property names to values, like {type: production_database}")
		return nil
	}
	out := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.resolve(n.Content[i]), p.resolve(n.Content[i+1])
		if k == nil || v == nil {
			return nil
		}
		if k.Kind != yaml.ScalarNode || strings.TrimSpace(k.Value) == "" {
			p.errorf(path, k, "property names must be plain text")
			continue
		}
		kp := join(path, k.Value)
		if _, dup := out[k.Value]; dup {
			p.errorf(kp, k, "repeated property")
			continue
		}
		if val, ok := p.scalar(kp, v); ok {
			out[k.Value] = val
		}
	}
	if len(n.Content) == 0 {
		p.errorf(path, n, "must name at least one property")
		return nil
	}
	return out
}

func (p *parser) handRaisers(n *yaml.Node) []string {
	var out []string
	seen := map[string]bool{}
	for i, it := range p.seq("hand_raisers", n) {
		path := index("hand_raisers", i)
		if it.Kind != yaml.ScalarNode || isNull(it) || strings.TrimSpace(it.Value) == "" {
			p.errorf(path, it, "must be an event name, got %s", describe(it))
			continue
		}
		name := strings.TrimSpace(it.Value)
		if seen[name] {
			p.errorf(path, it, "%q is listed twice", name)
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	return out
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (p *parser) tiers(n *yaml.Node) []Tier {
	var out []Tier
	seen := map[string]bool{}
	for i, tn := range p.seq("tiers", n) {
		path := index("tiers", i)
		f := p.mapping(path, tn, "name", "min_score")
		if tn.Kind != yaml.MappingNode {
			continue
		}
		t := Tier{Name: p.str(f, "name", true)}
		ok := t.Name != ""
		switch {
		case !ok:
		case t.Name == TierHandRaiser:
			p.errorf(join(path, "name"), f.get("name"), "%s is the built-in tier above all others; list its events under hand_raisers", TierHandRaiser)
			ok = false
		case !namePattern.MatchString(t.Name):
			p.errorf(join(path, "name"), f.get("name"), "tier names are single words (letters, digits, _ . -), got %q", t.Name)
			ok = false
		case seen[t.Name]:
			p.errorf(join(path, "name"), f.get("name"), "duplicate tier %q", t.Name)
			ok = false
		}
		seen[t.Name] = true
		ms, msn, has := p.integer(f, "min_score")
		if !has {
			if f.get("min_score") == nil {
				p.errorf(join(path, "min_score"), tn, "required")
			}
			ok = false
		}
		t.MinScore = ms
		if ok && len(out) > 0 {
			prev := out[len(out)-1]
			if t.MinScore >= prev.MinScore {
				p.errorf(join(path, "min_score"), msn,
					"tier %q can never match: tiers must be listed highest first with strictly descending min_score, and %q (min_score %d) comes before it",
					t.Name, prev.Name, prev.MinScore)
				ok = false
			}
		}
		if ok {
			out = append(out, t)
		}
	}
	return out
}

func (p *parser) segments(n *yaml.Node) []Segment {
	var out []Segment
	items := p.seq("segments", n)
	seen := map[string]bool{}
	for i, sn := range items {
		path := index("segments", i)
		f := p.mapping(path, sn, append([]string{"name"}, condKeys...)...)
		if sn.Kind != yaml.MappingNode {
			continue
		}
		s := Segment{Name: p.str(f, "name", true)}
		ok := s.Name != ""
		switch {
		case !ok:
		case !namePattern.MatchString(s.Name):
			p.errorf(join(path, "name"), f.get("name"), "segment names are single words (letters, digits, _ . -), got %q", s.Name)
			ok = false
		case seen[s.Name]:
			p.errorf(join(path, "name"), f.get("name"), "duplicate segment %q", s.Name)
			ok = false
		}
		seen[s.Name] = true
		before := len(p.errs)
		s.Cond = p.condition(f, false)
		if len(p.errs) != before {
			ok = false
		}
		last := i == len(items)-1
		if last && s.Cond != nil {
			p.errorf(path, sn, "the last segment is the default and must have no condition (add {name: other} after it)")
			ok = false
		}
		if !last && s.Cond == nil && ok {
			p.errorf(path, sn, "only the last segment may have no condition: %q matches every account, so the segments after it never match", s.Name)
			ok = false
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

var routeKeys = []string{"tier", "segment", "channel", "owner", "sla", "notify", "mention"}

func (p *parser) routes(n *yaml.Node, m *Model) []Route {
	var out []Route
	type key struct{ tier, seg string }
	// catchAll remembers, per tier, the first route that matches every
	// segment: routes for that tier after it are dead.
	catchAll := map[string]int{}
	seen := map[key]int{}
	for i, rn := range p.seq("routes", n) {
		path := index("routes", i)
		f := p.mapping(path, rn, routeKeys...)
		if rn.Kind != yaml.MappingNode {
			continue
		}
		before := len(p.errs)
		r := Route{
			Tier:    p.str(f, "tier", true),
			Segment: p.str(f, "segment", false),
			Owner:   p.str(f, "owner", false),
			SLA:     p.duration(f, "sla", DefaultSLA),
			Notify:  p.boolean(f, "notify", true),
			Mention: p.mention(join(path, "mention"), f.get("mention")),
		}
		if len(r.Mention) > 0 && !r.Notify {
			p.errorf(join(path, "mention"), f.get("mention"), "a route with notify: false posts nothing to mention anyone in")
		}
		if r.Tier != "" && r.Tier != TierHandRaiser && !hasTier(m.Tiers, r.Tier) && !p.tierHadError(r.Tier) {
			msg := fmt.Sprintf("unknown tier %q", r.Tier)
			names := []string{TierHandRaiser}
			for _, t := range m.Tiers {
				names = append(names, t.Name)
			}
			if s := suggest(r.Tier, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += " (tiers: " + strings.Join(names, ", ") + ")"
			}
			p.errorf(join(path, "tier"), f.get("tier"), "%s", msg)
		}
		if r.Tier == TierHandRaiser && len(m.HandRaisers) == 0 {
			p.errorf(join(path, "tier"), f.get("tier"), "routes the %s tier, but hand_raisers lists no events", TierHandRaiser)
		}
		if r.Segment != "" && !hasSegment(m.Segments, r.Segment) {
			msg := fmt.Sprintf("unknown segment %q", r.Segment)
			var names []string
			for _, s := range m.Segments {
				names = append(names, s.Name)
			}
			if s := suggest(r.Segment, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else if len(names) > 0 {
				msg += " (segments: " + strings.Join(names, ", ") + ")"
			} else {
				msg += " (the model defines no segments)"
			}
			p.errorf(join(path, "segment"), f.get("segment"), "%s", msg)
		}
		if cn, present := f.keys["channel"]; present {
			if vn := f.get("channel"); vn != nil {
				r.Channel = p.channel(join(path, "channel"), vn)
			} else {
				p.errorf(join(path, "channel"), cn, "empty channel (quote it: \"#name\" — an unquoted # starts a YAML comment)")
			}
		} else if r.Notify {
			p.errorf(join(path, "channel"), rn, "required: the channel alerts go to (\"#name\" or an id like C0123ABCD)")
		}
		if len(p.errs) == before && r.Tier != "" {
			if j, dead := catchAll[r.Tier]; dead {
				p.errorf(path, rn, "never matches: routes[%d] already takes every %s account", j, r.Tier)
			} else if j, dup := seen[key{r.Tier, r.Segment}]; dup {
				p.errorf(path, rn, "never matches: routes[%d] already takes tier %s segment %s", j, r.Tier, r.Segment)
			}
		}
		if len(p.errs) != before {
			continue
		}
		seen[key{r.Tier, r.Segment}] = i
		if r.Segment == "" {
			catchAll[r.Tier] = i
		}
		out = append(out, r)
	}
	return out
}

// tierHadError reports whether a tier of that name was defined but
// rejected, so a route naming it does not get a second, misleading error.
func (p *parser) tierHadError(name string) bool {
	for _, e := range p.errs {
		if strings.HasPrefix(e.Path, "tiers[") && strings.Contains(e.Msg, strconv.Quote(name)) {
			return true
		}
	}
	return false
}

func hasTier(ts []Tier, name string) bool {
	for _, t := range ts {
		if t.Name == name {
			return true
		}
	}
	return false
}

func hasSegment(ss []Segment, name string) bool {
	for _, s := range ss {
		if s.Name == name {
			return true
		}
	}
	return false
}

var (
	channelName = regexp.MustCompile(`^#[a-z0-9][a-z0-9._-]{0,79}$`)
	channelID   = regexp.MustCompile(`^[CG][A-Z0-9]{6,}$`)
)

func (p *parser) channel(path string, n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(path, n, "must be a channel, got %s", describe(n))
		return ""
	}
	c := strings.TrimSpace(n.Value)
	switch {
	case c == "":
		p.errorf(path, n, "empty channel")
		return ""
	case channelName.MatchString(c), channelID.MatchString(c):
		return c
	case strings.HasPrefix(c, "#"):
		p.errorf(path, n, "bad channel name %q: Slack channel names are lowercase letters, digits, - and _", c)
	default:
		p.errorf(path, n, "bad channel %q: use \"#name\" or a channel id like C0123ABCD", c)
	}
	return ""
}

var (
	userGroupID = regexp.MustCompile(`^S[A-Z0-9]{2,30}$`)
	userID      = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)
)

// mention reads a route's mention: a list of Slack user group ids (S…),
// user ids (U…, W…) or "here". Names ("@sales") are refused: plain text
// notifies nobody, and Slack mentions need the id.
func (p *parser) mention(path string, n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for i, it := range p.seq(path, n) {
		ip := index(path, i)
		if it.Kind != yaml.ScalarNode || isNull(it) {
			p.errorf(ip, it, "must be a user group id (S…), a user id (U… or W…) or here, got %s", describe(it))
			continue
		}
		v := strings.TrimSpace(it.Value)
		switch {
		case v == "here", userGroupID.MatchString(v), userID.MatchString(v):
		case v == "channel" || v == "everyone" || v == "@channel" || v == "@everyone":
			p.errorf(ip, it, "%q would notify the whole channel; use here (only active members) or a user group id", v)
			continue
		case v == "@here":
			p.errorf(ip, it, "write here without the @")
			continue
		case strings.HasPrefix(v, "@") || strings.HasPrefix(v, "<"):
			p.errorf(ip, it, "%q: mention by id, not by name: a user group id like S0123ABCD (Slack admin → User groups → copy ID) or a user id like U0123ABCD", v)
			continue
		default:
			p.errorf(ip, it, "%q is not a user group id (S…), a user id (U… or W…) or here", v)
			continue
		}
		if seen[v] {
			p.errorf(ip, it, "%q is listed twice", v)
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (p *parser) businessHours(n *yaml.Node) *BusinessHours {
	f := p.mapping("business_hours", n, "timezone", "days", "from", "to")
	if n.Kind != yaml.MappingNode {
		return nil
	}
	before := len(p.errs)
	bh := &BusinessHours{Timezone: p.str(f, "timezone", true)}
	if bh.Timezone != "" {
		loc, err := time.LoadLocation(bh.Timezone)
		if err != nil || strings.EqualFold(bh.Timezone, "local") {
			p.errorf("business_hours.timezone", f.get("timezone"), "unknown time zone %q (use an IANA name like America/New_York)", bh.Timezone)
		} else {
			bh.Location = loc
		}
	}
	if f.get("days") == nil {
		p.errorf("business_hours.days", n, "required, like [mon, tue, wed, thu, fri]")
	}
	seen := map[time.Weekday]bool{}
	for i, dn := range p.seq("business_hours.days", f.get("days")) {
		path := index("business_hours.days", i)
		d, ok := weekdays[strings.ToLower(strings.TrimSpace(dn.Value))]
		if dn.Kind != yaml.ScalarNode || !ok {
			p.errorf(path, dn, "unknown day %s (use mon, tue, wed, thu, fri, sat, sun)", describe(dn))
			continue
		}
		if seen[d] {
			p.errorf(path, dn, "%s is listed twice", weekdayNames[d])
			continue
		}
		seen[d] = true
		bh.Days = append(bh.Days, d)
	}
	if f.get("days") != nil && f.get("days").Kind == yaml.SequenceNode && len(bh.Days) == 0 && len(p.errs) == before {
		p.errorf("business_hours.days", f.get("days"), "must list at least one day")
	}
	sort.Slice(bh.Days, func(i, j int) bool { return bh.Days[i] < bh.Days[j] })
	from, okFrom := p.clock(f, "from")
	to, okTo := p.clock(f, "to")
	if okFrom && okTo && from >= to {
		p.errorf("business_hours.to", f.get("to"), "must be after from (%s); hours that cross midnight are not supported", clock(from))
	}
	bh.From, bh.To = from, to
	if len(p.errs) != before {
		return nil
	}
	return bh
}

var clockPattern = regexp.MustCompile(`^([01]?[0-9]|2[0-4]):([0-5][0-9])$`)

func (p *parser) clock(f *fields, key string) (int, bool) {
	path := join("business_hours", key)
	n := f.get(key)
	if n == nil {
		p.errorf(path, f.node, "required, like \"09:00\"")
		return 0, false
	}
	m := clockPattern.FindStringSubmatch(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || m == nil {
		p.errorf(path, n, "must be a time of day HH:MM in quotes, like \"09:00\"; got %s", describe(n))
		return 0, false
	}
	h, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	if h == 24 && mi != 0 {
		p.errorf(path, n, "must be at most 24:00")
		return 0, false
	}
	return h*60 + mi, true
}

// suggest returns the candidate closest to s when it is a plausible typo:
// at most two edits away, and fewer for short words.
func suggest(s string, candidates []string) string {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD == 0 || bestD > 2 || bestD > max(1, len(best)/3) {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and adjacent transpositions ("hgih" → "high" is
// one edit).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
