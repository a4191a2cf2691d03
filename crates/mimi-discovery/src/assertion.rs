//! Mapping assertions: one SII bound to zero or more SSIs, with preferences.

use mimi_types::id::{MAX_URI_LEN, ProviderDomain, UserUri};

use crate::cbor::{Reader, Writer};
use crate::error::{Error, Malformed};
use crate::limits::{MAX_LIFETIME_SECS, MAX_SSIS, MAX_TAG_LEN, MAX_TAGS};
use crate::object::{
    Extensions, ObjectKind, decode_authority, decode_payload_map, decode_type, key, required, set,
};
use crate::sii::Sii;

/// SSI entry keys.
mod entry_key {
    pub const SSI: u64 = 1;
    pub const PRIORITY: u64 = 2;
    pub const TAGS: u64 = 3;
}

/// One SSI an SII maps to, with the recipient's preferences for it (discovery-requirements
/// R2): a priority (lower is preferred; equal priorities express no preference) and optional
/// tags such as `"business"`.
///
/// Encoded as `{1: ssi, 2: priority, ? 3: [+ tag]}`; tags are printable ASCII, 1 to
/// [`MAX_TAG_LEN`] bytes, in strictly ascending byte order, at most [`MAX_TAGS`], and the key is
/// omitted when there are none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsiEntry {
    ssi: UserUri,
    priority: u8,
    tags: Vec<String>,
}

impl SsiEntry {
    /// An entry without tags.
    pub fn new(ssi: UserUri, priority: u8) -> Self {
        Self {
            ssi,
            priority,
            tags: Vec::new(),
        }
    }

    /// Set the preference tags (any order; they are sorted). Duplicates, empty or overlong
    /// tags, non-printable or non-ASCII characters and more than [`MAX_TAGS`] are refused.
    pub fn with_tags<I, S>(mut self, tags: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut tags: Vec<String> = tags.into_iter().map(Into::into).collect();
        tags.sort();
        check_tags(&tags).map_err(Error::Invalid)?;
        self.tags = tags;
        Ok(self)
    }

    /// The service-specific identifier: a user URI such as `mimi://b.example/u/bob`.
    pub fn ssi(&self) -> &UserUri {
        &self.ssi
    }

    /// The SSI's provider domain.
    pub fn provider(&self) -> &ProviderDomain {
        self.ssi.domain()
    }

    /// The priority: 0 is most preferred.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// The preference tags, in ascending byte order.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The canonical order of entries: by priority, then by SSI text.
    fn sort_key(&self) -> (u8, &str) {
        (self.priority, self.ssi.as_str())
    }

    fn encode(&self, w: &mut Writer) {
        w.map(if self.tags.is_empty() { 2 } else { 3 });
        w.uint(entry_key::SSI);
        w.text(self.ssi.as_str());
        w.uint(entry_key::PRIORITY);
        w.uint(u64::from(self.priority));
        if !self.tags.is_empty() {
            w.uint(entry_key::TAGS);
            w.array(self.tags.len());
            for t in &self.tags {
                w.text(t);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Malformed> {
        let n = r.map(3, "SSI entry fields")?;
        let mut prev = None;
        let (mut ssi, mut priority, mut tags) = (None, None, None);
        for _ in 0..n {
            let (major, k) = r.int_key(&mut prev)?;
            if major != crate::cbor::major::UINT {
                // SSI entries have no extension range: every key is critical.
                return Err(Malformed::OutOfRange("SSI entry key"));
            }
            match k {
                entry_key::SSI => ssi = Some(decode_ssi(r)?),
                entry_key::PRIORITY => {
                    let p = r.uint("priority")?;
                    priority =
                        Some(u8::try_from(p).map_err(|_| Malformed::OutOfRange("priority"))?);
                }
                entry_key::TAGS => tags = Some(decode_tags(r)?),
                other => return Err(Malformed::UnknownCriticalField(other)),
            }
        }
        Ok(Self {
            ssi: required(ssi, "SSI")?,
            priority: required(priority, "priority")?,
            tags: tags.unwrap_or_default(),
        })
    }
}

fn check_tags(tags: &[String]) -> Result<(), Malformed> {
    if tags.len() > MAX_TAGS {
        return Err(Malformed::TooMany {
            what: "tags",
            limit: MAX_TAGS,
        });
    }
    for t in tags {
        if t.is_empty() || t.len() > MAX_TAG_LEN {
            return Err(Malformed::BadLength { what: "tag" });
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Malformed::Identifier("tag (printable ASCII only)"));
        }
    }
    if tags.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Malformed::NotSorted("tags"));
    }
    Ok(())
}

fn decode_tags(r: &mut Reader<'_>) -> Result<Vec<String>, Malformed> {
    let n = r.array(MAX_TAGS, "tags")?;
    if n == 0 {
        return Err(Malformed::NotNormalized("tags (omit an empty list)"));
    }
    let mut tags = Vec::with_capacity(n);
    for _ in 0..n {
        tags.push(r.text(1, MAX_TAG_LEN, "tag")?.to_owned());
    }
    check_tags(&tags)?;
    Ok(tags)
}

pub(crate) fn decode_ssi(r: &mut Reader<'_>) -> Result<UserUri, Malformed> {
    let text = r.text(1, MAX_URI_LEN, "SSI")?;
    let uri = UserUri::parse(text).map_err(|_| Malformed::Identifier("SSI (a user URI)"))?;
    if uri.as_str() != text {
        return Err(Malformed::NotNormalized("SSI"));
    }
    Ok(uri)
}

/// A mapping assertion's content: the signed statement "SII maps to these SSIs, from
/// `issued_at` to `expires_at`", by one authority, numbered by `serial`.
///
/// Serials are chosen by the authority and must grow with every assertion it issues for the
/// same SII: a verifier keeps only the highest serial per authority and SII
/// (docs/decisions/0105). An assertion with no SSIs is allowed: it says the recipient chose
/// not to be discoverable through this authority (discovery-requirements R5) and supersedes
/// earlier assertions like any other.
///
/// Values are always canonical: the constructor sorts entries by (priority, SSI) and refuses
/// anything the decoder would refuse, so `decode(encode(a)) == a` for every value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingAssertion {
    authority: ProviderDomain,
    serial: u64,
    issued_at: u64,
    expires_at: u64,
    sii: Sii,
    ssis: Vec<SsiEntry>,
    extensions: Extensions,
}

impl MappingAssertion {
    /// Build an assertion. Entries may come in any order; duplicated SSIs, more than
    /// [`MAX_SSIS`] entries, `issued_at >= expires_at` and lifetimes over
    /// [`MAX_LIFETIME_SECS`] are refused.
    pub fn new(
        authority: ProviderDomain,
        serial: u64,
        sii: Sii,
        issued_at: u64,
        expires_at: u64,
        mut ssis: Vec<SsiEntry>,
    ) -> Result<Self, Error> {
        ssis.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let a = Self {
            authority,
            serial,
            issued_at,
            expires_at,
            sii,
            ssis,
            extensions: Extensions::new(),
        };
        a.check().map_err(Error::Invalid)?;
        Ok(a)
    }

    /// The same assertion with these extensions.
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// The issuing authority's id.
    pub fn authority(&self) -> &ProviderDomain {
        &self.authority
    }

    /// The serial number (per authority; higher supersedes lower for the same SII).
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Issued-at, UNIX seconds.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// Expiry, UNIX seconds (the last second of validity).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The service-independent identifier.
    pub fn sii(&self) -> &Sii {
        &self.sii
    }

    /// The SSI entries, in canonical order (priority, then SSI).
    pub fn ssis(&self) -> &[SsiEntry] {
        &self.ssis
    }

    /// The extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    fn check(&self) -> Result<(), Malformed> {
        if self.ssis.len() > MAX_SSIS {
            return Err(Malformed::TooMany {
                what: "SSIs",
                limit: MAX_SSIS,
            });
        }
        if self
            .ssis
            .windows(2)
            .any(|w| w[0].sort_key() >= w[1].sort_key())
        {
            return Err(Malformed::NotSorted("SSI entries"));
        }
        let mut uris: Vec<&str> = self.ssis.iter().map(|e| e.ssi.as_str()).collect();
        uris.sort_unstable();
        if uris.windows(2).any(|w| w[0] == w[1]) {
            return Err(Malformed::NotSorted("SSI entries (duplicate SSI)"));
        }
        check_validity(self.issued_at, self.expires_at)
    }

    /// The deterministic CBOR payload (docs/discovery.md §2.2).
    pub fn to_payload(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.map(7 + self.extensions.len());
        w.uint(key::TYPE);
        w.uint(ObjectKind::Assertion.type_code());
        w.uint(key::AUTHORITY);
        w.text(self.authority.as_str());
        w.uint(key::SERIAL);
        w.uint(self.serial);
        w.uint(key::ISSUED_AT);
        w.uint(self.issued_at);
        w.uint(key::EXPIRES_AT);
        w.uint(self.expires_at);
        w.uint(key::SII);
        self.sii.encode(&mut w);
        w.uint(key::SSIS);
        w.array(self.ssis.len());
        for e in &self.ssis {
            e.encode(&mut w);
        }
        self.extensions.encode(&mut w);
        w.into_bytes()
    }

    /// Decode a payload strictly: canonical encoding, every field present, no unknown
    /// non-negative key, all limits.
    pub fn from_payload(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(bytes);
        let (mut ty, mut authority, mut serial, mut iat, mut exp, mut sii, mut ssis) =
            (None, None, None, None, None, None, None);
        let extensions = decode_payload_map(&mut r, 7, |k, r| match k {
            key::TYPE => set(&mut ty, decode_type(r, ObjectKind::Assertion)?),
            key::AUTHORITY => set(&mut authority, decode_authority(r)?),
            key::SERIAL => set(&mut serial, r.uint("serial")?),
            key::ISSUED_AT => set(&mut iat, r.uint("issued-at")?),
            key::EXPIRES_AT => set(&mut exp, r.uint("expiry")?),
            key::SII => set(&mut sii, Sii::decode(r)?),
            key::SSIS => {
                let n = r.array(MAX_SSIS, "SSIs")?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(SsiEntry::decode(r)?);
                }
                set(&mut ssis, v)
            }
            _ => Ok(false),
        })?;
        r.finish()?;
        required(ty, "type")?;
        let a = Self {
            authority: required(authority, "authority")?,
            serial: required(serial, "serial")?,
            issued_at: required(iat, "issued-at")?,
            expires_at: required(exp, "expiry")?,
            sii: required(sii, "SII")?,
            ssis: required(ssis, "SSIs")?,
            extensions,
        };
        a.check()?;
        Ok(a)
    }
}

/// `issued_at < expires_at` and a lifetime of at most [`MAX_LIFETIME_SECS`].
fn check_validity(issued_at: u64, expires_at: u64) -> Result<(), Malformed> {
    if issued_at >= expires_at {
        return Err(Malformed::Validity);
    }
    if expires_at - issued_at > MAX_LIFETIME_SECS {
        return Err(Malformed::LifetimeTooLong);
    }
    Ok(())
}
