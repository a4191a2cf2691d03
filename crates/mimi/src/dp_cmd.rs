//! `mimi discovery serve` (a distribution point over HTTP, docs/discovery.md §10.1),
//! `mimi discovery publisher add|list` (who may upload to it) and `mimi discovery relay` (an
//! Oblivious HTTP relay in front of its gateway, §12).
//!
//! ```text
//!  publisher add ──▶ DIR/publishers (name, SHA-256 of the token) ──▶ token printed once
//!  serve ──▶ DIR/store.cbor + DIR/journal replayed ──▶ GET key, POST evaluate|lookup|upload
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Subcommand};
use mimi_dp::{DpFiles, DpOptions, DpState};
use mimi_lookup::RatePolicy;

use crate::error::CliError;

/// `mimi discovery serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Data directory: OPRF key, publishers, store snapshot and journal (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Most records in the whole store; uploads beyond are refused (`store full`).
    #[arg(long, default_value_t = DpOptions::default().max_records)]
    max_records: usize,
    /// Evaluations each requester (IP address) may make at once (its bucket's size).
    #[arg(
        long,
        default_value_t = RatePolicy::client_default().burst,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    evaluations_burst: u32,
    /// Milliseconds for a requester to earn one more evaluation.
    #[arg(
        long,
        default_value_t = RatePolicy::client_default().refill_every_ms,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    evaluations_refill_ms: u64,
    /// Compact (new snapshot, empty journal) once the journal holds this many bytes.
    #[arg(
        long,
        default_value_t = DpOptions::default().journal_max_bytes,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    journal_max_bytes: u64,
}

/// `mimi discovery relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Listen address (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7071")]
    listen: SocketAddr,
    /// The gateway it forwards to: `http://host:port/discovery/v1/gateway`.
    #[arg(long)]
    gateway: String,
    /// Requests each client address may relay at once.
    #[arg(
        long,
        default_value_t = mimi_dp::relay::relay_rate_default().burst,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    burst: u32,
    /// Milliseconds for a client to earn one more request.
    #[arg(
        long,
        default_value_t = mimi_dp::relay::relay_rate_default().refill_every_ms,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    refill_ms: u64,
}

/// `mimi discovery publisher ...`: the publishers a distribution point accepts uploads from.
#[derive(Debug, Subcommand)]
pub enum PublisherCommand {
    /// Add a publisher and print its bearer token, once (only its SHA-256 is kept). A running
    /// point accepts it from its next upload on.
    Add {
        /// The distribution point's data directory.
        #[arg(long)]
        dir: PathBuf,
        /// Its name, also its publisher id: 1 to 64 characters of a-z, 0-9, '.' and '-'.
        #[arg(long)]
        name: String,
    },
    /// List the publishers (names and the start of their token hashes).
    List {
        /// The distribution point's data directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::Discovery(e.to_string())
}

/// Run `mimi discovery serve` until SIGTERM or Ctrl-C, then compact the store.
pub fn serve(args: ServeArgs) -> Result<(), CliError> {
    crate::logging::init();
    let options = DpOptions {
        rate: RatePolicy::new(args.evaluations_burst, args.evaluations_refill_ms),
        max_records: args.max_records,
        journal_max_bytes: args.journal_max_bytes,
    };
    let files = DpFiles::open(&args.dir).map_err(err)?;
    let started = Instant::now();
    let state = Arc::new(DpState::open(files, &options).map_err(err)?);
    let loaded_ms = started.elapsed().as_millis();
    // Evaluations are CPU-bound: one worker per core.
    listen_until_stopped(args.listen, |listener, addr| async move {
        println!(
            "store: {} records under {} indices, loaded in {loaded_ms} ms",
            state.record_count().await,
            state.index_count().await
        );
        println!(
            "publisher token: {} (more: mimi discovery publisher add)",
            args.dir.join(mimi_dp::TOKEN_FILE).display()
        );
        // What clients pin (docs/discovery-lookup.md §10, "Tagging"; docs/discovery.md §12.3).
        println!(
            "OPRF key (--dp-key): {}",
            hex::encode(state.public_key().to_bytes())
        );
        println!(
            "OHTTP keys (--ohttp-keys): {}",
            hex::encode(state.gateway().key_configs())
        );
        println!("distribution point listening on http://{addr}");
        mimi_dp::serve(listener, state, crate::server_cmd::shutdown_signal()).await
    })
}

/// On a multi-thread runtime, bind `listen` and run `serve` on the listener until it returns
/// (the servers stop on SIGTERM or Ctrl-C).
fn listen_until_stopped<F, Fut>(listen: SocketAddr, serve: F) -> Result<(), CliError>
where
    F: FnOnce(tokio::net::TcpListener, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| err(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map_err(err)?;
        serve(listener, addr).await.map_err(err)?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Run `mimi discovery relay` until SIGTERM or Ctrl-C.
pub fn relay(args: RelayArgs) -> Result<(), CliError> {
    crate::logging::init();
    let state = Arc::new(
        mimi_dp::relay::RelayState::new(&args.gateway, RatePolicy::new(args.burst, args.refill_ms))
            .map_err(err)?,
    );
    listen_until_stopped(args.listen, |listener, addr| async move {
        println!(
            "OHTTP relay listening on http://{addr}, forwarding to {}",
            args.gateway
        );
        mimi_dp::relay::serve_relay(listener, state, crate::server_cmd::shutdown_signal()).await
    })
}

/// An existing data directory (listing must not create one).
fn existing(dir: &Path) -> Result<DpFiles, CliError> {
    if !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "{}: no such distribution point directory",
            dir.display()
        )));
    }
    DpFiles::open(dir).map_err(err)
}

/// Run `mimi discovery publisher ...`.
pub fn publisher(cmd: PublisherCommand) -> Result<(), CliError> {
    match cmd {
        PublisherCommand::Add { dir, name } => {
            let token = DpFiles::open(&dir)
                .map_err(err)?
                .add_publisher(&name)
                .map_err(err)?;
            eprintln!(
                "publisher {name} added to {}; its bearer token follows, shown this once",
                dir.display()
            );
            println!("{token}");
            Ok(())
        }
        PublisherCommand::List { dir } => {
            for p in existing(&dir)?.publishers().map_err(err)? {
                let hash = hex::encode(p.token_sha256);
                println!("{}  token sha256 {}…", p.name, &hash[..16]);
            }
            Ok(())
        }
    }
}
