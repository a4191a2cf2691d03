//! Bodies that do not decode: every endpoint answers 400 and changes nothing (protocol-06
//! §5.2-§5.9 define each body; a body that is not one is the caller's error).

use mimi_room::policy::Preset;
use mimi_types::wire::Endpoint;

use super::{Case, case};
use crate::ctx::{Check, Ctx, fresh_id};
use crate::ensure;

pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "MAL-01",
            "protocol-06 §5.2",
            "an empty keyMaterial body is refused with 400",
            |cx| bad(cx, Endpoint::KeyMaterial, Body::Empty)
        ),
        case!(
            "MAL-02",
            "protocol-06 §5.2",
            "a keyMaterial body that is not a KeyMaterialRequest is refused with 400",
            |cx| bad(cx, Endpoint::KeyMaterial, Body::Garbage)
        ),
        case!(
            "MAL-03",
            "protocol-06 §5.3",
            "an empty update body is refused with 400",
            |cx| bad(cx, Endpoint::Update, Body::Empty)
        ),
        case!(
            "MAL-04",
            "protocol-06 §5.3",
            "an update body that is not an UpdateRequest is refused with 400",
            |cx| bad(cx, Endpoint::Update, Body::Garbage)
        ),
        case!(
            "MAL-05",
            "protocol-06 §5.4",
            "an empty submitMessage body is refused with 400",
            |cx| bad(cx, Endpoint::SubmitMessage, Body::Empty)
        ),
        case!(
            "MAL-06",
            "protocol-06 §5.4",
            "a submitMessage body that is not a SubmitMessageRequest is refused with 400",
            |cx| bad(cx, Endpoint::SubmitMessage, Body::Garbage)
        ),
        case!(
            "MAL-07",
            "protocol-06 §5.5",
            "an empty notify body is refused with 400",
            |cx| bad(cx, Endpoint::Notify, Body::Empty)
        ),
        case!(
            "MAL-08",
            "protocol-06 §5.5",
            "a notify body that is not a FanoutMessage is refused with 400",
            |cx| bad(cx, Endpoint::Notify, Body::Garbage)
        ),
        case!(
            "MAL-09",
            "protocol-06 §5.6",
            "an empty groupInfo body is refused with 400",
            |cx| bad(cx, Endpoint::GroupInfo, Body::Empty)
        ),
        case!(
            "MAL-10",
            "protocol-06 §5.6",
            "a groupInfo body that is not a GroupInfoRequest is refused with 400",
            |cx| bad(cx, Endpoint::GroupInfo, Body::Garbage)
        ),
        case!(
            "MAL-11",
            "protocol-06 §5.7",
            "an empty requestConsent body is refused with 400",
            |cx| bad(cx, Endpoint::RequestConsent, Body::Empty)
        ),
        case!(
            "MAL-12",
            "protocol-06 §5.7",
            "a requestConsent body that is not a ConsentEntry is refused with 400",
            |cx| bad(cx, Endpoint::RequestConsent, Body::Garbage)
        ),
        case!(
            "MAL-13",
            "protocol-06 §5.7",
            "an empty updateConsent body is refused with 400",
            |cx| bad(cx, Endpoint::UpdateConsent, Body::Empty)
        ),
        case!(
            "MAL-14",
            "protocol-06 §5.7",
            "an updateConsent body that is not a ConsentEntry is refused with 400",
            |cx| bad(cx, Endpoint::UpdateConsent, Body::Garbage)
        ),
        case!(
            "MAL-15",
            "protocol-06 §5.8",
            "an empty identifierQuery body is refused with 400",
            |cx| bad(cx, Endpoint::IdentifierQuery, Body::Empty)
        ),
        case!(
            "MAL-16",
            "protocol-06 §5.8",
            "an identifierQuery body that is not an IdentifierRequest is refused with 400",
            |cx| bad(cx, Endpoint::IdentifierQuery, Body::Garbage)
        ),
        case!(
            "MAL-17",
            "protocol-06 §5.9",
            "an empty reportAbuse body is refused with 400",
            |cx| bad(cx, Endpoint::ReportAbuse, Body::Empty)
        ),
        case!(
            "MAL-18",
            "protocol-06 §5.9",
            "a reportAbuse body that is not an AbuseReport is refused with 400",
            |cx| bad(cx, Endpoint::ReportAbuse, Body::Garbage)
        ),
        case!(
            "MAL-19",
            "protocol-06 §5.3",
            "an update body with a valid length prefix and a truncated MLS message is refused with 400",
            |cx| bad(cx, Endpoint::Update, Body::Truncated)
        ),
        case!(
            "MAL-20",
            "protocol-06 §5.4",
            "a submitMessage body with a truncated MLS message is refused with 400",
            |cx| bad(cx, Endpoint::SubmitMessage, Body::Truncated)
        ),
    ]
}

#[derive(Clone, Copy)]
enum Body {
    Empty,
    Garbage,
    Truncated,
}

fn body(kind: Body) -> Vec<u8> {
    match kind {
        Body::Empty => vec![],
        // Bytes no MIMI structure starts with: protocol 0xff, then noise.
        Body::Garbage => (0..64u8).map(|i| 0xff ^ i.wrapping_mul(37)).collect(),
        // An MLSMessage header (mls10, PublicMessage) and nothing after it.
        Body::Truncated => vec![0x00, 0x01, 0x00, 0x01],
    }
}

/// The path argument of `endpoint` that names something that exists, so that the only thing
/// wrong with the request is its body.
async fn arg(cx: &Ctx, endpoint: Endpoint) -> Result<String, crate::ctx::Why> {
    Ok(match endpoint {
        Endpoint::KeyMaterial => {
            let user = cx.local_user("target", 1).await?;
            user.mls.user_uri().to_url_path()
        }
        Endpoint::Update
        | Endpoint::SubmitMessage
        | Endpoint::GroupInfo
        | Endpoint::ReportAbuse => {
            let (room, _) = cx.local_room(Preset::CooperativelyAdministered).await?;
            room.to_url_path()
        }
        // A room whose hub is the caller, peer c.
        Endpoint::Notify => format!("{}/r/{}", cx.c.domain(), fresh_id()),
        Endpoint::RequestConsent
        | Endpoint::UpdateConsent
        | Endpoint::IdentifierQuery
        | Endpoint::ProxyDownload => cx.target.domain.to_string(),
    })
}

async fn bad(cx: &Ctx, endpoint: Endpoint, kind: Body) -> Check {
    let arg = arg(cx, endpoint).await?;
    let r = cx.post(&cx.c, endpoint, &arg, body(kind)).await?;
    ensure!(
        r.status.as_u16() == 400,
        "expected 400, got {}",
        r.describe()
    );
    Ok(())
}
