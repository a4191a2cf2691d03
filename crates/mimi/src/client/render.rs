//! One line per thing a device saw: messages with time, sender, short message ID and the
//! rendered MIMI content (replies, reactions, edits annotated by `mimi_content::render_text`);
//! joins, removals and pending proposals as `*` lines.

use mimi_client::ClientEvent;
use mimi_types::id::{MimiUri, RoomUri};

use super::session::{Seen, Session};
use crate::error::CliError;

/// Hex digits of a message ID shown (and accepted as a prefix by `--reply-to`, `/reply`).
pub const SHORT_ID: usize = 12;

/// `mimi://b.example/u/bob` → `b.example/u/bob`.
pub fn who(user: Option<&MimiUri>) -> String {
    user.map_or_else(
        || "(unknown sender)".to_string(),
        |u| u.as_str().trim_start_matches("mimi://").to_string(),
    )
}

/// `HH:MM:SS` (UTC) of a time in ms since the UNIX epoch.
pub fn clock(ms: u64) -> String {
    let secs = (ms / 1000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The line for one seen thing, with the room it belongs to; `None` for nothing to show.
pub fn line(seen: &Seen) -> Option<(RoomUri, String)> {
    match seen {
        Seen::Event(ClientEvent::Message {
            room,
            sender,
            content,
            message_id,
            timestamp,
            ..
        }) => {
            let text = mimi_content::render_text(content).replace('\n', " ");
            let id = message_id.to_string();
            Some((
                room.clone(),
                format!(
                    "[{}] {}: {text}  #{}",
                    clock(*timestamp),
                    who(sender.as_ref()),
                    &id[..SHORT_ID]
                ),
            ))
        }
        Seen::Event(ClientEvent::Joined { room }) => {
            Some((room.clone(), format!("* you joined {room}")))
        }
        Seen::Event(ClientEvent::Removed { room }) => {
            Some((room.clone(), format!("* you are no longer in {room}")))
        }
        Seen::Event(ClientEvent::Proposed { count: 0, .. }) => None,
        Seen::Event(ClientEvent::Proposed { room, count }) => Some((
            room.clone(),
            format!("* {count} proposal(s) wait for the next commit (`mimi room commit {room}`)"),
        )),
        // Epochs are for `mimi room list`; a chat shows what people did.
        Seen::Event(ClientEvent::Committed { .. }) => None,
        Seen::Failed { room, error } => Some((
            room.clone(),
            format!("! an event of {room} could not be processed: {error}"),
        )),
    }
}

/// The message IDs among what was seen, with their rooms.
pub fn message_ids(seen: &[Seen]) -> impl Iterator<Item = (&RoomUri, &mimi_content::MessageId)> {
    seen.iter().filter_map(|s| match s {
        Seen::Event(ClientEvent::Message {
            room, message_id, ..
        }) => Some((room, message_id)),
        _ => None,
    })
}

/// Print what was seen (of `only` that room, if given) and [`remember`] it.
pub async fn print_and_remember(
    session: &Session,
    seen: &[Seen],
    only: Option<&RoomUri>,
) -> Result<(), CliError> {
    for s in seen {
        if let Some((room, text)) = line(s)
            && only.is_none_or(|r| r == &room)
        {
            println!("{text}");
        }
    }
    remember(session, seen).await
}

/// Keep every room's lines and message IDs in the session's profile (for `mimi chat`'s
/// history and for naming messages by a prefix of their ID).
pub async fn remember(session: &Session, seen: &[Seen]) -> Result<(), CliError> {
    let Some(profile) = &session.profile else {
        return Ok(());
    };
    for s in seen {
        if let Some((room, text)) = line(s) {
            profile.remember(&room, &[text]).await?;
        }
    }
    for (room, id) in message_ids(seen) {
        profile.remember_message_id(room, id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{clock, who};
    use mimi_types::id::MimiUri;

    #[test]
    fn times_and_senders_are_short() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(86_399_999), "23:59:59");
        assert_eq!(clock(86_400_000 + 3_723_000), "01:02:03");
        let bob = MimiUri::parse("mimi://b.example/u/bob").expect("uri");
        assert_eq!(who(Some(&bob)), "b.example/u/bob");
        assert_eq!(who(None), "(unknown sender)");
    }
}
