//! MIMI message content (draft-ietf-mimi-content, `application/mimi-content`).
//!
//! A MIMI content message is a 7-element CBOR array (salt, replaces, topicId, expires,
//! inReplyTo, extensions, body) carried inside an MLS application message. This crate
//! models it, encodes it deterministically, decodes untrusted bytes strictly, validates the
//! "log and discard" rules, computes message IDs (-08 and -07 algorithms) and renders
//! messages as plain text. It is sans-IO: no clock, no randomness, no network.
//!
//! ```text
//!  bytes ──decode()──▶ MimiContent ──validate(ctx{now_ms, hub ts})──▶ ok / Error
//!    │      (strict.rs: deterministic-CBOR checks;        │
//!    │       decode.rs: CDDL + limits)                    ├──render_text()──▶ String
//!    │                                                    │
//!    └──────message_id_08(bytes, senderUri, roomUri)──────┴──▶ MessageId (0x01 || SHA-256[..31])
//!
//!  MessageBuilder / MimiContent::text(salt, ...) ──to_cbor()──▶ bytes   (encode.rs, minicbor)
//! ```
//!
//! Every accepted input re-encodes to exactly the same bytes, so the message ID computed
//! from received bytes equals the one computed from re-encoded bytes.
//!
//! ```
//! use mimi_content::{MimiContent, decode, render_text};
//!
//! let msg = MimiContent::text([7; 16], "mimi://a.example/u/alice", "mimi://a.example/r/club", "hi", None);
//! let bytes = msg.to_cbor();
//! let back = decode(&bytes).unwrap();
//! assert_eq!(back, msg);
//! let id = back.message_id_08(&bytes).unwrap();
//! assert_eq!(id.hash_alg(), 0x01);
//! assert_eq!(render_text(&back), "hi");
//! ```
//!
//! Modules: [`model`] (types), [`extensions`] (the extensions map), [`encode`](mod@encode)
//! (deterministic encoding), [`decode`](mod@decode) (strict decoding and limits),
//! [`validate`](mod@validate) (semantic checks), [`message_id`](mod@message_id),
//! [`render`] (terminal text), [`builder`] (new messages), [`error`].

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod builder;
pub mod decode;
pub mod encode;
pub mod error;
pub mod extensions;
pub mod message_id;
pub mod model;
pub mod render;
mod strict;
pub mod validate;

pub use builder::{MessageBuilder, TEXT_GFM_MIMI, TEXT_PLAIN};
pub use decode::{Limits, decode, decode_with_limits};
pub use error::Error;
pub use extensions::{ExtensionKey, ExtensionValue, Extensions};
pub use message_id::{
    HASH_ALG_SHA256, MessageId, MessageIdVersion, message_id, message_id_07, message_id_08,
};
pub use model::{
    Disposition, Expiration, ExternalPart, MessageKind, MimiContent, MultiPart, NestedPart,
    PartBody, PartSemantics, SinglePart, UnknownDisposition,
};
pub use render::render_text;
pub use validate::{ValidationContext, check_structure, validate};

/// Media type of MIMI content (content-08 §"IANA Considerations").
pub const MEDIA_TYPE: &str = "application/mimi-content";
