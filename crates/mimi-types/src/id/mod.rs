//! Identifiers: typed, validated, normalized.
//!
//! Three classes of identifier (draft-kohbrok-mimi-identifiers-00, draft-mahy-mimi-identity-05):
//!
//! * **Administrative identifiers**, carried in `mimi://` URIs ([`MimiUri`] and one newtype per
//!   kind: [`ProviderUri`], [`UserUri`], [`PseudonymUri`], [`ClientUri`], [`RoomUri`],
//!   [`GroupUri`], [`TeamUri`]). Unique within a provider, immutable, possibly
//!   provider-generated ([`UserUri::from_uuid`]); these go into MLS credentials, participant
//!   lists and protocol messages, and are what authorization decisions compare.
//! * **Connection-establishment identifiers** ([`ConnectionId`]: [`Handle`], [`PhoneNumber`],
//!   [`EmailAddress`]): user-facing, mutable, several per user; resolved to a [`UserUri`] by
//!   lookup, never trusted as one.
//! * **Display names** ([`DisplayName`]): free text for people, never used for authorization.
//!
//! ```text
//!   "MIMI://Bücher.example/u/%41lice"
//!        │ MimiUri::parse: scheme, host (UTS #46 → A-labels), kind, ids (percent-decoded)
//!        ▼
//!   MimiUri { "mimi://xn--bcher-kva.example/u/Alice", kind: User, ids: ["Alice"] }
//!        │ UserUri::try_from (WrongKind if not /u/)
//!        ▼
//!   UserUri ──to_url_path──► "xn--bcher-kva.example/u/Alice"  (POST /keyMaterial/{targetUser})
//! ```
//!
//! Every parser is total (no panics on any input), bounded (limits below), and normalizes
//! idempotently: parsing a value's [`std::fmt::Display`] form gives back an equal value. The
//! drafts leave comparison, normalization and limits open; `docs/decisions/0020`..`0028` record
//! the choices made here.

mod admin;
mod connection;
mod display_name;
mod domain;
mod email;
mod error;
mod handle;
mod kinds;
mod path;
mod percent;
mod phone;
mod typed;
mod uri;

pub use admin::{format_uuid, parse_uuid, uuid_v4_bytes};
pub use connection::ConnectionId;
pub use display_name::{DisplayName, MAX_DISPLAY_NAME_BYTES, MAX_DISPLAY_NAME_CHARS};
pub use domain::{MAX_DOMAIN_LEN, MAX_LABEL_LEN, ProviderDomain};
pub use email::{EmailAddress, MAX_EMAIL_LEN, MAX_LOCAL_LEN};
pub use error::IdError;
pub use handle::{Handle, MAX_NICK_LEN};
pub use kinds::UriKind;
pub use phone::PhoneNumber;
pub use typed::{ClientUri, GroupUri, ProviderUri, PseudonymUri, RoomUri, TeamUri, UserUri};
pub use uri::{MAX_SEGMENT_LEN, MAX_URI_LEN, MimiUri};

/// Serialize a type as its `Display` string and deserialize it through its `FromStr`, so that
/// serde input is validated exactly like any other input.
macro_rules! serde_as_string {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize<'de>>::deserialize(
                    deserializer,
                )?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_string;

#[cfg(test)]
mod tests;
