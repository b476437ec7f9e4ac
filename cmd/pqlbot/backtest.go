package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/pqlbot/pqlbot/internal/backtest"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/store"
)

const backtestUsage = `usage: pqlbot backtest [--model FILE] [--compare FILE] [--days 90] [--as-of YYYY-MM-DD] [--sweep] [--json] [--check]

Replays stored history day by day through the model (no look-ahead) and
measures it against recorded outcomes (SPEC §7).

  --model FILE     the model to test (default: PQLBOT_MODEL_FILE, else the built-in example)
  --compare FILE   a candidate model, shown side by side, with the accounts that would newly flag or stop flagging
  --days N         the window: N days ending with --as-of (default 90)
  --as-of DATE     the window's last UTC day (default: today)
  --sweep          try the highest alerting tier's min_score from 30 to 100 by 10
  --json           print the report as one JSON document
  --check          exit 1 when the model (--model) misses a target
`

// cmdBacktest is `pqlbot backtest`.
func cmdBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	modelFile := fs.String("model", "", "")
	compareFile := fs.String("compare", "", "")
	days := fs.Int("days", 90, "")
	asOfText := fs.String("as-of", "", "")
	sweep := fs.Bool("sweep", false, "")
	asJSON := fs.Bool("json", false, "")
	check := fs.Bool("check", false, "")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, backtestUsage)
			return 0
		}
		fmt.Fprintf(stderr, "pqlbot backtest: %v\n%s", err, backtestUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pqlbot backtest: unexpected argument %q\n%s", fs.Arg(0), backtestUsage)
		return 2
	}
	if *days < 1 || *days > 3660 {
		fmt.Fprintf(stderr, "pqlbot backtest: --days must be between 1 and 3660, got %d\n", *days)
		return 2
	}
	asOf := time.Now().UTC()
	if *asOfText != "" {
		t, err := time.Parse(time.DateOnly, *asOfText)
		if err != nil {
			fmt.Fprintf(stderr, "pqlbot backtest: --as-of must be a date like 2026-11-30, got %q\n", *asOfText)
			return 2
		}
		asOf = t
	}

	cfg, st, err := openStore(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	var m *model.Model
	if *modelFile != "" {
		m, err = model.Load(*modelFile)
	} else {
		m, err = loadModel(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	opt := backtest.Options{AsOf: asOf, Days: *days, OutcomeWindowDays: m.OutcomeWindowDays(), Sweep: *sweep}
	if *compareFile != "" {
		if opt.Compare, err = model.Load(*compareFile); err != nil {
			fmt.Fprintf(stderr, "pqlbot: --compare: %v\n", err)
			return 1
		}
	}

	defer backtest.TuneGC()()
	r, err := backtest.Run(ctx, store.BacktestHistory{Store: st}, m, opt)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(stderr, "pqlbot: %v\n", err)
			return 1
		}
	} else {
		fmt.Fprint(stdout, backtest.Text(r))
	}
	if *check && !r.OK {
		fmt.Fprintf(stderr, "pqlbot backtest: model %s misses a target (--check)\n", m.Version)
		return 1
	}
	return 0
}
