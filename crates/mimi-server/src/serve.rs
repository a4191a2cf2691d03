//! `mimi serve`: run a provider until shut down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mimi_store::{AnyStore, PgStore, SqliteStore, Store, StoreWake};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, Database};
use crate::error::ServerError;
use crate::federation::client::FederationClient;
use crate::federation::routes;
use crate::keys::ProviderKeys;
use crate::limits::Limiters;
use crate::listener::ListenerOptions;
use crate::provider::{Provider, store_err};
use crate::tls::FederationTls;

/// A running provider: its state and the addresses it listens on.
pub struct Running {
    /// The provider's shared state.
    pub provider: Arc<Provider<AnyStore>>,
    /// The federation listener's address.
    pub federation_addr: std::net::SocketAddr,
    /// The client API listener's address (plain HTTP).
    pub client_api_addr: std::net::SocketAddr,
    /// The admin listener's address (`/metrics`, `/healthz`), if configured.
    pub admin_addr: Option<std::net::SocketAddr>,
    /// Resolves when every task has stopped after shutdown.
    pub done: tokio::task::JoinHandle<()>,
}

/// Start a provider: load keys and TLS, open storage, restore hosted rooms, bind the
/// listeners and start delivery. It stops when `shutdown` completes, after in-flight
/// requests finish.
pub async fn start(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, ServerError> {
    let keys = ProviderKeys::load(&config)?;
    let tls = FederationTls::load(&config)?;
    std::fs::create_dir_all(config.path(std::path::Path::new("")))?;
    let store = open_store(&config).await?;
    let client = FederationClient::new(
        config.domain.clone(),
        tls.client.clone(),
        config.peers.clone(),
    );
    let federation = bind("federation.listen", config.file.federation.listen).await?;
    let federation_addr = federation.local_addr()?;
    let client_api = bind("client_api.listen", config.file.client_api.listen).await?;
    let client_api_addr = client_api.local_addr()?;
    let admin = match &config.file.admin {
        Some(admin) => Some(bind("admin.listen", admin.listen).await?),
        None => None,
    };
    let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;
    let provider = Provider::start(config, keys, store, client).await?;
    tracing::info!(domain = %provider.domain(), %federation_addr, %client_api_addr, "provider started");
    // One set of limiters for both routers: a room's message budget is shared by its local
    // and remote senders.
    let limits = provider.config.file.limits;
    let limiters = Limiters::new(limits, provider.metrics.clone());
    let metrics = provider.metrics.clone();

    let (stop_tx, stop_rx) = watch::channel(false);
    let wakes = provider
        .store
        .wakes()
        .await
        .map_err(store_err)?
        .map(|wakes| tokio::spawn(forward_wakes(provider.clone(), wakes, stop_rx.clone())));
    let delivery = tokio::spawn(crate::delivery::run(provider.clone(), stop_rx.clone()));
    let housekeeping = tokio::spawn(housekeeping(provider.clone(), stop_rx.clone()));
    let mut listeners = vec![tokio::spawn(crate::listener::serve(
        federation,
        Some(tls.server.clone()),
        routes::router_with(provider.clone(), limiters.clone()),
        ListenerOptions::federation(&limits, metrics.clone()),
        stopped(stop_rx.clone()),
    ))];
    // The client API (plain HTTP for this provider's own users); its event streams end at
    // shutdown.
    listeners.push(tokio::spawn(crate::listener::serve(
        client_api,
        None,
        crate::client_api::router_with(provider.clone(), stop_rx.clone(), limiters),
        ListenerOptions::client(&limits, metrics.clone()),
        stopped(stop_rx.clone()),
    )));
    if let Some(admin) = admin {
        listeners.push(tokio::spawn(crate::listener::serve(
            admin,
            None,
            crate::admin::router(provider.clone()),
            ListenerOptions::admin(&limits, metrics),
            stopped(stop_rx.clone()),
        )));
    }
    let store_owner = provider.clone();
    let done = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
        for listener in listeners {
            let _ = listener.await;
        }
        let _ = delivery.await;
        let _ = housekeeping.await;
        if let Some(wakes) = wakes {
            let _ = wakes.await;
        }
        // Everything that wrote is done: checkpoint and close the database.
        store_owner.store.close().await;
        tracing::info!(domain = %store_owner.domain(), "provider stopped");
    });
    Ok(Running {
        provider,
        federation_addr,
        client_api_addr,
        admin_addr,
        done,
    })
}

/// Open the configured store: the SQLite file in the data directory, or PostgreSQL.
async fn open_store(config: &Config) -> Result<AnyStore, ServerError> {
    Ok(match config.database() {
        Database::Sqlite(path) => SqliteStore::open(&path).await.map_err(store_err)?.into(),
        Database::Postgres(url) => PgStore::connect(&url).await.map_err(store_err)?.into(),
    })
}

/// Wake this instance's event streams and delivery workers for what other instances
/// sharing the store commit (docs/decisions/0160), until shutdown.
async fn forward_wakes<S: Store>(
    provider: Arc<Provider<S>>,
    mut wakes: tokio::sync::mpsc::Receiver<StoreWake>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let wake = tokio::select! {
            wake = wakes.recv() => wake,
            _ = stop.wait_for(|s| *s) => return,
        };
        match wake {
            Some(StoreWake::Clients(clients)) => {
                provider.streams.wake(clients.iter().map(String::as_str));
            }
            Some(StoreWake::Destinations(destinations)) => {
                provider
                    .outbox_ready
                    .wake(destinations.iter().map(String::as_str));
            }
            Some(StoreWake::All) => {
                provider.streams.wake_all();
                match provider.store.outbox_backlog().await {
                    Ok(backlog) => provider
                        .outbox_ready
                        .wake(backlog.iter().map(|b| b.destination.as_str())),
                    Err(e) => tracing::warn!(error = %e, "reading the outbox backlog"),
                }
            }
            None => return,
        }
    }
}

/// Bind a listener, naming the configuration key in the error.
async fn bind(key: &str, addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| ServerError::Config(format!("{key} {addr}: {e}")))
}

/// Completes when `stop` becomes true or its sender is gone.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// How often expired tokens and KeyPackages are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// How often hosted rooms idle for [`ROOM_IDLE`] are dropped from memory.
const EVICT_EVERY: Duration = Duration::from_secs(60);

/// A hosted room nobody asked for in this long leaves memory until its next request
/// (docs/decisions/0157).
const ROOM_IDLE: Duration = Duration::from_secs(600);

/// Periodic clean-up until shutdown: expired tokens and KeyPackages; idle rooms out of
/// memory.
async fn housekeeping<S: Store>(provider: Arc<Provider<S>>, stop: watch::Receiver<bool>) {
    let stop = stopped(stop);
    tokio::pin!(stop);
    let mut purge = tokio::time::interval(PURGE_EVERY);
    let mut evict = tokio::time::interval(EVICT_EVERY);
    evict.tick().await;
    loop {
        tokio::select! {
            _ = purge.tick() => {
                match provider.store.purge_expired(crate::provider::now_ms()).await {
                    Ok(purged) => tracing::debug!(?purged, "purged expired records"),
                    Err(e) => tracing::warn!(error = %e, "purging expired records"),
                }
            }
            _ = evict.tick() => {
                let idle_ms = u64::try_from(ROOM_IDLE.as_millis()).unwrap_or(u64::MAX);
                let evicted = provider
                    .evict_idle_rooms(crate::provider::now_ms(), idle_ms)
                    .await;
                if evicted > 0 {
                    tracing::debug!(evicted, "idle rooms dropped from memory");
                }
            }
            () = &mut stop => return,
        }
    }
}
