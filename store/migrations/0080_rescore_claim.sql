-- Re-score claims that do not hold row locks while an account is scored
-- (issue 15). A re-score batch used to delete its queue rows at the start
-- of the transaction that loads facts and saves scores, so every ingest
-- commit queueing one of those accounts waited for the whole batch: under
-- load the queue upsert was PostgreSQL's most expensive statement, nearly
-- all of it lock waits, and ingest and scoring ran in turn, not together.
--
-- Now a batch claims its rows in one short statement (claim, claimed_until)
-- and deletes them when its scores commit, but only those whose version is
-- still the one it claimed: an ingest commit that queues a claimed account
-- bumps version instead of waiting, and the row stays for a later batch.
-- A claim whose worker died is taken again once claimed_until has passed.
ALTER TABLE rescore_queue
    ADD COLUMN version       bigint NOT NULL DEFAULT 0,
    ADD COLUMN claim         uuid,
    ADD COLUMN claimed_until timestamptz;
