//! The MLS profile every MIMI room uses here: one ciphersuite, handshakes as PublicMessages,
//! application messages as PrivateMessages, AppDataUpdate required of every member.
//!
//! Clients and the hub build their configuration from these functions so that both sides
//! agree on what a valid group looks like.

use openmls::prelude::{
    Capabilities, Ciphersuite, CredentialType, Extension, ExtensionType, ExternalSender,
    MIXED_PLAINTEXT_WIRE_FORMAT_POLICY, ProposalType, RequiredCapabilitiesExtension,
    WireFormatPolicy,
};

/// The ciphersuite of every room (RFC 9420 §17.1, the mandatory-to-implement suite).
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// Handshakes go out as PublicMessages so the hub can validate them (protocol-06 §5.3,
/// docs/decisions/0003); OpenMLS always encrypts application messages.
pub const WIRE_FORMAT_POLICY: WireFormatPolicy = MIXED_PLAINTEXT_WIRE_FORMAT_POLICY;

/// Leaf capabilities of every MIMI client: the app data dictionary and last-resort
/// KeyPackages (RFC 9420 §10: a KeyPackage's extensions must be in its leaf's capabilities),
/// AppDataUpdate and SelfRemove proposals, basic and X.509 credentials.
pub fn leaf_capabilities() -> Capabilities {
    Capabilities::new(
        None,
        Some(&[CIPHERSUITE]),
        Some(&[ExtensionType::AppDataDictionary, ExtensionType::LastResort]),
        Some(&[ProposalType::AppDataUpdate, ProposalType::SelfRemove]),
        Some(&[CredentialType::Basic, CredentialType::X509]),
    )
}

/// The group's `required_capabilities`: every member must understand the app data dictionary
/// and AppDataUpdate (mls-extensions "Updating Application Data").
pub fn required_capabilities() -> Extension {
    Extension::RequiredCapabilities(RequiredCapabilitiesExtension::new(
        &[ExtensionType::AppDataDictionary],
        &[ProposalType::AppDataUpdate],
        &[],
    ))
}

/// The `external_senders` extension: protocol-06 §7.2, it MUST contain the hub's credential;
/// it may also list followers with participants.
pub fn external_senders(senders: Vec<ExternalSender>) -> Extension {
    Extension::ExternalSenders(senders)
}

#[cfg(test)]
mod tests {
    use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
    use openmls::prelude::{
        BasicCredential, CredentialWithKey, KeyPackage, KeyPackageIn, OpenMlsProvider as _,
        ProtocolVersion,
    };
    use openmls_basic_credential::SignatureKeyPair;
    use openmls_rust_crypto::OpenMlsRustCrypto;

    use super::*;

    /// A last-resort KeyPackage built with these capabilities validates (its extension is
    /// one the leaf supports), as a provider checks it before storing it.
    #[test]
    fn last_resort_key_packages_validate() {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).expect("signer");
        let credential = CredentialWithKey {
            credential: BasicCredential::new(b"client".to_vec()).into(),
            signature_key: signer.public().into(),
        };
        let bundle = KeyPackage::builder()
            .leaf_node_capabilities(leaf_capabilities())
            .mark_as_last_resort()
            .build(CIPHERSUITE, &provider, &signer, credential)
            .expect("key package");
        let bytes = bundle
            .key_package()
            .tls_serialize_detached()
            .expect("encode");
        let verified = KeyPackageIn::tls_deserialize_exact(bytes)
            .expect("decode")
            .validate(provider.crypto(), ProtocolVersion::Mls10)
            .expect("a last-resort KeyPackage validates");
        assert!(verified.last_resort());
    }
}
