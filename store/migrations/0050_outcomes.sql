-- What became of accounts (SPEC §7): won, opportunity, lost. Derived rows
-- come from stored events that the model's outcomes rules name (one row per
-- event and kind, so re-deriving or redelivering never doubles them);
-- imported rows come from a CRM export (one row per account, kind and time,
-- so importing a file twice changes nothing).
CREATE TABLE outcomes (
    id          bigserial PRIMARY KEY,
    account_id  text,                              -- NULL: imported for an account not seen yet
    account_ref text        NOT NULL,              -- as imported (account id or domain); the account id when derived
    ref_domain  text,                              -- imported: account_ref as a normalised domain, for matching
    kind        text        NOT NULL CHECK (kind IN ('won', 'opportunity', 'lost')),
    at          timestamptz NOT NULL,
    source      text        NOT NULL CHECK (source IN ('event', 'trait', 'import')),
    event_id    bigint,                            -- derived: the event that carried it
    rule        text,                              -- derived: the model rule that matched
    amount      numeric,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((source = 'import') = (event_id IS NULL))
);
CREATE UNIQUE INDEX outcomes_derived ON outcomes (event_id, kind) WHERE event_id IS NOT NULL;
CREATE UNIQUE INDEX outcomes_imported ON outcomes (account_ref, kind, at) WHERE source = 'import';
CREATE INDEX outcomes_account ON outcomes (account_id, kind, at) WHERE account_id IS NOT NULL;
CREATE INDEX outcomes_kind_at ON outcomes (kind, at) WHERE account_id IS NOT NULL;
-- Imports waiting for their account: matched when it appears.
CREATE INDEX outcomes_unmatched_ref ON outcomes (account_ref) WHERE account_id IS NULL;
CREATE INDEX outcomes_unmatched_domain ON outcomes (ref_domain) WHERE account_id IS NULL;

-- The outcome rules the derived rows were made with: a model whose rules
-- hash differently re-derives them from stored events.
CREATE TABLE outcome_derivation (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    rules_hash text        NOT NULL,
    derived_at timestamptz NOT NULL
);
