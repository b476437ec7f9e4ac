package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pqlbot/pqlbot/internal/alerting"
	"github.com/pqlbot/pqlbot/internal/scoring"
)

const alertColumns = `id, account_id, tier, segment, score, channel, coalesce(channel_id, ''), owner_role, sla_seconds,
	model_version, explanation, state, created_at, posted_at, coalesce(message_ts, ''), due_at, warn_at,
	coalesce(claimed_by, ''), claimed_at, coalesce(contacted_by, ''), contacted_at, coalesce(closed_by, ''), closed_at,
	coalesce(close_reason, ''), nudged_at, breached_at, delivery, coalesce(delivery_error, ''),
	coalesce(alert_score, score), mention, moved_to, (SELECT m.channel FROM alerts m WHERE m.id = alerts.moved_to), moved_from,
	coalesce(escalation_id, 0), clock_from,
	coalesce((SELECT f.channel FROM alerts f WHERE f.id = alerts.moved_from), '')`

func scanAlert(row pgx.Row) (*alerting.Alert, error) {
	var a alerting.Alert
	var slaSec int64
	var expl []byte
	var state string
	var posted, due, warn, claimed, contacted, closed, nudged, breached *time.Time
	var movedTo, movedFrom *uuid.UUID
	var movedToChannel *string
	var clockFrom *time.Time
	err := row.Scan(&a.ID, &a.AccountID, &a.Tier, &a.Segment, &a.Score, &a.Channel, &a.ChannelID, &a.OwnerRole, &slaSec,
		&a.ModelVersion, &expl, &state, &a.CreatedAt, &posted, &a.MessageTS, &due, &warn,
		&a.ClaimedBy, &claimed, &a.ContactedBy, &contacted, &a.ClosedBy, &closed,
		&a.CloseReason, &nudged, &breached, &a.Delivery, &a.DeliveryError,
		&a.AlertScore, &a.Mention, &movedTo, &movedToChannel, &movedFrom,
		&a.EscalationID, &clockFrom, &a.MovedFromChannel)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, alerting.ErrNotFound
		}
		return nil, err
	}
	if movedTo != nil {
		a.MovedTo = *movedTo
	}
	if movedToChannel != nil {
		a.MovedToChannel = *movedToChannel
	}
	if movedFrom != nil {
		a.MovedFrom = *movedFrom
	}
	if clockFrom != nil {
		a.ClockFrom = clockFrom.UTC()
	}
	a.SLA = time.Duration(slaSec) * time.Second
	a.State = alerting.State(state)
	if err := json.Unmarshal(expl, &a.Explanation); err != nil {
		return nil, fmt.Errorf("decode explanation of alert %s: %w", a.ID, err)
	}
	for _, p := range []struct {
		src *time.Time
		dst *time.Time
	}{{posted, &a.PostedAt}, {due, &a.DueAt}, {warn, &a.WarnAt}, {claimed, &a.ClaimedAt}, {contacted, &a.ContactedAt}, {closed, &a.ClosedAt}, {nudged, &a.NudgedAt}, {breached, &a.BreachedAt}} {
		if p.src != nil {
			*p.dst = p.src.UTC()
		}
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// GetAlert loads one alert.
func (s *Store) GetAlert(ctx context.Context, id uuid.UUID) (*alerting.Alert, error) {
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get alert %s: %w", id, err)
	}
	return a, nil
}

// HasActiveAlert reports whether the account has an open or claimed alert
// (alerts_one_active_per_account answers it).
func (s *Store) HasActiveAlert(ctx context.Context, accountID string) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alerts WHERE account_id = $1 AND state IN ('open', 'claimed'))`, accountID).Scan(&ok); err != nil {
		return false, fmt.Errorf("active alert of %s: %w", accountID, err)
	}
	return ok, nil
}

// LatestAlerts returns an account's active alert and its most recent alert
// of any state (either may be nil).
func (s *Store) LatestAlerts(ctx context.Context, accountID string) (active, last *alerting.Alert, err error) {
	return latestAlerts(ctx, s.pool, accountID)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func latestAlerts(ctx context.Context, q querier, accountID string) (active, last *alerting.Alert, err error) {
	// An alert whose post failed for good was never seen: it starts no
	// cool-down.
	last, err = scanAlert(q.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE account_id = $1 AND delivery <> 'failed' ORDER BY created_at DESC LIMIT 1`, accountID))
	if errors.Is(err, alerting.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load alerts of %s: %w", accountID, err)
	}
	active, err = scanAlert(q.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE account_id = $1 AND state IN ('open', 'claimed')`, accountID))
	if errors.Is(err, alerting.ErrNotFound) {
		return nil, last, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load active alert of %s: %w", accountID, err)
	}
	return active, last, nil
}

func accountLockKey(accountID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("pqlbot-account:"))
	h.Write([]byte(accountID))
	return int64(h.Sum64())
}

// DecideAlert runs decide under the account's lock with its current alerts
// and applies the decision in the same transaction: a new alert with its
// queued post, or an upgrade with its thread reply and message update. Two
// replicas scoring one account therefore never both create an alert.
func (s *Store) DecideAlert(ctx context.Context, accountID string, now time.Time, decide func(active, last *alerting.Alert) alerting.Decision) (alerting.Decision, error) {
	var d alerting.Decision
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, accountLockKey(accountID)); err != nil {
			return err
		}
		// The score may predate a "Not a fit" click: the account row is
		// the truth.
		var until *time.Time
		err := tx.QueryRow(ctx, `SELECT disqualified_until FROM accounts WHERE account_id = $1`, accountID).Scan(&until)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if until != nil && until.After(now) {
			d = alerting.Decision{Reason: scoring.ReasonDisqualified}
			return nil
		}
		active, last, err := latestAlerts(ctx, tx, accountID)
		if err != nil {
			return err
		}
		d = decide(active, last)
		switch d.Action {
		case alerting.Create:
			return insertAlert(ctx, tx, d.Alert)
		case alerting.Upgrade, alerting.Rescore:
			applied, err := upgradeAlert(ctx, tx, d, now)
			if err == nil && !applied {
				d = alerting.Decision{Reason: alerting.ReasonActiveAlert}
			}
			return err
		case alerting.Move:
			applied, err := moveAlert(ctx, tx, d, now)
			if err == nil && !applied {
				d = alerting.Decision{Reason: alerting.ReasonActiveAlert}
			}
			return err
		}
		return nil
	})
	if err != nil {
		return alerting.Decision{}, fmt.Errorf("decide alert for %s: %w", accountID, err)
	}
	return d, nil
}

func insertAlert(ctx context.Context, tx pgx.Tx, a *alerting.Alert) error {
	expl, err := json.Marshal(a.Explanation)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO alerts (id, account_id, tier, segment, score, channel, owner_role, sla_seconds, model_version, explanation, state, created_at, delivery,
			alert_score, mention, moved_from)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, 'pending', $12, $13, $14)`,
		a.ID, a.AccountID, a.Tier, a.Segment, a.Score, a.Channel, a.OwnerRole, int64(a.SLA/time.Second), a.ModelVersion, expl, a.CreatedAt,
		a.AlertScore, mentionOf(a), nullUUID(a.MovedFrom)); err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO slack_outbox (alert_id, kind, channel, not_before) VALUES ($1, 'post', $2, LEAST($3::timestamptz, now()))`, a.ID, a.Channel, a.CreatedAt); err != nil {
		return fmt.Errorf("queue post: %w", err)
	}
	return audit(ctx, tx, a.ID, "pqlbot", "created", map[string]any{"tier": a.Tier, "score": a.Score, "channel": a.Channel})
}

func mentionOf(a *alerting.Alert) []string {
	if a.Mention == nil {
		return []string{}
	}
	return a.Mention
}

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// upgradeAlert applies an Upgrade unless the alert stopped being active
// meanwhile (a rep's click does not take the account lock); it reports
// whether it did.
func upgradeAlert(ctx context.Context, tx pgx.Tx, d alerting.Decision, now time.Time) (bool, error) {
	a := d.Alert
	expl, err := json.Marshal(a.Explanation)
	if err != nil {
		return false, err
	}
	tag, err := tx.Exec(ctx, `
		UPDATE alerts SET tier = $2, score = $3, segment = $4, explanation = $5, model_version = $6, updated_at = now()
		WHERE id = $1 AND state IN ('open', 'claimed')`, a.ID, a.Tier, a.Score, a.Segment, expl, a.ModelVersion)
	if err != nil {
		return false, fmt.Errorf("upgrade alert: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if err := queueNote(ctx, tx, a.ID, a.Channel, alerting.ChangeNote(d, now), now); err != nil {
		return false, err
	}
	if err := queueUpdate(ctx, tx, a.ID, a.Channel, now); err != nil {
		return false, err
	}
	action := "upgraded"
	if d.Action == alerting.Rescore {
		action = "rescored"
	}
	return true, audit(ctx, tx, a.ID, "pqlbot", action, map[string]any{"from_tier": d.FromTier, "to_tier": a.Tier, "from_score": d.FromScore, "to_score": a.Score})
}

// moveAlert applies a Move in the account's transaction: the open alert
// closes as moved (its clock stops) and its message is queued for an edit
// that says where it went; the new alert and its post are inserted and the
// two are linked. It reports false, changing nothing, when the old alert is
// no longer open (a rep claimed it meanwhile: the next score upgrades it in
// place instead). Everything is one transaction under the account lock, so
// retries and replicas cannot post the new alert twice, and its post goes
// through the outbox like any other (reconciled by metadata).
func moveAlert(ctx context.Context, tx pgx.Tx, d alerting.Decision, now time.Time) (bool, error) {
	old, moved := d.From, d.Alert
	tag, err := tx.Exec(ctx, `
		UPDATE alerts SET state = 'closed', closed_by = 'pqlbot', closed_at = $2, close_reason = 'moved', updated_at = now()
		WHERE id = $1 AND state = 'open'`, old.ID, now)
	if err != nil {
		return false, fmt.Errorf("close moved alert: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if err := insertAlert(ctx, tx, moved); err != nil {
		return false, err
	}
	if hr := moved.Explanation.HandRaise; hr != nil {
		// The score knows the hand-raise's day; the event has its time.
		if _, err := tx.Exec(ctx, `
			UPDATE alerts SET clock_from = (
				SELECT max(e.ts) FROM events e
				WHERE e.account_id = $2 AND e.name = $3 AND e.type = 'track' AND e.ts >= $4 AND e.ts <= $5)
			WHERE id = $1`, moved.ID, moved.AccountID, hr.Event, hr.Day, now); err != nil {
			return false, fmt.Errorf("start the moved alert's clock: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE alerts SET moved_to = $2 WHERE id = $1`, old.ID, moved.ID); err != nil {
		return false, fmt.Errorf("link moved alert: %w", err)
	}
	if err := queueUpdate(ctx, tx, old.ID, old.Channel, now); err != nil {
		return false, err
	}
	if err := queueEscalationUpdate(ctx, tx, old.ID, now); err != nil {
		return false, err
	}
	return true, audit(ctx, tx, old.ID, "pqlbot", "moved", map[string]any{"to_alert": moved.ID, "to_channel": moved.Channel, "from_tier": old.Tier, "to_tier": moved.Tier})
}

// queueUpdate asks the dispatcher to re-render an alert's message; one
// queued update per alert is enough because it renders the state current
// when it runs.
//
// Jobs are due at the earlier of the caller's clock and the database's, so
// they are due at once whichever clock is behind (tests run fake clocks).
func queueUpdate(ctx context.Context, tx pgx.Tx, alertID uuid.UUID, channel string, now time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO slack_outbox (alert_id, kind, channel, not_before) VALUES ($1, 'update', $2, LEAST($3::timestamptz, now()))
		ON CONFLICT (alert_id) WHERE kind = 'update' AND state = 'pending' AND attempts = 0 DO NOTHING`, alertID, channel, now)
	if err != nil {
		return fmt.Errorf("queue update: %w", err)
	}
	return nil
}

// queueEscalationUpdate asks for the escalation listing the alert, if it
// has one (queued or posted), to be edited to its alerts' current state;
// one queued edit per escalation is enough.
func queueEscalationUpdate(ctx context.Context, tx pgx.Tx, alertID uuid.UUID, now time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO slack_outbox (alert_id, kind, channel, escalation_id, not_before)
		SELECT a.id, 'escalation_update', e.channel, e.id, LEAST($2::timestamptz, now())
		FROM alerts a JOIN escalations e ON e.id = a.escalation_id WHERE a.id = $1
		ON CONFLICT (escalation_id) WHERE kind = 'escalation_update' AND state = 'pending' AND attempts = 0 DO NOTHING`, alertID, now)
	if err != nil {
		return fmt.Errorf("queue escalation update: %w", err)
	}
	return nil
}

// escalate records a's breach in the escalation for channel and a's due
// minute, in the breach's transaction. The first breach of a minute creates
// the escalation and queues its post; a later one (this sweep, another
// sweeper's, or one after the post went out) joins it and queues an edit.
// Sweepers of one minute meet on the escalation's unique group key: the
// second waits for the first's commit and then joins, so the minute is
// posted once.
func escalate(ctx context.Context, tx pgx.Tx, a *alerting.Alert, channel string, now time.Time) error {
	minute := a.DueAt.UTC().Truncate(time.Minute)
	var id int64
	var created bool
	err := tx.QueryRow(ctx, `
		INSERT INTO escalations (channel, group_key, due_minute) VALUES ($1, $2, $3)
		ON CONFLICT (group_key) DO UPDATE SET channel = EXCLUDED.channel
		RETURNING id, xmax = 0`, channel, fmt.Sprintf("%s@%d", channel, minute.Unix()), minute).Scan(&id, &created)
	if err != nil {
		return fmt.Errorf("escalation of %s: %w", a.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE alerts SET escalation_id = $2 WHERE id = $1`, a.ID, id); err != nil {
		return fmt.Errorf("link escalation of %s: %w", a.ID, err)
	}
	if !created {
		// The post may be out, or being rendered right now without this
		// alert: an edit, leased only after the post, lists it.
		return queueEscalationUpdate(ctx, tx, a.ID, now)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO slack_outbox (alert_id, kind, channel, escalation_id, not_before) VALUES ($1, 'escalation', $2, $3, LEAST($4::timestamptz, now()))`,
		a.ID, channel, id, now); err != nil {
		return fmt.Errorf("queue escalation: %w", err)
	}
	return nil
}

// Escalation loads the escalation an escalation job posts or edits, with
// its alerts as they stand. A job queued by a build from before groups
// (during a rolling upgrade) has none: its alert's breach is adopted as an
// escalation of its own.
func (s *Store) Escalation(ctx context.Context, j alerting.Job) (*alerting.Escalation, error) {
	id := j.EscalationID
	if id == 0 {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			err := tx.QueryRow(ctx, `
				INSERT INTO escalations (channel, group_key, due_minute)
				SELECT $2, 'alert:' || a.id, date_trunc('minute', coalesce(a.due_at, a.created_at)) FROM alerts a WHERE a.id = $1
				ON CONFLICT (group_key) DO UPDATE SET channel = escalations.channel
				RETURNING id`, j.AlertID, j.Channel).Scan(&id)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE alerts SET escalation_id = $2 WHERE id = $1 AND escalation_id IS NULL`, j.AlertID, id); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE slack_outbox SET escalation_id = $2 WHERE id = $1`, j.ID, id)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("adopt escalation of %s: %w", j.AlertID, err)
		}
	}
	e := &alerting.Escalation{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT channel, coalesce(channel_id, ''), coalesce(ts, '') FROM escalations WHERE id = $1`, id).Scan(&e.Channel, &e.ChannelID, &e.TS)
	if err != nil {
		return nil, fmt.Errorf("load escalation %d: %w", id, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE escalation_id = $1 ORDER BY due_at, score DESC, account_id, id`, id)
	if err != nil {
		return nil, fmt.Errorf("load escalation %d: %w", id, err)
	}
	e.Alerts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*alerting.Alert, error) { return scanAlert(r) })
	if err != nil {
		return nil, fmt.Errorf("load escalation %d: %w", id, err)
	}
	if len(e.Alerts) == 0 {
		return nil, fmt.Errorf("escalation %d lists no alert", id)
	}
	return e, nil
}

// CompleteEscalation records where an escalation was posted (so later
// changes edit it) and completes the job, if this holder still has it.
func (s *Store) CompleteEscalation(ctx context.Context, j alerting.Job, escalationID int64, channelID, ts string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE slack_outbox SET state = 'done', done_at = now(), leased_until = NULL
			WHERE id = $1 AND attempts = $2 AND state = 'pending'`, j.ID, j.Attempts)
		if err != nil {
			return fmt.Errorf("complete escalation job %d: %w", j.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE escalations SET channel_id = $2, ts = $3 WHERE id = $1`, escalationID, channelID, ts); err != nil {
			return fmt.Errorf("record escalation %d: %w", escalationID, err)
		}
		return nil
	})
}

func audit(ctx context.Context, tx pgx.Tx, alertID uuid.UUID, actor, action string, detail map[string]any) error {
	b, _ := json.Marshal(detail)
	if _, err := tx.Exec(ctx, `INSERT INTO alert_audit (alert_id, actor, action, detail) VALUES ($1, $2, $3, $4)`, alertID, actor, action, b); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// LeaseJobs takes up to limit due outbox jobs for lease, skipping rows
// another dispatcher holds. The holder renews the lease while it works
// (RenewJobs); a lease that expires (the holder died) makes the job due
// again, and its attempt count tells the next holder to reconcile.
func (s *Store) LeaseJobs(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]alerting.Job, error) {
	rows, err := s.pool.Query(ctx, `
		WITH due AS MATERIALIZED (
			-- A lease still set on a due job ran out: its holder died or hung.
			SELECT j.id AS due_id, j.leased_until IS NOT NULL AS taken_over FROM slack_outbox j JOIN alerts a ON a.id = j.alert_id
			WHERE j.state = 'pending' AND j.not_before <= $1 AND (j.leased_until IS NULL OR j.leased_until < $1)
			  AND (j.kind IN ('post', 'escalation') OR a.message_ts IS NOT NULL)
			  -- One job at a time per alert message, oldest first: two
			  -- updates rendered on two replicas could land out of order
			  -- and leave the message showing an older state.
			  AND (j.kind IN ('escalation', 'escalation_update') OR NOT EXISTS (
			        SELECT 1 FROM slack_outbox e
			        WHERE e.alert_id = j.alert_id AND e.state = 'pending' AND e.kind NOT IN ('escalation', 'escalation_update') AND e.id < j.id))
			  -- The same for an escalation post: its edits wait for it.
			  AND (j.kind <> 'escalation_update' OR NOT EXISTS (
			        SELECT 1 FROM slack_outbox e
			        WHERE e.escalation_id = coalesce(j.escalation_id, a.escalation_id) AND e.state = 'pending'
			          AND e.kind IN ('escalation', 'escalation_update') AND e.id < j.id))
			-- New alerts first, then thread replies (nudges, a hand-raise
			-- for the claimer), escalations, and re-renders last: a burst
			-- of score changes re-rendering open alerts (each a Slack call,
			-- rate-limited) must not hold up the next new alert.
			ORDER BY CASE j.kind WHEN 'post' THEN 0 WHEN 'reply' THEN 1 WHEN 'escalation' THEN 2 ELSE 3 END, j.id
			LIMIT $2
			FOR UPDATE OF j SKIP LOCKED)
		UPDATE slack_outbox o SET leased_until = $1::timestamptz + $3::interval, attempts = o.attempts + 1
		FROM due WHERE o.id = due_id
		RETURNING o.id, o.alert_id, o.kind, o.channel, coalesce(o.body, '{}'), o.attempts, due.taken_over,
			coalesce(o.escalation_id, (SELECT a.escalation_id FROM alerts a WHERE a.id = o.alert_id AND o.kind = 'escalation_update'), 0)`, now, limit, lease)
	if err != nil {
		return nil, fmt.Errorf("lease outbox jobs: %w", err)
	}
	defer rows.Close()
	var out []alerting.Job
	for rows.Next() {
		var j alerting.Job
		var body []byte
		if err := rows.Scan(&j.ID, &j.AlertID, &j.Kind, &j.Channel, &body, &j.Attempts, &j.TakenOver, &j.EscalationID); err != nil {
			return nil, err
		}
		var b jobBody
		_ = json.Unmarshal(body, &b)
		j.Note, j.Text, j.Blocks, j.Broadcast = b.Note, b.Text, b.Blocks, b.Broadcast
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lease outbox jobs: %w", err)
	}
	return out, nil
}

// RenewJobs extends, to until, the lease on those of jobs this holder still
// has (same attempt, still pending and leased) and returns their ids: a job
// missing from the answer was finished, handed back or taken over.
func (s *Store) RenewJobs(ctx context.Context, jobs []alerting.Job, until time.Time) ([]int64, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	ids, attempts := make([]int64, len(jobs)), make([]int32, len(jobs))
	for i, j := range jobs {
		ids[i], attempts[i] = j.ID, int32(j.Attempts)
	}
	rows, err := s.pool.Query(ctx, `
		UPDATE slack_outbox o SET leased_until = $3
		FROM unnest($1::bigint[], $2::int[]) AS r(id, attempts)
		WHERE o.id = r.id AND o.attempts = r.attempts AND o.state = 'pending' AND o.leased_until IS NOT NULL
		RETURNING o.id`, ids, attempts, until)
	if err != nil {
		return nil, fmt.Errorf("renew job leases: %w", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("renew job leases: %w", err)
	}
	return held, nil
}

// CompleteJob marks a job done, if this holder still has it.
func (s *Store) CompleteJob(ctx context.Context, j alerting.Job) error {
	_, err := s.pool.Exec(ctx, `UPDATE slack_outbox SET state = 'done', done_at = now(), leased_until = NULL
		WHERE id = $1 AND attempts = $2 AND state = 'pending'`, j.ID, j.Attempts)
	if err != nil {
		return fmt.Errorf("complete job %d: %w", j.ID, err)
	}
	return nil
}

// CompletePost records where an alert was posted and starts its SLA clock.
func (s *Store) CompletePost(ctx context.Context, j alerting.Job, p alerting.Posted) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE alerts SET delivery = 'posted', delivery_error = NULL, channel_id = $2, message_ts = $3,
				posted_at = $4, due_at = $5, warn_at = $6, updated_at = now()
			WHERE id = $1 AND message_ts IS NULL`, p.AlertID, p.ChannelID, p.TS, p.PostedAt, p.DueAt, p.WarnAt)
		if err != nil {
			return fmt.Errorf("record post of %s: %w", p.AlertID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE slack_outbox SET state = 'done', done_at = now(), leased_until = NULL
			WHERE id = $1 AND state = 'pending'`, j.ID); err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return audit(ctx, tx, p.AlertID, "pqlbot", "posted", map[string]any{"channel_id": p.ChannelID, "ts": p.TS, "reconciled": p.Reconciled})
	})
}

// RetryJob hands a job back to be tried again no sooner than notBefore.
func (s *Store) RetryJob(ctx context.Context, j alerting.Job, notBefore time.Time, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE slack_outbox SET leased_until = NULL, not_before = $3, last_error = $4
		WHERE id = $1 AND attempts = $2 AND state = 'pending'`, j.ID, j.Attempts, notBefore, reason)
	if err != nil {
		return fmt.Errorf("retry job %d: %w", j.ID, err)
	}
	return nil
}

// FailJob gives up on a job that cannot succeed. A failed post closes its
// alert (delivery failed), so the account is not held by an alert nobody
// saw, and fails every job queued behind it.
func (s *Store) FailJob(ctx context.Context, j alerting.Job, reason string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE slack_outbox SET state = 'failed', done_at = now(), leased_until = NULL, last_error = $3
			WHERE id = $1 AND attempts = $2 AND state = 'pending'`, j.ID, j.Attempts, reason)
		if err != nil {
			return fmt.Errorf("fail job %d: %w", j.ID, err)
		}
		if tag.RowsAffected() == 0 || j.Kind != alerting.JobPost {
			return nil
		}
		if _, err := tx.Exec(ctx, `
			UPDATE alerts SET delivery = 'failed', delivery_error = $2,
				state = CASE WHEN state IN ('open', 'claimed') THEN 'closed' ELSE state END,
				closed_by = coalesce(closed_by, 'pqlbot'), closed_at = coalesce(closed_at, now()),
				close_reason = coalesce(close_reason, 'delivery_failed'), updated_at = now()
			WHERE id = $1`, j.AlertID, reason); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE slack_outbox SET state = 'failed', done_at = now(), last_error = 'alert post failed' WHERE alert_id = $1 AND state = 'pending'`, j.AlertID); err != nil {
			return err
		}
		return audit(ctx, tx, j.AlertID, "pqlbot", "delivery_failed", map[string]any{"reason": reason})
	})
}

// DeferChannel holds every queued job for channel until the time given: a
// rate-limited channel waits without holding up the others.
func (s *Store) DeferChannel(ctx context.Context, channel string, until time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE slack_outbox SET not_before = GREATEST(not_before, $2) WHERE state = 'pending' AND channel = $1`, channel, until)
	if err != nil {
		return fmt.Errorf("defer channel %s: %w", channel, err)
	}
	return nil
}

// ReleaseJobs hands leased, untried jobs back (shutdown, or a deferred
// channel). The attempt stays counted: a post released this way merely
// reconciles against the channel history before posting.
func (s *Store) ReleaseJobs(ctx context.Context, jobs []alerting.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	ids, attempts := make([]int64, len(jobs)), make([]int32, len(jobs))
	for i, j := range jobs {
		ids[i], attempts[i] = j.ID, int32(j.Attempts)
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE slack_outbox o SET leased_until = NULL
		FROM unnest($1::bigint[], $2::int[]) AS r(id, attempts)
		WHERE o.id = r.id AND o.attempts = r.attempts AND o.state = 'pending'`, ids, attempts)
	if err != nil {
		return fmt.Errorf("release jobs: %w", err)
	}
	return nil
}
