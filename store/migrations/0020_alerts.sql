-- One row per PQL alert. The message in Slack always renders this row's
-- current state; state changes that race are decided here, in SQL.
CREATE TABLE alerts (
    id             uuid PRIMARY KEY,
    account_id     text        NOT NULL,
    tier           text        NOT NULL,
    segment        text        NOT NULL,
    score          integer     NOT NULL,
    channel        text        NOT NULL,          -- as configured: "#name" or an id
    channel_id     text,                          -- resolved when posted
    owner_role     text        NOT NULL DEFAULT '',
    sla_seconds    bigint      NOT NULL,
    model_version  text        NOT NULL,
    explanation    jsonb       NOT NULL,          -- scoring.Result as of the alert (refreshed on upgrade)
    state          text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'claimed', 'contacted', 'closed')),
    created_at     timestamptz NOT NULL,
    posted_at      timestamptz,                   -- the SLA clock starts here
    message_ts     text,
    due_at         timestamptz,
    warn_at        timestamptz,
    claimed_by     text,
    claimed_at     timestamptz,
    contacted_by   text,
    contacted_at   timestamptz,
    closed_by      text,
    closed_at      timestamptz,
    close_reason   text,
    nudged_at      timestamptz,
    breached_at    timestamptz,                   -- escalation recorded
    delivery       text        NOT NULL DEFAULT 'pending' CHECK (delivery IN ('pending', 'posted', 'failed')),
    delivery_error text,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Two replicas re-scoring one account can never open two alerts for it.
CREATE UNIQUE INDEX alerts_one_active_per_account ON alerts (account_id) WHERE state IN ('open', 'claimed');
CREATE INDEX alerts_account_created ON alerts (account_id, created_at DESC);
CREATE INDEX alerts_due ON alerts (due_at) WHERE state IN ('open', 'claimed') AND breached_at IS NULL;
CREATE INDEX alerts_warn ON alerts (warn_at) WHERE state = 'open' AND nudged_at IS NULL;
CREATE INDEX alerts_claimed_by ON alerts (claimed_by, state);
CREATE INDEX alerts_posted_at ON alerts (posted_at);

-- Durable outbox of Slack work; dispatchers lease rows with SKIP LOCKED.
CREATE TABLE slack_outbox (
    id           bigserial PRIMARY KEY,
    alert_id     uuid        NOT NULL REFERENCES alerts (id),
    kind         text        NOT NULL CHECK (kind IN ('post', 'update', 'reply', 'escalation')),
    channel      text        NOT NULL,            -- the alert's channel, or the escalation channel
    body         jsonb,                           -- reply/escalation: {"text": ..., "blocks": ...}
    state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    not_before   timestamptz NOT NULL DEFAULT now(),
    leased_until timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz
);
CREATE INDEX slack_outbox_due ON slack_outbox (not_before, id) WHERE state = 'pending';
CREATE INDEX slack_outbox_alert ON slack_outbox (alert_id);
-- Updates re-render the alert's current state, so one queued update is enough.
CREATE UNIQUE INDEX slack_outbox_one_queued_update ON slack_outbox (alert_id)
    WHERE kind = 'update' AND state = 'pending' AND attempts = 0;

-- Every state change: who, what, when.
CREATE TABLE alert_audit (
    id       bigserial PRIMARY KEY,
    alert_id uuid        NOT NULL REFERENCES alerts (id),
    actor    text        NOT NULL,                -- Slack user id, or "pqlbot"
    action   text        NOT NULL,
    detail   jsonb,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_audit_alert ON alert_audit (alert_id, at);
