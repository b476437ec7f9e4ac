package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/config"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/slackui"
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

// openStoreWithModel is what the subcommands that read scores need: the
// configured model and the store. The model is loaded first, so a bad
// model file fails before a database connection is made.
func openStoreWithModel(ctx context.Context) (*config.Config, *store.Store, *model.Model, error) {
	cfg, err := config.Load(ctx, config.ModeDatabase)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := loadModel(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, st, m, nil
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

// cmdScore is /pql score for a terminal: the same grammar, the same lookup
// and the same view (commands.Service.ScoreView), rendered as text.
func cmdScore(ctx context.Context, query string, stdout, stderr io.Writer) int {
	cmd, err := slackui.ParseCommand("score " + query)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 2
	}
	cfg, st, m, err := openStoreWithModel(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	defer st.Close()
	svc := &commands.Service{Store: st, Model: m, AccountURL: cfg.AccountURL}
	v, err := svc.ScoreView(ctx, cmd)
	var amb *commands.AmbiguousError
	switch {
	case errors.Is(err, commands.ErrAccountNotFound):
		fmt.Fprintf(stderr, "pqlbot: no account matches %q (try a domain, an account name, an account id or a user's email)\n", query)
		return 1
	case errors.As(err, &amb):
		fmt.Fprintf(stderr, "pqlbot: %s; which one?\n", amb.Error())
		for _, c := range amb.Candidates {
			fmt.Fprintf(stderr, "  %s (%s) · id %s · score %d\n", c.Name, cmp.Or(c.Domain, "no domain"), c.AccountID, c.Score)
		}
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "pqlbot: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, slackui.ScoreText(v))
	return 0
}
