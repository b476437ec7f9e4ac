-- The integrations a message was sent with (the batch's merged in, the
-- message's own keys winning): which destinations the sender meant it for.
-- A column beside context, as Segment's message shape has it, so it can be
-- queried as sent and the context stays exactly what the client sent.
-- Nullable without a default: adding it rewrites no existing row.
ALTER TABLE events ADD COLUMN integrations jsonb;
