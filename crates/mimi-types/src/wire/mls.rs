//! MLS structures carried inside MIMI bodies, kept as the exact bytes received.
//!
//! A hub forwards handshakes and application messages byte for byte (a follower dedupes
//! `/notify` bodies by their bytes, protocol-06 §5.5, and `moreProposals` must be forwarded
//! unchanged), and signatures cover encodings. So these wrappers never re-encode: decoding
//! parses the value with OpenMLS once, to find where it ends and to reject what is not a valid
//! MLS structure, records the few header facts the MIMI `select`s need, and keeps the bytes.
//! [`MlsMessage::parse`] and friends give the OpenMLS value when the room engine needs it.

use std::fmt;

use openmls::messages::group_info::VerifiableGroupInfo;
use openmls::prelude::{
    ContentType, KeyPackageIn, MlsMessageBodyIn, MlsMessageIn, RatchetTreeIn,
    Welcome as OpenMlsWelcome, WireFormat,
};
use tls_codec::{Deserialize, Serialize, Size};

use super::codec::{RecordingReader, decode_exact, describe, invalid, read_vl_payload};
use crate::Error;

/// Shared impls: raw-byte access, encoding by copying the bytes, equality on bytes, and a
/// short `Debug`.
macro_rules! raw_mls_value {
    ($name:ident, $what:literal) => {
        impl $name {
            /// The exact encoding.
            pub fn as_bytes(&self) -> &[u8] {
                &self.bytes
            }

            /// Take the exact encoding.
            pub fn into_bytes(self) -> Vec<u8> {
                self.bytes
            }

            /// Check and wrap a complete encoding (no trailing bytes).
            pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
                decode_exact($what, &bytes.into())
            }
        }

        impl Size for $name {
            fn tls_serialized_len(&self) -> usize {
                self.bytes.len()
            }
        }

        impl Serialize for $name {
            fn tls_serialize<W: std::io::Write>(
                &self,
                writer: &mut W,
            ) -> Result<usize, tls_codec::Error> {
                writer.write_all(&self.bytes)?;
                Ok(self.bytes.len())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.bytes == other.bytes
            }
        }
        impl Eq for $name {}

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($what, "({} bytes)"), self.bytes.len())
            }
        }
    };
}

/// What a MIMI `select` needs to know about an `MLSMessage` (RFC 9420 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlsMessageKind {
    /// A PublicMessage or PrivateMessage with its content type and epoch.
    Framed {
        /// `mls_public_message` or `mls_private_message`.
        wire_format: WireFormat,
        /// application, proposal or commit.
        content_type: ContentType,
        /// The epoch the message was sent in.
        epoch: u64,
    },
    /// A Welcome.
    Welcome,
    /// A GroupInfo.
    GroupInfo,
    /// A KeyPackage.
    KeyPackage,
}

/// An `MLSMessage` (RFC 9420 §6), checked and kept byte-exact.
#[derive(Clone)]
pub struct MlsMessage {
    bytes: Vec<u8>,
    kind: MlsMessageKind,
}

raw_mls_value!(MlsMessage, "MLSMessage");

impl MlsMessage {
    /// Wire format, content type and epoch, read once at decoding.
    pub fn kind(&self) -> MlsMessageKind {
        self.kind
    }

    /// The content type if this is a PublicMessage or PrivateMessage.
    pub fn content_type(&self) -> Option<ContentType> {
        match self.kind {
            MlsMessageKind::Framed { content_type, .. } => Some(content_type),
            _ => None,
        }
    }

    /// The MLS wire format.
    pub fn wire_format(&self) -> WireFormat {
        match self.kind {
            MlsMessageKind::Framed { wire_format, .. } => wire_format,
            MlsMessageKind::Welcome => WireFormat::Welcome,
            MlsMessageKind::GroupInfo => WireFormat::GroupInfo,
            MlsMessageKind::KeyPackage => WireFormat::KeyPackage,
        }
    }

    /// Whether this is a PublicMessage carrying a proposal or commit: the only handshake
    /// framing this implementation accepts (SemiPrivateMessage has no code point yet).
    pub fn is_public_handshake(&self) -> bool {
        matches!(
            self.kind,
            MlsMessageKind::Framed {
                wire_format: WireFormat::PublicMessage,
                content_type: ContentType::Proposal | ContentType::Commit,
                ..
            }
        )
    }

    /// Whether this is a PrivateMessage carrying an application message.
    pub fn is_private_application(&self) -> bool {
        matches!(
            self.kind,
            MlsMessageKind::Framed {
                wire_format: WireFormat::PrivateMessage,
                content_type: ContentType::Application,
                ..
            }
        )
    }

    /// Parse into the OpenMLS value.
    pub fn parse(&self) -> Result<MlsMessageIn, Error> {
        reparse("MLSMessage", &self.bytes)
    }
}

impl Deserialize for MlsMessage {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let mut reader = RecordingReader::new(bytes);
        let message = MlsMessageIn::tls_deserialize(&mut reader)?;
        let kind = match message.extract() {
            MlsMessageBodyIn::PublicMessage(m) => MlsMessageKind::Framed {
                wire_format: WireFormat::PublicMessage,
                content_type: m.content_type(),
                epoch: m.epoch().as_u64(),
            },
            MlsMessageBodyIn::PrivateMessage(m) => MlsMessageKind::Framed {
                wire_format: WireFormat::PrivateMessage,
                content_type: m.content_type(),
                epoch: m.epoch().as_u64(),
            },
            MlsMessageBodyIn::Welcome(_) => MlsMessageKind::Welcome,
            MlsMessageBodyIn::GroupInfo(_) => MlsMessageKind::GroupInfo,
            MlsMessageBodyIn::KeyPackage(_) => MlsMessageKind::KeyPackage,
            #[allow(unreachable_patterns)]
            _ => return Err(invalid("unsupported MLS wire format")),
        };
        Ok(Self {
            bytes: reader.recorded,
            kind,
        })
    }
}

/// Re-decode bytes that were checked when this value was built.
fn reparse<T: tls_codec::Deserialize>(what: &'static str, bytes: &[u8]) -> Result<T, Error> {
    let mut rest = bytes;
    T::tls_deserialize(&mut rest).map_err(|e| Error::Decode {
        what,
        reason: describe(&e),
    })
}

/// Define a wrapper for a bare (not `MLSMessage`-framed) RFC 9420 struct that OpenMLS can
/// decode.
macro_rules! bare_mls_struct {
    ($(#[$doc:meta])* $name:ident, $openmls:ty, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            bytes: Vec<u8>,
        }

        raw_mls_value!($name, $what);

        impl $name {
            /// Parse into the OpenMLS value.
            pub fn parse(&self) -> Result<$openmls, Error> {
                reparse($what, &self.bytes)
            }
        }

        impl Deserialize for $name {
            fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
                let mut reader = RecordingReader::new(bytes);
                <$openmls>::tls_deserialize(&mut reader)?;
                Ok(Self { bytes: reader.recorded })
            }
        }
    };
}

bare_mls_struct!(
    /// A `KeyPackage` (RFC 9420 §10), checked and kept byte-exact.
    KeyPackage,
    KeyPackageIn,
    "KeyPackage"
);

bare_mls_struct!(
    /// A `GroupInfo` (RFC 9420 §12.4.3), checked and kept byte-exact.
    GroupInfo,
    VerifiableGroupInfo,
    "GroupInfo"
);

bare_mls_struct!(
    /// A `Welcome` (RFC 9420 §12.4.3.1), checked and kept byte-exact.
    Welcome,
    OpenMlsWelcome,
    "Welcome"
);

/// A ratchet tree, `optional<Node> ratchet_tree<V>` (RFC 9420 §12.4.3.3), kept as bytes.
///
/// draft-mahy-mls-ratchet-tree-options-03 writes `Node ratchet_tree<V>`; we read it as the
/// RFC 9420 `ratchet_tree` extension body (docs/decisions). The vector is delimited by its
/// length and **not parsed here**: a tree can be large and the room engine parses it against
/// the group's size. [`RatchetTree::parse`] gives the OpenMLS tree.
#[derive(Clone)]
pub struct RatchetTree {
    /// The whole vector, length prefix included.
    bytes: Vec<u8>,
}

raw_mls_value!(RatchetTree, "ratchet_tree");

impl RatchetTree {
    /// Parse into the OpenMLS tree.
    pub fn parse(&self) -> Result<RatchetTreeIn, Error> {
        reparse("ratchet_tree", &self.bytes)
    }
}

impl Deserialize for RatchetTree {
    fn tls_deserialize<R: std::io::Read>(bytes: &mut R) -> Result<Self, tls_codec::Error> {
        let mut reader = RecordingReader::new(bytes);
        read_vl_payload(&mut reader)?;
        Ok(Self {
            bytes: reader.recorded,
        })
    }
}
