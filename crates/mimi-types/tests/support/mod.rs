//! Real MLS structures for wire tests, made once per test binary with OpenMLS.
//!
//! Alice creates a group (handshakes as PublicMessage, application messages as
//! PrivateMessage), adds Bob (commit + Welcome + GroupInfo), proposes an update and sends an
//! application message.

#![allow(dead_code)]

use std::sync::OnceLock;

use openmls::prelude::*;
use openmls::treesync::LeafNodeParameters;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

/// Encoded MLS structures.
pub struct MlsFixtures {
    /// `MLSMessage` PublicMessage commit.
    pub commit: Vec<u8>,
    /// `MLSMessage` PublicMessage proposal.
    pub proposal: Vec<u8>,
    /// A second PublicMessage proposal.
    pub proposal2: Vec<u8>,
    /// `MLSMessage` PrivateMessage application message.
    pub application: Vec<u8>,
    /// `MLSMessage` Welcome.
    pub welcome_message: Vec<u8>,
    /// Bare `Welcome`.
    pub welcome: Vec<u8>,
    /// `MLSMessage` GroupInfo.
    pub group_info_message: Vec<u8>,
    /// Bare `GroupInfo`.
    pub group_info: Vec<u8>,
    /// Bare `KeyPackage`.
    pub key_package: Vec<u8>,
    /// `optional<Node> ratchet_tree<V>`.
    pub ratchet_tree: Vec<u8>,
    /// A `Credential`.
    pub credential: Credential,
    /// A `SignaturePublicKey`.
    pub signature_key: SignaturePublicKey,
}

const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

fn party(name: &str, provider: &OpenMlsRustCrypto) -> (CredentialWithKey, SignatureKeyPair) {
    let credential = BasicCredential::new(format!("mimi://a.example/d/{name}").into_bytes());
    let keys = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).expect("keys");
    keys.store(provider.storage()).expect("store keys");
    (
        CredentialWithKey {
            credential: credential.into(),
            signature_key: keys.to_public_vec().into(),
        },
        keys,
    )
}

fn encode(m: &impl tls_codec::Serialize) -> Vec<u8> {
    m.tls_serialize_detached().expect("encode")
}

/// Strip the 4-byte `MLSMessage` header (version, wire_format) to get the bare body.
fn body(message: &[u8]) -> Vec<u8> {
    message[4..].to_vec()
}

fn build() -> MlsFixtures {
    let alice_provider = OpenMlsRustCrypto::default();
    let bob_provider = OpenMlsRustCrypto::default();
    let (alice, alice_keys) = party("alice", &alice_provider);
    let (bob, bob_keys) = party("bob", &bob_provider);

    let bob_kp = KeyPackage::builder()
        .build(CIPHERSUITE, &bob_provider, &bob_keys, bob.clone())
        .expect("key package");
    let config = MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .wire_format_policy(MIXED_PLAINTEXT_WIRE_FORMAT_POLICY)
        .build();
    let mut group =
        MlsGroup::new(&alice_provider, &alice_keys, &config, alice.clone()).expect("group");
    let (commit, welcome, _) = group
        .add_members(
            &alice_provider,
            &alice_keys,
            core::slice::from_ref(bob_kp.key_package()),
        )
        .expect("add bob");
    group.merge_pending_commit(&alice_provider).expect("merge");
    let ratchet_tree = encode(&group.export_ratchet_tree());
    let group_info = group
        .export_group_info(alice_provider.crypto(), &alice_keys, false)
        .expect("group info");
    let application = group
        .create_message(&alice_provider, &alice_keys, b"hello")
        .expect("message");
    let (proposal, _) = group
        .propose_self_update(&alice_provider, &alice_keys, LeafNodeParameters::default())
        .expect("propose");
    let (proposal2, _) = group
        .propose_remove_member(&alice_provider, &alice_keys, LeafNodeIndex::new(1))
        .expect("propose remove");
    let welcome_message = encode(&welcome);
    let group_info_message = encode(&group_info);
    MlsFixtures {
        commit: encode(&commit),
        proposal: encode(&proposal),
        proposal2: encode(&proposal2),
        application: encode(&application),
        welcome: body(&welcome_message),
        welcome_message,
        group_info: body(&group_info_message),
        group_info_message,
        key_package: encode(bob_kp.key_package()),
        ratchet_tree,
        credential: alice.credential,
        signature_key: alice.signature_key,
    }
}

/// The fixtures, built on first use.
pub fn mls() -> &'static MlsFixtures {
    static FIXTURES: OnceLock<MlsFixtures> = OnceLock::new();
    FIXTURES.get_or_init(build)
}
