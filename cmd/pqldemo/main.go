// Command pqldemo replays pqlbot's bundled demo dataset, a synthetic month
// of product usage for about 200 accounts, into a running pqlbot through the
// real Segment client (analytics-go), as a product would.
//
//	make run     # in one terminal: pqlbot serve in dry-run mode
//	make demo    # in another: go run ./cmd/pqldemo
//
// The dataset is deterministic (-seed) and every message carries a fixed
// messageId, so replaying it again is a no-op for pqlbot.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/analytics-go/v3"

	"github.com/pqlbot/pqlbot/internal/demo"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/outcomes"
	"github.com/pqlbot/pqlbot/store"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case err == flag.ErrHelp: // -h: the usage is the answer
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(os.Stderr, "pqldemo:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "pqldemo:", err)
		os.Exit(1)
	}
}

type options struct {
	url      string
	writeKey string
	seed     uint64
	accounts int
	days     int
	now      time.Time
	timeout  time.Duration
	database string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var now string
	fs := flag.NewFlagSet("pqldemo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://localhost:8080", "pqlbot base URL")
	fs.StringVar(&o.writeKey, "write-key", "dev-write-key", "a write key from PQLBOT_WRITE_KEYS")
	fs.Uint64Var(&o.seed, "seed", 42, "dataset seed; the same seed gives the same accounts and message ids")
	fs.IntVar(&o.accounts, "accounts", 200, "number of accounts")
	fs.IntVar(&o.days, "days", 30, "days of history, ending now")
	fs.StringVar(&now, "now", "", "end of the dataset, RFC 3339 (default: the current time)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up waiting for pqlbot to accept the messages after this")
	fs.StringVar(&o.database, "database", os.Getenv("DATABASE_URL"), "pqlbot's database, to play the past month of the program (reps and CRM outcomes); empty: skip")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pqldemo [flags]\n\nReplays the demo dataset into pqlbot's ingest API with the Segment Go client.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), flag.ErrHelp)
	}
	u, err := url.Parse(o.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, fmt.Errorf("-url %q: want http(s)://host[:port]", o.url)
	}
	// analytics-go appends "/v1/batch" to the endpoint as is.
	o.url = strings.TrimRight(o.url, "/")
	if o.writeKey == "" {
		return o, errors.New("-write-key: required")
	}
	o.now = time.Now()
	if now != "" {
		if o.now, err = time.Parse(time.RFC3339, now); err != nil {
			return o, fmt.Errorf("-now %q: want RFC 3339, e.g. 2026-11-20T15:00:00Z", now)
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ds, err := demo.Generate(demo.Options{Seed: o.seed, Now: o.now, Accounts: o.accounts, Days: o.days})
	if err != nil {
		return err
	}
	if err := preflight(ctx, o); err != nil {
		return err
	}

	start := time.Now()
	acks := newAcks(len(ds.Messages))
	client, err := analytics.NewWithConfig(o.writeKey, analytics.Config{
		Endpoint:  o.url,
		BatchSize: 100,
		Interval:  100 * time.Millisecond,
		Callback:  acks,
		Logger:    analytics.StdLogger(log.New(stderr, "segment: ", 0)),
		// Retries (of a 5xx, a dropped connection) come quickly: the demo
		// runs against a local server, not across the internet.
		RetryAfter: func(i int) time.Duration { return min(250*time.Millisecond<<i, 5*time.Second) },
	})
	if err != nil {
		return fmt.Errorf("segment client: %w", err)
	}
	if err := demo.Replay(ds, client); err != nil {
		_ = client.Close()
		return err
	}
	// Close drops batches still being retried, so first wait until every
	// message has been accepted or has failed for good.
	waitErr := acks.wait(ctx, o.timeout)
	if err := client.Close(); err != nil {
		return fmt.Errorf("segment client: close: %w", err)
	}
	ok, failed := acks.counts()
	summary(stdout, ds, o, ok, failed, time.Since(start))
	if waitErr != nil {
		return waitErr
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d messages were not accepted (see the segment: lines above)", failed, len(ds.Messages))
	}
	if o.database == "" {
		fmt.Fprintln(stdout, "\nNo -database (or DATABASE_URL): skipped playing the program's past month, so /pql stats has no outcomes yet.")
		return nil
	}
	return playProgram(ctx, ds, o, stdout)
}

// playProgram waits until pqlbot has alerted on the replayed accounts,
// then plays the past month of the program: the alerts go back to when
// they would have been posted, reps work them, and the CRM's outcomes are
// imported (the path of `pqlbot outcomes import`).
func playProgram(ctx context.Context, ds demo.Dataset, o options, stdout io.Writer) error {
	st, err := store.Open(ctx, o.database)
	if err != nil {
		return fmt.Errorf("-database: %w", err)
	}
	defer st.Close()
	alerted, err := settledAlerts(ctx, st, o.timeout)
	if err != nil {
		return err
	}
	alerts, outs := demo.Program(ds, alerted, o.now, o.seed)
	hs := make([]store.AlertHistory, len(alerts))
	var contacted, notFit int
	for i, a := range alerts {
		h := store.AlertHistory{AccountID: a.AccountID, PostedAt: a.PostedAt, Rep: a.Rep, ClaimedAt: a.PostedAt.Add(a.ClaimAfter), NotFit: a.NotFit}
		if a.ContactAfter > 0 {
			h.ContactedAt = a.PostedAt.Add(a.ContactAfter)
			contacted++
		}
		if a.NotFit != "" {
			notFit++
		}
		hs[i] = h
	}
	n, err := st.RewriteAlertHistory(ctx, hs, o.now)
	if err != nil {
		return err
	}
	rows := make([]outcomes.Row, len(outs))
	kinds := map[string]int{}
	for i, oc := range outs {
		kind, _ := model.ParseOutcomeKind(oc.Kind)
		rows[i] = outcomes.Row{Line: i + 2, Account: oc.Account, Kind: kind, At: oc.At, Amount: oc.Amount, HasAmount: oc.Amount > 0}
		kinds[oc.Kind]++
	}
	res, err := st.ImportOutcomes(ctx, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nPlayed the program's past month: %d alerts put back to when they would have been posted, worked by %d reps "+
		"(%d contacted, %d closed as not a fit, the rest never answered);\n"+
		"CRM outcomes: %d won, %d opportunities, %d lost (imported %d, duplicates %d, unmatched %d).\n"+
		"Try /pql stats, /pql stats 90d and /pql sla 30d (or look at the App Home).\n",
		n, len(demo.DemoReps), contacted, notFit, kinds["won"], kinds["opportunity"], kinds["lost"], res.Imported, res.Duplicates, res.Unmatched)
	return nil
}

// settledAlerts waits until pqlbot has stopped opening alerts (the same
// count three seconds running) and returns the alerted accounts.
func settledAlerts(ctx context.Context, st *store.Store, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	last, stable := -1, 0
	for {
		ids, err := st.AlertedAccounts(ctx)
		if err != nil {
			return nil, err
		}
		if len(ids) == last && len(ids) > 0 {
			stable++
		} else {
			last, stable = len(ids), 0
		}
		if stable >= 3 {
			return ids, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pqlbot opened no alerts within %s: is it running against -database?", timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// preflight fails fast, with advice, when pqlbot is not running or does not
// know the write key; analytics-go would otherwise retry for minutes.
func preflight(ctx context.Context, o options) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach pqlbot at %s (is `make run` going?): %w", o.url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz answered %s: is that pqlbot?", o.url, resp.Status)
	}
	// An empty batch: a known key gets 200 or 400 (nothing to store), an
	// unknown one 401. Nothing is stored either way.
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, o.url+"/v1/batch", bytes.NewReader([]byte(`{"batch":[]}`)))
	if err != nil {
		return err
	}
	req.SetBasicAuth(o.writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach pqlbot at %s: %w", o.url, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		// The key itself is not echoed: write keys are secrets.
		return errors.New("pqlbot rejected the write key: pass one of its PQLBOT_WRITE_KEYS with -write-key")
	}
	return nil
}

// acks counts the client's per-message outcomes.
type acks struct {
	mu         sync.Mutex
	ok, failed int
	total      int
	done       chan struct{}
}

func newAcks(total int) *acks {
	a := &acks{total: total, done: make(chan struct{})}
	if total == 0 {
		close(a.done)
	}
	return a
}

func (a *acks) Success(analytics.Message) { a.add(true) }

func (a *acks) Failure(analytics.Message, error) { a.add(false) }

func (a *acks) add(ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ok {
		a.ok++
	} else {
		a.failed++
	}
	if a.ok+a.failed == a.total {
		close(a.done)
	}
}

func (a *acks) counts() (ok, failed int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ok, a.failed
}

func (a *acks) wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		ok, failed := a.counts()
		return fmt.Errorf("gave up after %s: %d of %d messages still unacknowledged", timeout, a.total-ok-failed, a.total)
	}
}

// expectation says what the example model makes of each category.
var expectation = map[demo.Category]string{
	demo.HandRaiser:     "alert, tier hand_raiser → #ae-hand-raisers",
	demo.StrongTrial:    "alert, tier high → #sdr-pql (#ae-enterprise at 500+ employees)",
	demo.PromisingTrial: "tier mid: scored, not notified",
	demo.WeakTrial:      "below every alerting tier",
	demo.PersonalEmail:  "active, but fails the email_domain gate",
	demo.TinyCompany:    "active, but fails the employees gate",
	demo.SupportHeavy:   "alert, with the Support distress signal taking points off",
	demo.PaidCustomer:   "suppressed: plan is paid",
	demo.Dormant:        "strong weeks ago, outside the 14-day recency window",
}

func summary(w io.Writer, ds demo.Dataset, o options, ok, failed int, took time.Duration) {
	c := ds.Count()
	fmt.Fprintf(w, "Replayed %d messages (%d identify, %d group, %d track, %d page) for %d accounts and %d users\n",
		len(ds.Messages), c.Messages[demo.TypeIdentify], c.Messages[demo.TypeGroup], c.Messages[demo.TypeTrack],
		c.Messages[demo.TypePage], len(ds.Accounts), c.Users)
	fmt.Fprintf(w, "to %s in %s: %d accepted, %d failed. Seed %d, %s to %s.\n\n", o.url,
		took.Round(time.Millisecond), ok, failed, o.seed,
		c.FirstEvent.Format(time.DateOnly), c.LastEvent.Format(time.DateOnly))
	fmt.Fprintf(w, "%-16s %5s  %-64s %s\n", "kind", "count", "what the example model does", "try: pqlbot score ...")
	for _, cat := range demo.Categories {
		var try []string
		for _, a := range ds.Examples(cat, 2) {
			ref := a.Domain
			if a.Category == demo.PersonalEmail {
				// gmail.com is every personal account's domain: use an email.
				ref = a.Users[0].Email
			}
			try = append(try, ref)
		}
		fmt.Fprintf(w, "%-16s %5d  %-64s %s\n", cat, c.Accounts[cat], expectation[cat], strings.Join(try, "  "))
	}
	fmt.Fprintln(w, "\nReplaying again is harmless: every message id is fixed, so pqlbot counts nothing twice.")
}
