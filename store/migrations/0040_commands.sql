-- Slack retries an event it thinks timed out (X-Slack-Retry-Num); the
-- first insert of an event_id wins and every retry is a no-op.
CREATE TABLE slack_events_seen (
    event_id text        PRIMARY KEY,
    seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_events_seen_at ON slack_events_seen (seen_at);

-- Reports. `/pql sla` reads a period's posted alerts by posted_at
-- (alerts_posted_at); the App Home lists active alerts past their deadline
-- (breached or not yet swept) and open alerts nobody claimed, oldest first.
CREATE INDEX alerts_active_due ON alerts (due_at) WHERE state IN ('open', 'claimed') AND posted_at IS NOT NULL;
CREATE INDEX alerts_unclaimed_posted ON alerts (posted_at) WHERE state = 'open' AND posted_at IS NOT NULL;
