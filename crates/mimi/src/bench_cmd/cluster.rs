//! Providers for the benchmarks: `mimi serve` child processes on loopback, each with its
//! own directory, mutual-TLS certificates from one private CA and durable storage (its
//! SQLite file, or a scratch database of its own on a PostgreSQL server), knowing where the
//! others listen. Request-rate limits are lifted (a benchmark measures the server, not its
//! token buckets) and connection limits raised for many clients; every other setting is
//! what `mimi init` writes.
//!
//! On PostgreSQL the first provider (the hub) can run as several instances: its peers reach
//! them through a round-robin TCP balancer in this process (what a TCP load balancer does in
//! a deployment: each connection goes to the next instance), and its clients are spread
//! over the instances' client APIs.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mimi_client::RemoteApi;
use mimi_server::config::ConfigFile;
use mimi_server::init::{InitOptions, init};
use mimi_types::id::ProviderDomain;

use super::{bench_err, cpu_seconds, rss_bytes};
use crate::demo::free_port;
use crate::error::CliError;

/// One provider process (an instance of a provider).
pub(super) struct Node {
    /// Its name in reports: the domain, with `#n` for the n-th instance beyond the first.
    pub label: String,
    /// Its client API.
    pub client_api: SocketAddr,
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

/// CPU seconds and resident memory of each provider process at one moment.
#[derive(Debug, Clone)]
pub(super) struct Usage {
    /// The processes' labels ([`Node::label`]).
    pub labels: Vec<String>,
    /// CPU seconds used so far, per process.
    pub cpu_s: Vec<f64>,
    /// (current, peak) resident set, in bytes, per process.
    pub rss: Vec<(u64, u64)>,
}

/// Where the providers keep their data.
#[derive(Debug, Clone, Default)]
pub(super) struct Storage {
    /// A PostgreSQL server (an admin URL such as `postgres://postgres@127.0.0.1/postgres`):
    /// each provider gets a scratch database there, dropped at the end. `None`: SQLite.
    pub postgres: Option<String>,
    /// Instances of the first provider (more than one needs PostgreSQL).
    pub hub_instances: usize,
}

impl Storage {
    /// A short name for reports: `sqlite`, `postgres`, `postgres x2`.
    pub fn describe(&self) -> String {
        match (&self.postgres, self.hub_instances) {
            (None, _) => "sqlite".into(),
            (Some(_), n) if n > 1 => format!("postgres, hub x{n}"),
            (Some(_), _) => "postgres".into(),
        }
    }
}

/// The providers of a benchmark.
pub(super) struct Cluster {
    /// The processes, in the order of the domains given to [`Cluster::start`], a provider's
    /// instances together.
    pub nodes: Vec<Node>,
    /// Per domain (same order), the indexes in `nodes` of its instances.
    instances: Vec<Vec<usize>>,
    databases: Vec<mimi_store::ScratchDatabase>,
    balancer: Option<tokio::task::JoinHandle<()>>,
}

impl Cluster {
    /// Set up and start one provider per domain under `dir` on `storage`, wait until every
    /// client API answers.
    pub async fn start(
        dir: &Path,
        domains: &[&str],
        storage: &Storage,
    ) -> Result<Cluster, CliError> {
        let hub_instances = storage.hub_instances.max(1);
        if hub_instances > 1 && storage.postgres.is_none() {
            return Err(CliError::Usage(
                "several instances of a provider need PostgreSQL (--postgres)".into(),
            ));
        }
        let mut fed_ports = Vec::new();
        for _ in domains {
            fed_ports.push(free_port()?);
        }
        // Peers reach a provider with several instances through the balancer.
        let mut hub_ports = Vec::new();
        let mut balancer = None;
        if hub_instances > 1 {
            hub_ports.push(fed_ports[0]);
            for _ in 1..hub_instances {
                hub_ports.push(free_port()?);
            }
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(CliError::Runtime)?;
            let public = listener.local_addr().map_err(CliError::Runtime)?.port();
            balancer = Some(tokio::spawn(balance(listener, hub_ports.clone())));
            fed_ports[0] = public;
        }
        let mut databases = Vec::new();
        if let Some(admin) = &storage.postgres {
            for d in domains {
                let prefix = format!("mimi_bench_{}", d.replace(['.', '-'], "_"));
                databases.push(
                    mimi_store::ScratchDatabase::create(admin, &prefix)
                        .await
                        .map_err(bench_err)?,
                );
            }
        }
        let now_secs = (mimi_server::provider::now_ms() / 1000) as i64;
        let exe = std::env::current_exe().map_err(CliError::Runtime)?;
        let mut nodes = Vec::new();
        let mut instances = Vec::new();
        for (i, d) in domains.iter().enumerate() {
            let peers = domains
                .iter()
                .zip(&fed_ports)
                .filter(|(p, _)| *p != d)
                .map(|(p, port)| (p.to_string(), format!("127.0.0.1:{port}")))
                .collect();
            let own_port = if i == 0 && hub_instances > 1 {
                hub_ports[0]
            } else {
                fed_ports[i]
            };
            let client_api = SocketAddr::from(([127, 0, 0, 1], free_port()?));
            let config = init(&InitOptions {
                domain: ProviderDomain::parse(d)?,
                dir: dir.join(d),
                ca_dir: dir.join("ca"),
                federation_listen: SocketAddr::from(([127, 0, 0, 1], own_port)),
                client_listen: client_api,
                admin_listen: None,
                peers,
                database_url: databases.get(i).map(|db| db.url().to_string()),
                now_secs,
            })?;
            tune(&config)?;
            nodes.push(spawn(&exe, dir, d.to_string(), &config, client_api, &[])?);
            instances.push(vec![nodes.len() - 1]);
            if i == 0 {
                for (n, port) in hub_ports.iter().enumerate().skip(1) {
                    let client_api = SocketAddr::from(([127, 0, 0, 1], free_port()?));
                    let listen = [
                        "--federation-listen".to_string(),
                        format!("127.0.0.1:{port}"),
                        "--client-listen".into(),
                        client_api.to_string(),
                    ];
                    let label = format!("{d}#{}", n + 1);
                    nodes.push(spawn(&exe, dir, label, &config, client_api, &listen)?);
                    instances[0].push(nodes.len() - 1);
                }
            }
        }
        let cluster = Cluster {
            nodes,
            instances,
            databases,
            balancer,
        };
        for node in &cluster.nodes {
            let api = RemoteApi::at(node.client_api)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            while api.health().await.is_err() {
                if Instant::now() > deadline {
                    return Err(bench_err(format!(
                        "{} did not start (see its log in the bench directory)",
                        node.label
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(cluster)
    }

    /// A client of provider `i`'s client API; for a provider with several instances, the
    /// `n`-th client goes to instance `n` mod their number.
    pub fn api(&self, i: usize, n: usize) -> Result<RemoteApi, CliError> {
        let instances = &self.instances[i];
        let node = &self.nodes[instances[n % instances.len()]];
        Ok(RemoteApi::at(node.client_api)?)
    }

    /// CPU and memory of every provider process now.
    pub fn usage(&self) -> Usage {
        Usage {
            labels: self.nodes.iter().map(|n| n.label.clone()).collect(),
            cpu_s: self.nodes.iter().map(|n| cpu_seconds(&n.pid())).collect(),
            rss: self.nodes.iter().map(|n| rss_bytes(&n.pid())).collect(),
        }
    }

    /// SIGTERM every provider, wait for its graceful stop, drop the scratch databases.
    pub async fn stop(mut self) -> Result<(), CliError> {
        let stopped = self.stop_processes();
        if let Some(balancer) = self.balancer.take() {
            balancer.abort();
        }
        for db in std::mem::take(&mut self.databases) {
            db.remove().await.map_err(bench_err)?;
        }
        stopped
    }

    fn stop_processes(&mut self) -> Result<(), CliError> {
        for n in &self.nodes {
            let _ = Command::new("kill").args(["-TERM", &n.pid()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for n in &mut self.nodes {
            loop {
                if let Some(status) = n.child.try_wait().map_err(CliError::Runtime)? {
                    if !status.success() {
                        return Err(bench_err(format!("{} exited with {status}", n.label)));
                    }
                    break;
                }
                if Instant::now() > deadline {
                    return Err(bench_err(format!("{} did not stop on SIGTERM", n.label)));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

/// Start `mimi serve` with `config` (and `extra` arguments), logging
/// to `<dir>/<label>.log`.
fn spawn(
    exe: &Path,
    dir: &Path,
    label: String,
    config: &Path,
    client_api: SocketAddr,
    extra: &[String],
) -> Result<Node, CliError> {
    let path = dir.join(format!("{label}.log"));
    let log = std::fs::File::create(&path).map_err(|e| CliError::Read {
        path: path.display().to_string(),
        source: e,
    })?;
    let child = Command::new(exe)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(extra)
        // Each provider's log (`<label>.log` in the data directory) at `warn`, or at the
        // filter in `MIMI_BENCH_LOG` to look into a run (e.g. `sqlx::query=debug`).
        .env(
            "RUST_LOG",
            std::env::var("MIMI_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(CliError::Runtime)?;
    Ok(Node {
        label,
        client_api,
        child,
    })
}

/// A round-robin TCP balancer: each accepted connection is joined to the next of `ports` on
/// loopback (bytes copied both ways; TLS passes through untouched), until aborted.
async fn balance(listener: tokio::net::TcpListener, ports: Vec<u16>) {
    let mut next = 0usize;
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        let port = ports[next % ports.len()];
        next += 1;
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// Lift the request-rate limits, raise the connection, stream, device and size limits in a
/// provider's configuration.
fn tune(config: &Path) -> Result<(), CliError> {
    let read_err = |e: std::io::Error| CliError::Read {
        path: config.display().to_string(),
        source: e,
    };
    let text = std::fs::read_to_string(config).map_err(read_err)?;
    let mut file: ConfigFile = toml::from_str(&text).map_err(bench_err)?;
    let limits = &mut file.limits;
    let rates = &mut limits.rates;
    rates.peer_per_sec = 0;
    rates.user_per_sec = 0;
    rates.anonymous_per_sec = 0;
    rates.room_message_bytes_per_sec = 0;
    limits.connections.max_per_listener = 65_536;
    limits.connections.client_per_ip = 65_536;
    limits.connections.federation_per_ip = 1024;
    limits.connections.federation_per_peer = 1024;
    limits.quotas.rooms_per_user = 1_000_000;
    limits.quotas.devices_per_user = 0;
    // Commits and GroupInfos of rooms with thousands of members.
    limits.max_body_bytes = 64 << 20;
    limits.max_update_bytes = 64 << 20;
    let text = toml::to_string_pretty(&file).map_err(bench_err)?;
    std::fs::write(config, text).map_err(read_err)
}
