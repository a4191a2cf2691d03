//! `mimi bench peer`: the fanout job on our providers and on Synapse (the Matrix
//! homeserver), in one run on the same machine, side by side.
//!
//! The job is the same on both: one room of M users spread over three providers (three
//! federating homeservers for Synapse, set up from scratch on loopback by
//! `bench/synapse/setup.sh`), one sender per provider, N messages at full load with a few
//! in flight per sender, then a fixed offered rate that Synapse sustains; each message is
//! measured from its send to its arrival at every other member (event stream for us,
//! `/sync` for Synapse). Each system's best delivered rate is compared: Synapse's
//! federation falls behind a loop that only waits for the send to be answered
//! (bench/synapse/README.md), so its full-load phase waits for delivery before the next
//! send; ours does not need to.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use serde_json::{Value, json};

use super::fanout::FanoutArgs;
use super::{WorkDir, bench_err, write_json};
use crate::error::CliError;

/// `mimi bench peer`.
#[derive(Debug, Args)]
pub struct PeerArgs {
    /// The Synapse scripts (setup.sh, start.sh, stop.sh, fanout.py).
    #[arg(long, default_value = "bench/synapse")]
    scripts: PathBuf,
    /// Synapse's database: `sqlite` or `postgres` (127.0.0.1:5432, trust auth).
    #[arg(long, default_value = "sqlite")]
    synapse_db: String,
    /// Members of the room (spread over the three providers).
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u64).range(3..=64))]
    members: u64,
    /// Messages in the full-load phase.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    messages: u64,
    /// Sends in flight per sender in the full-load phase.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    in_flight: u64,
    /// Offered load of the fixed-rate phase, messages/s (one Synapse sustains).
    #[arg(long, default_value_t = 5.0)]
    rate: f64,
    /// Length of the fixed-rate phase, in seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Working directory: must not exist yet, and is kept [default: a temporary directory,
    /// removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Synapse's homeservers, stopped when dropped.
struct Synapse<'a> {
    scripts: &'a Path,
    dir: PathBuf,
    db: &'a str,
}

impl Synapse<'_> {
    fn script(&self, name: &str, reset: bool) -> Result<(), CliError> {
        let status = Command::new("bash")
            .arg(self.scripts.join(name))
            .arg(&self.dir)
            .env("SYNAPSE_DB", self.db)
            .env("SYNAPSE_RESET", if reset { "1" } else { "0" })
            .status()
            .map_err(CliError::Runtime)?;
        if status.success() {
            Ok(())
        } else {
            Err(bench_err(format!("bench/synapse/{name} failed: {status}")))
        }
    }

    /// Fresh databases, then the three homeservers up.
    fn fresh_start(&self) -> Result<(), CliError> {
        let _ = self.script("stop.sh", false);
        self.script("setup.sh", true)?;
        self.script("start.sh", false)
    }

    /// `fanout.py` with these arguments; its JSON report.
    fn fanout(&self, args: &[String], out: &Path) -> Result<Value, CliError> {
        let status = Command::new("python3")
            .arg(self.scripts.join("fanout.py"))
            .arg("--dir")
            .arg(&self.dir)
            .args(args)
            .arg("--json")
            .arg(out)
            .status()
            .map_err(CliError::Runtime)?;
        if !status.success() {
            return Err(bench_err(format!(
                "bench/synapse/fanout.py failed: {status}"
            )));
        }
        let text = std::fs::read_to_string(out).map_err(|e| CliError::Read {
            path: out.display().to_string(),
            source: e,
        })?;
        serde_json::from_str(&text).map_err(bench_err)
    }
}

impl Drop for Synapse<'_> {
    fn drop(&mut self) {
        let _ = self.script("stop.sh", false);
    }
}

/// Run `mimi bench peer`.
pub(super) fn run(args: PeerArgs) -> Result<(), CliError> {
    if !(args.rate > 0.0 && args.rate <= 10_000.0 && args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err(CliError::Usage(
            "--rate must be in (0, 10000] and --seconds in (0, 600]".into(),
        ));
    }
    if !matches!(args.synapse_db.as_str(), "sqlite" | "postgres") {
        return Err(CliError::Usage("--synapse-db is sqlite or postgres".into()));
    }
    if !args.scripts.join("setup.sh").exists() {
        return Err(CliError::Usage(format!(
            "{}: no setup.sh (run from the repository, or pass --scripts)",
            args.scripts.display()
        )));
    }
    let work = WorkDir::new(args.dir.as_ref(), "peer")?;
    std::fs::create_dir_all(&work.path).map_err(CliError::Runtime)?;
    let fixed_n = (args.rate * args.seconds).ceil() as u64;

    println!(
        "== mimi: 1 room x {} members, {} messages at full load, then {}/s for {} s",
        args.members, args.messages, args.rate, args.seconds
    );
    let ours_dir = WorkDir {
        path: work.path.join("mimi"),
        remove: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let ours = runtime.block_on(super::fanout::scenario(
        &FanoutArgs::one_room(
            args.members,
            args.messages,
            3 * args.in_flight,
            args.rate,
            args.seconds,
            ours_dir.path.clone(),
        ),
        &ours_dir,
    ))?;
    drop(runtime);

    println!("\n== Synapse ({}): the same job", args.synapse_db);
    let synapse = Synapse {
        scripts: &args.scripts,
        dir: work.path.join("synapse"),
        db: &args.synapse_db,
    };
    synapse.fresh_start()?;
    let users = args.members.to_string();
    let full = synapse.fanout(
        &[
            "--users".into(),
            users.clone(),
            "--messages".into(),
            args.messages.to_string(),
            "--inflight".into(),
            args.in_flight.to_string(),
            "--await-delivery".into(),
        ],
        &work.path.join("synapse-full.json"),
    )?;
    synapse.fresh_start()?;
    let fixed = synapse.fanout(
        &[
            "--users".into(),
            users,
            "--messages".into(),
            fixed_n.to_string(),
            "--rate".into(),
            args.rate.to_string(),
        ],
        &work.path.join("synapse-fixed.json"),
    )?;
    drop(synapse);

    let ours_rate = ours["max"]["delivered_per_s"].as_f64().unwrap_or(0.0);
    let theirs_rate = full["delivered_per_s"].as_f64().unwrap_or(0.0);
    let ours_p99 = ours["fixed"]["latency_us"]["p99"].as_f64().unwrap_or(0.0) / 1000.0;
    let theirs_p99 = fixed["latency_ms"]["p99"].as_f64().unwrap_or(0.0);
    let ours_p50 = ours["fixed"]["latency_us"]["p50"].as_f64().unwrap_or(0.0) / 1000.0;
    let theirs_p50 = fixed["latency_ms"]["p50"].as_f64().unwrap_or(0.0);
    let ratio = if theirs_rate > 0.0 {
        ours_rate / theirs_rate
    } else {
        0.0
    };
    println!(
        "\n| job: 1 room, {} members, 3 senders | mimi | Synapse {} | ratio |",
        args.members, args.synapse_db
    );
    println!("|---|---|---|---|");
    println!(
        "| delivered to every member, messages/s (best) | {ours_rate:.0} | {theirs_rate:.1} | {ratio:.0}x |"
    );
    println!(
        "| at {}/s offered: latency p50 / p99, ms | {ours_p50:.1} / {ours_p99:.1} | {theirs_p50:.0} / {theirs_p99:.0} | |",
        args.rate
    );
    println!(
        "| undelivered at the fixed rate | {} | {} | |",
        ours["fixed"]["messages"].as_u64().unwrap_or(0)
            - ours["fixed"]["delivered_to_all"].as_u64().unwrap_or(0),
        fixed["undelivered"]
    );
    write_json(
        args.json.as_ref(),
        &json!({
            "scenario": "peer",
            "mimi": ours,
            "synapse": { "database": args.synapse_db, "full": full, "fixed": fixed },
            "ratios": {
                "delivered_per_s": ratio,
                "p99_ms": { "mimi": ours_p99, "synapse": theirs_p99 },
            },
        }),
    )
}
