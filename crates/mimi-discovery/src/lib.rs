//! MIMI identifier discovery, part one: signed mapping assertions and revocations, trust sets,
//! and verification (issue 6; docs/discovery.md is the specification).
//!
//! A *mapping authority* signs a [`MappingAssertion`]: one service-independent identifier
//! ([`Sii`]: a phone number or email address) maps to zero or more service-specific identifiers
//! ([`SsiEntry`]: `mimi://b.example/u/bob`, with the recipient's preferences), valid from
//! `issued_at` to `expires_at`, numbered by a per-authority `serial`. A [`Revocation`] removes a
//! mapping (discovery-requirements R9, R10). Both are COSE_Sign1 objects (RFC 9052) signed with
//! Ed25519 over a deterministic CBOR payload with integer keys, and every accepted encoding is
//! the unique encoding of its value.
//!
//! ```text
//!  authority:  MappingAssertion::new(..) ──Signer::sign_assertion──▶ bytes (COSE_Sign1)
//!                                                                      │ any distribution point
//!  verifier:   verify(bytes, now, &TrustSet, &RevocationSet) ──▶ Verdict::Verified(..) / reason
//!              check_lookup(sii, answer, now, ..) ──▶ verified mappings for exactly `sii`,
//!                                                    newest serial per authority
//! ```
//!
//! Sans-IO: the clock is passed in (UNIX seconds), keys come from the caller, nothing here
//! touches the network or files.
//!
//! ```
//! use mimi_discovery::{
//!     Authority, MappingAssertion, Permissions, RevocationSet, Signer, Sii, SsiEntry, TrustSet,
//!     verify,
//! };
//! use mimi_types::id::{ProviderDomain, UserUri};
//!
//! let b = ProviderDomain::parse("b.example").unwrap();
//! let signer = Signer::from_secret(b.clone(), &[7; 32]);
//! let assertion = MappingAssertion::new(
//!     b.clone(),
//!     1,
//!     Sii::parse("+1 202 555 0101").unwrap(),
//!     1_750_000_000,
//!     1_750_000_000 + 30 * 86_400,
//!     vec![SsiEntry::new(UserUri::parse("mimi://b.example/u/bob").unwrap(), 0)],
//! )
//! .unwrap();
//! let bytes = signer.sign_assertion(&assertion).unwrap();
//!
//! let mut trust = TrustSet::new();
//! trust.insert(
//!     Authority::new(b.clone(), Permissions::provider(b))
//!         .with_key(signer.kid().clone(), signer.verifying_key())
//!         .unwrap(),
//! );
//! let verdict = verify(&bytes, 1_750_000_100, &trust, &RevocationSet::new());
//! assert_eq!(verdict.verified().unwrap().assertion(), &assertion);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod assertion;
mod authority;
mod cbor;
mod cose;
mod error;
pub mod limits;
mod lookup;
mod object;
mod revocation;
mod revocations;
mod signer;
mod sii;
mod trust;
mod trust_file;
mod verify;

pub use assertion::{MappingAssertion, SsiEntry};
pub use authority::{
    AuthorityConfig, CHALLENGE_ID_LEN, CODES_FILE_NAME, ChallengeId, CodeMessage, CodeSender,
    FileCodeSender, MAX_CODE_DIGITS, MIN_CODE_DIGITS, MappingAuthority, ProofOfControl,
    RECOMMENDED_VALIDITY_SECS, RateLimit, RecordingSender, SentCode,
};
pub use error::{Error, Malformed};
pub use lookup::{LookupOutcome, LookupRejection, Rejected, check_lookup, check_lookup_with_floor};
pub use object::{ASSERTION_CONTENT_TYPE, Extensions, ObjectKind, REVOCATION_CONTENT_TYPE};
pub use revocation::{Revocation, RevocationTarget};
pub use revocations::RevocationSet;
pub use signer::Signer;
pub use sii::Sii;
pub use trust::{
    Authority, DomainScope, KeyId, Permissions, Reach, SiiPattern, SiiScope, TrustSet,
};
pub use trust_file::{TRUST_FILE_HEADER, format_trust_line, parse_trust_file};
pub use verify::{
    Verdict, VerifiedAssertion, VerifiedRevocation, decode_assertion, decode_revocation, verify,
    verify_assertion, verify_revocation,
};
