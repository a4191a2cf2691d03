//! Minimal-metadata rooms: pseudonymous credentials (protocol-06 §6).

use openmls::prelude::Credential;
use tls_codec::{TlsDeserialize, TlsSerialize, TlsSize, VLByteVec};

use super::codec::{WireMessage, encode_fields};
use super::common::IdentifierUri;

/// Label of the signature inside the identity link.
pub const PSEUDONYMOUS_CREDENTIAL_LABEL: &str = "PseudonymousCredentialTBS";

/// `PseudonymousCredential` (the draft's `opaque signature_public_key` lacks `<V>`; it is read
/// as a vector).
#[derive(Debug, Clone, PartialEq, Eq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct PseudonymousCredential {
    /// Pseudonym of the client.
    pub client_pseudonym: IdentifierUri,
    /// Pseudonym of the user, identical across the user's clients.
    pub user_pseudonym: IdentifierUri,
    /// The leaf's signature public key.
    pub signature_public_key: VLByteVec,
    /// Encrypted [`IdentityLinkTbe`].
    pub identity_link_ciphertext: VLByteVec,
}

impl PseudonymousCredential {
    /// The encoded `PseudonymousCredentialTBS`.
    pub fn tbs_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        encode_fields(&[
            &self.client_pseudonym,
            &self.user_pseudonym,
            &self.signature_public_key,
        ])
    }
}

impl WireMessage for PseudonymousCredential {
    const NAME: &'static str = "PseudonymousCredential";
}

/// `IdentityLinkTBE`: links the pseudonym to the client's real credential.
#[derive(Debug, Clone, PartialEq, TlsSize, TlsSerialize, TlsDeserialize)]
pub struct IdentityLinkTbe {
    /// `SignWithLabel(., "PseudonymousCredentialTBS", PseudonymousCredentialTBS)`.
    pub pseudonymous_credential_signature: VLByteVec,
    /// The client's real credential.
    pub client_credential: Credential,
}
