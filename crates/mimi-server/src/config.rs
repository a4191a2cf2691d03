//! The provider's configuration file (TOML), loaded and checked before anything starts.
//!
//! ```toml
//! domain = "a.example"
//! data_dir = "."                       # relative paths are relative to this file
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
//! [limits]
//! max_body_bytes = 1048576
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

/// `[limits]`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest `/update` body, in bytes (commits of large rooms carry the ratchet tree).
    pub max_update_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_update_bytes: 16 << 20,
        }
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
        if file.limits.max_body_bytes < 1024
            || file.limits.max_update_bytes < file.limits.max_body_bytes
        {
            return Err(ServerError::Config(
                "limits: max_body_bytes must be at least 1024 and max_update_bytes at least max_body_bytes".into(),
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

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.path(Path::new("mimi.sqlite"))
    }

    /// Read a configured file, with an error naming it.
    pub fn read(&self, p: &Path) -> Result<Vec<u8>, ServerError> {
        let path = self.path(p);
        std::fs::read(&path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))
    }
}
