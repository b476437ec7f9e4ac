package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/commands"
	"github.com/pqlbot/pqlbot/internal/model"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

// reportColumns are the alert columns the reports read, with the account's
// name and domain; never the explanation, which is large and not needed.
const reportColumns = `a.id, a.account_id, coalesce(ac.name, ''), coalesce(ac.domain, ''), a.tier, a.segment, a.score,
	a.channel, coalesce(a.channel_id, ''), coalesce(a.message_ts, ''), a.sla_seconds, a.state,
	a.posted_at, a.due_at, coalesce(a.claimed_by, ''), a.claimed_at, coalesce(a.contacted_by, ''), a.contacted_at,
	a.closed_at, coalesce(a.close_reason, ''), a.breached_at`

const reportFrom = ` FROM alerts a LEFT JOIN accounts ac ON ac.account_id = a.account_id `

// scanReportRow scans into pgtype values, which need no allocation per
// column: a 90-day report reads tens of thousands of rows.
func scanReportRow(row pgx.Row, r *commands.AlertRow) error {
	var id pgtype.UUID
	var slaSec int64
	var state string
	var name, domain pgtype.Text
	var posted, due, claimed, contacted, closed, breached pgtype.Timestamptz
	if err := row.Scan(&id, &r.AccountID, &name, &domain, &r.Tier, &r.Segment, &r.Score,
		&r.Channel, &r.ChannelID, &r.MessageTS, &slaSec, &state,
		&posted, &due, &r.ClaimedBy, &claimed, &r.ContactedBy, &contacted,
		&closed, &r.CloseReason, &breached); err != nil {
		return err
	}
	r.ID = uuid.UUID(id.Bytes)
	r.AccountName, r.Domain = name.String, domain.String
	r.SLA = time.Duration(slaSec) * time.Second
	r.State = alerting.State(state)
	for _, p := range []struct {
		src *pgtype.Timestamptz
		dst *time.Time
	}{{&posted, &r.PostedAt}, {&due, &r.DueAt}, {&claimed, &r.ClaimedAt}, {&contacted, &r.ContactedAt}, {&closed, &r.ClosedAt}, {&breached, &r.BreachedAt}} {
		if p.src.Valid {
			*p.dst = p.src.Time.UTC()
		}
	}
	return nil
}

func (s *Store) reportRows(ctx context.Context, what, query string, args ...any) ([]commands.AlertRow, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	// Rows are scanned into chunks of growing size and copied out once: a
	// period of tens of thousands of alerts would otherwise be copied on
	// every doubling of one slice.
	var chunks [][]commands.AlertRow
	cur := make([]commands.AlertRow, 0, 16)
	n := 0
	for rows.Next() {
		if len(cur) == cap(cur) {
			chunks = append(chunks, cur)
			cur = make([]commands.AlertRow, 0, min(2*cap(cur), 4096))
		}
		cur = cur[:len(cur)+1]
		if err := scanReportRow(rows, &cur[len(cur)-1]); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(chunks) == 0 {
		return cur, nil
	}
	out := make([]commands.AlertRow, 0, n)
	for _, c := range append(chunks, cur) {
		out = append(out, c...)
	}
	return out, nil
}

// ClaimedAlerts returns the posted alerts userID claimed that nobody has
// marked contacted yet, most urgent (earliest deadline) first.
func (s *Store) ClaimedAlerts(ctx context.Context, userID string) ([]commands.AlertRow, error) {
	return s.reportRows(ctx, "claimed alerts of "+userID, `SELECT `+reportColumns+reportFrom+`
		WHERE a.claimed_by = $1 AND a.state = 'claimed'
		ORDER BY a.due_at NULLS LAST, a.id`, userID)
}

// periodColumns are reportColumns for a period's alerts: only the active
// ones (the open breaches a report lists) get the account's name and
// domain. Joining accounts for every row would hash the whole accounts
// table on each report; these subqueries run only for the few rows that
// need them.
const periodColumns = `a.id, a.account_id,
	CASE WHEN a.state IN ('open', 'claimed') THEN (SELECT coalesce(name, '') FROM accounts WHERE account_id = a.account_id) END,
	CASE WHEN a.state IN ('open', 'claimed') THEN (SELECT coalesce(domain, '') FROM accounts WHERE account_id = a.account_id) END,
	a.tier, a.segment, a.score,
	a.channel, coalesce(a.channel_id, ''), coalesce(a.message_ts, ''), a.sla_seconds, a.state,
	a.posted_at, a.due_at, coalesce(a.claimed_by, ''), a.claimed_at, coalesce(a.contacted_by, ''), a.contacted_at,
	a.closed_at, coalesce(a.close_reason, ''), a.breached_at`

// PostedAlerts returns the alerts posted in [from, to) that match f, the
// newest limit of them. A user filter keeps the alerts that user claimed (or
// contacted); a channel filter matches the resolved channel id or the
// channel as configured ("#name" or an id). Account names and domains are
// filled for active alerts only: they are all a report names.
func (s *Store) PostedAlerts(ctx context.Context, from, to time.Time, f commands.Filter, limit int) ([]commands.AlertRow, error) {
	var chanName string
	if f.ChannelName != "" {
		chanName = "#" + f.ChannelName
	}
	return s.reportRows(ctx, "posted alerts", `SELECT `+periodColumns+` FROM alerts a
		WHERE a.posted_at >= $1 AND a.posted_at < $2
		  AND ($3 = '' OR a.claimed_by = $3 OR (a.claimed_by IS NULL AND a.contacted_by = $3))
		  AND (($4 = '' AND $5 = '') OR a.channel_id = $4 OR a.channel = $4 OR a.channel = $5)
		ORDER BY a.posted_at DESC
		LIMIT $6`, from, to, f.UserID, f.ChannelID, chanName, limit)
}

// OverdueAlerts returns the active alerts whose deadline passed before now
// (escalated or not yet swept), most overdue first.
func (s *Store) OverdueAlerts(ctx context.Context, now time.Time, limit int) ([]commands.AlertRow, error) {
	return s.reportRows(ctx, "overdue alerts", `SELECT `+reportColumns+reportFrom+`
		WHERE a.state IN ('open', 'claimed') AND a.posted_at IS NOT NULL AND a.due_at < $1
		ORDER BY a.due_at, a.id
		LIMIT $2`, now, limit)
}

// UnclaimedAlerts returns posted alerts nobody has claimed, oldest first.
func (s *Store) UnclaimedAlerts(ctx context.Context, limit int) ([]commands.AlertRow, error) {
	return s.reportRows(ctx, "unclaimed alerts", `SELECT `+reportColumns+reportFrom+`
		WHERE a.state = 'open' AND a.posted_at IS NOT NULL
		ORDER BY a.posted_at, a.id
		LIMIT $1`, limit)
}

// LatestEvents returns an account's newest events, newest first, naming
// the user by email when an identify call gave one.
func (s *Store) LatestEvents(ctx context.Context, accountID string, limit int) ([]commands.Event, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT e.ts, e.type, coalesce(e.name, ''), coalesce(nullif(u.email, ''), e.user_id, e.anonymous_id, '')
		FROM events e LEFT JOIN users u ON u.user_id = e.user_id
		WHERE e.account_id = $1
		ORDER BY e.ts DESC, e.id DESC
		LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("latest events of %s: %w", accountID, err)
	}
	defer rows.Close()
	var out []commands.Event
	for rows.Next() {
		var e commands.Event
		if err := rows.Scan(&e.At, &e.Type, &e.Name, &e.User); err != nil {
			return nil, fmt.Errorf("latest events of %s: %w", accountID, err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest events of %s: %w", accountID, err)
	}
	return out, nil
}

// slackEventsKept is how long event ids are remembered. Slack retries an
// event three times within about five minutes; a day is ample.
const slackEventsKept = 24 * time.Hour

// MarkEventSeen records a Slack event id and reports whether this is its
// first delivery; a retry of an event already seen returns false. The
// database decides, so two replicas receiving the same retry handle it once.
// Ids older than a day are forgotten in the same statement.
func (s *Store) MarkEventSeen(ctx context.Context, eventID string) (bool, error) {
	var first bool
	err := s.pool.QueryRow(ctx, `
		WITH gc AS (DELETE FROM slack_events_seen WHERE seen_at < now() - $2::interval),
		ins AS (INSERT INTO slack_events_seen (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM ins)`, eventID, slackEventsKept).Scan(&first)
	if err != nil {
		return false, fmt.Errorf("mark slack event %s seen: %w", eventID, err)
	}
	return first, nil
}

// LookupAccount resolves a `/pql score` target (account id, domain or user
// email) like FindAccount, reporting no match as
// commands.ErrAccountNotFound.
func (s *Store) LookupAccount(ctx context.Context, query string) (string, error) {
	id, err := s.FindAccount(ctx, query)
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("%w: %w", commands.ErrAccountNotFound, err)
	}
	return id, err
}

// AccountScore returns the account's stored current score like GetScore,
// reporting an account never scored as commands.ErrNotScored.
func (s *Store) AccountScore(ctx context.Context, accountID string) (*scoring.Result, error) {
	r, err := s.GetScore(ctx, accountID)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", commands.ErrNotScored, err)
	}
	return r, err
}

// AccountFacts loads one account's scoring facts as of now, or nil when the
// account has none.
func (s *Store) AccountFacts(ctx context.Context, accountID string, spec model.FactsSpec, now time.Time) (*scoring.Facts, error) {
	facts, err := s.LoadFacts(ctx, []string{accountID}, spec, now)
	if err != nil {
		return nil, err
	}
	return facts[accountID], nil
}
