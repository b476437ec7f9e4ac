package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/events"
)

// Rejected is one quarantined message.
type Rejected struct {
	ID         int64
	Source     string
	ReceivedAt time.Time
	Index      int
	Reason     string
	Field      string
	Error      string
	Raw        []byte
}

// insertRejects keeps invalid messages whole in the same transaction as
// their request's valid ones, so the request is answered only once both
// are durable.
func insertRejects(ctx context.Context, tx pgx.Tx, items []IngestItem) error {
	var src, reason, field, msg []string
	var idx []int32
	var raw [][]byte
	for _, it := range items {
		for _, r := range it.Rejects {
			src = append(src, it.Source)
			idx = append(idx, int32(r.Index))
			reason = append(reason, text(r.Err.Reason))
			field = append(field, text(r.Err.Field))
			msg = append(msg, text(r.Err.Msg))
			raw = append(raw, r.Raw)
		}
	}
	if len(src) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO rejected_messages (source, batch_index, reason, field, error, raw)
		SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::bytea[])`,
		src, idx, reason, field, msg, raw)
	if err != nil {
		return fmt.Errorf("quarantine invalid messages: %w", err)
	}
	return nil
}

// text makes a string storable as PostgreSQL text: error messages echo the
// sender's input, which may hold NUL or invalid UTF-8.
func text(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Rejects lists quarantined messages received since the given time, newest
// first, at most limit of them.
func (s *Store) Rejects(ctx context.Context, since time.Time, limit int) ([]Rejected, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, source, received_at, batch_index, reason, field, error, raw
		FROM rejected_messages WHERE received_at >= $1
		ORDER BY received_at DESC, id DESC LIMIT $2`, since, limit)
	if err != nil {
		return nil, fmt.Errorf("list rejects: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rejected, error) {
		var x Rejected
		err := r.Scan(&x.ID, &x.Source, &x.ReceivedAt, &x.Index, &x.Reason, &x.Field, &x.Error, &x.Raw)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("list rejects: %w", err)
	}
	return out, nil
}

// refusedRejects turns messages the database refused into quarantine
// entries: validation let them through, so they are kept as sent.
func refusedRejects(msgs []events.Message, cause error) []events.Reject {
	out := make([]events.Reject, len(msgs))
	for i, m := range msgs {
		raw := []byte(m.Raw)
		if raw == nil {
			raw = []byte{}
		}
		out[i] = events.Reject{Raw: raw, Err: &events.Error{Status: 400, Reason: events.ReasonRefused, Field: "message",
			Msg: fmt.Sprintf("message %s: refused by the database: %v", m.MessageID, cause)}}
	}
	return out
}
