-- Each event a provider puts in its clients' streams is stored once, with the number of
-- deliveries that refer to it (docs/decisions/0156). Before, every member's delivery row held
-- its own copy of the message, so a commit in a room of N members wrote N copies and growing
-- a room to N members wrote O(N^2) bytes (found by `mimi bench large-room`).
CREATE TABLE stream_events (
    id         INTEGER NOT NULL PRIMARY KEY,
    room       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    created_ms INTEGER NOT NULL,
    -- Deliveries referring to this event; the event is removed with its last delivery.
    refs       INTEGER NOT NULL CHECK (refs >= 0)
) STRICT;

-- Existing deliveries keep their cursors; each becomes an event of its own.
INSERT INTO stream_events (id, room, kind, body, created_ms, refs)
SELECT rowid, room, kind, body, created_ms, 1 FROM deliveries;

CREATE TABLE stream_deliveries (
    client_uri TEXT    NOT NULL,
    cursor     INTEGER NOT NULL,
    event      INTEGER NOT NULL,
    PRIMARY KEY (client_uri, cursor)
) STRICT, WITHOUT ROWID;

INSERT INTO stream_deliveries (client_uri, cursor, event)
SELECT client_uri, cursor, rowid FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE stream_deliveries RENAME TO deliveries;
