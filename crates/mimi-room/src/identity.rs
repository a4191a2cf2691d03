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

/// Verifies credentials against the trust store, remembering results by signature key.
#[derive(Default)]
pub struct IdentityCache {
    by_key: HashMap<Vec<u8>, LeafIdentity>,
}

impl IdentityCache {
    /// Verify a leaf's credential (X.509 chain to its provider's client CA, key match, SAN
    /// URIs) at `now_secs`, or return the cached result for this signature key.
    pub fn verify(
        &mut self,
        credential: &Credential,
        signature_key: &[u8],
        trust: &TrustStore,
        now_secs: i64,
    ) -> Result<LeafIdentity, String> {
        if let Some(id) = self.by_key.get(signature_key) {
            return Ok(id.clone());
        }
        let verified = verify_credential(credential, signature_key, trust, now_secs)
            .map_err(|e| e.to_string())?;
        let id = LeafIdentity {
            user: verified.user.into(),
            client: verified.client,
            domain: verified.domain,
        };
        self.by_key.insert(signature_key.to_vec(), id.clone());
        Ok(id)
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
