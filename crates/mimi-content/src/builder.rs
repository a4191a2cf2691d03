//! Building new messages. The caller supplies the salt (16 cryptographically random octets,
//! content-08 §"Message Behavior Fields"); nothing here reads a clock or a random source.
//!
//! [`MimiContent::text`] sends `text/plain;charset=utf-8` (see
//! docs/decisions/0015-text-media-type.md); [`MimiContent::markdown`] sends
//! `text/markdown;variant=GFM-MIMI` for text the caller has already written as GFM-MIMI.

use crate::error::Error;
use crate::extensions::{ExtensionKey, ExtensionValue, Extensions};
use crate::message_id::MessageId;
use crate::model::{Disposition, Expiration, MimiContent, NestedPart, SALT_LEN};

/// Media type of [`MimiContent::text`] messages.
pub const TEXT_PLAIN: &str = "text/plain;charset=utf-8";
/// Media type of [`MimiContent::markdown`] messages (content-08 §"GFM-MIMI").
pub const TEXT_GFM_MIMI: &str = "text/markdown;variant=GFM-MIMI";

/// Step-by-step construction of a [`MimiContent`].
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    msg: MimiContent,
}

impl MessageBuilder {
    /// Starts a message with `salt`, no references, no topic, no expiry, no extensions and
    /// an empty body (NullPart, disposition `render`).
    pub fn new(salt: [u8; SALT_LEN]) -> Self {
        MessageBuilder {
            msg: MimiContent {
                salt,
                replaces: None,
                topic_id: Vec::new(),
                expires: None,
                in_reply_to: None,
                extensions: Extensions::default(),
                nested_part: NestedPart::null(Disposition::Render),
            },
        }
    }

    /// Sets extension key 1, the sending user's URI.
    pub fn sender_uri(mut self, uri: impl Into<String>) -> Self {
        self.msg.extensions.sender_uri = Some(uri.into());
        self
    }

    /// Sets extension key 2, the room URI.
    pub fn room_uri(mut self, uri: impl Into<String>) -> Self {
        self.msg.extensions.room_uri = Some(uri.into());
        self
    }

    /// Marks the message as replacing (editing, deleting) the message with ID `id`.
    pub fn replaces(mut self, id: MessageId) -> Self {
        self.msg.replaces = Some(id);
        self
    }

    /// Marks the message as a reply or reaction to `id`.
    pub fn in_reply_to(mut self, id: MessageId) -> Self {
        self.msg.in_reply_to = Some(id);
        self
    }

    /// Sets the topic identifier.
    pub fn topic_id(mut self, topic: impl Into<Vec<u8>>) -> Self {
        self.msg.topic_id = topic.into();
        self
    }

    /// Sets the expiry.
    pub fn expires(mut self, expires: Expiration) -> Self {
        self.msg.expires = Some(expires);
        self
    }

    /// Adds an extension other than keys 1 and 2.
    pub fn extension(mut self, key: ExtensionKey, value: ExtensionValue) -> Result<Self, Error> {
        self.msg.extensions.insert(key, value)?;
        Ok(self)
    }

    /// Sets the body.
    pub fn body(mut self, part: NestedPart) -> Self {
        self.msg.nested_part = part;
        self
    }

    /// The message.
    pub fn build(self) -> MimiContent {
        self.msg
    }
}

impl MimiContent {
    /// A text message (`text/plain;charset=utf-8`, disposition `render`, empty language),
    /// optionally replying to `in_reply_to`.
    pub fn text(
        salt: [u8; SALT_LEN],
        sender_uri: &str,
        room_uri: &str,
        text: &str,
        in_reply_to: Option<MessageId>,
    ) -> Self {
        Self::with_body(
            salt,
            sender_uri,
            room_uri,
            in_reply_to,
            NestedPart::single(Disposition::Render, TEXT_PLAIN, text),
        )
    }

    /// A GFM-MIMI Markdown message. `markdown` must already follow GFM-MIMI (no raw HTML:
    /// a `<` opening an HTML tag is written `&lt;`); it is sent unchanged.
    pub fn markdown(
        salt: [u8; SALT_LEN],
        sender_uri: &str,
        room_uri: &str,
        markdown: &str,
        in_reply_to: Option<MessageId>,
    ) -> Self {
        Self::with_body(
            salt,
            sender_uri,
            room_uri,
            in_reply_to,
            NestedPart::single(Disposition::Render, TEXT_GFM_MIMI, markdown),
        )
    }

    /// A reaction (disposition `reaction`, `text/plain;charset=utf-8`) to `target`.
    pub fn reaction(
        salt: [u8; SALT_LEN],
        sender_uri: &str,
        room_uri: &str,
        target: MessageId,
        reaction: &str,
    ) -> Self {
        Self::with_body(
            salt,
            sender_uri,
            room_uri,
            Some(target),
            NestedPart::single(Disposition::Reaction, TEXT_PLAIN, reaction),
        )
    }

    /// An edit: new text for the message whose first version has ID `original`.
    pub fn edit(
        salt: [u8; SALT_LEN],
        sender_uri: &str,
        room_uri: &str,
        original: MessageId,
        text: &str,
    ) -> Self {
        let mut msg = Self::text(salt, sender_uri, room_uri, text, None);
        msg.replaces = Some(original);
        msg
    }

    /// A delete of the message whose first version has ID `original` (NullPart body).
    pub fn delete(
        salt: [u8; SALT_LEN],
        sender_uri: &str,
        room_uri: &str,
        original: MessageId,
    ) -> Self {
        let mut msg = Self::with_body(
            salt,
            sender_uri,
            room_uri,
            None,
            NestedPart::null(Disposition::Render),
        );
        msg.replaces = Some(original);
        msg
    }

    fn with_body(
        salt: [u8; SALT_LEN],
        sender_uri: &str,
        room_uri: &str,
        in_reply_to: Option<MessageId>,
        body: NestedPart,
    ) -> Self {
        MimiContent {
            salt,
            replaces: None,
            topic_id: Vec::new(),
            expires: None,
            in_reply_to,
            extensions: Extensions::with_uris(sender_uri, room_uri),
            nested_part: body,
        }
    }
}
