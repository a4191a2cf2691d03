//! Connection-establishment identifiers: how one user finds another.

use std::fmt;
use std::str::FromStr;

use super::email::EmailAddress;
use super::error::IdError;
use super::handle::Handle;
use super::phone::PhoneNumber;

/// A connection-establishment identifier (draft-kohbrok-mimi-identifiers-00 §"Identifiers for
/// connection establishment"): user-facing, often user-chosen, several per user, mutable. These
/// are what people type to find someone; a provider resolves them to an administrative
/// [`super::UserUri`] (draft-ietf-mimi-protocol-06 §5.8 `identifierQuery`, or discovery). They
/// never appear in MLS credentials.
///
/// [`ConnectionId::parse`] recognises the kind from the written form (docs/decisions/0024):
///
/// | written form | kind |
/// |---|---|
/// | `tel:...`, or starts with `+`, a digit or `(` and has no `@` | [`ConnectionId::Phone`] |
/// | `im:...`, or starts with `@` | [`ConnectionId::Handle`] |
/// | `mailto:...`, or `local@domain` | [`ConnectionId::Email`] |
/// | anything else (`alice`) | [`ConnectionId::Handle`] (unscoped) |
///
/// So `alice@a.example` is an email address; write the handle as `@alice@a.example` or
/// `im:alice@a.example`. The canonical forms ([`fmt::Display`]) parse back to the same kind.
///
/// Protocol mapping (§5.8 `SearchIdentifierType`): a scoped handle is a `handle` query with
/// value `im:nick@domain`, an unscoped one a `nick` query with value [`Handle::nick`]; a phone
/// number a `phone` query with its E.164 form; an email address an `email` query.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectionId {
    /// A handle (`im:alice@a.example`, `@alice`).
    Handle(Handle),
    /// A phone number (`+12125551212`).
    Phone(PhoneNumber),
    /// An email address (`alice@a.example`).
    Email(EmailAddress),
}

/// Which kind a written form is.
enum Guess {
    Handle,
    Phone,
    Email,
}

fn guess(s: &str) -> Guess {
    let has_prefix = |p: &str| {
        s.get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    };
    if has_prefix("tel:") {
        Guess::Phone
    } else if has_prefix("im:") || s.starts_with('@') {
        Guess::Handle
    } else if has_prefix("mailto:") || s.contains('@') {
        Guess::Email
    } else if s.starts_with(|c: char| c == '+' || c == '(' || c.is_ascii_digit()) {
        Guess::Phone
    } else {
        Guess::Handle
    }
}

impl ConnectionId {
    /// Recognise and parse a written identifier; phone numbers must be international
    /// (`+...`, `00...`, `tel:+...`).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim();
        match guess(s) {
            Guess::Handle => Handle::parse(s).map(Self::Handle),
            Guess::Phone => PhoneNumber::parse(s).map(Self::Phone),
            Guess::Email => EmailAddress::parse(s).map(Self::Email),
        }
    }

    /// As [`ConnectionId::parse`], but a phone number may be written in the national form of
    /// `region` (ISO 3166-1 alpha-2, e.g. `"GB"`).
    pub fn parse_with_region(input: &str, region: &str) -> Result<Self, IdError> {
        let s = input.trim();
        match guess(s) {
            Guess::Handle => Handle::parse(s).map(Self::Handle),
            Guess::Phone => PhoneNumber::parse_with_region(s, region).map(Self::Phone),
            Guess::Email => EmailAddress::parse(s).map(Self::Email),
        }
    }
}

impl From<Handle> for ConnectionId {
    fn from(h: Handle) -> Self {
        Self::Handle(h)
    }
}

impl From<PhoneNumber> for ConnectionId {
    fn from(p: PhoneNumber) -> Self {
        Self::Phone(p)
    }
}

impl From<EmailAddress> for ConnectionId {
    fn from(e: EmailAddress) -> Self {
        Self::Email(e)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handle(h) => h.fmt(f),
            Self::Phone(p) => p.fmt(f),
            Self::Email(e) => e.fmt(f),
        }
    }
}

impl FromStr for ConnectionId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

super::serde_as_string!(ConnectionId);

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> &'static str {
        match ConnectionId::parse(s) {
            Ok(ConnectionId::Handle(_)) => "handle",
            Ok(ConnectionId::Phone(_)) => "phone",
            Ok(ConnectionId::Email(_)) => "email",
            Err(_) => "error",
        }
    }

    #[test]
    fn recognises() {
        assert_eq!(kind("im:alice.smith@a.example"), "handle");
        assert_eq!(kind("@alice.smith@a.example"), "handle");
        assert_eq!(kind("@alice"), "handle");
        assert_eq!(kind("alice"), "handle");
        assert_eq!(kind("asmith@a.example"), "email");
        assert_eq!(kind("mailto:asmith@a.example"), "email");
        assert_eq!(kind("123@a.example"), "email");
        assert_eq!(kind("+tag@a.example"), "email");
        assert_eq!(kind("+12125551212"), "phone");
        assert_eq!(kind("+1 (212) 555-1212"), "phone");
        assert_eq!(kind("tel:+1-212-555-1212"), "phone");
        assert_eq!(kind("0044 20 7946 0958"), "phone");
        assert_eq!(kind("(212) 555-1212"), "error");
        assert_eq!(
            ConnectionId::parse_with_region("(212) 555-1212", "US")
                .unwrap()
                .to_string(),
            "+12125551212"
        );
        assert_eq!(
            ConnectionId::parse_with_region("@alice", "US")
                .unwrap()
                .to_string(),
            "@alice"
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "im:alice.smith@a.example",
            "@alice",
            "Asmith@A.example",
            "+44 20 7946 0958",
            "jürgen@bücher.example",
        ] {
            let id = ConnectionId::parse(s).unwrap();
            assert_eq!(ConnectionId::parse(&id.to_string()).unwrap(), id, "{s}");
        }
    }
}
