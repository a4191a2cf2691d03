//! Malformed and policy-violating bodies are rejected with an error that says why.

mod support;

use mimi_types::Error;
use mimi_types::wire::*;
use support::mls;

fn reason<T: WireMessage + std::fmt::Debug>(bytes: &[u8]) -> String {
    T::decode(bytes).expect_err("must be rejected").to_string()
}

fn contains(err: String, needle: &str) {
    assert!(
        err.contains(needle),
        "error {err:?} should mention {needle:?}"
    );
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const ALICE: &[u8] = b"\x18mimi://a.example/u/alice";

#[test]
fn truncated_and_trailing_bytes() {
    let ok = [1u8, 2, 0, 0, 0, 0, 0, 0, 0, 3];
    assert!(SubmitMessageResponse::decode(&ok).is_ok());
    contains(reason::<SubmitMessageResponse>(&ok[..9]), "truncated");
    contains(
        reason::<SubmitMessageResponse>(&[&ok[..], &[0]].concat()),
        "1 trailing bytes",
    );
    contains(reason::<SubmitMessageResponse>(&[]), "truncated");
}

#[test]
fn size_limit_is_checked_first() {
    let big = vec![0u8; 100];
    match SubmitMessageResponse::decode_with_limit(&big, 99) {
        Err(Error::TooLarge {
            len: 100,
            limit: 99,
            ..
        }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
    contains(
        FanoutMessage::decode_batch(&big, 10)
            .expect_err("too large")
            .to_string(),
        "over the limit of 10",
    );
}

#[test]
fn unknown_protocol_and_codes() {
    contains(
        reason::<SubmitMessageResponse>(&[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        "unknown",
    );
    contains(reason::<SubmitMessageResponse>(&[1, 9]), "unknown");
    contains(reason::<UpdateRoomResponse>(&[4, 0]), "unknown");
    // GroupInfoCode 0 is reserved.
    contains(
        reason::<GroupInfoResponse>(&cat(&[&[1], ALICE, &[0]])),
        "unknown",
    );
}

#[test]
fn non_minimal_vector_length() {
    // "no" with a 2-byte length form for 2: RFC 9420 §2.1.2 requires the minimum.
    contains(
        reason::<UpdateRoomResponse>(&[2, 0x40, 0x02, b'n', b'o']),
        "invalid",
    );
    assert!(UpdateRoomResponse::decode(&[2, 0x02, b'n', b'o']).is_ok());
}

#[test]
fn strings_must_be_utf8_without_nul() {
    contains(
        reason::<UpdateRoomResponse>(&[2, 2, 0xff, 0xfe]),
        "not UTF-8",
    );
    contains(reason::<UpdateRoomResponse>(&[2, 2, b'a', 0]), "NUL");
}

#[test]
fn identifier_uris_must_be_mimi_uris() {
    let https = b"\x15https://a.example/u/x";
    contains(
        reason::<KeyMaterialResponse>(&cat(&[&[1, 4], https, &[0]])),
        "identifier URI",
    );
    contains(
        reason::<KeyMaterialResponse>(&cat(&[&[1, 4, 0], &[0]])),
        "identifier URI",
    );
    assert!(KeyMaterialResponse::decode(&cat(&[&[1, 4], ALICE, &[0]])).is_ok());
}

#[test]
fn key_material_response_rules() {
    // userUnknown (4) with a client listed: protocol-06 §5.2 MUST NOT.
    let client = cat(&[&[1], b"\x1amimi://b.example/d/bob-one"]); // keyMaterialExhausted
    let clients = cat(&[&[client.len() as u8], &client]);
    contains(
        reason::<KeyMaterialResponse>(&cat(&[&[1, 4], ALICE, &clients])),
        "must not list clients",
    );
    // success (0) with a client lacking a KeyPackage.
    contains(
        reason::<KeyMaterialResponse>(&cat(&[&[1, 0], ALICE, &clients])),
        "no KeyPackage",
    );
    // noCompatibleMaterial (3) may list clients.
    assert!(KeyMaterialResponse::decode(&cat(&[&[1, 3], ALICE, &clients])).is_ok());
}

#[test]
fn handshakes_must_be_public_proposals_or_commits() {
    let m = mls();
    // A PrivateMessage application message as the first message of an UpdateRequest.
    contains(
        reason::<UpdateRequest>(&cat(&[&m.application, &[0]])),
        "must be a PublicMessage",
    );
    // A Welcome.
    contains(
        reason::<UpdateRequest>(&m.welcome_message),
        "must be a PublicMessage",
    );
    // A commit inside moreProposals.
    let mut more = Vec::new();
    let len = m.commit.len();
    assert!(len < 16384);
    more.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    more.extend_from_slice(&m.commit);
    contains(
        reason::<UpdateRequest>(&cat(&[&m.proposal, &more])),
        "a proposal list holds a commit",
    );
    // The valid form decodes.
    assert!(UpdateRequest::decode(&cat(&[&m.proposal, &[0]])).is_ok());
}

#[test]
fn fanout_rejects_what_cannot_be_fanned_out() {
    let m = mls();
    let ts = [0u8; 8];
    contains(
        FanoutMessage::decode_batch(&cat(&[&ts, &m.group_info_message]), DEFAULT_MAX_BODY)
            .expect_err("group info")
            .to_string(),
        "cannot fan out",
    );
    contains(
        FanoutMessage::decode_batch(&[], DEFAULT_MAX_BODY)
            .expect_err("empty")
            .to_string(),
        "empty body",
    );
    // Two valid messages concatenated, then garbage: the whole batch is rejected.
    let one = cat(&[&ts, &m.application, &[0]]);
    assert_eq!(
        FanoutMessage::decode_batch(&cat(&[&one, &one]), DEFAULT_MAX_BODY)
            .expect("two")
            .len(),
        2
    );
    assert!(FanoutMessage::decode_batch(&cat(&[&one, &one, &[7]]), DEFAULT_MAX_BODY).is_err());
}

#[test]
fn invalid_mls_bytes_are_rejected() {
    let m = mls();
    // Corrupt the MLS version field of a commit.
    let mut bad = m.commit.clone();
    bad[1] = 9;
    assert!(UpdateRequest::decode(&cat(&[&bad, &[0]])).is_err());
    // Truncated KeyPackage.
    assert!(KeyPackage::from_bytes(m.key_package[..m.key_package.len() - 1].to_vec()).is_err());
    assert!(MlsMessage::from_bytes(cat(&[&m.commit, &[0]])).is_err());
}

#[test]
fn bool_and_optional_flags() {
    // StatusNotificationPolicy with Optionality 3 is invalid.
    let err = mimi_types::wire::RoomComponentData::decode(
        mimi_types::wire::components::STATUS_NOTIFICATION_POLICY,
        &[0, 3],
    )
    .expect_err("bad optionality")
    .to_string();
    contains(err, "unknown");
    // BaseRoomPolicy with a bool of 2.
    let err = mimi_types::wire::RoomComponentData::decode(
        mimi_types::wire::components::BASE_ROOM_POLICY,
        &[2, 0, 0, 1, 0, 0, 0, 0, 0, 0],
    )
    .expect_err("bad bool")
    .to_string();
    contains(err, "bool must be 0 or 1");
    // An optional<Frank> flag of 2.
    contains(
        reason::<SubmitMessageResponse>(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]),
        "must be 0",
    );
}

#[test]
fn mls_wrappers_expose_header_facts() {
    let m = mls();
    let app = MlsMessage::from_bytes(m.application.clone()).expect("app");
    assert!(app.is_private_application());
    assert!(!app.is_public_handshake());
    let commit = MlsMessage::from_bytes(m.commit.clone()).expect("commit");
    assert!(commit.is_public_handshake());
    assert!(matches!(
        commit.kind(),
        MlsMessageKind::Framed { epoch: 0, .. }
    ));
    let proposal = MlsMessage::from_bytes(m.proposal.clone()).expect("proposal");
    assert!(matches!(
        proposal.kind(),
        MlsMessageKind::Framed { epoch: 1, .. }
    ));
    assert_eq!(
        MlsMessage::from_bytes(m.welcome_message.clone())
            .expect("welcome")
            .kind(),
        MlsMessageKind::Welcome
    );
    assert_eq!(commit.as_bytes(), &m.commit[..]);
    assert!(commit.parse().is_ok());
    assert!(
        RatchetTree::from_bytes(m.ratchet_tree.clone())
            .expect("tree")
            .parse()
            .is_ok()
    );
}
