package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/config"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
	"github.com/pqlbot/pqlbot/store"
)

// loadModel reads PQLBOT_MODEL_FILE, or the built-in example when unset.
func loadModel(cfg *config.Config) (*model.Model, error) {
	if cfg.ModelFile == "" {
		return model.Default(), nil
	}
	m, err := model.Load(cfg.ModelFile)
	if err != nil {
		return nil, fmt.Errorf("PQLBOT_MODEL_FILE: %w", err)
	}
	return m, nil
}

func cmdModelCheck(path string, stdout, stderr io.Writer) int {
	m, err := model.Load(path)
	if err != nil {
		var errs model.Errors
		if errors.As(err, &errs) {
			fmt.Fprintf(stderr, "%s: %d problem(s)\n", path, len(errs))
			for _, e := range errs {
				fmt.Fprintf(stderr, "  %s\n", e.Error())
			}
			return 1
		}
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n%s", path, m.Summary())
	return 0
}

// cmdScore is /pql score for a terminal: the account's score evaluated now
// from its facts, explained, with its alert state.
func cmdScore(ctx context.Context, query string, stdout, stderr io.Writer) int {
	cfg, st, err := openStore(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	m, err := loadModel(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	out, err := explainAccount(ctx, st, m, query, time.Now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		fmt.Fprintf(stderr, "pqlbot: no account matches %q (try an account id, a domain or a user's email)\n", query)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, out)
	return 0
}

func explainAccount(ctx context.Context, st *store.Store, m *model.Model, query string, now time.Time) (string, error) {
	id, err := st.FindAccount(ctx, query)
	if err != nil {
		return "", err
	}
	facts, err := st.LoadFacts(ctx, []string{id}, m.FactsSpec(), now)
	if err != nil {
		return "", err
	}
	f, ok := facts[id]
	if !ok {
		return "", store.ErrNotFound
	}
	res := scoring.Evaluate(m, f, now)
	var b strings.Builder
	b.WriteString(scoring.Explain(res))
	active, last, err := st.LatestAlerts(ctx, id)
	if err != nil {
		return "", err
	}
	switch {
	case active != nil:
		fmt.Fprintf(&b, "\nAlert: %s\n", alertLine(active))
	case last != nil:
		fmt.Fprintf(&b, "\nLast alert: %s\n", alertLine(last))
		if until := alerting.CoolingDownUntil(m, last); res.Alertable && now.Before(until) {
			fmt.Fprintf(&b, "Cooling down: alerts again at this tier after %s (realert_after %s), sooner on a higher tier\n",
				until.Format("2006-01-02 15:04 MST"), model.FormatDuration(m.RealertAfter))
		}
	default:
		b.WriteString("\nAlert: none yet\n")
	}
	return b.String(), nil
}

func alertLine(a *alerting.Alert) string {
	s := fmt.Sprintf("%s, score %d, %s, created %s", a.Tier, a.Score, a.Channel, a.CreatedAt.Format("2006-01-02 15:04 MST"))
	switch a.State {
	case alerting.StateClaimed:
		s += ", claimed by " + a.ClaimedBy
	case alerting.StateContacted:
		s += ", contacted by " + a.ContactedBy
	case alerting.StateClosed:
		s += ", closed as not a fit (" + a.CloseReason + ")"
	default:
		s += ", open"
	}
	if !a.BreachedAt.IsZero() {
		s += ", SLA breached"
	} else if !a.DueAt.IsZero() && a.State.Active() {
		s += ", due " + a.DueAt.Format("2006-01-02 15:04 MST")
	}
	if a.Delivery == alerting.DeliveryFailed {
		s += ", delivery failed: " + a.DeliveryError
	}
	return s
}
