-- An append-only re-score queue, so ingest and re-scoring never wait for
-- each other (issue 15). The old queue had one row per account: every
-- ingest commit upserted its accounts' rows and every re-score batch
-- deleted them, so under load each side queued behind the other's row
-- locks (the upsert was PostgreSQL's most expensive statement, nearly all
-- of it lock waits), and a busy account's commits queued behind each other.
--
-- Now an ingest commit only inserts requests (no conflicts, no shared rows
-- locked). A re-score batch takes accounts under a transaction-scoped
-- advisory lock (pg_try_advisory_xact_lock, so replicas skip each other's
-- accounts and a crash releases them), reads their requests, scores them
-- with facts read after that, and deletes exactly the requests it read.
-- Requests committed meanwhile stay for the next batch.
CREATE TABLE rescore_requests (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   text NOT NULL,
    urgent       boolean NOT NULL DEFAULT false,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rescore_requests_account ON rescore_requests (account_id);

INSERT INTO rescore_requests (account_id, urgent, requested_at)
SELECT account_id, urgent, enqueued_at FROM rescore_queue ORDER BY enqueued_at;

DROP TABLE rescore_queue;
