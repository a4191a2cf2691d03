//! Unit tests: issue and verify, and one realistic bad credential per error variant.
//!
//! Off-profile certificates are built with the crate's own profile functions and then altered,
//! so each test differs from a good credential in exactly one respect.

use mimi_types::id::{ClientUri, IdError, ProviderDomain, UriKind, UserUri};
use openmls::prelude::{BasicCredential, Credential, CredentialType};
use rcgen::{
    CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, KeyUsagePurpose, SanType,
};
use tls_codec::Serialize as _;
use x509_parser::prelude::*;

use crate::profile::{self, Ed25519PublicKey};
use crate::*;

const T0: i64 = 1_750_000_000; // 2025-06-15
const DAY: i64 = 86_400;

fn domain(s: &str) -> ProviderDomain {
    ProviderDomain::parse(s).unwrap()
}

fn ca(d: &str) -> ClientCa {
    ClientCa::generate(&domain(d), T0 - DAY, 365 * DAY).unwrap()
}

fn key(seed: u8) -> [u8; 32] {
    [seed; 32]
}

fn client(d: &str) -> ClientUri {
    ClientUri::parse(&format!("mimi://{d}/d/SvPfLlwBQi-6oddVRrkqpw/04c7")).unwrap()
}

fn user(d: &str) -> UserUri {
    UserUri::parse(&format!("mimi://{d}/u/alice.smith")).unwrap()
}

fn store(cas: &[&ClientCa]) -> TrustStore {
    let mut s = TrustStore::new();
    for ca in cas {
        s.add(ca.domain(), ca.cert_der()).unwrap();
    }
    s
}

fn issue(ca: &ClientCa) -> IssuedCredential {
    let d = ca.domain().as_str().to_owned();
    ca.issue(&client(&d), &user(&d), &key(1), T0, T0 + 30 * DAY)
        .unwrap()
}

/// A leaf certificate signed by `ca` from the profile's parameters for a good credential of
/// `ca`'s domain, altered by `alter`; returned as a one-certificate credential.
fn craft(ca: &ClientCa, alter: impl FnOnce(&mut CertificateParams)) -> Credential {
    x509_credential(&[craft_der(ca, alter)]).unwrap()
}

fn craft_der(ca: &ClientCa, alter: impl FnOnce(&mut CertificateParams)) -> Vec<u8> {
    let d = ca.domain().as_str().to_owned();
    let mut params =
        profile::leaf_params(&client(&d), &user(&d), &key(1), b"", T0, T0 + 30 * DAY).unwrap();
    alter(&mut params);
    ca.sign(&params, &Ed25519PublicKey(&key(1))).unwrap()
}

fn uri_sans(uris: &[&str]) -> Vec<SanType> {
    uris.iter()
        .map(|u| SanType::URI((*u).try_into().unwrap()))
        .collect()
}

fn verify(
    credential: &Credential,
    trust: &TrustStore,
) -> Result<VerifiedIdentity, CredentialError> {
    verify_credential(credential, &key(1), trust, T0 + DAY)
}

// ---- good credentials --------------------------------------------------------------------

#[test]
fn issue_and_verify_round_trip() {
    let ca = ca("example.com");
    let trust = store(&[&ca]);
    let issued = issue(&ca);
    assert_eq!(issued.credential.credential_type(), CredentialType::X509);
    let id = verify(&issued.credential, &trust).unwrap();
    assert_eq!(id.client, client("example.com"));
    assert_eq!(id.user, user("example.com"));
    assert_eq!(id.domain, domain("example.com"));
    assert_eq!(id.not_after_unix, T0 + 30 * DAY);
    assert_eq!(
        verify_credential_for_domain(
            &issued.credential,
            &key(1),
            &trust,
            &domain("EXAMPLE.com"),
            T0
        )
        .unwrap(),
        id
    );
    assert_eq!(
        peek_identity(&issued.credential).unwrap(),
        (client("example.com"), user("example.com"))
    );
}

#[test]
fn credential_wire_format_is_rfc9420_certificates_vector() {
    let ca = ca("a.example");
    let issued = issue(&ca);
    let leaf = &issued.certificate_der;
    assert!(leaf.len() < 1 << 14, "fits a 2-byte varint");
    // RFC 9420 §5.3: credential_type = x509 (2), then Certificate certificates<V>, each
    // Certificate being opaque cert_data<V>.
    let wire = issued.credential.tls_serialize_detached().unwrap();
    let inner = leaf.len() + 2;
    let mut expected = vec![0x00, 0x02];
    expected.extend_from_slice(&(0x4000 | inner as u16).to_be_bytes());
    expected.extend_from_slice(&(0x4000 | leaf.len() as u16).to_be_bytes());
    expected.extend_from_slice(leaf);
    assert_eq!(wire, expected);
    assert_eq!(
        decode_certificate_chain(issued.credential.serialized_content()).unwrap(),
        vec![&leaf[..]]
    );
}

#[test]
fn chain_with_the_anchor_appended_verifies() {
    let ca = ca("a.example");
    let issued = issue(&ca);
    let cred = x509_credential(&[&issued.certificate_der[..], ca.cert_der()]).unwrap();
    assert!(verify(&cred, &store(&[&ca])).is_ok());
}

#[test]
fn certificate_profile() {
    let ca = ca("example.com");
    let issued = issue(&ca);
    let (_, leaf) = X509Certificate::from_der(&issued.certificate_der).unwrap();
    let (_, root) = X509Certificate::from_der(ca.cert_der()).unwrap();

    assert_eq!(leaf.version(), X509Version::V3);
    assert_eq!(
        leaf.signature_algorithm.algorithm,
        oid_registry::OID_SIG_ED25519
    );
    assert_eq!(
        leaf.public_key().algorithm.algorithm,
        oid_registry::OID_SIG_ED25519
    );
    assert_eq!(&*leaf.public_key().subject_public_key.data, &key(1));
    assert_eq!(leaf.subject().iter().count(), 0, "empty subject");
    assert_eq!(leaf.issuer().as_raw(), root.subject().as_raw());
    let san = leaf.subject_alternative_name().unwrap().unwrap();
    assert!(
        san.critical,
        "RFC 5280 §4.2.1.6: critical with an empty subject"
    );
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "URI(mimi://example.com/d/SvPfLlwBQi-6oddVRrkqpw/04c7)",
            "URI(mimi://example.com/u/alice.smith)"
        ]
    );
    let ku = leaf.key_usage().unwrap().unwrap();
    assert!(ku.critical && ku.value.digital_signature() && !ku.value.key_cert_sign());
    let eku = leaf.extended_key_usage().unwrap().unwrap();
    assert!(eku.value.client_auth && !eku.value.server_auth);
    let bc = leaf.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && !bc.value.ca);
    assert_eq!(
        crate::cert::authority_key_id(&leaf),
        crate::cert::subject_key_id(&root)
    );
    assert!(crate::cert::subject_key_id(&leaf).is_some());
    assert_eq!(leaf.validity().not_before.timestamp(), T0);
    assert_eq!(leaf.validity().not_after.timestamp(), T0 + 30 * DAY);

    assert_eq!(
        root.subject().to_string(),
        "CN=MIMI client CA, O=example.com"
    );
    let bc = root.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, Some(0));
    let ku = root.key_usage().unwrap().unwrap();
    assert!(ku.value.key_cert_sign() && ku.value.crl_sign() && !ku.value.digital_signature());
    let san = root.subject_alternative_name().unwrap().unwrap();
    assert_eq!(
        san.value.general_names[0].to_string(),
        "URI(mimi://example.com)"
    );
    assert!(root.verify_signature(None).is_ok(), "self-signed");
}

#[test]
fn issuance_is_deterministic_and_serials_differ() {
    let ca = ca("a.example");
    let a = issue(&ca);
    assert_eq!(a, issue(&ca));
    let b = ca
        .issue(
            &client("a.example"),
            &user("a.example"),
            &key(1),
            T0,
            T0 + 31 * DAY,
        )
        .unwrap();
    let (_, ca_) = X509Certificate::from_der(&a.certificate_der).unwrap();
    let (_, cb) = X509Certificate::from_der(&b.certificate_der).unwrap();
    assert_ne!(ca_.raw_serial(), cb.raw_serial());
    assert_eq!(ca_.raw_serial().len(), 16);
}

#[test]
fn clock_skew_is_applied_and_configurable() {
    let ca = ca("a.example");
    let issued = issue(&ca);
    let mut trust = store(&[&ca]);
    let check = |t: &TrustStore, now| verify_credential(&issued.credential, &key(1), t, now);
    assert!(check(&trust, T0 - DEFAULT_CLOCK_SKEW_SECS).is_ok());
    assert!(check(&trust, T0 + 30 * DAY + DEFAULT_CLOCK_SKEW_SECS).is_ok());
    assert!(check(&trust, T0 - DEFAULT_CLOCK_SKEW_SECS - 1).is_err());
    trust.set_clock_skew(0);
    assert!(check(&trust, T0).is_ok(), "notBefore is inclusive");
    assert!(
        check(&trust, T0 + 30 * DAY).is_ok(),
        "notAfter is inclusive"
    );
    assert_eq!(
        check(&trust, T0 - 1),
        Err(CredentialError::NotYetValid {
            not_before: T0,
            now: T0 - 1
        })
    );
    trust.set_clock_skew(-5);
    assert_eq!(trust.clock_skew(), 0);
    // Extreme clocks do not overflow.
    assert!(check(&trust.clone().with_clock_skew(i64::MAX), 0).is_ok());
    assert!(matches!(
        check(&trust, i64::MAX),
        Err(CredentialError::Expired { .. })
    ));
}

#[test]
fn ca_rotation_two_anchors_for_one_domain() {
    let old = ca("a.example");
    let new = ClientCa::generate(&domain("a.example"), T0, 365 * DAY).unwrap();
    let trust = store(&[&old, &new]);
    assert_eq!(trust.get(&domain("a.example")).unwrap().len(), 2);
    assert_eq!(trust.len(), 1);
    assert!(verify(&issue(&old).credential, &trust).is_ok());
    assert!(verify(&issue(&new).credential, &trust).is_ok());
    // [leaf, anchor] picks that anchor; the other anchor's certificate is rejected.
    let cred = x509_credential(&[&issue(&new).certificate_der[..], old.cert_der()]).unwrap();
    assert_eq!(
        verify(&cred, &trust),
        Err(CredentialError::IssuerMismatch(domain("a.example")))
    );
}

#[test]
fn trust_store_management() {
    let a = ca("a.example");
    let b = ca("b.example");
    let mut trust = TrustStore::default();
    assert!(trust.is_empty());
    assert_eq!(trust.clock_skew(), DEFAULT_CLOCK_SKEW_SECS);
    trust.add_pem(&domain("b.example"), &b.cert_pem()).unwrap();
    trust.add(&domain("a.example"), a.cert_der()).unwrap();
    trust.add(&domain("a.example"), a.cert_der()).unwrap();
    assert_eq!(
        trust.get(&domain("a.example")).unwrap().len(),
        1,
        "no duplicates"
    );
    let domains: Vec<_> = trust.domains().map(|d| d.as_str().to_owned()).collect();
    assert_eq!(domains, ["a.example", "b.example"]);
    let anchor = &trust.get(&domain("b.example")).unwrap()[0];
    assert_eq!(anchor.der(), b.cert_der());
    assert_eq!(anchor.pem(), b.cert_pem());
    assert_eq!(anchor.not_before(), T0 - DAY);
    assert_eq!(anchor.not_after(), T0 + 364 * DAY);
    assert!(trust.remove(&domain("b.example")));
    assert!(!trust.remove(&domain("b.example")));
    assert!(trust.get(&domain("b.example")).is_none());

    // Two certificates in one PEM file.
    let both = format!(
        "{}{}",
        a.cert_pem(),
        ClientCa::generate(&domain("a.example"), T0, DAY)
            .unwrap()
            .cert_pem()
    );
    let mut t2 = TrustStore::new();
    t2.add_pem(&domain("a.example"), &both).unwrap();
    assert_eq!(t2.get(&domain("a.example")).unwrap().len(), 2);
}

#[test]
fn trust_store_rejects_bad_anchors() {
    let a = ca("a.example");
    let mut trust = TrustStore::new();
    // A client certificate is not a CA.
    let leaf = issue(&a).certificate_der;
    assert!(matches!(
        trust.add(&domain("a.example"), &leaf),
        Err(CredentialError::InvalidCaCertificate(_))
    ));
    // a.example's CA configured as b.example's.
    let e = trust.add(&domain("b.example"), a.cert_der()).unwrap_err();
    assert_eq!(
        e,
        CredentialError::InvalidCaCertificate(
            "it names mimi://a.example, which is not of b.example".into()
        )
    );
    assert!(matches!(
        trust.add(&domain("a.example"), b"garbage"),
        Err(CredentialError::InvalidCaCertificate(_))
    ));
    assert!(matches!(
        trust.add_pem(&domain("a.example"), "no pem here"),
        Err(CredentialError::InvalidPem { .. })
    ));
    assert!(matches!(
        trust.add_pem(&domain("a.example"), &a.key_pem()),
        Err(CredentialError::InvalidPem { .. })
    ));
    assert!(trust.is_empty(), "nothing added on failure");
}

#[test]
fn ca_pem_round_trip() {
    let ca = ca("a.example");
    let loaded = ClientCa::from_pem(&ca.cert_pem(), &ca.key_pem()).unwrap();
    assert_eq!(loaded.domain(), ca.domain());
    assert_eq!(loaded.cert_der(), ca.cert_der());
    assert_eq!(loaded.cert_pem(), ca.cert_pem());
    assert_eq!(loaded.key_pem(), ca.key_pem());
    assert_eq!(loaded.not_before(), ca.not_before());
    assert_eq!(loaded.not_after(), ca.not_after());
    // Credentials of the loaded CA verify against the original certificate, byte-identical.
    assert_eq!(issue(&loaded), issue(&ca));
    assert!(verify(&issue(&loaded).credential, &store(&[&ca])).is_ok());
    assert!(format!("{loaded:?}").contains("a.example"));
    assert!(!format!("{loaded:?}").contains("PRIVATE"));
}

#[test]
fn ca_pem_errors() {
    let a = ca("a.example");
    let b = ca("b.example");
    assert!(matches!(
        ClientCa::from_pem(&a.cert_pem(), &b.key_pem()),
        Err(CredentialError::InvalidCaKey(_))
    ));
    assert!(matches!(
        ClientCa::from_pem("not pem", &a.key_pem()),
        Err(CredentialError::InvalidPem { .. })
    ));
    assert!(matches!(
        ClientCa::from_pem(&a.key_pem(), &a.key_pem()),
        Err(CredentialError::InvalidPem { .. })
    ));
    assert!(matches!(
        ClientCa::from_pem(&a.cert_pem(), &a.cert_pem()),
        Err(CredentialError::InvalidCaKey(_))
    ));
    let p256 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    assert_eq!(
        ClientCa::from_pem(&a.cert_pem(), &p256.serialize_pem()).unwrap_err(),
        CredentialError::InvalidCaKey("not an Ed25519 key".into())
    );
    // A client certificate is not a CA certificate.
    let leaf = issue(&a).certificate_pem();
    assert!(matches!(
        ClientCa::from_pem(&leaf, &a.key_pem()),
        Err(CredentialError::InvalidCaCertificate(_))
    ));
}

// ---- issuing errors ----------------------------------------------------------------------

#[test]
fn issue_rejects_bad_requests() {
    let ca = ca("a.example");
    let (c, u) = (client("a.example"), user("a.example"));
    assert_eq!(
        ca.issue(&c, &u, &[1; 31], T0, T0 + DAY).unwrap_err(),
        CredentialError::InvalidSignatureKey(31)
    );
    assert_eq!(
        ca.issue(&client("b.example"), &u, &key(1), T0, T0 + DAY)
            .unwrap_err(),
        CredentialError::ForeignIdentifier {
            uri: "mimi://b.example/d/SvPfLlwBQi-6oddVRrkqpw/04c7".into(),
            domain: domain("a.example")
        }
    );
    assert!(matches!(
        ca.issue(&c, &user("b.example"), &key(1), T0, T0 + DAY),
        Err(CredentialError::ForeignIdentifier { .. })
    ));
    for (nb, na) in [
        (T0, T0),
        (T0 + 1, T0),
        (T0 - 2 * DAY, T0),
        (T0, T0 + 365 * DAY),
        (-1, T0),
        (T0, MAX_CERT_TIME + 1),
    ] {
        assert!(
            matches!(
                ca.issue(&c, &u, &key(1), nb, na),
                Err(CredentialError::InvalidValidity(_))
            ),
            "{nb}..{na}"
        );
    }
    for (nb, v) in [
        (T0, 0),
        (T0, -1),
        (i64::MAX, 1),
        (-5, 10),
        (MAX_CERT_TIME, 1),
    ] {
        assert!(
            matches!(
                ClientCa::generate(&domain("a.example"), nb, v),
                Err(CredentialError::InvalidValidity(_))
            ),
            "{nb}+{v}"
        );
    }
    // The whole representable range works, in both UTCTime and GeneralizedTime.
    let wide = ClientCa::generate(&domain("a.example"), 0, MAX_CERT_TIME).unwrap();
    let issued = wide.issue(&c, &u, &key(1), 0, MAX_CERT_TIME).unwrap();
    let mut trust = TrustStore::new();
    trust.add(wide.domain(), wide.cert_der()).unwrap();
    assert!(verify(&issued.credential, &trust).is_ok());
}

// ---- one bad credential per verification error --------------------------------------------

#[test]
fn wrong_credential_type() {
    let ca = ca("a.example");
    let basic: Credential = BasicCredential::new(b"mimi://a.example/u/alice".to_vec()).into();
    assert_eq!(
        verify(&basic, &store(&[&ca])),
        Err(CredentialError::WrongCredentialType(1))
    );
    assert_eq!(
        peek_identity(&basic),
        Err(CredentialError::WrongCredentialType(1))
    );
    let other = Credential::new(
        CredentialType::Other(0xf000),
        issue(&ca).credential.serialized_content().to_vec(),
    );
    assert_eq!(
        verify(&other, &store(&[&ca])),
        Err(CredentialError::WrongCredentialType(0xf000))
    );
}

#[test]
fn garbage_and_malformed_chains() {
    let ca = ca("a.example");
    let trust = store(&[&ca]);
    let x509 = |bytes: Vec<u8>| Credential::new(CredentialType::X509, bytes);
    assert_eq!(
        verify(&x509(vec![]), &trust),
        Err(CredentialError::EmptyChain)
    );
    assert_eq!(
        verify(&x509(vec![0xff, 0x00, 0x13]), &trust),
        Err(CredentialError::MalformedChain(
            "invalid length prefix 0b11"
        ))
    );
    assert_eq!(
        verify(&x509(vec![0x05, 1, 2]), &trust),
        Err(CredentialError::MalformedChain("truncated cert_data"))
    );
    // Well-framed garbage is not a certificate.
    assert!(matches!(
        verify(&x509(vec![0x05, 0x30, 0x03, 1, 2, 3]), &trust),
        Err(CredentialError::MalformedCertificate { index: 0, .. })
    ));
    assert!(matches!(
        peek_identity(&x509(b"\x04junk".to_vec())),
        Err(CredentialError::MalformedCertificate { index: 0, .. })
    ));
    // The leaf with bytes after it inside its cert_data.
    let mut leaf = issue(&ca).certificate_der;
    leaf.push(0);
    assert_eq!(
        verify(&x509_credential(&[leaf]).unwrap(), &trust),
        Err(CredentialError::MalformedCertificate {
            index: 0,
            reason: "1 bytes after the certificate".into()
        })
    );
}

#[test]
fn chain_too_long_and_certificate_too_large() {
    let ca = ca("a.example");
    let trust = store(&[&ca]);
    let leaf = issue(&ca).certificate_der;
    let three = x509_credential(&[&leaf[..], ca.cert_der(), ca.cert_der()]).unwrap();
    assert_eq!(
        verify(&three, &trust),
        Err(CredentialError::ChainTooLong {
            max: MAX_CHAIN_CERTS
        })
    );
    let big = craft(&ca, |p| {
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 99999, 1],
            vec![0x04, 0x82, 0x13, 0x88]
                .into_iter()
                .chain(std::iter::repeat_n(0, 5000))
                .collect(),
        ));
    });
    assert!(matches!(
        verify(&big, &trust),
        Err(CredentialError::CertificateTooLarge {
            index: 0,
            max: MAX_CERT_LEN,
            ..
        })
    ));
}

#[test]
fn intermediate_in_chain_is_rejected() {
    let a = ca("a.example");
    let other = ClientCa::generate(&domain("a.example"), T0, DAY).unwrap();
    let cred = x509_credential(&[&issue(&a).certificate_der[..], other.cert_der()]).unwrap();
    assert_eq!(
        verify(&cred, &store(&[&a])),
        Err(CredentialError::ChainCertificateNotAnchor {
            index: 1,
            domain: domain("a.example")
        })
    );
}

#[test]
fn ca_certificate_presented_as_leaf() {
    let ca = ca("a.example");
    let (_, root) = X509Certificate::from_der(ca.cert_der()).unwrap();
    let ca_key = root.public_key().subject_public_key.data.to_vec();
    let cred = x509_credential(&[ca.cert_der()]).unwrap();
    assert_eq!(
        verify_credential(&cred, &ca_key, &store(&[&ca]), T0),
        Err(CredentialError::IsCa)
    );
    // Even with the client's URIs in it.
    let cred = craft(&ca, |p| {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    });
    assert_eq!(verify(&cred, &store(&[&ca])), Err(CredentialError::IsCa));
}

#[test]
fn key_usage_and_extended_key_usage() {
    let ca = ca("a.example");
    let trust = store(&[&ca]);
    let no_ku = craft(&ca, |p| p.key_usages.clear());
    assert_eq!(
        verify(&no_ku, &trust),
        Err(CredentialError::MissingDigitalSignature)
    );
    let wrong_ku = craft(&ca, |p| p.key_usages = vec![KeyUsagePurpose::KeyAgreement]);
    assert_eq!(
        verify(&wrong_ku, &trust),
        Err(CredentialError::MissingDigitalSignature)
    );
    let server = craft(&ca, |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    });
    assert_eq!(
        verify(&server, &trust),
        Err(CredentialError::WrongExtendedKeyUsage)
    );
    // No EKU, or anyExtendedKeyUsage, is acceptable.
    let no_eku = craft(&ca, |p| p.extended_key_usages.clear());
    assert!(verify(&no_eku, &trust).is_ok());
    let any = craft(&ca, |p| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Any]
    });
    assert!(verify(&any, &trust).is_ok());
}

#[test]
fn unknown_critical_extension() {
    let ca = ca("a.example");
    let trust = store(&[&ca]);
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 7], vec![0x05, 0x00]);
    ext.set_criticality(true);
    let cred = craft(&ca, |p| p.custom_extensions.push(ext));
    assert_eq!(
        verify(&cred, &trust),
        Err(CredentialError::UnknownCriticalExtension {
            index: 0,
            oid: "1.3.6.1.4.1.99999.7".into()
        })
    );
    // The same extension, not critical, is ignored (RFC 5280 §4.2).
    let ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 7], vec![0x05, 0x00]);
    assert!(verify(&craft(&ca, |p| p.custom_extensions.push(ext)), &trust).is_ok());
}

/// Replace the n-th (0-based) occurrence of `from` in `der` by `to` (same length).
fn replace_nth(der: &mut [u8], from: &[u8], to: &[u8], n: usize) {
    let pos = der
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .nth(n)
        .map(|(i, _)| i)
        .unwrap();
    der[pos..pos + to.len()].copy_from_slice(to);
}

#[test]
fn unsupported_signature_algorithm() {
    let ca = ca("a.example");
    // Relabel both signature algorithm fields (not the key's) Ed25519 -> Ed448 (1.3.101.113).
    let ed25519 = [0x06, 0x03, 0x2b, 0x65, 0x70];
    let ed448 = [0x06, 0x03, 0x2b, 0x65, 0x71];
    let mut der = issue(&ca).certificate_der;
    replace_nth(&mut der, &ed25519, &ed448, 2); // outer signatureAlgorithm
    replace_nth(&mut der, &ed25519, &ed448, 0); // tbsCertificate.signature
    let cred = x509_credential(&[der.clone()]).unwrap();
    assert_eq!(
        verify(&cred, &store(&[&ca])),
        Err(CredentialError::UnsupportedSignatureAlgorithm {
            index: 0,
            oid: "1.3.101.113".into()
        })
    );
    // Only one of them: the fields disagree (RFC 5280 §4.1.1.2).
    let mut der = issue(&ca).certificate_der;
    replace_nth(&mut der, &ed25519, &ed448, 2);
    assert!(matches!(
        verify(&x509_credential(&[der]).unwrap(), &store(&[&ca])),
        Err(CredentialError::MalformedCertificate { index: 0, .. })
    ));
}

#[test]
fn unsigned_parts_are_not_malleable() {
    let ca = ca("a.example");
    let trust = store(&[&ca]);
    let good = issue(&ca).certificate_der;
    let ed25519 = [0x06, 0x03, 0x2b, 0x65, 0x70];
    let bad = |der: Vec<u8>, reason: &str| {
        assert_eq!(
            verify(&x509_credential(&[der]).unwrap(), &trust),
            Err(CredentialError::MalformedCertificate {
                index: 0,
                reason: reason.into()
            })
        );
    };
    // The outer signatureAlgorithm's OID retagged [6]: x509-parser alone accepts this.
    let mut der = good.clone();
    replace_nth(&mut der, &ed25519, &[0x86, 0x03, 0x2b, 0x65, 0x70], 2);
    bad(
        der,
        "signatureAlgorithm is not byte-identical to the signed signature field",
    );
    // Unused bits in the signature BIT STRING.
    let mut der = good.clone();
    let pos = der.len() - 65;
    assert_eq!(der[pos - 2..pos + 1], [0x03, 0x41, 0x00]);
    der[pos] = 0x01;
    bad(der, "signatureValue has unused bits");
    // The outer length in a longer form than needed.
    let mut der = vec![0x30, 0x83, 0x00];
    der.extend_from_slice(&good[2..]);
    assert_eq!(good[1], 0x82);
    bad(der, "non-minimal DER length");
}

#[test]
fn san_errors() {
    let ca = ca("a.example");
    let trust = store(&[&ca]);
    let c = "mimi://a.example/d/phone";
    let c2 = "mimi://a.example/d/laptop";
    let u = "mimi://a.example/u/alice";
    let u2 = "mimi://a.example/u/bob";
    let with = |uris: &[&str]| {
        let sans = uri_sans(uris);
        craft(&ca, move |p| p.subject_alt_names = sans)
    };
    let cases: Vec<(Credential, CredentialError)> = vec![
        (with(&[]), CredentialError::NoSubjectAltName),
        (with(&[u]), CredentialError::MissingClientUri),
        (with(&[c]), CredentialError::MissingUserUri),
        (with(&[c, u, c2]), CredentialError::MultipleClientUris),
        (with(&[c, u, c]), CredentialError::MultipleClientUris),
        (with(&[u, c, u2]), CredentialError::MultipleUserUris),
        (
            with(&[c, u, "mimi://a.example/r/clubhouse"]),
            CredentialError::UnexpectedSanUri(UriKind::Room),
        ),
        (
            with(&[c, u, "mimi://a.example"]),
            CredentialError::UnexpectedSanUri(UriKind::Provider),
        ),
        (
            with(&[c, u, "mimi://a.example/x/what"]),
            CredentialError::InvalidSanUri(IdError::UnknownType("x".into())),
        ),
        (
            with(&[c, u, "MIMI:no-authority"]),
            CredentialError::InvalidSanUri(IdError::MissingAuthority),
        ),
        (
            with(&["mimi://a.example/d/phone", "mimi://b.example/u/alice"]),
            CredentialError::SanDomainMismatch {
                client: domain("a.example"),
                user: domain("b.example"),
            },
        ),
    ];
    for (cred, expected) in cases {
        assert_eq!(verify(&cred, &trust), Err(expected.clone()));
        if expected != CredentialError::NoSubjectAltName {
            assert_eq!(peek_identity(&cred), Err(expected));
        }
    }
    // Other names (DNS, e-mail, https URIs) are skipped; URI case is normalized.
    let mut sans = uri_sans(&["https://a.example/alice", "MIMI://A.EXAMPLE/d/phone", u]);
    sans.push(SanType::DnsName("a.example".try_into().unwrap()));
    sans.push(SanType::Rfc822Name("alice@a.example".try_into().unwrap()));
    let cred = craft(&ca, |p| p.subject_alt_names = sans);
    let id = verify(&cred, &trust).unwrap();
    assert_eq!(id.client.as_str(), "mimi://a.example/d/phone");
    assert_eq!(id.user.as_str(), u);
}

#[test]
fn malformed_san_entry() {
    let ca = ca("a.example");
    // subjectAltName with a uniformResourceIdentifier [6] that is not valid IA5/UTF-8.
    let mut ext = CustomExtension::from_oid_content(
        &[2, 5, 29, 17],
        vec![0x30, 0x04, 0x86, 0x02, 0xff, 0xfe],
    );
    ext.set_criticality(true);
    let cred = craft(&ca, |p| {
        p.subject_alt_names.clear();
        p.custom_extensions.push(ext);
    });
    assert_eq!(
        verify(&cred, &store(&[&ca])),
        Err(CredentialError::MalformedSan)
    );
    assert_eq!(peek_identity(&cred), Err(CredentialError::MalformedSan));
    // A duplicated subjectAltName extension.
    let ext = CustomExtension::from_oid_content(&[2, 5, 29, 17], vec![0x30, 0x02, 0x82, 0x00]);
    let cred = craft(&ca, |p| p.custom_extensions.push(ext));
    assert_eq!(
        verify(&cred, &store(&[&ca])),
        Err(CredentialError::MalformedCertificate {
            index: 0,
            reason: "duplicate extension".into()
        })
    );
}

#[test]
fn domain_mismatch_for_expected_domain() {
    let b = ca("b.example");
    let cred = issue(&b).credential;
    let trust = store(&[&b]);
    assert_eq!(
        verify_credential_for_domain(&cred, &key(1), &trust, &domain("a.example"), T0),
        Err(CredentialError::DomainMismatch {
            expected: domain("a.example"),
            found: domain("b.example")
        })
    );
}

#[test]
fn unknown_issuer_domain() {
    let a = ca("a.example");
    let b = ca("b.example");
    assert_eq!(
        verify(&issue(&a).credential, &store(&[&b])),
        Err(CredentialError::UnknownIssuerDomain(domain("a.example")))
    );
    // a.example's CA signing URIs of c.example, which nobody trusts.
    let sans = uri_sans(&["mimi://c.example/d/x", "mimi://c.example/u/y"]);
    let cred = craft(&a, |p| p.subject_alt_names = sans);
    assert_eq!(
        verify(&cred, &store(&[&a, &b])),
        Err(CredentialError::UnknownIssuerDomain(domain("c.example")))
    );
}

#[test]
fn issuer_mismatch() {
    let a = ca("a.example");
    let b = ca("b.example");
    // a.example's CA certifies a client of b.example: the anchor is chosen by the URIs'
    // domain, b.example, whose CA did not issue it.
    let sans = uri_sans(&["mimi://b.example/d/x", "mimi://b.example/u/mallory"]);
    let cred = craft(&a, |p| p.subject_alt_names = sans);
    assert_eq!(
        verify(&cred, &store(&[&a, &b])),
        Err(CredentialError::IssuerMismatch(domain("b.example")))
    );
    // A rogue CA with the same name as a.example's (another key): AKI differs.
    let rogue = ca("a.example");
    assert_eq!(
        verify(&issue(&rogue).credential, &store(&[&a])),
        Err(CredentialError::IssuerMismatch(domain("a.example")))
    );
}

#[test]
fn bad_signature() {
    let a = ca("a.example");
    let trust = store(&[&a]);
    // Rogue CA with a.example's name and no authorityKeyIdentifier in its leaf.
    let rogue = ca("a.example");
    let cred = craft(&rogue, |p| p.use_authority_key_identifier_extension = false);
    assert_eq!(
        verify(&cred, &trust),
        Err(CredentialError::BadSignature(domain("a.example")))
    );
    // Tampered: one bit of the serial number (inside the signed part).
    let good = issue(&a).certificate_der;
    let (_, parsed) = X509Certificate::from_der(&good).unwrap();
    let serial = parsed.raw_serial().to_vec();
    let pos = good
        .windows(serial.len())
        .position(|w| w == serial)
        .unwrap();
    let mut tampered = good.clone();
    tampered[pos + 5] ^= 0x01;
    assert_eq!(
        verify(&x509_credential(&[tampered]).unwrap(), &trust),
        Err(CredentialError::BadSignature(domain("a.example")))
    );
    // Tampered: the last byte of the signature.
    let mut tampered = good.clone();
    *tampered.last_mut().unwrap() ^= 0x80;
    assert_eq!(
        verify(&x509_credential(&[tampered]).unwrap(), &trust),
        Err(CredentialError::BadSignature(domain("a.example")))
    );
    // Tampered: a user id changed to another of the same length.
    let mut tampered = good;
    replace_nth(&mut tampered, b"alice.smith", b"alice.smitt", 0);
    assert_eq!(
        verify(&x509_credential(&[tampered]).unwrap(), &trust),
        Err(CredentialError::BadSignature(domain("a.example")))
    );
}

#[test]
fn not_yet_valid_and_expired() {
    let ca = ca("a.example");
    let trust = store(&[&ca]).with_clock_skew(60);
    let cred = issue(&ca).credential;
    assert_eq!(
        verify_credential(&cred, &key(1), &trust, T0 - 61),
        Err(CredentialError::NotYetValid {
            not_before: T0,
            now: T0 - 61
        })
    );
    assert_eq!(
        verify_credential(&cred, &key(1), &trust, T0 + 30 * DAY + 61),
        Err(CredentialError::Expired {
            not_after: T0 + 30 * DAY,
            now: T0 + 30 * DAY + 61
        })
    );
}

#[test]
fn trust_anchor_not_valid() {
    let ca = ca("a.example"); // T0 - 1 day ..= T0 + 364 days
    let cred = craft(&ca, |p| {
        p.not_after = ::time::OffsetDateTime::from_unix_timestamp(T0 + 1000 * DAY).unwrap();
    });
    let now = T0 + 400 * DAY;
    assert_eq!(
        verify_credential(&cred, &key(1), &store(&[&ca]), now),
        Err(CredentialError::TrustAnchorNotValid {
            domain: domain("a.example"),
            not_before: T0 - DAY,
            not_after: T0 + 364 * DAY,
            now
        })
    );
}

#[test]
fn key_mismatch() {
    let ca = ca("a.example");
    assert_eq!(
        verify_credential(&issue(&ca).credential, &key(2), &store(&[&ca]), T0),
        Err(CredentialError::KeyMismatch)
    );
    assert_eq!(
        verify_credential(&issue(&ca).credential, &[], &store(&[&ca]), T0),
        Err(CredentialError::KeyMismatch)
    );
}

#[test]
fn error_messages_are_bounded() {
    let ca = ca("a.example");
    let long = format!("mimi://a.example/x/{}", "y".repeat(2000));
    let sans = uri_sans(&[&long]);
    let cred = craft(&ca, |p| p.subject_alt_names = sans);
    let err = verify(&cred, &store(&[&ca])).unwrap_err();
    assert!(matches!(err, CredentialError::InvalidSanUri(_)));
    assert!(err.to_string().len() < 200, "{err}");
}
