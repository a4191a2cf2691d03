//! Issuing: an authority's signing key, used to sign assertions and revocations.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use mimi_types::id::ProviderDomain;

use crate::assertion::MappingAssertion;
use crate::cose;
use crate::error::{Error, Malformed};
use crate::object::ObjectKind;
use crate::revocation::Revocation;
use crate::trust::KeyId;

/// An authority's signing key with its authority id and key id. The key comes from the caller
/// (sans-IO: no randomness is drawn here); Ed25519 signatures are deterministic, so signing
/// the same value twice gives the same bytes.
pub struct Signer {
    authority: ProviderDomain,
    kid: KeyId,
    key: SigningKey,
}

impl Signer {
    /// A signer for `authority` using `key`, published under `kid`.
    pub fn new(authority: ProviderDomain, kid: KeyId, key: SigningKey) -> Self {
        Self {
            authority,
            kid,
            key,
        }
    }

    /// A signer from a 32-byte Ed25519 secret key, with the recommended key id
    /// ([`KeyId::for_key`]).
    pub fn from_secret(authority: ProviderDomain, secret: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret);
        let kid = KeyId::for_key(&key.verifying_key());
        Self::new(authority, kid, key)
    }

    /// The authority id.
    pub fn authority(&self) -> &ProviderDomain {
        &self.authority
    }

    /// The key id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The public key to put in verifiers' trust sets.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Sign an assertion, which must name this signer's authority.
    pub fn sign_assertion(&self, assertion: &MappingAssertion) -> Result<Vec<u8>, Error> {
        self.check_authority(assertion.authority())?;
        cose::sign(
            ObjectKind::Assertion,
            self.kid.as_bytes(),
            assertion.to_payload(),
            &self.key,
        )
    }

    /// Sign a revocation, which must name this signer's authority.
    pub fn sign_revocation(&self, revocation: &Revocation) -> Result<Vec<u8>, Error> {
        self.check_authority(revocation.authority())?;
        cose::sign(
            ObjectKind::Revocation,
            self.kid.as_bytes(),
            revocation.to_payload(),
            &self.key,
        )
    }

    fn check_authority(&self, named: &ProviderDomain) -> Result<(), Error> {
        if named == &self.authority {
            Ok(())
        } else {
            Err(Error::Invalid(Malformed::Identifier(
                "authority (not the signer's)",
            )))
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("authority", &self.authority)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
