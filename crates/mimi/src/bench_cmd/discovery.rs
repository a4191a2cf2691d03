//! `mimi bench discovery` measures a distribution point at scale (docs/benchmarks.md):
//!
//! ```text
//!  setup    N signed mapping assertions, sealed under their real index (both cores)
//!           ──▶ DIR/store.cbor, DIR/dp-key
//!  startup  mimi discovery serve --dir DIR (child process) ──▶ GET /key answers; VmRSS
//!  lookups  C keep-alive HTTP/1.1 connections ──POST /lookup──▶ random stored indices and
//!           ~10% unknown ones, until S seconds or the count bound; rate and latency
//!  private  C connections: blind ──POST /evaluate──▶ verify proof, finalize ──POST /lookup──▶
//!           open ──▶ check_lookup; rate and latency
//!  uploads  200 new records, one per POST /upload, each journaled and fsynced; then SIGTERM,
//!           and the graceful stop compacts the journal into a new snapshot
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use mimi_discovery::{
    Authority, MappingAssertion, Permissions, RevocationSet, Signer, Sii, SsiEntry, TrustSet,
    check_lookup,
};
use mimi_dp::DpFiles;
use mimi_lookup::rand_core::{OsRng, RngCore};
use mimi_lookup::{
    DpPublicKey, Evaluation, Index, IndexStore, LookupRequest, LookupResponse, MemoryStore,
    PublisherId, UploadEntry, UploadRequest, UploadResponse, UploadStatus,
};
use mimi_types::id::{ProviderDomain, UserUri};
use serde_json::{Value, json};

use super::{Latency, WorkDir, cpu_seconds, rss_bytes};
use crate::error::CliError;

/// `mimi bench discovery`.
#[derive(Debug, Args)]
pub struct DiscoveryArgs {
    /// Records (one phone number each) in the distribution point.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=MAX_RECORDS))]
    records: u64,
    /// Longest duration of each load phase, in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    connections: u64,
    /// Most lookups in the lookup phase (it also ends after --seconds).
    #[arg(long, default_value_t = 5_000_000)]
    lookups: u64,
    /// Most private lookups in that phase (it also ends after --seconds).
    #[arg(long, default_value_t = 1_000_000)]
    private_lookups: u64,
    /// The distribution point's data directory: must not exist yet, and is kept
    /// [default: a temporary directory, removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The phone numbers: `+1 AAA XXX XXXX` for each area code, exchanges 200-999.
const AREA_CODES: [u32; 5] = [202, 212, 213, 312, 415];
const PER_AREA_CODE: u64 = 8_000_000;
const MAX_RECORDS: u64 = PER_AREA_CODE * AREA_CODES.len() as u64 - UPLOADS;
/// Share of lookups for indices nobody stored, in percent.
const UNKNOWN_PERCENT: u64 = 10;
/// The SIIs the private-lookup phase draws from (parsed before it starts).
const PRIVATE_POOL: u64 = 4096;
const AUTHORITY: &str = "bench.example";
const PUBLISHER: &[u8] = b"bench";
const VALIDITY_SECS: u64 = 30 * 86_400;
/// Uploads in the upload phase (new records, one per request, each journaled and fsynced).
const UPLOADS: u64 = 200;

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::Discovery(e.to_string())
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |e| CliError::Discovery(format!("{}: {e}", path.display()))
}

/// The `i`th phone number, in E.164.
fn phone(i: u64) -> String {
    let area = AREA_CODES[(i / PER_AREA_CODE) as usize % AREA_CODES.len()];
    format!("+1{area}{:07}", 2_000_000 + i % PER_AREA_CODE)
}

pub(super) fn discovery(args: DiscoveryArgs) -> Result<(), CliError> {
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        return Err(CliError::Usage("--seconds must be positive".into()));
    }
    let work = WorkDir::new(args.dir.as_ref(), "discovery")?;
    let n = args.records;
    println!(
        "mimi bench discovery: {n} records, {} connections, load phases of at most {} s, in {}",
        args.connections,
        args.seconds,
        work.path.display()
    );

    let setup = build(&work.path, n)?;
    let setup_json = setup.timing();
    println!(
        "setup: {n} records in {:.1} s ({:.0}/s; sign + evaluate + seal {:.1} s, store {:.1} s, serialize {:.2} s, write + fsync {:.2} s, {} MB)",
        setup.total_s,
        n as f64 / setup.total_s,
        setup.generate_s,
        setup.insert_s,
        setup.serialize_s,
        setup.write_s,
        setup.snapshot_bytes / 1_000_000
    );

    let dp = Dp::start(&work.path, n)?;
    println!(
        "startup: {:.2} s until GET /key answers (store loaded in {} ms); RSS idle {} MB",
        dp.startup_s,
        dp.load_ms,
        dp.memory().rss / 1_000_000
    );
    let memory_idle = dp.memory();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let phase = Duration::from_secs_f64(args.seconds);
    let indices = Arc::new(setup.indices);
    let lookups = dp.measured(|| {
        runtime.block_on(lookup_phase(
            dp.addr,
            args.connections,
            phase,
            args.lookups,
            indices.clone(),
        ))
    })?;
    let memory_lookups = dp.memory();
    println!(
        "lookups: {} in {:.1} s = {:.0}/s; latency p50 {} µs, p99 {} µs, p99.9 {} µs; found {}, unknown {}; CPU per lookup: DP {:.1} µs, client {:.1} µs",
        lookups.count,
        lookups.seconds,
        lookups.rate(),
        lookups.latency.p50,
        lookups.latency.p99,
        lookups.latency.p999,
        lookups.found,
        lookups.not_found,
        lookups.per_op(lookups.dp_cpu_s),
        lookups.per_op(lookups.client_cpu_s)
    );

    let trust = setup.trust;
    let setup_keys = Keys {
        signer: setup.signer,
        key: setup.key,
        authority: setup.authority,
        now: setup.now,
    };
    let trust = Arc::new(trust);
    let private = dp.measured(|| {
        runtime.block_on(private_phase(
            dp.addr,
            args.connections,
            phase,
            args.private_lookups,
            n,
            trust.clone(),
        ))
    })?;
    let memory_private = dp.memory();
    println!(
        "private lookups: {} in {:.1} s = {:.0}/s; latency p50 {} µs, p99 {} µs, p99.9 {} µs; verified {}; CPU per lookup: DP {:.0} µs, client {:.0} µs",
        private.count,
        private.seconds,
        private.rate(),
        private.latency.p50,
        private.latency.p99,
        private.latency.p999,
        private.found,
        private.per_op(private.dp_cpu_s),
        private.per_op(private.client_cpu_s)
    );
    let token = DpFiles::open(&work.path)
        .and_then(|f| f.publisher_token())
        .map_err(err)?;
    let uploads =
        dp.measured(|| runtime.block_on(upload_phase(dp.addr, &token, &setup_keys, n, phase)))?;
    println!(
        "uploads (journaled, fsynced): {} in {:.2} s = {:.0}/s; latency p50 {} µs, p99 {} µs",
        uploads.count,
        uploads.seconds,
        uploads.rate(),
        uploads.latency.p50,
        uploads.latency.p99
    );
    drop(runtime);
    let stopping = Instant::now();
    let load_ms = dp.load_ms;
    dp.stop()?;
    let stop_s = stopping.elapsed().as_secs_f64();
    println!("graceful stop, compacting the journal into a new snapshot: {stop_s:.2} s");

    print_table(
        n,
        &format!(
            "{:.1} s",
            setup_json["seconds"].as_f64().unwrap_or_default()
        ),
        &memory_idle,
        &lookups,
        &memory_lookups,
        &private,
        &memory_private,
    );
    println!(
        "| uploads/s (one connection, each fsynced) | {:.0} |",
        uploads.rate()
    );
    println!("| graceful stop (compaction) | {stop_s:.2} s |");
    let report = json!({
        "scenario": "discovery",
        "records": n,
        "connections": args.connections,
        "seconds": args.seconds,
        "setup": setup_json,
        "startup": {
            "seconds": memory_idle.startup_s,
            "store_load_ms": load_ms,
            "rss_bytes": memory_idle.rss,
            "hwm_bytes": memory_idle.hwm,
        },
        "lookups": lookups.json(),
        "dp_after_lookups": memory_lookups.json(),
        "private_lookups": private.json(),
        "dp_after_private_lookups": memory_private.json(),
        "uploads": uploads.json(),
        "stop_with_compaction_seconds": stop_s,
    });
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(err)?;
        std::fs::write(path, text + "\n").map_err(io_err(path))?;
        println!("wrote {}", path.display());
    }
    if lookups.errors > 0 || private.errors > 0 || uploads.errors > 0 {
        return Err(err(format!(
            "{} lookups, {} private lookups and {} uploads failed",
            lookups.errors, private.errors, uploads.errors
        )));
    }
    if private.found != private.count {
        return Err(err(format!(
            "only {} of {} private lookups verified",
            private.found, private.count
        )));
    }
    Ok(())
}

/// What building the directory produced.
struct Setup {
    indices: Vec<Index>,
    trust: TrustSet,
    signer: Signer,
    key: mimi_lookup::DpKey,
    authority: ProviderDomain,
    now: u64,
    generate_s: f64,
    insert_s: f64,
    serialize_s: f64,
    write_s: f64,
    total_s: f64,
    snapshot_bytes: usize,
}

impl Setup {
    fn timing(&self) -> Value {
        json!({
            "seconds": self.total_s,
            "generate_seconds": self.generate_s,
            "insert_seconds": self.insert_s,
            "serialize_seconds": self.serialize_s,
            "write_seconds": self.write_s,
            "snapshot_bytes": self.snapshot_bytes,
            "records_per_second": self.indices.len() as f64 / self.total_s,
        })
    }
}

/// Build a DP data directory holding `n` records: for each phone number, a signed mapping
/// assertion sealed under its index, computed directly with the DP's key (the key holder
/// needs no blind evaluation); written with the library's snapshot format.
fn build(dir: &Path, n: u64) -> Result<Setup, CliError> {
    let started = Instant::now();
    let files = DpFiles::open(dir).map_err(err)?;
    let key = files.key().map_err(err)?;
    let authority = ProviderDomain::parse(AUTHORITY)?;
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let signer = Signer::from_secret(authority.clone(), &secret);
    let mut trust = TrustSet::new();
    trust.insert(
        Authority::new(authority.clone(), Permissions::provider(authority.clone()))
            .with_key(signer.kid().clone(), signer.verifying_key())
            .map_err(err)?,
    );
    let now = mimi_server::provider::now_ms() / 1000;
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get()) as u64;
    let done = AtomicUsize::new(0);
    let chunk = n.div_ceil(threads);
    let made: Vec<Result<Vec<(Index, mimi_lookup::SealedRecord)>, String>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (signer, key, authority, done) = (&signer, &key, &authority, &done);
                    scope.spawn(move || {
                        let range = (t * chunk)..((t + 1) * chunk).min(n);
                        let mut out =
                            Vec::with_capacity(range.end.saturating_sub(range.start) as usize);
                        for i in range {
                            out.push(make_record(signer, key, authority, i, now)?);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(out)
                    })
                })
                .collect();
            let mut last = Instant::now();
            while !handles.iter().all(|h| h.is_finished()) {
                std::thread::sleep(Duration::from_millis(100));
                if last.elapsed() >= Duration::from_secs(10) {
                    last = Instant::now();
                    eprintln!("setup: {} of {n} records", done.load(Ordering::Relaxed));
                }
            }
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a setup thread panicked".into()))
                })
                .collect()
        });
    let generate_s = started.elapsed().as_secs_f64();

    let inserting = Instant::now();
    let publisher = PublisherId::new(PUBLISHER.to_vec()).map_err(err)?;
    let mut store = MemoryStore::with_max_records(usize::try_from(n).unwrap_or(usize::MAX));
    store.reserve(usize::try_from(n).unwrap_or(usize::MAX));
    let mut indices = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for part in made {
        for (index, record) in part.map_err(err)? {
            store
                .put(&publisher, index, record, now + VALIDITY_SECS, now)
                .map_err(err)?;
            indices.push(index);
        }
    }
    let insert_s = inserting.elapsed().as_secs_f64();
    let serializing = Instant::now();
    let snapshot = store.snapshot();
    let serialize_s = serializing.elapsed().as_secs_f64();
    drop(store);
    let writing = Instant::now();
    files.save_store(&snapshot).map_err(err)?;
    let write_s = writing.elapsed().as_secs_f64();
    Ok(Setup {
        indices,
        trust,
        signer,
        key,
        authority,
        now,
        generate_s,
        insert_s,
        serialize_s,
        write_s,
        total_s: started.elapsed().as_secs_f64(),
        snapshot_bytes: snapshot.len(),
    })
}

/// What signs and seals records.
struct Keys {
    signer: Signer,
    key: mimi_lookup::DpKey,
    authority: ProviderDomain,
    now: u64,
}

fn make_record(
    signer: &Signer,
    key: &mimi_lookup::DpKey,
    authority: &ProviderDomain,
    i: u64,
    now: u64,
) -> Result<(Index, mimi_lookup::SealedRecord), String> {
    let number = phone(i);
    let sii = Sii::parse(&number).map_err(|e| format!("{number}: {e}"))?;
    let ssi = UserUri::parse(&format!("mimi://{AUTHORITY}/u/u{i}")).map_err(|e| e.to_string())?;
    let assertion = MappingAssertion::new(
        authority.clone(),
        i + 1,
        sii.clone(),
        now,
        now + VALIDITY_SECS,
        vec![SsiEntry::new(ssi, 0)],
    )
    .map_err(|e| e.to_string())?;
    let signed = signer
        .sign_assertion(&assertion)
        .map_err(|e| e.to_string())?;
    let secret = key
        .direct_secret(&sii.to_connection_id())
        .map_err(|e| e.to_string())?;
    let record = secret
        .seal(&signed, &mut OsRng)
        .map_err(|e| e.to_string())?;
    Ok((*secret.index(), record))
}

/// Resident memory of the DP process, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss: u64,
    hwm: u64,
    startup_s: f64,
}

impl Memory {
    fn json(&self) -> Value {
        json!({ "rss_bytes": self.rss, "hwm_bytes": self.hwm })
    }
}

/// The distribution point, as a child process.
struct Dp {
    child: Child,
    addr: SocketAddr,
    startup_s: f64,
    /// What the DP reports for loading its store (snapshot and journal).
    load_ms: u64,
}

impl Drop for Dp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dp {
    /// `mimi discovery serve` on a free loopback port, with an evaluation budget no load
    /// phase exhausts; ready once `GET /discovery/v1/key` answers.
    fn start(dir: &Path, records: u64) -> Result<Self, CliError> {
        let exe = std::env::current_exe().map_err(err)?;
        let started = Instant::now();
        let mut child = Command::new(exe)
            .args(["discovery", "serve", "--listen", "127.0.0.1:0", "--dir"])
            .arg(dir)
            .args([
                "--max-records",
                &(records + UPLOADS).max(1_000_000).to_string(),
            ])
            .args([
                "--evaluations-burst",
                "1000000000",
                "--evaluations-refill-ms",
                "1",
            ])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| err(format!("cannot start the distribution point: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| err("no stdout from the distribution point"))?;
        let mut dp = Dp {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            startup_s: 0.0,
            load_ms: 0,
        };
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .ok_or_else(|| err("the distribution point exited before listening"))?
                .map_err(err)?;
            if let Some(a) = line.strip_prefix("distribution point listening on http://") {
                break a.trim().parse::<SocketAddr>().map_err(err)?;
            }
            if let Some(ms) = line
                .split_once(", loaded in ")
                .and_then(|(_, t)| t.strip_suffix(" ms"))
            {
                dp.load_ms = ms.parse().unwrap_or_default();
            }
        };
        // Keep reading what it prints, so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        dp.addr = addr;
        let deadline = Instant::now() + Duration::from_secs(600);
        while get_status(addr, "/discovery/v1/key") != Some(200) {
            if Instant::now() > deadline {
                return Err(err("the distribution point does not answer"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        dp.startup_s = started.elapsed().as_secs_f64();
        // Let the allocator settle before the idle figure.
        std::thread::sleep(Duration::from_millis(200));
        Ok(dp)
    }

    fn memory(&self) -> Memory {
        let (rss, hwm) = rss_bytes(&self.child.id().to_string());
        Memory {
            rss,
            hwm,
            startup_s: self.startup_s,
        }
    }

    /// Run a phase, adding the CPU time the DP and this process spent in it.
    fn measured(
        &self,
        phase: impl FnOnce() -> Result<PhaseResult, CliError>,
    ) -> Result<PhaseResult, CliError> {
        let pid = self.child.id().to_string();
        let (dp, me) = (cpu_seconds(&pid), cpu_seconds("self"));
        let mut result = phase()?;
        result.dp_cpu_s = cpu_seconds(&pid) - dp;
        result.client_cpu_s = cpu_seconds("self") - me;
        Ok(result)
    }

    /// SIGTERM, and wait for the graceful stop.
    fn stop(mut self) -> Result<(), CliError> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().map_err(err)? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(err(format!("the distribution point exited with {status}")))
                };
            }
            if Instant::now() > deadline {
                return Err(err("the distribution point did not stop on SIGTERM"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A plain HTTP/1.0 GET: the status.
fn get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    String::from_utf8_lossy(&response)
        .split(' ')
        .nth(1)?
        .parse()
        .ok()
}

/// What one load phase measured.
#[derive(Debug, Default)]
struct PhaseResult {
    count: u64,
    found: u64,
    not_found: u64,
    errors: u64,
    seconds: f64,
    latency: Latency,
    /// CPU seconds the DP process used during the phase.
    dp_cpu_s: f64,
    /// CPU seconds this (client) process used during the phase.
    client_cpu_s: f64,
}

impl PhaseResult {
    fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.count as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// CPU microseconds per operation of `cpu_s`.
    fn per_op(&self, cpu_s: f64) -> f64 {
        if self.count > 0 {
            cpu_s * 1e6 / self.count as f64
        } else {
            0.0
        }
    }

    fn json(&self) -> Value {
        json!({
            "count": self.count,
            "per_second": self.rate(),
            "seconds": self.seconds,
            "dp_cpu_seconds": self.dp_cpu_s,
            "client_cpu_seconds": self.client_cpu_s,
            "dp_cpu_us_per_op": self.per_op(self.dp_cpu_s),
            "client_cpu_us_per_op": self.per_op(self.client_cpu_s),
            "found": self.found,
            "not_found": self.not_found,
            "errors": self.errors,
            "latency_us": {
                "p50": self.latency.p50,
                "p99": self.latency.p99,
                "p99_9": self.latency.p999,
                "max": self.latency.max,
            },
        })
    }
}

/// One worker's tally.
#[derive(Default)]
struct Tally {
    micros: Vec<u32>,
    found: u64,
    not_found: u64,
    errors: u64,
}

/// One keep-alive HTTP/1.1 connection to the DP.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Result<Self, CliError> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| err(format!("connect {addr}: {e}")))?;
        stream.set_nodelay(true).map_err(err)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(err)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            host: addr.to_string(),
        })
    }

    /// POST `body` to `path`; the 200 answer's body.
    async fn post(&mut self, path: &str, body: Vec<u8>) -> Result<Bytes, CliError> {
        self.post_as(path, body, None).await
    }

    /// POST `body` to `path`, with a bearer token if given; the 200 answer's body.
    async fn post_as(
        &mut self,
        path: &str,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> Result<Bytes, CliError> {
        self.sender.ready().await.map_err(err)?;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, &self.host)
            .header(header::CONTENT_TYPE, mimi_dp::CBOR);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(err)?;
        let response = self.sender.send_request(request).await.map_err(err)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(err)?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(err(format!("{path}: {status}")));
        }
        Ok(bytes)
    }
}

/// A small non-cryptographic generator (xorshift64*) for picking what to look up.
struct Pick(u64);

impl Pick {
    fn new() -> Self {
        Self(OsRng.next_u64() | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Run `work` on `connections` connections until `duration` passes or `max` operations were
/// started; merge the tallies.
async fn run_phase<F, Fut>(
    addr: SocketAddr,
    connections: u64,
    duration: Duration,
    max: u64,
    work: F,
) -> Result<PhaseResult, CliError>
where
    F: Fn(Connection, Pick) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(Connection, bool), (Connection, CliError)>> + Send,
{
    let mut conns = Vec::new();
    for _ in 0..connections {
        conns.push(Connection::open(addr).await?);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for conn in conns {
        let (work, issued) = (work.clone(), issued.clone());
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut conn = Some(conn);
            let mut pick = Pick::new();
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
                let Some(c) = conn.take() else { break };
                let one = Instant::now();
                match work(c, Pick(pick.next() | 1)).await {
                    Ok((c, found)) => {
                        let us = one.elapsed().as_micros();
                        tally.micros.push(u32::try_from(us).unwrap_or(u32::MAX));
                        if found {
                            tally.found += 1;
                        } else {
                            tally.not_found += 1;
                        }
                        conn = Some(c);
                    }
                    Err((c, e)) => {
                        tally.errors += 1;
                        if tally.errors <= 3 {
                            eprintln!("bench: {e}");
                        }
                        // A failed connection is replaced.
                        conn = match Connection::open(addr).await {
                            Ok(fresh) => Some(fresh),
                            Err(_) => {
                                drop(c);
                                None
                            }
                        };
                    }
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.map_err(err)?;
        all.micros.extend(t.micros);
        all.found += t.found;
        all.not_found += t.not_found;
        all.errors += t.errors;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(PhaseResult {
        count: all.micros.len() as u64,
        found: all.found,
        not_found: all.not_found,
        errors: all.errors,
        seconds,
        latency: Latency::of(all.micros),
        ..PhaseResult::default()
    })
}

/// Lookups by index: stored ones at random, and [`UNKNOWN_PERCENT`] unknown ones.
async fn lookup_phase(
    addr: SocketAddr,
    connections: u64,
    duration: Duration,
    max: u64,
    indices: Arc<Vec<Index>>,
) -> Result<PhaseResult, CliError> {
    run_phase(
        addr,
        connections,
        duration,
        max,
        move |mut conn, mut pick| {
            let indices = indices.clone();
            async move {
                let r = pick.next();
                let index = if r % 100 < UNKNOWN_PERCENT || indices.is_empty() {
                    let mut b = [0u8; 32];
                    for chunk in b.chunks_mut(8) {
                        chunk.copy_from_slice(&pick.next().to_le_bytes());
                    }
                    Index::from_bytes(b)
                } else {
                    indices[(r / 100) as usize % indices.len()]
                };
                let body = LookupRequest { index }.encode();
                let answer = match conn.post("/discovery/v1/lookup", body).await {
                    Ok(a) => a,
                    Err(e) => return Err((conn, e)),
                };
                match LookupResponse::decode(&answer) {
                    Ok(resp) => Ok((conn, !resp.records().is_empty())),
                    Err(e) => Err((conn, err(e))),
                }
            }
        },
    )
    .await
}

/// Full private lookups of stored phone numbers: blind, evaluate, verify the proof and
/// finalize, look up, open, verify the assertion (docs/discovery-lookup.md §7).
async fn private_phase(
    addr: SocketAddr,
    connections: u64,
    duration: Duration,
    max: u64,
    records: u64,
    trust: Arc<TrustSet>,
) -> Result<PhaseResult, CliError> {
    // The key, as a client fetches it.
    let mut conn = Connection::open(addr).await?;
    conn.sender.ready().await.map_err(err)?;
    let request = Request::builder()
        .method(Method::GET)
        .uri("/discovery/v1/key")
        .header(header::HOST, addr.to_string())
        .body(Full::new(Bytes::new()))
        .map_err(err)?;
    let info = conn
        .sender
        .send_request(request)
        .await
        .map_err(err)?
        .into_body()
        .collect()
        .await
        .map_err(err)?
        .to_bytes();
    let (_, public) = mimi_lookup::decode_key_info(&info).map_err(err)?;
    drop(conn);
    // SIIs parsed beforehand: parsing a written number is not what this measures.
    let mut pick = Pick::new();
    let pool: Vec<Sii> = (0..PRIVATE_POOL.min(records))
        .map(|_| Sii::parse(&phone(pick.next() % records)).map_err(err))
        .collect::<Result<_, _>>()?;
    let pool = Arc::new(pool);
    let public = Arc::new(public);
    let now = mimi_server::provider::now_ms() / 1000;
    run_phase(
        addr,
        connections,
        duration,
        max,
        move |mut conn, mut pick| {
            let (pool, public, trust) = (pool.clone(), public.clone(), trust.clone());
            async move {
                let sii = &pool[(pick.next() % pool.len() as u64) as usize];
                match private_lookup(&mut conn, &public, sii, &trust, now).await {
                    Ok(verified) => Ok((conn, verified)),
                    Err(e) => Err((conn, e)),
                }
            }
        },
    )
    .await
}

async fn private_lookup(
    conn: &mut Connection,
    public: &DpPublicKey,
    sii: &Sii,
    trust: &TrustSet,
    now: u64,
) -> Result<bool, CliError> {
    let (state, query) =
        mimi_lookup::blind(public, &sii.to_connection_id(), &mut OsRng).map_err(err)?;
    let answer = conn.post("/discovery/v1/evaluate", query.encode()).await?;
    let evaluation = Evaluation::decode(&answer).map_err(err)?;
    let secret = mimi_lookup::finalize(state, &evaluation, public).map_err(err)?;
    let answer = conn
        .post(
            "/discovery/v1/lookup",
            LookupRequest {
                index: *secret.index(),
            }
            .encode(),
        )
        .await?;
    let response = LookupResponse::decode(&answer).map_err(err)?;
    let (records, _) = secret.open_all(&response);
    let outcome = check_lookup(sii, &records, now, trust, &RevocationSet::new());
    Ok(!outcome.mappings.is_empty())
}

/// [`UPLOADS`] uploads of new records, one after the other on one connection: each is
/// journaled and fsynced before its answer, whatever the size of the store.
async fn upload_phase(
    addr: SocketAddr,
    token: &str,
    keys: &Keys,
    records: u64,
    duration: Duration,
) -> Result<PhaseResult, CliError> {
    let mut conn = Connection::open(addr).await?;
    let started = Instant::now();
    let mut micros = Vec::new();
    let mut errors = 0;
    for j in 0..UPLOADS {
        if started.elapsed() >= duration {
            break;
        }
        let (index, record) = make_record(
            &keys.signer,
            &keys.key,
            &keys.authority,
            records + j,
            keys.now,
        )
        .map_err(err)?;
        let body = UploadRequest::new(
            vec![UploadEntry {
                index,
                expires_at: keys.now + VALIDITY_SECS,
                record,
            }],
            vec![],
        )
        .map_err(err)?
        .encode();
        let one = Instant::now();
        let stored = conn
            .post_as("/discovery/v1/upload", body, Some(token))
            .await
            .and_then(|a| UploadResponse::decode(&a).map_err(err));
        match stored {
            Ok(r) if r.statuses.iter().all(|s| *s == UploadStatus::Stored) => {
                micros.push(u32::try_from(one.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            Ok(r) => {
                errors += 1;
                eprintln!("bench: upload refused: {:?}", r.statuses);
            }
            Err(e) => {
                errors += 1;
                eprintln!("bench: {e}");
                conn = Connection::open(addr).await?;
            }
        }
    }
    Ok(PhaseResult {
        count: micros.len() as u64,
        found: micros.len() as u64,
        not_found: 0,
        errors,
        seconds: started.elapsed().as_secs_f64(),
        latency: Latency::of(micros),
        ..PhaseResult::default()
    })
}

#[allow(clippy::too_many_arguments)]
fn print_table(
    n: u64,
    setup: &str,
    idle: &Memory,
    lookups: &PhaseResult,
    after_lookups: &Memory,
    private: &PhaseResult,
    after_private: &Memory,
) {
    let mb = |b: u64| format!("{} MB", b / 1_000_000);
    println!();
    println!("| {n} records | figure |");
    println!("|---|---|");
    println!("| setup (sign, evaluate, seal, store, snapshot) | {setup} |");
    println!(
        "| DP startup (until GET /key answers) | {:.2} s |",
        idle.startup_s
    );
    println!(
        "| DP RSS idle / peak | {} / {} |",
        mb(idle.rss),
        mb(idle.hwm)
    );
    for (name, p, m) in [
        ("lookups", lookups, after_lookups),
        ("private lookups", private, after_private),
    ] {
        println!("| {name}/s | {:.0} |", p.rate());
        println!(
            "| {name} latency p50 / p99 / p99.9 | {} / {} / {} µs |",
            p.latency.p50, p.latency.p99, p.latency.p999
        );
        println!(
            "| DP RSS / peak after {name} | {} / {} |",
            mb(m.rss),
            mb(m.hwm)
        );
    }
}
