// Command pqlbot receives product-usage events, scores accounts, posts PQL
// alerts to Slack and tracks their SLA. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage: pqlbot <command>

commands:
  serve               run the HTTP server and background workers
  migrate             apply database migrations and exit
  model check FILE    validate a scoring model
  score ACCOUNT       an account as /pql score shows it (domain, name, account id or user email)
  outcomes import [--skip-bad] FILE.csv
                      outcomes from a CRM export (account,outcome,at[,amount])
  outcomes derive     re-derive outcomes from stored events with the model's rules
  backtest [...]      replay stored history through a model and measure it against outcomes (--help)
  stats [30d|90d|quarter]
                      the PQL program's figures (as /pql stats)
  rejects [--since D] quarantined ingest messages and why (default: last 24h)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, stderr)
	case "migrate":
		return cmdMigrate(ctx, stdout, stderr)
	case "model":
		if len(args) != 3 || args[1] != "check" {
			fmt.Fprint(stderr, "usage: pqlbot model check FILE\n")
			return 2
		}
		return cmdModelCheck(args[2], stdout, stderr)
	case "score":
		if len(args) < 2 {
			fmt.Fprint(stderr, "usage: pqlbot score ACCOUNT\n")
			return 2
		}
		return cmdScore(ctx, strings.Join(args[1:], " "), stdout, stderr)
	case "outcomes":
		return cmdOutcomes(ctx, args[1:], stdout, stderr)
	case "backtest":
		return cmdBacktest(ctx, args[1:], stdout, stderr)
	case "stats":
		return cmdStats(ctx, args[1:], stdout, stderr)
	case "rejects":
		return cmdRejects(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "pqlbot: unknown command %q\n%s", args[0], usage)
		return 2
	}
}
