-- Scoring: the current score of every account, its history, and the
-- disqualification the "Not a fit" button sets.

-- Set by the claim/SLA work when a rep marks an alert "Not a fit"; the
-- scorer reports the account as disqualified until then.
ALTER TABLE accounts ADD COLUMN disqualified_until timestamptz;

-- The current score per account: one row, replaced on every re-score.
CREATE TABLE account_scores (
    account_id    text PRIMARY KEY,
    score         integer     NOT NULL,
    tier          text        NOT NULL,            -- '' when below every tier
    segment       text        NOT NULL,
    alertable     boolean     NOT NULL,
    result        jsonb       NOT NULL,            -- the full scoring.Result (explanation)
    model_version text        NOT NULL,
    model_hash    text        NOT NULL,
    scored_at     timestamptz NOT NULL,
    -- false until the re-scorer's OnScored hook (alert decisions) has run for
    -- this result: a crash between saving and deciding is retried by the
    -- stale sweep instead of silently skipping an alert.
    hooked        boolean     NOT NULL DEFAULT false
);
CREATE INDEX account_scores_top ON account_scores (score DESC, tier);
CREATE INDEX account_scores_tier_top ON account_scores (tier, score DESC);
CREATE INDEX account_scores_unhooked ON account_scores (scored_at) WHERE NOT hooked;

-- One row per change of score, tier or model version.
CREATE TABLE score_history (
    id            bigserial PRIMARY KEY,
    account_id    text        NOT NULL,
    score         integer     NOT NULL,
    tier          text        NOT NULL,
    model_version text        NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX score_history_account_at ON score_history (account_id, at DESC);

-- The re-scorer takes the oldest queued accounts first.
CREATE INDEX rescore_queue_enqueued ON rescore_queue (enqueued_at);
