//! Unit tests for `mimi://` URI parsing: every example of the drafts, every rejection reason,
//! normalization.

use super::*;

fn uri(s: &str) -> MimiUri {
    match MimiUri::parse(s) {
        Ok(u) => u,
        Err(e) => panic!("{s:?} rejected: {e}"),
    }
}

fn err(s: &str) -> IdError {
    match MimiUri::parse(s) {
        Ok(u) => panic!("{s:?} accepted as {u}"),
        Err(e) => e,
    }
}

/// Every example URI of draft-ietf-mimi-protocol-06 §3, draft-mahy-mimi-identity-05 and the
/// content draft, with its kind and decoded ids.
#[test]
fn draft_examples() {
    let cases: &[(&str, UriKind, &[&str])] = &[
        // protocol-06 §3 table
        ("mimi://a.example", UriKind::Provider, &[]),
        ("mimi://a.example/u/alice", UriKind::User, &["alice"]),
        (
            "mimi://a.example/d/ClientA1",
            UriKind::Client,
            &["ClientA1"],
        ),
        (
            "mimi://a.example/r/clubhouse",
            UriKind::Room,
            &["clubhouse"],
        ),
        (
            "mimi://a.example/g/clubhouse",
            UriKind::Group,
            &["clubhouse"],
        ),
        // identity-05 table
        (
            "mimi://a.example/p/crazykoala75",
            UriKind::Pseudonym,
            &["crazykoala75"],
        ),
        (
            "mimi://a.example/d/alice/ClientA1",
            UriKind::Client,
            &["alice", "ClientA1"],
        ),
        (
            "mimi://a.example/g/TII9t5viBrXiXc",
            UriKind::Group,
            &["TII9t5viBrXiXc"],
        ),
        (
            "mimi://a.example/t/engineering",
            UriKind::Team,
            &["engineering"],
        ),
        // identity-05 prose and credential examples
        (
            "mimi://local.invalid/u/alice.smith",
            UriKind::User,
            &["alice.smith"],
        ),
        (
            "mimi://example.com/d/SvPfLlwBQi-6oddVRrkqpw/04c7",
            UriKind::Client,
            &["SvPfLlwBQi-6oddVRrkqpw", "04c7"],
        ),
        (
            "mimi://example.com/u/alice.smith",
            UriKind::User,
            &["alice.smith"],
        ),
        (
            "mimi://example.com/u/alice_smith",
            UriKind::User,
            &["alice_smith"],
        ),
        ("mimi://example.com/u/a_smith", UriKind::User, &["a_smith"]),
        // XMPP mapping
        ("mimi://example.com", UriKind::Provider, &[]),
        ("mimi://example.com/u/juliet", UriKind::User, &["juliet"]),
        (
            "mimi://example.com/d/juliet/balcony",
            UriKind::Client,
            &["juliet", "balcony"],
        ),
        // IRC mapping
        ("mimi://irc.example.com", UriKind::Provider, &[]),
        (
            "mimi://irc.example.com/u/juliet",
            UriKind::User,
            &["juliet"],
        ),
        (
            "mimi://irc.example.com/u/jcapulet1583@example.com",
            UriKind::User,
            &["jcapulet1583@example.com"],
        ),
        (
            "mimi://irc.example.com/r/local_announcements_channel",
            UriKind::Room,
            &["local_announcements_channel"],
        ),
        (
            "mimi://irc.example.com/r/projectX",
            UriKind::Room,
            &["projectX"],
        ),
        // protocol-06 §5.4 franking example and participant lists
        ("mimi://b.example/u/alice", UriKind::User, &["alice"]),
        (
            "mimi://hub.example/r/Rl33FWLCYWOwxHrYnpWDQg",
            UriKind::Room,
            &["Rl33FWLCYWOwxHrYnpWDQg"],
        ),
        ("mimi://d.example/u/diana", UriKind::User, &["diana"]),
    ];
    for (s, kind, ids) in cases {
        let u = uri(s);
        assert_eq!(u.as_str(), *s, "{s} is already normalized");
        assert_eq!(u.kind(), *kind, "{s}");
        assert_eq!(u.id_segments().collect::<Vec<_>>(), *ids, "{s}");
        assert_eq!(u.to_string(), *s);
        assert_eq!(uri(u.to_string().as_str()), u);
    }
    assert_eq!(
        uri("mimi://a.example/u/alice").domain().as_str(),
        "a.example"
    );
    assert_eq!(
        uri("mimi://a.example/d/alice/ClientA1").id(),
        Some("ClientA1")
    );
    assert_eq!(uri("mimi://a.example").id(), None);
}

#[test]
fn typed_examples() {
    let c = ClientUri::parse("mimi://example.com/d/SvPfLlwBQi-6oddVRrkqpw/04c7").unwrap();
    assert_eq!(c.user_part(), Some("SvPfLlwBQi-6oddVRrkqpw"));
    assert_eq!(c.device(), "04c7");
    let c = ClientUri::parse("mimi://a.example/d/ClientA1").unwrap();
    assert_eq!(c.user_part(), None);
    assert_eq!(
        UserUri::parse("mimi://local.invalid/u/alice.smith")
            .unwrap()
            .domain(),
        &ProviderDomain::local_invalid()
    );
    assert!(ProviderUri::parse("mimi://a.example").is_ok());
    assert!(PseudonymUri::parse("mimi://a.example/p/crazykoala75").is_ok());
    assert!(RoomUri::parse("mimi://a.example/r/clubhouse").is_ok());
    assert!(GroupUri::parse("mimi://a.example/g/TII9t5viBrXiXc").is_ok());
    assert!(TeamUri::parse("mimi://a.example/t/engineering").is_ok());
    for (s, found) in [
        ("mimi://a.example", UriKind::Provider),
        ("mimi://a.example/p/x", UriKind::Pseudonym),
        ("mimi://a.example/d/x", UriKind::Client),
    ] {
        assert_eq!(
            UserUri::parse(s),
            Err(IdError::WrongKind {
                expected: UriKind::User,
                found
            })
        );
    }
}

#[test]
fn normalization() {
    let same = [
        ("MIMI://A.Example/u/alice", "mimi://a.example/u/alice"),
        ("Mimi://a.EXAMPLE./u/alice", "mimi://a.example/u/alice"),
        (
            "mimi://bücher.example/u/x",
            "mimi://xn--bcher-kva.example/u/x",
        ),
        (
            "mimi://XN--BCHER-KVA.example/u/x",
            "mimi://xn--bcher-kva.example/u/x",
        ),
        (
            "mimi://b%C3%BCcher.example/u/x",
            "mimi://xn--bcher-kva.example/u/x",
        ),
        ("mimi://a.example/u/%41lice", "mimi://a.example/u/Alice"),
        ("mimi://a.example/u/%61lice", "mimi://a.example/u/alice"),
        ("mimi://a.example/u/a%2fb", "mimi://a.example/u/a%2Fb"),
        ("mimi://a.example/u/a%21b", "mimi://a.example/u/a!b"),
        (
            "mimi://a.example/u/j%c3%bcrgen",
            "mimi://a.example/u/j%C3%BCrgen",
        ),
        (
            "mimi://a.example/u/jürgen",
            "mimi://a.example/u/j%C3%BCrgen",
        ),
        ("mimi://a.example/%75/alice", "mimi://a.example/u/alice"),
        ("mimi://a.example/", "mimi://a.example"),
        ("mimi://a.example/u/a%20b", "mimi://a.example/u/a%20b"),
        ("mimi://a.example/u/a%25b", "mimi://a.example/u/a%25b"),
    ];
    for (input, normalized) in same {
        let u = uri(input);
        assert_eq!(u.as_str(), normalized, "{input}");
        assert_eq!(u, uri(normalized), "{input}");
        assert_eq!(uri(u.as_str()).as_str(), normalized, "idempotent: {input}");
    }
    // Ids are case-sensitive; %41 is A, not a.
    assert_ne!(
        uri("mimi://a.example/u/Alice"),
        uri("mimi://a.example/u/alice")
    );
    assert_ne!(uri("mimi://a.example/u/%41"), uri("mimi://a.example/u/a"));
    // An encoded slash is part of an id, not a separator.
    assert_ne!(
        uri("mimi://a.example/d/a%2Fb"),
        uri("mimi://a.example/d/a/b")
    );
    assert_eq!(uri("mimi://a.example/d/a%2Fb").id(), Some("a/b"));
    // Hash and order follow the normalized form.
    let set: std::collections::HashSet<MimiUri> = [
        uri("MIMI://A.Example/u/alice"),
        uri("mimi://a.example/u/alice"),
        uri("mimi://a.example/u/%61lice"),
    ]
    .into_iter()
    .collect();
    assert_eq!(set.len(), 1);
    assert!(uri("mimi://a.example/u/a") < uri("mimi://a.example/u/b"));
}

#[test]
fn rejection_reasons() {
    use IdError::*;
    let cases: Vec<(&str, IdError)> = vec![
        ("", MissingScheme),
        ("a.example/u/alice", MissingScheme),
        ("alice", MissingScheme),
        ("1mimi://a.example", MissingScheme),
        ("https://a.example/u/alice", WrongScheme("https".into())),
        ("im:alice@a.example", WrongScheme("im".into())),
        ("mimi:a.example/u/alice", MissingAuthority),
        ("mimi:/a.example/u/alice", MissingAuthority),
        ("mimi://", NoHost),
        ("mimi:///u/alice", NoHost),
        ("mimi://bob@a.example/u/alice", UserinfoNotAllowed),
        ("mimi://a.example:443/u/alice", PortNotAllowed),
        ("mimi://a.example:/u/alice", PortNotAllowed),
        ("mimi://a.example/u/alice?x=1", QueryNotAllowed),
        ("mimi://a.example?x", QueryNotAllowed),
        ("mimi://a.example/u/alice#frag", FragmentNotAllowed),
        ("mimi://a.example#frag", FragmentNotAllowed),
        ("mimi://a.example/x/alice", UnknownType("x".into())),
        ("mimi://a.example/U/alice", UnknownType("U".into())),
        ("mimi://a.example/user/alice", UnknownType("user".into())),
        ("mimi://a.example/u", MissingId(UriKind::User)),
        ("mimi://a.example/d", MissingId(UriKind::Client)),
        ("mimi://a.example/u/", EmptySegment),
        ("mimi://a.example/u/alice/", EmptySegment),
        ("mimi://a.example//u/alice", EmptySegment),
        ("mimi://a.example/d/alice//x", EmptySegment),
        ("mimi://a.example/d//x", EmptySegment),
        (
            "mimi://a.example/u/alice/x",
            TooManySegments {
                kind: UriKind::User,
                max: 1,
            },
        ),
        (
            "mimi://a.example/d/a/b/c",
            TooManySegments {
                kind: UriKind::Client,
                max: 2,
            },
        ),
        (
            "mimi://a.example/r/a/b",
            TooManySegments {
                kind: UriKind::Room,
                max: 1,
            },
        ),
        (
            "mimi://a.example/u/a%zz",
            BadPercentEncoding("\"%\" is not followed by two hex digits"),
        ),
        (
            "mimi://a.example/u/a%4",
            BadPercentEncoding("\"%\" is not followed by two hex digits"),
        ),
        (
            "mimi://a.example/u/%FF",
            BadPercentEncoding("the decoded bytes are not valid UTF-8"),
        ),
        (
            "mimi://a.example/u/a b",
            InvalidChar {
                ch: ' ',
                what: "an id segment",
            },
        ),
        (
            "mimi://a.example/u/a<b>",
            InvalidChar {
                ch: '<',
                what: "an id segment",
            },
        ),
        (
            "mimi://a.example/u/a%00",
            InvalidChar {
                ch: '\0',
                what: "an id segment",
            },
        ),
        (
            "mimi://a.example/u/a%0A",
            InvalidChar {
                ch: '\n',
                what: "an id segment",
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(MimiUri::parse(input), Err(want), "{input:?}");
    }
    for bad_host in [
        "mimi://a_b.example/u/x",
        "mimi://-a.example/u/x",
        "mimi://a..example/u/x",
        "mimi://192.0.2.1/u/x",
        "mimi://[2001:db8::1]/u/x",
        "mimi://xn--zz.example/u/x",
        "mimi://a%2Fb.example/u/x",
    ] {
        assert!(
            matches!(err(bad_host), IdError::InvalidHost { .. }),
            "{bad_host}: {:?}",
            err(bad_host)
        );
    }
}

#[test]
fn error_messages_say_why() {
    assert_eq!(
        err("https://a.example").to_string(),
        "wrong scheme \"https\": expected \"mimi\""
    );
    assert_eq!(
        err("mimi://a.example/x/y").to_string(),
        "unknown type segment \"x\" (expected u, p, d, r, g or t)"
    );
    assert_eq!(
        err("mimi://a.example/u/a/b").to_string(),
        "too many segments: a user URI has at most 1 id segment(s)"
    );
    assert_eq!(
        err("mimi://a.example/u/a%0Ab").to_string(),
        "character '\\n' is not allowed in an id segment"
    );
    let long = format!("mimi://a.example/u/{}", "a".repeat(256));
    assert_eq!(
        err(&long).to_string(),
        "id segment is 256 bytes, over the limit of 255"
    );
    assert!(
        err("mimi://a_b.example")
            .to_string()
            .starts_with("invalid host \"a_b.example\"")
    );
}

#[test]
fn limits() {
    let seg = "a".repeat(MAX_SEGMENT_LEN);
    assert!(MimiUri::parse(&format!("mimi://a.example/u/{seg}")).is_ok());
    // The segment limit counts decoded bytes: 255 two-byte characters are too long.
    let wide = "é".repeat(128);
    assert!(matches!(
        err(&format!("mimi://a.example/u/{wide}")),
        IdError::TooLong {
            what: "id segment",
            len: 256,
            limit: 255
        }
    ));
    // A client URI with two max-length percent-encoded segments exceeds the URI limit.
    let enc = "é".repeat(127); // 254 bytes decoded, 762 encoded
    let e = err(&format!("mimi://a.example/d/{enc}/{enc}"));
    assert!(
        matches!(
            e,
            IdError::TooLong {
                what: "URI",
                limit: 1024,
                ..
            }
        ),
        "{e:?}"
    );
    // Exactly 1024 bytes (normalized) is fine: 20 fixed + 762 + 242.
    let first = "é".repeat(127);
    let exact = format!("mimi://a.example/d/{first}/{}", "a".repeat(242));
    assert_eq!(uri(&exact).as_str().len(), 1024);
    let over = format!("mimi://a.example/d/{first}/{}", "a".repeat(243));
    assert!(matches!(
        err(&over),
        IdError::TooLong {
            what: "URI",
            len: 1025,
            ..
        }
    ));
    // Huge input is refused before any work.
    let huge = format!("mimi://a.example/u/{}", "a".repeat(10_000));
    assert!(matches!(err(&huge), IdError::TooLong { what: "URI", .. }));
}

#[test]
fn from_parts() {
    let d = ProviderDomain::parse("a.example").unwrap();
    let u = MimiUri::from_parts(d.clone(), UriKind::Room, &["club house"]).unwrap();
    assert_eq!(u.as_str(), "mimi://a.example/r/club%20house");
    assert_eq!(
        MimiUri::from_parts(d.clone(), UriKind::Room, &[]),
        Err(IdError::MissingId(UriKind::Room))
    );
    assert_eq!(
        MimiUri::from_parts(d.clone(), UriKind::Provider, &["x"]),
        Err(IdError::TooManySegments {
            kind: UriKind::Provider,
            max: 0
        })
    );
    assert_eq!(
        MimiUri::from_parts(d.clone(), UriKind::User, &["a\u{7f}"]),
        Err(IdError::InvalidChar {
            ch: '\u{7f}',
            what: "an id segment"
        })
    );
    assert_eq!(
        MimiUri::from_parts(d, UriKind::Provider, &[])
            .unwrap()
            .as_str(),
        "mimi://a.example"
    );
}

#[test]
fn serde_as_strings() {
    let u = UserUri::parse("MIMI://A.example/u/alice").unwrap();
    let json = serde_json::to_string(&u).unwrap();
    assert_eq!(json, "\"mimi://a.example/u/alice\"");
    assert_eq!(serde_json::from_str::<UserUri>(&json).unwrap(), u);
    let e = serde_json::from_str::<UserUri>("\"mimi://a.example/r/x\"").unwrap_err();
    assert!(
        e.to_string()
            .contains("expected a user URI, got a room URI"),
        "{e}"
    );
    let m: MimiUri = serde_json::from_str("\"mimi://a.example/r/x\"").unwrap();
    assert_eq!(m.kind(), UriKind::Room);
    let d: ProviderDomain = serde_json::from_str("\"Bücher.example\"").unwrap();
    assert_eq!(
        serde_json::to_string(&d).unwrap(),
        "\"xn--bcher-kva.example\""
    );
    let p: PhoneNumber = serde_json::from_str("\"+1 212 555 1212\"").unwrap();
    assert_eq!(serde_json::to_string(&p).unwrap(), "\"+12125551212\"");
    let c: ConnectionId = serde_json::from_str("\"@alice@a.example\"").unwrap();
    assert_eq!(serde_json::to_string(&c).unwrap(), "\"im:alice@a.example\"");
    assert!(serde_json::from_str::<DisplayName>("\"a\\nb\"").is_err());
}

#[test]
fn kinds_and_providers() {
    for kind in UriKind::ALL {
        match kind.type_segment() {
            Some(t) => assert_eq!(UriKind::from_type_segment(t), Some(kind)),
            None => assert_eq!(kind, UriKind::Provider),
        }
        assert!(kind.min_id_segments() <= kind.max_id_segments());
    }
    assert_eq!(UriKind::Group.to_string(), "MLS group");
    let room = uri("mimi://a.example/r/clubhouse");
    assert_eq!(room.provider_uri(), uri("mimi://a.example"));
    assert!(room.is_in_domain(&ProviderDomain::parse("A.EXAMPLE").unwrap()));
    assert!(!room.is_in_domain(&ProviderDomain::parse("b.example").unwrap()));
    let p: MimiUri = ProviderDomain::parse("a.example").unwrap().into();
    assert_eq!(p.kind(), UriKind::Provider);
    assert_eq!(format!("{room:?}"), "MimiUri(mimi://a.example/r/clubhouse)");
    let typed = RoomUri::parse("mimi://a.example/r/clubhouse").unwrap();
    assert_eq!(
        format!("{typed:?}"),
        "RoomUri(mimi://a.example/r/clubhouse)"
    );
}
