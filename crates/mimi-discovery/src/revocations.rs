//! The set of verified revocations a verifier holds (discovery-requirements R9).

use std::collections::{BTreeMap, BTreeSet};

use mimi_types::id::{ProviderDomain, UserUri};

use crate::error::Error;
use crate::revocation::RevocationTarget;
use crate::sii::Sii;
use crate::trust::{Reach, TrustSet};
use crate::verify::{VerifiedRevocation, verify_revocation};

/// Up to which issued-at time a removal applies, for all authorities or per issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Coverage {
    /// Assertions of any authority issued at or before this time.
    all: Option<u64>,
    /// Assertions of one authority issued at or before its time.
    issuers: BTreeMap<ProviderDomain, u64>,
}

impl Coverage {
    fn add(&mut self, reach: Reach, issuer: &ProviderDomain, issued_at: u64) {
        let slot = match reach {
            Reach::AllAuthorities => self.all.get_or_insert(issued_at),
            Reach::IssuerOnly => self.issuers.entry(issuer.clone()).or_insert(issued_at),
        };
        *slot = (*slot).max(issued_at);
    }

    fn covers(&self, issuer: &ProviderDomain, issued_at: u64) -> bool {
        self.all.is_some_and(|t| issued_at <= t)
            || self.issuers.get(issuer).is_some_and(|t| issued_at <= *t)
    }
}

/// Verified revocations, indexed for [`crate::verify`] and [`crate::check_lookup`].
///
/// Only revocations that verified against a trust set can be added, and each applies as far
/// as its signer's rights reach ([`Reach`]): a revocation signed by an authority that may not
/// remove its target is refused when it is inserted. Memory grows with the number of distinct
/// targets; the caller decides what to keep (a serial revocation can be dropped once the
/// assertion it names has expired).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationSet {
    serials: BTreeSet<(ProviderDomain, u64)>,
    mappings: BTreeMap<(Sii, UserUri), Coverage>,
    siis: BTreeMap<Sii, Coverage>,
    len: usize,
}

impl RevocationSet {
    /// No revocations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verify a revocation ([`verify_revocation`]) and add it.
    pub fn insert(
        &mut self,
        bytes: &[u8],
        now: u64,
        trust: &TrustSet,
    ) -> Result<VerifiedRevocation, Error> {
        let v = verify_revocation(bytes, now, trust)?;
        self.add(&v);
        Ok(v)
    }

    /// Add an already verified revocation.
    pub fn add(&mut self, v: &VerifiedRevocation) {
        let r = v.revocation();
        let issuer = r.authority();
        match r.target() {
            RevocationTarget::Serial(s) => {
                // A serial names one assertion of the signer: the reach is always its own.
                self.serials.insert((issuer.clone(), *s));
            }
            RevocationTarget::Mapping { sii, ssi } => self
                .mappings
                .entry((sii.clone(), ssi.clone()))
                .or_default()
                .add(v.reach(), issuer, r.issued_at()),
            RevocationTarget::Sii(sii) => {
                self.siis
                    .entry(sii.clone())
                    .or_default()
                    .add(v.reach(), issuer, r.issued_at());
            }
        }
        self.len += 1;
    }

    /// How many revocations were added.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none were added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `authority`'s assertion `serial` is revoked.
    pub fn serial_revoked(&self, authority: &ProviderDomain, serial: u64) -> bool {
        self.serials.contains(&(authority.clone(), serial))
    }

    /// Whether every mapping of `sii` in `authority`'s assertion issued at `issued_at` is
    /// revoked.
    pub fn sii_revoked(&self, authority: &ProviderDomain, sii: &Sii, issued_at: u64) -> bool {
        self.siis
            .get(sii)
            .is_some_and(|c| c.covers(authority, issued_at))
    }

    /// Whether the mapping of `sii` to `ssi` in `authority`'s assertion issued at `issued_at`
    /// is revoked.
    pub fn mapping_revoked(
        &self,
        authority: &ProviderDomain,
        sii: &Sii,
        ssi: &UserUri,
        issued_at: u64,
    ) -> bool {
        // Looking up by owned key costs two clones; the set is small next to a signature check.
        self.mappings
            .get(&(sii.clone(), ssi.clone()))
            .is_some_and(|c| c.covers(authority, issued_at))
    }
}
