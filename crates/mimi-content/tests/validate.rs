//! Semantic validation ("log and discard" rules) and structural checks of built messages.

mod common;

use mimi_content::validate::{EARLIEST_TIMESTAMP_MS, YEAR_MS};
use mimi_content::{
    Disposition, Error, Expiration, MessageBuilder, MessageId, MimiContent, NestedPart,
    PartSemantics, ValidationContext, check_structure, decode, validate,
};

const NOW_MS: u64 = 1_700_000_000_000;
const NOW_S: u32 = 1_700_000_000;

fn text(t: &str) -> NestedPart {
    NestedPart::single(Disposition::Render, "text/plain", t)
}

fn base() -> MessageBuilder {
    MessageBuilder::new([9; 16])
        .sender_uri("mimi://a.example/u/alice")
        .room_uri("mimi://a.example/r/room")
        .body(text("hi"))
}

#[test]
fn draft_examples_validate_at_their_timestamps() {
    // Hub timestamps from the examples' EDN comments.
    let cases = [
        ("original", 1_644_387_225_019),
        ("reply", 1_644_387_237_492),
        ("reaction", 1_644_387_237_728),
        ("edit", 1_644_387_248_621),
        ("delete", 1_644_387_248_621),
        ("unlike", 1_644_387_250_389),
        ("expiring", 1_644_389_403_227),
    ];
    for (name, ts) in cases {
        let v = common::vector("content-08", name);
        let m = decode(&v.bytes).expect("decodes");
        let mut ctx = ValidationContext::new(ts + 1000);
        ctx.hub_accepted_ms = Some(ts);
        ctx.expected_room_uri = Some("mimi://example.com/r/engineering_team");
        validate(&m, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for v in common::vectors("content-08") {
        let m = decode(&v.bytes).expect("decodes");
        validate(&m, &ValidationContext::new(1_644_387_225_019))
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
    }
}

#[test]
fn expiry_rules() {
    let ctx = ValidationContext::new(NOW_MS);
    let with = |relative, time| base().expires(Expiration { relative, time }).build();
    let year_s = (YEAR_MS / 1000) as u32;
    validate(&with(false, NOW_S + 600), &ctx).expect("10 minutes ahead");
    validate(&with(false, NOW_S - 600), &ctx).expect("just expired is fine");
    validate(&with(false, NOW_S - year_s), &ctx).expect("exactly a year ago");
    assert!(matches!(
        validate(&with(false, NOW_S - year_s - 1), &ctx),
        Err(Error::ExpiryTooFarInPast { .. })
    ));
    validate(&with(false, NOW_S + year_s), &ctx).expect("exactly a year ahead");
    assert!(matches!(
        validate(&with(false, NOW_S + year_s + 1), &ctx),
        Err(Error::ExpiryTooFarInFuture {
            kind: "absolute",
            ..
        })
    ));
    validate(&with(true, year_s), &ctx).expect("relative: a year");
    assert!(matches!(
        validate(&with(true, year_s + 1), &ctx),
        Err(Error::ExpiryTooFarInFuture {
            kind: "relative",
            ..
        })
    ));
    // Judged against the hub timestamp when known: an old message stays valid later.
    let mut later = ValidationContext::new(NOW_MS + 3 * YEAR_MS);
    later.hub_accepted_ms = Some(NOW_MS);
    validate(&with(false, NOW_S + 600), &later).expect("judged at send time");
}

#[test]
fn timestamp_rules() {
    let m = base().build();
    let mut ctx = ValidationContext::new(NOW_MS);
    ctx.hub_accepted_ms = Some(NOW_MS + 5 * 60 * 1000);
    validate(&m, &ctx).expect("5 minutes of skew allowed");
    ctx.hub_accepted_ms = Some(NOW_MS + 5 * 60 * 1000 + 1);
    assert!(matches!(
        validate(&m, &ctx),
        Err(Error::TimestampInFuture { .. })
    ));
    ctx.hub_accepted_ms = Some(EARLIEST_TIMESTAMP_MS - 1);
    assert!(matches!(
        validate(&m, &ctx),
        Err(Error::TimestampTooEarly { .. })
    ));
    ctx.hub_accepted_ms = Some(NOW_MS - 10);
    ctx.room_created_ms = Some(NOW_MS);
    assert!(matches!(
        validate(&m, &ctx),
        Err(Error::TimestampBeforeRoomCreation { .. })
    ));
    ctx.room_created_ms = Some(NOW_MS - 10);
    validate(&m, &ctx).expect("after room creation");
}

#[test]
fn unknown_hash_algorithm_in_references() {
    let mut id = [0u8; 32];
    id[0] = 0x02;
    let ctx = ValidationContext::new(NOW_MS);
    let m = base().in_reply_to(MessageId(id)).build();
    assert_eq!(
        validate(&m, &ctx),
        Err(Error::UnknownHashAlgorithm {
            what: "inReplyTo",
            alg: 2
        })
    );
    let m = base().replaces(MessageId(id)).build();
    assert_eq!(
        validate(&m, &ctx),
        Err(Error::UnknownHashAlgorithm {
            what: "replaces",
            alg: 2
        })
    );
    id[0] = 0x01;
    validate(&base().in_reply_to(MessageId(id)).build(), &ctx).expect("sha-256");
}

#[test]
fn expected_uris() {
    let m = base().build();
    let mut ctx = ValidationContext::new(NOW_MS);
    ctx.expected_sender_uri = Some("mimi://a.example/u/alice");
    ctx.expected_room_uri = Some("mimi://a.example/r/room");
    validate(&m, &ctx).expect("match");
    ctx.expected_sender_uri = Some("mimi://a.example/u/mallory");
    let e = validate(&m, &ctx).expect_err("mismatch");
    assert!(
        matches!(
            e,
            Error::UriMismatch {
                what: "senderUri",
                ..
            }
        ),
        "{e}"
    );
    let mut anon = base().build();
    anon.extensions.room_uri = None;
    ctx.expected_sender_uri = None;
    assert_eq!(
        validate(&anon, &ctx),
        Err(Error::MissingExtension {
            what: "roomUri",
            key: 2
        })
    );
}

#[test]
fn structure_of_built_messages() {
    let multi = |parts| NestedPart::multi(Disposition::Render, PartSemantics::ProcessAll, parts);
    // MultiPart with one part.
    let m = base().body(multi(vec![text("a")])).build();
    assert!(matches!(
        check_structure(&m),
        Err(Error::TooFewParts { count: 1, .. })
    ));
    // 5 levels.
    let mut p = text("leaf");
    for _ in 0..4 {
        p = multi(vec![p, text("x")]);
    }
    let m = base().body(p).build();
    assert!(matches!(
        check_structure(&m),
        Err(Error::PartsTooDeep { .. })
    ));
    // 1025 parts.
    let m = base().body(multi(vec![text("x"); 1024])).build();
    assert!(matches!(
        check_structure(&m),
        Err(Error::TooManyParts { .. })
    ));
    // Topic too long.
    let m = base().topic_id(vec![0; 4097]).build();
    assert!(matches!(
        check_structure(&m),
        Err(Error::TopicTooLong { .. })
    ));
    // And what check_structure rejects, decode rejects too.
    for bad in [
        base().body(multi(vec![text("a")])).build(),
        base().body(multi(vec![text("x"); 1024])).build(),
        base().topic_id(vec![0; 4097]).build(),
    ] {
        assert!(decode(&bad.to_cbor()).is_err());
    }
}

#[test]
fn builders_produce_valid_messages() {
    let salt = [3; 16];
    let (s, r) = ("mimi://a.example/u/alice", "mimi://a.example/r/room");
    let target: MessageId = "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4"
        .parse()
        .expect("hex");
    let msgs: Vec<MimiContent> = vec![
        MimiContent::text(salt, s, r, "hello", None),
        MimiContent::text(salt, s, r, "re", Some(target)),
        MimiContent::markdown(salt, s, r, "**bold**", None),
        MimiContent::reaction(salt, s, r, target, "👍"),
        MimiContent::edit(salt, s, r, target, "fixed"),
        MimiContent::delete(salt, s, r, target),
    ];
    for m in msgs {
        let bytes = m.to_cbor();
        let back = decode(&bytes).expect("decodes");
        assert_eq!(back, m);
        validate(&back, &ValidationContext::new(NOW_MS)).expect("valid");
        m.message_id_08(&bytes).expect("id");
    }
    let m = MimiContent::text(salt, s, r, "hello", Some(target));
    assert_eq!(m.nested_part.language, "");
    assert_eq!(m.nested_part.disposition, Disposition::Render);
    assert_eq!(m.in_reply_to, Some(target));
    match &m.nested_part.body {
        mimi_content::PartBody::SinglePart(p) => {
            assert_eq!(p.content_type, "text/plain;charset=utf-8");
            assert_eq!(p.content, b"hello");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn message_id_guards() {
    let m = base().build();
    let bytes = m.to_cbor();
    // Wrong buffer (different salt) is refused.
    let other = MessageBuilder::new([1; 16]).build().to_cbor();
    assert_eq!(m.message_id_08(&other), Err(Error::NotMimiContent));
    assert_eq!(
        mimi_content::message_id_08(b"\x86", "a", "b"),
        Err(Error::NotMimiContent)
    );
    // Missing URIs.
    let anon = MessageBuilder::new([9; 16]).build();
    assert_eq!(
        anon.message_id_08(&anon.to_cbor()),
        Err(Error::MissingExtension {
            what: "senderUri",
            key: 1
        })
    );
    // -08 length prefix is 16 bits.
    let long = "x".repeat(70_000);
    assert!(matches!(
        mimi_content::message_id_08(&bytes, &long, "r"),
        Err(Error::UriTooLong { .. })
    ));
    mimi_content::message_id_07(&bytes, &long, "r").expect("-07 has no length limit");
    // Hex round trip.
    let id = m.message_id_08(&bytes).expect("id");
    assert_eq!(id.to_string().parse::<MessageId>(), Ok(id));
    assert_eq!(id.to_string().len(), 64);
    assert_eq!("zz".parse::<MessageId>(), Err(Error::InvalidMessageIdHex));
    assert_eq!(format!("{id:?}"), format!("MessageId({id})"));
}
