//! Who a leaf is: the verified identity in its MLS credential, cached by signature key so a
//! large group does not re-verify every certificate at every commit.

use std::collections::HashMap;

use mimi_credential::{TrustStore, verify_credential};
use mimi_types::id::{ClientUri, MimiUri, ProviderDomain};
use openmls::prelude::Credential;

use crate::policy::Membership;

/// The verified identity of one MLS leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafIdentity {
    /// The user (or pseudonym) the client belongs to.
    pub user: MimiUri,
    /// The client.
    pub client: ClientUri,
    /// The provider that certified the client.
    pub domain: ProviderDomain,
}

/// DER of the OID of X.509 subjectAltName (2.5.29.17), the claim ID of the URIs in a MIMI
/// client certificate.
pub const SUBJECT_ALT_NAME_OID: [u8; 5] = [0x06, 0x03, 0x55, 0x1d, 0x11];

impl LeafIdentity {
    /// The credential's claims for pre-authorization (room-policy-03 §4): the user URI and
    /// the client URI, each under the subjectAltName OID of the X.509 credential type
    /// (docs/decisions/0052).
    pub fn claims(&self) -> Vec<mimi_types::wire::Claim> {
        [self.user.as_str(), self.client.as_str()]
            .into_iter()
            .map(|uri| mimi_types::wire::Claim {
                claim_id: mimi_types::wire::ClaimId {
                    credential_type: 2, // RFC 9420 x509
                    id: SUBJECT_ALT_NAME_OID.to_vec().into(),
                },
                claim_value: uri.as_bytes().to_vec().into(),
            })
            .collect()
    }
}

/// Verifies credentials against the trust store, remembering results by signature key and
/// credential: a leaf that keeps its key but presents another credential (an Update, a commit
/// path) is verified again, never answered from the cache (docs/security.md G14).
#[derive(Default)]
pub struct IdentityCache {
    by_key: HashMap<Vec<u8>, Cached>,
}

/// A verified credential: its encoding, the identity it names, and its notAfter.
struct Cached {
    credential: Vec<u8>,
    identity: LeafIdentity,
    not_after: i64,
}

impl IdentityCache {
    /// Verify a leaf's credential (X.509 chain to its provider's client CA, key match, SAN
    /// URIs) at `now_secs`, or return the cached result for this signature key and this
    /// credential while the certificate is still valid.
    pub fn verify(
        &mut self,
        credential: &Credential,
        signature_key: &[u8],
        trust: &TrustStore,
        now_secs: i64,
    ) -> Result<LeafIdentity, String> {
        self.check(credential, signature_key, trust, now_secs, false)
    }

    /// Verify the credential of a leaf that is already a member (restoring a room, the
    /// leaves after a commit). Like [`IdentityCache::verify`], except that a certificate that
    /// expired after its leaf joined still names its client: it is checked as of its own
    /// notAfter (chain, signature, key and URIs as usual), so one expired member cannot stop
    /// the hub from restoring the room (docs/security.md G16). Leaves added, joining or
    /// updated are checked with [`IdentityCache::verify`], at the current time.
    pub fn verify_member(
        &mut self,
        credential: &Credential,
        signature_key: &[u8],
        trust: &TrustStore,
        now_secs: i64,
    ) -> Result<LeafIdentity, String> {
        self.check(credential, signature_key, trust, now_secs, true)
    }

    /// The cached identity of this key and credential (any cached one for a member, one
    /// still valid at `now_secs` otherwise), or verify and cache it.
    fn check(
        &mut self,
        credential: &Credential,
        signature_key: &[u8],
        trust: &TrustStore,
        now_secs: i64,
        member: bool,
    ) -> Result<LeafIdentity, String> {
        let encoded = tls_codec::Serialize::tls_serialize_detached(credential)
            .map_err(|e| format!("encoding the credential: {e:?}"))?;
        if let Some(c) = self.by_key.get(signature_key)
            && c.credential == encoded
            && (member || now_secs.saturating_sub(trust.clock_skew()) <= c.not_after)
        {
            return Ok(c.identity.clone());
        }
        let verified = match verify_credential(credential, signature_key, trust, now_secs) {
            Err(mimi_credential::CredentialError::Expired { not_after, .. }) if member => {
                verify_credential(credential, signature_key, trust, not_after)
            }
            other => other,
        }
        .map_err(|e| e.to_string())?;
        let identity = LeafIdentity {
            user: verified.user.into(),
            client: verified.client,
            domain: verified.domain,
        };
        self.by_key.insert(
            signature_key.to_vec(),
            Cached {
                credential: encoded,
                identity: identity.clone(),
                not_after: verified.not_after_unix,
            },
        );
        Ok(identity)
    }

    /// Forget keys no longer in the group.
    pub fn retain(&mut self, keep: impl Fn(&[u8]) -> bool) {
        self.by_key.retain(|k, _| keep(k));
    }
}

/// The users and clients of a set of leaves.
pub fn membership<'a>(leaves: impl Iterator<Item = &'a LeafIdentity>) -> Membership {
    let mut m = Membership::new();
    for leaf in leaves {
        m.insert(leaf.user.clone(), leaf.client.clone());
    }
    m
}

#[cfg(test)]
mod tests {
    use mimi_credential::{ClientCa, TrustStore};
    use mimi_types::id::{ClientUri, ProviderDomain, UserUri};
    use openmls_basic_credential::SignatureKeyPair;

    use super::IdentityCache;
    use crate::profile::CIPHERSUITE;

    /// docs/security.md G14: a known signature key with another credential is verified again.
    #[test]
    fn a_known_key_with_another_credential_is_verified_again() {
        let now = 1_800_000_000;
        let domain = ProviderDomain::parse("a.example").expect("domain");
        let ca = ClientCa::generate(&domain, now - 60, 86_400).expect("ca");
        let forger = ClientCa::generate(&domain, now - 60, 86_400).expect("another ca");
        let mut trust = TrustStore::new();
        trust.add_pem(&domain, &ca.cert_pem()).expect("trust");
        let key = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).expect("key");
        let user = UserUri::parse("mimi://a.example/u/alice").expect("user");
        let client = ClientUri::parse("mimi://a.example/d/alice/1").expect("client");
        let issued = ca
            .issue(&client, &user, key.public(), now - 60, now + 3600)
            .expect("issue");
        let mut cache = IdentityCache::default();
        let first = cache
            .verify(&issued.credential, key.public(), &trust, now)
            .expect("alice verifies");
        assert_eq!(first.user.as_str(), "mimi://a.example/u/alice");
        // The same key, a certificate from a CA nobody trusts naming another user.
        let bob = UserUri::parse("mimi://a.example/u/bob").expect("user");
        let bob_client = ClientUri::parse("mimi://a.example/d/bob/1").expect("client");
        let forged = forger
            .issue(&bob_client, &bob, key.public(), now - 60, now + 3600)
            .expect("issue");
        assert!(
            cache
                .verify(&forged.credential, key.public(), &trust, now)
                .is_err(),
            "the cached identity answered for a forged credential"
        );
        // A genuine new certificate for the same key is verified and its identity used.
        let renewed = ca
            .issue(&bob_client, &bob, key.public(), now - 60, now + 7200)
            .expect("issue");
        let again = cache
            .verify(&renewed.credential, key.public(), &trust, now)
            .expect("renewed");
        assert_eq!(again.user.as_str(), "mimi://a.example/u/bob");
        // An expired member still has its identity (G16), a joining leaf does not.
        let later = now + 4 * 3600;
        let mut fresh = IdentityCache::default();
        assert!(
            fresh
                .verify(&issued.credential, key.public(), &trust, later)
                .is_err()
        );
        let member = fresh
            .verify_member(&issued.credential, key.public(), &trust, later)
            .expect("an expired member keeps its identity");
        assert_eq!(member.user.as_str(), "mimi://a.example/u/alice");
        assert!(
            fresh
                .verify_member(&forged.credential, key.public(), &trust, later)
                .is_err(),
            "a forged credential is not a member's"
        );
        // And the original credential still answers (from a fresh verification).
        assert!(
            cache
                .verify(&issued.credential, key.public(), &trust, now)
                .is_ok()
        );
    }
}
