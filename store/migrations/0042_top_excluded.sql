-- `/pql top` leaves out accounts nobody should work: marked not a fit,
-- suppressed (already customers) or failing a fit gate. The reason is
-- derived from the stored explanation, so every writer of account_scores
-- keeps it right without knowing about it. The first that applies wins.
ALTER TABLE account_scores ADD COLUMN excluded text GENERATED ALWAYS AS (
    CASE
        WHEN result->'reasons' @> '[{"code": "disqualified"}]' THEN 'disqualified'
        WHEN result->'reasons' @> '[{"code": "suppressed"}]' THEN 'suppressed'
        WHEN result->'reasons' @> '[{"code": "gate_failed"}]' THEN 'gate_failed'
    END) STORED;
CREATE INDEX account_scores_top_included ON account_scores (score DESC, account_id) WHERE excluded IS NULL;
CREATE INDEX account_scores_top_excluded ON account_scores (score DESC) WHERE excluded IS NOT NULL;
