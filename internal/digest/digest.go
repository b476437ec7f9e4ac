// Package digest posts the PQL program figures to the model's digest
// channel on schedule (SPEC §4 `digest`): Mondays or the 1st of the month
// at 09:00 in the business-hours time zone, else UTC.
//
// Exactly once across replicas and restarts is decided in SQL: every
// replica's worker computes the latest slot due (program.DigestSlot) and
// asks the store to lease its period key; one lease at a time exists, and a
// sent period is never leased again. A replica that dies mid-post leaves
// the lease to expire; the next attempt looks for the earlier post by its
// message metadata before posting. Only the latest slot is ever due, so
// after downtime the digest catches up once.
package digest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/program"
	"github.com/pqlbot/pqlbot/internal/slackapi"
	"github.com/pqlbot/pqlbot/internal/slackui"
)

// Store records digest periods and leases them.
type Store interface {
	LeaseDigest(ctx context.Context, key, channel string, due time.Time, lease time.Duration) (attempt int, firstTry time.Time, ok bool, err error)
	CompleteDigest(ctx context.Context, key string, attempt int, channelID, ts string) error
	ReleaseDigest(ctx context.Context, key string, attempt int, retryIn time.Duration, reason string) error
}

// Figures computes the program figures of a period.
type Figures interface {
	ProgramFigures(ctx context.Context, p program.Period) (program.Figures, error)
}

// Poster delivers a digest. retry is set when an earlier attempt for key
// may have posted (since when it started): the poster must look for that
// post before posting again.
type Poster interface {
	Post(ctx context.Context, channel, key string, retry bool, since time.Time, r slackui.Reply) (channelID, ts string, err error)
}

// Timing of the worker.
const (
	// Interval is how often a worker checks whether a digest is due.
	Interval = time.Minute
	// Lease is how long one attempt may take before another replica may
	// try.
	Lease = 5 * time.Minute
	// RetryAfter spaces attempts after a failure.
	RetryAfter = time.Minute
)

// Worker posts the digest of one model.
type Worker struct {
	digest  model.Digest
	loc     *time.Location
	store   Store
	figures Figures
	poster  Poster
	log     *slog.Logger
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
}

// New returns a worker for m's digest section (which must be set).
func New(m *model.Model, st Store, figures Figures, poster Poster, log *slog.Logger) *Worker {
	return &Worker{digest: *m.Digest, loc: program.DigestLocation(m), store: st, figures: figures, poster: poster, log: log}
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// Run checks at start and then every Interval until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		if err := w.Tick(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("digest", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick posts the latest due digest if nobody has (and nobody is).
func (w *Worker) Tick(ctx context.Context) error {
	now := w.now()
	key, due := program.DigestSlot(w.digest.Every, w.loc, now)
	attempt, firstTry, ok, err := w.store.LeaseDigest(ctx, key, w.digest.Channel, due, Lease)
	if err != nil {
		return err
	}
	if !ok {
		w.log.Debug("digest sent already or being sent", "period", key)
		return nil
	}
	log := w.log.With("period", key, "attempt", attempt)
	fig, err := w.figures.ProgramFigures(ctx, program.PeriodFor(program.Period30d, now))
	if err != nil {
		return w.release(ctx, key, attempt, err)
	}
	reply := slackui.DigestMessage(fig, w.digest.Every)
	channelID, ts, err := w.poster.Post(ctx, w.digest.Channel, key, attempt > 1, firstTry, reply)
	if err != nil {
		return w.release(ctx, key, attempt, err)
	}
	if err := w.store.CompleteDigest(ctx, key, attempt, channelID, ts); err != nil {
		return err
	}
	log.Info("digest posted", "channel", w.digest.Channel, "ts", ts)
	return nil
}

func (w *Worker) release(ctx context.Context, key string, attempt int, cause error) error {
	if err := w.store.ReleaseDigest(context.WithoutCancel(ctx), key, attempt, RetryAfter, cause.Error()); err != nil {
		return fmt.Errorf("digest %s: %w (and %w)", key, cause, err)
	}
	return fmt.Errorf("digest %s, retried in %s: %w", key, RetryAfter, cause)
}

// MetadataEvent marks digest posts, so a retry can find an earlier one.
const MetadataEvent = "pql_digest"

// SlackPoster posts digests with the Slack client.
type SlackPoster struct{ Client *slackapi.Client }

// Post resolves the channel, looks for an earlier post of key when this is
// a retry, and posts with metadata naming key.
func (p SlackPoster) Post(ctx context.Context, channel, key string, retry bool, since time.Time, r slackui.Reply) (string, string, error) {
	id, err := p.Client.ResolveChannel(ctx, channel)
	if err != nil {
		return "", "", err
	}
	if retry {
		ts, found, err := p.Client.FindByMetadata(ctx, id, MetadataEvent, "period", key, since)
		if err != nil {
			return "", "", err
		}
		if found {
			return id, ts, nil
		}
	}
	meta := &slack.SlackMetadata{EventType: MetadataEvent, EventPayload: map[string]any{"period": key}}
	ts, err := p.Client.PostMessage(ctx, id, r.Blocks, r.Text, "", false, meta)
	return id, ts, err
}

// LogPoster is the dry run: the digest goes to the log.
type LogPoster struct{ Log *slog.Logger }

// Post logs the digest's text.
func (p LogPoster) Post(_ context.Context, channel, key string, _ bool, _ time.Time, r slackui.Reply) (string, string, error) {
	p.Log.Info("digest (dry run)", "channel", channel, "period", key, "text", r.Text)
	return "", "", nil
}
