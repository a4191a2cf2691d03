//! Durable storage of a MIMI provider: one async trait, [`Store`], with two implementations:
//! [`SqliteStore`] (one embedded database file) and [`PgStore`] (a PostgreSQL database that
//! several server processes may share). The test suite in `tests/suite/` is written against
//! the trait and runs on both.
//!
//! The protocol logic (`mimi-room`) decides; the store makes the decisions durable, each in
//! one transaction, before the server answers 2xx ("nothing acknowledged is ever lost"):
//!
//! ```text
//!  hub: /update, /submitMessage ──► HubRoom (sans-IO) ──► HubEvent { seq, snapshot, outbox, local }
//!                                                              │ commit_hub_event: ONE transaction
//!                                                              ▼ (seq must be stored seq + 1)
//!        hub_rooms + hub_pending_proposals ◄── room state      │
//!        hub_events ◄───────────────────────── (room, seq)     │
//!        outbox ◄──────────────────────────── per destination ─┤
//!        deliveries ◄──────────────────────── local clients ───┘
//!          │
//!  delivery worker: outbox_due(dest) ──POST /notify──► peer ──2xx──► outbox_done
//!                                                        ├─error──► outbox_retry (backoff)
//!                                                        └─permanent 4xx──► outbox_dead_letter
//!
//!  hub, /submitMessage: hub_submission(room, sha256(msg)) answers a resubmission as before;
//!                       commit_hub_submission = commit_hub_event + hub_submissions row
//!
//!  follower: /notify ──► record_notify(room, sha256(msg)) ── ONE transaction:
//!                         follower_seen (dedupe) + deliveries of local members
//!                         (a redelivery only bumps follower_duplicates)
//!
//!  client API stream: events_after(client, cursor) ◄── deliveries (dense cursor per client)
//! ```
//!
//! Besides rooms, the store keeps accounts, access tokens (hashed), clients with their
//! credentials, KeyPackages (each one-time KeyPackage handed out once, across concurrent
//! claimers), Welcome routes, consent records and the searchable identifiers of users.
//!
//! Values are stored as the wire layer encodes them (opaque bytes); identifiers as their
//! normalized `mimi://` strings; times as milliseconds supplied by the caller (the store
//! never reads a clock). Design records: `docs/decisions/0060`..`0067`.

#![deny(missing_docs)]

mod any;
mod error;
mod migrations;
mod model;
mod pg_admin;
mod postgres;
mod sqlite;
mod store;
mod validate;

pub use any::AnyStore;
pub use error::{Result, StoreError};
pub use model::{
    AbuseReportRecord, ClientClaim, ClientRecord, ConsentRecord, ConsentState, Counts, DeadLetter,
    DeliveryRow, FollowerNotify, HubEvent, HubRoomSnapshot, HubSubmission, KeyPackageClaim,
    NewOutbox, NewUser, OutboxBacklog, OutboxRow, Purged, RoomVersion, StoreWake, StoredKeyPackage,
    UserRecord,
};
pub use pg_admin::{ScratchDatabase, create_database, drop_database};
pub use postgres::{POSTGRES_SCHEMA_VERSION, PgOptions, PgStore};
pub use sqlite::{SQLITE_SCHEMA_VERSION, SqliteOptions, SqliteSettings, SqliteStore};
pub use store::Store;
