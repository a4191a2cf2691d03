//! The URL path form of a MIMI URI, for HTTP paths such as `POST /update/{roomId}`.
//!
//! draft-ietf-mimi-protocol-06 §5.2 says only that the path "includes the target user URI (with
//! any necessary percent-encoding)"; its flows write `POST /update/a.example/r/clubhouse`, its
//! directory template is `.../update{roomId}` (no `/`), and two flows drop the type segment
//! (`/groupInfo/a.example/clubhouse`). docs/decisions/0027 records what we send and accept.

use super::error::IdError;
use super::kinds::UriKind;
use super::percent;
use super::uri::{MAX_URI_LEN, MimiUri, PREFIX};

/// Longest URL path form accepted, in bytes (a whole URI percent-encoded into one segment is at
/// most three times longer than the URI).
const MAX_PATH_INPUT_LEN: usize = 3 * MAX_URI_LEN;

impl MimiUri {
    /// The URL path form: the normalized URI without `mimi://`, e.g. `a.example/r/clubhouse`, or
    /// `a.example` for a provider. Ids are already percent-encoded so that no id contains an
    /// unescaped `/`, `?`, `#` or `%`; the result is safe to put after `/update/`.
    pub fn to_url_path(&self) -> String {
        self.as_str()
            .strip_prefix(PREFIX)
            .unwrap_or(self.as_str())
            .to_owned()
    }

    /// Parse a URI from the raw (not yet percent-decoded) URL path segment(s) that carry it.
    ///
    /// Accepted forms, all giving the same value:
    /// * the path form `a.example/r/clubhouse` (what [`MimiUri::to_url_path`] writes);
    /// * the whole URI percent-encoded into one segment:
    ///   `mimi%3A%2F%2Fa.example%2Fr%2Fclubhouse`, or `a.example%2Fr%2Fclubhouse`;
    /// * the URI itself, `mimi://a.example/r/clubhouse`;
    /// * any of these after one leading `/` (a template such as `update{roomId}` glued to the
    ///   path).
    ///
    /// Give this the path as received: an HTTP framework that decodes `%2F` into `/` first
    /// changes which id is meant.
    pub fn from_url_path(input: &str) -> Result<MimiUri, IdError> {
        from_url_path_as(input, None)
    }
}

/// [`MimiUri::from_url_path`], with the kind the caller expects. For rooms, the protocol's
/// type-less `a.example/clubhouse` (draft-ietf-mimi-protocol-06 §3 flows) is read as
/// `mimi://a.example/r/clubhouse`.
pub(crate) fn from_url_path_as(
    input: &str,
    expected: impl Into<Option<UriKind>>,
) -> Result<MimiUri, IdError> {
    if input.len() > MAX_PATH_INPUT_LEN {
        return Err(IdError::TooLong {
            what: "URL path",
            len: input.len(),
            limit: MAX_PATH_INPUT_LEN,
        });
    }
    let path = input.strip_prefix('/').unwrap_or(input);
    if starts_with_ignore_case(path, "mimi%3a") {
        return MimiUri::parse(&percent::decode_all(path)?);
    }
    if starts_with_ignore_case(path, "mimi:") {
        return MimiUri::parse(path);
    }
    if !path.contains('/') && (path.contains("%2F") || path.contains("%2f")) {
        let decoded = percent::decode_all(path)?;
        return MimiUri::parse(&format!("{PREFIX}{decoded}"));
    }
    let result = MimiUri::parse(&format!("{PREFIX}{path}"));
    if let Err(IdError::UnknownType(_)) = &result
        && expected.into() == Some(UriKind::Room)
        && let Some((domain, id)) = path.split_once('/')
        && !id.contains('/')
    {
        // `a.example/clubhouse`: exactly a domain and one id.
        return MimiUri::parse(&format!("{PREFIX}{domain}/r/{id}"));
    }
    result
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{RoomUri, UserUri};

    #[test]
    fn round_trips() {
        for s in [
            "mimi://a.example",
            "mimi://a.example/r/clubhouse",
            "mimi://a.example/u/a%2Fb%3F%23%25",
            "mimi://example.com/d/juliet/balcony",
        ] {
            let uri = MimiUri::parse(s).unwrap();
            let path = uri.to_url_path();
            assert!(!path.contains(['?', '#']));
            assert_eq!(MimiUri::from_url_path(&path).unwrap(), uri, "{path}");
        }
        assert_eq!(
            MimiUri::parse("mimi://a.example/r/clubhouse")
                .unwrap()
                .to_url_path(),
            "a.example/r/clubhouse"
        );
    }

    #[test]
    fn accepts_every_form() {
        let want = RoomUri::parse("mimi://a.example/r/clubhouse").unwrap();
        for form in [
            "a.example/r/clubhouse",
            "/a.example/r/clubhouse",
            "mimi%3A%2F%2Fa.example%2Fr%2Fclubhouse",
            "MIMI%3a%2f%2fa.example%2fr%2fclubhouse",
            "/mimi%3A%2F%2Fa.example%2Fr%2Fclubhouse",
            "a.example%2Fr%2Fclubhouse",
            "mimi://a.example/r/clubhouse",
            "A.EXAMPLE/r/clubhouse",
            "a.example/clubhouse",
        ] {
            assert_eq!(RoomUri::from_url_path(form).unwrap(), want, "{form}");
        }
        // The type-less form is a room-only tolerance.
        assert!(MimiUri::from_url_path("a.example/clubhouse").is_err());
        assert!(UserUri::from_url_path("a.example/alice").is_err());
        assert_eq!(
            UserUri::from_url_path("a.example/r/clubhouse"),
            Err(IdError::WrongKind {
                expected: UriKind::User,
                found: UriKind::Room
            })
        );
        // An encoded slash inside a whole-URI segment stays one id.
        let u = UserUri::from_url_path("mimi%3A%2F%2Fa.example%2Fu%2Fa%252Fb").unwrap();
        assert_eq!(u.id(), "a/b");
    }

    #[test]
    fn rejects() {
        assert_eq!(
            MimiUri::from_url_path("a.example/r/clubhouse?x=1"),
            Err(IdError::QueryNotAllowed)
        );
        assert_eq!(
            MimiUri::from_url_path("mimi%3A%2F%2Fa.example%2Fr%2F%ZZ"),
            Err(IdError::BadPercentEncoding(
                "\"%\" is not followed by two hex digits"
            ))
        );
        assert_eq!(MimiUri::from_url_path(""), Err(IdError::NoHost));
        assert!(RoomUri::from_url_path("a.example/u/alice/x").is_err());
    }
}
