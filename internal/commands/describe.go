package commands

import (
	"strings"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// A gate's stored text names model keys (`email_domain not in
// free_email`): right for whoever writes the model, opaque to a rep. These
// functions say conditions in a rep's words. They are pure and read only
// the model and the stored result, so a lookup and the terminal say exactly
// the same. (Signal details are already words: each signal kind writes its
// own, in internal/model.)

// traitWords is a trait as a rep names it.
func traitWords(t string) string {
	switch t {
	case "email_domain":
		return "email domain"
	case "employees":
		return "employees"
	}
	return strings.ReplaceAll(t, "_", " ")
}

// valueWords is a value as a rep reads it: underscores become spaces
// (production_database → production database).
func valueWords(v any) string {
	return strings.ReplaceAll(model.FormatValue(v), "_", " ")
}

func valuesWords(c model.Condition) string {
	vs := make([]string, len(c.Values))
	for i, v := range c.Values {
		vs[i] = valueWords(v)
	}
	switch len(vs) {
	case 0:
		return "nothing"
	case 1:
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// conditionWords says a trait condition as a requirement: "at least 10
// employees", "a work email domain (not a free email provider)", "plan is
// paid or enterprise".
func conditionWords(c model.Condition) string {
	t := traitWords(c.Trait)
	switch c.Op {
	case model.OpGTE:
		return "at least " + model.FormatValue(c.Number) + " " + t
	case model.OpLTE:
		return "at most " + model.FormatValue(c.Number) + " " + t
	case model.OpEQ:
		return t + " is " + valueWords(c.Value)
	case model.OpIn:
		if c.List == model.ListFreeEmail {
			return "a free email provider as " + t
		}
		return t + " is " + valuesWords(c)
	case model.OpNotIn:
		if c.List == model.ListFreeEmail {
			return "a work " + t + " (not a free email provider)"
		}
		return t + " is not " + valuesWords(c)
	}
	return c.String()
}

// actualWords says what the account has for a trait: "has 4", "gmail.com",
// "not known".
func actualWords(trait string, v any, present bool) string {
	if !present || v == nil {
		return traitWords(trait) + " not known"
	}
	if _, isNum := model.AsNumber(v); isNum {
		return "has " + model.FormatValue(v)
	}
	return "is " + valueWords(v)
}

// gateWords describes a fit gate and how the account stands against it:
// ("a work email domain (not a free email provider)", "gmail.com is a free
// email provider").
func gateWords(g scoring.GateResult, m *model.Model) (name, detail string) {
	c, ok := gateCondition(g, m)
	if !ok {
		return g.Text, ""
	}
	name = conditionWords(c)
	switch {
	case !g.Present || g.Actual == nil:
		detail = traitWords(g.Trait) + " not known"
	case c.List == model.ListFreeEmail && !g.Passed:
		detail = model.FormatValue(g.Actual) + " is a free email provider"
	default:
		detail = actualWords(g.Trait, g.Actual, true)
	}
	return name, detail
}

// gateCondition finds the model's gate a stored result refers to.
func gateCondition(g scoring.GateResult, m *model.Model) (model.Condition, bool) {
	for _, c := range m.Gates {
		if c.Trait == g.Trait && c.Op == g.Op && c.Wanted() == g.Wanted {
			return c, true
		}
	}
	return model.Condition{}, false
}
