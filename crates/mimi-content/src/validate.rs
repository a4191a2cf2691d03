//! Validation beyond syntax: the "log and discard" cases of content-08 §"Security
//! Considerations" that concern the content itself, plus the structural limits for messages
//! built in code (the decoder already enforces those for received bytes).
//!
//! Not covered here because they need state the caller has: sender membership in the MLS
//! group, duplicate message IDs, and whether an edit/delete comes from the original sender.

use crate::error::Error;
use crate::extensions::{ExtensionValue, Extensions};
use crate::model::{MAX_BODY_PARTS, MAX_PART_DEPTH, MAX_TOPIC_ID_LEN, MimiContent, PartBody};

/// One year for expiry checks: 366 days in milliseconds (never rejects a date within a
/// calendar year; see docs/decisions/0014-validation-clock.md).
pub const YEAR_MS: u64 = 366 * 24 * 60 * 60 * 1000;

/// Default tolerance for hub timestamps ahead of the local clock ("a few minutes"): 5 min.
pub const DEFAULT_MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;

/// Earliest plausible hub timestamp: 2022-01-01T00:00:00Z, before the first concrete syntax
/// of the content format and before every example in the drafts.
pub const EARLIEST_TIMESTAMP_MS: u64 = 1_640_995_200_000;

/// What the receiver knows when validating a message. No clock is read: pass `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationContext<'a> {
    /// The receiver's current time, milliseconds since the UNIX epoch.
    pub now_ms: u64,
    /// The hub's accepted timestamp for this message, if known.
    pub hub_accepted_ms: Option<u64>,
    /// When the room was created, if known.
    pub room_created_ms: Option<u64>,
    /// How far the hub timestamp may be ahead of `now_ms`.
    pub max_future_skew_ms: u64,
    /// The sender's user URI as established by MLS; if set, extension key 1 must equal it.
    pub expected_sender_uri: Option<&'a str>,
    /// The room URI as known from the transport; if set, extension key 2 must equal it.
    pub expected_room_uri: Option<&'a str>,
}

impl ValidationContext<'_> {
    /// A context with only the current time and default tolerances.
    pub fn new(now_ms: u64) -> Self {
        ValidationContext {
            now_ms,
            hub_accepted_ms: None,
            room_created_ms: None,
            max_future_skew_ms: DEFAULT_MAX_FUTURE_SKEW_MS,
            expected_sender_uri: None,
            expected_room_uri: None,
        }
    }
}

/// Checks the limits the decoder enforces on received bytes, for a message built in code:
/// topicId length, NestedPart depth and count, MultiPart arity, extension keys and values.
pub fn check_structure(msg: &MimiContent) -> Result<(), Error> {
    if msg.topic_id.len() > MAX_TOPIC_ID_LEN {
        return Err(Error::TopicTooLong {
            len: msg.topic_id.len(),
            limit: MAX_TOPIC_ID_LEN,
        });
    }
    let parts = msg.nested_part.depth_first();
    if parts.len() > MAX_BODY_PARTS {
        return Err(Error::TooManyParts {
            limit: MAX_BODY_PARTS,
            offset: 0,
        });
    }
    for (_, depth, part) in &parts {
        if *depth > MAX_PART_DEPTH {
            return Err(Error::PartsTooDeep {
                limit: MAX_PART_DEPTH,
                offset: 0,
            });
        }
        if let PartBody::MultiPart(m) = &part.body
            && m.parts.len() < 2
        {
            return Err(Error::TooFewParts {
                count: m.parts.len() as u64,
                offset: 0,
            });
        }
    }
    check_extensions(&msg.extensions)
}

fn check_extensions(x: &Extensions) -> Result<(), Error> {
    for (k, v) in x.others() {
        k.check()?;
        // Values are validated when constructed; re-checking is cheap and keeps this total.
        ExtensionValue::check(v.as_cbor())?;
    }
    Ok(())
}

/// Validates a message against the content-08 "log and discard" rules that concern the
/// content: structure ([`check_structure`]), known hash algorithm of referenced message IDs,
/// plausible hub timestamp, expiry within a year, and (if given) sender/room URIs.
///
/// Expiry is judged against the hub timestamp when known (the time the message was sent),
/// else against `now_ms`.
pub fn validate(msg: &MimiContent, ctx: &ValidationContext<'_>) -> Result<(), Error> {
    check_structure(msg)?;

    // content-08 §"Security Considerations": message IDs whose first octet is an unknown
    // hash algorithm: log and discard.
    for (what, id) in [("replaces", &msg.replaces), ("inReplyTo", &msg.in_reply_to)] {
        if let Some(id) = id
            && !id.has_known_hash_alg()
        {
            return Err(Error::UnknownHashAlgorithm {
                what,
                alg: id.hash_alg(),
            });
        }
    }

    // content-08 §"Security Considerations": timestamps more than a few minutes in the
    // future, before the content format existed, or before the room was created.
    if let Some(ts) = ctx.hub_accepted_ms {
        if ts > ctx.now_ms.saturating_add(ctx.max_future_skew_ms) {
            return Err(Error::TimestampInFuture {
                timestamp_ms: ts,
                now_ms: ctx.now_ms,
            });
        }
        if ts < EARLIEST_TIMESTAMP_MS {
            return Err(Error::TimestampTooEarly { timestamp_ms: ts });
        }
        if let Some(created) = ctx.room_created_ms
            && ts < created
        {
            return Err(Error::TimestampBeforeRoomCreation {
                timestamp_ms: ts,
                room_created_ms: created,
            });
        }
    }

    // content-08 §"Security Considerations": expiry more than a year in the past (absolute
    // only) or more than a year in the future (both kinds).
    if let Some(exp) = msg.expires {
        let reference = ctx.hub_accepted_ms.unwrap_or(ctx.now_ms);
        let t_ms = u64::from(exp.time) * 1000;
        if exp.relative {
            if t_ms > YEAR_MS {
                return Err(Error::ExpiryTooFarInFuture {
                    kind: "relative",
                    time_s: exp.time,
                });
            }
        } else {
            if t_ms.saturating_add(YEAR_MS) < reference {
                return Err(Error::ExpiryTooFarInPast {
                    expires_s: exp.time,
                });
            }
            if t_ms > reference.saturating_add(YEAR_MS) {
                return Err(Error::ExpiryTooFarInFuture {
                    kind: "absolute",
                    time_s: exp.time,
                });
            }
        }
    }

    check_uri(
        "senderUri",
        1,
        msg.extensions.sender_uri.as_deref(),
        ctx.expected_sender_uri,
    )?;
    check_uri(
        "roomUri",
        2,
        msg.extensions.room_uri.as_deref(),
        ctx.expected_room_uri,
    )?;
    Ok(())
}

fn check_uri(
    what: &'static str,
    key: u8,
    found: Option<&str>,
    expected: Option<&str>,
) -> Result<(), Error> {
    match (found, expected) {
        (_, None) => Ok(()),
        (None, Some(_)) => Err(Error::MissingExtension { what, key }),
        (Some(f), Some(e)) if f == e => Ok(()),
        (Some(f), Some(e)) => Err(Error::UriMismatch {
            what,
            found: f.to_owned(),
            expected: e.to_owned(),
        }),
    }
}

impl MimiContent {
    /// Same as [`validate`].
    pub fn validate(&self, ctx: &ValidationContext<'_>) -> Result<(), Error> {
        validate(self, ctx)
    }
}
