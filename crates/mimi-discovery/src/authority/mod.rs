//! The mapping authority (issue 6; docs/discovery.md §13): proves that a recipient controls an
//! SII with a one-time code, then signs, renews and revokes that SII's mapping assertions.
//!
//! ```text
//!  start_proof(sii, ssis) ──code──▶ CodeSender ──SMS / mail──▶ recipient
//!  complete_proof(challenge, code) ──▶ ProofOfControl            (R1: only the recipient)
//!  issue(proof, sii, entries, validity) ──▶ signed MappingAssertion
//!  renew(sii)  ──▶ signed assertion, new serial         (only within the renewal window)
//!  revoke(target) ──▶ signed Revocation; published_revocations()                    (R9)
//! ```
//!
//! Sans-IO: the clock (UNIX seconds) and a cryptographic RNG are passed in; the only I/O is
//! whatever the [`CodeSender`] does. State is exported and imported as bytes
//! ([`MappingAuthority::export_state`]) so that a shell can persist it after every call.

mod code;
mod codec;
mod config;
mod proof;
mod proving;
mod revoking;
mod sender;
mod signing;
mod state;

use ed25519_dalek::VerifyingKey;
use mimi_types::id::ProviderDomain;

pub use code::{CHALLENGE_ID_LEN, ChallengeId};
pub use config::{
    AuthorityConfig, MAX_CODE_DIGITS, MIN_CODE_DIGITS, RECOMMENDED_VALIDITY_SECS, RateLimit,
};
pub use proof::ProofOfControl;
pub use sender::{
    CODES_FILE_NAME, CodeMessage, CodeSender, FileCodeSender, RecordingSender, SentCode,
};

use crate::error::Error;
use crate::signer::Signer;
use crate::sii::Sii;
use crate::trust::{Authority, KeyId, Permissions};
use state::State;

/// How long after an assertion's expiry (or a revocation's last covered expiry) the authority
/// keeps what it needs to revoke or re-publish it: verifiers tolerate clock skew.
pub(crate) const EXPIRY_MARGIN_SECS: u64 = 86_400;

/// How far ahead of `now` the authority may date an object to keep it ordered after one of its
/// revocations (docs/decisions/0124); well inside the default verifier skew of 300 s.
pub(crate) const MAX_AHEAD_SECS: u64 = 60;

/// A mapping authority: a signing key, the rights verifiers give it, and its state
/// (challenges, proofs, issued assertions, revocations).
///
/// Named so as not to clash with [`Authority`], which is a *verifier's* view of an authority
/// (its id, keys and rights); [`MappingAuthority::trust_entry`] makes one from this.
///
/// A provider that is its own authority uses [`MappingAuthority::provider`]: it may then only
/// map SIIs to SSIs on its own domain. Every refusal cites the requirement it enforces.
pub struct MappingAuthority<S> {
    signer: Signer,
    permissions: Permissions,
    config: AuthorityConfig,
    sender: S,
    state: State,
}

impl<S: CodeSender> MappingAuthority<S> {
    /// An authority with no state yet. `permissions` should be exactly what verifiers put in
    /// their trust sets for it: the authority refuses to sign what they would refuse.
    pub fn new(
        signer: Signer,
        permissions: Permissions,
        config: AuthorityConfig,
        sender: S,
    ) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            signer,
            permissions,
            config,
            sender,
            state: State::default(),
        })
    }

    /// A provider acting as its own authority: it asserts any SII, but only to SSIs on its own
    /// domain (the signer's authority id), with [`Permissions::provider`].
    pub fn provider(signer: Signer, config: AuthorityConfig, sender: S) -> Result<Self, Error> {
        let permissions = Permissions::provider(signer.authority().clone());
        Self::new(signer, permissions, config, sender)
    }

    /// An authority with state exported earlier by [`MappingAuthority::export_state`]. The
    /// state must be this signer's authority's; the signing key itself may have changed.
    pub fn import(
        signer: Signer,
        permissions: Permissions,
        config: AuthorityConfig,
        sender: S,
        state: &[u8],
    ) -> Result<Self, Error> {
        let state = codec::decode(state, signer.authority())?;
        let mut authority = Self::new(signer, permissions, config, sender)?;
        authority.state = state;
        Ok(authority)
    }

    /// The whole state as bytes (deterministic CBOR, docs/discovery.md §13.6). It holds SIIs in
    /// plaintext and digests of live codes: store it as confidentially as the signing key. It
    /// does not hold the key.
    pub fn export_state(&self) -> Vec<u8> {
        codec::encode(self.signer.authority(), &self.state)
    }

    /// The authority id.
    pub fn id(&self) -> &ProviderDomain {
        self.signer.authority()
    }

    /// The key id it signs under.
    pub fn kid(&self) -> &KeyId {
        self.signer.kid()
    }

    /// Its public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signer.verifying_key()
    }

    /// Its rights.
    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// Its configuration.
    pub fn config(&self) -> &AuthorityConfig {
        &self.config
    }

    /// The entry verifiers put in their [`crate::TrustSet`] for this authority: its id, key
    /// and rights.
    pub fn trust_entry(&self) -> Result<Authority, Error> {
        Authority::new(self.id().clone(), self.permissions.clone())
            .with_key(self.kid().clone(), self.verifying_key())
    }

    /// The code sender.
    pub fn sender(&self) -> &S {
        &self.sender
    }

    /// The code sender, mutably.
    pub fn sender_mut(&mut self) -> &mut S {
        &mut self.sender
    }

    /// The latest assertion signed for `sii` (possibly expired), to publish or re-publish.
    pub fn current_assertion(&self, sii: &Sii) -> Option<&[u8]> {
        self.state.records.get(sii).map(|r| r.bytes.as_slice())
    }

    /// The highest serial used so far (0 before the first assertion).
    pub fn last_serial(&self) -> u64 {
        self.state.last_serial
    }

    /// How many challenges are live (codes sent, not yet used, expired or dead).
    pub fn pending_challenges(&self) -> usize {
        self.state.challenges.len()
    }

    /// Forget what can no longer matter at `now`: expired challenges and proofs, rate-limit
    /// history older than its window, assertions past expiry (they can no longer be revoked
    /// by serial, which is pointless once they are expired), latest-assertion records that are
    /// both expired and past the renewal window, and revocations that can no longer cover a
    /// valid assertion. Call it periodically; the operations prune only what they touch.
    pub fn prune(&mut self, now: u64) {
        self.state.prune(&self.config, now);
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for MappingAuthority<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappingAuthority")
            .field("signer", &self.signer)
            .field("permissions", &self.permissions)
            .field("config", &self.config)
            .field("sender", &self.sender)
            .field("last_serial", &self.state.last_serial)
            .field("pending_challenges", &self.state.challenges.len())
            .field("records", &self.state.records.len())
            .field("revocations", &self.state.revocations.len())
            .finish_non_exhaustive()
    }
}
