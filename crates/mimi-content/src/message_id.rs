//! Message IDs (content-08 §"Message ID"; content-07 §3.3).
//!
//! ```text
//! -08: hash_output = SHA-256( u16(len senderUri) || senderUri ||
//!                             u16(len roomUri)   || roomUri   || message || salt )
//! -07: hash_output = SHA-256( senderUri || roomUri || message || salt )
//! messageId = 0x01 || hash_output[0..31]
//! ```
//!
//! `message` is the exact encoded MIMI content (which starts with the salt), and the salt is
//! appended again against length extension. The URIs are the senderUri (extension key 1,
//! the sender's *user* URI) and roomUri (key 2), as UTF-8 octets; see
//! docs/decisions/0010-message-id-inputs.md.

use core::fmt;
use core::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::model::{MimiContent, SALT_LEN};

/// IANA Named Information hash algorithm identifier of SHA-256, the default and only
/// message-ID hash (content-08 §"Message ID").
pub const HASH_ALG_SHA256: u8 = 0x01;

/// A 32-octet message ID: hash algorithm octet followed by 31 octets of hash output.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// Wraps 32 octets.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        MessageId(bytes)
    }

    /// The 32 octets.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The IANA hash algorithm identifier (first octet).
    pub const fn hash_alg(&self) -> u8 {
        self.0[0]
    }

    /// Whether the first octet names a hash algorithm this implementation computes.
    pub const fn has_known_hash_alg(&self) -> bool {
        self.0[0] == HASH_ALG_SHA256
    }
}

impl fmt::Display for MessageId {
    /// Lowercase hex, 64 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 64];
        // Encoding 32 bytes into a 64-byte buffer cannot fail.
        if hex::encode_to_slice(self.0, &mut buf).is_err() {
            return Err(fmt::Error);
        }
        f.write_str(core::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

impl FromStr for MessageId {
    type Err = Error;

    /// Parses 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Self, Error> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| Error::InvalidMessageIdHex)?;
        Ok(MessageId(out))
    }
}

impl From<[u8; 32]> for MessageId {
    fn from(bytes: [u8; 32]) -> Self {
        MessageId(bytes)
    }
}

impl TryFrom<&[u8]> for MessageId {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<Self, Error> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::BadMessageIdLength {
            what: "message ID",
            len: bytes.len(),
            offset: 0,
        })?;
        Ok(MessageId(arr))
    }
}

/// Which draft's message-ID algorithm to use (see docs/decisions/0011-message-id-version.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageIdVersion {
    /// draft-ietf-mimi-content-07 (published): no length prefixes.
    Draft07,
    /// draft-ietf-mimi-content-08 (editor's copy): 16-bit length before each URI. Default.
    #[default]
    Draft08,
}

/// The salt of an encoded message: `0x87` (array of 7), `0x50` (bytes of 16), 16 octets.
fn salt_of(content: &[u8]) -> Result<&[u8], Error> {
    match content {
        [0x87, 0x50, rest @ ..] => rest.get(..SALT_LEN).ok_or(Error::NotMimiContent),
        _ => Err(Error::NotMimiContent),
    }
}

fn finish(hasher: Sha256) -> MessageId {
    let digest = hasher.finalize();
    let mut id = [0u8; 32];
    id[0] = HASH_ALG_SHA256;
    id[1..].copy_from_slice(&digest[..31]);
    MessageId(id)
}

fn len16(what: &'static str, uri: &str) -> Result<[u8; 2], Error> {
    u16::try_from(uri.len())
        .map(u16::to_be_bytes)
        .map_err(|_| Error::UriTooLong {
            what,
            len: uri.len(),
        })
}

/// The -08 message ID of the encoded message `content` sent by `sender_uri` to `room_uri`.
///
/// `content` must be the exact bytes as sent; the salt is read from them. Fails only if
/// `content` does not start with a 7-element array and a 16-byte salt, or a URI is longer
/// than 65535 octets.
pub fn message_id_08(content: &[u8], sender_uri: &str, room_uri: &str) -> Result<MessageId, Error> {
    let salt = salt_of(content)?;
    let mut h = Sha256::new();
    h.update(len16("senderUri", sender_uri)?);
    h.update(sender_uri.as_bytes());
    h.update(len16("roomUri", room_uri)?);
    h.update(room_uri.as_bytes());
    h.update(content);
    h.update(salt);
    Ok(finish(h))
}

/// The -07 message ID (no length prefixes) of the encoded message `content`.
///
/// Fails only if `content` does not start with a 7-element array and a 16-byte salt.
pub fn message_id_07(content: &[u8], sender_uri: &str, room_uri: &str) -> Result<MessageId, Error> {
    let salt = salt_of(content)?;
    let mut h = Sha256::new();
    h.update(sender_uri.as_bytes());
    h.update(room_uri.as_bytes());
    h.update(content);
    h.update(salt);
    Ok(finish(h))
}

/// The message ID of `content` under `version`.
pub fn message_id(
    version: MessageIdVersion,
    content: &[u8],
    sender_uri: &str,
    room_uri: &str,
) -> Result<MessageId, Error> {
    match version {
        MessageIdVersion::Draft07 => message_id_07(content, sender_uri, room_uri),
        MessageIdVersion::Draft08 => message_id_08(content, sender_uri, room_uri),
    }
}

impl MimiContent {
    /// The message ID of this message, given the exact bytes it was decoded from (or
    /// encoded to), using the senderUri and roomUri extensions (keys 1 and 2).
    ///
    /// Errors if either extension is absent, or if `bytes` does not carry this message's
    /// salt (a cheap guard against passing the wrong buffer).
    pub fn message_id(&self, version: MessageIdVersion, bytes: &[u8]) -> Result<MessageId, Error> {
        let sender = self
            .extensions
            .sender_uri
            .as_deref()
            .ok_or(Error::MissingExtension {
                what: "senderUri",
                key: 1,
            })?;
        let room = self
            .extensions
            .room_uri
            .as_deref()
            .ok_or(Error::MissingExtension {
                what: "roomUri",
                key: 2,
            })?;
        if salt_of(bytes)? != self.salt.as_slice() {
            return Err(Error::NotMimiContent);
        }
        message_id(version, bytes, sender, room)
    }

    /// [`MimiContent::message_id`] with the -08 algorithm.
    pub fn message_id_08(&self, bytes: &[u8]) -> Result<MessageId, Error> {
        self.message_id(MessageIdVersion::Draft08, bytes)
    }

    /// [`MimiContent::message_id`] with the -07 algorithm.
    pub fn message_id_07(&self, bytes: &[u8]) -> Result<MessageId, Error> {
        self.message_id(MessageIdVersion::Draft07, bytes)
    }
}
