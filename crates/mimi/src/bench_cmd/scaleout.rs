//! `mimi bench scaleout`: the fanout scenario on the embedded SQLite, then on PostgreSQL
//! with the hub as one instance and as several (issue 10, docs/decisions/0160), one after
//! the other on the same machine, side by side.
//!
//! Every run is the same job (rooms, members, messages, concurrency); the fixed-rate phase
//! of every run offers the same rate, one every configuration sustains, so latencies
//! compare. Each run checks exactly-once delivery and one order
//! per room, as `mimi bench fanout` does.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use super::cluster::Storage;
use super::fanout::FanoutArgs;
use super::{WorkDir, write_json};
use crate::error::CliError;

/// `mimi bench scaleout`.
#[derive(Debug, Args)]
pub struct ScaleoutArgs {
    /// The PostgreSQL server: an admin URL such as
    /// `postgres://postgres@127.0.0.1:5432/postgres` (each run's providers get scratch
    /// databases there, dropped at the end).
    #[arg(long)]
    postgres: String,
    /// Hub instances of the PostgreSQL runs, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2",
          value_parser = clap::value_parser!(u64).range(1..=8))]
    instances: Vec<u64>,
    /// Rooms, all hosted by a.example.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    rooms: u64,
    /// Members of each room (spread round-robin over a, b and c).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(2..=64))]
    members: u64,
    /// Messages in each run's full-load phase.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    messages: u64,
    /// Submissions in flight in the full-load phase.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// Offered load of every run's fixed-rate phase, messages/s.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Length of each fixed-rate phase, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Working directory: must not exist yet, and is kept [default: a temporary directory,
    /// removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Run `mimi bench scaleout`.
pub(super) fn run(args: ScaleoutArgs) -> Result<(), CliError> {
    if !(args.seconds > 0.0 && args.seconds.is_finite() && args.seconds <= 600.0) {
        return Err(CliError::Usage("--seconds must be in (0, 600]".into()));
    }
    if !(args.rate > 0.0 && args.rate.is_finite() && args.rate <= 1_000_000.0) {
        return Err(CliError::Usage("--rate must be in (0, 1000000]".into()));
    }
    let mut storages = vec![Storage::default()];
    for n in &args.instances {
        storages.push(Storage {
            postgres: Some(args.postgres.clone()),
            hub_instances: *n as usize,
        });
    }
    let work = WorkDir::new(args.dir.as_ref(), "scaleout")?;
    std::fs::create_dir_all(&work.path).map_err(CliError::Runtime)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let mut runs: Vec<(String, Value)> = Vec::new();
    for (i, storage) in storages.iter().enumerate() {
        println!(
            "\n== run {} of {}: {}",
            i + 1,
            storages.len(),
            storage.describe()
        );
        let dir = WorkDir {
            path: work.path.join(format!("run{i}")),
            remove: false,
        };
        let job = FanoutArgs::on_storage(
            args.rooms,
            args.members,
            args.messages,
            args.concurrency,
            Some(args.rate),
            args.seconds,
            storage,
            dir.path.clone(),
        );
        let figures = runtime.block_on(super::fanout::scenario(&job, &dir))?;
        runs.push((storage.describe(), figures));
    }

    println!(
        "\n| {} rooms x {} members, {} messages | accepted/s | delivered/s | at {:.0}/s: p50 / p99 / p99.9 ms | hub CPU ms per message |",
        args.rooms, args.members, args.messages, args.rate
    );
    println!("|---|---|---|---|---|");
    for (name, f) in &runs {
        let ms = |q: &str| f["fixed"]["latency_us"][q].as_f64().unwrap_or(0.0) / 1000.0;
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} / {:.1} / {:.1} | {:.2} |",
            f["max"]["accepted_per_s"].as_f64().unwrap_or(0.0),
            f["max"]["delivered_per_s"].as_f64().unwrap_or(0.0),
            ms("p50"),
            ms("p99"),
            ms("p99_9"),
            hub_cpu_ms_per_message(f),
        );
    }
    write_json(
        args.json.as_ref(),
        &json!({
            "scenario": "scaleout",
            "fixed_rate_per_s": args.rate,
            "runs": runs
                .iter()
                .map(|(name, f)| json!({ "storage": name, "fanout": f }))
                .collect::<Vec<_>>(),
        }),
    )
}

/// CPU milliseconds the hub's processes (all its instances) spent per accepted message in
/// the full-load phase.
fn hub_cpu_ms_per_message(figures: &Value) -> f64 {
    let max = &figures["max"];
    let accepted = max["accepted"].as_f64().unwrap_or(0.0);
    let cpu: f64 = max["providers"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| {
                    p["process"]
                        .as_str()
                        .is_some_and(|l| l.starts_with("a.example"))
                })
                .filter_map(|p| p["cpu_seconds"].as_f64())
                .sum()
        })
        .unwrap_or(0.0);
    if accepted > 0.0 {
        1000.0 * cpu / accepted
    } else {
        0.0
    }
}
