//! Providers for the benchmarks: `mimi serve` child processes on loopback, each with its
//! own directory, mutual-TLS certificates from one private CA and durable SQLite file,
//! knowing where the others listen. Request-rate limits are lifted (a benchmark measures
//! the server, not its token buckets) and connection limits raised for many clients; every
//! other setting is what `mimi init` writes.

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

/// One provider process.
pub(super) struct Node {
    /// Its domain.
    pub domain: String,
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

/// CPU seconds and resident memory of each provider at one moment.
#[derive(Debug, Clone)]
pub(super) struct Usage {
    /// CPU seconds used so far, per provider.
    pub cpu_s: Vec<f64>,
    /// (current, peak) resident set, in bytes, per provider.
    pub rss: Vec<(u64, u64)>,
}

/// The providers of a benchmark.
pub(super) struct Cluster {
    /// In the order of the domains given to [`Cluster::start`].
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// Set up and start one provider per domain under `dir`, wait until every client API
    /// answers.
    pub async fn start(dir: &Path, domains: &[&str]) -> Result<Cluster, CliError> {
        let mut fed_ports = Vec::new();
        for _ in domains {
            fed_ports.push(free_port()?);
        }
        let now_secs = (mimi_server::provider::now_ms() / 1000) as i64;
        let exe = std::env::current_exe().map_err(CliError::Runtime)?;
        let mut nodes = Vec::new();
        for (i, d) in domains.iter().enumerate() {
            let peers = domains
                .iter()
                .zip(&fed_ports)
                .filter(|(p, _)| *p != d)
                .map(|(p, port)| (p.to_string(), format!("127.0.0.1:{port}")))
                .collect();
            let client_api = SocketAddr::from(([127, 0, 0, 1], free_port()?));
            let config = init(&InitOptions {
                domain: ProviderDomain::parse(d)?,
                dir: dir.join(d),
                ca_dir: dir.join("ca"),
                federation_listen: SocketAddr::from(([127, 0, 0, 1], fed_ports[i])),
                client_listen: client_api,
                admin_listen: None,
                peers,
                now_secs,
            })?;
            tune(&config)?;
            let log = std::fs::File::create(dir.join(format!("{d}.log"))).map_err(|e| {
                CliError::Read {
                    path: dir.join(format!("{d}.log")).display().to_string(),
                    source: e,
                }
            })?;
            let child = Command::new(&exe)
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .map_err(CliError::Runtime)?;
            nodes.push(Node {
                domain: d.to_string(),
                client_api,
                child,
            });
        }
        let cluster = Cluster { nodes };
        for node in &cluster.nodes {
            let api = RemoteApi::at(node.client_api)?;
            let deadline = Instant::now() + Duration::from_secs(30);
            while api.health().await.is_err() {
                if Instant::now() > deadline {
                    return Err(bench_err(format!(
                        "{} did not start (see its log in the bench directory)",
                        node.domain
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(cluster)
    }

    /// A client of provider `i`'s client API.
    pub fn api(&self, i: usize) -> Result<RemoteApi, CliError> {
        Ok(RemoteApi::at(self.nodes[i].client_api)?)
    }

    /// CPU and memory of every provider now.
    pub fn usage(&self) -> Usage {
        Usage {
            cpu_s: self.nodes.iter().map(|n| cpu_seconds(&n.pid())).collect(),
            rss: self.nodes.iter().map(|n| rss_bytes(&n.pid())).collect(),
        }
    }

    /// SIGTERM every provider and wait for its graceful stop.
    pub fn stop(mut self) -> Result<(), CliError> {
        for n in &self.nodes {
            let _ = Command::new("kill").args(["-TERM", &n.pid()]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for n in &mut self.nodes {
            loop {
                if let Some(status) = n.child.try_wait().map_err(CliError::Runtime)? {
                    if !status.success() {
                        return Err(bench_err(format!("{} exited with {status}", n.domain)));
                    }
                    break;
                }
                if Instant::now() > deadline {
                    return Err(bench_err(format!("{} did not stop on SIGTERM", n.domain)));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

/// Lift the request-rate limits and raise the connection and stream limits in a provider's
/// configuration.
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
    let text = toml::to_string_pretty(&file).map_err(bench_err)?;
    std::fs::write(config, text).map_err(read_err)
}
