package model

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Op is a trait comparison operator.
type Op string

// Trait operators, as spelled in the YAML.
const (
	OpGTE   Op = "gte"
	OpLTE   Op = "lte"
	OpEQ    Op = "eq"
	OpIn    Op = "in"
	OpNotIn Op = "not_in"
)

var opSymbols = map[Op]string{OpGTE: "≥", OpLTE: "≤", OpEQ: "=", OpIn: "in", OpNotIn: "not in"}

// ListFreeEmail names the built-in list of consumer email domains.
const ListFreeEmail = "free_email"

// Condition compares one account trait. Gates, suppress rules, segments and
// trait signals share it.
type Condition struct {
	Trait string `json:"trait"`
	Op    Op     `json:"op"`
	// Number is the bound for gte and lte.
	Number float64 `json:"number,omitempty"`
	// Value is the scalar for eq (string, float64 or bool).
	Value any `json:"value,omitempty"`
	// Values are the scalars for in and not_in, unless List is set.
	Values []any `json:"values,omitempty"`
	// List names a built-in list for in and not_in (only free_email).
	List string `json:"list,omitempty"`
}

// Wanted renders the right-hand side: "10", "free_email", "[paid, enterprise]".
func (c Condition) Wanted() string {
	switch c.Op {
	case OpGTE, OpLTE:
		return formatNumber(c.Number)
	case OpEQ:
		return FormatValue(c.Value)
	default:
		if c.List != "" {
			return c.List
		}
		parts := make([]string, len(c.Values))
		for i, v := range c.Values {
			parts[i] = FormatValue(v)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
}

// String renders the condition for people: "employees ≥ 10",
// "email_domain not in free_email".
func (c Condition) String() string {
	return c.Trait + " " + opSymbols[c.Op] + " " + c.Wanted()
}

// Match reports whether the trait value v satisfies the condition. present
// false (the trait is missing, or null) never matches, whatever the
// operator: an account we know nothing about must not pass a gate, and a
// not_in gate on a missing email domain fails too.
func (c Condition) Match(v any, present bool) bool {
	if !present || v == nil {
		return false
	}
	switch c.Op {
	case OpGTE, OpLTE:
		n, ok := AsNumber(v)
		if !ok {
			return false
		}
		if c.Op == OpGTE {
			return n >= c.Number
		}
		return n <= c.Number
	case OpEQ:
		return equalValues(v, c.Value)
	case OpIn, OpNotIn:
		in := c.contains(v)
		if c.Op == OpIn {
			return in
		}
		return !in
	}
	return false
}

func (c Condition) contains(v any) bool {
	if c.List == ListFreeEmail {
		s, ok := v.(string)
		return ok && IsFreeEmail(s)
	}
	for _, w := range c.Values {
		if equalValues(v, w) {
			return true
		}
	}
	return false
}

// AsNumber converts a trait value to a number: JSON numbers arrive as
// float64, but senders also send "250" as a string, which counts.
func AsNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n)
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// equalValues compares scalars the way a RevOps person would: numbers by
// value ("250" = 250), strings case-insensitively ("Paid" = "paid").
func equalValues(a, b any) bool {
	if na, ok := AsNumber(a); ok {
		if nb, ok := AsNumber(b); ok {
			return na == nb
		}
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(y))
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// FormatValue renders a trait or property value compactly.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case float64:
		return formatNumber(x)
	case bool:
		return strconv.FormatBool(x)
	}
	if n, ok := AsNumber(v); ok {
		return formatNumber(n)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// freeEmail lists consumer email domains. An entry ending in ".*" matches
// the name under any top-level or country domain (gmx.de, gmx.co.uk).
var freeEmail = []string{
	"gmail.com", "googlemail.com",
	"yahoo.*", "ymail.com", "rocketmail.com",
	"hotmail.*", "outlook.*", "live.*", "msn.com", "windowslive.com",
	"icloud.com", "me.com", "mac.com",
	"aol.com", "aim.com",
	"proton.me", "protonmail.com", "protonmail.ch", "pm.me",
	"gmx.*", "web.de", "t-online.de", "freenet.de",
	"mail.ru", "inbox.ru", "list.ru", "bk.ru", "yandex.*", "ya.ru", "rambler.ru",
	"qq.com", "163.com", "126.com", "sina.com", "sohu.com", "yeah.net", "foxmail.com",
	"naver.com", "daum.net", "hanmail.net",
	"mail.com", "email.com", "usa.com", "inbox.com",
	"fastmail.com", "fastmail.fm", "hey.com", "tutanota.com", "tuta.io", "zohomail.com",
	"libero.it", "virgilio.it", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr",
	"btinternet.com", "sky.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net",
	"rediffmail.com", "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "bigpond.com", "shaw.ca",
}

// FreeEmailDomains returns the built-in free_email list (a copy).
func FreeEmailDomains() []string { return append([]string(nil), freeEmail...) }

// freeExact and freeAny index freeEmail: exact domains, and the names that
// match under any top-level domain ("gmx" for "gmx.*"). Gates run on every
// evaluation of every account, so the check is two map lookups, not a scan.
var freeExact, freeAny = func() (map[string]bool, map[string]bool) {
	exact, anyTLD := map[string]bool{}, map[string]bool{}
	for _, e := range freeEmail {
		if base, ok := strings.CutSuffix(e, ".*"); ok {
			anyTLD[base] = true
		} else {
			exact[e] = true
		}
	}
	return exact, anyTLD
}()

// IsFreeEmail reports whether domain (or the domain of an email address) is
// a consumer email provider.
func IsFreeEmail(domain string) bool {
	d := strings.ToLower(strings.TrimSpace(domain))
	if i := strings.LastIndexByte(d, '@'); i >= 0 {
		d = d[i+1:]
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return false
	}
	if freeExact[d] {
		return true
	}
	base, rest, ok := strings.Cut(d, ".")
	return ok && rest != "" && freeAny[base]
}
