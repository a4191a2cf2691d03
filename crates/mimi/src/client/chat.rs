//! `mimi chat ROOM`: the room's recent history, then its messages as they arrive (the
//! device's Server-Sent Events stream), and what you type is sent. Commands: `/reply ID
//! TEXT`, `/react ID EMOJI`, `/commit`, `/quit` (or end of input). IDs are the `#` prefixes
//! shown after each message.

use mimi_types::id::RoomUri;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::render;
use super::session::Session;
use crate::error::CliError;

const HELP: &str =
    "type a message and press Enter; /reply ID TEXT, /react ID EMOJI, /commit, /quit";

/// What a line typed by the user asks for.
enum Input<'a> {
    Text(&'a str),
    Reply(&'a str, &'a str),
    React(&'a str, &'a str),
    Commit,
    Quit,
    Help,
}

fn parse(line: &str) -> Input<'_> {
    let line = line.trim();
    let mut words = line.splitn(3, ' ');
    match words.next() {
        Some("/quit") | Some("/exit") => Input::Quit,
        Some("/commit") => Input::Commit,
        Some("/reply") => match (words.next(), words.next()) {
            (Some(id), Some(text)) => Input::Reply(id, text),
            _ => Input::Help,
        },
        Some("/react") => match (words.next(), words.next()) {
            (Some(id), Some(reaction)) => Input::React(id, reaction),
            _ => Input::Help,
        },
        Some(w) if w.starts_with('/') => Input::Help,
        _ => Input::Text(line),
    }
}

/// Act on one typed line; `false` to stop.
async fn act(session: &mut Session, room: &RoomUri, line: &str) -> Result<bool, CliError> {
    let profile = session.profile.clone();
    let resolve = |id: String| {
        let profile = profile.clone();
        let room = room.clone();
        async move {
            match profile {
                Some(p) => p.resolve_message(&room, &id).await,
                None => Err(CliError::Usage(
                    "no profile to look message IDs up in".into(),
                )),
            }
        }
    };
    match parse(line) {
        Input::Quit => return Ok(false),
        Input::Help => eprintln!("{HELP}"),
        Input::Text("") => {}
        Input::Text(text) => {
            session.send_text(room, text, None).await?;
        }
        Input::Reply(id, text) => {
            let target = resolve(id.to_string()).await?;
            session.send_text(room, text, Some(target)).await?;
        }
        Input::React(id, reaction) => {
            let target = resolve(id.to_string()).await?;
            session.react(room, target, reaction).await?;
        }
        Input::Commit => session.commit_pending(room).await?,
    }
    Ok(true)
}

/// Run the chat until `/quit`, end of input or Ctrl-C.
pub async fn run(mut session: Session, room: RoomUri, history: i64) -> Result<(), CliError> {
    let seen = session.sync().await?;
    if let Some(profile) = &session.profile {
        for line in profile.history(&room, history).await? {
            println!("{line}");
        }
    }
    render::print_and_remember(&session, &seen, Some(&room)).await?;
    session.mimi.epoch(&room)?; // a clear error if this device is not in the room
    eprintln!("— {room} as {} — {HELP}", session.mimi.user_uri());
    let mut stream = session.api.stream(&session.device, session.cursor).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            event = stream.next() => match event? {
                Some(event) => {
                    let seen = session.handle(&event).await?;
                    render::print_and_remember(&session, &seen, Some(&room)).await?;
                }
                None => {
                    eprintln!("the provider closed the stream; reconnecting");
                    stream = session.api.stream(&session.device, session.cursor).await?;
                }
            },
            line = lines.next_line() => match line.map_err(|e| CliError::Usage(format!("stdin: {e}")))? {
                Some(line) => match act(&mut session, &room, &line).await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => eprintln!("mimi: {e}"),
                },
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    if let Some(profile) = &session.profile {
        profile.close().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Input, parse};

    #[test]
    fn typed_lines_become_commands() {
        assert!(matches!(
            parse("  hello there "),
            Input::Text("hello there")
        ));
        assert!(matches!(parse("/quit"), Input::Quit));
        assert!(matches!(parse("/commit"), Input::Commit));
        assert!(matches!(
            parse("/reply 01ab thanks a lot"),
            Input::Reply("01ab", "thanks a lot")
        ));
        assert!(matches!(
            parse("/react 01ab 👍"),
            Input::React("01ab", "👍")
        ));
        // Incomplete or unknown commands show the help instead of being sent as text.
        assert!(matches!(parse("/reply 01ab"), Input::Help));
        assert!(matches!(parse("/frobnicate"), Input::Help));
    }
}
