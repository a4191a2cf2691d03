//! Consent (protocol-06 §5.7), identifier queries (§5.8) and abuse reports (§5.9) at the
//! target.

use mimi_types::client_api::IdentifiersRequest;
use mimi_types::id::{MimiUri, UserUri};
use mimi_types::wire::{
    AbuseReport, AbuseType, ConsentEntry, ConsentOperation, Endpoint, IdentifierQueryCode,
    IdentifierRequest, IdentifierResponse, IdentifierUri, OptionalIdentifierUri, QueryElement,
    SearchKind, Utf8String, WireMessage,
};
use openmls::prelude::AppDataDictionary;

use super::{Case, case};
use crate::ctx::{Check, Context as _, Ctx, Why, fresh_id};
use crate::ensure;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "CO-01",
            "protocol-06 §5.7",
            "a consent request for a local user is accepted with 201",
            consent_request
        ),
        case!(
            "CO-02",
            "protocol-06 §5.7, §4.1",
            "a consent request in the name of another provider's user is refused",
            consent_foreign_requester
        ),
        case!(
            "CO-03",
            "protocol-06 §5.7",
            "a grant sent to requestConsent is refused with 400",
            consent_wrong_operation
        ),
        case!(
            "CO-04",
            "protocol-06 §5.7",
            "a consent request for a user of another provider is refused",
            consent_not_our_user
        ),
        case!(
            "CO-05",
            "protocol-06 §5.7",
            "a grant from a peer's user to a local requester is accepted with 201",
            consent_grant
        ),
        case!(
            "IQ-01",
            "protocol-06 §5.8",
            "a query for a handle nobody has: notFound and no URIs",
            query_not_found
        ),
        case!(
            "IQ-02",
            "protocol-06 §5.8",
            "a query by nick finds a searchable local user",
            query_by_nick
        ),
        case!(
            "IQ-03",
            "protocol-06 §5.8",
            "a user who is not searchable is not found",
            query_not_searchable
        ),
        case!(
            "IQ-04",
            "protocol-06 §5.8",
            "a query for another domain is refused",
            query_other_domain
        ),
        case!(
            "AB-01",
            "protocol-06 §5.9",
            "a report in the name of another provider's user is refused",
            report_foreign_reporter
        ),
        case!(
            "AB-02",
            "protocol-06 §5.9",
            "a report for a room the target does not host answers 404",
            report_unknown_room
        ),
    ]
}

fn entry(op: ConsentOperation, requester: &UserUri, target: &UserUri) -> ConsentEntry {
    ConsentEntry {
        operation: op,
        requester_uri: MimiUri::from(requester.clone()).into(),
        target_uri: MimiUri::from(target.clone()).into(),
        room_id: None,
        consent_extensions: AppDataDictionary::default(),
    }
}

/// The status peer c gets for `body` at `endpoint` with `arg`.
async fn status(
    cx: &Ctx,
    endpoint: Endpoint,
    arg: &str,
    body: &impl WireMessage,
) -> Result<u16, Why> {
    Ok(cx
        .post(&cx.c, endpoint, arg, body.encode().ctx("encode")?)
        .await?
        .status
        .as_u16())
}

/// The status peer c gets for a consent entry at `endpoint` for the target's domain.
async fn consent_status(cx: &Ctx, endpoint: Endpoint, entry: &ConsentEntry) -> Result<u16, Why> {
    status(cx, endpoint, cx.target.domain.as_str(), entry).await
}

fn four_xx(s: u16) -> Check {
    ensure!((400..500).contains(&s), "answered {s}");
    Ok(())
}

async fn consent_request(cx: &Ctx) -> Check {
    let bob = cx.local_user("bob", 0).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let e = entry(
        ConsentOperation::Request,
        cathy.user_uri(),
        bob.mls.user_uri(),
    );
    let s = consent_status(cx, Endpoint::RequestConsent, &e).await?;
    ensure!(s == 201, "answered {s}");
    Ok(())
}

async fn consent_foreign_requester(cx: &Ctx) -> Check {
    let bob = cx.local_user("bob", 0).await?;
    let dora = cx.peer_user(&cx.d, "dora", 0)?;
    let e = entry(
        ConsentOperation::Request,
        dora.user_uri(),
        bob.mls.user_uri(),
    );
    four_xx(consent_status(cx, Endpoint::RequestConsent, &e).await?)
}

async fn consent_wrong_operation(cx: &Ctx) -> Check {
    let bob = cx.local_user("bob", 0).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let e = entry(
        ConsentOperation::Grant {
            client_key_packages: vec![],
        },
        cathy.user_uri(),
        bob.mls.user_uri(),
    );
    let s = consent_status(cx, Endpoint::RequestConsent, &e).await?;
    ensure!(s == 400, "answered {s}");
    Ok(())
}

async fn consent_not_our_user(cx: &Ctx) -> Check {
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let dora = cx.peer_user(&cx.d, "dora", 0)?;
    let e = entry(ConsentOperation::Request, cathy.user_uri(), dora.user_uri());
    four_xx(consent_status(cx, Endpoint::RequestConsent, &e).await?)
}

async fn consent_grant(cx: &Ctx) -> Check {
    let bob = cx.local_user("bob", 0).await?;
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    // cathy (at c) grants bob (local) consent to contact her.
    let e = entry(
        ConsentOperation::Grant {
            client_key_packages: vec![],
        },
        bob.mls.user_uri(),
        cathy.user_uri(),
    );
    let s = consent_status(cx, Endpoint::UpdateConsent, &e).await?;
    ensure!(s == 201, "answered {s}");
    Ok(())
}

fn query(kind: SearchKind, value: &str) -> Result<IdentifierRequest, Why> {
    Ok(IdentifierRequest {
        query_elements: vec![QueryElement {
            kind,
            search_value: Utf8String::new(value).ctx("value")?,
        }],
        id_request_extensions: AppDataDictionary::default(),
    })
}

async fn ask(
    cx: &Ctx,
    domain: &str,
    q: &IdentifierRequest,
) -> Result<Result<IdentifierResponse, u16>, Why> {
    let r = cx
        .post(
            &cx.c,
            Endpoint::IdentifierQuery,
            domain,
            q.encode().ctx("encode")?,
        )
        .await?;
    if r.status.as_u16() == 200 {
        Ok(Ok(IdentifierResponse::decode(&r.body).ctx("decode")?))
    } else {
        Ok(Err(r.status.as_u16()))
    }
}

async fn query_not_found(cx: &Ctx) -> Check {
    let q = query(
        SearchKind::Handle,
        &format!("im:nobody{}@{}", fresh_id(), cx.target.domain),
    )?;
    match ask(cx, cx.target.domain.as_str(), &q).await? {
        Ok(r) => {
            ensure!(
                r.response_code == IdentifierQueryCode::NotFound,
                "{:?}",
                r.response_code
            );
            ensure!(r.uri.is_empty(), "URIs for notFound");
        }
        Err(s) => return Err(Why::Fail(format!("answered {s}"))),
    }
    Ok(())
}

async fn local_with_nick(
    cx: &Ctx,
    searchable: bool,
) -> Result<(crate::driver::LocalUser, String), Why> {
    let user = cx.local_user("findme", 0).await?;
    let nick = format!("conf.{}", fresh_id());
    user.device
        .set_identifiers(&IdentifiersRequest {
            handle: None,
            nick: Some(nick.clone()),
            email: None,
            phone: None,
            searchable,
        })
        .await
        .map_err(Why::Fail)?;
    Ok((user, nick))
}

async fn query_by_nick(cx: &Ctx) -> Check {
    let (user, nick) = local_with_nick(cx, true).await?;
    match ask(
        cx,
        cx.target.domain.as_str(),
        &query(SearchKind::Nick, &nick)?,
    )
    .await?
    {
        Ok(r) => {
            ensure!(
                r.response_code == IdentifierQueryCode::Success,
                "{:?}",
                r.response_code
            );
            let want = MimiUri::from(user.mls.user_uri().clone());
            ensure!(
                r.uri.iter().any(|u| u.uri() == &want),
                "{} not among {:?}",
                want,
                r.uri
            );
        }
        Err(s) => return Err(Why::Fail(format!("answered {s}"))),
    }
    Ok(())
}

async fn query_not_searchable(cx: &Ctx) -> Check {
    let (user, nick) = local_with_nick(cx, false).await?;
    match ask(
        cx,
        cx.target.domain.as_str(),
        &query(SearchKind::Nick, &nick)?,
    )
    .await?
    {
        Ok(r) => {
            let want = MimiUri::from(user.mls.user_uri().clone());
            ensure!(
                !r.uri.iter().any(|u| u.uri() == &want),
                "a non-searchable user was found"
            );
            ensure!(
                r.response_code != IdentifierQueryCode::Success,
                "success for a hidden user"
            );
        }
        Err(s) => four_xx(s)?,
    }
    Ok(())
}

async fn query_other_domain(cx: &Ctx) -> Check {
    let q = query(SearchKind::Nick, "anyone")?;
    match ask(cx, cx.d.domain().as_str(), &q).await? {
        Ok(r) => ensure!(
            r.response_code != IdentifierQueryCode::Success,
            "answered for another domain"
        ),
        Err(s) => four_xx(s)?,
    }
    Ok(())
}

fn report(reporter: MimiUri, abuser: MimiUri) -> AbuseReport {
    AbuseReport {
        reporting_user: OptionalIdentifierUri(Some(IdentifierUri::from(reporter))),
        alleged_abuser_uri: abuser.into(),
        reason_code: AbuseType(0),
        note: Utf8String::default(),
        messages: vec![],
        abuse_extensions: AppDataDictionary::default(),
    }
}

async fn report_foreign_reporter(cx: &Ctx) -> Check {
    let s = cx.scene().await?;
    let dora = cx.peer_user(&cx.d, "dora", 0)?;
    let r = report(dora.user(), s.alice.mls.user());
    four_xx(status(cx, Endpoint::ReportAbuse, &s.room.to_url_path(), &r).await?)
}

async fn report_unknown_room(cx: &Ctx) -> Check {
    let cathy = cx.peer_user(&cx.c, "cathy", 0)?;
    let other = UserUri::parse(&format!("mimi://{}/u/x", cx.target.domain)).ctx("uri")?;
    let r = report(cathy.user(), MimiUri::from(other));
    let room = format!("{}/r/none-{}", cx.target.domain, fresh_id());
    let s = status(cx, Endpoint::ReportAbuse, &room, &r).await?;
    ensure!(s == 404, "answered {s}");
    Ok(())
}
