//! One newtype per kind of MIMI URI: what the rest of the code passes around.
//!
//! Each wraps a [`MimiUri`] of one [`UriKind`]; converting a `MimiUri` of another kind fails
//! with [`IdError::WrongKind`].

use std::fmt;
use std::str::FromStr;

use super::admin::format_uuid;
use super::domain::ProviderDomain;
use super::error::IdError;
use super::kinds::UriKind;
use super::path;
use super::uri::MimiUri;

macro_rules! typed_uri {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(MimiUri);

        impl $name {
            /// The kind every value of this type has.
            pub const KIND: UriKind = $kind;

            /// Parse and normalize a MIMI URI, which must be of this type's kind.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                Self::try_from(MimiUri::parse(input)?)
            }

            /// The normalized form.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The provider domain.
            pub fn domain(&self) -> &ProviderDomain {
                self.0.domain()
            }

            /// The untyped URI.
            pub fn as_uri(&self) -> &MimiUri {
                &self.0
            }

            /// The untyped URI, by value.
            pub fn into_uri(self) -> MimiUri {
                self.0
            }

            /// The URI of this URI's provider.
            pub fn provider(&self) -> ProviderUri {
                ProviderUri(self.0.provider_uri())
            }

            /// The URL path form, e.g. `a.example/r/clubhouse` (see [`MimiUri::to_url_path`]).
            pub fn to_url_path(&self) -> String {
                self.0.to_url_path()
            }

            /// Parse the URL path form (see [`MimiUri::from_url_path`]); the URI must be of this
            /// type's kind.
            pub fn from_url_path(input: &str) -> Result<Self, IdError> {
                Self::try_from(path::from_url_path_as(input, $kind)?)
            }
        }

        impl TryFrom<MimiUri> for $name {
            type Error = IdError;

            fn try_from(uri: MimiUri) -> Result<Self, Self::Error> {
                if uri.kind() == $kind {
                    Ok(Self(uri))
                } else {
                    Err(IdError::WrongKind {
                        expected: $kind,
                        found: uri.kind(),
                    })
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl From<$name> for MimiUri {
            fn from(typed: $name) -> Self {
                typed.0
            }
        }

        impl AsRef<MimiUri> for $name {
            fn as_ref(&self) -> &MimiUri {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.0.as_str()
            }
        }

        impl PartialEq<MimiUri> for $name {
            fn eq(&self, other: &MimiUri) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for MimiUri {
            fn eq(&self, other: &$name) -> bool {
                self == &other.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.as_str())
            }
        }

        super::serde_as_string!($name);
    };
}

/// Methods shared by the kinds whose URIs carry exactly one id.
macro_rules! single_id {
    ($name:ident, $kind:expr) => {
        impl $name {
            /// Build the URI from a domain and a (decoded) id; the id is percent-encoded as
            /// needed.
            pub fn new(domain: ProviderDomain, id: &str) -> Result<Self, IdError> {
                MimiUri::from_parts(domain, $kind, &[id]).map(Self)
            }

            /// A URI whose id is the canonical lowercase hyphenated UUID of `uuid`, as an
            /// administrative identifier (see [`UserUri::from_uuid`]). The caller supplies the
            /// bytes (e.g. [`super::uuid_v4_bytes`] of 16 random bytes).
            pub fn from_uuid(domain: ProviderDomain, uuid: [u8; 16]) -> Self {
                Self(MimiUri::with_ascii_ids(domain, $kind, &[format_uuid(uuid)]))
            }

            /// The id, percent-decoded (`alice` in `mimi://a.example/u/alice`).
            pub fn id(&self) -> &str {
                self.0.id().unwrap_or_default()
            }
        }
    };
}

typed_uri!(
    /// A provider: `mimi://a.example` (draft-ietf-mimi-protocol-06 §3).
    ProviderUri,
    UriKind::Provider
);

impl ProviderUri {
    /// The provider URI of `domain`.
    pub fn new(domain: ProviderDomain) -> Self {
        Self(MimiUri::from(domain))
    }
}

impl From<ProviderDomain> for ProviderUri {
    fn from(domain: ProviderDomain) -> Self {
        Self::new(domain)
    }
}

typed_uri!(
    /// A user: `mimi://a.example/u/alice` (draft-ietf-mimi-protocol-06 §3).
    ///
    /// The id is an *administrative identifier* (draft-kohbrok-mimi-identifiers-00): unique
    /// within the provider, immutable, possibly provider-generated and unreadable (a UUID), and
    /// what MLS credentials and participant lists carry. It is not a handle, phone number or
    /// email address; those *connection-establishment identifiers* are user-facing, mutable,
    /// several per user, and map to a user URI only through a lookup (`identifierQuery`,
    /// discovery). See [`super::ConnectionId`].
    UserUri,
    UriKind::User
);
single_id!(UserUri, UriKind::User);

typed_uri!(
    /// A pseudonym: `mimi://a.example/p/crazykoala75` (draft-mahy-mimi-identity-05). In minimal
    /// metadata rooms pseudonyms are "random UUIDs qualified with the domain of the user's
    /// provider" (draft-ietf-mimi-protocol-06 §6): [`PseudonymUri::from_uuid`]. Local policy may
    /// instead write a pseudonym as a [`UserUri`].
    PseudonymUri,
    UriKind::Pseudonym
);
single_id!(PseudonymUri, UriKind::Pseudonym);

typed_uri!(
    /// A room: `mimi://a.example/r/clubhouse` (draft-ietf-mimi-protocol-06 §3). The domain is
    /// the hub's.
    RoomUri,
    UriKind::Room
);
single_id!(RoomUri, UriKind::Room);

typed_uri!(
    /// An MLS group: `mimi://a.example/g/clubhouse` (draft-ietf-mimi-protocol-06 §3 uses the
    /// URI as the MLS `group_id`).
    GroupUri,
    UriKind::Group
);
single_id!(GroupUri, UriKind::Group);

typed_uri!(
    /// A team (workspace, tenant): `mimi://a.example/t/engineering`
    /// (draft-mahy-mimi-identity-05).
    TeamUri,
    UriKind::Team
);
single_id!(TeamUri, UriKind::Team);

typed_uri!(
    /// A client (device): `mimi://a.example/d/ClientA1` or `mimi://a.example/d/alice/ClientA1`
    /// (draft-mahy-mimi-identity-05; `mimi://example.com/d/SvPfLlwBQi-6oddVRrkqpw/04c7` in its
    /// credential examples, `mimi://example.com/d/juliet/balcony` for an XMPP full JID).
    ///
    /// The optional first segment ([`ClientUri::user_part`]) is the provider's own scoping of
    /// the device id. It need not be the id of the client's user URI (the draft's certificate
    /// pairs `d/SvPfLlwBQi-6oddVRrkqpw/04c7` with `u/alice.smith`), so it is never used to
    /// infer which user a client belongs to: the credential says that.
    ClientUri,
    UriKind::Client
);

impl ClientUri {
    /// Build a client URI: `mimi://<domain>/d/<device>` or, with a user part,
    /// `mimi://<domain>/d/<user>/<device>`. Both ids are decoded strings.
    pub fn new(domain: ProviderDomain, user: Option<&str>, device: &str) -> Result<Self, IdError> {
        let uri = match user {
            Some(user) => MimiUri::from_parts(domain, UriKind::Client, &[user, device])?,
            None => MimiUri::from_parts(domain, UriKind::Client, &[device])?,
        };
        Ok(Self(uri))
    }

    /// A client URI whose device id is the canonical UUID of `uuid`, with an optional user part
    /// (an administrative identifier; see [`UserUri::from_uuid`]).
    pub fn from_uuid(
        domain: ProviderDomain,
        user: Option<&str>,
        uuid: [u8; 16],
    ) -> Result<Self, IdError> {
        Self::new(domain, user, &format_uuid(uuid))
    }

    /// The first of two id segments (`alice` in `mimi://a.example/d/alice/ClientA1`), decoded;
    /// `None` for the one-segment form.
    pub fn user_part(&self) -> Option<&str> {
        let mut ids = self.0.id_segments();
        if ids.len() == 2 { ids.next() } else { None }
    }

    /// The device id (the last segment), decoded: `ClientA1` in both
    /// `mimi://a.example/d/ClientA1` and `mimi://a.example/d/alice/ClientA1`.
    pub fn device(&self) -> &str {
        self.0.id().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(s: &str) -> ProviderDomain {
        ProviderDomain::parse(s).unwrap()
    }

    #[test]
    fn typed_parse_and_wrong_kind() {
        let u = UserUri::parse("mimi://a.example/u/alice").unwrap();
        assert_eq!(u.id(), "alice");
        assert_eq!(u.domain().as_str(), "a.example");
        assert_eq!(u.provider().as_str(), "mimi://a.example");
        assert_eq!(
            UserUri::parse("mimi://a.example/r/clubhouse"),
            Err(IdError::WrongKind {
                expected: UriKind::User,
                found: UriKind::Room
            })
        );
        let e = RoomUri::parse("mimi://a.example/u/alice").unwrap_err();
        assert_eq!(
            e.to_string(),
            "wrong kind of URI: expected a room URI, got a user URI"
        );
        let m: MimiUri = u.clone().into();
        assert_eq!(UserUri::try_from(m.clone()).unwrap(), u);
        assert_eq!(u, m);
    }

    #[test]
    fn constructors_encode() {
        let u = UserUri::new(domain("a.example"), "a/b c").unwrap();
        assert_eq!(u.as_str(), "mimi://a.example/u/a%2Fb%20c");
        assert_eq!(u.id(), "a/b c");
        assert_eq!(UserUri::parse(u.as_str()).unwrap(), u);
        assert_eq!(
            UserUri::new(domain("a.example"), ""),
            Err(IdError::EmptySegment)
        );
        let c = ClientUri::new(domain("example.com"), Some("juliet"), "balcony").unwrap();
        assert_eq!(c.as_str(), "mimi://example.com/d/juliet/balcony");
        assert_eq!(c.user_part(), Some("juliet"));
        assert_eq!(c.device(), "balcony");
        let c = ClientUri::new(domain("a.example"), None, "ClientA1").unwrap();
        assert_eq!(c.as_str(), "mimi://a.example/d/ClientA1");
        assert_eq!(c.user_part(), None);
        assert_eq!(c.device(), "ClientA1");
        let p = ProviderUri::new(domain("A.example"));
        assert_eq!(p.as_str(), "mimi://a.example");
    }

    #[test]
    fn from_uuid_is_canonical() {
        let u = UserUri::from_uuid(domain("a.example"), [0xab; 16]);
        assert_eq!(
            u.as_str(),
            "mimi://a.example/u/abababab-abab-abab-abab-abababababab"
        );
        assert_eq!(UserUri::parse(u.as_str()).unwrap(), u);
        let p = PseudonymUri::from_uuid(domain("b.example"), [0; 16]);
        assert_eq!(
            p.as_str(),
            "mimi://b.example/p/00000000-0000-0000-0000-000000000000"
        );
        let c = ClientUri::from_uuid(domain("a.example"), Some("alice"), [1; 16]).unwrap();
        assert_eq!(
            c.as_str(),
            "mimi://a.example/d/alice/01010101-0101-0101-0101-010101010101"
        );
    }
}
