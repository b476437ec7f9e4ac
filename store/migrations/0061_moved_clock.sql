-- A hand-raise that moves an open alert to the hand_raiser route starts
-- the new alert's SLA clock at the hand-raise itself, not at the new post:
-- the person asked for sales at that moment, and a route's SLA is a promise
-- about how long they wait. NULL: the clock starts at the post.
ALTER TABLE alerts ADD COLUMN clock_from timestamptz;
