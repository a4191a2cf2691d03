//! Fetch key material, protocol-06 §5.2, with the target as the target user's provider. The
//! requester is a user of peer c, asking for a room c hosts (so c may ask directly).
//!
//! The draft defines the response codes but no HTTP status for a refused request; where a
//! request must be refused, a case accepts any 4xx or a non-success user code, and checks
//! that no KeyPackage was handed out (a later honest request still gets it).

use mimi_client::MimiClient;
use mimi_types::id::{MimiUri, RoomUri, UserUri};
use mimi_types::wire::{
    ClientMaterial, Endpoint, IdentifierUri, KEY_MATERIAL_REQUEST_LABEL, KeyMaterialRequest,
    KeyMaterialResponse, KeyMaterialUserCode, WireMessage,
};
use tls_codec::Deserialize as _;

use super::{Case, case};
use crate::ctx::{Check, Context as _, Ctx, SuitePeer, Why, fresh_id, key_packages_of};
use crate::driver::LocalUser;
use crate::ensure;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "KM-01",
            "protocol-06 §5.2",
            "a user with KeyPackages: success, one entry per client, each with a KeyPackage",
            success
        ),
        case!(
            "KM-02",
            "protocol-06 §5.2",
            "the response names the target user",
            names_user
        ),
        case!(
            "KM-03",
            "protocol-06 §5.2",
            "the KeyPackage verifies and its credential is the target user's client",
            valid_key_package
        ),
        case!(
            "KM-04",
            "protocol-06 §5.2",
            "a KeyPackage is never handed out twice",
            one_time
        ),
        case!(
            "KM-05",
            "protocol-06 §5.2",
            "a KeyPackage handed to one requester is not handed to another",
            one_time_across_requesters
        ),
        case!(
            "KM-06",
            "protocol-06 §5.2",
            "when the material is exhausted, no KeyPackage and no success",
            exhausted
        ),
        case!(
            "KM-07",
            "protocol-06 §5.2",
            "an unknown user: userUnknown (or noConsent) and no clients",
            unknown_user
        ),
        case!(
            "KM-08",
            "protocol-06 §5.2",
            "a bad request signature is refused and consumes nothing",
            bad_signature
        ),
        case!(
            "KM-09",
            "protocol-06 §5.2, §4.1",
            "a requester of another provider, not relayed by a hub, is refused",
            foreign_requester
        ),
        case!(
            "KM-10",
            "protocol-06 §5.2",
            "a requestingUser that the requesterCredential does not name is refused",
            credential_not_requester
        ),
        case!(
            "KM-11",
            "protocol-06 §5.2",
            "a path user different from targetUser is refused with 400",
            path_mismatch
        ),
        case!(
            "KM-12",
            "protocol-06 §5.2",
            "no acceptable ciphersuite: no KeyPackage is handed out",
            no_common_ciphersuite
        ),
        case!(
            "KM-13",
            "protocol-06 §5",
            "the reserved protocol value 0 is refused with 400",
            reserved_protocol
        ),
        case!(
            "KM-14",
            "protocol-06 §5.2",
            "a user of another provider, for a room the target does not host, is refused",
            not_ours
        ),
        case!(
            "KM-15",
            "protocol-06 §5.2",
            "an expired KeyPackage is never handed out",
            expired_not_handed_out
        ),
    ]
}

/// A room of peer c (the requester's hub), for the request's roomId.
fn c_room(cx: &Ctx) -> Result<RoomUri, Why> {
    RoomUri::parse(&format!("mimi://{}/r/{}", cx.c.domain(), fresh_id())).ctx("room")
}

/// Sign `request` again with `signer`'s key after a change.
fn resign(signer: &MimiClient, request: &mut KeyMaterialRequest) -> Check {
    let tbs = request.tbs_bytes().ctx("tbs")?;
    request.key_material_request_signature = signer
        .sign_labeled(KEY_MATERIAL_REQUEST_LABEL, &tbs)
        .ctx("sign")?
        .into();
    Ok(())
}

/// POST a key-material request from `peer` for `target`; the status and decoded answer.
async fn ask(
    cx: &Ctx,
    peer: &SuitePeer,
    target: &UserUri,
    body: Vec<u8>,
) -> Result<(u16, Option<KeyMaterialResponse>), Why> {
    let r = cx
        .post(peer, Endpoint::KeyMaterial, &target.to_url_path(), body)
        .await?;
    let status = r.status.as_u16();
    let decoded = if status == 200 {
        Some(KeyMaterialResponse::decode(&r.body).ctx("the answer does not decode")?)
    } else {
        None
    };
    Ok((status, decoded))
}

/// An honest request of `requester` (of peer c) for `target`.
async fn honest(
    cx: &Ctx,
    requester: &MimiClient,
    target: &UserUri,
) -> Result<KeyMaterialResponse, Why> {
    let request = requester
        .key_material_request(target, &c_room(cx)?)
        .ctx("request")?;
    let (status, r) = ask(cx, &cx.c, target, request.encode().ctx("encode")?).await?;
    r.ok_or_else(|| Why::Fail(format!("an honest request was answered {status}")))
}

async fn bob(cx: &Ctx, kps: usize) -> Result<LocalUser, Why> {
    cx.local_user("bob", kps).await
}

async fn success(cx: &Ctx) -> Check {
    let bob = bob(cx, 2).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let r = honest(cx, &cathy, bob.mls.user_uri()).await?;
    ensure!(
        r.user_status == KeyMaterialUserCode::Success,
        "user status {:?}",
        r.user_status
    );
    ensure!(
        r.clients.len() == 1,
        "{} client entries for a user with one client",
        r.clients.len()
    );
    ensure!(
        matches!(r.clients[0].material, ClientMaterial::Success(_)),
        "client status {:?}",
        r.clients[0].material.code()
    );
    Ok(())
}

async fn names_user(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let r = honest(cx, &cathy, bob.mls.user_uri()).await?;
    ensure!(
        r.user_uri.uri() == &MimiUri::from(bob.mls.user_uri().clone()),
        "userUri {} is not {}",
        r.user_uri,
        bob.mls.user_uri()
    );
    ensure!(
        r.clients
            .iter()
            .all(|c| c.client_uri.uri() == &MimiUri::from(bob.mls.client_uri().clone())),
        "a client entry is not bob's client {}",
        bob.mls.client_uri()
    );
    Ok(())
}

async fn valid_key_package(cx: &Ctx) -> Check {
    use openmls::prelude::{KeyPackageIn, ProtocolVersion};
    let bob = bob(cx, 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let r = honest(cx, &cathy, bob.mls.user_uri()).await?;
    let kp = key_packages_of(&r)
        .into_iter()
        .next()
        .ok_or("no KeyPackage")?;
    let parsed = KeyPackageIn::tls_deserialize_exact(kp.as_bytes()).ctx("KeyPackage")?;
    let crypto = openmls_rust_crypto::RustCrypto::default();
    let verified = parsed
        .validate(&crypto, ProtocolVersion::Mls10)
        .ctx("the KeyPackage does not verify")?;
    ensure!(
        verified.leaf_node().signature_key().as_slice()
            == bob.mls.credential().signature_key.as_slice(),
        "the KeyPackage is not of bob's client"
    );
    Ok(())
}

/// Two honest claims of bob's KeyPackages, by cathy and then by `second`: never the same.
async fn two_claims(cx: &Ctx, second: &str) -> Check {
    let bob = bob(cx, 3).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let other = cx.peer_user(&cx.c, second, 0)?;
    let first = key_packages_of(&honest(cx, &cathy, bob.mls.user_uri()).await?);
    let next = if second == "cathy" { &cathy } else { &other };
    let then = key_packages_of(&honest(cx, next, bob.mls.user_uri()).await?);
    ensure!(!first.is_empty() && !then.is_empty(), "no KeyPackage");
    ensure!(
        first[0].as_bytes() != then[0].as_bytes(),
        "the same KeyPackage twice (second requester: {second})"
    );
    Ok(())
}

async fn one_time(cx: &Ctx) -> Check {
    two_claims(cx, "cathy").await
}

async fn one_time_across_requesters(cx: &Ctx) -> Check {
    two_claims(cx, "carl").await
}

async fn exhausted(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let first = honest(cx, &cathy, bob.mls.user_uri()).await?;
    ensure!(
        !key_packages_of(&first).is_empty(),
        "the only KeyPackage was not handed out"
    );
    let second = honest(cx, &cathy, bob.mls.user_uri()).await?;
    ensure!(
        key_packages_of(&second).is_empty(),
        "a KeyPackage after the last one was claimed"
    );
    ensure!(
        !matches!(second.user_status, KeyMaterialUserCode::Success),
        "success without material"
    );
    Ok(())
}

async fn unknown_user(cx: &Ctx) -> Check {
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let nobody = UserUri::parse(&format!(
        "mimi://{}/u/nobody-{}",
        cx.target.domain,
        fresh_id()
    ))
    .ctx("uri")?;
    let request = cathy
        .key_material_request(&nobody, &c_room(cx)?)
        .ctx("request")?;
    let (status, r) = ask(cx, &cx.c, &nobody, request.encode().ctx("encode")?).await?;
    match r {
        Some(r) => {
            ensure!(
                matches!(
                    r.user_status,
                    KeyMaterialUserCode::UserUnknown | KeyMaterialUserCode::NoConsent
                ),
                "user status {:?}",
                r.user_status
            );
            // §5.2: for any other user code the provider MUST NOT populate clients.
            ensure!(
                r.clients.is_empty(),
                "clients populated for {:?}",
                r.user_status
            );
        }
        None => ensure!(status == 404, "answered {status}, not userUnknown"),
    }
    Ok(())
}

/// The request was refused: a 4xx, or a 200 without any KeyPackage and without success.
fn refused(status: u16, r: &Option<KeyMaterialResponse>) -> Check {
    match r {
        None => ensure!((400..500).contains(&status), "answered {status}"),
        Some(r) => {
            ensure!(key_packages_of(r).is_empty(), "a KeyPackage was handed out");
            ensure!(
                !matches!(
                    r.user_status,
                    KeyMaterialUserCode::Success | KeyMaterialUserCode::PartialSuccess
                ),
                "answered {:?}",
                r.user_status
            );
        }
    }
    Ok(())
}

/// `request` for bob, sent by c, is refused ([`refused`]) and consumes nothing
/// ([`still_there`]); the answer, if it was a 200.
async fn refused_for(
    cx: &Ctx,
    bob: &LocalUser,
    request: &KeyMaterialRequest,
) -> Result<Option<KeyMaterialResponse>, Why> {
    let body = request.encode().ctx("encode")?;
    let (status, r) = ask(cx, &cx.c, bob.mls.user_uri(), body).await?;
    refused(status, &r)?;
    still_there(cx, bob).await?;
    Ok(r)
}

/// Nothing was consumed: bob's only KeyPackage still goes to an honest requester.
async fn still_there(cx: &Ctx, bob: &LocalUser) -> Check {
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let r = honest(cx, &cathy, bob.mls.user_uri()).await?;
    ensure!(
        !key_packages_of(&r).is_empty(),
        "the refused request consumed the KeyPackage"
    );
    Ok(())
}

async fn bad_signature(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let mut request = cathy
        .key_material_request(bob.mls.user_uri(), &c_room(cx)?)
        .ctx("request")?;
    let mut sig = request.key_material_request_signature.as_slice().to_vec();
    if let Some(b) = sig.get_mut(5) {
        *b ^= 0x40;
    }
    request.key_material_request_signature = sig.into();
    refused_for(cx, &bob, &request).await.map(|_| ())
}

async fn foreign_requester(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let dora = cx.peer_user(&cx.d, "dora", 0)?;
    // A room of d: c is neither the requester's provider nor the room's hub.
    let room = RoomUri::parse(&format!("mimi://{}/r/{}", cx.d.domain(), fresh_id())).ctx("room")?;
    let request = dora
        .key_material_request(bob.mls.user_uri(), &room)
        .ctx("request")?;
    refused_for(cx, &bob, &request).await.map(|_| ())
}

async fn credential_not_requester(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let mut request = cathy
        .key_material_request(bob.mls.user_uri(), &c_room(cx)?)
        .ctx("request")?;
    let other = UserUri::parse(&format!(
        "mimi://{}/u/someone-{}",
        cx.c.domain(),
        fresh_id()
    ))
    .ctx("uri")?;
    request.requesting_user = IdentifierUri::from(MimiUri::from(other));
    resign(&cathy, &mut request)?;
    refused_for(cx, &bob, &request).await.map(|_| ())
}

async fn path_mismatch(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let other = cx.local_user("other", 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let request = cathy
        .key_material_request(bob.mls.user_uri(), &c_room(cx)?)
        .ctx("request")?;
    let (status, _) = ask(
        cx,
        &cx.c,
        other.mls.user_uri(),
        request.encode().ctx("encode")?,
    )
    .await?;
    ensure!(status == 400, "answered {status}");
    still_there(cx, &bob).await
}

async fn no_common_ciphersuite(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let mut request = cathy
        .key_material_request(bob.mls.user_uri(), &c_room(cx)?)
        .ctx("request")?;
    // MLS_128_DHKEMP256_AES128GCM_SHA256_P256 only: not the MIMI profile's suite.
    request.acceptable_ciphersuites = vec![openmls::prelude::VerifiableCiphersuite::new(0x0002)];
    resign(&cathy, &mut request)?;
    if let Some(r) = refused_for(cx, &bob, &request).await? {
        ensure!(
            matches!(
                r.user_status,
                KeyMaterialUserCode::NoCompatibleMaterial
                    | KeyMaterialUserCode::IncompatibleProtocol
            ),
            "user status {:?}, expected noCompatibleMaterial",
            r.user_status
        );
    }
    Ok(())
}

async fn reserved_protocol(cx: &Ctx) -> Check {
    let bob = bob(cx, 1).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let request = cathy
        .key_material_request(bob.mls.user_uri(), &c_room(cx)?)
        .ctx("request")?;
    let mut body = request.encode().ctx("encode")?;
    body[0] = 0;
    let (status, _) = ask(cx, &cx.c, bob.mls.user_uri(), body).await?;
    ensure!(status == 400, "answered {status}");
    still_there(cx, &bob).await
}

async fn not_ours(cx: &Ctx) -> Check {
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let dora = cx.peer_user(&cx.d, "dora", 1)?;
    let mark = cx.d.peer.mark();
    // A room of c: the target is not its hub, so it must not relay to d.
    let request = cathy
        .key_material_request(dora.user_uri(), &c_room(cx)?)
        .ctx("request")?;
    let (status, r) = ask(cx, &cx.c, dora.user_uri(), request.encode().ctx("encode")?).await?;
    refused(status, &r)?;
    ensure!(
        cx.d.peer
            .since(mark)
            .iter()
            .all(|i| !i.path.contains("keyMaterial")),
        "the target relayed the request to {}",
        cx.d.domain()
    );
    Ok(())
}

async fn expired_not_handed_out(cx: &Ctx) -> Check {
    use openmls::prelude::tls_codec::Serialize as _;
    let driver = cx.driver()?;
    let signer = MimiClient::new_signer().ctx("signer")?;
    let public = signer.public().to_vec();
    let registered = driver
        .new_user("bob", &public)
        .await
        .map_err(|e| Why::Fail(format!("registering a local user: {e}")))?;
    // One KeyPackage that expires two seconds from now (RFC 9420 §7.2 lifetime), built
    // directly with OpenMLS: no client library makes one so short-lived.
    let now = u64::try_from(crate::ctx::now_secs()).unwrap_or(0);
    let provider = openmls_rust_crypto::OpenMlsRustCrypto::default();
    let bundle = openmls::prelude::KeyPackage::builder()
        .leaf_node_capabilities(mimi_room::profile::leaf_capabilities())
        .key_package_lifetime(openmls::prelude::Lifetime::init(now - 60, now + 2))
        .build(
            mimi_room::profile::CIPHERSUITE,
            &provider,
            &signer,
            openmls::prelude::CredentialWithKey {
                credential: registered.credential.clone(),
                signature_key: public.clone().into(),
            },
        )
        .ctx("key package")?;
    let kp = mimi_types::wire::KeyPackage::from_bytes(
        bundle
            .key_package()
            .tls_serialize_detached()
            .ctx("encode")?,
    )
    .ctx("key package")?;
    registered
        .device
        .publish_key_packages(&[kp])
        .await
        .map_err(|e| Why::Fail(format!("publishing a KeyPackage valid for 2 s: {e}")))?;
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let r = honest(cx, &cathy, &registered.user).await?;
    ensure!(
        key_packages_of(&r).is_empty(),
        "an expired KeyPackage was handed out"
    );
    ensure!(
        !matches!(r.user_status, KeyMaterialUserCode::Success),
        "success without valid material"
    );
    Ok(())
}
