//! `mimi id`: parse, check and normalize identifiers.

use clap::{Args, Subcommand};
use mimi_types::id::{ConnectionId, MimiUri, PhoneNumber};

use crate::error::CliError;

/// `mimi id ...`
#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Parse a `mimi://` URI (or its URL-path form `a.example/r/clubhouse`) and print its kind,
    /// provider domain, normalized form and URL-path form.
    Parse {
        /// The URI.
        uri: String,
    },
    /// Recognise a connection identifier (handle, phone number or email) and normalize it.
    Connection(ConnectionArgs),
    /// Normalize a phone number written in any common form to +E.164.
    Phone(ConnectionArgs),
}

/// A value and an optional default region for phone numbers in national form.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    /// The value, e.g. `+1 (212) 555-1212`, `@alice@a.example`, `alice@a.example`.
    value: String,
    /// ISO 3166 region for numbers written without a country code, e.g. `GB`.
    #[arg(long, value_name = "CC")]
    region: Option<String>,
}

/// Run a `mimi id` command.
pub fn run(cmd: IdCommand) -> Result<(), CliError> {
    match cmd {
        IdCommand::Parse { uri } => {
            let parsed =
                MimiUri::parse(&uri).or_else(|e| MimiUri::from_url_path(&uri).map_err(|_| e))?;
            println!("kind: {}", parsed.kind());
            println!("domain: {}", parsed.domain());
            println!("uri: {parsed}");
            println!("url-path: {}", parsed.to_url_path());
            Ok(())
        }
        IdCommand::Connection(args) => {
            let id = match &args.region {
                Some(region) => ConnectionId::parse_with_region(&args.value, region)?,
                None => ConnectionId::parse(&args.value)?,
            };
            let kind = match id {
                ConnectionId::Handle(_) => "handle",
                ConnectionId::Phone(_) => "phone",
                ConnectionId::Email(_) => "email",
            };
            println!("{kind}: {id}");
            Ok(())
        }
        IdCommand::Phone(args) => {
            let phone = match &args.region {
                Some(region) => PhoneNumber::parse_with_region(&args.value, region)?,
                None => PhoneNumber::parse(&args.value)?,
            };
            println!("{phone}");
            Ok(())
        }
    }
}
