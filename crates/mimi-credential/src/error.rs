//! Why a credential could not be issued, loaded or verified.

use mimi_types::id::{IdError, ProviderDomain, UriKind};

/// Every way issuing, loading or verifying a credential can fail.
///
/// Verification errors name the rule the credential broke; none of them is the verifier's
/// fault. Strings copied from the input are cut to a few dozen characters, so an error message
/// never echoes a large input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    // ---- the MLS credential and its chain -------------------------------------------------
    /// The MLS credential is not of type `x509` (RFC 9420 §5.3); the value is its
    /// `CredentialType` code point (1 = basic).
    #[error("wrong credential type {0}: expected x509 (2)")]
    WrongCredentialType(u16),
    /// The credential content is not a well-formed `Certificate certificates<V>` vector
    /// (RFC 9420 §5.3, variable-length vectors §2.1.2).
    #[error("malformed certificate chain: {0}")]
    MalformedChain(&'static str),
    /// The chain has no certificate (RFC 9420 §5.3: `certificates[0]` is the end-entity
    /// certificate).
    #[error("empty certificate chain: an X.509 credential needs at least the leaf certificate")]
    EmptyChain,
    /// The chain has more certificates than this profile accepts.
    #[error("certificate chain too long: more than {max} certificates")]
    ChainTooLong {
        /// The most certificates accepted.
        max: usize,
    },
    /// A certificate in the chain is larger than this profile accepts.
    #[error("certificate {index} is {len} bytes, over the limit of {max}")]
    CertificateTooLarge {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate does not parse as DER X.509, or breaks a structural rule of RFC 5280.
    #[error("malformed certificate {index}: {reason}")]
    MalformedCertificate {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A certificate after the leaf is not the trust anchor of the leaf's domain. This profile
    /// has no intermediates: the chain is the leaf, optionally followed by the anchor itself
    /// (docs/decisions/0045).
    #[error(
        "certificate {index} of the chain is not the trust anchor of {domain} (intermediate CAs are not accepted)"
    )]
    ChainCertificateNotAnchor {
        /// Position in the chain.
        index: usize,
        /// The domain whose anchors were compared.
        domain: ProviderDomain,
    },

    // ---- the leaf certificate's profile ---------------------------------------------------
    /// The leaf is a CA certificate (basicConstraints cA = TRUE); a client credential must be
    /// an end-entity certificate (docs/decisions/0042).
    #[error("the leaf certificate is a CA certificate (basicConstraints cA=TRUE)")]
    IsCa,
    /// The leaf has no keyUsage extension, or one without digitalSignature: the MLS signature
    /// key signs (docs/decisions/0042).
    #[error("the leaf certificate's keyUsage does not include digitalSignature")]
    MissingDigitalSignature,
    /// The leaf has an extendedKeyUsage extension that allows neither clientAuth nor
    /// anyExtendedKeyUsage (e.g. a TLS server certificate; docs/decisions/0042).
    #[error("the leaf certificate's extendedKeyUsage allows neither clientAuth nor any usage")]
    WrongExtendedKeyUsage,
    /// A certificate has a critical extension this verifier does not process (RFC 5280 §4.2:
    /// such a certificate MUST be rejected).
    #[error("unsupported critical extension {oid} in certificate {index}")]
    UnknownCriticalExtension {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// The extension's OID, dotted.
        oid: String,
    },
    /// A certificate is signed with an algorithm this verifier does not accept (SHA-1 based,
    /// or unknown).
    #[error("unsupported signature algorithm {oid} in certificate {index}")]
    UnsupportedSignatureAlgorithm {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// The algorithm's OID, dotted.
        oid: String,
    },

    // ---- identity (subjectAltName) ------------------------------------------------------
    /// The leaf has no subjectAltName extension, so it names no client and no user.
    #[error("the leaf certificate has no subjectAltName")]
    NoSubjectAltName,
    /// A subjectAltName entry with the `mimi` scheme does not parse as a MIMI URI.
    #[error("invalid MIMI URI in subjectAltName: {0}")]
    InvalidSanUri(IdError),
    /// A subjectAltName entry is malformed (undecodable general name).
    #[error("malformed subjectAltName entry")]
    MalformedSan,
    /// A `mimi://` URI in subjectAltName is neither a client nor a user URI.
    #[error(
        "unexpected {0} URI in subjectAltName: only one client URI and one user URI belong there"
    )]
    UnexpectedSanUri(UriKind),
    /// subjectAltName has no client (`/d/`) URI (draft-mahy-mimi-identity-05 §"X.509
    /// Certificates").
    #[error("subjectAltName has no client URI")]
    MissingClientUri,
    /// subjectAltName has no user (`/u/`) URI.
    #[error("subjectAltName has no user URI")]
    MissingUserUri,
    /// subjectAltName has more than one client URI: a credential certifies one client.
    #[error("subjectAltName has more than one client URI")]
    MultipleClientUris,
    /// subjectAltName has more than one user URI: a client belongs to one user.
    #[error("subjectAltName has more than one user URI")]
    MultipleUserUris,
    /// The client URI and the user URI name different providers.
    #[error("client URI is of {client} but user URI is of {user}")]
    SanDomainMismatch {
        /// The client URI's domain.
        client: ProviderDomain,
        /// The user URI's domain.
        user: ProviderDomain,
    },

    // ---- trust ----------------------------------------------------------------------------
    /// The caller required a domain and the credential names another.
    #[error("credential names a client of {found}, expected {expected}")]
    DomainMismatch {
        /// The domain the caller required.
        expected: ProviderDomain,
        /// The domain the credential names.
        found: ProviderDomain,
    },
    /// No trust anchor is configured for the domain the credential names.
    #[error("no trust anchor for provider domain {0}")]
    UnknownIssuerDomain(ProviderDomain),
    /// The leaf's issuer (name, authority key identifier) is none of the trust anchors of its
    /// domain: another CA issued it.
    #[error("the leaf certificate was not issued by a trust anchor of {0}")]
    IssuerMismatch(ProviderDomain),
    /// The leaf's signature does not verify with the trust anchor's key (forged or tampered).
    #[error("bad certificate signature: the leaf does not verify with the trust anchor of {0}")]
    BadSignature(ProviderDomain),
    /// The leaf's notBefore is later than now plus the allowed clock skew.
    #[error("certificate not yet valid: notBefore {not_before} is after now {now}")]
    NotYetValid {
        /// notBefore, Unix seconds.
        not_before: i64,
        /// The verification time, Unix seconds.
        now: i64,
    },
    /// The leaf's notAfter is earlier than now minus the allowed clock skew.
    #[error("certificate expired: notAfter {not_after} is before now {now}")]
    Expired {
        /// notAfter, Unix seconds.
        not_after: i64,
        /// The verification time, Unix seconds.
        now: i64,
    },
    /// The trust anchor that signed the leaf is outside its own validity period.
    #[error(
        "the trust anchor of {domain} is not valid now ({not_before}..={not_after}, now {now})"
    )]
    TrustAnchorNotValid {
        /// The anchor's domain.
        domain: ProviderDomain,
        /// The anchor's notBefore, Unix seconds.
        not_before: i64,
        /// The anchor's notAfter, Unix seconds.
        not_after: i64,
        /// The verification time, Unix seconds.
        now: i64,
    },
    /// The leaf's public key is not the MLS leaf's `signature_key` (RFC 9420 §5.3: "MUST be
    /// identical").
    #[error("the certificate's public key is not the leaf node's signature key")]
    KeyMismatch,

    // ---- issuing and loading --------------------------------------------------------------
    /// The signature key to certify is not a raw 32-byte Ed25519 public key.
    #[error("signature key is {0} bytes: expected a raw 32-byte Ed25519 public key")]
    InvalidSignatureKey(usize),
    /// A URI to certify is not of the CA's domain: a provider certifies only its own clients.
    #[error("{uri} is not of this CA's domain {domain}")]
    ForeignIdentifier {
        /// The URI.
        uri: String,
        /// The CA's domain.
        domain: ProviderDomain,
    },
    /// A validity period is empty, out of the representable range, or outside the CA's own.
    #[error("invalid validity period: {0}")]
    InvalidValidity(&'static str),
    /// PEM input does not decode, or has the wrong label.
    #[error("invalid PEM for {what}: {reason}")]
    InvalidPem {
        /// What was being read ("CA certificate", "CA key").
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A CA certificate (trust anchor or CA to load) breaks this profile.
    #[error("invalid CA certificate: {0}")]
    InvalidCaCertificate(String),
    /// The CA private key cannot be used (not Ed25519, or not the certificate's key).
    #[error("invalid CA key: {0}")]
    InvalidCaKey(String),
    /// Certificate generation failed inside rcgen.
    #[error("certificate generation failed: {0}")]
    Generation(String),
}

/// Cut `s` to a few dozen characters for an error message.
pub(crate) fn echo(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

impl From<rcgen::Error> for CredentialError {
    fn from(e: rcgen::Error) -> Self {
        CredentialError::Generation(echo(&e.to_string()))
    }
}
