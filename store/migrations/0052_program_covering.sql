-- Program figures read every alert of a 90-day period; the alerts table is
-- wide (each row keeps its explanation), so they read a covering index
-- instead (an index-only scan once autovacuum has marked the pages).
CREATE INDEX alerts_program ON alerts (posted_at) INCLUDE (account_id, tier, contacted_at, state, close_reason);
-- ... and each alerted account's first event, likewise without the traits.
CREATE INDEX accounts_first_seen ON accounts (account_id) INCLUDE (first_event_at);
