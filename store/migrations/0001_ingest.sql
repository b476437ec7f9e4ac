-- Raw events are kept (not just counted) so roll-ups can be rebuilt and
-- lookups can show the latest events.
CREATE TABLE events (
    id            bigserial PRIMARY KEY,
    source        text        NOT NULL,            -- short hash of the write key, never the key
    message_id    text        NOT NULL,
    type          text        NOT NULL,            -- track, identify, group, page
    name          text,                            -- track event name or page name
    user_id       text,
    anonymous_id  text,
    account_id    text,                            -- NULL until the user is linked to a group
    properties    jsonb,
    traits        jsonb,
    context       jsonb,
    ts            timestamptz NOT NULL,            -- skew-corrected time it happened
    sent_at       timestamptz,
    received_at   timestamptz NOT NULL,
    UNIQUE (source, message_id)
);
CREATE INDEX events_account_ts ON events (account_id, ts DESC) WHERE account_id IS NOT NULL;
CREATE INDEX events_account_name_ts ON events (account_id, name, ts) WHERE account_id IS NOT NULL;
-- Events that arrive before their user's group call wait here for attribution.
CREATE INDEX events_unattributed_user ON events ((coalesce(user_id, anonymous_id))) WHERE account_id IS NULL;

CREATE TABLE accounts (
    account_id     text PRIMARY KEY,
    name           text,
    domain         text,
    traits         jsonb       NOT NULL DEFAULT '{}',
    first_event_at timestamptz,
    last_event_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_domain ON accounts (lower(domain));
CREATE INDEX accounts_last_event ON accounts (last_event_at);

CREATE TABLE users (
    user_id    text PRIMARY KEY,
    email      text,
    traits     jsonb       NOT NULL DEFAULT '{}',
    account_id text,                              -- the group it was last linked to
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_email ON users (lower(email));

CREATE TABLE account_users (
    account_id text        NOT NULL,
    user_id    text        NOT NULL,
    linked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_users_user ON account_users (user_id);

-- Daily UTC buckets: scoring reads O(signals x window days) rows per account.
CREATE TABLE account_daily (
    account_id text   NOT NULL,
    day        date   NOT NULL,
    kind       text   NOT NULL,                   -- track or page
    name       text   NOT NULL,
    n          bigint NOT NULL,
    sums       jsonb  NOT NULL DEFAULT '{}',      -- numeric property -> sum
    PRIMARY KEY (account_id, day, kind, name)
);

CREATE TABLE account_daily_users (
    account_id text NOT NULL,
    day        date NOT NULL,
    user_id    text NOT NULL,
    PRIMARY KEY (account_id, day, user_id)
);

CREATE TABLE rescore_queue (
    account_id  text PRIMARY KEY,
    enqueued_at timestamptz NOT NULL DEFAULT now()
);
