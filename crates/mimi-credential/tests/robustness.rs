//! Property tests: whatever bytes arrive as credential content, verification returns an error
//! (never panics), and a valid credential altered anywhere no longer verifies.

// Test helpers outside #[test] functions unwrap too (clippy.toml allows it in tests only).
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use mimi_credential::{
    ClientCa, IssuedCredential, TrustStore, decode_certificate_chain, encode_certificate_chain,
    peek_identity, verify_credential, verify_credential_for_domain,
};
use mimi_types::id::{ClientUri, ProviderDomain, UserUri};
use openmls::prelude::{Credential, CredentialType};
use proptest::prelude::*;

const NOW: i64 = 1_750_000_000;
const KEY: [u8; 32] = [7; 32];

struct Fixture {
    trust: TrustStore,
    issued: IssuedCredential,
    ca_der: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let d = ProviderDomain::parse("a.example").unwrap();
        let ca = ClientCa::generate(&d, NOW - 86_400, 365 * 86_400).unwrap();
        let issued = ca
            .issue(
                &ClientUri::parse("mimi://a.example/d/alice/phone").unwrap(),
                &UserUri::parse("mimi://a.example/u/alice").unwrap(),
                &KEY,
                NOW,
                NOW + 86_400,
            )
            .unwrap();
        let mut trust = TrustStore::new();
        trust.add(&d, ca.cert_der()).unwrap();
        Fixture {
            trust,
            issued,
            ca_der: ca.cert_der().to_vec(),
        }
    })
}

fn check(content: Vec<u8>, key: &[u8]) -> bool {
    let f = fixture();
    let cred = Credential::new(CredentialType::X509, content);
    let _ = peek_identity(&cred);
    let d = ProviderDomain::parse("a.example").unwrap();
    let _ = verify_credential_for_domain(&cred, key, &f.trust, &d, NOW);
    verify_credential(&cred, key, &f.trust, NOW).is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_nor_verify(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(!check(bytes, &KEY));
    }

    #[test]
    fn random_certificates_in_a_valid_frame(cert in proptest::collection::vec(any::<u8>(), 1..600)) {
        let content = encode_certificate_chain(&[cert]).unwrap();
        prop_assert!(!check(content, &KEY));
    }

    /// Flip one byte of a valid credential's content (framing or certificate): it must not
    /// verify, and must not panic.
    #[test]
    fn any_single_byte_change_is_rejected(pos in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let f = fixture();
        let mut content = f.issued.credential.serialized_content().to_vec();
        let i = pos.index(content.len());
        content[i] ^= xor;
        prop_assert!(!check(content, &KEY), "byte {} ^ {:#x} still verifies", i, xor);
    }

    /// Truncations and extensions of a valid chain, including with the anchor appended.
    #[test]
    fn truncated_or_extended(cut in any::<prop::sample::Index>(), tail in proptest::collection::vec(any::<u8>(), 0..8), with_anchor in any::<bool>()) {
        let f = fixture();
        let mut certs: Vec<&[u8]> = vec![&f.issued.certificate_der];
        if with_anchor {
            certs.push(&f.ca_der);
        }
        let full = encode_certificate_chain(&certs).unwrap();
        prop_assert!(check(full.clone(), &KEY));
        prop_assert_eq!(decode_certificate_chain(&full).unwrap(), certs.clone());
        let n = cut.index(full.len());
        // Cutting exactly after the leaf leaves a valid one-certificate chain.
        let leaf_frame = encode_certificate_chain(&certs[..1]).unwrap().len();
        prop_assert_eq!(check(full[..n].to_vec(), &KEY), n == leaf_frame);
        if !tail.is_empty() {
            let mut longer = full;
            longer.extend_from_slice(&tail);
            prop_assert!(!check(longer, &KEY));
        }
    }

    #[test]
    fn random_signature_keys_do_not_match(key in proptest::collection::vec(any::<u8>(), 0..40)) {
        prop_assume!(key != KEY);
        let f = fixture();
        prop_assert!(!check(f.issued.credential.serialized_content().to_vec(), &key));
    }
}

/// Every single-bit flip (and every byte inverted) anywhere in a valid credential's content
/// makes it fail: the unsigned parts of the certificate are checked byte for byte, the signed
/// part by the signature.
#[test]
fn every_bit_flip_is_rejected() {
    let f = fixture();
    let content = f.issued.credential.serialized_content();
    for i in 0..content.len() {
        for xor in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
            let mut c = content.to_vec();
            c[i] ^= xor;
            assert!(!check(c, &KEY), "byte {i} ^ {xor:#04x} still verifies");
        }
    }
}
