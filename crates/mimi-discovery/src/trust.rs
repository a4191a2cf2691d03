//! The verifier's trust configuration: which mapping authorities it trusts, with which keys,
//! and what each may assert and remove (docs/discovery.md §4, docs/decisions/0106).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ed25519_dalek::VerifyingKey;
use mimi_types::id::ProviderDomain;
use sha2::{Digest, Sha256};

use crate::error::{Error, Malformed};
use crate::limits::{DEFAULT_CLOCK_SKEW_SECS, MAX_KID_LEN};
use crate::revocation::RevocationTarget;
use crate::sii::Sii;

/// A key id (COSE `kid`): 1 to [`MAX_KID_LEN`] opaque bytes, unique within one authority.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Vec<u8>);

impl KeyId {
    /// A key id from its bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes = bytes.into();
        if bytes.is_empty() || bytes.len() > MAX_KID_LEN {
            return Err(Error::Invalid(Malformed::BadLength { what: "kid" }));
        }
        Ok(Self(bytes))
    }

    /// The recommended key id of an Ed25519 public key: the first 8 bytes of
    /// SHA-256("mimi-discovery-kid-v1" || key) (docs/decisions/0103). Any other choice
    /// interoperates; this one needs no coordination.
    pub fn for_key(key: &VerifyingKey) -> Self {
        let digest = Sha256::new()
            .chain_update(b"mimi-discovery-kid-v1")
            .chain_update(key.as_bytes())
            .finalize();
        Self(digest.iter().take(8).copied().collect())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::borrow::Borrow<[u8]> for KeyId {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A set of provider domains: the SSIs an authority may assert, by the SSI's domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainScope {
    /// Every domain (a third-party phone or email mapping authority).
    Any,
    /// Exactly these domains (a provider acting as its own authority); empty means none.
    Only(BTreeSet<ProviderDomain>),
}

impl DomainScope {
    /// No domain at all.
    pub fn none() -> Self {
        DomainScope::Only(BTreeSet::new())
    }

    /// Whether `domain` is in the scope.
    pub fn covers(&self, domain: &ProviderDomain) -> bool {
        match self {
            DomainScope::Any => true,
            DomainScope::Only(set) => set.contains(domain),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, DomainScope::Only(set) if set.is_empty())
    }
}

/// One class of SIIs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SiiPattern {
    /// Every phone number.
    AnyPhone,
    /// Phone numbers with this ITU-T country calling code (e.g. 44).
    PhoneCountryCode(u16),
    /// Every email address.
    AnyEmail,
    /// Email addresses at exactly this domain.
    EmailDomain(ProviderDomain),
}

impl SiiPattern {
    fn matches(&self, sii: &Sii) -> bool {
        match (self, sii) {
            (SiiPattern::AnyPhone, Sii::Phone(_)) | (SiiPattern::AnyEmail, Sii::Email(_)) => true,
            (SiiPattern::PhoneCountryCode(cc), Sii::Phone(p)) => p.country_code() == *cc,
            (SiiPattern::EmailDomain(d), Sii::Email(e)) => e.domain() == d,
            _ => false,
        }
    }
}

/// A set of SIIs, as a union of [`SiiPattern`]s; empty means none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiiScope(BTreeSet<SiiPattern>);

impl SiiScope {
    /// No SII.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every phone number and every email address.
    pub fn any() -> Self {
        Self::of([SiiPattern::AnyPhone, SiiPattern::AnyEmail])
    }

    /// The union of `patterns`.
    pub fn of(patterns: impl IntoIterator<Item = SiiPattern>) -> Self {
        Self(patterns.into_iter().collect())
    }

    /// Whether `sii` is in the scope.
    pub fn covers(&self, sii: &Sii) -> bool {
        self.0.iter().any(|p| p.matches(sii))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What one authority may sign. Every check that uses these cites the requirement it
/// enforces; the roles are described in docs/discovery.md §4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// **Mapping authority**: SIIs it may assert mappings for (it proves control of them
    /// before signing, discovery-requirements R1).
    pub assert_siis: SiiScope,
    /// **Mapping authority**: domains whose SSIs it may put in its assertions.
    pub assert_ssi_domains: DomainScope,
    /// **Recipient's provider**: domains whose users it speaks for; it may remove the mapping
    /// of any SII to an SSI on these domains, whoever asserted it (R9, R10 "the recipient").
    pub recipient_provider_for: BTreeSet<ProviderDomain>,
    /// **SII issuer** (the CSIP of discovery-requirements, e.g. a carrier or an email domain):
    /// it may remove any mapping of these SIIs, whoever asserted it (R10 "the CSIP").
    pub sii_issuer_for: SiiScope,
}

/// Which assertions a verified revocation applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only the signer's own assertions (an issuer withdrawing what it issued).
    IssuerOnly,
    /// Every authority's assertions (the recipient's provider, or the SII's issuer).
    AllAuthorities,
}

impl Permissions {
    /// No rights at all.
    pub fn none() -> Self {
        Self {
            assert_siis: SiiScope::none(),
            assert_ssi_domains: DomainScope::none(),
            recipient_provider_for: BTreeSet::new(),
            sii_issuer_for: SiiScope::none(),
        }
    }

    /// A provider acting as its own mapping authority: it asserts any SII, but only for SSIs
    /// on `domain`, and removes mappings on behalf of its users.
    pub fn provider(domain: ProviderDomain) -> Self {
        Self {
            assert_siis: SiiScope::any(),
            assert_ssi_domains: DomainScope::Only(BTreeSet::from([domain.clone()])),
            recipient_provider_for: BTreeSet::from([domain]),
            sii_issuer_for: SiiScope::none(),
        }
    }

    /// A third-party mapping authority for `siis` (e.g. one that verifies phone numbers by
    /// one-time code): it asserts those SIIs to SSIs on any domain.
    pub fn sii_authority(siis: SiiScope) -> Self {
        Self {
            assert_siis: siis,
            assert_ssi_domains: DomainScope::Any,
            ..Self::none()
        }
    }

    /// The issuer of `siis` (carrier, email domain): asserts nothing, removes any of their
    /// mappings.
    pub fn sii_issuer(siis: SiiScope) -> Self {
        Self {
            sii_issuer_for: siis,
            ..Self::none()
        }
    }

    /// Whether an assertion of `sii` to SSIs on `domains` is within these rights.
    pub fn may_assert<'a>(
        &self,
        sii: &Sii,
        mut domains: impl Iterator<Item = &'a ProviderDomain>,
    ) -> Result<(), Error> {
        if !self.assert_siis.covers(sii) {
            return Err(Error::NotAuthorized(
                "the authority may not assert this SII",
            ));
        }
        if !domains.all(|d| self.assert_ssi_domains.covers(d)) {
            return Err(Error::NotAuthorized(
                "the authority may not assert SSIs on this domain",
            ));
        }
        Ok(())
    }

    fn may_assert_anything(&self) -> bool {
        !self.assert_siis.is_empty() && !self.assert_ssi_domains.is_empty()
    }

    /// Which assertions a revocation of `target` signed under these rights reaches, or
    /// `NotAuthorized` (discovery-requirements R10: only the recipient, through its provider,
    /// or the SII's issuer may remove others' mappings; an authority may always withdraw what
    /// it could have asserted).
    pub fn revocation_reach(&self, target: &RevocationTarget) -> Result<Reach, Error> {
        let denied = Error::NotAuthorized("the signer may not revoke this target");
        match target {
            RevocationTarget::Serial(_) => {
                if self.may_assert_anything() {
                    Ok(Reach::IssuerOnly)
                } else {
                    Err(denied)
                }
            }
            RevocationTarget::Mapping { sii, ssi } => {
                if self.recipient_provider_for.contains(ssi.domain())
                    || self.sii_issuer_for.covers(sii)
                {
                    Ok(Reach::AllAuthorities)
                } else if self.assert_siis.covers(sii)
                    && self.assert_ssi_domains.covers(ssi.domain())
                {
                    Ok(Reach::IssuerOnly)
                } else {
                    Err(denied)
                }
            }
            RevocationTarget::Sii(sii) => {
                if self.sii_issuer_for.covers(sii) {
                    Ok(Reach::AllAuthorities)
                } else if self.assert_siis.covers(sii) && self.may_assert_anything() {
                    Ok(Reach::IssuerOnly)
                } else {
                    Err(denied)
                }
            }
        }
    }
}

/// One trusted authority: its id, its keys by key id, and its rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    id: ProviderDomain,
    keys: BTreeMap<KeyId, VerifyingKey>,
    permissions: Permissions,
}

impl Authority {
    /// An authority without keys yet.
    pub fn new(id: ProviderDomain, permissions: Permissions) -> Self {
        Self {
            id,
            keys: BTreeMap::new(),
            permissions,
        }
    }

    /// Add a signing key under `kid`. Weak (small-order) keys and a `kid` already used by this
    /// authority are refused.
    pub fn with_key(mut self, kid: KeyId, key: VerifyingKey) -> Result<Self, Error> {
        if key.is_weak() {
            return Err(Error::Config("weak Ed25519 public key"));
        }
        if self.keys.contains_key(&kid) {
            return Err(Error::Config("duplicate key id"));
        }
        self.keys.insert(kid, key);
        Ok(self)
    }

    /// The authority id.
    pub fn id(&self) -> &ProviderDomain {
        &self.id
    }

    /// Its rights.
    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// The key with this id.
    pub fn key(&self, kid: &[u8]) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }
}

/// The authorities a verifier trusts, and its clock-skew tolerance.
///
/// Changing the trust set does not change revocations already in a
/// [`crate::RevocationSet`]: rebuild that set from its revocations after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustSet {
    authorities: BTreeMap<ProviderDomain, Authority>,
    clock_skew: u64,
}

impl Default for TrustSet {
    fn default() -> Self {
        Self::new()
    }
}

impl TrustSet {
    /// An empty trust set with the default clock skew
    /// ([`crate::limits::DEFAULT_CLOCK_SKEW_SECS`]).
    pub fn new() -> Self {
        Self {
            authorities: BTreeMap::new(),
            clock_skew: DEFAULT_CLOCK_SKEW_SECS,
        }
    }

    /// Add an authority, replacing any with the same id (returned).
    pub fn insert(&mut self, authority: Authority) -> Option<Authority> {
        self.authorities.insert(authority.id.clone(), authority)
    }

    /// The authority with this id.
    pub fn get(&self, id: &ProviderDomain) -> Option<&Authority> {
        self.authorities.get(id)
    }

    /// All authorities, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Authority> {
        self.authorities.values()
    }

    /// The tolerated clock skew, in seconds.
    pub fn clock_skew(&self) -> u64 {
        self.clock_skew
    }

    /// Set the tolerated clock skew, in seconds.
    pub fn set_clock_skew(&mut self, secs: u64) {
        self.clock_skew = secs;
    }
}
