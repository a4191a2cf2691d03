//! `mimi bench fanout`: what users feel when many rooms span three providers.
//!
//! ```text
//!  setup   a.example (hub), b.example, c.example: `mimi serve` child processes, mutual TLS,
//!          durable SQLite; R rooms hosted at a.example, each with M members spread
//!          round-robin over the three providers (one device each, real OpenMLS groups:
//!          create, add by KeyPackage claim, Welcome); every device opens its event stream
//!  encrypt every message of both phases, by its sender's real MLS group (client work, not
//!          timed)
//!  max     closed loop: C submissions in flight through the senders' client APIs until N
//!          messages are accepted; accepted/s and delivered/s (every recipient's stream had it)
//!  fixed   open loop at a fixed offered rate (default: half of max): submissions are started
//!          on schedule whatever the answers, and latency runs from the scheduled send to the
//!          last recipient's stream, so queueing counts (no coordinated omission)
//! ```
//!
//! Every recipient's stream is checked: each message reaches each other member exactly
//! once, and every member of a room sees the room's messages in the same order. CPU seconds and resident memory are read from `/proc` for each provider and for
//! this process (the load generator shares the machine).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use mimi_room::policy::Preset;
use mimi_types::id::RoomUri;
use mimi_types::wire::{FanoutPayload, SubmitMessageRequest, SubmitOutcome, WireMessage};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::cluster::{Cluster, Storage, Usage};
use super::{Latency, WorkDir, bench_err, cpu_seconds, write_json};
use crate::client::session::Session;
use crate::error::CliError;

const DOMAINS: [&str; 3] = ["a.example", "b.example", "c.example"];
const PASSWORD: &str = "bench password";
const DEVICE: &str = "d";
/// Most members per room (a recipient set is a 64-bit mask).
const MAX_MEMBERS: usize = 64;
/// How long a phase waits for its last deliveries after its last submission.
const DRAIN: Duration = Duration::from_secs(60);

/// `mimi bench fanout`.
#[derive(Debug, Args)]
pub struct FanoutArgs {
    /// Rooms, all hosted by a.example.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    rooms: u64,
    /// Members of each room (distinct users, spread round-robin over a, b and c).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(2..=64))]
    members: u64,
    /// Members who send, the first N of each room (one per provider for N = 3) [default:
    /// all members].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    senders: Option<u64>,
    /// Messages in the full-load (closed-loop) phase.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    messages: u64,
    /// Submissions in flight in the full-load phase.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// Offered load of the fixed-rate phase, messages/s [default: half the full-load
    /// phase's accepted rate].
    #[arg(long)]
    rate: Option<f64>,
    /// Length of the fixed-rate phase, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Bytes of text per message.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    text_bytes: u64,
    /// Skip the baseline (the machine's limit for the same traffic shape).
    #[arg(long)]
    no_baseline: bool,
    /// The providers' data directory: must not exist yet, and is kept [default: a temporary
    /// directory, removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the providers' data in PostgreSQL: a scratch database each on the server of
    /// this URL (e.g. `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end
    /// [default: SQLite files].
    #[arg(long)]
    postgres: Option<String>,
    /// Instances of the hub a.example (several need --postgres); peers reach them through a
    /// round-robin TCP balancer, clients are spread over them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=8))]
    hub_instances: u64,
}

impl FanoutArgs {
    /// The peer comparison's job: one room of `members` users over the three providers,
    /// one sender per provider, `in_flight` submissions at a time, then `rate` messages/s
    /// for `seconds`; no baseline.
    pub(super) fn one_room(
        members: u64,
        messages: u64,
        in_flight: u64,
        rate: f64,
        seconds: f64,
        dir: PathBuf,
    ) -> Self {
        FanoutArgs {
            rooms: 1,
            members,
            senders: Some(3),
            messages,
            concurrency: in_flight,
            rate: Some(rate),
            seconds,
            text_bytes: 100,
            no_baseline: true,
            dir: Some(dir),
            json: None,
            postgres: None,
            hub_instances: 1,
        }
    }

    /// The scale-out comparison's job: `rooms` x `members`, `messages` at full load with
    /// `concurrency` in flight, then `rate` messages/s (default: half the full load's) for
    /// `seconds`, on `storage`; no baseline.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_storage(
        rooms: u64,
        members: u64,
        messages: u64,
        concurrency: u64,
        rate: Option<f64>,
        seconds: f64,
        storage: &Storage,
        dir: PathBuf,
    ) -> Self {
        FanoutArgs {
            rooms,
            members,
            senders: None,
            messages,
            concurrency,
            rate,
            seconds,
            text_bytes: 100,
            no_baseline: true,
            dir: Some(dir),
            json: None,
            postgres: storage.postgres.clone(),
            hub_instances: storage.hub_instances as u64,
        }
    }

    /// Where the providers keep their data.
    pub(super) fn storage(&self) -> Storage {
        Storage {
            postgres: self.postgres.clone(),
            hub_instances: self.hub_instances as usize,
        }
    }
}

/// Run `mimi bench fanout`.
pub(super) fn run(args: FanoutArgs) -> Result<(), CliError> {
    if !(args.seconds > 0.0 && args.seconds.is_finite() && args.seconds <= 600.0) {
        return Err(CliError::Usage("--seconds must be in (0, 600]".into()));
    }
    if let Some(r) = args.rate
        && !(r > 0.0 && r.is_finite() && r <= 1_000_000.0)
    {
        return Err(CliError::Usage("--rate must be in (0, 1000000]".into()));
    }
    let work = WorkDir::new(args.dir.as_ref(), "fanout")?;
    std::fs::create_dir_all(&work.path).map_err(CliError::Runtime)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let figures = runtime.block_on(scenario(&args, &work))?;
    let mut all = json!({ "scenario": "fanout", "fanout": figures });
    if !args.no_baseline {
        let request_bytes = figures["request_bytes"].as_u64().unwrap_or(400) as usize;
        let response_bytes = figures["response_bytes"].as_u64().unwrap_or(40) as usize;
        let baseline = super::baseline::measure(
            &runtime,
            &work.path.join("baseline"),
            request_bytes,
            response_bytes,
            args.seconds.min(5.0),
        )?;
        let accepted = figures["max"]["accepted_per_s"].as_f64().unwrap_or(0.0);
        let tls = baseline["mtls_http2"]["requests_per_s"]
            .as_f64()
            .unwrap_or(0.0);
        let sqlite = baseline["sqlite"]["one_per_transaction_per_s"]
            .as_f64()
            .unwrap_or(0.0);
        println!("\nratio to the baseline (fanout accepted messages/s over the limit's rate):");
        println!(
            "  to mutual-TLS HTTP/2 requests/s:         {:.3}",
            ratio(accepted, tls)
        );
        println!(
            "  to durable SQLite transactions/s:        {:.3}",
            ratio(accepted, sqlite)
        );
        all["baseline"] = baseline;
        all["ratios"] = json!({
            "accepted_to_mtls_requests": ratio(accepted, tls),
            "accepted_to_sqlite_transactions": ratio(accepted, sqlite),
        });
    }
    write_json(args.json.as_ref(), &all)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// One message of the load, encrypted before the clock starts.
struct Outgoing {
    /// Index of the sending member in its room.
    sender: usize,
    room: usize,
    request: SubmitMessageRequest,
}

/// What every receiver task shares: which message a ciphertext is, and who has it.
struct Tracker {
    /// The epoch of all timings.
    t0: Instant,
    /// Message number of each ciphertext.
    index: HashMap<Vec<u8>, usize>,
    /// Per message: the room and sender, to know who must receive it.
    meta: Vec<(usize, usize)>,
    /// Per message: when it was (scheduled to be) sent, µs after `t0`.
    sent_us: Vec<AtomicU64>,
    /// Per message: members (bit per member index) whose streams had it.
    seen: Vec<AtomicU64>,
    /// Per message: when its last recipient had it, µs after `t0` (0: not yet).
    done_us: Vec<AtomicU64>,
    /// Deliveries of a message a member had already received.
    duplicates: AtomicU64,
    /// Fanout events that are no message of the load.
    unknown: AtomicU64,
    /// Messages received by every recipient.
    delivered: AtomicUsize,
    members: usize,
    /// Per room and member (`room * members + member`): the messages its stream had, in
    /// stream order.
    order: Vec<std::sync::Mutex<Vec<u32>>>,
}

impl Tracker {
    /// Pairs of messages two members of a room received in opposite orders: the room's
    /// total order (protocol-06 §3, set by the hub) requires none.
    fn order_violations(&self, rooms: usize) -> u64 {
        let mut violations = 0;
        for room in 0..rooms {
            let lists: Vec<Vec<u32>> = (0..self.members)
                .map(|m| {
                    self.order[room * self.members + m]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone()
                })
                .collect();
            for (a, first) in lists.iter().enumerate() {
                let position: HashMap<u32, usize> =
                    first.iter().enumerate().map(|(i, k)| (*k, i)).collect();
                for other in &lists[a + 1..] {
                    let mut last = None;
                    for k in other {
                        if let Some(&p) = position.get(k) {
                            if last.is_some_and(|l| p < l) {
                                violations += 1;
                            }
                            last = Some(p);
                        }
                    }
                }
            }
        }
        violations
    }

    fn now_us(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }

    /// Member `member` of room `room` received `ciphertext`.
    fn received(&self, room: usize, member: usize, ciphertext: &[u8]) {
        let Some(&k) = self.index.get(ciphertext) else {
            self.unknown.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let (msg_room, sender) = self.meta[k];
        if msg_room != room || member == sender {
            return; // the sender's own copy
        }
        let bit = 1u64 << member;
        let before = self.seen[k].fetch_or(bit, Ordering::AcqRel);
        if before & bit != 0 {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Some(order) = self.order.get(room * self.members + member) {
            order
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(k as u32);
        }
        let everyone = (1u64 << self.members) - 1;
        let expected = everyone & !(1u64 << sender);
        if (before | bit) & expected == expected {
            self.done_us[k].store(self.now_us().max(1), Ordering::Release);
            self.delivered.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// What one load phase measured.
struct Phase {
    name: &'static str,
    messages: usize,
    /// The largest encoded submitMessage answer seen.
    response_bytes: u64,
    accepted: u64,
    refused: u64,
    first_error: Option<String>,
    delivered: usize,
    /// From the first send to the last acceptance.
    accept_seconds: f64,
    /// From the first send to the last delivery.
    deliver_seconds: f64,
    offered_rate: Option<f64>,
    latency: Latency,
    before: Usage,
    after: Usage,
    bench_cpu_s: f64,
}

impl Phase {
    fn accepted_rate(&self) -> f64 {
        ratio(self.accepted as f64, self.accept_seconds)
    }

    fn delivered_rate(&self) -> f64 {
        ratio(self.delivered as f64, self.deliver_seconds)
    }

    fn json(&self) -> Value {
        let providers: Vec<Value> = self
            .after
            .labels
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let cpu = self.after.cpu_s[i] - self.before.cpu_s[i];
                json!({
                    "process": d,
                    "cpu_seconds": cpu,
                    "cpu_percent_of_one_core": 100.0 * ratio(cpu, self.deliver_seconds),
                    "rss_bytes": self.after.rss[i].0,
                    "peak_rss_bytes": self.after.rss[i].1,
                })
            })
            .collect();
        json!({
            "messages": self.messages,
            "offered_per_s": self.offered_rate,
            "accepted": self.accepted,
            "refused": self.refused,
            "first_error": self.first_error,
            "delivered_to_all": self.delivered,
            "accepted_per_s": self.accepted_rate(),
            "delivered_per_s": self.delivered_rate(),
            "latency_us": self.latency.json(),
            "providers": providers,
            "bench_cpu_seconds": self.bench_cpu_s,
        })
    }

    fn print(&self) {
        println!(
            "\n{}: {} messages{}",
            self.name,
            self.messages,
            self.offered_rate
                .map_or(String::new(), |r| format!(", offered {r:.0}/s"))
        );
        println!(
            "  accepted {} ({:.0}/s), refused {}, delivered to every recipient {} ({:.0}/s)",
            self.accepted,
            self.accepted_rate(),
            self.refused,
            self.delivered,
            self.delivered_rate()
        );
        if let Some(e) = &self.first_error {
            println!("  first refusal: {e}");
        }
        println!(
            "  send → every recipient's stream: p50 / p99 / p99.9 {} (max {:.1} ms)",
            self.latency.millis(),
            self.latency.max as f64 / 1000.0
        );
        for (i, d) in self.after.labels.iter().enumerate() {
            let cpu = self.after.cpu_s[i] - self.before.cpu_s[i];
            println!(
                "  {d}: CPU {cpu:.2} s ({:.0}% of a core), RSS {:.1} MB",
                100.0 * ratio(cpu, self.deliver_seconds),
                self.after.rss[i].0 as f64 / 1e6
            );
        }
        println!("  bench process (clients): CPU {:.2} s", self.bench_cpu_s);
    }
}

pub(super) async fn scenario(args: &FanoutArgs, work: &WorkDir) -> Result<Value, CliError> {
    let rooms = args.rooms as usize;
    let members = (args.members as usize).min(MAX_MEMBERS);
    println!(
        "mimi bench fanout: {rooms} rooms x {members} members over {} (hub a.example), in {}",
        DOMAINS.join(", "),
        work.path.display()
    );
    let storage = args.storage();
    println!("storage: {}", storage.describe());
    let setup_started = Instant::now();
    let cluster = Cluster::start(&work.path, &DOMAINS, &storage).await?;
    let mut sessions = build_rooms(&cluster, rooms, members).await?;
    let setup_s = setup_started.elapsed().as_secs_f64();
    println!("setup: providers started, rooms built and joined in {setup_s:.1} s");

    // Encrypt every message of both phases now: this is client work, not the server's.
    let max_n = args.messages as usize;
    let fixed_cap = match args.rate {
        Some(r) => (r * args.seconds).ceil() as usize,
        None => max_n, // at most as many as the full-load phase, at half its rate
    };
    let senders = args.senders.map_or(members, |n| (n as usize).min(members));
    let encrypt_started = Instant::now();
    let text = "x".repeat(args.text_bytes as usize);
    let mut outgoing = Vec::with_capacity(max_n + fixed_cap);
    for k in 0..max_n + fixed_cap {
        let room = k % rooms;
        let sender = (k / rooms) % senders;
        let s = &mut sessions[room][sender];
        let uri = room_uri(room)?;
        let request = s
            .mimi
            .send_text(&uri, salt(k), &format!("{k} {text}"), None)?;
        outgoing.push(Outgoing {
            sender,
            room,
            request,
        });
    }
    println!(
        "encrypted {} messages in {:.1} s",
        outgoing.len(),
        encrypt_started.elapsed().as_secs_f64()
    );
    let request_bytes = outgoing
        .first()
        .map(|o| o.request.encode().map(|b| b.len()))
        .transpose()
        .map_err(bench_err)?
        .unwrap_or(0);

    let tracker = Arc::new(Tracker {
        t0: Instant::now(),
        index: outgoing
            .iter()
            .enumerate()
            .map(|(k, o)| (o.request.app_message.as_bytes().to_vec(), k))
            .collect(),
        meta: outgoing.iter().map(|o| (o.room, o.sender)).collect(),
        sent_us: outgoing.iter().map(|_| AtomicU64::new(0)).collect(),
        seen: outgoing.iter().map(|_| AtomicU64::new(0)).collect(),
        done_us: outgoing.iter().map(|_| AtomicU64::new(0)).collect(),
        duplicates: AtomicU64::new(0),
        unknown: AtomicU64::new(0),
        delivered: AtomicUsize::new(0),
        members,
        order: (0..rooms * members)
            .map(|_| std::sync::Mutex::new(Vec::new()))
            .collect(),
    });
    let receivers = open_streams(&sessions, &tracker).await?;
    let senders: Vec<Vec<(mimi_client::RemoteApi, RoomUri)>> = sessions
        .iter()
        .enumerate()
        .map(|(r, room)| {
            room.iter()
                .map(|s| Ok((s.api.clone(), room_uri(r)?)))
                .collect::<Result<_, CliError>>()
        })
        .collect::<Result<_, _>>()?;
    let load = Arc::new(Load {
        outgoing,
        senders,
        tracker: tracker.clone(),
    });

    let max = run_phase(
        &cluster,
        &load,
        "full load (closed loop)",
        0..max_n,
        Pace::Closed(args.concurrency as usize),
    )
    .await?;
    max.print();
    let rate = args.rate.unwrap_or((max.accepted_rate() / 2.0).max(1.0));
    let fixed_n = ((rate * args.seconds).ceil() as usize)
        .min(fixed_cap)
        .max(1);
    let fixed = run_phase(
        &cluster,
        &load,
        "fixed offered load (open loop)",
        max_n..max_n + fixed_n,
        Pace::Open(rate),
    )
    .await?;
    fixed.print();
    let duplicates = tracker.duplicates.load(Ordering::Relaxed);
    let unknown = tracker.unknown.load(Ordering::Relaxed);
    let misordered = tracker.order_violations(rooms);
    println!(
        "\nstreams: {duplicates} duplicate deliveries, {misordered} pairs of messages in different orders for two members of a room, {unknown} unexpected fanout events"
    );
    for r in receivers {
        r.abort();
    }
    let idle = cluster.usage();
    cluster.stop().await?;
    if duplicates > 0 {
        return Err(bench_err(format!(
            "{duplicates} messages were delivered twice"
        )));
    }
    if misordered > 0 {
        return Err(bench_err(format!(
            "{misordered} pairs of messages reached two members of a room in different orders"
        )));
    }
    Ok(json!({
        "rooms": rooms,
        "members_per_room": members,
        "providers": DOMAINS,
        "hub": DOMAINS[0],
        "storage": storage.describe(),
        "processes": idle.labels,
        "text_bytes": args.text_bytes,
        "request_bytes": request_bytes,
        "response_bytes": max.response_bytes,
        "setup_seconds": setup_s,
        "max": max.json(),
        "fixed": fixed.json(),
        "duplicates": duplicates,
        "order_violations": misordered,
        "unexpected_events": unknown,
        "rss_after_bytes": idle.rss.iter().map(|r| r.0).collect::<Vec<_>>(),
    }))
}

fn room_uri(r: usize) -> Result<RoomUri, CliError> {
    Ok(RoomUri::parse(&format!(
        "mimi://{}/r/bench{r}",
        DOMAINS[0]
    ))?)
}

/// A per-message salt (MIMI content needs 16 bytes; unique per message).
fn salt(k: usize) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..8].copy_from_slice(&(k as u64).to_le_bytes());
    s[8..].copy_from_slice(b"mimibnch");
    s
}

/// Register every member at its provider, create each room at a.example with its first
/// member, add the others in one commit, and let every device process its Welcome.
/// `sessions[room][member]`.
async fn build_rooms(
    cluster: &Cluster,
    rooms: usize,
    members: usize,
) -> Result<Vec<Vec<Session>>, CliError> {
    let mut sessions = Vec::with_capacity(rooms);
    for r in 0..rooms {
        let mut room = Vec::with_capacity(members);
        for m in 0..members {
            let name = format!("r{r}m{m}");
            // Over a provider's instances by room and member.
            let api = cluster.api(m % DOMAINS.len(), r + m / DOMAINS.len())?;
            room.push(Session::register(api, &name, PASSWORD, &name, DEVICE).await?);
        }
        let uri = room[0]
            .create_room(&format!("bench{r}"), Preset::CooperativelyAdministered)
            .await?;
        if uri != room_uri(r)? {
            return Err(bench_err(format!("room created as {uri}")));
        }
        let others: Vec<_> = room[1..]
            .iter()
            .map(|s| s.mimi.user_uri().clone())
            .collect();
        room[0].add(&uri, &others).await?;
        sessions.push(room);
    }
    // Every device processes its events (the creator its commit, the others their Welcome).
    let deadline = Instant::now() + Duration::from_secs(120);
    for (r, room) in sessions.iter_mut().enumerate() {
        let uri = room_uri(r)?;
        for s in room.iter_mut() {
            loop {
                s.sync().await?;
                if s.mimi.rooms().any(|x| *x == uri) && s.mimi.epoch(&uri)? >= 1 {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(bench_err(format!(
                        "{} did not join {uri}",
                        s.mimi.user_uri()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    Ok(sessions)
}

/// One event-stream reader per device, feeding the tracker.
async fn open_streams(
    sessions: &[Vec<Session>],
    tracker: &Arc<Tracker>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, CliError> {
    let mut tasks = Vec::new();
    for (r, room) in sessions.iter().enumerate() {
        for (m, s) in room.iter().enumerate() {
            let mut stream = s.api.stream(&s.device, s.cursor).await?;
            let tracker = tracker.clone();
            tasks.push(tokio::spawn(async move {
                while let Ok(Some(event)) = stream.next().await {
                    let Ok(msg) = mimi_client::remote::fanout(&event) else {
                        continue;
                    };
                    if let FanoutPayload::Application { message, .. } = &msg.payload {
                        tracker.received(r, m, message.as_bytes());
                    }
                }
            }));
        }
    }
    Ok(tasks)
}

/// The messages and who sends them.
struct Load {
    outgoing: Vec<Outgoing>,
    /// `senders[room][member]`: the member's client API and the room.
    senders: Vec<Vec<(mimi_client::RemoteApi, RoomUri)>>,
    tracker: Arc<Tracker>,
}

/// How submissions are started.
#[derive(Clone, Copy)]
enum Pace {
    /// This many in flight, each started when one is answered.
    Closed(usize),
    /// This many per second, on schedule.
    Open(f64),
}

/// Submissions' outcomes.
#[derive(Default)]
struct Answers {
    accepted: AtomicU64,
    refused: AtomicU64,
    /// When the last acceptance came, µs after `t0`.
    last_accept_us: AtomicU64,
    /// The largest encoded answer (the baseline answers with this size).
    response_bytes: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Load {
    /// Submit message `k` (its send time already recorded).
    async fn submit(&self, k: usize, answers: &Answers) {
        let o = &self.outgoing[k];
        let (api, room) = &self.senders[o.room][o.sender];
        let outcome = api.submit(room, DEVICE, &o.request).await;
        match outcome {
            Ok(r) if matches!(r.outcome, SubmitOutcome::Accepted { .. }) => {
                answers.accepted.fetch_add(1, Ordering::Relaxed);
                let size = r.encode().map_or(0, |b| b.len() as u64);
                answers.response_bytes.fetch_max(size, Ordering::Relaxed);
                answers
                    .last_accept_us
                    .fetch_max(self.tracker.now_us(), Ordering::Relaxed);
            }
            other => {
                answers.refused.fetch_add(1, Ordering::Relaxed);
                let why = match other {
                    Ok(r) => format!("{:?}", r.outcome),
                    Err(e) => e.to_string(),
                };
                let mut first = answers
                    .first_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                first.get_or_insert(why);
            }
        }
    }
}

async fn run_phase(
    cluster: &Cluster,
    load: &Arc<Load>,
    name: &'static str,
    range: std::ops::Range<usize>,
    pace: Pace,
) -> Result<Phase, CliError> {
    let tracker = &load.tracker;
    let before = cluster.usage();
    let bench_before = cpu_seconds("self");
    let delivered_before = tracker.delivered.load(Ordering::Acquire);
    let answers = Arc::new(Answers::default());
    let start_us = tracker.now_us();
    match pace {
        Pace::Closed(concurrency) => {
            let next = Arc::new(AtomicUsize::new(range.start));
            let mut workers = Vec::new();
            for _ in 0..concurrency {
                let (load, next, answers, end) =
                    (load.clone(), next.clone(), answers.clone(), range.end);
                workers.push(tokio::spawn(async move {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= end {
                            return;
                        }
                        load.tracker.sent_us[k].store(load.tracker.now_us(), Ordering::Release);
                        load.submit(k, &answers).await;
                    }
                }));
            }
            for w in workers {
                w.await.map_err(bench_err)?;
            }
        }
        Pace::Open(rate) => {
            // Bounded in flight, so a stalled server cannot make the generator grow without
            // end; if the bound is reached the schedule slips, and the latency (from the
            // schedule) shows it.
            let in_flight = Arc::new(Semaphore::new(16_384));
            let mut tasks = Vec::new();
            let started = tokio::time::Instant::now();
            for (i, k) in range.clone().enumerate() {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due).await;
                let permit = in_flight.clone().acquire_owned().await.map_err(bench_err)?;
                let scheduled = start_us + (i as f64 * 1e6 / rate) as u64;
                tracker.sent_us[k].store(scheduled, Ordering::Release);
                let (load, answers) = (load.clone(), answers.clone());
                tasks.push(tokio::spawn(async move {
                    load.submit(k, &answers).await;
                    drop(permit);
                }));
            }
            for t in tasks {
                t.await.map_err(bench_err)?;
            }
        }
    }
    // Wait for every accepted message to reach every recipient (bounded).
    let accepted = answers.accepted.load(Ordering::Acquire) as usize;
    let deadline = Instant::now() + DRAIN;
    while tracker.delivered.load(Ordering::Acquire) - delivered_before < accepted
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let after = cluster.usage();
    let bench_cpu_s = cpu_seconds("self") - bench_before;
    let mut micros = Vec::new();
    let mut last_done = start_us;
    for k in range.clone() {
        let done = tracker.done_us[k].load(Ordering::Acquire);
        if done > 0 {
            last_done = last_done.max(done);
            let sent = tracker.sent_us[k].load(Ordering::Acquire);
            micros.push(u32::try_from(done.saturating_sub(sent)).unwrap_or(u32::MAX));
        }
    }
    let offered_rate = match pace {
        Pace::Open(r) => Some(r),
        Pace::Closed(_) => None,
    };
    let first_error = answers
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    Ok(Phase {
        name,
        messages: range.len(),
        response_bytes: answers.response_bytes.load(Ordering::Acquire),
        accepted: answers.accepted.load(Ordering::Acquire),
        refused: answers.refused.load(Ordering::Acquire),
        first_error,
        delivered: micros.len(),
        accept_seconds: (answers
            .last_accept_us
            .load(Ordering::Acquire)
            .saturating_sub(start_us)) as f64
            / 1e6,
        deliver_seconds: (last_done - start_us) as f64 / 1e6,
        offered_rate,
        latency: Latency::of(micros),
        before,
        after,
        bench_cpu_s,
    })
}
