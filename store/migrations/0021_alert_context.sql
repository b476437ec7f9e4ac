-- Alerts a rep can act on: the score the alert was raised with (the message
-- shows "score 35 · was 10 at alert" once the current score moved), the
-- route's mention as of the alert (its nudge mentions the same people), and
-- the link between an alert and the one a hand-raise moved it to.
-- NULL (rows from before this migration): the alert's score never moved.
ALTER TABLE alerts ADD COLUMN alert_score integer;
ALTER TABLE alerts ADD COLUMN mention text[] NOT NULL DEFAULT '{}';
ALTER TABLE alerts ADD COLUMN moved_to uuid REFERENCES alerts (id);
ALTER TABLE alerts ADD COLUMN moved_from uuid REFERENCES alerts (id);
