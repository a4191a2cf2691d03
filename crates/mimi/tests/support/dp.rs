//! A distribution point process (`mimi discovery serve`) for tests, and file searches.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{mimi, text};

/// A plain HTTP/1.0 GET on loopback: the status.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    text(&response).split(' ').nth(1)?.parse().ok()
}

/// A running `mimi discovery serve`.
pub struct Dp {
    child: Child,
}

impl Dp {
    /// Start it on `dir`, listening on `port`; wait until it answers.
    pub fn start(dir: &Path, port: u16) -> Dp {
        let child = mimi()
            .args([
                "discovery",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--dir",
                dir.to_str().expect("path"),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mimi discovery serve");
        let dp = Dp { child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get_status(port, "/discovery/v1/key") != Some(200) {
            assert!(Instant::now() < deadline, "the DP did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        dp
    }

    /// SIGTERM, then the process must exit cleanly on its own.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "mimi discovery serve exited with {status}"
                );
                return;
            }
            assert!(Instant::now() < deadline, "no graceful stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
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
