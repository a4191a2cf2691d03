//! `mimi content`: create and inspect MIMI message content (draft-ietf-mimi-content).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use mimi_content::{MessageId, MimiContent, message_id_07, message_id_08, render_text};
use mimi_types::id::{RoomUri, UserUri};

use crate::error::CliError;

/// `mimi content ...`
#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Decode a message strictly, print it as text and its message IDs.
    ///
    /// Prints the rendering, then exactly two lines: `message-id: <hex>` (the -08 algorithm)
    /// and `message-id-07: <hex>`. Invalid content prints a one-line reason to stderr and
    /// exits non-zero.
    Inspect(InspectArgs),
    /// Create a new text message and print its CBOR encoding as hex.
    New(NewArgs),
}

/// Arguments of `mimi content inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// File holding the message: raw CBOR, or hex text.
    #[arg(required_unless_present = "hex", conflicts_with = "hex")]
    file: Option<PathBuf>,
    /// The message as hex on the command line.
    #[arg(long, value_name = "HEX")]
    hex: Option<String>,
    /// Sender user URI for the message ID, when the message has no senderUri extension.
    #[arg(long, value_name = "URI")]
    sender: Option<String>,
    /// Room URI for the message ID, when the message has no roomUri extension.
    #[arg(long, value_name = "URI")]
    room: Option<String>,
}

/// Arguments of `mimi content new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The sending user, e.g. `mimi://a.example/u/alice`.
    #[arg(long, value_name = "URI")]
    from: String,
    /// The room, e.g. `mimi://a.example/r/clubhouse`.
    #[arg(long, value_name = "URI")]
    room: String,
    /// The message text.
    #[arg(long)]
    text: String,
    /// Message ID (64 hex digits) of the message this one replies to.
    #[arg(long, value_name = "ID")]
    reply_to: Option<String>,
    /// Send the text as `text/markdown;variant=GFM-MIMI` instead of plain text.
    #[arg(long)]
    markdown: bool,
}

/// Run a `mimi content` command.
pub fn run(cmd: ContentCommand) -> Result<(), CliError> {
    match cmd {
        ContentCommand::Inspect(args) => inspect(args),
        ContentCommand::New(args) => new(args),
    }
}

fn inspect(args: InspectArgs) -> Result<(), CliError> {
    let bytes = match (&args.hex, &args.file) {
        (Some(hex), _) => hex::decode(strip_whitespace(hex))?,
        (None, Some(path)) => read_message_file(path)?,
        (None, None) => return Err(CliError::Usage("give a FILE or --hex".into())),
    };
    let message = mimi_content::decode(&bytes)?;
    let sender = args
        .sender
        .or_else(|| message.extensions.sender_uri.clone())
        .ok_or_else(|| {
            CliError::Usage(
                "no senderUri extension: pass --sender to compute the message ID".into(),
            )
        })?;
    let room = args
        .room
        .or_else(|| message.extensions.room_uri.clone())
        .ok_or_else(|| {
            CliError::Usage("no roomUri extension: pass --room to compute the message ID".into())
        })?;
    let id_08 = message_id_08(&bytes, &sender, &room)?;
    let id_07 = message_id_07(&bytes, &sender, &room)?;
    println!("{}", render_text(&message));
    println!("message-id: {id_08}");
    println!("message-id-07: {id_07}");
    Ok(())
}

/// Read a message file: hex text if it is only hex digits and whitespace (a MIMI message
/// starts with 0x87, never an ASCII hex digit), raw CBOR otherwise.
fn read_message_file(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    let raw = std::fs::read(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let is_hex_text = !raw.is_empty()
        && raw
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
    if is_hex_text {
        let text: Vec<u8> = raw
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        Ok(hex::decode(text)?)
    } else {
        Ok(raw)
    }
}

fn strip_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn new(args: NewArgs) -> Result<(), CliError> {
    let sender = UserUri::parse(&args.from)?;
    let room = RoomUri::parse(&args.room)?;
    let reply_to = args
        .reply_to
        .as_deref()
        .map(|s| s.parse::<MessageId>())
        .transpose()?;
    // content-08 §"Salt": 16 cryptographically random octets.
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(CliError::Random)?;
    let message = if args.markdown {
        MimiContent::markdown(salt, sender.as_str(), room.as_str(), &args.text, reply_to)
    } else {
        MimiContent::text(salt, sender.as_str(), room.as_str(), &args.text, reply_to)
    };
    println!("{}", hex::encode(message.to_cbor()));
    Ok(())
}
