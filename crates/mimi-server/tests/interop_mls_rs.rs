//! Interop with an independent MLS implementation (issue 8, docs/interop.md): a client built
//! on mls-rs, next to OpenMLS clients, in one MIMI room through real providers. It publishes
//! a KeyPackage, joins by Welcome, receives and sends MIMI content; a second mls-rs device
//! joins by external commit, and the first follows it; then alice removes them.
//!
//! What does not work is recorded in docs/interop.md and asserted at the end of the test:
//! mls-rs 0.57 encodes and decodes the body of every proposal type it does not know as
//! `opaque data<V>`, but the mls-extensions AppDataUpdate proposal (0x0008) is a bare struct,
//! as every RFC 9420 proposal body is. So mls-rs cannot read a commit that changes the
//! participant list, and in MIMI every membership change does (protocol-06 §5.3). If mls-rs
//! changes that, the last assertion fails and docs/interop.md needs updating.
//!
//! The mls-rs client accepts the X.509 credentials the hub verified (`ProviderCertified`):
//! each provider certifies its own clients and the hub checks every leaf (docs/security.md).

mod support;

use std::convert::Infallible;

use mimi_room::policy::Preset;
use mimi_types::wire::{
    FanoutMessage, FanoutPayload, KeyPackage, MlsMessage as WireMls, Protocol, RatchetTreeOption,
    SubmitMessageRequest, SubmitOutcome, UpdateOutcome, WireMessage as _,
};
use mls_rs::client_builder::MlsConfig;
use mls_rs::group::ReceivedMessage;
use mls_rs::identity::{Credential, CredentialType, SigningIdentity};
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules};
use mls_rs::time::MlsTime;
use mls_rs::{
    CipherSuite, CipherSuiteProvider, Client, CryptoProvider, ExtensionList, IdentityProvider,
    MlsMessage,
};
use mls_rs_core::identity::{CertificateChain, DerCertificate, MemberValidationContext};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use support::{Net, alice_hosts, kps};

/// The MIMI profile's suite (mimi-room `profile::CIPHERSUITE`).
const SUITE: CipherSuite = CipherSuite::CURVE25519_AES128;
/// mls-extensions: the `app_data_dictionary` GroupContext extension.
const APP_DATA_DICTIONARY: u16 = 0x0006;
/// mls-extensions: the AppDataUpdate proposal.
const APP_DATA_UPDATE: u16 = 0x0008;

/// Accepts the X.509 credentials the hub verified (see the module comment).
#[derive(Clone, Debug)]
struct ProviderCertified;

impl IdentityProvider for ProviderCertified {
    type Error = Infallible;

    fn validate_member(
        &self,
        _: &SigningIdentity,
        _: Option<MlsTime>,
        _: MemberValidationContext<'_>,
    ) -> Result<(), Infallible> {
        Ok(())
    }

    fn validate_external_sender(
        &self,
        _: &SigningIdentity,
        _: Option<MlsTime>,
        _: Option<&ExtensionList>,
    ) -> Result<(), Infallible> {
        Ok(())
    }

    fn identity(&self, id: &SigningIdentity, _: &ExtensionList) -> Result<Vec<u8>, Infallible> {
        Ok(id.signature_key.to_vec())
    }

    fn valid_successor(
        &self,
        _: &SigningIdentity,
        _: &SigningIdentity,
        _: &ExtensionList,
    ) -> Result<bool, Infallible> {
        Ok(true)
    }

    fn supported_types(&self) -> Vec<CredentialType> {
        vec![CredentialType::BASIC, CredentialType::X509]
    }
}

fn any(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

/// An mls-rs device `device` of `user` at provider `d`, certified by that provider: the
/// client, its signature key pair, and the OpenMLS form of its credential.
struct RsDevice<C: MlsConfig> {
    client: Client<C>,
    uri: mimi_types::id::ClientUri,
    credential: openmls::prelude::Credential,
    secret: mls_rs::crypto::SignatureSecretKey,
    public: mls_rs::crypto::SignaturePublicKey,
}

async fn mls_rs_device(
    net: &Net,
    d: &str,
    user: &mimi_types::id::UserUri,
    device: &str,
) -> RsDevice<impl MlsConfig + use<>> {
    let p = net.provider(d).clone();
    let crypto = RustCryptoProvider::default();
    let suite = crypto.cipher_suite_provider(SUITE).expect("suite");
    let (secret, public) = suite.signature_key_generate().expect("key");
    let (uri, credential) = p
        .register_client(user, device, public.as_bytes())
        .await
        .expect("certify");
    let der = mimi_credential::decode_certificate_chain(credential.serialized_content())
        .expect("chain")
        .into_iter()
        .map(|c| DerCertificate::new(c.to_vec()))
        .collect::<Vec<_>>();
    let identity = SigningIdentity::new(
        Credential::X509(CertificateChain::from(der)),
        public.clone(),
    );
    let client = Client::builder()
        .crypto_provider(crypto)
        .identity_provider(ProviderCertified)
        .mls_rules(
            DefaultMlsRules::new()
                .with_commit_options(CommitOptions::default().with_ratchet_tree_extension(false)),
        )
        .extension_type(mls_rs::extension::ExtensionType::new(APP_DATA_DICTIONARY))
        .custom_proposal_type(mls_rs::group::proposal::ProposalType::new(APP_DATA_UPDATE))
        .signing_identity(identity, secret.clone(), SUITE)
        .build();
    RsDevice {
        client,
        uri,
        credential,
        secret,
        public,
    }
}

/// A protocol-06 §5.6 GroupInfo request signed by the mls-rs device, and the HPKE private
/// key the answer is sealed to.
fn group_info_request<C: MlsConfig>(
    device: &RsDevice<C>,
) -> (mimi_types::wire::GroupInfoRequest, Vec<u8>) {
    use openmls_traits::crypto::OpenMlsCrypto as _;
    let crypto = openmls_rust_crypto::RustCrypto::default();
    let mut ikm = [0u8; 32];
    getrandom::fill(&mut ikm).expect("random");
    let pair = crypto
        .derive_hpke_keypair(mimi_room::profile::CIPHERSUITE.hpke_config(), &ikm)
        .expect("HPKE key");
    let mut request = mimi_types::wire::GroupInfoRequest {
        protocol: Protocol::Mls10,
        cipher_suite: mimi_room::profile::CIPHERSUITE.into(),
        requesting_signature_key: device.public.as_bytes().to_vec().into(),
        requesting_credential: device.credential.clone(),
        group_info_public_key: pair.public.into(),
        joining_code: Vec::new().into(),
        signature: Vec::new().into(),
    };
    let content = mimi_types::wire::sign_content(
        mimi_types::wire::GROUP_INFO_REQUEST_LABEL,
        &request.tbs_bytes().expect("tbs"),
    )
    .expect("SignContent");
    let suite = RustCryptoProvider::default()
        .cipher_suite_provider(SUITE)
        .expect("suite");
    request.signature = suite.sign(&device.secret, &content).expect("sign").into();
    (request, pair.private.to_vec())
}

/// Open the hub's answer: the GroupInfo and the ratchet tree.
fn open_group_info(
    response: &mimi_types::wire::GroupInfoResponse,
    private: &[u8],
) -> (mimi_types::wire::GroupInfo, mimi_types::wire::RatchetTree) {
    use openmls::prelude::tls_codec::Deserialize as _;
    use openmls_traits::crypto::OpenMlsCrypto as _;
    let mimi_types::wire::GroupInfoOutcome::Success(success) = &response.outcome else {
        panic!("the hub refused: {:?}", response.outcome);
    };
    let info = mimi_types::wire::sign_content(
        mimi_types::wire::GROUP_INFO_ENCRYPTION_LABEL,
        response.room_id.as_received().as_bytes(),
    )
    .expect("EncryptContext");
    let plaintext = openmls_rust_crypto::RustCrypto::default()
        .hpke_open(
            mimi_room::profile::CIPHERSUITE.hpke_config(),
            &success.encrypted_groupinfo_and_tree,
            private,
            &info,
            &[],
        )
        .expect("open");
    let tbe = mimi_types::wire::GroupInfoRatchetTreeTbe::tls_deserialize_exact(&plaintext)
        .expect("GroupInfoRatchetTreeTBE");
    let RatchetTreeOption::Full(tree) = tbe.ratchet_tree_option else {
        panic!("no tree");
    };
    (tbe.group_info, tree)
}

fn to_wire(m: &MlsMessage) -> WireMls {
    WireMls::from_bytes(m.to_bytes().expect("encode")).expect("our decoder takes mls-rs output")
}

fn from_wire(m: &WireMls) -> MlsMessage {
    MlsMessage::from_bytes(m.as_bytes()).unwrap_or_else(|e| {
        panic!(
            "mls-rs does not take {}...: {e:?}",
            hex::encode(m.as_bytes())
        )
    })
}

fn salt() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("random");
    b
}

/// Fanout the provider stored for the mls-rs device since `cursor`.
async fn fanout_for(
    net: &Net,
    d: &str,
    client: &mimi_types::id::ClientUri,
    cursor: &mut u64,
) -> Vec<FanoutMessage> {
    net.settle().await;
    let events = net
        .provider(d)
        .events(client, *cursor, 100)
        .await
        .expect("events");
    events
        .into_iter()
        .map(|e| {
            *cursor = e.cursor;
            FanoutMessage::decode_with_limit(&e.body, 1 << 24).expect("fanout")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mls_rs_clients_join_by_welcome_and_external_commit_and_exchange_messages() {
    let mut net = Net::start(&["a.example", "b.example"]).await;
    net.add_user("alice", "a.example").await;
    let room = alice_hosts(&mut net, "interop").await;
    let a = net.provider("a.example").clone();
    let preset = Preset::CooperativelyAdministered;

    // bob's mls-rs client publishes a KeyPackage at b.
    let b = net.provider("b.example").clone();
    let bob_user = b.register_user("bob", "", "bob").await.expect("user");
    let bob_device = mls_rs_device(&net, "b.example", &bob_user, "rs").await;
    let bob = &bob_device.client;
    let bob_client = bob_device.uri.clone();
    let kp = bob
        .generate_key_package_message(ExtensionList::default(), ExtensionList::default(), None)
        .expect("key package");
    let kp = KeyPackage::from_bytes(kp.to_bytes().expect("encode")[4..].to_vec())
        .expect("our decoder takes an mls-rs KeyPackage");
    b.publish_key_packages(&bob_client, &[kp])
        .await
        .map_err(any)
        .expect("b accepts the mls-rs KeyPackage");

    // alice (OpenMLS) adds bob through the hub.
    let request = net
        .client("alice")
        .key_material_request(&bob_user, &room)
        .expect("request");
    let response = a
        .client_key_material(&room, &request)
        .await
        .expect("key material");
    let commit = net
        .client("alice")
        .add_users(
            &room,
            &[(
                bob_user.clone().into(),
                preset.member_role(),
                kps(&response),
            )],
        )
        .expect("commit");
    let outcome = a.client_update(&room, &commit).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.client("alice").commit_accepted(&room).expect("merge");

    // bob joins by the Welcome b delivered.
    let mut cursor = 0;
    let fanout = fanout_for(&net, "b.example", &bob_client, &mut cursor).await;
    let (welcome, tree) = fanout
        .iter()
        .find_map(|m| match &m.payload {
            FanoutPayload::Welcome {
                message,
                ratchet_tree,
            } => Some((message.clone(), ratchet_tree.clone())),
            _ => None,
        })
        .expect("a Welcome for bob");
    let RatchetTreeOption::Full(tree) = tree else {
        panic!("the Welcome has no full tree");
    };
    let tree =
        mls_rs::group::ExportedTree::from_bytes(tree.as_bytes()).expect("mls-rs takes the tree");
    let (mut bob_group, _) = bob
        .join_group(Some(tree), &from_wire(&welcome), None)
        .map_err(any)
        .expect("mls-rs joins by the Welcome");
    assert_eq!(
        bob_group.current_epoch(),
        net.client("alice").epoch(&room).expect("epoch")
    );

    // alice (OpenMLS) → bob (mls-rs).
    let text = net
        .client("alice")
        .send_text(&room, salt(), "hello mls-rs", None)
        .expect("encrypt");
    let r = a.client_submit(&room, &text).await.expect("submit");
    assert!(matches!(r.outcome, SubmitOutcome::Accepted { .. }));
    let fanout = fanout_for(&net, "b.example", &bob_client, &mut cursor).await;
    let message = fanout
        .iter()
        .find_map(|m| match &m.payload {
            FanoutPayload::Application { message, .. } => Some(message.clone()),
            _ => None,
        })
        .expect("alice's message at b");
    let received = bob_group
        .process_incoming_message(from_wire(&message))
        .map_err(any)
        .expect("mls-rs decrypts");
    let ReceivedMessage::ApplicationMessage(app) = received else {
        panic!("not an application message: {received:?}");
    };
    let content = mimi_content::decode(app.data()).expect("MIMI content");
    assert_eq!(mimi_content::render_text(&content), "hello mls-rs");

    // bob (mls-rs) → alice (OpenMLS), through b to the hub.
    let content = mimi_content::MimiContent::text(
        salt(),
        bob_user.as_str(),
        room.as_str(),
        "hello OpenMLS",
        None,
    );
    let encrypted = bob_group
        .encrypt_application_message(&content.to_cbor(), vec![])
        .expect("mls-rs encrypts");
    let request = SubmitMessageRequest {
        protocol: Protocol::Mls10,
        app_message: to_wire(&encrypted),
        sending_uri: mimi_types::id::MimiUri::from(bob_user.clone()).into(),
    };
    let r = b.client_submit(&room, &request).await.expect("submit");
    assert!(matches!(r.outcome, SubmitOutcome::Accepted { .. }), "{r:?}");
    net.pump(&room).await;
    assert_eq!(net.texts("alice"), ["hello OpenMLS"]);
    let sender = net.clients["alice"].events.iter().find_map(|e| match e {
        mimi_client::ClientEvent::Message { sender, .. } => sender.clone(),
        _ => None,
    });
    assert_eq!(
        sender,
        Some(mimi_types::id::MimiUri::from(bob_user.clone())),
        "alice sees bob (from his mls-rs leaf's credential) as the sender"
    );

    // bob's second device, also mls-rs, joins by external commit (protocol-06 §3 flow 6):
    // GroupInfo from the hub through b, then the commit through b.
    let second = mls_rs_device(&net, "b.example", &bob_user, "rs2").await;
    let (request, private) = group_info_request(&second);
    let response = b
        .client_group_info(&room, &request)
        .await
        .expect("groupInfo through b");
    let (group_info, tree) = open_group_info(&response, &private);
    let mut framed = vec![0, 1, 0, 4]; // mls10, mls_group_info
    framed.extend_from_slice(group_info.as_bytes());
    let (second_group, external_commit) = second
        .client
        .external_commit_builder()
        .expect("builder")
        .with_tree_data(
            mls_rs::group::ExportedTree::from_bytes(tree.as_bytes())
                .expect("tree")
                .into_owned(),
        )
        .build(MlsMessage::from_bytes(&framed).expect("GroupInfo"))
        .map_err(any)
        .expect("mls-rs builds the external commit");
    let new_info = second_group
        .group_info_message_allowing_ext_commit(true)
        .expect("GroupInfo");
    let new_tree = second_group.export_tree().to_bytes().expect("tree");
    let update = mimi_types::wire::UpdateRequest {
        bundle: mimi_types::wire::HandshakeBundle::Commit {
            commit: to_wire(&external_commit),
            welcome: None,
            group_info: mimi_types::wire::GroupInfoOption::Full(
                mimi_types::wire::GroupInfo::from_bytes(
                    new_info.to_bytes().expect("encode")[4..].to_vec(),
                )
                .expect("GroupInfo"),
            ),
            ratchet_tree: RatchetTreeOption::Full(
                mimi_types::wire::RatchetTree::from_bytes(new_tree).expect("tree"),
            ),
        },
    };
    b.joined_by_external_commit(&room, &second.uri)
        .await
        .expect("joined");
    let outcome = b.client_update(&room, &update).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "the hub refused mls-rs's external commit: {outcome:?}"
    );
    net.pump(&room).await;
    assert_eq!(net.client("alice").member_count(&room).expect("members"), 3);
    // The first mls-rs device follows the external commit (no AppDataUpdate in it).
    let fanout = fanout_for(&net, "b.example", &bob_client, &mut cursor).await;
    let commit = fanout
        .iter()
        .find_map(|m| match &m.payload {
            FanoutPayload::Commit { message, .. } => Some(message.clone()),
            _ => None,
        })
        .expect("the external commit reaches b");
    bob_group
        .process_incoming_message(from_wire(&commit))
        .map_err(any)
        .expect("mls-rs processes the external commit");
    assert_eq!(bob_group.current_epoch(), second_group.current_epoch());
    assert_eq!(
        second_group.current_epoch(),
        net.client("alice").epoch(&room).expect("epoch")
    );

    // alice removes bob: a commit with Remove and the participant-list AppDataUpdate.
    let commit = net
        .client("alice")
        .remove_users(&room, &[bob_user.clone().into()])
        .expect("commit");
    let outcome = a.client_update(&room, &commit).await.expect("update");
    assert!(
        matches!(outcome.outcome, UpdateOutcome::Success { .. }),
        "{outcome:?}"
    );
    net.client("alice").commit_accepted(&room).expect("merge");
    let fanout = fanout_for(&net, "b.example", &bob_client, &mut cursor).await;
    let removal = fanout
        .iter()
        .find_map(|m| match &m.payload {
            FanoutPayload::Commit { message, .. } => Some(message.clone()),
            _ => None,
        })
        .expect("the removing commit reaches b");
    // The known incompatibility (module comment): mls-rs cannot decode the commit.
    let bytes = removal.as_bytes();
    assert!(
        MlsMessage::from_bytes(bytes).is_err(),
        "mls-rs now decodes AppDataUpdate proposals: update docs/interop.md and process the \
         removal here"
    );
    let _ = bob_group;
}
