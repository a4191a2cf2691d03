//! `mimi bench streams`: many connected clients on one provider. Registers users with
//! several devices each, optionally has them create many rooms hosted there (`--rooms`),
//! opens one Server-Sent-Events stream per slot (the provider's default quotas: 4 streams per
//! device, 16 per user), and measures the provider's memory and CPU with every room hosted
//! and every stream open and idle: what a provider pays for rooms that exist and users who
//! are online and not talking.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use mimi_client::{MimiClient, RemoteApi};
use mimi_room::policy::Preset;
use serde_json::json;

use super::cluster::{Cluster, Storage};
use super::{WorkDir, bench_err, cpu_seconds, write_json};
use crate::client::session::Session;
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
    /// Rooms the users create at the provider (its hub) before the streams open, spread
    /// over the users; each hub room stays in the provider's memory.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=200_000))]
    rooms: u64,
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
        let mut accounts = Vec::with_capacity(users);
        for u in 0..users {
            let mut api: RemoteApi = cluster.api(0, 0)?;
            let name = format!("u{u}");
            api.register(&name, PASSWORD, &name).await?;
            let login = api.login(&name, PASSWORD).await?;
            let mut first = None;
            for d in 0..DEVICES_PER_USER {
                let signer = MimiClient::new_signer()?;
                let (client, credential) = api.register_device(&format!("d{d}"), signer.public()).await?;
                if d == 0 {
                    first = Some(MimiClient::from_parts(client, login.user_uri.clone(), signer, credential)?);
                }
            }
            accounts.push((api, first.ok_or_else(|| bench_err("no device"))?));
        }
        let registered_s = started.elapsed().as_secs_f64();
        let rooms_started = Instant::now();
        let accounts = create_rooms(accounts, args.rooms as usize).await?;
        let rooms_s = rooms_started.elapsed().as_secs_f64();
        let with_rooms = cluster.usage();
        if args.rooms > 0 {
            println!(
                "created {} rooms in {rooms_s:.1} s ({:.0}/s); provider RSS {:.1} MB ({:.1} KB per room)",
                args.rooms,
                args.rooms as f64 / rooms_s.max(1e-9),
                with_rooms.rss[0].0 as f64 / 1e6,
                with_rooms.rss[0].0.saturating_sub(fresh.rss[0].0) as f64 / args.rooms as f64 / 1e3
            );
        }
        let opening = Instant::now();
        let mut streams = Vec::with_capacity(users * per_user);
        for (api, _) in &accounts {
            for d in 0..DEVICES_PER_USER {
                for _ in 0..STREAMS_PER_DEVICE {
                    streams.push(api.stream(&format!("d{d}"), 0).await?);
                }
            }
        }
        let open_s = registered_s + opening.elapsed().as_secs_f64();
        println!("opened {} streams in {open_s:.1} s", streams.len());
        let bench_before = cpu_seconds("self");
        let before = cluster.usage();
        tokio::time::sleep(Duration::from_secs_f64(args.idle_seconds)).await;
        let after = cluster.usage();
        let idle_cpu = after.cpu_s[0] - before.cpu_s[0];
        let bench_cpu = cpu_seconds("self") - bench_before;
        let per_stream = (after.rss[0].0.saturating_sub(with_rooms.rss[0].0)) as f64
            / streams.len().max(1) as f64;
        println!(
            "provider: RSS {:.1} MB fresh, {:.1} MB with the rooms, {:.1} MB with every stream open too ({:.1} KB per stream); idle CPU {:.2}% of a core over {} s (the load generator {:.2}%)",
            fresh.rss[0].0 as f64 / 1e6,
            with_rooms.rss[0].0 as f64 / 1e6,
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
                "rooms": args.rooms,
                "rooms_seconds": rooms_s,
                "rss_fresh_bytes": fresh.rss[0].0,
                "rss_with_rooms_bytes": with_rooms.rss[0].0,
                "rss_open_bytes": after.rss[0].0,
                "rss_per_stream_bytes": per_stream,
                "idle_cpu_percent_of_one_core": 100.0 * idle_cpu / args.idle_seconds,
                "idle_seconds": args.idle_seconds,
            }),
        )
    })
}

/// Have the users create `rooms` rooms at their provider, spread over them, each user's in
/// order and the users in parallel; every room is forgotten by its creator's client once
/// the hub holds it (the load generator keeps no group state it does not need).
async fn create_rooms(
    accounts: Vec<(RemoteApi, MimiClient)>,
    rooms: usize,
) -> Result<Vec<(RemoteApi, MimiClient)>, CliError> {
    let users = accounts.len();
    let mut tasks = tokio::task::JoinSet::new();
    for (u, (api, mimi)) in accounts.into_iter().enumerate() {
        let mine = rooms / users + usize::from(u < rooms % users);
        let mut session = Session {
            api,
            mimi,
            device: "d0".into(),
            username: format!("u{u}"),
            cursor: 0,
            profile: None,
        };
        tasks.spawn(async move {
            let result = async {
                if mine == 0 {
                    return Ok(());
                }
                let hub = session.api.hub().await?;
                for r in 0..mine {
                    let room = session
                        .create_room_with(
                            &hub,
                            &format!("u{u}r{r}"),
                            Preset::CooperativelyAdministered,
                        )
                        .await?;
                    session.mimi.forget_room(&room);
                }
                Ok::<(), CliError>(())
            }
            .await;
            (u, session, result)
        });
    }
    let mut done: Vec<Option<(RemoteApi, MimiClient)>> = (0..users).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (u, session, result) = joined.map_err(bench_err)?;
        result?;
        done[u] = Some((session.api, session.mimi));
    }
    Ok(done.into_iter().flatten().collect())
}
