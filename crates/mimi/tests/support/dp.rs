//! A distribution point process (`mimi discovery serve`) for tests, and file searches.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::{mimi, text};

/// A plain HTTP/1.0 GET on loopback: the body of a 200 answer.
pub fn get_body(port: u16, path: &str) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status: u16 = text(&response[..end]).split(' ').nth(1)?.parse().ok()?;
    (status == 200).then(|| response[end + 4..].to_vec())
}

/// A plain HTTP/1.0 GET on loopback: the status.
pub fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    text(&response).split(' ').nth(1)?.parse().ok()
}

/// A running `mimi` daemon serving HTTP on loopback: a distribution point
/// (`mimi discovery serve`) or an OHTTP relay (`mimi discovery relay`).
pub struct Dp {
    child: Child,
}

impl Dp {
    /// Start a distribution point on `dir`, listening on `port`; wait until it answers.
    pub fn start(dir: &Path, port: u16) -> Dp {
        Self::spawn(
            &[
                "discovery",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--dir",
                dir.to_str().expect("path"),
            ],
            port,
            "/discovery/v1/key",
            None,
        )
    }

    /// Start `mimi args` and wait until `GET ready` on `port` answers (any status but a
    /// refused connection). With `log`, its stderr goes to that file at `RUST_LOG=debug`.
    pub fn spawn(args: &[&str], port: u16, ready: &str, log: Option<&Path>) -> Dp {
        let mut command = mimi();
        command.args(args).stdout(Stdio::null());
        match log {
            Some(path) => {
                let file = std::fs::File::create(path).expect("log file");
                command.env("RUST_LOG", "debug").stderr(Stdio::from(file));
            }
            None => {
                command.env("RUST_LOG", "warn").stderr(Stdio::inherit());
            }
        }
        let child = command.spawn().expect("spawn mimi");
        let dp = Dp { child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get_status(port, ready).is_none() {
            assert!(Instant::now() < deadline, "mimi {args:?} did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        dp
    }

    /// SIGTERM, then the process must exit cleanly on its own.
    pub fn terminate(mut self) {
        super::terminate(&mut self.child);
    }
}

impl Drop for Dp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, recursively.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
