//! `mimi://` URIs of any kind: parsing and normalization.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use super::domain::ProviderDomain;
use super::error::{IdError, echo};
use super::kinds::UriKind;
use super::percent;

/// Longest MIMI URI, in bytes of its normalized form (docs/decisions/0022).
pub const MAX_URI_LEN: usize = 1024;

/// Longest id segment, in bytes of its decoded UTF-8 form (docs/decisions/0022).
pub const MAX_SEGMENT_LEN: usize = 255;

/// Inputs longer than this are rejected before any other work (percent-encoding can make a
/// valid URI up to three times longer than its normalized form).
const MAX_INPUT_LEN: usize = 3 * MAX_URI_LEN;

/// The scheme, as written in normalized URIs.
pub(crate) const PREFIX: &str = "mimi://";

/// A parsed, normalized `mimi://` URI of any [`UriKind`]:
/// `mimi://<provider-domain>[/<type>/<id>[/<id>]]` (draft-ietf-mimi-protocol-06 §3,
/// draft-mahy-mimi-identity-05 §"Representation of identifiers using URIs").
///
/// The drafts give no grammar or comparison rule; this crate's rule (docs/decisions/0020):
///
/// * scheme `mimi`, case-insensitive, written lowercase;
/// * authority: a [`ProviderDomain`] (lowercase, A-labels, no trailing dot); no userinfo, no
///   port, no IP literal;
/// * no query, no fragment; `mimi://a.example/` is the provider `mimi://a.example`, but a
///   trailing `/` after an id is an empty segment and rejected;
/// * a type segment (`u p d r g t`, case-sensitive) and one id segment (two for `d`);
/// * id segments are case-sensitive Unicode strings, at most [`MAX_SEGMENT_LEN`] bytes, no
///   control characters. Percent-encoding is decoded and re-applied canonically: only characters
///   outside RFC 3986 `pchar` are encoded, with upper-case hex. So `%41` is `A`, `é` is `%C3%A9`,
///   and `%2F` (a `/` inside an id) stays `%2F`;
/// * the normalized form is ASCII and at most [`MAX_URI_LEN`] bytes.
///
/// Equality, hashing and ordering compare the normalized form ([`MimiUri::as_str`]), so
/// `MIMI://A.Example/u/alice` equals `mimi://a.example/u/alice`. Parsing the normalized form gives
/// back an equal value.
#[derive(Clone)]
pub struct MimiUri {
    text: String,
    domain: ProviderDomain,
    kind: UriKind,
    /// Decoded id segments (0, 1 or 2).
    ids: Vec<String>,
}

impl MimiUri {
    /// Parse and normalize a MIMI URI of any kind.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        if input.len() > MAX_INPUT_LEN {
            return Err(IdError::TooLong {
                what: "URI",
                len: input.len(),
                limit: MAX_URI_LEN,
            });
        }
        let rest = strip_scheme(input)?;
        let rest = rest.strip_prefix("//").ok_or(IdError::MissingAuthority)?;
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let domain = parse_authority(authority)?;
        if let Some(c) = tail.chars().find(|&c| c == '?' || c == '#') {
            return Err(if c == '?' {
                IdError::QueryNotAllowed
            } else {
                IdError::FragmentNotAllowed
            });
        }
        // `mimi://a.example` and `mimi://a.example/` are both the provider.
        if tail.is_empty() || tail == "/" {
            return Ok(Self::provider(domain));
        }
        let path = tail.strip_prefix('/').unwrap_or(tail);
        let mut segments = path.split('/');
        let type_segment = segments.next().unwrap_or_default();
        if type_segment.is_empty() {
            return Err(IdError::EmptySegment);
        }
        let type_segment = percent::decode_component(type_segment, "the type segment")?;
        let kind = UriKind::from_type_segment(&type_segment)
            .ok_or_else(|| IdError::UnknownType(echo(&type_segment)))?;
        let raw_ids: Vec<&str> = segments.collect();
        if raw_ids.iter().any(|s| s.is_empty()) {
            return Err(IdError::EmptySegment);
        }
        if raw_ids.len() > kind.max_id_segments() {
            return Err(IdError::TooManySegments {
                kind,
                max: kind.max_id_segments(),
            });
        }
        if raw_ids.len() < kind.min_id_segments() {
            return Err(IdError::MissingId(kind));
        }
        let mut ids = Vec::with_capacity(raw_ids.len());
        for raw in raw_ids {
            ids.push(percent::decode_component(raw, "an id segment")?);
        }
        Self::from_decoded(domain, kind, ids)
    }

    /// Build a URI from its parts. `ids` are decoded strings (`"a/b"` is one id containing a
    /// slash); their number must suit `kind` (none for a provider, one or two for a client, one
    /// otherwise).
    pub fn from_parts(
        domain: ProviderDomain,
        kind: UriKind,
        ids: &[&str],
    ) -> Result<Self, IdError> {
        if ids.len() > kind.max_id_segments() {
            return Err(IdError::TooManySegments {
                kind,
                max: kind.max_id_segments(),
            });
        }
        if ids.len() < kind.min_id_segments() {
            return Err(IdError::MissingId(kind));
        }
        Self::from_decoded(domain, kind, ids.iter().map(|s| (*s).to_owned()).collect())
    }

    /// The provider URI of `domain`.
    pub(crate) fn provider(domain: ProviderDomain) -> Self {
        let mut text = String::with_capacity(PREFIX.len() + domain.as_str().len());
        text.push_str(PREFIX);
        text.push_str(domain.as_str());
        Self {
            text,
            domain,
            kind: UriKind::Provider,
            ids: Vec::new(),
        }
    }

    /// Build a URI from ids known to be valid (non-empty, short, no control characters), such
    /// as rendered UUIDs: infallible, for constructors that cannot fail.
    pub(crate) fn with_ascii_ids(domain: ProviderDomain, kind: UriKind, ids: &[String]) -> Self {
        let Some(type_segment) = kind.type_segment() else {
            return Self::provider(domain);
        };
        let mut text = String::new();
        text.push_str(PREFIX);
        text.push_str(domain.as_str());
        text.push('/');
        text.push_str(type_segment);
        for id in ids {
            debug_assert!(check_id(id).is_ok());
            text.push('/');
            percent::encode_into(id, &mut text);
        }
        Self {
            text,
            domain,
            kind,
            ids: ids.to_vec(),
        }
    }

    /// Validate decoded ids (count already checked) and write the normalized form.
    fn from_decoded(
        domain: ProviderDomain,
        kind: UriKind,
        ids: Vec<String>,
    ) -> Result<Self, IdError> {
        let Some(type_segment) = kind.type_segment() else {
            return Ok(Self::provider(domain));
        };
        let mut len = PREFIX.len() + domain.as_str().len() + 1 + type_segment.len();
        for id in &ids {
            check_id(id)?;
            len += 1 + percent::encoded_len(id);
        }
        if len > MAX_URI_LEN {
            return Err(IdError::TooLong {
                what: "URI",
                len,
                limit: MAX_URI_LEN,
            });
        }
        let mut text = String::with_capacity(len);
        text.push_str(PREFIX);
        text.push_str(domain.as_str());
        text.push('/');
        text.push_str(type_segment);
        for id in &ids {
            text.push('/');
            percent::encode_into(id, &mut text);
        }
        Ok(Self {
            text,
            domain,
            kind,
            ids,
        })
    }

    /// The normalized form, e.g. `mimi://a.example/u/alice`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The normalized form as an owned string.
    pub fn into_string(self) -> String {
        self.text
    }

    /// What the URI names.
    pub fn kind(&self) -> UriKind {
        self.kind
    }

    /// The provider domain (the URI's host).
    pub fn domain(&self) -> &ProviderDomain {
        &self.domain
    }

    /// The id segments after the type segment, percent-decoded: none for a provider, `["alice"]`
    /// for `mimi://a.example/u/alice`, `["alice", "ClientA1"]` for
    /// `mimi://a.example/d/alice/ClientA1`.
    pub fn id_segments(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        self.ids.iter().map(String::as_str)
    }

    /// The last id segment, percent-decoded (the device for a two-segment client URI), or `None`
    /// for a provider.
    pub fn id(&self) -> Option<&str> {
        self.ids.last().map(String::as_str)
    }

    /// The URI of this URI's provider (`mimi://a.example` for `mimi://a.example/r/clubhouse`).
    pub fn provider_uri(&self) -> MimiUri {
        Self::provider(self.domain.clone())
    }

    /// Whether this URI belongs to the provider `domain`.
    pub fn is_in_domain(&self, domain: &ProviderDomain) -> bool {
        &self.domain == domain
    }
}

/// Check a decoded id segment: non-empty, bounded, no control characters.
fn check_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::EmptySegment);
    }
    if id.len() > MAX_SEGMENT_LEN {
        return Err(IdError::TooLong {
            what: "id segment",
            len: id.len(),
            limit: MAX_SEGMENT_LEN,
        });
    }
    if let Some(ch) = id.chars().find(|c| c.is_control()) {
        return Err(IdError::InvalidChar {
            ch,
            what: "an id segment",
        });
    }
    Ok(())
}

/// Strip `mimi:` (any case), or say why the input has no `mimi` scheme (RFC 3986 §3.1).
fn strip_scheme(input: &str) -> Result<&str, IdError> {
    let colon = input.find(':').ok_or(IdError::MissingScheme)?;
    let scheme = &input[..colon];
    let valid_scheme = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid_scheme {
        return Err(IdError::MissingScheme);
    }
    if !scheme.eq_ignore_ascii_case("mimi") {
        return Err(IdError::WrongScheme(echo(&scheme.to_ascii_lowercase())));
    }
    Ok(&input[colon + 1..])
}

/// The authority must be exactly a host: no userinfo, no port (RFC 3986 §3.2).
fn parse_authority(authority: &str) -> Result<ProviderDomain, IdError> {
    if authority.is_empty() {
        return Err(IdError::NoHost);
    }
    if authority.contains('@') {
        return Err(IdError::UserinfoNotAllowed);
    }
    if authority.starts_with('[') {
        return Err(IdError::InvalidHost {
            host: echo(authority),
            reason: "IP literals are not provider domains (draft-ietf-mimi-protocol-06 §3)",
        });
    }
    if authority.contains(':') {
        return Err(IdError::PortNotAllowed);
    }
    // RFC 3986 §3.2.2: a reg-name may percent-encode UTF-8 (an IDN).
    let host = if authority.contains('%') {
        percent::decode_all(authority)?
    } else {
        authority.to_owned()
    };
    ProviderDomain::parse(&host)
}

impl FromStr for MimiUri {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for MimiUri {
    type Error = IdError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl fmt::Display for MimiUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for MimiUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MimiUri({})", self.text)
    }
}

impl PartialEq for MimiUri {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for MimiUri {}

impl Hash for MimiUri {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for MimiUri {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MimiUri {
    fn cmp(&self, other: &Self) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl AsRef<str> for MimiUri {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<ProviderDomain> for MimiUri {
    fn from(domain: ProviderDomain) -> Self {
        Self::provider(domain)
    }
}

super::serde_as_string!(MimiUri);
