-- Invalid messages are never dropped silently: each is kept whole (as bytes,
-- since it may hold text PostgreSQL refuses) with why it was refused, and
-- listed by `pqlbot rejects`.
CREATE TABLE rejected_messages (
    id          bigserial   PRIMARY KEY,
    source      text        NOT NULL,            -- short hash of the write key
    received_at timestamptz NOT NULL DEFAULT now(),
    batch_index integer     NOT NULL,            -- position in its batch; 0 for a single call
    reason      text        NOT NULL,            -- stable code (events.Reason*)
    field       text        NOT NULL,            -- the field at fault
    error       text        NOT NULL,            -- the message the sender was given
    raw         bytea       NOT NULL             -- the message as sent, decompressed
);
CREATE INDEX rejected_messages_received ON rejected_messages (received_at);
