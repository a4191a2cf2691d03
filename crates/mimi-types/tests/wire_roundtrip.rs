//! Round trips for every protocol-06 and room-policy-03 wire type: for generated values,
//! `decode(encode(x)) == x`, `encode(decode(bytes)) == bytes`, and the declared size is the
//! encoded size. Arbitrary bytes never make a decoder panic.

mod support;

use std::collections::BTreeMap;
use std::fmt::Debug;

use mimi_types::id::MimiUri;
use mimi_types::wire::*;
use openmls::ciphersuite::hash_ref::ProposalRef;
use openmls::prelude::tls_codec::{Deserialize, Serialize, Size, VLByteVec, VLBytes};
use openmls::prelude::{
    AppDataDictionary, BasicCredential, Capabilities, Credential, CredentialType, ExtensionType,
    ExternalSender, HpkeCiphertext, ProposalType, RequiredCapabilitiesExtension,
    SignaturePublicKey, VerifiableCiphersuite,
};
use proptest::prelude::*;
use support::mls;

/// Encode, decode, compare; re-encode, compare bytes.
fn round_trip<T: Serialize + Size + Deserialize + PartialEq + Debug>(value: &T) {
    let bytes = value.tls_serialize_detached().expect("encode");
    assert_eq!(bytes.len(), value.tls_serialized_len(), "declared size");
    let back = T::tls_deserialize_exact(&bytes).expect("decode");
    assert_eq!(&back, value);
    assert_eq!(back.tls_serialize_detached().expect("re-encode"), bytes);
}

fn uri() -> impl Strategy<Value = IdentifierUri> {
    (
        prop::sample::select(vec!["a.example", "b.example", "hub.example"]),
        prop::sample::select(vec!["u", "d", "r", "g", "p", "t"]),
        "[a-zA-Z0-9._-]{1,16}",
    )
        .prop_map(|(d, k, id)| {
            MimiUri::parse(&format!("mimi://{d}/{k}/{id}"))
                .expect("valid uri")
                .into()
        })
}

fn bytes(max: usize) -> impl Strategy<Value = VLByteVec> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(VLByteVec::from)
}

fn text() -> impl Strategy<Value = Utf8String> {
    "[a-zA-Z0-9 éü✓]{0,24}".prop_map(|s| Utf8String::new(s).expect("valid"))
}

fn any_uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        Just(Uri::default()),
        "https://[a-z]{1,8}\\.example/[a-z0-9]{0,8}".prop_map(|s| Uri::new(s).expect("valid")),
        uri().prop_map(|u| Uri::new(u.to_string()).expect("valid")),
    ]
}

fn dictionary() -> impl Strategy<Value = AppDataDictionary> {
    prop::collection::btree_map(any::<u16>(), prop::collection::vec(any::<u8>(), 0..8), 0..4)
        .prop_map(|m: BTreeMap<u16, Vec<u8>>| {
            let mut d = AppDataDictionary::new();
            for (k, v) in m {
                d.insert(k, v);
            }
            d
        })
}

fn ciphersuite() -> impl Strategy<Value = VerifiableCiphersuite> {
    any::<u16>().prop_map(VerifiableCiphersuite::new)
}

fn signature_key() -> impl Strategy<Value = SignaturePublicKey> {
    prop::collection::vec(any::<u8>(), 0..48).prop_map(SignaturePublicKey::from)
}

fn credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        Just(mls().credential.clone()),
        "[a-z]{1,12}".prop_map(|s| BasicCredential::new(s.into_bytes()).into()),
    ]
}

fn message(b: &'static [u8]) -> MlsMessage {
    MlsMessage::from_bytes(b).expect("fixture decodes")
}

fn proposals() -> impl Strategy<Value = Vec<MlsMessage>> {
    prop::collection::vec(
        prop::sample::select(vec![&mls().proposal[..], &mls().proposal2[..]]).prop_map(message),
        0..3,
    )
}

fn key_package() -> KeyPackage {
    KeyPackage::from_bytes(mls().key_package.clone()).expect("fixture decodes")
}

fn proposal_ref() -> impl Strategy<Value = ProposalRef> {
    prop::collection::vec(any::<u8>(), 0..32).prop_map(|v| {
        let bytes = VLBytes::new(v).tls_serialize_detached().expect("encode");
        ProposalRef::tls_deserialize_exact(&bytes).expect("decode")
    })
}

fn frank() -> impl Strategy<Value = Frank> {
    (any::<[u8; 32]>(), ciphersuite(), bytes(64)).prop_map(|(server_frank, cs, sig)| Frank {
        server_frank,
        franking_signature_ciphersuite: cs,
        franking_integrity_signature: sig,
    })
}

fn ratchet_tree_option() -> impl Strategy<Value = RatchetTreeOption> {
    prop_oneof![
        Just(RatchetTreeOption::Full(
            RatchetTree::from_bytes(mls().ratchet_tree.clone()).expect("fixture decodes")
        )),
        (bytes(20), bytes(20)).prop_map(|(u, s)| RatchetTreeOption::HttpsUri(HttpsTree {
            ratchet_tree_url: u,
            tree_signature: s
        })),
        bytes(20).prop_map(|s| RatchetTreeOption::OutOfBand(OutOfBandTree { tree_signature: s })),
        Just(RatchetTreeOption::DistributionService),
    ]
}

fn group_info_option() -> impl Strategy<Value = GroupInfoOption> {
    prop_oneof![
        Just(GroupInfoOption::Full(
            GroupInfo::from_bytes(mls().group_info.clone()).expect("fixture decodes")
        )),
        (
            prop::sample::select(vec![
                RatchetTreePresence::NoRatchetTree,
                RatchetTreePresence::Present,
                RatchetTreePresence::Removed,
                RatchetTreePresence::Added
            ]),
            prop::collection::vec(
                (any::<u16>(), bytes(8)).prop_map(|(t, d)| RawExtension {
                    extension_type: t,
                    extension_data: d
                }),
                0..3
            ),
            bytes(64),
        )
            .prop_map(|(p, e, s)| GroupInfoOption::Partial(PartialGroupInfo {
                ratchet_tree_presence: p,
                group_info_extensions: e,
                signature: s
            })),
    ]
}

fn handshake_bundle() -> impl Strategy<Value = HandshakeBundle> {
    prop_oneof![
        (any::<bool>(), group_info_option(), ratchet_tree_option()).prop_map(
            |(w, group_info, ratchet_tree)| {
                HandshakeBundle::Commit {
                    commit: message(&mls().commit),
                    welcome: w.then(|| {
                        Welcome::from_bytes(mls().welcome.clone()).expect("fixture decodes")
                    }),
                    group_info,
                    ratchet_tree,
                }
            }
        ),
        proposals().prop_map(|more_proposals| HandshakeBundle::Proposals {
            proposal: message(&mls().proposal),
            more_proposals,
        }),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    (
        any::<u32>(),
        text(),
        text(),
        prop::collection::vec(any::<u16>().prop_map(Capability), 0..6),
        (
            any::<u32>(),
            any::<Option<u32>>(),
            any::<u32>(),
            any::<Option<u32>>(),
        ),
        prop::collection::vec(
            (any::<u32>(), prop::collection::vec(any::<u32>(), 0..4)).prop_map(|(f, t)| {
                SingleSourceRoleChangeTargets {
                    from_role_index: f,
                    target_role_indexes: t,
                }
            }),
            0..3,
        ),
    )
        .prop_map(
            |(role_index, role_name, role_description, role_capabilities, c, changes)| Role {
                role_index,
                role_name,
                role_description,
                role_capabilities,
                minimum_participants_constraint: c.0,
                maximum_participants_constraint: c.1,
                minimum_active_participants_constraint: c.2,
                maximum_active_participants_constraint: c.3,
                authorized_role_changes: changes,
            },
        )
}

fn media_type() -> impl Strategy<Value = MediaType> {
    (
        "[a-z]{1,8}/[a-z]{1,8}",
        prop::collection::vec((bytes(8), bytes(8)), 0..2),
    )
        .prop_map(|(t, params)| MediaType {
            media_type: t.into_bytes().into(),
            parameters: params
                .into_iter()
                .map(|(n, v)| Parameter {
                    parameter_name: n,
                    parameter_value: v,
                })
                .collect(),
        })
}

fn optionality() -> impl Strategy<Value = Optionality> {
    prop::sample::select(vec![
        Optionality::Optional,
        Optionality::Required,
        Optionality::Forbidden,
    ])
}

fn gated<T: Clone + Debug + 'static>(
    inner: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Gated<T>> {
    let inner = inner.boxed();
    prop_oneof![
        inner.clone().prop_map(Gated::Optional),
        inner.prop_map(Gated::Required),
        Just(Gated::Forbidden),
    ]
}

fn extended_capabilities() -> impl Strategy<Value = ExtendedCapabilities> {
    let v16 = || prop::collection::vec(any::<u16>(), 0..3);
    (
        (v16(), v16(), v16(), v16(), v16()),
        (
            v16(),
            v16(),
            v16(),
            prop::collection::vec(media_type(), 0..2),
            prop::collection::vec(any::<u8>(), 0..3),
        ),
    )
        .prop_map(|(a, b)| ExtendedCapabilities {
            versions: a.0,
            cipher_suites: a.1,
            extensions: a.2,
            proposals: a.3,
            credentials: a.4,
            wire_formats: b.0,
            component_ids: b.1,
            safe_aad_types: b.2,
            media_types: b.3,
            content_types: b.4,
        })
}

fn min_default_max() -> impl Strategy<Value = MinDefaultMaxTime> {
    any::<(u64, u64, u64)>().prop_map(|(a, b, c)| MinDefaultMaxTime {
        minimum_time: a,
        default_time: b,
        maximum_time: c,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn key_material_request(
        (requesting_user, target_user, room) in (uri(), uri(), prop::option::of(uri())),
        acceptable_ciphersuites in prop::collection::vec(ciphersuite(), 1..4),
        requester_signature_key in signature_key(),
        requester_credential in credential(),
        key_material_request_signature in bytes(80),
    ) {
        let request = KeyMaterialRequest {
            protocol: Protocol::Mls10,
            requesting_user,
            target_user,
            room_id: OptionalIdentifierUri(room),
            acceptable_ciphersuites,
            required_capabilities: RequiredCapabilitiesExtension::new(
                &[ExtensionType::AppDataDictionary],
                &[ProposalType::AppDataUpdate],
                &[CredentialType::Basic],
            ),
            requester_signature_key,
            requester_credential,
            key_material_request_signature,
        };
        round_trip(&request);
        let tbs = request.tbs_bytes().expect("tbs");
        let full = request.encode().expect("encode");
        // The TBS is the request without its trailing signature vector.
        prop_assert!(full.starts_with(&tbs));
        prop_assert_eq!(full.len() - tbs.len(), request.key_material_request_signature.tls_serialized_len());
    }

    #[test]
    fn key_material_response(
        user_uri in uri(),
        clients in prop::collection::vec((uri(), 0u8..3, any::<bool>()), 0..4),
    ) {
        let clients: Vec<ClientKeyMaterial> = clients
            .into_iter()
            .map(|(client_uri, kind, caps)| ClientKeyMaterial {
                client_uri,
                material: match kind {
                    0 => ClientMaterial::Success(key_package()),
                    1 => ClientMaterial::KeyMaterialExhausted,
                    _ => ClientMaterial::NothingCompatible(caps.then(|| Capabilities::new(None, None, None, None, None))),
                },
            })
            .collect();
        let any_success = clients.iter().any(|c| matches!(c.material, ClientMaterial::Success(_)));
        let all_success = clients.iter().all(|c| matches!(c.material, ClientMaterial::Success(_)));
        let user_status = if all_success {
            KeyMaterialUserCode::Success
        } else if any_success {
            KeyMaterialUserCode::PartialSuccess
        } else {
            KeyMaterialUserCode::NoCompatibleMaterial
        };
        round_trip(&KeyMaterialResponse { protocol: Protocol::Mls10, user_status, user_uri: user_uri.clone(), clients });
        round_trip(&KeyMaterialResponse {
            protocol: Protocol::Mls10,
            user_status: KeyMaterialUserCode::NoConsent,
            user_uri,
            clients: vec![],
        });
    }

    #[test]
    fn update_request(bundle in handshake_bundle()) {
        round_trip(&UpdateRequest { bundle });
    }

    #[test]
    fn update_room_response(
        error_description in text(),
        code in 0u8..4,
        n in any::<u64>(),
        refs in prop::collection::vec(proposal_ref(), 0..3),
    ) {
        let outcome = match code {
            0 => UpdateOutcome::Success { accepted_timestamp: n },
            1 => UpdateOutcome::WrongEpoch { current_epoch: n },
            2 => UpdateOutcome::NotAllowed,
            _ => UpdateOutcome::InvalidProposal { invalid_proposals: refs },
        };
        round_trip(&UpdateRoomResponse { error_description, outcome });
    }

    #[test]
    fn submit_message(sending_uri in uri(), code in 0u8..3, n in any::<u64>(), frank in prop::option::of(frank())) {
        round_trip(&SubmitMessageRequest {
            protocol: Protocol::Mls10,
            app_message: message(&mls().application),
            sending_uri,
        });
        let outcome = match code {
            0 => SubmitOutcome::Accepted { accepted_timestamp: n, frank },
            1 => SubmitOutcome::NotAllowed,
            _ => SubmitOutcome::EpochTooOld { current_epoch: n },
        };
        round_trip(&SubmitMessageResponse { protocol: Protocol::Mls10, outcome });
    }

    #[test]
    fn fanout_batch(
        items in prop::collection::vec(
            (any::<u64>(), 0u8..4, prop::option::of(frank()), ratchet_tree_option(), proposals()),
            1..5,
        ),
    ) {
        let messages: Vec<FanoutMessage> = items
            .into_iter()
            .map(|(timestamp, kind, frank, ratchet_tree, list)| FanoutMessage {
                timestamp,
                payload: match kind {
                    0 => FanoutPayload::Application { message: message(&mls().application), frank },
                    1 => FanoutPayload::Welcome { message: message(&mls().welcome_message), ratchet_tree },
                    2 => FanoutPayload::Proposal { message: message(&mls().proposal), more_proposals: list },
                    _ => FanoutPayload::Commit { message: message(&mls().commit), external_proposals: list },
                },
            })
            .collect();
        for m in &messages {
            round_trip(m);
        }
        let body = FanoutMessage::encode_batch(&messages).expect("encode");
        prop_assert_eq!(FanoutMessage::decode_batch(&body, DEFAULT_MAX_BODY).expect("decode"), messages);
    }

    #[test]
    fn group_info_exchange(
        cipher_suite in ciphersuite(),
        requesting_signature_key in signature_key(),
        requesting_credential in credential(),
        group_info_public_key in bytes(32),
        joining_code in bytes(16),
        signature in bytes(64),
        room_id in uri(),
        status in 1u8..4,
        kem_output in prop::collection::vec(any::<u8>(), 0..32),
        ciphertext in prop::collection::vec(any::<u8>(), 0..64),
        pending in prop::collection::vec(any::<u64>(), 0..3),
        tree in ratchet_tree_option(),
    ) {
        let request = GroupInfoRequest {
            protocol: Protocol::Mls10,
            cipher_suite,
            requesting_signature_key: requesting_signature_key.clone(),
            requesting_credential: requesting_credential.clone(),
            group_info_public_key,
            joining_code,
            signature: signature.clone(),
        };
        round_trip(&request);
        request.tbs_bytes().expect("tbs");
        let outcome = match status {
            1 => GroupInfoOutcome::Success(GroupInfoSuccess {
                cipher_suite,
                hub_sender: ExternalSender::new(requesting_signature_key, requesting_credential),
                encrypted_groupinfo_and_tree: HpkeCiphertext { kem_output: kem_output.into(), ciphertext: ciphertext.into() },
                signature,
            }),
            2 => GroupInfoOutcome::NotAuthorized,
            _ => GroupInfoOutcome::NoSuchRoom,
        };
        let response = GroupInfoResponse { protocol: Protocol::Mls10, room_id: room_id.clone(), outcome };
        round_trip(&response);
        if let GroupInfoOutcome::Success(s) = &response.outcome {
            let tbs = GroupInfoResponse::tbs_bytes(Protocol::Mls10, &room_id, s).expect("tbs");
            let full = response.encode().expect("encode");
            prop_assert!(full.starts_with(&tbs));
        }
        round_trip(&GroupInfoRatchetTreeTbe {
            group_info: GroupInfo::from_bytes(mls().group_info.clone()).expect("fixture"),
            ratchet_tree_option: tree,
            pending_proposals: pending
                .into_iter()
                .map(|t| PendingProposal { proposal: message(&mls().proposal), hub_accepted_time: t })
                .collect(),
        });
    }

    #[test]
    fn consent(
        op in 0u8..4,
        requester_uri in uri(),
        target_uri in uri(),
        room_id in prop::option::of(uri()),
        kps in 0usize..3,
        consent_extensions in dictionary(),
    ) {
        let operation = match op {
            0 => ConsentOperation::Cancel,
            1 => ConsentOperation::Request,
            2 => ConsentOperation::Grant { client_key_packages: vec![key_package(); kps] },
            _ => ConsentOperation::Revoke,
        };
        let entry = ConsentEntry { operation, requester_uri, target_uri, room_id, consent_extensions };
        round_trip(&entry);
        round_trip(&entry.scope());
    }

    #[test]
    fn identifier_query(
        elements in prop::collection::vec((1u8..9, bytes(12), text()), 0..4),
        id_request_extensions in dictionary(),
        code in 0u8..5,
        uris in prop::collection::vec(uri(), 0..3),
        profiles in prop::collection::vec((uri(), prop::collection::vec((any::<bool>(), text(), bytes(16)), 0..3)), 0..3),
    ) {
        let query_elements = elements
            .into_iter()
            .map(|(t, name, search_value)| QueryElement {
                kind: match t {
                    1 => SearchKind::Handle,
                    2 => SearchKind::Nick,
                    3 => SearchKind::Email,
                    4 => SearchKind::Phone,
                    5 => SearchKind::PartialName,
                    6 => SearchKind::WholeProfile,
                    7 => SearchKind::OidcStdClaim { claim_name: name },
                    _ => SearchKind::VcardField { property_name: name },
                },
                search_value,
            })
            .collect();
        round_trip(&IdentifierRequest { query_elements, id_request_extensions: id_request_extensions.clone() });
        let response_code = [
            IdentifierQueryCode::Success,
            IdentifierQueryCode::NotFound,
            IdentifierQueryCode::Ambiguous,
            IdentifierQueryCode::Forbidden,
            IdentifierQueryCode::UnsupportedField,
        ][code as usize];
        round_trip(&IdentifierResponse {
            response_code,
            uri: uris,
            found_profiles: profiles
                .into_iter()
                .map(|(stable_uri, fields)| UserProfile {
                    stable_uri,
                    fields: fields
                        .into_iter()
                        .map(|(oidc, field_name, field_value)| ProfileField {
                            field_source: if oidc { FieldSource::OidcStdClaim } else { FieldSource::VcardField },
                            field_name,
                            field_value,
                        })
                        .collect(),
                })
                .collect(),
            id_response_extensions: id_request_extensions,
        });
    }

    #[test]
    fn abuse_report(
        reporting_user in prop::option::of(uri()),
        alleged_abuser_uri in uri(),
        reason in any::<u8>(),
        note in text(),
        messages in prop::collection::vec((bytes(64), frank(), any::<u64>()), 0..3),
        abuse_extensions in dictionary(),
    ) {
        round_trip(&AbuseReport {
            reporting_user: OptionalIdentifierUri(reporting_user),
            alleged_abuser_uri,
            reason_code: AbuseType(reason),
            note,
            messages: messages
                .into_iter()
                .map(|(message_content, frank, accepted_timestamp)| AbusiveMessage { message_content, frank, accepted_timestamp })
                .collect(),
            abuse_extensions,
        });
    }

    #[test]
    fn franking_structs(
        franking_tag in any::<[u8; 32]>(),
        sender_uri in uri(),
        room_uri in uri(),
        t in any::<u64>(),
        frank in frank(),
        key in signature_key(),
        credential in credential(),
    ) {
        round_trip(&FrankAad { franking_tag });
        let context = ServerFrankingContext { sender_uri, room_uri, accepted_timestamp: t };
        round_trip(&context);
        let input = context.server_frank_input(&franking_tag).expect("encode");
        prop_assert_eq!(&input[..32], &franking_tag[..]);
        round_trip(&FrankingIntegrityTbs {
            server_frank: frank.server_frank,
            franking_signature_ciphersuite: frank.franking_signature_ciphersuite,
            context,
        });
        round_trip(&FrankingAgentData { franking_signature_key: key, credential });
    }

    #[test]
    fn pseudonymous_credential(
        client_pseudonym in uri(),
        user_pseudonym in uri(),
        signature_public_key in bytes(32),
        identity_link_ciphertext in bytes(64),
        signature in bytes(64),
        client_credential in credential(),
    ) {
        let c = PseudonymousCredential { client_pseudonym, user_pseudonym, signature_public_key, identity_link_ciphertext };
        round_trip(&c);
        prop_assert!(c.encode().expect("encode").starts_with(&c.tbs_bytes().expect("tbs")));
        round_trip(&IdentityLinkTbe { pseudonymous_credential_signature: signature, client_credential });
    }

    #[test]
    fn participant_list(
        participants in prop::collection::vec((uri(), any::<u32>()), 0..5),
        changed in prop::collection::vec(any::<(u32, u32)>(), 0..3),
        removed in prop::collection::vec(any::<u32>(), 0..3),
    ) {
        let pairs: Vec<UserRolePair> = participants.into_iter().map(|(user, role_index)| UserRolePair { user, role_index }).collect();
        let data = ParticipantListData { participants: pairs.clone() };
        round_trip(&data);
        let update = ParticipantListUpdate {
            changed_role_participants: changed.into_iter().map(|(u, r)| UserIndexRolePair { user_index: u, role_index: r }).collect(),
            removed_indices: removed,
            added_participants: pairs,
        };
        round_trip(&update);
        let typed = RoomComponentUpdate::ParticipantList(update);
        let proposal = typed.to_proposal().expect("proposal");
        prop_assert_eq!(RoomComponentUpdate::from_proposal(&proposal).expect("decode"), Some(typed));
        let data = RoomComponentData::ParticipantList(data);
        prop_assert_eq!(
            RoomComponentData::decode(data.component_id(), &data.encode().expect("encode")).expect("decode"),
            Some(data)
        );
    }

    #[test]
    fn room_metadata(
        room_uri in any_uri(),
        room_name in text(),
        descriptions in prop::collection::vec((bytes(20), bytes(8), bytes(40)), 0..3),
        room_avatar in any_uri(),
        room_subject in text(),
        room_mood in text(),
    ) {
        let m = RoomMetaData {
            room_uri,
            room_name,
            room_descriptions: descriptions
                .into_iter()
                .map(|(media_type, language_tag, description_content)| RichDescription { media_type, language_tag, description_content })
                .collect(),
            room_avatar,
            room_subject,
            room_mood,
        };
        round_trip(&m);
        let typed = RoomComponentUpdate::RoomMetadata(m);
        prop_assert_eq!(RoomComponentUpdate::from_proposal(&typed.to_proposal().expect("p")).expect("d"), Some(typed));
    }

    #[test]
    fn roles_and_preauth(
        roles in prop::collection::vec(role(), 0..3),
        entries in prop::collection::vec(
            (prop::collection::vec((any::<u16>(), bytes(8), bytes(8)), 0..3), role()),
            0..3,
        ),
    ) {
        let roles = RoleData { roles };
        round_trip(&roles);
        let preauth = PreAuthData {
            preauthorized_entries: entries
                .into_iter()
                .map(|(claims, target_role)| PreAuthRoleEntry {
                    claimset: claims
                        .into_iter()
                        .map(|(t, id, v)| Claim { claim_id: ClaimId { credential_type: t, id }, claim_value: v })
                        .collect(),
                    target_role,
                })
                .collect(),
        };
        round_trip(&preauth);
        for typed in [RoomComponentUpdate::Roles(roles), RoomComponentUpdate::PreAuth(preauth)] {
            prop_assert_eq!(RoomComponentUpdate::from_proposal(&typed.to_proposal().expect("p")).expect("d"), Some(typed));
        }
    }

    #[test]
    fn base_and_simple_policies(
        flags in any::<[bool; 7]>(),
        parent in prop::collection::vec(any_uri(), 0..2),
        limits in any::<(Option<u32>, Option<u32>)>(),
        ids in prop::collection::vec(any::<u16>(), 0..4),
        o in (optionality(), optionality(), optionality(), optionality(), optionality()),
        join_link in any_uri(),
        expiration in any::<u32>(),
        links in prop::collection::vec(bytes(16), 0..3),
        removed in prop::collection::vec(any::<u32>(), 0..3),
        proxies in gated(prop::collection::vec(any_uri(), 0..2)),
    ) {
        round_trip(&BaseRoomPolicy {
            fixed_membership: flags[0].into(),
            parent_dependant: flags[1].into(),
            parent_room: parent,
            multi_device: flags[2].into(),
            max_clients: limits.0,
            max_users: limits.1,
            pseudonyms_allowed: flags[3].into(),
            persistent_room: flags[4].into(),
            discoverable: flags[5].into(),
            policy_component_ids: ids,
        });
        round_trip(&StatusNotificationPolicy { delivery_notifications: o.0, read_receipts: o.1 });
        round_trip(&JoinLinkPolicy { on_request: flags[6].into(), join_link, multiuser: flags[0].into(), expiration });
        let links: Vec<JoinLink> = links.into_iter().map(|join_link| JoinLink { join_link }).collect();
        round_trip(&JoinLinksData { links: links.clone() });
        round_trip(&JoinLinksUpdate { removed_indices: removed, added_links: links });
        round_trip(&LinkPreviewPolicy {
            autodetect_hyperlinks_in_text: o.2,
            send_link_previews: o.3,
            automatic_link_previews: o.4,
            link_preview_proxy_use: proxies,
        });
    }

    #[test]
    fn asset_logging_history_bots_expiry(
        domains in prop::collection::vec((bytes(12), prop::collection::vec(bytes(12), 0..3)), 0..3),
        sizes in any::<[u64; 4]>(),
        forbidden in prop::collection::vec(media_type(), 0..2),
        permitted in prop::option::of(prop::collection::vec(media_type(), 0..2)),
        logging in gated((prop::collection::vec(any_uri(), 0..2), any_uri(), any_uri())),
        history in gated((prop::collection::vec(any::<u32>(), 0..3), any::<bool>(), any::<u32>())),
        bots in prop::collection::vec((text(), text(), any_uri(), any::<[bool; 3]>(), any::<u32>()), 0..2),
        expiry in gated((any::<u32>(), any::<u32>(), any::<Option<u32>>())),
    ) {
        let dt = [DownloadPrivacyType::Direct, DownloadPrivacyType::HubProxy, DownloadPrivacyType::Ohttp];
        round_trip(&AssetPolicy {
            asset_upload_location: AssetUploadLocation::Hub,
            upload_domains: domains
                .into_iter()
                .map(|(p, d)| ProviderAssetUploadDomains {
                    provider: DomainName { domain: p },
                    asset_upload_destinations: d.into_iter().map(|domain| DomainName { domain }).collect(),
                })
                .collect(),
            download_privacy: DownloadPrivacy {
                allowed_download_types: dt.to_vec(),
                forbidden_download_types: vec![],
                default_download_type: DownloadPrivacyType::HubProxy,
            },
            max_image: sizes[0],
            max_audio: sizes[1],
            max_video: sizes[2],
            max_attachment: sizes[3],
            forbidden_media_types: forbidden,
            permitted_media_types: permitted,
        });
        let map_gated = |g: Gated<_>, f: &dyn Fn(_) -> _| match g {
            Gated::Optional(x) => Gated::Optional(f(x)),
            Gated::Required(x) => Gated::Required(f(x)),
            Gated::Forbidden => Gated::Forbidden,
        };
        round_trip(&LoggingPolicy {
            logging: map_gated(logging, &|(c, m, h)| LoggingDetails { logging_clients: c, machine_readable_policy: m, human_readable_policy: h }),
        });
        let history = match history {
            Gated::Optional((r, a, m)) => Gated::Optional(HistoryDetails { roles_that_can_share: r, automatically_share: a.into(), max_time_period: m }),
            Gated::Required((r, a, m)) => Gated::Required(HistoryDetails { roles_that_can_share: r, automatically_share: a.into(), max_time_period: m }),
            Gated::Forbidden => Gated::Forbidden,
        };
        round_trip(&HistoryPolicy { history_sharing: history });
        round_trip(&BotPolicy {
            allowed_bots: bots
                .into_iter()
                .map(|(name, description, homepage, f, bot_role_index)| Bot {
                    name,
                    description,
                    homepage,
                    local_client_bot: f[0].into(),
                    bot_role_index,
                    can_target_message_in_group: f[1].into(),
                    per_user_content: f[2].into(),
                })
                .collect(),
        });
        let expiry = match expiry {
            Gated::Optional((a, b, c)) => Gated::Optional(ExpirationDetails { min_expiration_duration: a, max_expiration_duration: b, default_expiration_duration: c }),
            Gated::Required((a, b, c)) => Gated::Required(ExpirationDetails { min_expiration_duration: a, max_expiration_duration: b, default_expiration_duration: c }),
            Gated::Forbidden => Gated::Forbidden,
        };
        round_trip(&MessageExpiration { expiring_messages: expiry });
    }

    #[test]
    fn operational_parameters(
        caps in (extended_capabilities(), extended_capabilities(), extended_capabilities()),
        formats in prop::collection::vec(any::<u16>(), 0..3),
        flags in any::<(bool, bool)>(),
        strategy in (0u8..3, any::<u64>(), any::<u64>()),
        times in (min_default_max(), min_default_max(), min_default_max()),
        app in any::<(u8, u16, u32)>(),
        lifetimes in any::<(u64, u64, u64, u32, u32)>(),
    ) {
        let p = OperationalParameters {
            mandatory_capabilities: caps.0,
            default_capabilities: caps.1,
            forbidden_capabilities: caps.2,
            handshake_formats: formats,
            external_proposal_allowed: flags.0.into(),
            external_commit_allowed: flags.1.into(),
            pending_proposal_policy: match strategy.0 {
                0 => PendingProposalPolicy::Unspecified,
                1 => PendingProposalPolicy::ImmediateCommit,
                _ => PendingProposalPolicy::RandomDelay { minimum_delay_ms: strategy.1, maximum_delay_ms: strategy.2 },
            },
            leaf_node_update_time: times.0,
            app_message_policy: AppMessagePolicy { epoch_tolerance: app.0, pad_to_size: app.1, max_generations_skipahead: app.2 },
            max_kp_lifetime: lifetimes.0,
            max_credential_lifetime: lifetimes.1,
            resumption_psk_lifetime: lifetimes.2,
            sender_nonce_keypair_lifetime: times.1,
            max_keypairs: lifetimes.3,
            buffer_incoming_message_time: times.2,
            max_buffered_messages: lifetimes.4,
        };
        round_trip(&p);
        let typed = RoomComponentUpdate::OperationalPolicy(Box::new(p));
        prop_assert_eq!(RoomComponentUpdate::from_proposal(&typed.to_proposal().expect("p")).expect("d"), Some(typed));
    }

    /// Arbitrary bytes into every body decoder: an error or a value, never a panic; a value
    /// re-encodes to exactly the input.
    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..512)) {
        fn check<T: WireMessage + Debug>(input: &[u8]) {
            if let Ok(v) = T::decode(input) {
                assert_eq!(v.encode().expect("re-encode"), input, "{}", T::NAME);
            }
        }
        check::<KeyMaterialRequest>(&input);
        check::<KeyMaterialResponse>(&input);
        check::<UpdateRequest>(&input);
        check::<UpdateRoomResponse>(&input);
        check::<SubmitMessageRequest>(&input);
        check::<SubmitMessageResponse>(&input);
        check::<FanoutMessage>(&input);
        check::<GroupInfoRequest>(&input);
        check::<GroupInfoResponse>(&input);
        check::<ConsentEntry>(&input);
        check::<IdentifierRequest>(&input);
        check::<IdentifierResponse>(&input);
        check::<AbuseReport>(&input);
        check::<PseudonymousCredential>(&input);
        check::<ParticipantListData>(&input);
        check::<ParticipantListUpdate>(&input);
        check::<RoomMetaData>(&input);
        let _ = FanoutMessage::decode_batch(&input, DEFAULT_MAX_BODY);
        for id in 0x20u16..=0x30 {
            let _ = RoomComponentUpdate::decode(id, &input);
            let _ = RoomComponentData::decode(id, &input);
        }
    }

    /// Flip bytes of valid bodies: decoding fails or yields a value that re-encodes to the
    /// mutated bytes (no silent normalization).
    #[test]
    fn mutated_bodies(bundle in handshake_bundle(), at in any::<prop::sample::Index>(), to in any::<u8>()) {
        let mut bytes = UpdateRequest { bundle }.encode().expect("encode");
        let i = at.index(bytes.len());
        bytes[i] = to;
        if let Ok(v) = UpdateRequest::decode(&bytes) {
            prop_assert_eq!(v.encode().expect("re-encode"), bytes);
        }
    }
}
