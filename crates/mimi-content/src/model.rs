//! The MIMI content data model (content-08 §"MIMI Content Container Message Semantics",
//! CDDL in Appendix "Complete Message Format Schema").

use crate::extensions::Extensions;
use crate::message_id::MessageId;

/// Length of the per-message salt in octets.
pub const SALT_LEN: usize = 16;

/// content-08 §"Security Considerations": a topicId longer than 4096 octets is to be
/// logged and discarded.
pub const MAX_TOPIC_ID_LEN: usize = 4096;

/// content-08 §"Security Considerations": a body with more than 1024 parts is to be
/// logged and discarded.
pub const MAX_BODY_PARTS: usize = 1024;

/// content-08 §"Depth restrictions": NestedParts MUST NOT be nested more than 4 levels
/// deep (the top-level part is level 1).
pub const MAX_PART_DEPTH: usize = 4;

/// One MIMI content message: the 7-element `mimiContent` CBOR array.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MimiContent {
    /// Per-message random salt (`bstr .size 16`).
    pub salt: [u8; SALT_LEN],
    /// The message this one replaces (edit, delete, unlike), by the ID of its first version.
    pub replaces: Option<MessageId>,
    /// Opaque topic / thread identifier; empty means none.
    pub topic_id: Vec<u8>,
    /// When the message should be deleted, if ever.
    pub expires: Option<Expiration>,
    /// The message this one replies or reacts to.
    pub in_reply_to: Option<MessageId>,
    /// The `mimiExtensions` map (senderUri, roomUri, others).
    pub extensions: Extensions,
    /// The body.
    pub nested_part: NestedPart,
}

/// The `Expiration` array: `[relative: bool, time: uint .size 4]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expiration {
    /// `true`: `time` seconds after the receiver reads the message; `false`: absolute.
    pub relative: bool,
    /// Seconds (relative) or seconds since the UNIX epoch (absolute).
    pub time: u32,
}

/// A body part: `[disposition, language, cardinality, ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NestedPart {
    /// Intended use of the part.
    pub disposition: Disposition,
    /// Empty, or a comma-separated list of RFC 5646 language tags.
    pub language: String,
    /// The cardinality and the fields that go with it.
    pub body: PartBody,
}

/// The cardinality-dependent rest of a [`NestedPart`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartBody {
    /// Cardinality 0: no content (delete, unlike).
    NullPart,
    /// Cardinality 1: inline content.
    SinglePart(SinglePart),
    /// Cardinality 2: content referenced by URL.
    ExternalPart(Box<ExternalPart>),
    /// Cardinality 3: two or more nested parts.
    MultiPart(MultiPart),
}

/// Inline content of a given media type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SinglePart {
    /// IANA media type with parameters, e.g. `text/plain;charset=utf-8`.
    pub content_type: String,
    /// The content octets.
    pub content: Vec<u8>,
}

/// Content stored outside the message (content-08 §"External content").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExternalPart {
    /// IANA media type of the referenced content (may be empty, e.g. for a service URL).
    pub content_type: String,
    /// Where the content can be fetched.
    pub url: String,
    /// Seconds since the UNIX epoch after which the URL is invalid; 0 = does not expire.
    pub expires: u32,
    /// Size of the content in octets; 0 = not given.
    pub size: u64,
    /// IANA AEAD algorithm (1 = AES-128-GCM), or 0 when not encrypted.
    pub enc_alg: u16,
    /// AEAD key (empty when `enc_alg` is 0).
    pub key: Vec<u8>,
    /// AEAD nonce (empty when `enc_alg` is 0).
    pub nonce: Vec<u8>,
    /// AEAD additional authenticated data (empty by default).
    pub aad: Vec<u8>,
    /// IANA Named Information hash algorithm of `content_hash` (1 = SHA-256), 0 = none.
    pub hash_alg: u8,
    /// Hash of the content at `url`.
    pub content_hash: Vec<u8>,
    /// Optional text description.
    pub description: String,
    /// Optional suggested filename.
    pub filename: String,
}

/// Two or more parts with a relationship.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiPart {
    /// How the receiver treats the parts.
    pub semantics: PartSemantics,
    /// The parts (at least 2).
    pub parts: Vec<NestedPart>,
}

/// `partSemantics` of a [`MultiPart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartSemantics {
    /// 0: the receiver picks exactly one part (like multipart/alternative).
    ChooseOne,
    /// 1: all parts form one unit (like multipart/related).
    SingleUnit,
    /// 2: each part processed individually (like multipart/mixed).
    ProcessAll,
}

impl PartSemantics {
    /// The wire value.
    pub fn value(self) -> u8 {
        match self {
            PartSemantics::ChooseOne => 0,
            PartSemantics::SingleUnit => 1,
            PartSemantics::ProcessAll => 2,
        }
    }

    /// The semantics with wire value `v`, if known.
    pub fn from_value(v: u64) -> Option<Self> {
        match v {
            0 => Some(PartSemantics::ChooseOne),
            1 => Some(PartSemantics::SingleUnit),
            2 => Some(PartSemantics::ProcessAll),
            _ => None,
        }
    }

    /// The CDDL name (`chooseOne`, `singleUnit`, `processAll`).
    pub fn name(self) -> &'static str {
        match self {
            PartSemantics::ChooseOne => "chooseOne",
            PartSemantics::SingleUnit => "singleUnit",
            PartSemantics::ProcessAll => "processAll",
        }
    }
}

/// A disposition value 9..=255 that this implementation does not know.
///
/// content-08 §"Security Considerations": an unrecognized disposition is legitimate and is
/// treated as `render`; the value is kept so the message re-encodes unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownDisposition(u8);

impl UnknownDisposition {
    /// The wire value (always 9..=255).
    pub fn value(self) -> u8 {
        self.0
    }
}

/// The disposition of a part (content-08 `baseDispos` / `unknownDispos`, IANA "MIMI Content
/// Disposition" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// 0.
    Unspecified,
    /// 1: render according to local policy.
    Render,
    /// 2: a reaction to another message.
    Reaction,
    /// 3: profile data.
    Profile,
    /// 4: render inline.
    Inline,
    /// 5: an icon.
    Icon,
    /// 6: to be downloaded rather than rendered immediately.
    Attachment,
    /// 7: a multimedia session description or join URL.
    Session,
    /// 8: a sender-generated preview.
    Preview,
    /// 9..=255: not known here; treated as `Render`.
    Unknown(UnknownDisposition),
}

impl Disposition {
    /// The disposition with wire value `v`.
    pub fn from_value(v: u8) -> Self {
        match v {
            0 => Disposition::Unspecified,
            1 => Disposition::Render,
            2 => Disposition::Reaction,
            3 => Disposition::Profile,
            4 => Disposition::Inline,
            5 => Disposition::Icon,
            6 => Disposition::Attachment,
            7 => Disposition::Session,
            8 => Disposition::Preview,
            other => Disposition::Unknown(UnknownDisposition(other)),
        }
    }

    /// The wire value.
    pub fn value(self) -> u8 {
        match self {
            Disposition::Unspecified => 0,
            Disposition::Render => 1,
            Disposition::Reaction => 2,
            Disposition::Profile => 3,
            Disposition::Inline => 4,
            Disposition::Icon => 5,
            Disposition::Attachment => 6,
            Disposition::Session => 7,
            Disposition::Preview => 8,
            Disposition::Unknown(u) => u.0,
        }
    }

    /// The disposition to act on: unknown values are treated as `Render`.
    pub fn effective(self) -> Self {
        match self {
            Disposition::Unknown(_) => Disposition::Render,
            other => other,
        }
    }

    /// The registry name (`render`, `reaction`, ...; `unknown` for 9..=255).
    pub fn name(self) -> &'static str {
        match self {
            Disposition::Unspecified => "unspecified",
            Disposition::Render => "render",
            Disposition::Reaction => "reaction",
            Disposition::Profile => "profile",
            Disposition::Inline => "inline",
            Disposition::Icon => "icon",
            Disposition::Attachment => "attachment",
            Disposition::Session => "session",
            Disposition::Preview => "preview",
            Disposition::Unknown(_) => "unknown",
        }
    }
}

impl From<u8> for Disposition {
    fn from(v: u8) -> Self {
        Disposition::from_value(v)
    }
}

impl PartBody {
    /// The wire cardinality: 0 null, 1 single, 2 external, 3 multi.
    pub fn cardinality(&self) -> u8 {
        match self {
            PartBody::NullPart => 0,
            PartBody::SinglePart(_) => 1,
            PartBody::ExternalPart(_) => 2,
            PartBody::MultiPart(_) => 3,
        }
    }
}

impl NestedPart {
    /// A part with no content.
    pub fn null(disposition: Disposition) -> Self {
        NestedPart {
            disposition,
            language: String::new(),
            body: PartBody::NullPart,
        }
    }

    /// A single inline part with empty language.
    pub fn single(
        disposition: Disposition,
        content_type: impl Into<String>,
        content: impl Into<Vec<u8>>,
    ) -> Self {
        NestedPart {
            disposition,
            language: String::new(),
            body: PartBody::SinglePart(SinglePart {
                content_type: content_type.into(),
                content: content.into(),
            }),
        }
    }

    /// A part referencing external content, with empty language.
    pub fn external(disposition: Disposition, part: ExternalPart) -> Self {
        NestedPart {
            disposition,
            language: String::new(),
            body: PartBody::ExternalPart(Box::new(part)),
        }
    }

    /// A multipart with empty language.
    pub fn multi(
        disposition: Disposition,
        semantics: PartSemantics,
        parts: Vec<NestedPart>,
    ) -> Self {
        NestedPart {
            disposition,
            language: String::new(),
            body: PartBody::MultiPart(MultiPart { semantics, parts }),
        }
    }

    /// All parts of this tree in depth-first order, as `(partIndex, depth, part)`: the
    /// implied `partIndex` of content-08 §"Message Bodies" (this part is index 0, depth 1).
    pub fn depth_first(&self) -> Vec<(usize, usize, &NestedPart)> {
        let mut out = Vec::new();
        let mut stack = vec![(1usize, self)];
        while let Some((depth, part)) = stack.pop() {
            out.push((out.len(), depth, part));
            if let PartBody::MultiPart(m) = &part.body {
                for child in m.parts.iter().rev() {
                    stack.push((depth + 1, child));
                }
            }
        }
        out
    }

    /// The part with implied `partIndex` `index` (as used in `cid:<index>@local.invalid`).
    pub fn part_by_index(&self, index: usize) -> Option<&NestedPart> {
        self.depth_first()
            .into_iter()
            .find(|(i, _, _)| *i == index)
            .map(|(_, _, p)| p)
    }
}

/// What a message does, as derived from `replaces`, `inReplyTo` and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A new message (possibly a reply, see `in_reply_to`).
    Message,
    /// A reaction (top-level disposition `reaction`) to `in_reply_to`.
    Reaction,
    /// A new version of the message `replaces` refers to.
    Edit,
    /// Retraction of the message `replaces` refers to (NullPart body).
    Delete,
    /// Retraction of a reaction (NullPart body with disposition `reaction`).
    Unreact,
}

impl MimiContent {
    /// Classifies the message (content-08 §"Examples": reaction, edit, delete, unlike).
    pub fn kind(&self) -> MessageKind {
        let reaction = self.nested_part.disposition == Disposition::Reaction;
        let null = matches!(self.nested_part.body, PartBody::NullPart);
        match (self.replaces.is_some(), null, reaction) {
            (true, true, true) => MessageKind::Unreact,
            (true, true, false) => MessageKind::Delete,
            (true, false, _) => MessageKind::Edit,
            (false, _, true) => MessageKind::Reaction,
            (false, _, false) => MessageKind::Message,
        }
    }

    /// Number of body parts (NestedParts), counted depth-first.
    pub fn part_count(&self) -> usize {
        self.nested_part.depth_first().len()
    }
}
