-- Several instances of one provider share this database (docs/decisions/0160): one
-- instance at a time sends a destination's outbox queue, the holder of its lease.
CREATE TABLE outbox_leases (
    destination TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT NOT NULL,
    until_ms    BIGINT NOT NULL
);
