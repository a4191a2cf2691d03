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

/// Leaf capabilities of every MIMI client: the app data dictionary, AppDataUpdate and
/// SelfRemove proposals, basic and X.509 credentials.
pub fn leaf_capabilities() -> Capabilities {
    Capabilities::new(
        None,
        Some(&[CIPHERSUITE]),
        Some(&[ExtensionType::AppDataDictionary]),
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
