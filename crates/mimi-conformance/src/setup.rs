//! The suite's own files: a federation CA, and for each peer provider it plays a TLS
//! certificate, a client CA and hub keys (minted like `mimi init` does). The provider under
//! test must trust the suite's CA for federation and know where the peers listen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use mimi_server::init::{InitOptions, init};
use mimi_types::id::ProviderDomain;

use crate::ConformanceError;

/// The domain of the suite's first peer provider (the follower the target mostly talks to).
pub const PEER_C: &str = "conf-c.example";
/// The domain of the suite's second peer provider.
pub const PEER_D: &str = "conf-d.example";
/// Where the certificate from a CA nobody trusts is kept.
const ROGUE: &str = "rogue";

/// The suite's files in one directory.
#[derive(Debug, Clone)]
pub struct SuiteFiles {
    /// The directory.
    pub dir: PathBuf,
}

fn files_err(e: impl std::fmt::Display) -> ConformanceError {
    ConformanceError::Files(e.to_string())
}

fn mint(dir: &Path, domain: &str, ca_dir: &Path, now_secs: i64) -> Result<(), ConformanceError> {
    if dir.join("mimi.toml").exists() {
        return Ok(());
    }
    let unused: SocketAddr = "127.0.0.1:9".parse().map_err(files_err)?;
    init(&InitOptions {
        domain: ProviderDomain::parse(domain).map_err(files_err)?,
        dir: dir.to_path_buf(),
        ca_dir: ca_dir.to_path_buf(),
        federation_listen: unused,
        client_listen: unused,
        admin_listen: None,
        peers: vec![],
        database_url: None,
        now_secs,
    })
    .map_err(files_err)?;
    Ok(())
}

impl SuiteFiles {
    /// Create what is missing in `dir` (kept across runs, so the target's configuration
    /// stays valid) and return the files.
    pub fn prepare(dir: &Path, now_secs: i64) -> Result<SuiteFiles, ConformanceError> {
        std::fs::create_dir_all(dir)?;
        let files = SuiteFiles {
            dir: dir.to_path_buf(),
        };
        for peer in [PEER_C, PEER_D] {
            mint(&files.peer_dir(peer), peer, &files.ca_dir(), now_secs)?;
        }
        // The same domain as peer c, from a CA of its own that the target does not trust.
        mint(&dir.join(ROGUE), PEER_C, &dir.join("rogue-ca"), now_secs)?;
        Ok(files)
    }

    /// The suite's federation CA directory (`ca.pem` is what the target must trust).
    pub fn ca_dir(&self) -> PathBuf {
        self.dir.join("ca")
    }

    /// The suite's federation CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.ca_dir().join("ca.pem")
    }

    /// A peer's directory (`tls.pem`, `tls.key`, `client-ca.pem`, ...).
    pub fn peer_dir(&self, domain: &str) -> PathBuf {
        self.dir.join(domain)
    }

    /// The untrusted identity's directory.
    pub fn rogue_dir(&self) -> PathBuf {
        self.dir.join(ROGUE)
    }

    /// What to add to the target's configuration, for people.
    pub fn instructions(&self, c: SocketAddr, d: SocketAddr) -> String {
        format!(
            "Configure the provider under test to\n\
             - trust {} as a federation CA (for mimi: add it to [tls] roots), and\n\
             - reach the suite's peers at these addresses (for mimi, in [peers]):\n    \
             \"{PEER_C}\" = \"{c}\"\n    \"{PEER_D}\" = \"{d}\"\n\
             The peers serve their client CAs at /.well-known/mimi-client-ca; the PEM files are\n\
             {} and {}.\n",
            self.ca_cert().display(),
            self.peer_dir(PEER_C).join("client-ca.pem").display(),
            self.peer_dir(PEER_D).join("client-ca.pem").display(),
        )
    }
}
