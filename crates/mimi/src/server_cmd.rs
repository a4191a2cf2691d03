//! `mimi init` and `mimi serve`: set up and run a provider.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use mimi_server::config::Config;
use mimi_server::init::{InitOptions, init};
use mimi_types::id::ProviderDomain;

use crate::error::CliError;

/// `mimi init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The provider's domain, e.g. `a.example`.
    #[arg(long)]
    domain: String,
    /// Directory for the configuration, keys and database [default: ./<domain>].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Directory of the private federation CA shared by local providers (created if missing,
    /// reused if present). For a real deployment, replace the TLS certificate it issues with
    /// one from a public CA (docs/operating.md).
    #[arg(long, default_value = "mimi-ca")]
    ca_dir: PathBuf,
    /// Federation (mutual-TLS) listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    federation_listen: SocketAddr,
    /// Client API listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    client_listen: SocketAddr,
    /// Admin listen address (`/metrics`, `/healthz`).
    #[arg(long, default_value = "127.0.0.1:9090")]
    admin_listen: SocketAddr,
    /// Reach a peer at this address instead of resolving its domain: `b.example=127.0.0.1:9443`.
    #[arg(long = "peer", value_name = "DOMAIN=HOST:PORT")]
    peers: Vec<String>,
    /// Keep the provider's data in this PostgreSQL database (`postgres://user@host/db`)
    /// instead of SQLite in the directory; several `mimi serve` instances can share it.
    #[arg(long)]
    database_url: Option<String>,
}

/// `mimi serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file `mimi init` wrote.
    #[arg(long, short)]
    config: PathBuf,
    /// Listen for peers here instead of the configuration's `federation.listen` (another
    /// instance of the provider on the same host, docs/operating.md).
    #[arg(long)]
    federation_listen: Option<SocketAddr>,
    /// Listen for clients here instead of the configuration's `client_api.listen`.
    #[arg(long)]
    client_listen: Option<SocketAddr>,
    /// Serve `/metrics` and `/healthz` here instead of the configuration's `admin.listen`.
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
}

/// Run `mimi init`.
pub fn run_init(args: InitArgs) -> Result<(), CliError> {
    let domain = ProviderDomain::parse(&args.domain)?;
    let mut peers = Vec::new();
    for p in &args.peers {
        let (d, addr) = p
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--peer {p}: expected DOMAIN=HOST:PORT")))?;
        peers.push((d.to_string(), addr.to_string()));
    }
    let now_secs = (mimi_server::provider::now_ms() / 1000) as i64;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(domain.as_str()));
    let config = init(&InitOptions {
        domain,
        dir,
        ca_dir: args.ca_dir,
        federation_listen: args.federation_listen,
        client_listen: args.client_listen,
        admin_listen: Some(args.admin_listen),
        peers,
        database_url: args.database_url,
        now_secs,
    })?;
    // Check what was written the way `mimi serve` will.
    Config::load(&config)?;
    println!("wrote {}", config.display());
    println!("run it with: mimi serve --config {}", config.display());
    Ok(())
}

/// Run `mimi serve` until SIGTERM or Ctrl-C; in-flight requests finish first.
pub fn run_serve(args: ServeArgs) -> Result<(), CliError> {
    crate::logging::init();
    let mut config = Config::load(&args.config)?;
    if let Some(listen) = args.federation_listen {
        config.file.federation.listen = listen;
    }
    if let Some(listen) = args.client_listen {
        config.file.client_api.listen = listen;
    }
    if let Some(listen) = args.admin_listen {
        config.file.admin = Some(mimi_server::config::AdminConfig { listen });
    }
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::Runtime)?;
    runtime.block_on(async {
        let running = mimi_server::serve::start(config, shutdown_signal()).await?;
        running
            .done
            .await
            .map_err(|e| CliError::Usage(format!("provider task: {e}")))?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
