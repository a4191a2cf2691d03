-- mimi-store schema, version 2 (SQLite): what delivery faults leave behind
-- (docs/decisions/0067).

-- Outbox rows a peer refused for good (a permanent 4xx to /notify): out of the queue, so the
-- rows behind them move on, and kept for operators. id is the outbox row's id.
CREATE TABLE outbox_dead_letters (
    id          INTEGER NOT NULL PRIMARY KEY,
    destination TEXT    NOT NULL,
    room        TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    body        BLOB    NOT NULL,
    created_ms  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    dead_ms     INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_dead_letters_by_destination ON outbox_dead_letters (destination, id);

-- Application messages a hub accepted, by SHA-256 of the PrivateMessage, with the answer it
-- gave: a resubmission of the same message (a client retrying after a lost answer) gets the
-- same answer instead of a second acceptance. Written in the event's transaction.
CREATE TABLE hub_submissions (
    room         TEXT    NOT NULL REFERENCES hub_rooms (room) ON DELETE CASCADE,
    message_hash BLOB    NOT NULL,
    from_domain  TEXT    NOT NULL,
    sending_uri  TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    response     BLOB    NOT NULL,
    accepted_ms  INTEGER NOT NULL,
    PRIMARY KEY (room, message_hash)
) STRICT, WITHOUT ROWID;
CREATE INDEX hub_submissions_by_age ON hub_submissions (accepted_ms);

-- Redeliveries a follower acknowledged without delivering them again, per hub.
CREATE TABLE follower_duplicates (
    hub   TEXT    NOT NULL PRIMARY KEY,
    count INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
