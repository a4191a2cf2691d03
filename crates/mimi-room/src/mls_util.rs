//! Small accessors OpenMLS keeps crate-private, read through the TLS encoding instead.

use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{Credential, ExternalSender, SenderExtensionIndex, SignaturePublicKey};

/// The signature key and credential of an `external_senders` entry (RFC 9420 §12.1.8.1).
pub(crate) fn external_sender_parts(
    sender: &ExternalSender,
) -> Option<(SignaturePublicKey, Credential)> {
    let bytes = sender.tls_serialize_detached().ok()?;
    let mut rest = bytes.as_slice();
    let key = SignaturePublicKey::tls_deserialize(&mut rest).ok()?;
    let credential = Credential::tls_deserialize(&mut rest).ok()?;
    Some((key, credential))
}

/// The position an external sender index refers to.
pub(crate) fn sender_index(index: &SenderExtensionIndex) -> Option<usize> {
    let bytes = index.tls_serialize_detached().ok()?;
    let array: [u8; 4] = bytes.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(array)).ok()
}

/// Whether the hub's key is among the group's external senders.
pub(crate) fn lists_signature_key(senders: Option<&Vec<ExternalSender>>, key: &[u8]) -> bool {
    senders.is_some_and(|s| {
        s.iter()
            .filter_map(external_sender_parts)
            .any(|(k, _)| k.as_slice() == key)
    })
}

/// The position of the sender with this signature key in `external_senders`.
pub(crate) fn external_sender_position(
    senders: Option<&Vec<ExternalSender>>,
    key: &[u8],
) -> Option<usize> {
    senders?
        .iter()
        .position(|s| external_sender_parts(s).is_some_and(|(k, _)| k.as_slice() == key))
}
