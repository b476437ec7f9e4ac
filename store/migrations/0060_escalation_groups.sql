-- Breaches due in the same minute for one escalation channel share one
-- post (with business hours every overnight alert has the same deadline,
-- and one post per alert flooded the channel). An escalation is that post:
-- the alerts it lists point at it, and its jobs in the outbox carry it.
-- group_key is the channel and the due minute, so two sweepers recording
-- breaches of one minute meet on the same row (INSERT ... ON CONFLICT) and
-- only the one that created it queues the post.
CREATE TABLE escalations (
    id         bigserial PRIMARY KEY,
    channel    text        NOT NULL,          -- escalation_channel as configured
    group_key  text        NOT NULL UNIQUE,   -- "<channel>@<due minute, unix seconds>"; "alert:<id>" before groups
    due_minute timestamptz NOT NULL,
    channel_id text,                          -- where the post is, once it is out
    ts         text,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE alerts ADD COLUMN escalation_id bigint REFERENCES escalations (id);
CREATE INDEX alerts_escalation ON alerts (escalation_id) WHERE escalation_id IS NOT NULL;
ALTER TABLE slack_outbox ADD COLUMN escalation_id bigint REFERENCES escalations (id);
CREATE INDEX slack_outbox_escalation ON slack_outbox (escalation_id) WHERE escalation_id IS NOT NULL;

-- Escalations from before groups become groups of one, so their edits and
-- queued posts carry on.
INSERT INTO escalations (channel, group_key, due_minute, channel_id, ts)
SELECT DISTINCT ON (a.id) o.channel, 'alert:' || a.id, date_trunc('minute', coalesce(a.due_at, a.breached_at, a.created_at)),
       a.escalation_channel_id, a.escalation_ts
FROM alerts a JOIN slack_outbox o ON o.alert_id = a.id AND o.kind = 'escalation'
ORDER BY a.id, o.id;
UPDATE alerts a SET escalation_id = e.id FROM escalations e WHERE e.group_key = 'alert:' || a.id;
UPDATE slack_outbox o SET escalation_id = a.escalation_id
FROM alerts a WHERE a.id = o.alert_id AND o.kind IN ('escalation', 'escalation_update');
-- alerts.escalation_channel_id, escalation_ts and the per-alert unique
-- index on queued edits are no longer used; they stay while replicas of
-- the previous build may still run beside this one (a job such a replica
-- queues without an escalation is adopted as a group of one).

-- An edit renders the whole post as it stands: one queued per escalation.
CREATE UNIQUE INDEX slack_outbox_one_queued_escalation_edit ON slack_outbox (escalation_id)
    WHERE kind = 'escalation_update' AND state = 'pending' AND attempts = 0;
