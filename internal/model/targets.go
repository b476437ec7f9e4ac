package model

import "go.yaml.in/yaml/v3"

// Targets are the validation bars a backtest holds a model to (SPEC §7):
// the seeds' rule before activating a model is that at least 60% of recent
// customers would have qualified, 15-25% of new accounts are flagged, and
// flagged accounts convert at 20% or more. Shares are fractions 0-1.
type Targets struct {
	CapturedMin float64 `json:"captured_min"`
	FlaggedMin  float64 `json:"flagged_min"`
	FlaggedMax  float64 `json:"flagged_max"`
	WonRateMin  float64 `json:"won_rate_min"`
}

// DefaultTargets are the seeds' figures, used for every target the model
// leaves out.
var DefaultTargets = Targets{CapturedMin: 0.60, FlaggedMin: 0.15, FlaggedMax: 0.25, WonRateMin: 0.20}

// targets reads the optional targets: mapping.
func (p *parser) targets(n *yaml.Node) Targets {
	t := DefaultTargets
	if n == nil {
		return t
	}
	f := p.mapping("targets", n, "captured_min", "flagged_min", "flagged_max", "won_rate_min")
	share := func(key string, into *float64) {
		vn := f.get(key)
		if vn == nil {
			return
		}
		path := join("targets", key)
		v, ok := p.number(path, vn)
		if !ok {
			return
		}
		if v < 0 || v > 1 {
			p.errorf(path, vn, "must be a share between 0 and 1, like 0.6 for 60%%; got %s", vn.Value)
			return
		}
		*into = v
	}
	share("captured_min", &t.CapturedMin)
	share("flagged_min", &t.FlaggedMin)
	share("flagged_max", &t.FlaggedMax)
	share("won_rate_min", &t.WonRateMin)
	if t.FlaggedMin > t.FlaggedMax {
		at := f.get("flagged_max")
		if at == nil {
			at = f.get("flagged_min")
		}
		p.errorf("targets.flagged_max", at, "must be at least flagged_min (%g); got %g", t.FlaggedMin, t.FlaggedMax)
	}
	return t
}
