-- Re-scoring whose cost follows the accounts that changed, not the events
-- that arrived (issue 15).

-- When the re-scorer last scored each account, whether or not the stored
-- score changed. A busy account is taken again only Debounce after this,
-- so a stream of its events costs one re-score per interval; an account
-- not scored lately is taken at once.
CREATE TABLE rescore_last (
    account_id text PRIMARY KEY,
    scored_at  timestamptz NOT NULL
);

-- A queued hand-raise skips the debounce: it is the alert reps want first.
ALTER TABLE rescore_queue ADD COLUMN urgent boolean NOT NULL DEFAULT false;

-- The stored score's reason codes (comma-separated): with score, tier,
-- segment, alertability and model they decide whether a re-score changed
-- anything worth writing, without reading the explanation document.
ALTER TABLE account_scores ADD COLUMN reasons text NOT NULL DEFAULT '';
