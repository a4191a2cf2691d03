//! Running the `mimi` binary from tests: commands, free loopback ports, temporary
//! directories.

#![allow(dead_code)]

pub mod devices;
pub mod dp;
pub mod process;

use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn mimi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mimi"))
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run `mimi args`.
pub fn run(args: &[&str]) -> Output {
    mimi().args(args).output().expect("run mimi")
}

/// Run, expect success, return stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "mimi {args:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A free loopback port for a listener whose address others must know before it starts.
pub fn free_port() -> u16 {
    // Below Linux's ephemeral range (32768-60999), so no outgoing connection can take the
    // port between this check and the listener binding it. Ports are handed out in turn
    // from a random start, so two tests of one process never get the same port while the
    // first has not bound it yet.
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let start = *START.get_or_init(|| {
        let mut b = [0u8; 2];
        getrandom::fill(&mut b).expect("random");
        u32::from(u16::from_le_bytes(b))
    });
    loop {
        let turn = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + ((start + turn) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new directory `mimi-<tag>-<random>` in the system's temporary directory.
    pub fn new(tag: &str) -> TempDir {
        let mut b = [0u8; 6];
        getrandom::fill(&mut b).expect("random");
        let dir = std::env::temp_dir().join(format!("mimi-{tag}-{}", hex::encode(b)));
        std::fs::create_dir_all(&dir).expect("mkdir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Send SIGTERM to `child`; it must then exit successfully on its own within 15 s.
pub fn terminate(child: &mut Child) {
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(
                status.success(),
                "the process exited with {status} after SIGTERM"
            );
            return;
        }
        assert!(Instant::now() < deadline, "no graceful stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
