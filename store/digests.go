package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLeaseLost: a digest lease ran out and another replica took over.
var ErrLeaseLost = errors.New("digest lease lost")

// LeaseDigest records the digest period key (the first replica to see it
// does) and leases it to the caller for lease when it is still unsent and
// nobody else holds it. attempt numbers the lease (it fences completion);
// firstTry is when the period was first recorded (a retry looks for an
// earlier post from then on). ok is false when the digest was sent or
// another replica holds it.
func (s *Store) LeaseDigest(ctx context.Context, key, channel string, due time.Time, lease time.Duration) (attempt int, firstTry time.Time, ok bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO program_digests (period_key, channel, due_at) VALUES ($1, $2, $3)
			ON CONFLICT (period_key) DO NOTHING`, key, channel, due); err != nil {
			return fmt.Errorf("record digest %s: %w", key, err)
		}
		err := tx.QueryRow(ctx, `
			UPDATE program_digests
			SET leased_until = now() + make_interval(secs => $2), attempts = attempts + 1
			WHERE period_key = $1 AND state = 'pending' AND (leased_until IS NULL OR leased_until < now())
			RETURNING attempts, created_at`, key, lease.Seconds()).Scan(&attempt, &firstTry)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("lease digest %s: %w", key, err)
		}
		ok = true
		return nil
	})
	return attempt, firstTry.UTC(), ok, err
}

// CompleteDigest marks the digest sent, if the caller's lease (attempt) is
// still the current one.
func (s *Store) CompleteDigest(ctx context.Context, key string, attempt int, channelID, ts string) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE program_digests SET state = 'sent', sent_at = now(), channel_id = $3, message_ts = $4, leased_until = NULL, last_error = NULL
		WHERE period_key = $1 AND attempts = $2 AND state = 'pending'`, key, attempt, channelID, ts)
	if err != nil {
		return fmt.Errorf("complete digest %s: %w", key, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("complete digest %s: %w", key, ErrLeaseLost)
	}
	return nil
}

// ReleaseDigest gives a failed attempt back: it may be leased again after
// retryIn.
func (s *Store) ReleaseDigest(ctx context.Context, key string, attempt int, retryIn time.Duration, reason string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE program_digests SET leased_until = now() + make_interval(secs => $3), last_error = $4
		WHERE period_key = $1 AND attempts = $2 AND state = 'pending'`, key, attempt, retryIn.Seconds(), reason)
	if err != nil {
		return fmt.Errorf("release digest %s: %w", key, err)
	}
	return nil
}
