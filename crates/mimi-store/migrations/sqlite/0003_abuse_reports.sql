-- mimi-store schema, version 3 (SQLite): abuse reports a hub accepted (protocol-06 §5.9),
-- stored before the 201 (docs/decisions/0069).
CREATE TABLE abuse_reports (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    room            TEXT    NOT NULL,
    reporter_domain TEXT    NOT NULL,
    reporting_user  TEXT,
    alleged_abuser  TEXT    NOT NULL,
    reason_code     INTEGER NOT NULL,
    report          BLOB    NOT NULL,
    received_ms     INTEGER NOT NULL
) STRICT;
CREATE INDEX abuse_reports_by_room ON abuse_reports (room, id);
