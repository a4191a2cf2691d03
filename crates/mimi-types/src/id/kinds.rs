//! The kinds of MIMI URI and their type segments.

use std::fmt;

/// What a MIMI URI names. The first path segment discriminates the kind
/// (draft-mahy-mimi-identity-05 §"Representation of identifiers using URIs", table "types of
/// MIMI URI identifiers"; draft-ietf-mimi-protocol-06 §3 uses `u`, `d`, `r` and `g`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UriKind {
    /// `mimi://a.example`: a provider (no path).
    Provider,
    /// `mimi://a.example/u/alice`: a user.
    User,
    /// `mimi://a.example/p/crazykoala75`: a pseudonym (a user identifier that conceals its
    /// user). Local policy may also write pseudonyms as `u` URIs.
    Pseudonym,
    /// `mimi://a.example/d/ClientA1` or `mimi://a.example/d/alice/ClientA1`: a client (device).
    Client,
    /// `mimi://a.example/r/clubhouse`: a room.
    Room,
    /// `mimi://a.example/g/TII9t5viBrXiXc`: an MLS group.
    Group,
    /// `mimi://a.example/t/engineering`: a team (workspace, tenant).
    Team,
}

impl UriKind {
    /// Every kind, in declaration order.
    pub const ALL: [UriKind; 7] = [
        UriKind::Provider,
        UriKind::User,
        UriKind::Pseudonym,
        UriKind::Client,
        UriKind::Room,
        UriKind::Group,
        UriKind::Team,
    ];

    /// The type segment (`"u"`, `"d"`, ...), or `None` for a provider.
    pub const fn type_segment(self) -> Option<&'static str> {
        match self {
            UriKind::Provider => None,
            UriKind::User => Some("u"),
            UriKind::Pseudonym => Some("p"),
            UriKind::Client => Some("d"),
            UriKind::Room => Some("r"),
            UriKind::Group => Some("g"),
            UriKind::Team => Some("t"),
        }
    }

    /// The kind named by a (decoded) type segment. Type segments are case-sensitive: `U` is not
    /// `u` (docs/decisions/0020).
    pub fn from_type_segment(segment: &str) -> Option<UriKind> {
        match segment {
            "u" => Some(UriKind::User),
            "p" => Some(UriKind::Pseudonym),
            "d" => Some(UriKind::Client),
            "r" => Some(UriKind::Room),
            "g" => Some(UriKind::Group),
            "t" => Some(UriKind::Team),
            _ => None,
        }
    }

    /// How many id segments follow the type segment at least.
    pub const fn min_id_segments(self) -> usize {
        match self {
            UriKind::Provider => 0,
            _ => 1,
        }
    }

    /// How many id segments follow the type segment at most: two for a client
    /// (`/d/alice/ClientA1`, draft-mahy-mimi-identity-05), none for a provider, one otherwise.
    pub const fn max_id_segments(self) -> usize {
        match self {
            UriKind::Provider => 0,
            UriKind::Client => 2,
            _ => 1,
        }
    }

    /// A lowercase English name for messages ("user", "MLS group", ...).
    pub const fn name(self) -> &'static str {
        match self {
            UriKind::Provider => "provider",
            UriKind::User => "user",
            UriKind::Pseudonym => "pseudonym",
            UriKind::Client => "client",
            UriKind::Room => "room",
            UriKind::Group => "MLS group",
            UriKind::Team => "team",
        }
    }
}

impl fmt::Display for UriKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
