//! Verifying a credential: the Authentication Service check of RFC 9420 §5.3.1 for MIMI.

use mimi_types::id::{ClientUri, ProviderDomain, UserUri};
use openmls::prelude::Credential;
use x509_parser::certificate::X509Certificate;

use crate::cert;
use crate::chain::credential_chain;
use crate::error::{CredentialError, echo};
use crate::trust::{TrustAnchor, TrustStore};

/// What a verified credential says: the client it certifies, the user that client belongs
/// to, and the provider (domain) that vouches for both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedIdentity {
    /// The client (device): `mimi://<domain>/d/...`.
    pub client: ClientUri,
    /// The client's user: `mimi://<domain>/u/...`.
    pub user: UserUri,
    /// The provider whose client CA issued the credential; the domain of both URIs.
    pub domain: ProviderDomain,
    /// When the leaf certificate expires (notAfter, Unix seconds), so callers can plan a
    /// re-check (RFC 9420 §5.3.2).
    pub not_after_unix: i64,
}

/// Verify an MLS credential for the leaf whose signature key is `signature_key`, at time
/// `now_unix` (Unix seconds; the crate reads no clock).
///
/// In order, failing with the first broken rule:
/// 1. the credential is of type `x509` and its chain decodes within the limits
///    ([`crate::MAX_CHAIN_CERTS`], [`crate::MAX_CERT_LEN`]);
/// 2. the leaf is a well-formed v3 certificate with no unknown critical extension, not a CA,
///    with keyUsage digitalSignature and, if it has extendedKeyUsage, clientAuth;
/// 3. its subjectAltName has exactly one client URI and one user URI, of the same domain;
/// 4. that domain has a trust anchor; any certificate after the leaf is one of them;
/// 5. the leaf names that anchor as issuer and its signature verifies with the anchor's key;
/// 6. the leaf and the anchor are valid at `now_unix`, give or take the store's clock skew;
/// 7. the leaf's public key is `signature_key` (RFC 9420 §5.3).
pub fn verify_credential(
    credential: &Credential,
    signature_key: &[u8],
    trust: &TrustStore,
    now_unix: i64,
) -> Result<VerifiedIdentity, CredentialError> {
    verify(credential, signature_key, trust, None, now_unix)
}

/// [`verify_credential`], and the credential must name a client of `expected_domain` (e.g. a
/// hub checks that a credential submitted by provider `b.example` is one of `b.example`'s).
/// A credential of another domain fails with [`CredentialError::DomainMismatch`] before any
/// trust anchor is consulted.
pub fn verify_credential_for_domain(
    credential: &Credential,
    signature_key: &[u8],
    trust: &TrustStore,
    expected_domain: &ProviderDomain,
    now_unix: i64,
) -> Result<VerifiedIdentity, CredentialError> {
    verify(
        credential,
        signature_key,
        trust,
        Some(expected_domain),
        now_unix,
    )
}

/// Read the client and user URIs of a credential's leaf certificate WITHOUT verifying
/// anything else: for display and routing only, never for an authorization decision.
pub fn peek_identity(credential: &Credential) -> Result<(ClientUri, UserUri), CredentialError> {
    let chain = credential_chain(credential)?;
    let leaf = cert::parse(first(&chain)?, 0)?;
    cert::identity(&leaf)
}

fn first<'a>(chain: &[&'a [u8]]) -> Result<&'a [u8], CredentialError> {
    chain.first().copied().ok_or(CredentialError::EmptyChain)
}

fn verify(
    credential: &Credential,
    signature_key: &[u8],
    trust: &TrustStore,
    expected_domain: Option<&ProviderDomain>,
    now: i64,
) -> Result<VerifiedIdentity, CredentialError> {
    // RFC 9420 §5.3: certificates[0] is the end-entity certificate.
    let chain = credential_chain(credential)?;
    let leaf = cert::parse(first(&chain)?, 0)?;
    check_leaf_profile(&leaf)?;

    let (client, user) = cert::identity(&leaf)?;
    let domain = client.domain().clone();
    if let Some(expected) = expected_domain
        && *expected != domain
    {
        return Err(CredentialError::DomainMismatch {
            expected: expected.clone(),
            found: domain,
        });
    }

    // The anchor is chosen by the domain the leaf names, so a CA can only ever vouch for its
    // own provider's identifiers (docs/decisions/0044).
    let anchors = trust
        .get(&domain)
        .ok_or_else(|| CredentialError::UnknownIssuerDomain(domain.clone()))?;
    let mut candidates: Vec<&TrustAnchor> = anchors.iter().collect();
    // RFC 9420 §5.3 lets the chain omit what peers already have; this profile has no
    // intermediates, so anything after the leaf must be the anchor itself (docs/decisions/0045).
    for (index, extra) in chain.iter().enumerate().skip(1) {
        match anchors.iter().find(|a| a.der() == *extra) {
            Some(anchor) => candidates.retain(|c| *c == anchor),
            None => {
                return Err(CredentialError::ChainCertificateNotAnchor {
                    index,
                    domain: domain.clone(),
                });
            }
        }
    }
    candidates.retain(|a| a.could_have_issued(&leaf));
    if candidates.is_empty() {
        return Err(CredentialError::IssuerMismatch(domain));
    }
    cert::check_signature_algorithm(&leaf, 0)?;
    let anchor = candidates
        .into_iter()
        .find(|a| a.signed(&leaf))
        .ok_or_else(|| CredentialError::BadSignature(domain.clone()))?;

    let skew = trust.clock_skew();
    let (not_before, not_after) = cert::times(&leaf);
    if now.saturating_add(skew) < not_before {
        return Err(CredentialError::NotYetValid { not_before, now });
    }
    if now.saturating_sub(skew) > not_after {
        return Err(CredentialError::Expired { not_after, now });
    }
    if now.saturating_add(skew) < anchor.not_before()
        || now.saturating_sub(skew) > anchor.not_after()
    {
        return Err(CredentialError::TrustAnchorNotValid {
            domain,
            not_before: anchor.not_before(),
            not_after: anchor.not_after(),
            now,
        });
    }

    // RFC 9420 §5.3: the end-entity certificate's public key "MUST be identical to the
    // signature_key in the LeafNode containing this credential".
    if cert::raw_public_key(&leaf) != signature_key {
        return Err(CredentialError::KeyMismatch);
    }

    Ok(VerifiedIdentity {
        client,
        user,
        domain,
        not_after_unix: not_after,
    })
}

/// The end-entity rules of the profile (docs/decisions/0042).
fn check_leaf_profile(leaf: &X509Certificate<'_>) -> Result<(), CredentialError> {
    let malformed = |e: x509_parser::error::X509Error| CredentialError::MalformedCertificate {
        index: 0,
        reason: echo(&e.to_string()),
    };
    if cert::is_ca(leaf) {
        return Err(CredentialError::IsCa);
    }
    match leaf.key_usage().map_err(malformed)? {
        Some(ku) if ku.value.digital_signature() => {}
        _ => return Err(CredentialError::MissingDigitalSignature),
    }
    match leaf.extended_key_usage().map_err(malformed)? {
        Some(eku) if !(eku.value.client_auth || eku.value.any) => {
            Err(CredentialError::WrongExtendedKeyUsage)
        }
        _ => Ok(()),
    }
}
