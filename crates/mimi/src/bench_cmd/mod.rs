//! `mimi bench`: load benchmarks against real processes, one scenario per subcommand
//! (docs/benchmarks.md has the figures, the machine and the commands).
//!
//! - `discovery`: a distribution point holding a million sealed mapping assertions.
//! - `fanout`: three providers (`mimi serve` child processes, mutual TLS, durable SQLite),
//!   rooms spread over them, messages sent through the client API and read from the
//!   recipients' event streams: accepted and delivered messages/s, send-to-every-recipient
//!   latency at a fixed offered load, CPU and memory per provider.
//! - `large-room`: one room grown to thousands of members in batches; commit and message
//!   cost in it, the hub's memory per member.
//! - `peer`: the fanout job on our providers and on Synapse (bench/synapse), side by side.
//! - `scaleout`: the fanout job on SQLite, then on PostgreSQL with one and several hub
//!   instances, side by side.
//! - `streams`: thousands of connected clients' event streams on one provider, idle.
//! - `baseline`: the machine's limit for the same traffic shape, in the same run: a minimal
//!   hyper + rustls mutual-TLS server answering the same request sizes, and raw SQLite
//!   inserts with the same durability settings.

mod baseline;
mod cluster;
mod discovery;
mod fanout;
mod large_room;
mod peer;
mod scaleout;
mod streams;

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{Value, json};

use crate::error::CliError;

pub use baseline::BaselineArgs;
pub use discovery::DiscoveryArgs;
pub use fanout::FanoutArgs;
pub use large_room::LargeRoomArgs;
pub use peer::PeerArgs;
pub use scaleout::ScaleoutArgs;
pub use streams::StreamsArgs;

/// `mimi bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// A distribution point holding N sealed, signed mapping assertions, as a child process:
    /// setup and startup time, memory, lookups/s and full private lookups/s with latencies.
    Discovery(DiscoveryArgs),
    /// Hub and two followers as child processes, rooms over all three, messages through the
    /// client API to every recipient's event stream: throughput at full load, latency at a
    /// fixed offered load, CPU and RSS per provider; the baseline of the same shape beside it.
    Fanout(FanoutArgs),
    /// One room grown to N members across the three providers in batches: the committer's
    /// and the hub's time per commit as it grows, commit and message cost at full size, the
    /// hub's memory per member.
    LargeRoom(LargeRoomArgs),
    /// The machine's limit for the fanout's traffic shape: a minimal mutual-TLS HTTP/2
    /// server answering the same request sizes, and raw durable SQLite inserts.
    Baseline(BaselineArgs),
    /// The fanout job (one room, three providers) on our providers and on Synapse, set up
    /// from scratch on loopback by bench/synapse, side by side with the ratio.
    Peer(PeerArgs),
    /// The fanout job on SQLite, then on PostgreSQL with the hub as one instance and as
    /// several (behind a TCP balancer), side by side.
    Scaleout(ScaleoutArgs),
    /// Many connected clients: thousands of open event streams on one provider, its memory
    /// and idle CPU.
    Streams(StreamsArgs),
}

/// Run `mimi bench ...`.
pub fn run(cmd: BenchCommand) -> Result<(), CliError> {
    match cmd {
        BenchCommand::Discovery(args) => discovery::discovery(args),
        BenchCommand::Fanout(args) => fanout::run(args),
        BenchCommand::LargeRoom(args) => large_room::run(args),
        BenchCommand::Baseline(args) => baseline::run(args),
        BenchCommand::Peer(args) => peer::run(args),
        BenchCommand::Scaleout(args) => scaleout::run(args),
        BenchCommand::Streams(args) => streams::run(args),
    }
}

/// A benchmark's failure.
fn bench_err(e: impl std::fmt::Display) -> CliError {
    CliError::Bench(e.to_string())
}

/// A directory removed on drop (unless the user named it).
pub(crate) struct WorkDir {
    pub(crate) path: PathBuf,
    pub(crate) remove: bool,
}

impl WorkDir {
    /// `dir` if given (it must not exist yet; kept), else a new temporary directory named
    /// `mimi-bench-{what}-…` (removed on drop).
    fn new(dir: Option<&PathBuf>, what: &str) -> Result<Self, CliError> {
        match dir {
            Some(d) if d.exists() => Err(CliError::Usage(format!(
                "{}: exists already (the benchmark builds a new directory)",
                d.display()
            ))),
            Some(d) => Ok(WorkDir {
                path: d.clone(),
                remove: false,
            }),
            None => {
                let mut b = [0u8; 6];
                getrandom::fill(&mut b).map_err(CliError::Random)?;
                Ok(WorkDir {
                    path: std::env::temp_dir()
                        .join(format!("mimi-bench-{what}-{}", hex::encode(b))),
                    remove: true,
                })
            }
        }
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// CPU time (user and system) of a process so far, in seconds, from `/proc/PID/stat` (clock
/// ticks of 1/100 s, Linux's `USER_HZ`); `pid` may be `self`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces):
    // state is field 3, utime 14 and stime 15.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Resident memory of a process now and at its peak, in bytes, from `/proc/PID/status`.
fn rss_bytes(pid: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Default, Clone, Copy)]
struct Latency {
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

impl Latency {
    fn of(mut micros: Vec<u32>) -> Self {
        if micros.is_empty() {
            return Self::default();
        }
        micros.sort_unstable();
        let at =
            |q: f64| u64::from(micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)]);
        Self {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: u64::from(micros[micros.len() - 1]),
        }
    }

    fn json(&self) -> Value {
        json!({ "p50": self.p50, "p99": self.p99, "p99_9": self.p999, "max": self.max })
    }

    /// `p50 / p99 / p99.9` in milliseconds.
    fn millis(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        format!(
            "{:.1} / {:.1} / {:.1} ms",
            ms(self.p50),
            ms(self.p99),
            ms(self.p999)
        )
    }
}

/// Write `value` to `path` as pretty JSON, if a path was given.
fn write_json(path: Option<&PathBuf>, value: &Value) -> Result<(), CliError> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| CliError::Read {
        path: path.display().to_string(),
        source: e,
    })?;
    println!("figures written to {}", path.display());
    Ok(())
}
