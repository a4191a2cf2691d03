//! The client-side check of a lookup answer from an untrusted distribution point
//! (docs/discovery.md §6.3).
//!
//! A distribution point can lie in three ways. It can *substitute* (answer with assertions for
//! another SII): every item must be for exactly the SII asked about. It can *replay* (answer
//! with an older assertion the authority has since replaced): per authority only the highest
//! serial counts, and a client that remembers the serials it has seen can pass them as a floor.
//! It can *drop* assertions: that cannot be detected from one answer, since "no mapping" is a
//! legitimate answer (discovery-requirements R5); a client that needs more assurance asks
//! several distribution points and checks the union of their answers, where any one honest
//! point restores what the others dropped.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use mimi_types::id::ProviderDomain;

use crate::assertion::{MappingAssertion, SsiEntry};
use crate::cose;
use crate::error::Error;
use crate::limits::MAX_LOOKUP_ITEMS;
use crate::object::ObjectKind;
use crate::revocations::RevocationSet;
use crate::sii::Sii;
use crate::trust::{KeyId, TrustSet};
use crate::verify::{
    VerifiedAssertion, VerifiedRevocation, apply_revocations, authenticate, check_time,
    verify_revocation,
};

/// Why one item of a lookup answer was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupRejection {
    /// It did not verify (malformed, unknown authority, bad signature, not authorized, or —
    /// for the newest of its authority — not yet valid, expired or revoked).
    Invalid(Error),
    /// It is for another SII: a substitution.
    OtherSii,
    /// Byte-identical to an earlier item.
    Duplicate,
    /// The same authority's assertion with a higher serial is in the answer: a replay of an
    /// older assertion, or a stale copy.
    Superseded {
        /// The winning serial.
        serial: u64,
    },
    /// The authority signed two different assertions with the same, highest serial for this
    /// SII; neither is used.
    Equivocation,
    /// Older than the newest serial the client has already seen from this authority for this
    /// SII: the distribution point is serving a rolled-back view.
    RolledBack {
        /// The client's floor for this authority.
        floor: u64,
    },
    /// Beyond [`MAX_LOOKUP_ITEMS`]; not examined.
    Excess,
}

/// One rejected item of a lookup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its position in the answer.
    pub index: usize,
    /// Why.
    pub reason: LookupRejection,
}

/// The checked answer: at most one verified assertion per authority.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupOutcome {
    /// The verified assertions, one per authority at most, in authority-id order.
    pub mappings: Vec<VerifiedAssertion>,
    /// Every item that was not used, in answer order.
    pub rejected: Vec<Rejected>,
    /// The highest authentic serial seen per authority for this SII (whether or not it is
    /// still valid): what a client stores and passes as the floor of its next lookup.
    pub newest_serials: BTreeMap<ProviderDomain, u64>,
    /// Authorities whose newest item was below the client's floor (the answer is stale or
    /// rolled back for them; ask another distribution point).
    pub stale: Vec<ProviderDomain>,
    /// The verified revocations that came with the answer, applied together with the
    /// caller's (a client may keep them for later lookups).
    pub revocations: Vec<VerifiedRevocation>,
}

impl LookupOutcome {
    /// Every SSI in force across all verified assertions, most preferred first (by priority,
    /// then SSI); an SSI asserted by several authorities appears once, with its best priority.
    pub fn ssis(&self) -> Vec<&SsiEntry> {
        let mut all: Vec<&SsiEntry> = self.mappings.iter().flat_map(|m| m.ssis()).collect();
        all.sort_by(|a, b| (a.priority(), a.ssi().as_str()).cmp(&(b.priority(), b.ssi().as_str())));
        let mut seen = BTreeSet::new();
        all.retain(|e| seen.insert(e.ssi().as_str()));
        all
    }
}

/// An authentic candidate for the SII asked about.
struct Candidate {
    index: usize,
    assertion: MappingAssertion,
    kid: KeyId,
}

/// Check the answer to a lookup for `sii`: keep only verified assertions for exactly that SII,
/// the highest serial per authority (docs/discovery.md §6.3).
pub fn check_lookup<B: AsRef<[u8]>>(
    sii: &Sii,
    items: &[B],
    now: u64,
    trust: &TrustSet,
    revocations: &RevocationSet,
) -> LookupOutcome {
    check_lookup_with_floor(sii, items, now, trust, revocations, &BTreeMap::new())
}

/// As [`check_lookup`], also refusing, per authority, anything older than `floor` (the
/// [`LookupOutcome::newest_serials`] the client kept from earlier lookups of the same SII).
pub fn check_lookup_with_floor<B: AsRef<[u8]>>(
    sii: &Sii,
    items: &[B],
    now: u64,
    trust: &TrustSet,
    revocations: &RevocationSet,
    floor: &BTreeMap<ProviderDomain, u64>,
) -> LookupOutcome {
    let mut out = LookupOutcome::default();
    let mut rejected = Vec::new();
    let mut reject = |index, reason| rejected.push(Rejected { index, reason });
    let mut groups: BTreeMap<ProviderDomain, Vec<Candidate>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        if index >= MAX_LOOKUP_ITEMS {
            reject(index, LookupRejection::Excess);
            continue;
        }
        let bytes = item.as_ref();
        if !seen.insert(bytes) {
            reject(index, LookupRejection::Duplicate);
            continue;
        }
        if cose::parse(bytes, ObjectKind::Revocation).is_ok() {
            // A revocation served with the assertions (§6.3 step 2): verified, and applied only
            // if it concerns the SII asked about (a serial names one of its signer's own
            // assertions, which step 3 already restricts to this SII).
            match verify_revocation(bytes, now, trust) {
                Err(e) => reject(index, LookupRejection::Invalid(e)),
                Ok(v) if v.revocation().target().sii().is_some_and(|s| s != sii) => {
                    reject(index, LookupRejection::OtherSii);
                }
                Ok(v) => out.revocations.push(v),
            }
            continue;
        }
        match authenticate(bytes, trust) {
            Err(e) => reject(index, LookupRejection::Invalid(e)),
            Ok((assertion, _)) if assertion.sii() != sii => {
                reject(index, LookupRejection::OtherSii);
            }
            Ok((assertion, kid)) => {
                groups
                    .entry(assertion.authority().clone())
                    .or_default()
                    .push(Candidate {
                        index,
                        assertion,
                        kid,
                    });
            }
        }
    }
    let served;
    let revocations = if out.revocations.is_empty() {
        revocations
    } else {
        let mut all = revocations.clone();
        for v in &out.revocations {
            all.add(v);
        }
        served = all;
        &served
    };
    for (authority, group) in groups {
        let Some(newest) = group.iter().map(|c| c.assertion.serial()).max() else {
            continue;
        };
        out.newest_serials.insert(authority.clone(), newest);
        let (top, older): (Vec<_>, Vec<_>) = group
            .into_iter()
            .partition(|c| c.assertion.serial() == newest);
        for c in &older {
            reject(c.index, LookupRejection::Superseded { serial: newest });
        }
        if let Some(&f) = floor.get(&authority)
            && newest < f
        {
            for c in &top {
                reject(c.index, LookupRejection::RolledBack { floor: f });
            }
            out.stale.push(authority);
            continue;
        }
        if top.len() != 1 {
            // Two distinct assertions share the highest serial: only the authority could have
            // signed both, and neither can be preferred.
            for c in &top {
                reject(c.index, LookupRejection::Equivocation);
            }
            continue;
        }
        let Some(winner) = top.into_iter().next() else {
            continue;
        };
        let checked = check_time(&winner.assertion, now, trust.clock_skew())
            .and_then(|()| apply_revocations(&winner.assertion, revocations));
        match checked {
            Ok(active) => {
                out.mappings
                    .push(VerifiedAssertion::new(winner.assertion, winner.kid, active))
            }
            Err(e) => reject(winner.index, LookupRejection::Invalid(e)),
        }
    }
    rejected.sort_by_key(|r| r.index);
    out.rejected = rejected;
    out
}
