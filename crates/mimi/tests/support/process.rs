//! A provider as a `mimi serve` child process that a test can kill with SIGKILL at the
//! point it chooses and restart on the same data directory: the crash a power cut or the
//! OOM killer causes, not a graceful stop.
//!
//! ```text
//!  ServeProcess::init  ── mimi init (keys, certificates from the shared CA, mimi.toml)
//!        │ start ──────── mimi serve, until the client API answers /healthz
//!        │ kill9 ──────── SIGKILL, reaped (no shutdown code runs, the WAL stays as it is)
//!        └ start again ── same mimi.toml, same SQLite file
//!
//!  ServeProcess::instance ── another mimi serve of the same provider (same mimi.toml, its
//!                            own ports): several instances share a PostgreSQL database
//! ```
//!
//! Each process's stderr (its log) is appended to `<dir>/<domain>/serve.log` across
//! restarts; [`ServeProcess::log_count`] counts lines in it.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, mimi, ok};

/// How long a start may take until `/healthz` answers.
const START_BOUND: Duration = Duration::from_secs(30);

/// One provider's `mimi serve` process (or none, between a kill and a restart).
pub struct ServeProcess {
    /// Its domain.
    pub domain: String,
    /// Its federation port (peers are configured with it).
    pub federation_port: u16,
    /// Its client API port.
    pub client_port: u16,
    /// Its admin port (`/metrics`, `/healthz`).
    pub admin_port: u16,
    config: PathBuf,
    log: PathBuf,
    /// `mimi serve` arguments beyond the configuration (another instance's ports).
    listen_args: Vec<String>,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
}

impl ServeProcess {
    /// `mimi init` a provider under `dir/<domain>` (certificates from the CA in `dir/ca`),
    /// listening for federation on `federation_port`, knowing `peers` (domain, federation
    /// port) on loopback. Not started.
    pub fn init(
        dir: &Path,
        domain: &str,
        federation_port: u16,
        peers: &[(&str, u16)],
    ) -> ServeProcess {
        Self::init_with(dir, domain, federation_port, peers, None)
    }

    /// [`ServeProcess::init`], keeping the provider's data in PostgreSQL at `database_url`
    /// if given.
    pub fn init_with(
        dir: &Path,
        domain: &str,
        federation_port: u16,
        peers: &[(&str, u16)],
        database_url: Option<&str>,
    ) -> ServeProcess {
        let (client_port, admin_port) = (free_port(), free_port());
        let home = dir.join(domain);
        let mut args = vec![
            "init".to_string(),
            "--domain".into(),
            domain.into(),
            "--dir".into(),
            home.to_string_lossy().into_owned(),
            "--ca-dir".into(),
            dir.join("ca").to_string_lossy().into_owned(),
            "--federation-listen".into(),
            format!("127.0.0.1:{federation_port}"),
            "--client-listen".into(),
            format!("127.0.0.1:{client_port}"),
            "--admin-listen".into(),
            format!("127.0.0.1:{admin_port}"),
        ];
        for (peer, port) in peers {
            args.push("--peer".into());
            args.push(format!("{peer}=127.0.0.1:{port}"));
        }
        if let Some(url) = database_url {
            args.push("--database-url".into());
            args.push(url.into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let wrote = ok(&args);
        assert!(wrote.contains("mimi.toml"), "{wrote}");
        ServeProcess {
            domain: domain.to_string(),
            federation_port,
            client_port,
            admin_port,
            config: home.join("mimi.toml"),
            log: home.join("serve.log"),
            listen_args: Vec::new(),
            child: None,
            starts: 0,
        }
    }

    /// Another instance of this provider: the same configuration (keys, database), its own
    /// ports, its own log (`serve-<federation port>.log`). Not started.
    pub fn instance(&self) -> ServeProcess {
        let (federation_port, client_port, admin_port) = (free_port(), free_port(), free_port());
        let listen_args = vec![
            "--federation-listen".to_string(),
            format!("127.0.0.1:{federation_port}"),
            "--client-listen".into(),
            format!("127.0.0.1:{client_port}"),
            "--admin-listen".into(),
            format!("127.0.0.1:{admin_port}"),
        ];
        ServeProcess {
            domain: self.domain.clone(),
            federation_port,
            client_port,
            admin_port,
            config: self.config.clone(),
            log: self
                .log
                .with_file_name(format!("serve-{federation_port}.log")),
            listen_args,
            child: None,
            starts: 0,
        }
    }

    /// Start `mimi serve` and wait until its client API answers `/healthz` with 200.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.domain);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open serve.log");
        let child = mimi()
            .args(["serve", "--config", self.config.to_str().expect("path")])
            .args(&self.listen_args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn mimi serve");
        self.child = Some(child);
        self.starts += 1;
        let deadline = Instant::now() + START_BOUND;
        while http_get(self.client_port, "/healthz").map(|r| r.0) != Some(200) {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "{} exited at start: {status}; see {:?}",
                    self.domain, self.log
                );
            }
            assert!(Instant::now() < deadline, "{} did not come up", self.domain);
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Kill the process with SIGKILL (no shutdown code runs) and reap it. Its ports are free
    /// again when this returns.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        // std's `Child::kill` is SIGKILL on Unix.
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(!status.success(), "killed, not exited: {status}");
    }

    /// Whether the process runs.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The client API's base URL.
    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// The admin listener's `/metrics` text.
    pub fn metrics(&self) -> String {
        match http_get(self.admin_port, "/metrics") {
            Some((200, body)) => body,
            other => panic!("{}: /metrics answered {other:?}", self.domain),
        }
    }

    /// The value of one series in `/metrics` (0 if absent).
    pub fn metric(&self, series: &str) -> u64 {
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Lines of the process's log (all runs so far) that contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A plain HTTP/1.0 GET on loopback: (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}
