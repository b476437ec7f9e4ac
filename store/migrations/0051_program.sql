-- Program figures count the accounts first seen in a period.
CREATE INDEX accounts_first_event ON accounts (first_event_at);

-- One row per digest period ('week:2026-11-30', 'month:2026-12'): the
-- primary key is what makes a digest go out once across replicas and
-- restarts. A replica that inserts the row owns the post; a post that
-- fails or a replica that dies leaves the row pending for the next lease.
CREATE TABLE program_digests (
    period_key   text PRIMARY KEY,
    channel      text        NOT NULL,
    due_at       timestamptz NOT NULL,
    state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent')),
    leased_until timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text,
    channel_id   text,
    message_ts   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX program_digests_pending ON program_digests (due_at) WHERE state = 'pending';
