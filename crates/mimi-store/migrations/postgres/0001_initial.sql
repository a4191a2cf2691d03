-- mimi-store schema, version 1 (PostgreSQL): what SQLite versions 1 to 3 hold, in one file.
--
-- Conventions (docs/decisions/0060..0066, as for SQLite):
-- * identifiers are normalized mimi:// URI strings, TEXT COLLATE "C": compared and ordered
--   byte for byte, as SQLite does (the server's default collation may be a locale's);
-- * protocol values owned by the wire layer are opaque BYTEA;
-- * times are BIGINT milliseconds since the UNIX epoch (*_ms), KeyPackage lifetimes BIGINT
--   seconds (*_s); the caller supplies every "now"; u64 values are stored as BIGINT;
-- * constraints are named: the store maps a unique violation to its message by name.

-- ---- accounts ---------------------------------------------------------------------------

CREATE TABLE users (
    user_uri            TEXT COLLATE "C" NOT NULL,
    username            TEXT COLLATE "C" NOT NULL,
    password_hash       TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    -- Unicode-lowercased display name, for case-insensitive search.
    display_name_folded TEXT    NOT NULL,
    searchable          BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms          BIGINT  NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (user_uri),
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE tokens (
    token_hash BYTEA  NOT NULL,
    user_uri   TEXT COLLATE "C" NOT NULL,
    expires_ms BIGINT NOT NULL,
    CONSTRAINT tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT tokens_user_fkey FOREIGN KEY (user_uri) REFERENCES users (user_uri)
        ON DELETE CASCADE
);
CREATE INDEX tokens_by_user ON tokens (user_uri);
CREATE INDEX tokens_by_expiry ON tokens (expires_ms);

CREATE TABLE clients (
    client_uri    TEXT COLLATE "C" NOT NULL,
    user_uri      TEXT COLLATE "C" NOT NULL,
    credential    BYTEA  NOT NULL,
    signature_key BYTEA  NOT NULL,
    created_ms    BIGINT NOT NULL,
    CONSTRAINT clients_pkey PRIMARY KEY (client_uri),
    CONSTRAINT clients_signature_key_key UNIQUE (signature_key),
    CONSTRAINT clients_user_fkey FOREIGN KEY (user_uri) REFERENCES users (user_uri)
        ON DELETE CASCADE
);
CREATE INDEX clients_by_user ON clients (user_uri, created_ms, client_uri);

-- ---- key packages -----------------------------------------------------------------------

-- id orders a client's KeyPackages by age (oldest claimed first).
CREATE TABLE key_packages (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY,
    client_uri  TEXT COLLATE "C" NOT NULL,
    kp_ref      BYTEA   NOT NULL,
    bytes       BYTEA   NOT NULL,
    last_resort BOOLEAN NOT NULL,
    not_after_s BIGINT  NOT NULL,
    CONSTRAINT key_packages_pkey PRIMARY KEY (id),
    CONSTRAINT key_packages_kp_ref_key UNIQUE (kp_ref),
    CONSTRAINT key_packages_client_fkey FOREIGN KEY (client_uri) REFERENCES clients (client_uri)
        ON DELETE CASCADE
);
CREATE INDEX key_packages_by_client ON key_packages (client_uri, last_resort, id);
-- At most one last-resort KeyPackage per client.
CREATE UNIQUE INDEX key_packages_one_last_resort ON key_packages (client_uri) WHERE last_resort;

-- One-time KeyPackages already handed out: a re-upload is never offered again. Kept until
-- the KeyPackage's lifetime ends (after which it would not be handed out anyway).
CREATE TABLE spent_key_packages (
    kp_ref      BYTEA  NOT NULL,
    not_after_s BIGINT NOT NULL,
    CONSTRAINT spent_key_packages_pkey PRIMARY KEY (kp_ref)
);
CREATE INDEX spent_key_packages_by_expiry ON spent_key_packages (not_after_s);

-- Which local client a Welcome for a KeyPackageRef goes to; `uses` counts the claims not yet
-- matched by a Welcome (a last-resort KeyPackage can be claimed several times).
CREATE TABLE welcome_routes (
    kp_ref     BYTEA  NOT NULL,
    client_uri TEXT COLLATE "C" NOT NULL,
    uses       BIGINT NOT NULL CHECK (uses > 0),
    CONSTRAINT welcome_routes_pkey PRIMARY KEY (kp_ref)
);

-- ---- hub side of rooms ------------------------------------------------------------------

-- One row per hosted room: its latest state; seq is the last accepted event's number. A
-- writer locks the row (FOR NO KEY UPDATE) before it checks seq: the room's order.
CREATE TABLE hub_rooms (
    room          TEXT COLLATE "C" NOT NULL,
    seq           BIGINT NOT NULL CHECK (seq >= 0),
    group_info    BYTEA  NOT NULL,
    ratchet_tree  BYTEA  NOT NULL,
    policy_preset TEXT   NOT NULL,
    updated_ms    BIGINT NOT NULL,
    CONSTRAINT hub_rooms_pkey PRIMARY KEY (room)
);

-- Proposals accepted in the room's current epoch, in acceptance order.
CREATE TABLE hub_pending_proposals (
    room        TEXT COLLATE "C" NOT NULL,
    position    BIGINT NOT NULL,
    message     BYTEA  NOT NULL,
    accepted_ms BIGINT NOT NULL,
    CONSTRAINT hub_pending_proposals_pkey PRIMARY KEY (room, position),
    CONSTRAINT hub_pending_proposals_room_fkey FOREIGN KEY (room) REFERENCES hub_rooms (room)
        ON DELETE CASCADE
);

-- The room's event log: (room, seq) is the room's total order.
CREATE TABLE hub_events (
    room       TEXT COLLATE "C" NOT NULL,
    seq        BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    created_ms BIGINT NOT NULL,
    CONSTRAINT hub_events_pkey PRIMARY KEY (room, seq),
    CONSTRAINT hub_events_room_fkey FOREIGN KEY (room) REFERENCES hub_rooms (room)
        ON DELETE CASCADE
);

-- Application messages a hub accepted, by SHA-256 of the PrivateMessage, with the answer it
-- gave (decision 0067). Written in the event's transaction.
CREATE TABLE hub_submissions (
    room         TEXT COLLATE "C" NOT NULL,
    message_hash BYTEA  NOT NULL,
    from_domain  TEXT   NOT NULL,
    sending_uri  TEXT   NOT NULL,
    seq          BIGINT NOT NULL,
    response     BYTEA  NOT NULL,
    accepted_ms  BIGINT NOT NULL,
    CONSTRAINT hub_submissions_pkey PRIMARY KEY (room, message_hash),
    CONSTRAINT hub_submissions_room_fkey FOREIGN KEY (room) REFERENCES hub_rooms (room)
        ON DELETE CASCADE
);
CREATE INDEX hub_submissions_by_age ON hub_submissions (accepted_ms);

-- ---- outbox: deliveries to other providers ----------------------------------------------

-- id (an identity: never reused) is the send order per destination.
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    destination     TEXT COLLATE "C" NOT NULL,
    room            TEXT COLLATE "C" NOT NULL,
    seq             BIGINT NOT NULL,
    body            BYTEA  NOT NULL,
    created_ms      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    last_error      TEXT,
    CONSTRAINT outbox_pkey PRIMARY KEY (id)
);
CREATE INDEX outbox_by_destination ON outbox (destination, id);

-- Outbox rows a peer refused for good (a permanent 4xx to /notify, decision 0067): out of
-- the queue, kept for operators. id is the outbox row's id.
CREATE TABLE outbox_dead_letters (
    id          BIGINT NOT NULL,
    destination TEXT COLLATE "C" NOT NULL,
    room        TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    body        BYTEA  NOT NULL,
    created_ms  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL,
    reason      TEXT   NOT NULL,
    dead_ms     BIGINT NOT NULL,
    CONSTRAINT outbox_dead_letters_pkey PRIMARY KEY (id)
);
CREATE INDEX outbox_dead_letters_by_destination ON outbox_dead_letters (destination, id);

-- ---- follower side of rooms -------------------------------------------------------------

-- Fanout messages seen, by SHA-256 of their encoding, per room: redeliveries are dropped.
CREATE TABLE follower_seen (
    room         TEXT COLLATE "C" NOT NULL,
    message_hash BYTEA NOT NULL,
    hub          TEXT COLLATE "C" NOT NULL,
    CONSTRAINT follower_seen_pkey PRIMARY KEY (room, message_hash)
);

-- Redeliveries a follower acknowledged without delivering them again, per hub.
CREATE TABLE follower_duplicates (
    hub   TEXT COLLATE "C" NOT NULL,
    count BIGINT NOT NULL,
    CONSTRAINT follower_duplicates_pkey PRIMARY KEY (hub)
);

-- Local clients in each followed room.
CREATE TABLE follower_members (
    room       TEXT COLLATE "C" NOT NULL,
    client_uri TEXT COLLATE "C" NOT NULL,
    CONSTRAINT follower_members_pkey PRIMARY KEY (room, client_uri)
);
-- For the per-user room count.
CREATE INDEX follower_members_by_client ON follower_members (client_uri);

-- ---- client event streams ---------------------------------------------------------------

-- The last cursor given out per client: cursors are dense (1, 2, 3, ...) and assigned under
-- this row's lock, held to the commit, so commit order is cursor order.
CREATE TABLE client_streams (
    client_uri  TEXT COLLATE "C" NOT NULL,
    last_cursor BIGINT NOT NULL,
    CONSTRAINT client_streams_pkey PRIMARY KEY (client_uri)
);

CREATE TABLE deliveries (
    client_uri TEXT COLLATE "C" NOT NULL,
    cursor     BIGINT NOT NULL,
    room       TEXT COLLATE "C" NOT NULL,
    kind       TEXT   NOT NULL,
    body       BYTEA  NOT NULL,
    created_ms BIGINT NOT NULL,
    CONSTRAINT deliveries_pkey PRIMARY KEY (client_uri, cursor)
);

-- ---- consent (protocol-06 §5.7) ---------------------------------------------------------

-- room '' is the general consent (any room); a real room URI is never empty.
CREATE TABLE consents (
    requester_uri TEXT COLLATE "C" NOT NULL,
    target_uri    TEXT COLLATE "C" NOT NULL,
    room          TEXT COLLATE "C" NOT NULL,
    state         TEXT   NOT NULL CHECK (state IN ('requested', 'granted', 'revoked')),
    updated_ms    BIGINT NOT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (requester_uri, target_uri, room)
);

-- ---- search (identifierQuery, protocol-06 §5.8) -----------------------------------------

CREATE TABLE user_identifiers (
    user_uri TEXT COLLATE "C" NOT NULL,
    kind     TEXT COLLATE "C" NOT NULL,
    value    TEXT COLLATE "C" NOT NULL,
    -- Unicode-lowercased value, for case-insensitive nick search.
    folded   TEXT NOT NULL,
    CONSTRAINT user_identifiers_pkey PRIMARY KEY (kind, value, user_uri),
    CONSTRAINT user_identifiers_user_fkey FOREIGN KEY (user_uri) REFERENCES users (user_uri)
        ON DELETE CASCADE
);
CREATE INDEX user_identifiers_by_user ON user_identifiers (user_uri);
-- A handle names one user.
CREATE UNIQUE INDEX user_identifiers_one_handle ON user_identifiers (value) WHERE kind = 'handle';

-- ---- peers (docs/decisions/0070) --------------------------------------------------------

CREATE TABLE peer_client_cas (
    domain     TEXT COLLATE "C" NOT NULL,
    pem        TEXT   NOT NULL,
    fetched_ms BIGINT NOT NULL,
    CONSTRAINT peer_client_cas_pkey PRIMARY KEY (domain)
);

-- ---- abuse reports (protocol-06 §5.9, docs/decisions/0069) ------------------------------

CREATE TABLE abuse_reports (
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    room            TEXT COLLATE "C" NOT NULL,
    reporter_domain TEXT     NOT NULL,
    reporting_user  TEXT,
    alleged_abuser  TEXT     NOT NULL,
    reason_code     SMALLINT NOT NULL CHECK (reason_code BETWEEN 0 AND 255),
    report          BYTEA    NOT NULL,
    received_ms     BIGINT   NOT NULL,
    CONSTRAINT abuse_reports_pkey PRIMARY KEY (id)
);
CREATE INDEX abuse_reports_by_room ON abuse_reports (room, id);
