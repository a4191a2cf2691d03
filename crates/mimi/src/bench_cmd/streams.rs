//! `mimi bench streams`: many connected clients on one provider. Registers users with
//! several devices each, opens one Server-Sent-Events stream per slot (the provider's
//! default quotas: 4 streams per device, 16 per user), and measures the provider's memory and
//! CPU with every stream open and idle: what a provider pays for users who are online and
//! not talking.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use mimi_client::{MimiClient, RemoteApi};
use serde_json::json;

use super::cluster::{Cluster, Storage};
use super::{WorkDir, bench_err, cpu_seconds, write_json};
use crate::error::CliError;

const PASSWORD: &str = "bench password";
const DEVICES_PER_USER: usize = 4;
const STREAMS_PER_DEVICE: usize = 4;

/// `mimi bench streams`.
#[derive(Debug, Args)]
pub struct StreamsArgs {
    /// Event streams to hold open (one provider; 16 per user, 4 per device).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(16..=18_000))]
    streams: u64,
    /// How long to measure the idle provider, in seconds.
    #[arg(long, default_value_t = 10.0)]
    idle_seconds: f64,
    /// The provider's data directory: must not exist yet, and is kept [default: a
    /// temporary directory, removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Run `mimi bench streams`.
pub(super) fn run(args: StreamsArgs) -> Result<(), CliError> {
    if !(args.idle_seconds > 0.0 && args.idle_seconds <= 600.0) {
        return Err(CliError::Usage("--idle-seconds must be in (0, 600]".into()));
    }
    let work = WorkDir::new(args.dir.as_ref(), "streams")?;
    std::fs::create_dir_all(&work.path).map_err(CliError::Runtime)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async {
        let cluster = Cluster::start(&work.path, &["a.example"], &Storage::default()).await?;
        let fresh = cluster.usage();
        let per_user = DEVICES_PER_USER * STREAMS_PER_DEVICE;
        let users = (args.streams as usize).div_ceil(per_user);
        println!(
            "mimi bench streams: {} streams ({users} users x {DEVICES_PER_USER} devices x {STREAMS_PER_DEVICE} streams) on one provider",
            users * per_user
        );
        let started = Instant::now();
        let mut streams = Vec::with_capacity(users * per_user);
        for u in 0..users {
            let mut api: RemoteApi = cluster.api(0, 0)?;
            let name = format!("u{u}");
            api.register(&name, PASSWORD, &name).await?;
            api.login(&name, PASSWORD).await?;
            for d in 0..DEVICES_PER_USER {
                let device = format!("d{d}");
                let signer = MimiClient::new_signer()?;
                api.register_device(&device, signer.public()).await?;
                for _ in 0..STREAMS_PER_DEVICE {
                    streams.push(api.stream(&device, 0).await?);
                }
            }
        }
        let open_s = started.elapsed().as_secs_f64();
        println!("opened {} streams in {open_s:.1} s", streams.len());
        let bench_before = cpu_seconds("self");
        let before = cluster.usage();
        tokio::time::sleep(Duration::from_secs_f64(args.idle_seconds)).await;
        let after = cluster.usage();
        let idle_cpu = after.cpu_s[0] - before.cpu_s[0];
        let bench_cpu = cpu_seconds("self") - bench_before;
        let per_stream = (after.rss[0].0.saturating_sub(fresh.rss[0].0)) as f64
            / streams.len().max(1) as f64;
        println!(
            "provider: RSS {:.1} MB fresh, {:.1} MB with every stream open ({:.1} KB per stream); idle CPU {:.2}% of a core over {} s (the load generator {:.2}%)",
            fresh.rss[0].0 as f64 / 1e6,
            after.rss[0].0 as f64 / 1e6,
            per_stream / 1e3,
            100.0 * idle_cpu / args.idle_seconds,
            args.idle_seconds,
            100.0 * bench_cpu / args.idle_seconds,
        );
        let open = streams.len();
        drop(streams);
        cluster.stop().await?;
        if open == 0 {
            return Err(bench_err("no stream opened"));
        }
        write_json(
            args.json.as_ref(),
            &json!({
                "scenario": "streams",
                "streams": open,
                "users": users,
                "open_seconds": open_s,
                "rss_fresh_bytes": fresh.rss[0].0,
                "rss_open_bytes": after.rss[0].0,
                "rss_per_stream_bytes": per_stream,
                "idle_cpu_percent_of_one_core": 100.0 * idle_cpu / args.idle_seconds,
                "idle_seconds": args.idle_seconds,
            }),
        )
    })
}
