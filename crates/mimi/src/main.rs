//! `mimi`: a MIMI (More Instant Messaging Interoperability) provider, client and toolbox.
//!
//! Each subcommand lives in its own module; this file only parses the command line and
//! dispatches.

mod bench_cmd;
mod client;
mod conformance_cmd;
mod content_cmd;
mod demo;
mod discovery_cmd;
mod dp_cmd;
mod error;
mod id_cmd;
mod logging;
mod server_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: a provider that handled a burst of work (password
/// hashes, large commits) gives the memory back once idle, where glibc's per-thread arenas
/// kept it (docs/benchmarks.md, "memory after load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A MIMI provider, client and toolbox.
///
/// MIMI (IETF) lets users of different messaging providers share end-to-end encrypted
/// rooms: each room lives on one hub provider, the other providers are followers, clients
/// encrypt with MLS and message content is CBOR.
#[derive(Debug, Parser)]
#[command(name = "mimi", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run three providers on loopback and the six flows of protocol-06 §3 between alice,
    /// bob and cathy, printing every step.
    Demo(demo::DemoArgs),
    /// Register or sign in a user's device at a provider (kept in --profile).
    Account {
        #[command(subcommand)]
        command: client::AccountCommand,
        #[command(flatten)]
        profile: client::ProfileArg,
    },
    /// Create rooms, add and remove users, leave, join, list.
    Room {
        #[command(subcommand)]
        command: client::RoomCommand,
        #[command(flatten)]
        profile: client::ProfileArg,
    },
    /// Find users of a provider by handle, nick, email, phone or name.
    Search {
        #[command(flatten)]
        args: client::SearchArgs,
        #[command(flatten)]
        profile: client::ProfileArg,
    },
    /// Ask for, grant or revoke consent to be contacted.
    Consent {
        #[command(subcommand)]
        command: client::ConsentCommand,
        #[command(flatten)]
        profile: client::ProfileArg,
    },
    /// Send a text message to a room.
    Send {
        #[command(flatten)]
        args: client::SendArgs,
        #[command(flatten)]
        profile: client::ProfileArg,
    },
    /// Chat in a room: its messages as they arrive, and what you type is sent.
    Chat {
        #[command(flatten)]
        args: client::ChatArgs,
        #[command(flatten)]
        profile: client::ProfileArg,
    },
    /// Create, inspect and identify MIMI message content (draft-ietf-mimi-content).
    #[command(subcommand)]
    Content(content_cmd::ContentCommand),
    /// Parse, check and normalize MIMI identifiers (mimi:// URIs, handles, phone numbers, emails).
    #[command(subcommand)]
    Id(id_cmd::IdCommand),
    /// Create a provider: configuration, federation TLS certificate, client CA, hub and
    /// franking keys.
    Init(server_cmd::InitArgs),
    /// Run a provider until SIGTERM or Ctrl-C.
    Serve(server_cmd::ServeArgs),
    /// Identifier discovery: run a distribution point, act as a mapping authority.
    #[command(subcommand)]
    Discovery(discovery_cmd::DiscoveryCommand),
    /// Look up a phone number or email address privately at a distribution point and verify
    /// the answer against a trust file.
    Lookup(discovery_cmd::LookupArgs),
    /// Load benchmarks against real processes (one scenario per subcommand).
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// Run the conformance suite against a MIMI provider (the suite plays its peers).
    Conformance(conformance_cmd::ConformanceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Account { command, profile } => client::run_account(command, profile),
        Command::Room { command, profile } => client::run_room(command, profile),
        Command::Search { args, profile } => client::run_search(args, profile),
        Command::Consent { command, profile } => client::run_consent(command, profile),
        Command::Send { args, profile } => client::run_send(args, profile),
        Command::Chat { args, profile } => client::run_chat(args, profile),
        Command::Content(cmd) => content_cmd::run(cmd),
        Command::Id(cmd) => id_cmd::run(cmd),
        Command::Init(args) => server_cmd::run_init(args),
        Command::Serve(args) => server_cmd::run_serve(args),
        Command::Discovery(cmd) => discovery_cmd::run(cmd),
        Command::Lookup(args) => discovery_cmd::run_lookup(args),
        Command::Bench(cmd) => bench_cmd::run(cmd),
        Command::Conformance(args) => conformance_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mimi: {error}");
            ExitCode::FAILURE
        }
    }
}
