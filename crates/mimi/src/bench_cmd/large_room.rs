//! `mimi bench large-room`: one room grown to N members across the three providers, and
//! what a commit and a message cost in it.
//!
//! ```text
//!  setup    a.example (hub), b.example, c.example: `mimi serve` child processes (durable
//!           SQLite, mutual TLS); U users spread round-robin over the three, each with D
//!           devices (MLS members: U x D), each device with one KeyPackage
//!  grow     the owner (at a.example) creates the room and adds the users in batches of B:
//!           KeyPackages claimed through the client API (through the hub for b's and c's
//!           users), one commit per batch built by the owner's OpenMLS client, sent to the
//!           hub (validated, stored, fanned out: Welcomes and the commit to every member's
//!           provider); per batch: the client's build time and the hub's answer time
//!  measure  at full size: empty commits (the hub validates the whole tree) and messages,
//!           each answered by the hub once stored with its fanout; the hub's memory before
//!           and after the room grew (per member)
//! ```
//!
//! Members other than the owner do not process their Welcomes (their devices are not
//! simulated beyond their KeyPackages): the figures are the hub's and the committer's.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use mimi_client::{MimiClient, RemoteApi};
use mimi_room::policy::Preset;
use mimi_types::id::{RoomUri, UserUri};
use mimi_types::wire::UpdateOutcome;
use serde_json::{Value, json};

use super::cluster::{Cluster, Storage};
use super::{Latency, WorkDir, bench_err, write_json};
use crate::client::session::Session;
use crate::error::CliError;

const DOMAINS: [&str; 3] = ["a.example", "b.example", "c.example"];
const PASSWORD: &str = "bench password";
/// Registrations and device set-ups in flight.
const SETUP_IN_FLIGHT: usize = 8;

/// `mimi bench large-room`.
#[derive(Debug, Args)]
pub struct LargeRoomArgs {
    /// MLS members of the room at full size (users x devices, the owner's device included).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(2..=20_000))]
    members: u64,
    /// Devices per user (each an MLS member).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=50))]
    devices: u64,
    /// Users added per commit.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    batch: u64,
    /// Empty commits measured at full size.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    commits: u64,
    /// Messages measured at full size.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    messages: u64,
    /// Stop growing the room when the providers' data passes this many GB (a guard for the
    /// disk: each commit is stored by every provider, with a delivery row per member).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    max_disk_gb: u64,
    /// The providers' data directory: must not exist yet, and is kept [default: a temporary
    /// directory, removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Run `mimi bench large-room`.
pub(super) fn run(args: LargeRoomArgs) -> Result<(), CliError> {
    let work = WorkDir::new(args.dir.as_ref(), "large-room")?;
    std::fs::create_dir_all(&work.path).map_err(CliError::Runtime)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let figures = runtime.block_on(scenario(&args, &work))?;
    write_json(
        args.json.as_ref(),
        &json!({ "scenario": "large-room", "large_room": figures }),
    )
}

async fn scenario(args: &LargeRoomArgs, work: &WorkDir) -> Result<Value, CliError> {
    let devices = args.devices as usize;
    let users = (args.members as usize - 1).div_ceil(devices);
    println!(
        "mimi bench large-room: {} members ({users} users x {devices} devices + the owner) over {}, in {}",
        users * devices + 1,
        DOMAINS.join(", "),
        work.path.display()
    );
    let cluster = Cluster::start(&work.path, &DOMAINS, &Storage::default()).await?;
    let fresh = cluster.usage();

    let started = Instant::now();
    let mut owner = Session::register(cluster.api(0, 0)?, "owner", PASSWORD, "owner", "d").await?;
    let members = register_members(&cluster, users, devices).await?;
    let setup_s = started.elapsed().as_secs_f64();
    println!(
        "setup: {users} users, {} devices registered in {setup_s:.1} s",
        users * devices
    );

    let room = owner
        .create_room("large", Preset::CooperativelyAdministered)
        .await?;
    let before = cluster.usage();
    let mut growth = Vec::new();
    let grow_started = Instant::now();
    for (i, batch) in members.chunks(args.batch as usize).enumerate() {
        let additions = owner.additions(&room, batch).await?;
        let built = Instant::now();
        let commit = owner.mimi.add_users(&room, &additions)?;
        let build_ms = ms(built.elapsed());
        let (answer_ms, bytes) = update(&mut owner, &room, commit).await?;
        let size = owner.mimi.member_count(&room)?;
        growth.push(json!({
            "members": size, "build_ms": build_ms, "hub_answer_ms": answer_ms, "request_bytes": bytes,
        }));
        let disk = dir_bytes(&work.path);
        if i % 10 == 0 || size == users * devices + 1 {
            println!(
                "  {size:>6} members: commit built in {build_ms:.0} ms, {:.1} kB, hub answered in {answer_ms:.0} ms; data {:.2} GB",
                bytes as f64 / 1000.0,
                disk as f64 / 1e9
            );
        }
        if disk > args.max_disk_gb << 30 {
            cluster.stop().await?;
            return Err(bench_err(format!(
                "the providers' data passed {} GB at {size} members ({} commits) \
                 (--max-disk-gb)",
                args.max_disk_gb,
                i + 1
            )));
        }
    }
    let grow_s = grow_started.elapsed().as_secs_f64();
    let grown = cluster.usage();
    let size = owner.mimi.member_count(&room)?;

    // At full size: empty commits (a full path update, validated against the whole tree).
    let mut commit_build = Vec::new();
    let mut commit_answer = Vec::new();
    for _ in 0..args.commits {
        let built = Instant::now();
        let commit = owner.mimi.commit(&room, vec![], vec![], vec![])?;
        commit_build.push(built.elapsed());
        commit_answer.push(Duration::from_secs_f64(
            update(&mut owner, &room, commit).await?.0 / 1000.0,
        ));
    }
    // Messages: each answered once stored with its fanout to every member's provider.
    let mut message_answer = Vec::new();
    for k in 0..args.messages {
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&k.to_le_bytes());
        let request = owner
            .mimi
            .send_text(&room, salt, &format!("message {k}"), None)?;
        let sent = Instant::now();
        owner.api.submit(&room, &owner.device, &request).await?;
        message_answer.push(sent.elapsed());
    }
    let after = cluster.usage();
    cluster.stop().await?;

    let rss = |u: &super::cluster::Usage| u.rss[0].0;
    let per_member = rss(&grown).saturating_sub(rss(&before)) as f64 / size as f64;
    let commit_answer = latency(commit_answer);
    let commit_build = latency(commit_build);
    let message_answer = latency(message_answer);
    println!(
        "\nthe room grew to {size} members in {grow_s:.1} s ({} commits); the providers' data: {:.2} GB",
        growth.len(),
        dir_bytes(&work.path) as f64 / 1e9
    );
    println!(
        "at {size} members: empty commit built by the client p50 {:.0} ms; the hub's answer (validate, store, fan out) p50 / p99 / p99.9 {}",
        commit_build.p50 as f64 / 1000.0,
        commit_answer.millis()
    );
    println!(
        "at {size} members: a message, the hub's answer (accept, store, fan out) p50 / p99 / p99.9 {}",
        message_answer.millis()
    );
    println!(
        "hub memory: {:.1} MB fresh, {:.1} MB before the room, {:.1} MB at {size} members ({:.1} kB per member), {:.1} MB at the end",
        rss(&fresh) as f64 / 1e6,
        rss(&before) as f64 / 1e6,
        rss(&grown) as f64 / 1e6,
        per_member / 1000.0,
        rss(&after) as f64 / 1e6
    );
    Ok(json!({
        "members": size,
        "users": users,
        "devices_per_user": devices,
        "batch_users": args.batch,
        "setup_seconds": setup_s,
        "grow_seconds": grow_s,
        "data_bytes": dir_bytes(&work.path),
        "growth": growth,
        "empty_commit": { "client_build_us": commit_build.json(), "hub_answer_us": commit_answer.json() },
        "message": { "hub_answer_us": message_answer.json() },
        "hub_rss_bytes": {
            "fresh": rss(&fresh), "before_room": rss(&before), "full_room": rss(&grown),
            "end": rss(&after), "per_member": per_member,
        },
    }))
}

/// Register `users` users over the three providers, each with `devices` devices publishing
/// one KeyPackage each; in parallel.
async fn register_members(
    cluster: &Cluster,
    users: usize,
    devices: usize,
) -> Result<Vec<UserUri>, CliError> {
    let apis: Vec<RemoteApi> = (0..DOMAINS.len())
        .map(|i| cluster.api(i, 0))
        .collect::<Result<_, _>>()?;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(SETUP_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for u in 0..users {
        let api = apis[u % apis.len()].clone();
        let slot = slots.clone().acquire_owned().await.map_err(bench_err)?;
        tasks.spawn(async move {
            let member = register_member(api, u, devices).await;
            drop(slot);
            (u, member)
        });
    }
    let mut members: Vec<Option<UserUri>> = (0..users).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (u, member) = done.map_err(bench_err)?;
        members[u] = Some(member?);
    }
    Ok(members.into_iter().flatten().collect())
}

/// Register user `u` at the provider behind `api` with `devices` devices, one KeyPackage
/// each.
async fn register_member(
    mut api: RemoteApi,
    u: usize,
    devices: usize,
) -> Result<UserUri, CliError> {
    let name = format!("u{u}");
    api.register(&name, PASSWORD, &name).await?;
    let login = api.login(&name, PASSWORD).await?;
    for d in 0..devices {
        let signer = MimiClient::new_signer()?;
        let device = format!("d{d}");
        let (client, credential) = api.register_device(&device, signer.public()).await?;
        let mimi = MimiClient::from_parts(client, login.user_uri.clone(), signer, credential)?;
        api.publish_key_packages(&device, &mimi.key_packages(1, false)?)
            .await?;
    }
    Ok(login.user_uri)
}

/// Send a commit to the hub and merge it: (the hub's answer time in ms, request bytes).
async fn update(
    owner: &mut Session,
    room: &RoomUri,
    commit: mimi_types::wire::UpdateRequest,
) -> Result<(f64, usize), CliError> {
    use mimi_types::wire::WireMessage as _;
    let bytes = commit.encode().map_err(bench_err)?.len();
    let sent = Instant::now();
    let answer = owner.api.update(room, &owner.device, &commit).await?;
    let answer_ms = ms(sent.elapsed());
    match answer.outcome {
        UpdateOutcome::Success { .. } => {
            owner.mimi.commit_accepted(room)?;
            Ok((answer_ms, bytes))
        }
        other => Err(bench_err(format!("the hub refused a commit: {other:?}"))),
    }
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn latency(samples: Vec<Duration>) -> Latency {
    Latency::of(
        samples
            .into_iter()
            .map(|d| u32::try_from(d.as_micros()).unwrap_or(u32::MAX))
            .collect(),
    )
}
