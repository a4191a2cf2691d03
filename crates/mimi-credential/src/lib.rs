//! X.509 client credentials for MIMI.
//!
//! A provider certifies its own users' MLS clients; hubs and other providers verify those
//! certificates. The credential is the MLS `x509` credential type (RFC 9420 §5.3); the
//! certificate names the client and its user as `mimi://` URIs in subjectAltName
//! (draft-mahy-mimi-identity-05 §"X.509 Certificates").
//!
//! ```text
//!  provider a.example                                   hub / other provider
//!  ──────────────────                                   ────────────────────
//!  ClientCa::generate(a.example) ── cert_der ─────────► TrustStore::add(a.example, cert_der)
//!        │                           (configuration)
//!        │ issue(client URI, user URI, signature_key)
//!        ▼
//!  IssuedCredential { certificate_der, credential }
//!        │ credential: type x509, certificates = [leaf]
//!        ▼
//!  MLS KeyPackage / LeafNode ──── network ────────────► verify_credential(credential,
//!                                                          leaf.signature_key, &trust, now)
//!                                                        │ chain decodes, leaf profile,
//!                                                        │ SAN → (client, user, a.example),
//!                                                        │ anchor of a.example signed it,
//!                                                        │ valid now ± skew, key matches
//!                                                        ▼
//!                                                      VerifiedIdentity { client, user, domain }
//! ```
//!
//! The trust anchor is looked up by the domain the certificate's own URIs name, so a CA can
//! only vouch for identifiers of the provider it is configured for. The crate reads no clock:
//! callers pass `now`. Nothing on the verification path panics or allocates without bound
//! (at most [`MAX_CHAIN_CERTS`] certificates of at most [`MAX_CERT_LEN`] bytes each).
//!
//! The profile and its reasons are in `docs/decisions/0040`..`0049`.

#![deny(missing_docs)]

mod ca;
mod cert;
mod chain;
mod error;
mod profile;
mod trust;
mod verify;

pub use ca::{ClientCa, DEFAULT_CA_VALIDITY_SECS, DEFAULT_CLIENT_VALIDITY_SECS, IssuedCredential};
pub use chain::{
    MAX_CERT_LEN, MAX_CHAIN_CERTS, decode_certificate_chain, encode_certificate_chain,
    x509_credential,
};
pub use error::CredentialError;
/// The OpenMLS credential types this crate's API takes and returns, re-exported so that callers
/// (and the fuzz target) need not depend on `openmls` to name them.
pub use openmls::prelude::{Credential, CredentialType};
pub use profile::{CA_COMMON_NAME, ED25519_PUBLIC_KEY_LEN, MAX_CERT_TIME, MIN_CERT_TIME};
pub use trust::{DEFAULT_CLOCK_SKEW_SECS, TrustAnchor, TrustStore};
pub use verify::{
    VerifiedIdentity, peek_identity, verify_credential, verify_credential_for_domain,
};

#[cfg(test)]
mod tests;
