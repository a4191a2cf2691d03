//! The certificate profile: what a provider's client CA and its client certificates contain
//! (docs/decisions/0040..0048).
//!
//! ```text
//! CA:   subject CN=MIMI client CA, O=<domain>; Ed25519; basicConstraints cA, pathLen 0 (critical);
//!       keyUsage keyCertSign, cRLSign (critical); SAN URI mimi://<domain>; SKI.
//! leaf: subject empty; Ed25519 (the MLS signature key); SAN (critical) URI client, URI user;
//!       keyUsage digitalSignature (critical); EKU clientAuth; basicConstraints cA=FALSE
//!       (critical); SKI; AKI = the CA's SKI.
//! ```

use mimi_types::id::{ClientUri, ProviderDomain, ProviderUri, UserUri};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyUsagePurpose, PublicKeyData, SanType, SerialNumber, SignatureAlgorithm, string::Ia5String,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::CredentialError;

/// Common name of every client CA; the organization is the provider domain.
pub const CA_COMMON_NAME: &str = "MIMI client CA";

/// Earliest time a certificate may name: the Unix epoch.
pub const MIN_CERT_TIME: i64 = 0;

/// Latest time a certificate may name: 9999-12-31T23:59:59Z, the last instant X.509
/// `GeneralizedTime` can express (RFC 5280 §4.1.2.5).
pub const MAX_CERT_TIME: i64 = 253_402_300_799;

/// Length of an Ed25519 public key (RFC 8032 §5.1.5), which is what an MLS `signature_key`
/// is for the Ed25519 cipher suites (RFC 9420 §5.1.1).
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;

/// A raw Ed25519 public key that rcgen can put into a certificate's subjectPublicKeyInfo
/// (rcgen signs certificates for any [`PublicKeyData`], not only keys it holds).
pub(crate) struct Ed25519PublicKey<'a>(pub(crate) &'a [u8]);

impl PublicKeyData for Ed25519PublicKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// Check an MLS signature key is a raw Ed25519 public key.
pub(crate) fn ed25519_key(signature_key: &[u8]) -> Result<Ed25519PublicKey<'_>, CredentialError> {
    if signature_key.len() == ED25519_PUBLIC_KEY_LEN {
        Ok(Ed25519PublicKey(signature_key))
    } else {
        Err(CredentialError::InvalidSignatureKey(signature_key.len()))
    }
}

/// A validity period checked for the profile: `not_before < not_after`, both representable.
pub(crate) fn validity(
    not_before: i64,
    not_after: i64,
) -> Result<(OffsetDateTime, OffsetDateTime), CredentialError> {
    let range = MIN_CERT_TIME..=MAX_CERT_TIME;
    if !range.contains(&not_before) || !range.contains(&not_after) {
        return Err(CredentialError::InvalidValidity(
            "times must lie between 1970-01-01 and 9999-12-31",
        ));
    }
    if not_before >= not_after {
        return Err(CredentialError::InvalidValidity(
            "notBefore must be earlier than notAfter",
        ));
    }
    let convert = |t| {
        OffsetDateTime::from_unix_timestamp(t)
            .map_err(|_| CredentialError::InvalidValidity("time out of range"))
    };
    Ok((convert(not_before)?, convert(not_after)?))
}

/// A serial number derived from what the certificate says (docs/decisions/0047): 16 bytes of
/// SHA-256 over length-prefixed parts, positive and with a non-zero first byte. Certificates
/// that differ in anything get different serials; issuing the same thing twice gives the same
/// certificate (Ed25519 signatures are deterministic).
pub(crate) fn derive_serial(parts: &[&[u8]]) -> SerialNumber {
    let mut hash = Sha256::new();
    hash.update(b"mimi-credential serial v1");
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut serial = [0u8; 16];
    serial.copy_from_slice(&digest[..16]);
    // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; keep the full 16 octets.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&serial)
}

fn uri_san(uri: &str) -> Result<SanType, CredentialError> {
    // MIMI URIs are ASCII in their normalized form (mimi-types), so this cannot fail for them.
    Ia5String::try_from(uri)
        .map(SanType::URI)
        .map_err(|e| CredentialError::Generation(e.to_string()))
}

/// Parameters of a provider's client CA certificate.
pub(crate) fn ca_params(
    domain: &ProviderDomain,
    spki: &[u8],
    not_before: i64,
    not_after: i64,
) -> Result<CertificateParams, CredentialError> {
    let (nb, na) = validity(not_before, not_after)?;
    let mut params = CertificateParams::default();
    params.not_before = nb;
    params.not_after = na;
    params.serial_number = Some(derive_serial(&[
        b"ca",
        domain.as_str().as_bytes(),
        spki,
        &not_before.to_be_bytes(),
        &not_after.to_be_bytes(),
    ]));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    dn.push(DnType::OrganizationName, domain.as_str());
    params.distinguished_name = dn;
    // pathLen 0: the CA issues client certificates directly (docs/decisions/0045).
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.subject_alt_names = vec![uri_san(ProviderUri::new(domain.clone()).as_str())?];
    Ok(params)
}

/// Parameters of a client certificate: SAN = client URI, user URI (draft-mahy-mimi-identity-05
/// §"X.509 Certificates", "Single Combined Cert"); empty subject, so SAN is critical (RFC 5280
/// §4.2.1.6).
pub(crate) fn leaf_params(
    client: &ClientUri,
    user: &UserUri,
    signature_key: &[u8],
    issuer_spki: &[u8],
    not_before: i64,
    not_after: i64,
) -> Result<CertificateParams, CredentialError> {
    let (nb, na) = validity(not_before, not_after)?;
    let mut params = CertificateParams::default();
    params.not_before = nb;
    params.not_after = na;
    params.serial_number = Some(derive_serial(&[
        b"client",
        issuer_spki,
        client.as_str().as_bytes(),
        user.as_str().as_bytes(),
        signature_key,
        &not_before.to_be_bytes(),
        &not_after.to_be_bytes(),
    ]));
    params.distinguished_name = DistinguishedName::new();
    params.subject_alt_names = vec![uri_san(client.as_str())?, uri_san(user.as_str())?];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}
