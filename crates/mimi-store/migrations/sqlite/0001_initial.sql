-- mimi-store schema, version 1 (SQLite).
--
-- Conventions (docs/decisions/0060..0066):
-- * identifiers are normalized mimi:// URI strings (TEXT), compared byte for byte;
-- * protocol values owned by the wire layer are opaque BLOBs;
-- * times are INTEGER milliseconds since the UNIX epoch (*_ms), KeyPackage lifetimes
--   INTEGER seconds (*_s); the caller supplies every "now";
-- * tables are STRICT; large BLOBs live in rowid tables, small keys in WITHOUT ROWID ones.

-- ---- accounts ---------------------------------------------------------------------------

CREATE TABLE users (
    user_uri            TEXT    NOT NULL PRIMARY KEY,
    username            TEXT    NOT NULL UNIQUE,
    password_hash       TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    -- Unicode-lowercased display name, for case-insensitive search.
    display_name_folded TEXT    NOT NULL,
    searchable          INTEGER NOT NULL DEFAULT 0 CHECK (searchable IN (0, 1)),
    created_ms          INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    token_hash BLOB    NOT NULL PRIMARY KEY,
    user_uri   TEXT    NOT NULL REFERENCES users (user_uri) ON DELETE CASCADE,
    expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_by_user ON tokens (user_uri);
CREATE INDEX tokens_by_expiry ON tokens (expires_ms);

CREATE TABLE clients (
    client_uri    TEXT    NOT NULL PRIMARY KEY,
    user_uri      TEXT    NOT NULL REFERENCES users (user_uri) ON DELETE CASCADE,
    credential    BLOB    NOT NULL,
    signature_key BLOB    NOT NULL UNIQUE,
    created_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX clients_by_user ON clients (user_uri, created_ms, client_uri);

-- ---- key packages -----------------------------------------------------------------------

-- id orders a client's KeyPackages by age (oldest claimed first).
CREATE TABLE key_packages (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    client_uri  TEXT    NOT NULL REFERENCES clients (client_uri) ON DELETE CASCADE,
    kp_ref      BLOB    NOT NULL UNIQUE,
    bytes       BLOB    NOT NULL,
    last_resort INTEGER NOT NULL CHECK (last_resort IN (0, 1)),
    not_after_s INTEGER NOT NULL
) STRICT;
CREATE INDEX key_packages_by_client ON key_packages (client_uri, last_resort, id);
-- At most one last-resort KeyPackage per client.
CREATE UNIQUE INDEX key_packages_one_last_resort ON key_packages (client_uri) WHERE last_resort = 1;

-- One-time KeyPackages already handed out: a re-upload is never offered again. Kept until
-- the KeyPackage's lifetime ends (after which it would not be handed out anyway).
CREATE TABLE spent_key_packages (
    kp_ref      BLOB    NOT NULL PRIMARY KEY,
    not_after_s INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Which local client a Welcome for a KeyPackageRef goes to; `uses` counts the claims not yet
-- matched by a Welcome (a last-resort KeyPackage can be claimed several times).
CREATE TABLE welcome_routes (
    kp_ref     BLOB    NOT NULL PRIMARY KEY,
    client_uri TEXT    NOT NULL,
    uses       INTEGER NOT NULL CHECK (uses > 0)
) STRICT, WITHOUT ROWID;

-- ---- hub side of rooms ------------------------------------------------------------------

-- One row per hosted room: its latest state; seq is the last accepted event's number.
CREATE TABLE hub_rooms (
    room          TEXT    NOT NULL PRIMARY KEY,
    seq           INTEGER NOT NULL CHECK (seq >= 0),
    group_info    BLOB    NOT NULL,
    ratchet_tree  BLOB    NOT NULL,
    policy_preset TEXT    NOT NULL,
    updated_ms    INTEGER NOT NULL
) STRICT;

-- Proposals accepted in the room's current epoch, in acceptance order.
CREATE TABLE hub_pending_proposals (
    room        TEXT    NOT NULL REFERENCES hub_rooms (room) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    message     BLOB    NOT NULL,
    accepted_ms INTEGER NOT NULL,
    UNIQUE (room, position)
) STRICT;

-- The room's event log: (room, seq) is the room's total order.
CREATE TABLE hub_events (
    room       TEXT    NOT NULL REFERENCES hub_rooms (room) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (room, seq)
) STRICT, WITHOUT ROWID;

-- ---- outbox: deliveries to other providers ----------------------------------------------

-- id (AUTOINCREMENT: never reused) is the send order per destination.
CREATE TABLE outbox (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    destination     TEXT    NOT NULL,
    room            TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    body            BLOB    NOT NULL,
    created_ms      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT
) STRICT;
CREATE INDEX outbox_by_destination ON outbox (destination, id);

-- ---- follower side of rooms -------------------------------------------------------------

-- Fanout messages seen, by SHA-256 of their encoding, per room: redeliveries are dropped.
CREATE TABLE follower_seen (
    room         TEXT NOT NULL,
    message_hash BLOB NOT NULL,
    hub          TEXT NOT NULL,
    PRIMARY KEY (room, message_hash)
) STRICT, WITHOUT ROWID;

-- Local clients in each followed room.
CREATE TABLE follower_members (
    room       TEXT NOT NULL,
    client_uri TEXT NOT NULL,
    PRIMARY KEY (room, client_uri)
) STRICT, WITHOUT ROWID;

-- ---- client event streams ---------------------------------------------------------------

-- The last cursor given out per client: cursors are dense (1, 2, 3, ...) and assigned under
-- this row's write lock, so commit order is cursor order.
CREATE TABLE client_streams (
    client_uri  TEXT    NOT NULL PRIMARY KEY,
    last_cursor INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE deliveries (
    client_uri TEXT    NOT NULL,
    cursor     INTEGER NOT NULL,
    room       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    body       BLOB    NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (client_uri, cursor)
) STRICT;

-- ---- consent (protocol-06 §5.7) ---------------------------------------------------------

-- room '' is the general consent (any room); a real room URI is never empty.
CREATE TABLE consents (
    requester_uri TEXT    NOT NULL,
    target_uri    TEXT    NOT NULL,
    room          TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('requested', 'granted', 'revoked')),
    updated_ms    INTEGER NOT NULL,
    PRIMARY KEY (requester_uri, target_uri, room)
) STRICT, WITHOUT ROWID;

-- ---- search (identifierQuery, protocol-06 §5.8) -----------------------------------------

CREATE TABLE user_identifiers (
    user_uri TEXT NOT NULL REFERENCES users (user_uri) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    -- Unicode-lowercased value, for case-insensitive nick search.
    folded   TEXT NOT NULL,
    PRIMARY KEY (kind, value, user_uri)
) STRICT;
CREATE INDEX user_identifiers_by_user ON user_identifiers (user_uri);
-- A handle names one user.
CREATE UNIQUE INDEX user_identifiers_one_handle ON user_identifiers (value) WHERE kind = 'handle';

-- ---- peers (docs/decisions/0070) --------------------------------------------------------

-- A peer provider's client CA, fetched over mutual TLS from the peer itself; kept so a
-- restarted hub can verify the credentials of the rooms it restores.
CREATE TABLE peer_client_cas (
    domain     TEXT    PRIMARY KEY,
    pem        TEXT    NOT NULL,
    fetched_ms INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
