//! The client commands: `mimi account`, `mimi room`, `mimi send`, `mimi chat`. Each opens the
//! profile (one SQLite file per signed-in device), catches up with the device's event
//! stream, does its work through the client library and the provider's client API, and
//! saves.

pub mod chat;
pub mod profile;
pub mod render;
pub mod session;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use mimi_client::RemoteApi;
use mimi_room::policy::Preset;
use mimi_types::client_api::{IdentifiersRequest, SearchElement, SearchType};
use mimi_types::id::{ProviderDomain, RoomUri, UserUri};

use crate::discovery_cmd::DpArgs;
use crate::error::CliError;
use profile::Profile;
use session::Session;

/// Where a device's profile lives.
#[derive(Debug, Args)]
pub struct ProfileArg {
    /// The profile file (one signed-in device).
    #[arg(
        long,
        env = "MIMI_PROFILE",
        default_value = "mimi-profile.db",
        global = true
    )]
    pub profile: PathBuf,
}

/// `mimi account`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account at a provider, sign in and set up this device.
    Register(AccountArgs),
    /// Sign in to an existing account and set up this device.
    Login(AccountArgs),
    /// Show who this profile is signed in as.
    Show,
    /// Set the identifiers others can find you by (protocol-06 §5.8), or hide you.
    Identifiers {
        /// A handle of your provider: `@nick` or `@nick@<your provider>`.
        #[arg(long)]
        handle: Option<String>,
        /// A nick (may be shared with others).
        #[arg(long)]
        nick: Option<String>,
        /// An email address.
        #[arg(long)]
        email: Option<String>,
        /// An international phone number (`+1 202 555 0101`).
        #[arg(long)]
        phone: Option<String>,
        /// Nobody can find you, by these identifiers or by name.
        #[arg(long)]
        hidden: bool,
    },
}

/// `mimi search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The provider to ask, e.g. `b.example`.
    domain: String,
    /// A handle (`@bob`).
    #[arg(long, group = "what")]
    handle: Option<String>,
    /// A nick.
    #[arg(long, group = "what")]
    nick: Option<String>,
    /// An email address.
    #[arg(long, group = "what")]
    email: Option<String>,
    /// A phone number.
    #[arg(long, group = "what")]
    phone: Option<String>,
    /// Part of a name (3 characters or more).
    #[arg(long, group = "what")]
    name: Option<String>,
}

/// `mimi consent`.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Ask a user of another provider for consent to contact them (protocol-06 §5.7).
    Request {
        /// The user (URI or `@nick@domain`).
        user: String,
        /// Only for this room.
        #[arg(long)]
        room: Option<String>,
    },
    /// Allow a user to contact you (add you to rooms).
    Grant {
        /// The user (URI or `@nick@domain`).
        user: String,
        /// Only for this room.
        #[arg(long)]
        room: Option<String>,
    },
    /// Withdraw or refuse consent.
    Revoke {
        /// The user (URI or `@nick@domain`).
        user: String,
        /// Only for this room.
        #[arg(long)]
        room: Option<String>,
    },
}

/// Account options.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The provider's client API, e.g. `http://127.0.0.1:8080`.
    #[arg(long)]
    server: String,
    /// User name at the provider (the user becomes `mimi://<domain>/u/<name>`).
    #[arg(long)]
    username: String,
    /// Password (8 characters or more). Read from MIMI_PASSWORD if not given.
    #[arg(long, env = "MIMI_PASSWORD", hide_env_values = true)]
    password: String,
    /// Display name (register only) [default: the user name].
    #[arg(long)]
    display_name: Option<String>,
    /// This device's id.
    #[arg(long, default_value = "cli")]
    device: String,
}

/// `mimi room`.
#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Create a room hosted by your provider.
    Create {
        /// The room id: the room becomes `mimi://<your provider>/r/<id>`.
        id: String,
        /// The room policy preset (room-policy-03 Appendix A).
        #[arg(long, default_value = "cooperatively-administered", value_parser = preset)]
        preset: Preset,
    },
    /// Add users to a room: `mimi://b.example/u/bob`, a handle `@bob@b.example`, or a phone
    /// number or email address found through identifier discovery (`tel:+12025550101`,
    /// `bob@mail.example`; needs --dp and --trust).
    Add {
        /// The room URI.
        room: String,
        /// The users.
        #[arg(required = true)]
        users: Vec<String>,
        #[command(flatten)]
        dp: DpArgs,
    },
    /// Remove users (URIs, handles, phone numbers or email addresses; all their devices)
    /// from a room.
    Remove {
        /// The room URI.
        room: String,
        /// The users.
        #[arg(required = true)]
        users: Vec<String>,
        #[command(flatten)]
        dp: DpArgs,
    },
    /// Leave a room (the next member to commit completes it).
    Leave {
        /// The room URI.
        room: String,
    },
    /// Join a room you are a participant of with this device (external commit).
    Join {
        /// The room URI.
        room: String,
    },
    /// Commit pending proposals in a room (e.g. a member's leave).
    Commit {
        /// The room URI.
        room: String,
    },
    /// List the rooms this device is in.
    List,
}

/// `mimi send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The room URI.
    room: String,
    /// The text.
    text: String,
    /// Reply to this message: its ID, or the start of it that `mimi chat` shows after `#`.
    #[arg(long)]
    reply_to: Option<String>,
}

/// `mimi chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The room URI.
    room: String,
    /// Lines of history to show first.
    #[arg(long, default_value_t = 20)]
    history: i64,
}

fn preset(s: &str) -> Result<Preset, String> {
    Preset::ALL
        .into_iter()
        .find(|p| p.name() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
            format!("one of {}", names.join(", "))
        })
}

fn room_uri(s: &str) -> Result<RoomUri, CliError> {
    Ok(RoomUri::parse(s)?)
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

/// Open the profile, catch up with the event stream and print what arrived.
async fn open(profile: &ProfileArg) -> Result<Session, CliError> {
    let mut session = Profile::open(&profile.profile, false).await?.load().await?;
    let seen = session.sync().await?;
    render::print_and_remember(&session, &seen, None).await?;
    Ok(session)
}

/// Run `mimi account`.
pub fn run_account(command: AccountCommand, profile: ProfileArg) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let (args, register) = match command {
            AccountCommand::Register(args) => (args, true),
            AccountCommand::Login(args) => (args, false),
            AccountCommand::Identifiers {
                handle,
                nick,
                email,
                phone,
                hidden,
            } => {
                let session = Profile::open(&profile.profile, false).await?.load().await?;
                let stored = session
                    .api
                    .set_identifiers(&IdentifiersRequest {
                        handle,
                        nick,
                        email,
                        phone,
                        searchable: !hidden,
                    })
                    .await?;
                println!(
                    "{}",
                    serde_json::to_string_pretty(&stored)
                        .map_err(|e| CliError::Usage(e.to_string()))?
                );
                return Ok(());
            }
            AccountCommand::Show => {
                let session = Profile::open(&profile.profile, false).await?.load().await?;
                println!("user:   {}", session.mimi.user_uri());
                println!("device: {}", session.mimi.client_uri());
                println!("server: {}", session.api.base_url());
                return Ok(());
            }
        };
        if profile.profile.exists() {
            return Err(CliError::Usage(format!(
                "{} already holds a device; use another --profile",
                profile.profile.display()
            )));
        }
        let api = RemoteApi::new(&args.server)?;
        let mut session = if register {
            let display = args.display_name.as_deref().unwrap_or(&args.username);
            Session::register(api, &args.username, &args.password, display, &args.device).await?
        } else {
            Session::login(api, &args.username, &args.password, &args.device).await?
        };
        session.profile = Some(Profile::open(&profile.profile, true).await?);
        session.save().await?;
        println!(
            "signed in as {} on device {}; profile {}",
            session.mimi.user_uri(),
            session.mimi.client_uri(),
            profile.profile.display()
        );
        Ok(())
    })
}

/// Run `mimi room`.
pub fn run_room(command: RoomCommand, profile: ProfileArg) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let mut session = open(&profile).await?;
        match command {
            RoomCommand::Create { id, preset } => {
                let room = session.create_room(&id, preset).await?;
                println!("created {room} ({})", preset.name());
            }
            RoomCommand::Add { room, users, dp } => {
                let room = room_uri(&room)?;
                let users = session.resolve_users(&users, &dp).await?;
                session.add(&room, &users).await?;
                let users: Vec<&str> = users.iter().map(UserUri::as_str).collect();
                println!("added {} to {room}", users.join(", "));
            }
            RoomCommand::Remove { room, users, dp } => {
                let room = room_uri(&room)?;
                let users = session.resolve_users(&users, &dp).await?;
                session.remove(&room, &users).await?;
                let users: Vec<&str> = users.iter().map(UserUri::as_str).collect();
                println!("removed {} from {room}", users.join(", "));
            }
            RoomCommand::Leave { room } => {
                let room = room_uri(&room)?;
                session.leave(&room).await?;
                println!("asked to leave {room}; the next commit by a member completes it");
            }
            RoomCommand::Join { room } => {
                let room = room_uri(&room)?;
                session.join(&room).await?;
                println!("joined {room} with {}", session.mimi.client_uri());
            }
            RoomCommand::Commit { room } => {
                let room = room_uri(&room)?;
                session.commit_pending(&room).await?;
                println!("committed the pending proposals of {room}");
            }
            RoomCommand::List => {
                let mut rooms: Vec<&RoomUri> = session.mimi.rooms().collect();
                rooms.sort();
                for room in rooms {
                    let members = session.mimi.member_count(room)?;
                    let epoch = session.mimi.epoch(room)?;
                    println!("{room}  {members} devices, epoch {epoch}");
                }
            }
        }
        // Our own commit comes back through the stream; apply it now.
        let seen = session.sync().await?;
        render::print_and_remember(&session, &seen, None).await?;
        Ok(())
    })
}

/// Run `mimi search`.
pub fn run_search(args: SearchArgs, profile: ProfileArg) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let session = Profile::open(&profile.profile, false).await?.load().await?;
        let (kind, value) = match (args.handle, args.nick, args.email, args.phone, args.name) {
            (Some(v), ..) => (SearchType::Handle, v),
            (_, Some(v), ..) => (SearchType::Nick, v),
            (_, _, Some(v), ..) => (SearchType::Email, v),
            (_, _, _, Some(v), _) => (SearchType::Phone, v),
            (.., Some(v)) => (SearchType::PartialName, v),
            _ => {
                return Err(CliError::Usage(
                    "say what to search: --handle, --nick, --email, --phone or --name".into(),
                ));
            }
        };
        let domain = ProviderDomain::parse(&args.domain)?;
        let element = SearchElement {
            kind,
            name: None,
            value,
        };
        let found = session.api.search(&domain, &[element]).await?;
        if found.users.is_empty() {
            println!("{:?}: nobody", found.code);
        }
        for user in found.users {
            match user.display_name {
                Some(name) => println!("{}  {name}", user.user_uri),
                None => println!("{}", user.user_uri),
            }
        }
        Ok(())
    })
}

/// Run `mimi consent`.
pub fn run_consent(command: ConsentCommand, profile: ProfileArg) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let session = Profile::open(&profile.profile, false).await?.load().await?;
        let (user, room) = match &command {
            ConsentCommand::Request { user, room }
            | ConsentCommand::Grant { user, room }
            | ConsentCommand::Revoke { user, room } => (user, room),
        };
        let user = session.resolve_user(user, &DpArgs::default()).await?;
        let room = room.as_deref().map(room_uri).transpose()?;
        let api = &session.api;
        let (answer, done) = match command {
            ConsentCommand::Request { .. } => {
                (api.request_consent(&user, room.as_ref()).await?, "asked")
            }
            ConsentCommand::Grant { .. } => (
                api.grant_consent(&user, room.as_ref()).await?,
                "granted consent to",
            ),
            ConsentCommand::Revoke { .. } => (
                api.revoke_consent(&user, room.as_ref()).await?,
                "revoked consent of",
            ),
        };
        let scope = room.map_or_else(|| "any room".to_string(), |r| r.to_string());
        println!("{done} {user} for {scope}");
        if !answer.delivered {
            println!(
                "{}'s provider was not told yet ({}); run the command again later",
                user,
                answer.delivery_error.as_deref().unwrap_or("unreachable")
            );
        }
        Ok(())
    })
}

/// Run `mimi send`.
pub fn run_send(args: SendArgs, profile: ProfileArg) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let mut session = open(&profile).await?;
        let room = room_uri(&args.room)?;
        let reply_to = match (&args.reply_to, &session.profile) {
            (Some(id), Some(profile)) => Some(profile.resolve_message(&room, id).await?),
            _ => None,
        };
        let at = session.send_text(&room, &args.text, reply_to).await?;
        println!("sent to {room} (accepted by the hub at {at} ms)");
        Ok(())
    })
}

/// Run `mimi chat`.
pub fn run_chat(args: ChatArgs, profile: ProfileArg) -> Result<(), CliError> {
    runtime()?.block_on(async {
        let session = Profile::open(&profile.profile, false).await?.load().await?;
        chat::run(session, room_uri(&args.room)?, args.history).await
    })
}
