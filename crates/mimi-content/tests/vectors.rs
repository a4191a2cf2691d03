//! Every example of draft-ietf-mimi-content -07 and -08: decode, re-encode byte for byte,
//! message IDs, and field values spot-checked against the drafts' EDN.

mod common;

use common::{vector, vectors};
use mimi_content::{
    Disposition, MessageId, MessageIdVersion, MessageKind, PartBody, PartSemantics, decode,
    message_id_07, message_id_08,
};

const ROOM: &str = "mimi://example.com/r/engineering_team";
const ALICE: &str = "mimi://example.com/u/alice-smith";

const NAMES: [&str; 14] = [
    "original",
    "reply",
    "reaction",
    "mention",
    "mention-html",
    "edit",
    "delete",
    "unlike",
    "expiring",
    "attachment",
    "conferencing",
    "multipart-1",
    "multipart-2",
    "multipart-3",
];

#[test]
fn all_examples_present() {
    for version in ["content-07", "content-08"] {
        let names: Vec<String> = vectors(version).into_iter().map(|v| v.name).collect();
        assert_eq!(names, NAMES, "{version}");
    }
}

#[test]
fn decode_reencode_identical() {
    for version in ["content-07", "content-08"] {
        for v in vectors(version) {
            let msg = decode(&v.bytes).unwrap_or_else(|e| panic!("{version}/{}: {e}", v.name));
            assert_eq!(msg.to_cbor(), v.bytes, "{version}/{}", v.name);
        }
    }
}

#[test]
fn message_ids_08() {
    for v in vectors("content-08") {
        let msg = decode(&v.bytes).expect("decodes");
        assert_eq!(msg.message_id_08(&v.bytes).expect("id"), v.id, "{}", v.name);
        let sender = msg.extensions.sender_uri.as_deref().expect("sender");
        let room = msg.extensions.room_uri.as_deref().expect("room");
        assert_eq!(
            message_id_08(&v.bytes, sender, room).expect("id"),
            v.id,
            "{}",
            v.name
        );
        // The -07 algorithm gives a different ID for the same bytes.
        assert_ne!(msg.message_id_07(&v.bytes).expect("id"), v.id, "{}", v.name);
    }
}

#[test]
fn message_ids_07() {
    for v in vectors("content-07") {
        let msg = decode(&v.bytes).expect("decodes");
        assert_eq!(
            msg.message_id(MessageIdVersion::Draft07, &v.bytes)
                .expect("id"),
            v.id,
            "{}",
            v.name
        );
        let sender = msg.extensions.sender_uri.as_deref().expect("sender");
        assert_eq!(
            message_id_07(&v.bytes, sender, ROOM).expect("id"),
            v.id,
            "{}",
            v.name
        );
    }
}

#[test]
fn ids_from_reencoded_bytes_match() {
    for v in vectors("content-08") {
        let msg = decode(&v.bytes).expect("decodes");
        let again = msg.to_cbor();
        assert_eq!(msg.message_id_08(&again).expect("id"), v.id, "{}", v.name);
    }
}

/// The references between examples point at the IDs of the same draft version.
#[test]
fn references_are_consistent() {
    let expected: [(&str, Option<&str>, Option<&str>); 7] = [
        ("reply", None, Some("original")),
        ("reaction", None, Some("original")),
        ("mention", None, Some("original")),
        ("mention-html", None, Some("original")),
        ("edit", Some("reply"), Some("original")),
        ("delete", Some("reply"), Some("original")),
        ("unlike", Some("reaction"), Some("original")),
    ];
    for version in ["content-07", "content-08"] {
        let id_of = |name: &str| vector(version, name).id;
        for (name, replaces, in_reply_to) in expected {
            let msg = decode(&vector(version, name).bytes).expect("decodes");
            assert_eq!(
                msg.replaces,
                replaces.map(id_of),
                "{version}/{name} replaces"
            );
            assert_eq!(
                msg.in_reply_to,
                in_reply_to.map(id_of),
                "{version}/{name} inReplyTo"
            );
        }
    }
}

#[test]
fn well_known_ids() {
    // -07 ID of the original as printed in draft-ietf-mimi-content-07 §5.1 (and asserted by
    // other implementations), and the -08 ID from the repository's examples/original.edn.
    let v07: MessageId = "01b0084467273cc43d6f0ebeac13eb84229c4fffe8f6c3594c905f47779e5a79"
        .parse()
        .expect("hex");
    let v08: MessageId = "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4"
        .parse()
        .expect("hex");
    let bytes = vector("content-08", "original").bytes;
    assert_eq!(message_id_07(&bytes, ALICE, ROOM).expect("id"), v07);
    assert_eq!(message_id_08(&bytes, ALICE, ROOM).expect("id"), v08);
    assert_eq!(
        vector("content-07", "original").bytes,
        bytes,
        "the original has no references"
    );
}

#[test]
fn field_values() {
    let m = decode(&vector("content-08", "original").bytes).expect("decodes");
    assert_eq!(hex::encode(m.salt), "5eed9406c2545547ab6f09f20a18b003");
    assert_eq!(m.extensions.sender_uri.as_deref(), Some(ALICE));
    assert_eq!(m.extensions.room_uri.as_deref(), Some(ROOM));
    assert_eq!(m.nested_part.disposition, Disposition::Render);
    match &m.nested_part.body {
        PartBody::SinglePart(s) => {
            assert_eq!(s.content_type, "text/markdown;variant=GFM-MIMI");
            assert_eq!(
                s.content,
                b"Hi everyone, we just shipped release 2.0. __Good  work__!"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(m.kind(), MessageKind::Message);

    let m = decode(&vector("content-08", "expiring").bytes).expect("decodes");
    let exp = m.expires.expect("expires");
    assert!(!exp.relative);
    assert_eq!(exp.time, 1_644_390_004);

    let m = decode(&vector("content-08", "attachment").bytes).expect("decodes");
    assert_eq!(m.nested_part.disposition, Disposition::Attachment);
    assert_eq!(m.nested_part.language, "en");
    match &m.nested_part.body {
        PartBody::ExternalPart(x) => {
            assert_eq!(x.content_type, "video/mp4");
            assert_eq!(x.url, "https://example.com/storage/8ksB4bSrrRE.mp4");
            assert_eq!(x.size, 708_234_961);
            assert_eq!(x.enc_alg, 1);
            assert_eq!(hex::encode(&x.key), "21399320958a6f4c745dde670d95e0d8");
            assert_eq!(hex::encode(&x.nonce), "c86cf2c33f21527d1dd76f5b");
            assert!(x.aad.is_empty());
            assert_eq!(x.hash_alg, 1);
            assert_eq!(x.description, "2 hours of key signing video");
            assert_eq!(x.filename, "bigfile.mp4");
        }
        other => panic!("{other:?}"),
    }

    let m = decode(&vector("content-08", "conferencing").bytes).expect("decodes");
    assert_eq!(m.topic_id, b"Foo 118");
    assert_eq!(m.nested_part.disposition, Disposition::Session);

    assert_eq!(
        decode(&vector("content-08", "reaction").bytes)
            .expect("d")
            .kind(),
        MessageKind::Reaction
    );
    assert_eq!(
        decode(&vector("content-08", "edit").bytes)
            .expect("d")
            .kind(),
        MessageKind::Edit
    );
    assert_eq!(
        decode(&vector("content-08", "delete").bytes)
            .expect("d")
            .kind(),
        MessageKind::Delete
    );
    assert_eq!(
        decode(&vector("content-08", "unlike").bytes)
            .expect("d")
            .kind(),
        MessageKind::Unreact
    );
}

/// draft §"Complicated Nested Example": 11 parts, depth-first part indexes, 4 levels.
#[test]
fn multipart_3_part_indexes() {
    let m = decode(&vector("content-08", "multipart-3").bytes).expect("decodes");
    let parts = m.nested_part.depth_first();
    assert_eq!(parts.len(), 11);
    assert_eq!(m.part_count(), 11);
    let depths: Vec<usize> = parts.iter().map(|(_, d, _)| *d).collect();
    assert_eq!(depths, [1, 2, 3, 4, 4, 3, 2, 3, 4, 4, 3]);
    let langs: Vec<&str> = parts.iter().map(|(_, _, p)| p.language.as_str()).collect();
    assert_eq!(langs, ["", "", "", "en", "fr", "", "", "", "en", "fr", ""]);
    // cid:5@local.invalid is the GIF, cid:10@local.invalid the PNG.
    let ct = |i| match &m.nested_part.part_by_index(i).expect("part").body {
        PartBody::SinglePart(s) => s.content_type.clone(),
        _ => String::new(),
    };
    assert_eq!(ct(5), "image/gif");
    assert_eq!(ct(10), "image/png");
    match &m.nested_part.body {
        PartBody::MultiPart(mp) => assert_eq!(mp.semantics, PartSemantics::ChooseOne),
        other => panic!("{other:?}"),
    }
}

/// A hand-made message exercising extensions: key 0 before the URIs, the draft's 4-level
/// §"Depth restrictions" example under key 256, a negative key with a nested map (double,
/// bignum, simple value), a text key, a relative expiry and an unknown disposition.
#[test]
fn handmade_extensions_message() {
    let hex = "8750000102030405060708090a0b0c0d0e0ff645746f70696382f5190258f6a600f97e000178186d696d\
               693a2f2f612e6578616d706c652f752f616c69636502776d696d693a2f2f612e6578616d706c652f722f\
               726f6f6d1901008282421234d82072687474703a2f2f6578616d706c652e636f6d8242345619168b29a3\
               01fb3fb999999999999a416bc2490101010101010101016178f8206d6f72672e6578616d706c652e6b61\
               76850160030182850162656e017818746578742f706c61696e3b636861727365743d7574662d3845686\
               56c6c6f83096000";
    let bytes = hex::decode(hex.replace(char::is_whitespace, "")).expect("hex");
    let m = decode(&bytes).expect("valid");
    assert_eq!(m.to_cbor(), bytes);
    assert_eq!(m.extensions.len(), 6);
    let keys: Vec<String> = m
        .extensions
        .others()
        .map(|(k, _)| format!("{k:?}"))
        .collect();
    assert_eq!(
        keys,
        ["Int(0)", "Int(256)", "Int(-10)", "Text(\"org.example.k\")"]
    );
    let v = m
        .extensions
        .get(&mimi_content::ExtensionKey::from("org.example.k"))
        .expect("present");
    assert_eq!(v.as_text(), Some("v"));
    assert_eq!(
        mimi_content::render_text(&m),
        "[topic: topic] [expires 600 s after reading]\nhello"
    );
}
