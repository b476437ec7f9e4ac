package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/slackui"
	"github.com/pqlbot/pqlbot/store"
)

const outcomesUsage = `usage:
  pqlbot outcomes import [--skip-bad] FILE.csv   outcomes from a CRM export (header account,outcome,at[,amount])
  pqlbot outcomes derive                         re-derive event and trait outcomes from stored events with the model's rules
`

func cmdOutcomes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, outcomesUsage)
		return 2
	}
	switch args[0] {
	case "import":
		fs := flag.NewFlagSet("outcomes import", flag.ContinueOnError)
		fs.SetOutput(stderr)
		skipBad := fs.Bool("skip-bad", false, "import the good lines of a file that has bad ones")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
			fmt.Fprint(stderr, outcomesUsage)
			return 2
		}
		return cmdOutcomesImport(ctx, fs.Arg(0), *skipBad, stdout, stderr)
	case "derive":
		if len(args) != 1 {
			fmt.Fprint(stderr, outcomesUsage)
			return 2
		}
		return cmdOutcomesDerive(ctx, stdout, stderr)
	}
	fmt.Fprintf(stderr, "pqlbot: unknown outcomes command %q\n%s", args[0], outcomesUsage)
	return 2
}

func cmdOutcomesImport(ctx context.Context, path string, skipBad bool, stdout, stderr io.Writer) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer f.Close()
	rows, bad, err := outcomes.ParseCSV(f, time.Now().UTC())
	if errors.Is(err, outcomes.ErrNoHeader) {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %s: %v\n", path, err)
		return 1
	}
	for _, e := range bad {
		fmt.Fprintf(stderr, "%s: %s\n", path, e.Error())
	}
	if len(bad) > 0 && (!skipBad || (len(bad) == 1 && bad[0].Line == 1)) {
		// A bad header makes every line unreadable: nothing to skip to.
		fmt.Fprintf(stderr, "%s: nothing imported: %d bad line(s); fix them, or pass --skip-bad to import the %d good ones\n", path, len(bad), len(rows))
		return 1
	}
	_, st, err := openStore(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	res, err := st.ImportOutcomes(ctx, rows)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %s: nothing imported: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "imported %d, duplicates %d, unmatched %d, skipped %d\n", res.Imported, res.Duplicates, res.Unmatched, len(bad))
	return 0
}

func cmdOutcomesDerive(ctx context.Context, stdout, stderr io.Writer) int {
	_, st, m, err := openStoreWithModel(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	res, err := st.DeriveOutcomes(ctx, m.OutcomeRules(), true)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "model %s: %d outcome rule(s); removed %d derived outcomes, recorded %d\n",
		m.Version, len(m.OutcomeRules()), res.Removed, res.Recorded)
	return 0
}

// deriveOutcomesAtStart re-derives outcomes when the model's outcome rules
// differ from those the stored ones were derived with.
func deriveOutcomesAtStart(ctx context.Context, st *store.Store, m *model.Model, log *slog.Logger) {
	start := time.Now()
	res, err := st.DeriveOutcomes(ctx, m.OutcomeRules(), false)
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error("re-deriving outcomes failed; they are retried at the next start or with `pqlbot outcomes derive`", "err", err)
	case err == nil && !res.Skipped:
		log.Info("outcomes re-derived for new outcome rules", "rules", len(m.OutcomeRules()),
			"removed", res.Removed, "recorded", res.Recorded, "took", time.Since(start).String())
	}
}

// cmdStats is /pql stats for a terminal.
func cmdStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	period := program.Period30d
	if len(args) > 1 {
		fmt.Fprint(stderr, "usage: pqlbot stats [30d|90d|quarter]\n")
		return 2
	}
	if len(args) == 1 {
		period = args[0]
		if period != program.Period30d && period != program.Period90d && period != program.PeriodQuarter {
			fmt.Fprintf(stderr, "pqlbot: the period must be 30d, 90d or quarter, got %q\n", period)
			return 2
		}
	}
	_, st, m, err := openStoreWithModel(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	svc := &commands.Service{Store: st, Model: m}
	f, err := svc.ProgramFigures(ctx, program.PeriodFor(period, time.Now()))
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, slackui.StatsPlainText(f))
	return 0
}
