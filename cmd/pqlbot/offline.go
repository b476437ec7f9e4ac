package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pqlbot/pqlbot/internal/config"
	"github.com/pqlbot/pqlbot/internal/model"
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

func cmdScore(ctx context.Context, account string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "pqlbot: score is not built yet (%s)\n", account)
	return 1
}
