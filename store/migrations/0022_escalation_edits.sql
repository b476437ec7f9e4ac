-- Escalations are edited in place when the alert is later claimed,
-- contacted or closed: the escalation post's address is kept on the alert,
-- and an 'escalation_update' job re-renders it.
ALTER TABLE alerts ADD COLUMN escalation_channel_id text;
ALTER TABLE alerts ADD COLUMN escalation_ts text;
ALTER TABLE slack_outbox DROP CONSTRAINT slack_outbox_kind_check;
ALTER TABLE slack_outbox ADD CONSTRAINT slack_outbox_kind_check
    CHECK (kind IN ('post', 'update', 'reply', 'escalation', 'escalation_update'));
-- It renders the alert's state when it runs: one queued edit is enough.
CREATE UNIQUE INDEX slack_outbox_one_queued_escalation_update ON slack_outbox (alert_id)
    WHERE kind = 'escalation_update' AND state = 'pending' AND attempts = 0;
