-- Undecided scores (hooked = false) belong to the replica that saved them
-- for as long as it renews this lease while its alert decisions run. Once
-- the lease (or, before the first renewal, scored_at plus the lease
-- duration) has passed, the owner is presumed dead and any replica queues
-- the account again: a crash between score and decision costs seconds, not
-- a periodic sweep.
ALTER TABLE account_scores ADD COLUMN hook_lease_until timestamptz;
