//! The provider's configuration file (TOML), loaded and checked before anything starts.
//!
//! ```toml
//! domain = "a.example"
//! data_dir = "."                       # relative paths are relative to this file
//! # database_url = "postgres://mimi@db.internal/mimi"  # PostgreSQL instead of SQLite
//!
//! [federation]
//! listen = "127.0.0.1:8443"            # mutual-TLS listener for peer providers
//! public_url = "https://a.example:8443" # how peers reach us (the directory is built from it)
//!
//! [client_api]
//! listen = "127.0.0.1:8080"            # HTTP for this provider's own users
//!
//! [tls]                                # this provider's federation certificate and peers' roots
//! cert = "tls.pem"
//! key = "tls.key"
//! roots = ["ca.pem"]                   # CA certificates that issue peers' certificates
//! system_roots = false                 # also trust the operating system's CAs
//!
//! [keys]
//! client_ca_cert = "client-ca.pem"     # issues this provider's users' MLS credentials
//! client_ca_key = "client-ca.key"
//! hub_key = "hub.key"                  # MLS external-sender key of rooms hosted here
//! franking_key = "franking.key"
//!
//! [admin]                              # optional: Prometheus /metrics and /healthz
//! listen = "127.0.0.1:9090"
//!
//! [peers]                              # address overrides (tests, the demo); else DNS
//! "b.example" = "127.0.0.1:9443"
//!
//! [limits]                             # docs/operating.md "Limits"; 0 turns one off
//! max_body_bytes = 1048576
//! [limits.transport]                   # slow clients, HTTP framing
//! header_read_secs = 10
//! [limits.connections]                 # concurrent connections
//! federation_per_ip = 64
//! [limits.rates]                       # token buckets: 429 + Retry-After
//! peer_per_sec = 200
//! [limits.quotas]                      # per user: 403 (streams: 429)
//! devices_per_user = 20
//!
//! [consent]                            # protocol-06 §5.7 (docs/decisions/0081)
//! require_for_key_material = false     # true: peers get noConsent without a grant
//!
//! [proxy_download]                     # protocol-06 §5.10 (docs/decisions/0083)
//! max_bytes = 16777216
//! timeout_secs = 30
//! [proxy_download.asset_domains]       # peer provider → its asset servers' domains
//! "c.example" = ["assets.c.example"]
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mimi_types::id::ProviderDomain;
use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// The whole configuration, as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The provider's domain.
    pub domain: String,
    /// Where the database and keys live.
    #[serde(default = "dot")]
    pub data_dir: PathBuf,
    /// PostgreSQL (`postgres://...`) instead of the embedded SQLite file `mimi.sqlite` in
    /// `data_dir`: several instances of the provider can share it (docs/operating.md,
    /// "Several instances on PostgreSQL").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// The federation listener.
    pub federation: FederationConfig,
    /// The client API listener.
    pub client_api: ClientApiConfig,
    /// Federation TLS.
    pub tls: TlsConfig,
    /// Key files.
    pub keys: KeysConfig,
    /// The operator's listener (`/metrics`, `/healthz`); none if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminConfig>,
    /// Peer address overrides: domain → host:port.
    #[serde(default)]
    pub peers: BTreeMap<String, String>,
    /// Limits.
    #[serde(default)]
    pub limits: Limits,
    /// Consent (protocol-06 §5.7).
    #[serde(default)]
    pub consent: ConsentConfig,
    /// The hub's download proxy (protocol-06 §5.10).
    #[serde(default)]
    pub proxy_download: ProxyDownloadConfig,
}

fn dot() -> PathBuf {
    PathBuf::from(".")
}

/// `[federation]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Base URL peers use to reach this provider (`https://host:port`).
    pub public_url: String,
}

/// `[client_api]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientApiConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
}

/// `[admin]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to listen on (plain HTTP: keep it on loopback or a private network).
    pub listen: SocketAddr,
}

/// `[tls]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// This provider's certificate chain (PEM), naming its domain.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// CA certificates trusted to issue peers' certificates (PEM files).
    #[serde(default)]
    pub roots: Vec<PathBuf>,
    /// Also trust the operating system's CA certificates (peers with certificates from a
    /// public CA).
    #[serde(default)]
    pub system_roots: bool,
}

/// `[keys]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// The client CA certificate (PEM).
    pub client_ca_cert: PathBuf,
    /// The client CA key (PEM).
    pub client_ca_key: PathBuf,
    /// The hub's MLS signature key (hex of the Ed25519 private and public keys).
    pub hub_key: PathBuf,
    /// The hub's franking key (hex, 32 bytes).
    pub franking_key: PathBuf,
}

/// `[limits]`: what one peer, user, connection or room may use (docs/operating.md
/// "Limits", docs/decisions/0091). Every count, rate and timeout below turns off at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest `/update` body, in bytes (commits of large rooms carry the ratchet tree).
    pub max_update_bytes: usize,
    /// Slow clients and HTTP framing (both listeners).
    pub transport: TransportLimits,
    /// Concurrent connections.
    pub connections: ConnectionLimits,
    /// Request rates (token buckets).
    pub rates: RateLimits,
    /// Per-user quotas and event streams.
    pub quotas: Quotas,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_update_bytes: 16 << 20,
            transport: TransportLimits::default(),
            connections: ConnectionLimits::default(),
            rates: RateLimits::default(),
            quotas: Quotas::default(),
        }
    }
}

/// `[limits.transport]`: timeouts against slow clients (slow-loris) and HTTP framing bounds,
/// applied on the federation and the client API listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportLimits {
    /// Budget for the TLS handshake of a federation connection, in seconds.
    pub tls_handshake_secs: u64,
    /// Budget for a request's head (request line and headers), in seconds; also the
    /// longest wait for the first request of a connection and, for HTTP/1.1, between
    /// requests of a kept-alive connection.
    pub header_read_secs: u64,
    /// Budget for a request body, in seconds, extended by one second for every
    /// `body_min_bytes_per_sec` bytes received.
    pub body_secs: u64,
    /// The body rate that earns more time (0: none; the whole body within `body_secs`).
    pub body_min_bytes_per_sec: u64,
    /// A connection with no request in flight for this long is closed, in seconds.
    pub idle_secs: u64,
    /// Largest request head, in bytes (HTTP/1.1 read buffer, HTTP/2 header list); at least
    /// 8192.
    pub max_header_bytes: usize,
    /// Concurrent HTTP/2 streams per connection (0: hyper's default of 200).
    pub http2_max_concurrent_streams: u32,
}

impl Default for TransportLimits {
    fn default() -> Self {
        Self {
            tls_handshake_secs: 10,
            header_read_secs: 10,
            body_secs: 20,
            body_min_bytes_per_sec: 1024,
            idle_secs: 60,
            max_header_bytes: 32 << 10,
            http2_max_concurrent_streams: 100,
        }
    }
}

/// `[limits.connections]`: concurrent connections; excess ones are closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    /// Open connections per listener, all clients together.
    pub max_per_listener: usize,
    /// Open federation connections per remote address (IPv6: per /64).
    pub federation_per_ip: usize,
    /// Open federation connections per peer domain its TLS client certificate names.
    pub federation_per_peer: usize,
    /// Open client API connections per remote address (IPv6: per /64). Behind a reverse
    /// proxy every user has the proxy's address: raise it or turn it off.
    pub client_per_ip: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_per_listener: 4096,
            federation_per_ip: 64,
            federation_per_peer: 64,
            client_per_ip: 256,
        }
    }
}

/// `[limits.rates]`: token buckets. A request over its bucket is refused with `429` and
/// `Retry-After`, and does nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    /// Federation requests per second per authenticated peer domain.
    pub peer_per_sec: u64,
    /// Federation requests a peer may make at once.
    pub peer_burst: u64,
    /// Client API requests per second per authenticated user.
    pub user_per_sec: u64,
    /// Client API requests a user may make at once.
    pub user_burst: u64,
    /// Client API requests per second per remote address without a valid token (IPv6: per
    /// /64). Behind a reverse proxy this is the proxy's budget: raise it or turn it off.
    pub anonymous_per_sec: u64,
    /// Such requests an address may make at once.
    pub anonymous_burst: u64,
    /// Bytes of messages (`submitMessage`) per second per room hosted here.
    pub room_message_bytes_per_sec: u64,
    /// Bytes of messages a room may take at once (a larger message passes when the bucket
    /// is full, and empties it).
    pub room_message_burst_bytes: u64,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            peer_per_sec: 200,
            peer_burst: 2000,
            user_per_sec: 50,
            user_burst: 500,
            anonymous_per_sec: 20,
            anonymous_burst: 100,
            room_message_bytes_per_sec: 256 << 10,
            room_message_burst_bytes: 4 << 20,
        }
    }
}

/// `[limits.quotas]`: what one user of this provider may hold. A request that would go
/// over a quota is refused with `403` and changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quotas {
    /// Devices (MLS clients) per user.
    pub devices_per_user: usize,
    /// One-time KeyPackages stored per device.
    pub key_packages_per_device: usize,
    /// Rooms a user's devices are in at this provider, hosted or followed (checked when the
    /// user creates a room or joins one by external commit).
    pub rooms_per_user: usize,
    /// Open event streams (SSE) per device; one more is refused with `429`.
    pub streams_per_device: usize,
    /// Open event streams (SSE) per user, all devices together.
    pub streams_per_user: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            devices_per_user: 20,
            key_packages_per_device: 500,
            rooms_per_user: 1000,
            streams_per_device: 4,
            streams_per_user: 16,
        }
    }
}

impl Limits {
    /// Check the combinations a provider cannot run with; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        if self.max_body_bytes < 1024 || self.max_update_bytes < self.max_body_bytes {
            return Err("limits: max_body_bytes must be at least 1024 and max_update_bytes at least max_body_bytes".into());
        }
        if self.transport.max_header_bytes < 8192 {
            return Err("limits.transport: max_header_bytes must be at least 8192".into());
        }
        let r = &self.rates;
        for (rate, per_sec, size, burst) in [
            ("peer_per_sec", r.peer_per_sec, "peer_burst", r.peer_burst),
            ("user_per_sec", r.user_per_sec, "user_burst", r.user_burst),
            (
                "anonymous_per_sec",
                r.anonymous_per_sec,
                "anonymous_burst",
                r.anonymous_burst,
            ),
            (
                "room_message_bytes_per_sec",
                r.room_message_bytes_per_sec,
                "room_message_burst_bytes",
                r.room_message_burst_bytes,
            ),
        ] {
            if per_sec > 0 && burst == 0 {
                return Err(format!(
                    "limits.rates: {size} must be at least 1 when {rate} is set"
                ));
            }
        }
        Ok(())
    }
}

/// `[consent]` (docs/decisions/0081).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentConfig {
    /// Hand out key material of our users to other providers' users only with the target
    /// user's consent (protocol-06 §5.2 `noConsent`/`noConsentForThisRoom`). Off by default:
    /// key material is then claimable by any authenticated peer, as before.
    pub require_for_key_material: bool,
}

/// `[proxy_download]` (docs/decisions/0083).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyDownloadConfig {
    /// Peer provider domain → the domains of its asset servers: the only hosts the hub
    /// fetches from (protocol-06 §5.10: never an open proxy).
    pub asset_domains: BTreeMap<String, Vec<String>>,
    /// Largest asset fetched, in bytes.
    pub max_bytes: usize,
    /// Budget for one download (connect, TLS, request, body), in seconds.
    pub timeout_secs: u64,
}

impl Default for ProxyDownloadConfig {
    fn default() -> Self {
        Self {
            asset_domains: BTreeMap::new(),
            max_bytes: 16 << 20,
            timeout_secs: 30,
        }
    }
}

/// A checked configuration with absolute paths.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file as written.
    pub file: ConfigFile,
    /// The provider's domain.
    pub domain: ProviderDomain,
    /// Peer overrides, parsed.
    pub peers: BTreeMap<ProviderDomain, String>,
    base: PathBuf,
    /// Asset server domain → the peer provider that declared it (`[proxy_download]`).
    pub asset_hosts: BTreeMap<ProviderDomain, ProviderDomain>,
}

/// Where the provider keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded SQLite file (one instance).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by URL (one or several instances).
    Postgres(String),
}

impl Config {
    /// Read and check a configuration file.
    pub fn load(path: &Path) -> Result<Config, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
        let file: ConfigFile = toml::from_str(&text)
            .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_file(file, base)
    }

    /// Check a parsed configuration; relative paths are resolved against `base`.
    pub fn from_file(file: ConfigFile, base: PathBuf) -> Result<Config, ServerError> {
        let domain = ProviderDomain::parse(&file.domain)
            .map_err(|e| ServerError::Config(format!("domain: {e}")))?;
        let mut peers = BTreeMap::new();
        for (d, addr) in &file.peers {
            let d = ProviderDomain::parse(d)
                .map_err(|e| ServerError::Config(format!("peers: {d}: {e}")))?;
            if addr
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .is_none()
            {
                return Err(ServerError::Config(format!(
                    "peers: {d}: {addr:?} is not host:port"
                )));
            }
            peers.insert(d, addr.clone());
        }
        if !file.federation.public_url.starts_with("https://") {
            return Err(ServerError::Config(
                "federation.public_url must be an https:// URL".into(),
            ));
        }
        if file.tls.roots.is_empty() && !file.tls.system_roots {
            return Err(ServerError::Config(
                "tls: name at least one CA file in roots, or set system_roots = true".into(),
            ));
        }
        file.limits.check().map_err(ServerError::Config)?;
        if let Some(url) = &file.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ServerError::Config(
                "database_url must be a postgres:// URL (leave it out for SQLite in data_dir)"
                    .into(),
            ));
        }
        let proxy = &file.proxy_download;
        if proxy.max_bytes == 0 || !(1..=600).contains(&proxy.timeout_secs) {
            return Err(ServerError::Config(
                "proxy_download: max_bytes must be positive and timeout_secs 1 to 600".into(),
            ));
        }
        let mut asset_hosts = BTreeMap::new();
        for (peer, hosts) in &proxy.asset_domains {
            let peer = ProviderDomain::parse(peer).map_err(|e| {
                ServerError::Config(format!("proxy_download.asset_domains: {peer}: {e}"))
            })?;
            for host in hosts {
                let host = ProviderDomain::parse(host).map_err(|e| {
                    ServerError::Config(format!("proxy_download.asset_domains.{peer}: {e}"))
                })?;
                if let Some(other) = asset_hosts.insert(host.clone(), peer.clone())
                    && other != peer
                {
                    return Err(ServerError::Config(format!(
                        "proxy_download.asset_domains: {host} is declared for {other} and {peer}"
                    )));
                }
            }
        }
        Ok(Config {
            file,
            domain,
            peers,
            base,
            asset_hosts,
        })
    }

    /// Resolve a configured path.
    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(&self.file.data_dir).join(p)
        }
    }

    /// The SQLite database file (used unless `database_url` names PostgreSQL).
    pub fn database_path(&self) -> PathBuf {
        self.path(Path::new("mimi.sqlite"))
    }

    /// Where the provider keeps its data.
    pub fn database(&self) -> Database {
        match &self.file.database_url {
            Some(url) => Database::Postgres(url.clone()),
            None => Database::Sqlite(self.database_path()),
        }
    }

    /// Read a configured file, with an error naming it.
    pub fn read(&self, p: &Path) -> Result<Vec<u8>, ServerError> {
        let path = self.path(p);
        std::fs::read(&path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_have_defaults_and_refuse_unknown_keys() {
        let limits: Limits = toml::from_str("").expect("empty");
        assert_eq!(limits, Limits::default());
        limits.check().expect("defaults are valid");
        let partial: Limits =
            toml::from_str("[rates]\npeer_per_sec = 5\n[quotas]\nrooms_per_user = 0\n")
                .expect("partial");
        assert_eq!(partial.rates.peer_per_sec, 5);
        assert_eq!(partial.rates.peer_burst, RateLimits::default().peer_burst);
        assert_eq!(partial.quotas.rooms_per_user, 0);
        for bad in [
            "bogus = 1",
            "[rates]\nbogus = 1",
            "[transport]\nheader_secs = 1",
            "[connections]\nper_ip = 1",
            "[quotas]\nrooms = 1",
        ] {
            assert!(toml::from_str::<Limits>(bad).is_err(), "{bad}");
        }
        // What mimi init writes reads back the same.
        let text = toml::to_string_pretty(&Limits::default()).expect("encode");
        assert_eq!(
            toml::from_str::<Limits>(&text).expect("decode"),
            Limits::default()
        );
    }

    #[test]
    fn impossible_limits_are_refused() {
        let mut l = Limits::default();
        l.transport.max_header_bytes = 4096;
        assert!(l.check().unwrap_err().contains("max_header_bytes"));
        let mut l = Limits::default();
        l.rates.user_burst = 0;
        assert!(l.check().unwrap_err().contains("user_burst"));
        let mut l = Limits::default();
        l.rates.user_burst = 0;
        l.rates.user_per_sec = 0;
        l.check().expect("a rate turned off needs no burst");
        let l = Limits {
            max_body_bytes: 100,
            ..Limits::default()
        };
        assert!(l.check().is_err());
    }

    /// What `mimi init` writes for a.example, with `database_url` set to `url`.
    fn with_database(url: Option<&str>) -> Result<Config, ServerError> {
        let text = format!(
            "domain = \"a.example\"\n{}\
             [federation]\nlisten = \"127.0.0.1:8443\"\npublic_url = \"https://a.example:8443\"\n\
             [client_api]\nlisten = \"127.0.0.1:8080\"\n\
             [tls]\ncert = \"tls.pem\"\nkey = \"tls.key\"\nroots = [\"ca.pem\"]\n\
             [keys]\nclient_ca_cert = \"c.pem\"\nclient_ca_key = \"c.key\"\n\
             hub_key = \"hub.key\"\nfranking_key = \"f.key\"\n",
            url.map_or(String::new(), |u| format!("database_url = {u:?}\n"))
        );
        let file: ConfigFile = toml::from_str(&text).expect("parse");
        Config::from_file(file, PathBuf::from("/etc/mimi"))
    }

    #[test]
    fn the_database_is_sqlite_in_the_data_directory_or_a_postgres_url() {
        let sqlite = with_database(None).expect("sqlite");
        assert_eq!(
            sqlite.database(),
            Database::Sqlite(PathBuf::from("/etc/mimi/./mimi.sqlite"))
        );
        for url in [
            "postgres://mimi@db/mimi",
            "postgresql://db/mimi?sslmode=require",
        ] {
            let config = with_database(Some(url)).expect("postgres");
            assert_eq!(config.database(), Database::Postgres(url.to_string()));
        }
        for bad in ["sqlite:///var/mimi.db", "mysql://db/mimi", ""] {
            let e = with_database(Some(bad)).expect_err(bad).to_string();
            assert!(e.contains("database_url"), "{e}");
        }
    }
}
