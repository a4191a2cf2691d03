//! OpenMLS integration: credentials issued here go into real KeyPackages and groups, and the
//! credentials OpenMLS hands back verify.

// Test helpers outside #[test] functions unwrap too (clippy.toml allows it in tests only).
#![allow(clippy::unwrap_used)]

use mimi_credential::{ClientCa, CredentialError, TrustStore, verify_credential};
use mimi_types::id::{ClientUri, ProviderDomain, UserUri};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use tls_codec::{Deserialize as _, Serialize as _};

const CS: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
const NOW: i64 = 1_750_000_000;
const DAY: i64 = 86_400;

fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).unwrap()
}

/// Leaf capabilities that list the x509 credential type: RFC 9420 §7.2 requires a leaf's own
/// credential type to be among its capabilities, and OpenMLS lists only `basic` by default.
fn capabilities() -> Capabilities {
    Capabilities::builder()
        .credentials(vec![CredentialType::Basic, CredentialType::X509])
        .build()
}

struct Client {
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

fn client(ca: &ClientCa, user: &str, device: &str) -> Client {
    let signer = SignatureKeyPair::new(CS.signature_algorithm()).unwrap();
    let issued = ca
        .issue(
            &ClientUri::new(ca.domain().clone(), Some(user), device).unwrap(),
            &UserUri::new(ca.domain().clone(), user).unwrap(),
            signer.public(),
            NOW - 60,
            NOW + 30 * DAY,
        )
        .unwrap();
    Client {
        credential: CredentialWithKey {
            credential: issued.credential,
            signature_key: signer.public().into(),
        },
        signer,
    }
}

fn trust(cas: &[&ClientCa]) -> TrustStore {
    let mut t = TrustStore::new();
    for ca in cas {
        t.add(ca.domain(), ca.cert_der()).unwrap();
    }
    t
}

#[test]
fn key_package_leaf_credential_verifies() {
    let provider = OpenMlsRustCrypto::default();
    let ca = ClientCa::generate(&domain("a.example"), NOW - DAY, 365 * DAY).unwrap();
    let alice = client(&ca, "alice", "phone");
    let bundle = KeyPackage::builder()
        .leaf_node_capabilities(capabilities())
        .build(CS, &provider, &alice.signer, alice.credential.clone())
        .unwrap();

    // Over the wire and validated as a receiver would (signature, lifetime, capabilities).
    let bytes = bundle.key_package().tls_serialize_detached().unwrap();
    let received = KeyPackageIn::tls_deserialize_exact(bytes)
        .unwrap()
        .validate(provider.crypto(), ProtocolVersion::Mls10)
        .unwrap();
    let leaf = received.leaf_node();
    assert_eq!(leaf.credential().credential_type(), CredentialType::X509);

    let id = verify_credential(
        leaf.credential(),
        leaf.signature_key().as_slice(),
        &trust(&[&ca]),
        NOW,
    )
    .unwrap();
    assert_eq!(id.client.as_str(), "mimi://a.example/d/alice/phone");
    assert_eq!(id.user.as_str(), "mimi://a.example/u/alice");
    assert_eq!(id.domain, domain("a.example"));
}

#[test]
fn key_package_with_someone_elses_credential_fails() {
    // Mallory puts Alice's credential into a KeyPackage signed with Mallory's key: OpenMLS
    // accepts it (it does not look into credentials), the verifier does not (RFC 9420 §5.3).
    let provider = OpenMlsRustCrypto::default();
    let ca = ClientCa::generate(&domain("a.example"), NOW - DAY, 365 * DAY).unwrap();
    let alice = client(&ca, "alice", "phone");
    let mallory = SignatureKeyPair::new(CS.signature_algorithm()).unwrap();
    let bundle = KeyPackage::builder()
        .leaf_node_capabilities(capabilities())
        .build(
            CS,
            &provider,
            &mallory,
            CredentialWithKey {
                credential: alice.credential.credential.clone(),
                signature_key: mallory.public().into(),
            },
        )
        .unwrap();
    let leaf = bundle.key_package().leaf_node();
    assert_eq!(
        verify_credential(
            leaf.credential(),
            leaf.signature_key().as_slice(),
            &trust(&[&ca]),
            NOW
        ),
        Err(CredentialError::KeyMismatch)
    );
}

#[test]
fn group_members_of_two_providers_verify() {
    let provider_a = OpenMlsRustCrypto::default();
    let provider_b = OpenMlsRustCrypto::default();
    let ca_a = ClientCa::generate(&domain("a.example"), NOW - DAY, 365 * DAY).unwrap();
    let ca_b = ClientCa::generate(&domain("b.example"), NOW - DAY, 365 * DAY).unwrap();
    let alice = client(&ca_a, "alice", "phone");
    let bob = client(&ca_b, "bob", "laptop");

    let mut group = MlsGroup::builder()
        .ciphersuite(CS)
        .with_capabilities(capabilities())
        .use_ratchet_tree_extension(true)
        .build(&provider_a, &alice.signer, alice.credential.clone())
        .unwrap();
    let bob_kp = KeyPackage::builder()
        .leaf_node_capabilities(capabilities())
        .build(CS, &provider_b, &bob.signer, bob.credential.clone())
        .unwrap();
    let (_commit, welcome, _) = group
        .add_members(&provider_a, &alice.signer, &[bob_kp.key_package().clone()])
        .unwrap();
    group.merge_pending_commit(&provider_a).unwrap();

    // Bob joins from the Welcome and checks every member, as the AS step of RFC 9420 §5.3.1.
    let welcome =
        match MlsMessageIn::tls_deserialize_exact(welcome.tls_serialize_detached().unwrap())
            .unwrap()
            .extract()
        {
            MlsMessageBodyIn::Welcome(w) => w,
            other => panic!("not a Welcome: {other:?}"),
        };
    let bob_group =
        StagedWelcome::new_from_welcome(&provider_b, &MlsGroupJoinConfig::default(), welcome, None)
            .unwrap()
            .into_group(&provider_b)
            .unwrap();
    let trust = trust(&[&ca_a, &ca_b]);
    let mut users: Vec<String> = bob_group
        .members()
        .map(|m| {
            verify_credential(&m.credential, &m.signature_key, &trust, NOW)
                .unwrap()
                .user
                .to_string()
        })
        .collect();
    users.sort();
    assert_eq!(
        users,
        ["mimi://a.example/u/alice", "mimi://b.example/u/bob"]
    );

    // A verifier that trusts only a.example rejects Bob's credential.
    let only_a = self::trust(&[&ca_a]);
    let errors: Vec<_> = group
        .members()
        .filter_map(|m| verify_credential(&m.credential, &m.signature_key, &only_a, NOW).err())
        .collect();
    assert_eq!(
        errors,
        [CredentialError::UnknownIssuerDomain(domain("b.example"))]
    );
}
