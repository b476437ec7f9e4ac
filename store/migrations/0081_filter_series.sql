-- Property-filtered signals (`where`) rolled up at ingest (issue 15).
-- Scoring such a signal used to scan the account's raw events on every
-- re-score (all of its history for an all-time window): the most expensive
-- statement of a re-score batch, growing with the account's history.
--
-- Each filter the model uses is a row here; ingest counts the events it
-- stores (or attributes) that match a filter into account_daily under
-- kind 'filter' and the filter's key, and stamps each event with the
-- newest filter epoch it saw. A new filter is added under an exclusive
-- lock that every ingest commit holds shared, so the commits that did not
-- count it are exactly the events stamped with a lower epoch: its history
-- is then counted from those, without stopping ingest, and the filter
-- turns live. Until then the scorer reads the raw events as before.
CREATE TABLE filter_series (
    key        text PRIMARY KEY,
    epoch      bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    kind       text   NOT NULL,          -- track, or page (pages and screens)
    name       text   NOT NULL,
    where_json jsonb  NOT NULL,
    sum_prop   text   NOT NULL DEFAULT '',
    live       boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    live_at    timestamptz
);

-- Events stored before this release are epoch 0. pqlbot always stamps the
-- epoch itself, so the default marks the rows a pod of an older release
-- stores during a rolling upgrade (-1): they are counted for the live
-- filters afterwards and marked -2 (store.FixUpFilters).
ALTER TABLE events ADD COLUMN filter_epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE events ALTER COLUMN filter_epoch SET DEFAULT -1;
CREATE INDEX events_filter_unstamped ON events (id) WHERE filter_epoch = -1;
