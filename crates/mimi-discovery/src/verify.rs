//! Verification of assertions and revocations against a trust set (docs/discovery.md
//! §6).

use mimi_types::id::ProviderDomain;

use crate::assertion::{MappingAssertion, SsiEntry};
use crate::cose::{self, Envelope};
use crate::error::{Error, Malformed};
use crate::object::ObjectKind;
use crate::revocation::Revocation;
use crate::revocations::RevocationSet;
use crate::trust::{Authority, KeyId, Reach, TrustSet, to_hex};

/// The outcome of [`verify`]: the assertion, or exactly one reason it is rejected.
///
/// Checks run in the order of the variants below (after `Verified`), so that a reason is only
/// reported once everything before it holds: nothing about an object is believed before its
/// signature is checked, and `Expired`, `NotYetValid` and `Revoked` are only ever said of
/// authentic, authorized assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Authentic, authorized, valid now and not wholly revoked. Entries removed by revocations
    /// are left out of [`VerifiedAssertion::ssis`].
    Verified(Box<VerifiedAssertion>),
    /// Not a well-formed, canonically encoded mapping assertion.
    Malformed(Malformed),
    /// The authority id or its key id is not in the trust set.
    UnknownAuthority,
    /// The signature does not verify under the named key.
    BadSignature,
    /// The authority asserted an SII or an SSI domain outside its rights.
    NotAuthorized,
    /// Issued in the future (beyond the clock skew).
    NotYetValid,
    /// Past its expiry (beyond the clock skew).
    Expired,
    /// Removed by a revocation: by serial, by SII, or every one of its SSIs by mapping.
    Revoked,
}

impl Verdict {
    /// Whether the assertion verified.
    pub fn is_verified(&self) -> bool {
        matches!(self, Verdict::Verified(_))
    }

    /// The verified assertion, if any.
    pub fn verified(self) -> Option<VerifiedAssertion> {
        match self {
            Verdict::Verified(v) => Some(*v),
            _ => None,
        }
    }
}

impl From<Result<VerifiedAssertion, Error>> for Verdict {
    fn from(r: Result<VerifiedAssertion, Error>) -> Self {
        match r {
            Ok(v) => Verdict::Verified(Box::new(v)),
            Err(e) => match e {
                Error::Malformed(m) | Error::Invalid(m) | Error::State(m) => Verdict::Malformed(m),
                Error::UnknownAuthority { .. } => Verdict::UnknownAuthority,
                Error::BadSignature => Verdict::BadSignature,
                // Verification never produces `Config` (it only reads a trust set that was
                // checked when it was built) nor the mapping authority's errors.
                Error::NotAuthorized(_)
                | Error::Config(_)
                | Error::AuthorityConfig(_)
                | Error::RateLimited { .. }
                | Error::UnknownChallenge
                | Error::ChallengeExpired
                | Error::WrongCode { .. }
                | Error::TooManyAttempts
                | Error::ProofRejected(_)
                | Error::ProofRequired(_)
                | Error::Delivery(_)
                | Error::TrustFile { .. } => Verdict::NotAuthorized,
                Error::NotYetValid { .. } => Verdict::NotYetValid,
                Error::Expired { .. } => Verdict::Expired,
                Error::Revoked => Verdict::Revoked,
            },
        }
    }
}

/// A verified mapping assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    assertion: MappingAssertion,
    kid: KeyId,
    active: Vec<SsiEntry>,
}

impl VerifiedAssertion {
    pub(crate) fn new(assertion: MappingAssertion, kid: KeyId, active: Vec<SsiEntry>) -> Self {
        Self {
            assertion,
            kid,
            active,
        }
    }

    /// The assertion as signed (all its entries).
    pub fn assertion(&self) -> &MappingAssertion {
        &self.assertion
    }

    /// The key id it was signed with.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The entries still in force: the assertion's, less those removed by mapping
    /// revocations, in canonical order (priority, then SSI).
    pub fn ssis(&self) -> &[SsiEntry] {
        &self.active
    }
}

/// Verify a mapping assertion: `bytes` is the tagged COSE_Sign1, `now` the verifier's clock in
/// UNIX seconds, `revocations` the verified revocations the verifier holds.
pub fn verify(bytes: &[u8], now: u64, trust: &TrustSet, revocations: &RevocationSet) -> Verdict {
    verify_assertion(bytes, now, trust, revocations).into()
}

/// As [`verify`], as a `Result` with the details of a rejection.
pub fn verify_assertion(
    bytes: &[u8],
    now: u64,
    trust: &TrustSet,
    revocations: &RevocationSet,
) -> Result<VerifiedAssertion, Error> {
    let (assertion, kid) = authenticate(bytes, trust)?;
    check_time(&assertion, now, trust.clock_skew())?;
    let active = apply_revocations(&assertion, revocations)?;
    Ok(VerifiedAssertion::new(assertion, kid, active))
}

/// Decode a mapping assertion without verifying anything but its encoding (for distribution
/// points and tools; never a reason to believe it).
pub fn decode_assertion(bytes: &[u8]) -> Result<(MappingAssertion, KeyId), Error> {
    let env = cose::parse(bytes, ObjectKind::Assertion)?;
    let assertion = MappingAssertion::from_payload(env.payload)?;
    Ok((assertion, kid_of(&env)?))
}

/// Decode a revocation without verifying anything but its encoding.
pub fn decode_revocation(bytes: &[u8]) -> Result<(Revocation, KeyId), Error> {
    let env = cose::parse(bytes, ObjectKind::Revocation)?;
    let revocation = Revocation::from_payload(env.payload)?;
    Ok((revocation, kid_of(&env)?))
}

fn kid_of(env: &Envelope<'_>) -> Result<KeyId, Error> {
    KeyId::new(env.kid).map_err(|_| Error::Malformed(Malformed::BadLength { what: "kid" }))
}

/// Steps 1-6 of docs/discovery.md §6.1: encoding, authority, key,
/// signature, rights. Time and revocations are not looked at.
pub(crate) fn authenticate(
    bytes: &[u8],
    trust: &TrustSet,
) -> Result<(MappingAssertion, KeyId), Error> {
    let env = cose::parse(bytes, ObjectKind::Assertion)?;
    let assertion = MappingAssertion::from_payload(env.payload)?;
    let authority = check_signature(&env, assertion.authority(), trust)?;
    // discovery-requirements R4: a mapping is believed only from an authority trusted for it;
    // a provider acting as its own authority may only assert SSIs on its own domains.
    authority.permissions().may_assert(
        assertion.sii(),
        assertion.ssis().iter().map(SsiEntry::provider),
    )?;
    Ok((assertion, kid_of(&env)?))
}

/// Find the named authority and key, and check the signature.
fn check_signature<'t>(
    env: &Envelope<'_>,
    named: &ProviderDomain,
    trust: &'t TrustSet,
) -> Result<&'t Authority, Error> {
    let unknown = || Error::UnknownAuthority {
        authority: named.to_string(),
        kid: to_hex(env.kid),
    };
    let authority = trust.get(named).ok_or_else(unknown)?;
    let key = authority.key(env.kid).ok_or_else(unknown)?;
    if cose::signature_ok(env, key) {
        Ok(authority)
    } else {
        Err(Error::BadSignature)
    }
}

/// Validity: `issued_at - skew <= now <= expires_at + skew`.
pub(crate) fn check_time(a: &MappingAssertion, now: u64, skew: u64) -> Result<(), Error> {
    if a.issued_at() > now.saturating_add(skew) {
        return Err(Error::NotYetValid {
            issued_at: a.issued_at(),
            now,
        });
    }
    if now > a.expires_at().saturating_add(skew) {
        return Err(Error::Expired {
            expires_at: a.expires_at(),
            now,
        });
    }
    Ok(())
}

/// The entries left in force, or `Revoked` (discovery-requirements R9).
pub(crate) fn apply_revocations(
    a: &MappingAssertion,
    revocations: &RevocationSet,
) -> Result<Vec<SsiEntry>, Error> {
    if revocations.serial_revoked(a.authority(), a.serial())
        || revocations.sii_revoked(a.authority(), a.sii(), a.issued_at())
    {
        return Err(Error::Revoked);
    }
    let active: Vec<SsiEntry> = a
        .ssis()
        .iter()
        .filter(|e| !revocations.mapping_revoked(a.authority(), a.sii(), e.ssi(), a.issued_at()))
        .cloned()
        .collect();
    if active.is_empty() && !a.ssis().is_empty() {
        return Err(Error::Revoked);
    }
    Ok(active)
}

/// A revocation whose signature and signer's rights have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRevocation {
    revocation: Revocation,
    kid: KeyId,
    reach: Reach,
}

impl VerifiedRevocation {
    /// The revocation as signed.
    pub fn revocation(&self) -> &Revocation {
        &self.revocation
    }

    /// The key id it was signed with.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// Which assertions it applies to, as decided by the signer's rights.
    pub fn reach(&self) -> Reach {
        self.reach
    }
}

/// Verify a revocation: encoding, authority, key, signature, the signer's right to remove its
/// target (discovery-requirements R10), and that it is not issued in the future (a revocation
/// dated ahead would also cover assertions not yet issued). Revocations do not expire.
pub fn verify_revocation(
    bytes: &[u8],
    now: u64,
    trust: &TrustSet,
) -> Result<VerifiedRevocation, Error> {
    let env = cose::parse(bytes, ObjectKind::Revocation)?;
    let revocation = Revocation::from_payload(env.payload)?;
    let authority = check_signature(&env, revocation.authority(), trust)?;
    let reach = authority
        .permissions()
        .revocation_reach(revocation.target())?;
    if revocation.issued_at() > now.saturating_add(trust.clock_skew()) {
        return Err(Error::NotYetValid {
            issued_at: revocation.issued_at(),
            now,
        });
    }
    Ok(VerifiedRevocation {
        revocation,
        kid: kid_of(&env)?,
        reach,
    })
}
