//! Report abuse: `POST /reportAbuse/{roomId}` (protocol-06 §5.9).

use openmls::prelude::AppDataDictionary;
use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::WireMessage;
use super::common::{IdentifierUri, OptionalIdentifierUri, Utf8String};
use super::submit::Frank;

/// `AbusiveMessage`: one reported message with its frank.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct AbusiveMessage {
    /// The decrypted message content (e.g. MIMI content).
    pub message_content: VLByteVec,
    /// The hub's frank received with the message.
    pub frank: Frank,
    /// Hub acceptance time (ms since the UNIX epoch).
    pub accepted_timestamp: u64,
}

/// `AbuseType`: no values are assigned yet (protocol-06 §5.9 leaves it TODO), so any code is
/// kept as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct AbuseType(pub u8);

/// `AbuseReport`.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct AbuseReport {
    /// The reporting user; the draft says the field "optionally contains" it, so it may be
    /// zero-length.
    pub reporting_user: OptionalIdentifierUri,
    /// The user reported.
    pub alleged_abuser_uri: IdentifierUri,
    /// Reason code.
    pub reason_code: AbuseType,
    /// Free-text note (UTF-8, may be empty).
    pub note: Utf8String,
    /// The reported messages.
    pub messages: Vec<AbusiveMessage>,
    /// Extension point.
    pub abuse_extensions: AppDataDictionary,
}

impl WireMessage for AbuseReport {
    const NAME: &'static str = "AbuseReport";
}
