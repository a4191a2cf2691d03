//! Pinned encodings. No test vectors exist for the MIMI protocol structs (DIGEST §7.4), so
//! these bytes were written by hand from the drafts' struct definitions and the RFC 9420 §2.1
//! conventions (varint vector lengths, 1-byte optional flag, big-endian integers), not
//! produced by our encoder. Where a draft gives an example value, it is used.

mod support;

use mimi_types::id::MimiUri;
use mimi_types::wire::*;
use openmls::prelude::AppDataDictionary;
use openmls::prelude::tls_codec::{Deserialize, Serialize};

fn uri(s: &str) -> IdentifierUri {
    MimiUri::parse(s).expect("valid").into()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).expect("hex")
}

fn pin<T: Serialize + Deserialize + PartialEq + std::fmt::Debug>(value: &T, expected_hex: &str) {
    let expected = unhex(expected_hex);
    assert_eq!(
        value.tls_serialize_detached().expect("encode"),
        expected,
        "encoding of {value:?}"
    );
    assert_eq!(&T::tls_deserialize_exact(&expected).expect("decode"), value);
}

/// DIGEST §1.2: `IdentifierUri{"mimi://a.example/u/alice"}` is a 24-byte vector.
#[test]
fn identifier_uri() {
    pin(
        &uri("mimi://a.example/u/alice"),
        "18 6d696d693a2f2f612e6578616d706c652f752f616c696365",
    );
}

/// protocol-06 §7.5 example change: add diana as role 4 (admin).
#[test]
fn participant_list_update_adds_diana() {
    pin(
        &ParticipantListUpdate {
            changed_role_participants: vec![],
            removed_indices: vec![],
            added_participants: vec![UserRolePair {
                user: uri("mimi://d.example/u/diana"),
                role_index: 4,
            }],
        },
        "00 00 1d 18 6d696d693a2f2f642e6578616d706c652f752f6469616e61 00000004",
    );
}

#[test]
fn participant_list_role_change_and_removal() {
    pin(
        &ParticipantListUpdate {
            changed_role_participants: vec![UserIndexRolePair {
                user_index: 2,
                role_index: 5,
            }],
            removed_indices: vec![0, 3],
            added_participants: vec![],
        },
        "08 00000002 00000005  08 00000000 00000003  00",
    );
}

#[test]
fn update_room_responses() {
    let none = Utf8String::default();
    pin(
        &UpdateRoomResponse {
            error_description: none.clone(),
            outcome: UpdateOutcome::WrongEpoch { current_epoch: 7 },
        },
        "01 00 0000000000000007",
    );
    pin(
        &UpdateRoomResponse {
            error_description: Utf8String::new("no").expect("valid"),
            outcome: UpdateOutcome::NotAllowed,
        },
        "02 02 6e6f",
    );
    // Hub acceptance time of the content draft's examples: 1644387225019 ms.
    pin(
        &UpdateRoomResponse {
            error_description: none,
            outcome: UpdateOutcome::Success {
                accepted_timestamp: 1_644_387_225_019,
            },
        },
        "00 00 0000017edd1dcdbb",
    );
}

#[test]
fn submit_message_responses() {
    pin(
        &SubmitMessageResponse {
            protocol: Protocol::Mls10,
            outcome: SubmitOutcome::Accepted {
                accepted_timestamp: 1_644_387_225_019,
                frank: None,
            },
        },
        "01 00 0000017edd1dcdbb 00",
    );
    pin(
        &SubmitMessageResponse {
            protocol: Protocol::Mls10,
            outcome: SubmitOutcome::EpochTooOld { current_epoch: 3 },
        },
        "01 02 0000000000000003",
    );
}

#[test]
fn key_material_response_user_unknown() {
    pin(
        &KeyMaterialResponse {
            protocol: Protocol::Mls10,
            user_status: KeyMaterialUserCode::UserUnknown,
            user_uri: uri("mimi://b.example/u/bob"),
            clients: vec![],
        },
        "01 04 16 6d696d693a2f2f622e6578616d706c652f752f626f62 00",
    );
}

#[test]
fn consent_request_without_room() {
    pin(
        &ConsentEntry {
            operation: ConsentOperation::Request,
            requester_uri: uri("mimi://a.example/u/alice"),
            target_uri: uri("mimi://b.example/u/bob"),
            room_id: None,
            consent_extensions: AppDataDictionary::new(),
        },
        "01 18 6d696d693a2f2f612e6578616d706c652f752f616c696365 \
         16 6d696d693a2f2f622e6578616d706c652f752f626f62 00 00",
    );
}

/// protocol-06 §5.8: phone numbers in international `+` form, e.g. `+12125551212`.
#[test]
fn identifier_query_by_phone() {
    pin(
        &IdentifierRequest {
            query_elements: vec![QueryElement {
                kind: SearchKind::Phone,
                search_value: Utf8String::new("+12125551212").expect("valid"),
            }],
            id_request_extensions: AppDataDictionary::new(),
        },
        "0e 04 0c 2b3132313235353531323132 00",
    );
}

/// RFC 9420 §2.1.2: a 64-byte vector needs the 2-byte length form `0x4040`.
#[test]
fn two_byte_vector_length() {
    let s = "x".repeat(64);
    let mut expected = String::from("4040");
    expected.push_str(&"78".repeat(64));
    pin(&Utf8String::new(s).expect("valid"), &expected);
}

#[test]
fn room_policy_values() {
    pin(
        &StatusNotificationPolicy {
            delivery_notifications: Optionality::Required,
            read_receipts: Optionality::Forbidden,
        },
        "01 02",
    );
    pin(
        &MessageExpiration {
            expiring_messages: Gated::Required(ExpirationDetails {
                min_expiration_duration: 60,
                max_expiration_duration: 86_400,
                default_expiration_duration: Some(3_600),
            }),
        },
        "01 0000003c 00015180 01 00000e10",
    );
    pin(
        &MessageExpiration {
            expiring_messages: Gated::Forbidden,
        },
        "02",
    );
    pin(
        &Role {
            role_index: 1,
            role_name: Utf8String::new("banned").expect("valid"),
            role_description: Utf8String::default(),
            role_capabilities: vec![],
            minimum_participants_constraint: 0,
            maximum_participants_constraint: None,
            minimum_active_participants_constraint: 0,
            maximum_active_participants_constraint: Some(0),
            authorized_role_changes: vec![],
        },
        "00000001 06 62616e6e6564 00 00 00000000 00 00000000 01 00000000 00",
    );
    pin(
        &RoleData {
            roles: vec![Role {
                role_index: 4,
                role_name: Utf8String::new("admin").expect("valid"),
                role_description: Utf8String::default(),
                role_capabilities: vec![Capability::ADD_PARTICIPANT, Capability::BAN],
                minimum_participants_constraint: 1,
                maximum_participants_constraint: None,
                minimum_active_participants_constraint: 0,
                maximum_active_participants_constraint: None,
                authorized_role_changes: vec![SingleSourceRoleChangeTargets {
                    from_role_index: 0,
                    target_role_indexes: vec![2, 4],
                }],
            }],
        },
        "28 00000004 05 61646d696e 00 04 0000 000a 00000001 00 00000000 00 \
         0d 00000000 08 00000002 00000004",
    );
}

#[test]
fn capability_names() {
    assert_eq!(Capability::BAN.name(), Some("canBan"));
    assert_eq!(
        Capability::from_name("canSendMessage"),
        Some(Capability(0x0100))
    );
    assert_eq!(Capability(0xF123).name(), Some("private use"));
    assert_eq!(Capability(0x7777).name(), None);
    assert_eq!(format!("{:?}", Capability::KICK), "canKick(0x000c)");
}

#[test]
fn sign_content_layout() {
    // RFC 9420 §5.1.2: SignContent { opaque label<V> = "MLS 1.0 " + Label; opaque content<V> }
    let bytes = sign_content("KeyMaterialRequestTBS", &[1, 2, 3]).expect("encode");
    let label = b"MLS 1.0 KeyMaterialRequestTBS";
    assert_eq!(bytes[0] as usize, label.len());
    assert_eq!(&bytes[1..1 + label.len()], label);
    assert_eq!(&bytes[1 + label.len()..], &[3, 1, 2, 3]);
}
