-- The sequence number of a hosted room's last state change (an event with a snapshot), so
-- that an instance whose copy of the room is behind only by application messages catches up
-- without reloading the room (docs/decisions/0160).
ALTER TABLE hub_rooms ADD COLUMN state_seq BIGINT NOT NULL DEFAULT 0;
