package commands

import (
	"context"
	"fmt"

	"github.com/pqlbot/pqlbot/internal/closereason"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// notFitReasons are the close reasons a rep gives with "Not a fit"; other
// close reasons (a failed delivery) are not a verdict on the account.
func notFitReasons() []string {
	out := make([]string, 0, len(closereason.NotFit()))
	for _, r := range closereason.NotFit() {
		out = append(out, string(r))
	}
	return out
}

// ProgramFigures computes the PQL program figures of period (SPEC §7) for
// `/pql stats`, the App Home and the digest.
func (s *Service) ProgramFigures(ctx context.Context, p program.Period) (program.Figures, error) {
	facts, err := s.Store.ProgramFacts(ctx, p.From, p.To, notFitReasons())
	if err != nil {
		return program.Figures{}, fmt.Errorf("program figures (%s): %w", p.Name, err)
	}
	return program.Compute(facts, p, s.Model.OutcomeWindowDays(), s.Model.TierRank), nil
}

func (s *Service) stats(ctx context.Context, cmd slackui.Command) (slackui.Reply, error) {
	f, err := s.ProgramFigures(ctx, program.PeriodFor(cmd.StatsPeriod, s.now()))
	if err != nil {
		return slackui.Reply{}, err
	}
	return slackui.StatsReply(f), nil
}
