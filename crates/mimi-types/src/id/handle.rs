//! Handles: user-chosen, user-facing names (`@alice`, `im:alice.smith@a.example`).

use std::fmt;
use std::str::FromStr;

use super::domain::ProviderDomain;
use super::error::IdError;

/// Longest nick (the user part of a handle), in bytes (= characters: nicks are ASCII).
pub const MAX_NICK_LEN: usize = 64;

/// A handle: a connection-establishment identifier (draft-kohbrok-mimi-identifiers-00) that a
/// user chooses and shares, e.g. on a business card. Handles are mutable and are never put in
/// MLS credentials; a provider maps a handle to a [`super::UserUri`] when asked
/// (draft-ietf-mimi-protocol-06 §5.8 `identifierQuery`).
///
/// Format (docs/decisions/0024): a *nick* and an optional provider *domain*.
/// * nick: 1 to [`MAX_NICK_LEN`] ASCII letters, digits, `.`, `_`, `-`; starting with a letter or
///   digit, not ending with `.`, no `..`; case-insensitive, stored lowercase;
/// * domain: a [`ProviderDomain`] (lowercase, A-labels).
///
/// Accepted written forms: `im:alice.smith@a.example` (the protocol's handle URI, §5.8),
/// `@alice.smith@a.example`, `alice.smith@a.example` (scoped); `@alice.smith`, `alice.smith`
/// (unscoped). Canonical form ([`fmt::Display`]): `im:alice.smith@a.example` when scoped (the
/// `handle` search value of §5.8), `@alice.smith` when not; [`Handle::nick`] is the `nick`
/// search value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle {
    nick: String,
    domain: Option<ProviderDomain>,
}

impl Handle {
    /// Parse any accepted written form (surrounding whitespace is ignored).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim();
        if s.len() > MAX_NICK_LEN + 1 + 1024 {
            return Err(IdError::InvalidHandle("too long"));
        }
        let (body, uri_form) = match s.get(..3) {
            Some(p) if p.eq_ignore_ascii_case("im:") => (&s[3..], true),
            _ => (s.strip_prefix('@').unwrap_or(s), false),
        };
        match body.split_once('@') {
            Some((nick, domain)) => {
                let domain = ProviderDomain::parse(domain)
                    .map_err(|_| IdError::InvalidHandle("the part after \"@\" is not a domain"))?;
                Self::new(nick, Some(domain))
            }
            None if uri_form => Err(IdError::InvalidHandle(
                "an \"im:\" handle URI needs a domain (im:nick@domain)",
            )),
            None => Self::new(body, None),
        }
    }

    /// Build a handle from a nick (any case) and an optional domain.
    pub fn new(nick: &str, domain: Option<ProviderDomain>) -> Result<Self, IdError> {
        Ok(Self {
            nick: check_nick(nick)?,
            domain,
        })
    }

    /// The nick, lowercase (`alice.smith`).
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// The domain, if the handle is scoped.
    pub fn domain(&self) -> Option<&ProviderDomain> {
        self.domain.as_ref()
    }

    /// The same nick scoped to `domain`.
    pub fn with_domain(&self, domain: ProviderDomain) -> Self {
        Self {
            nick: self.nick.clone(),
            domain: Some(domain),
        }
    }

    /// The `im:` handle URI (`im:alice.smith@a.example`), if scoped.
    pub fn to_im_uri(&self) -> Option<String> {
        self.domain
            .as_ref()
            .map(|d| format!("im:{}@{}", self.nick, d))
    }

    /// The at-sign written form: `@alice.smith@a.example` or `@alice.smith`.
    pub fn to_at_form(&self) -> String {
        match &self.domain {
            Some(d) => format!("@{}@{}", self.nick, d),
            None => format!("@{}", self.nick),
        }
    }
}

/// Validate and lowercase a nick.
fn check_nick(nick: &str) -> Result<String, IdError> {
    if nick.is_empty() {
        return Err(IdError::InvalidHandle("empty nick"));
    }
    if nick.len() > MAX_NICK_LEN {
        return Err(IdError::InvalidHandle("nick is longer than 64 characters"));
    }
    if !nick
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(IdError::InvalidHandle(
            "a nick has only ASCII letters, digits, \".\", \"_\" and \"-\"",
        ));
    }
    if !nick
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
    {
        return Err(IdError::InvalidHandle(
            "a nick starts with a letter or digit",
        ));
    }
    if nick.ends_with('.') || nick.contains("..") {
        return Err(IdError::InvalidHandle(
            "a nick does not end with \".\" or contain \"..\"",
        ));
    }
    Ok(nick.to_ascii_lowercase())
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.domain {
            Some(d) => write!(f, "im:{}@{}", self.nick, d),
            None => write!(f, "@{}", self.nick),
        }
    }
}

impl FromStr for Handle {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

super::serde_as_string!(Handle);

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Handle::parse(s).unwrap().to_string()
    }

    #[test]
    fn written_forms() {
        for s in [
            "im:alice.smith@a.example",
            "IM:Alice.Smith@A.Example",
            "@alice.smith@a.example",
            "alice.smith@a.example",
            "  @Alice.Smith@a.example. ",
        ] {
            assert_eq!(canon(s), "im:alice.smith@a.example", "{s}");
        }
        assert_eq!(canon("@juliet"), "@juliet");
        assert_eq!(canon("juliet"), "@juliet");
        assert_eq!(canon("@alice_smith"), "@alice_smith");
        let h = Handle::parse("@a_smith@example.com").unwrap();
        assert_eq!(h.nick(), "a_smith");
        assert_eq!(h.domain().map(|d| d.as_str()), Some("example.com"));
        assert_eq!(h.to_at_form(), "@a_smith@example.com");
        assert_eq!(h.to_im_uri().as_deref(), Some("im:a_smith@example.com"));
        assert_eq!(
            Handle::parse("im:x@bücher.example").unwrap().to_string(),
            "im:x@xn--bcher-kva.example"
        );
        let unscoped = Handle::parse("@juliet").unwrap();
        let d = ProviderDomain::parse("example.com").unwrap();
        assert_eq!(unscoped.with_domain(d).to_string(), "im:juliet@example.com");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "@",
            "im:alice",
            "@@alice",
            "alice@",
            "alice@a_b.example",
            ".alice",
            "_alice",
            "alice.",
            "al..ice",
            "al ice",
            "jürgen",
            "a@b@c.example",
            "im:",
        ] {
            assert!(
                matches!(Handle::parse(bad), Err(IdError::InvalidHandle(_))),
                "{bad:?}: {:?}",
                Handle::parse(bad)
            );
        }
        assert!(Handle::parse(&"a".repeat(64)).is_ok());
        assert!(Handle::parse(&"a".repeat(65)).is_err());
    }
}
