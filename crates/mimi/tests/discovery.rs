//! Identifier discovery end to end through the `mimi` binary: a distribution point
//! (`mimi discovery serve`), a mapping authority proving control by one-time code, issuing and
//! publishing, and `mimi lookup` verifying the answer; durability across a restart, no SII in
//! the DP's files, and a graceful stop on SIGTERM.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{TempDir, free_port, mimi, ok, run, text};

/// A plain HTTP/1.0 GET on loopback: the status.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    text(&response).split(' ').nth(1)?.parse().ok()
}

struct Dp {
    child: Child,
}

impl Dp {
    fn start(dir: &Path, port: u16) -> Dp {
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
    fn terminate(mut self) {
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
fn files(dir: &Path) -> Vec<PathBuf> {
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn publish_and_look_up_through_a_distribution_point() {
    let tmp = TempDir::new("discovery");
    let dp_dir = tmp.0.join("dp");
    let auth_dir = tmp.0.join("authority");
    let s = |p: &Path| p.to_str().expect("path").to_string();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dp = Dp::start(&dp_dir, port);

    ok(&[
        "discovery",
        "authority",
        "init",
        "--dir",
        &s(&auth_dir),
        "--id",
        "b.example",
    ]);
    ok(&[
        "discovery",
        "authority",
        "challenge",
        "--dir",
        &s(&auth_dir),
        "--sii",
        "+1 202 555 0101",
        "--ssi",
        "mimi://b.example/u/bob",
    ]);
    let codes = std::fs::read_to_string(auth_dir.join("one-time-codes.txt")).expect("codes");
    let code = codes
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("+12025550101 "))
        .expect("a code for the number")
        .to_string();

    // A wrong code is refused and publishes nothing.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let out = run(&[
        "discovery",
        "authority",
        "issue",
        "--dir",
        &s(&auth_dir),
        "--sii",
        "+1 202 555 0101",
        "--code",
        wrong,
        "--dp",
        &url,
        "--dp-token",
        &s(&dp_dir.join("publisher-token")),
    ]);
    assert!(!out.status.success(), "a wrong code was accepted");

    let issued = ok(&[
        "discovery",
        "authority",
        "issue",
        "--dir",
        &s(&auth_dir),
        "--sii",
        "+1 202 555 0101",
        "--code",
        &code,
        "--dp",
        &url,
        "--dp-token",
        &s(&dp_dir.join("publisher-token")),
    ]);
    assert!(issued.contains("published"), "{issued}");

    let trust = tmp.0.join("trust.txt");
    ok(&[
        "discovery",
        "authority",
        "trust",
        "--dir",
        &s(&auth_dir),
        "--out",
        &s(&trust),
    ]);
    let empty_trust = tmp.0.join("empty-trust.txt");
    std::fs::write(&empty_trust, "# trusts nobody\n").expect("write");

    let lookup =
        |number: &str, trust: &Path| ok(&["lookup", number, "--dp", &url, "--trust", &s(trust)]);
    let found = lookup("+1 (202) 555-0101", &trust);
    assert!(found.contains("mimi://b.example/u/bob"), "{found}");
    assert!(
        found.contains("verified: authority b.example serial 1"),
        "{found}"
    );
    let untrusted = lookup("+12025550101", &empty_trust);
    assert!(untrusted.contains("no verified mapping"), "{untrusted}");
    assert!(!untrusted.contains("maps to"), "{untrusted}");
    assert!(untrusted.contains("rejected record 0"), "{untrusted}");
    let unknown = lookup("+1 202 555 0199", &trust);
    assert!(unknown.contains("no verified mapping"), "{unknown}");

    // The DP's files hold neither the E.164 digits nor the number as written.
    let dp_files = files(&dp_dir);
    assert!(
        dp_files.iter().any(|p| p.ends_with("store.cbor")),
        "{dp_files:?}"
    );
    for f in &dp_files {
        let bytes = std::fs::read(f).expect("read");
        for needle in [
            "12025550101",
            "+1 202 555 0101",
            "202 555 0101",
            "2025550101",
        ] {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{} holds {needle}",
                f.display()
            );
        }
    }

    // Durable across a restart.
    dp.terminate();
    let dp = Dp::start(&dp_dir, port);
    let again = lookup("+1-202-555-0101", &trust);
    assert!(again.contains("mimi://b.example/u/bob"), "{again}");
    dp.terminate();
}
