//! Property tests for identifiers: normalization is idempotent, parse(display(x)) == x, and no
//! input makes a parser panic.

use std::fmt::Display;
use std::str::FromStr;

use mimi_types::id::{
    ClientUri, ConnectionId, DisplayName, EmailAddress, GroupUri, Handle, IdError, MimiUri,
    PhoneNumber, ProviderDomain, ProviderUri, PseudonymUri, RoomUri, TeamUri, UriKind, UserUri,
};
use proptest::prelude::*;

/// If `s` parses, its display form parses to an equal value whose display form is the same.
fn idempotent<T>(s: &str) -> Option<T>
where
    T: FromStr<Err = IdError> + Display + PartialEq + std::fmt::Debug,
{
    let value = T::from_str(s).ok()?;
    let shown = value.to_string();
    let again = T::from_str(&shown).unwrap_or_else(|e| panic!("{s:?} -> {shown:?} -> {e}"));
    assert_eq!(again, value, "{s:?} -> {shown:?}");
    assert_eq!(again.to_string(), shown);
    Some(value)
}

/// Every parser on one input.
fn check_everything(s: &str) {
    if let Some(uri) = idempotent::<MimiUri>(s) {
        let path = uri.to_url_path();
        assert_eq!(MimiUri::from_url_path(&path).as_ref(), Ok(&uri), "{path}");
        assert!(uri.as_str().is_ascii());
        assert!(uri.as_str().len() <= mimi_types::id::MAX_URI_LEN);
    }
    idempotent::<ProviderUri>(s);
    idempotent::<UserUri>(s);
    idempotent::<PseudonymUri>(s);
    idempotent::<ClientUri>(s);
    idempotent::<RoomUri>(s);
    idempotent::<GroupUri>(s);
    idempotent::<TeamUri>(s);
    idempotent::<ProviderDomain>(s);
    idempotent::<Handle>(s);
    idempotent::<PhoneNumber>(s);
    idempotent::<EmailAddress>(s);
    idempotent::<ConnectionId>(s);
    idempotent::<DisplayName>(s);
    if let Ok(uri) = MimiUri::from_url_path(s) {
        assert_eq!(MimiUri::parse(uri.as_str()).as_ref(), Ok(&uri));
    }
    if let Ok(room) = RoomUri::from_url_path(s) {
        assert_eq!(
            RoomUri::from_url_path(&room.to_url_path()).as_ref(),
            Ok(&room)
        );
    }
    if let Ok(p) = PhoneNumber::parse_with_region(s, "GB") {
        assert_eq!(PhoneNumber::parse(p.as_str()).as_ref(), Ok(&p));
    }
}

fn label() -> impl Strategy<Value = String> {
    // UTS #46 CheckHyphens: "--" in the third and fourth positions marks an A-label
    // (`xn--...`), which must then be valid Punycode; plain labels never have it.
    "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
        .prop_filter("no hyphens in positions 3-4", |l| l.get(2..4) != Some("--"))
}

fn domain() -> impl Strategy<Value = ProviderDomain> {
    (
        prop::collection::vec(label(), 0..3),
        "[a-z]{2,6}",
        any::<bool>(),
    )
        .prop_map(|(mut labels, tld, idn)| {
            if idn {
                labels.push("bücher".to_owned());
            }
            labels.push(tld);
            ProviderDomain::parse(&labels.join(".")).expect("generated domain is valid")
        })
}

fn kind() -> impl Strategy<Value = UriKind> {
    prop::sample::select(UriKind::ALL.to_vec())
}

/// Decoded ids: any characters but controls, including `/`, `%`, `?`, `#` and non-ASCII.
fn id() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,24}"
}

fn valid_uri() -> impl Strategy<Value = MimiUri> {
    (domain(), kind(), id(), id(), any::<bool>()).prop_map(|(d, k, a, b, two)| {
        let ids: Vec<&str> = match k {
            UriKind::Provider => vec![],
            UriKind::Client if two => vec![a.as_str(), b.as_str()],
            _ => vec![a.as_str()],
        };
        MimiUri::from_parts(d, k, &ids).expect("generated parts are valid")
    })
}

/// Spell a normalized URI differently: upper-case scheme and host, percent-encode some
/// literal id characters (lower-case hex), write the host in Unicode.
fn respell(uri: &MimiUri, upper: bool, encode_mask: u64, unicode_host: bool) -> String {
    let mut out = String::from(if upper { "MIMI://" } else { "mimi://" });
    let host = if unicode_host {
        uri.domain().to_unicode()
    } else {
        uri.domain().as_str().to_owned()
    };
    out.push_str(&if upper { host.to_uppercase() } else { host });
    if let Some(t) = uri.kind().type_segment() {
        out.push('/');
        out.push_str(t);
    }
    let path = uri.to_url_path();
    let ids = path.splitn(3, '/').nth(2).unwrap_or_default();
    if !ids.is_empty() {
        out.push('/');
        let mut triplet = 0;
        for (i, c) in ids.chars().enumerate() {
            if c == '%' {
                triplet = 2;
                out.push(c);
            } else if triplet > 0 {
                triplet -= 1;
                out.push(c);
            } else if c.is_ascii_alphanumeric() && encode_mask >> (i % 64) & 1 == 1 {
                out.push_str(&format!("%{:02x}", c as u32));
            } else {
                out.push(c);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_display_round_trip(uri in valid_uri()) {
        let again = MimiUri::parse(uri.as_str()).expect("normalized form parses");
        prop_assert_eq!(&again, &uri);
        prop_assert_eq!(again.as_str(), uri.as_str());
        prop_assert_eq!(again.kind(), uri.kind());
        prop_assert_eq!(
            again.id_segments().collect::<Vec<_>>(),
            uri.id_segments().collect::<Vec<_>>()
        );
        prop_assert_eq!(MimiUri::from_url_path(&uri.to_url_path()).expect("path form"), uri.clone());
        let encoded: String = uri
            .as_str()
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        prop_assert_eq!(MimiUri::from_url_path(&encoded).expect("whole-URI encoded form"), uri);
    }

    #[test]
    fn respelled_uris_normalize_to_the_same(
        uri in valid_uri(),
        upper in any::<bool>(),
        mask in any::<u64>(),
        unicode_host in any::<bool>(),
    ) {
        let spelled = respell(&uri, upper, mask, unicode_host);
        let parsed = MimiUri::parse(&spelled);
        prop_assert_eq!(parsed, Ok(uri), "{}", spelled);
    }

    #[test]
    fn constructors_keep_ids(d in domain(), a in id(), b in id()) {
        let u = UserUri::new(d.clone(), &a).expect("valid");
        prop_assert_eq!(u.id(), a.as_str());
        prop_assert_eq!(UserUri::parse(u.as_str()).expect("parses"), u);
        let c = ClientUri::new(d.clone(), Some(&a), &b).expect("valid");
        prop_assert_eq!(c.user_part(), Some(a.as_str()));
        prop_assert_eq!(c.device(), b.as_str());
        prop_assert_eq!(ClientUri::parse(c.as_str()).expect("parses"), c);
        let r = RoomUri::new(d, &a).expect("valid");
        prop_assert_eq!(RoomUri::from_url_path(&r.to_url_path()).expect("path"), r);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check_everything(&s);
    }

    #[test]
    fn uri_like_strings_never_panic(
        s in "(mimi|MIMI|https|)(:|://|:/)[a-zA-Z0-9ü.%/:@?#_~!$&'()*+,;= -]{0,40}",
    ) {
        check_everything(&s);
    }

    #[test]
    fn identifier_like_strings_never_panic(
        s in "(tel:|mailto:|im:|@|\\+|00|)[a-zA-Z0-9@.+() /-]{0,24}",
    ) {
        check_everything(&s);
    }

    #[test]
    fn phone_numbers_are_idempotent(digits in "[1-9][0-9]{5,14}", sep in "[ .-]?") {
        let written = format!("+{}{sep}{}", &digits[..2], &digits[2..]);
        if let Ok(p) = PhoneNumber::parse(&written) {
            prop_assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p.clone()));
            prop_assert!(p.as_str().starts_with('+'));
            prop_assert_eq!(ConnectionId::parse(p.as_str()), Ok(ConnectionId::Phone(p)));
        }
    }
}

#[test]
fn known_inputs_never_panic() {
    for s in [
        "",
        "mimi://",
        "mimi:",
        "mimi://%",
        "mimi://%C3",
        "mimi://a.example/%",
        "mimi://a.example/u/%%",
        "mimi://\u{3002}/u/x",
        "mimi://a\u{3002}/u/x",
        "mimi://xn--/u/x",
        "mimi://xn--a/u/x",
        "  2 22#:",
        "003-836-4618x3001",
        "+",
        "tel:",
        "mailto:",
        "im:",
        "@",
        "@@",
        "mimi%3A",
        "mimi%3A%2F%2F",
        "%2F",
        "/",
        "//",
    ] {
        check_everything(s);
    }
}

#[test]
fn identity_draft_certificate_uris() {
    // draft-mahy-mimi-identity-05, X.509 example: both URIs in subjectAltName.
    let client = ClientUri::parse("mimi://example.com/d/SvPfLlwBQi-6oddVRrkqpw/04c7").unwrap();
    let user = UserUri::parse("mimi://example.com/u/alice.smith").unwrap();
    assert_eq!(client.domain(), user.domain());
    // The client's first segment is not the user's id.
    assert_ne!(client.user_part(), Some(user.id()));
}
