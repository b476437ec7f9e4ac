-- Backtests replay each account's group calls (its trait history) in time
-- order; without this index that read scans every event of every account.
CREATE INDEX events_group_account_ts ON events (account_id, ts) WHERE type = 'group' AND account_id IS NOT NULL;
