//! Fault injection for tests: a loopback TCP proxy that a test puts between two providers
//! and steers at runtime through a [`ProxyHandle`].
//!
//! It forwards bytes and never parses them (traffic between providers is TLS), so every
//! fault is a fault of the transport: latency, a peer that refuses or is gone, a blackhole,
//! a connection cut after so many bytes in one direction (mid-request or mid-response), and
//! connections held back so that a later one overtakes them (request reordering).
//!
//! ```text
//!   client ──TCP──► FaultProxy (127.0.0.1:port) ──TCP──► upstream (127.0.0.1:port)
//!                      ▲  mode: pass | refuse | blackhole; down / up
//!                      │  latency per chunk; cut after N bytes →server or →client
//!   test ─ProxyHandle──┘  (next K connections, always, or the open ones); hold; counters
//! ```
//!
//! Only loopback addresses are accepted, for both the listener and the upstream: this is a
//! test tool, not a network tool.

#![deny(missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// How long the proxy tries to reach the upstream for a new connection.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes read at once in each direction (one "chunk").
const CHUNK: usize = 16 * 1024;

/// What can go wrong with the proxy itself.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The listening socket could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// An address is not a loopback address.
    #[error("{0} is not a loopback address: the fault proxy only runs on loopback")]
    NotLoopback(SocketAddr),
    /// The proxy was dropped.
    #[error("the proxy has stopped")]
    Stopped,
}

/// A direction of the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the connecting client to the upstream server (requests).
    ToServer,
    /// From the upstream server back to the client (responses).
    ToClient,
}

/// What happens to new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Forward them (subject to latency, cuts and holds).
    #[default]
    Pass,
    /// Accept and close at once: the client sees its connection reset or ended before any
    /// byte.
    Refuse,
    /// Accept and read everything, forward nothing, answer nothing: the client waits until
    /// its own timeout.
    Blackhole,
}

/// Which new connections a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The next `n` connections accepted, then the rule is spent.
    Next(u32),
    /// Every connection accepted from now on, until [`ProxyHandle::clear`].
    Always,
}

/// Counters since the proxy started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Connections accepted (in every mode).
    pub accepted: u64,
    /// Connections forwarded to the upstream.
    pub forwarded: u64,
    /// Connections accepted and closed at once ([`Mode::Refuse`]).
    pub refused: u64,
    /// Connections swallowed ([`Mode::Blackhole`]).
    pub blackholed: u64,
    /// Connections dropped because the upstream could not be reached.
    pub upstream_failed: u64,
    /// Connections held back before forwarding ([`ProxyHandle::hold`]).
    pub held: u64,
    /// Connections cut by a rule, [`ProxyHandle::kill_open`] or [`ProxyHandle::down`].
    pub cut: u64,
    /// Connections open now.
    pub open: u64,
    /// Bytes forwarded client → server.
    pub bytes_to_server: u64,
    /// Bytes forwarded server → client.
    pub bytes_to_client: u64,
    /// Bytes read from clients and thrown away ([`Mode::Blackhole`], or past a cut).
    pub bytes_discarded: u64,
}

#[derive(Debug, Clone, Copy)]
struct CutRule {
    direction: Direction,
    after: u64,
    remaining: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct HoldRule {
    delay: Duration,
    remaining: Option<u32>,
}

#[derive(Debug, Default)]
struct Rules {
    mode: Mode,
    latency: Duration,
    cuts: Vec<CutRule>,
    holds: Vec<HoldRule>,
}

/// What a new connection gets, decided once when it is accepted.
#[derive(Debug)]
struct Plan {
    mode: Mode,
    cut_to_server: u64,
    cut_to_client: u64,
    hold: Option<Duration>,
}

impl Rules {
    /// The plan for a newly accepted connection, spending one use of each `Next` rule that
    /// applies.
    fn plan(&mut self) -> Plan {
        let mut plan = Plan {
            mode: self.mode,
            cut_to_server: u64::MAX,
            cut_to_client: u64::MAX,
            hold: None,
        };
        if plan.mode != Mode::Pass {
            return plan;
        }
        for rule in &mut self.cuts {
            if !take(&mut rule.remaining) {
                continue;
            }
            let limit = match rule.direction {
                Direction::ToServer => &mut plan.cut_to_server,
                Direction::ToClient => &mut plan.cut_to_client,
            };
            *limit = (*limit).min(rule.after);
        }
        self.cuts.retain(|r| r.remaining != Some(0));
        for rule in &mut self.holds {
            if take(&mut rule.remaining) {
                plan.hold = Some(plan.hold.unwrap_or_default().max(rule.delay));
            }
        }
        self.holds.retain(|r| r.remaining != Some(0));
        plan
    }
}

/// Spend one use of a rule: true if it applies (`None` is unlimited).
fn take(remaining: &mut Option<u32>) -> bool {
    match remaining {
        None => true,
        Some(0) => false,
        Some(n) => {
            *n -= 1;
            true
        }
    }
}

/// One proxied connection's state, shared with the handle (to cut it).
#[derive(Debug)]
struct Conn {
    to_server: AtomicU64,
    to_client: AtomicU64,
    cut_to_server: AtomicU64,
    cut_to_client: AtomicU64,
    kill: watch::Sender<bool>,
}

impl Conn {
    fn new(plan: &Plan) -> Conn {
        Conn {
            to_server: AtomicU64::new(0),
            to_client: AtomicU64::new(0),
            cut_to_server: AtomicU64::new(plan.cut_to_server),
            cut_to_client: AtomicU64::new(plan.cut_to_client),
            kill: watch::channel(false).0,
        }
    }

    fn sent(&self, direction: Direction) -> &AtomicU64 {
        match direction {
            Direction::ToServer => &self.to_server,
            Direction::ToClient => &self.to_client,
        }
    }

    fn limit(&self, direction: Direction) -> &AtomicU64 {
        match direction {
            Direction::ToServer => &self.cut_to_server,
            Direction::ToClient => &self.cut_to_client,
        }
    }

    /// End both directions; true if this call did it.
    fn kill(&self) -> bool {
        self.kill.send_if_modified(|k| !std::mem::replace(k, true))
    }
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    forwarded: AtomicU64,
    refused: AtomicU64,
    blackholed: AtomicU64,
    upstream_failed: AtomicU64,
    held: AtomicU64,
    cut: AtomicU64,
    bytes_to_server: AtomicU64,
    bytes_to_client: AtomicU64,
    bytes_discarded: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    rules: Mutex<Rules>,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    counters: Counters,
    release: watch::Sender<u64>,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep going with it.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn latency(&self) -> Duration {
        lock(&self.rules).latency
    }

    /// Cut every open connection; how many were cut.
    fn kill_all(&self) -> usize {
        let conns: Vec<Arc<Conn>> = lock(&self.conns).values().cloned().collect();
        let killed = conns.iter().filter(|c| c.kill()).count();
        bump(&self.counters.cut, killed as u64);
        killed
    }
}

enum Command {
    Down(oneshot::Sender<()>),
    Up(oneshot::Sender<Result<(), FaultError>>),
}

/// A running proxy. Dropping it stops accepting and cuts every open connection.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    handle: ProxyHandle,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on a free loopback port and forward to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<FaultProxy, FaultError> {
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        FaultProxy::start_on(listen, upstream).await
    }

    /// Listen on `listen` (a loopback address; port 0 for any free one) and forward to
    /// `upstream` (a loopback address).
    pub async fn start_on(
        listen: SocketAddr,
        upstream: SocketAddr,
    ) -> Result<FaultProxy, FaultError> {
        for a in [listen, upstream] {
            if !a.ip().is_loopback() {
                return Err(FaultError::NotLoopback(a));
            }
        }
        let listener = bind(listen).await?;
        let addr = listener.local_addr().map_err(|source| FaultError::Bind {
            addr: listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(Rules::default()),
            conns: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            release: watch::channel(0).0,
            next_id: AtomicU64::new(0),
        });
        let (commands, rx) = mpsc::channel(8);
        let task = tokio::spawn(accept_loop(shared.clone(), addr, listener, rx));
        Ok(FaultProxy {
            addr,
            handle: ProxyHandle { shared, commands },
            task,
        })
    }

    /// Where clients connect (the port stays the same across [`ProxyHandle::down`] and
    /// [`ProxyHandle::up`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to steer the proxy (cheap to clone).
    pub fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for FaultProxy {
    type Target = ProxyHandle;

    fn deref(&self) -> &ProxyHandle {
        &self.handle
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.handle.shared.kill_all();
    }
}

/// Steers a [`FaultProxy`]. Rules for new connections are decided when a connection is
/// accepted; latency applies to every chunk forwarded from the moment it is set.
#[derive(Debug, Clone)]
pub struct ProxyHandle {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
}

impl ProxyHandle {
    /// Back to plain forwarding for new connections: mode [`Mode::Pass`], no latency, no
    /// cut or hold rules; held connections are released. (Does not bring a proxy that is
    /// [`down`](ProxyHandle::down) back up, and leaves open connections alone.)
    pub fn clear(&self) {
        *lock(&self.shared.rules) = Rules::default();
        self.release_held();
    }

    /// What happens to new connections.
    pub fn set_mode(&self, mode: Mode) {
        lock(&self.shared.rules).mode = mode;
    }

    /// Wait this long before forwarding each chunk, in both directions, on every connection
    /// (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.rules).latency = latency;
    }

    /// Cut new connections once `after` bytes went in `direction` (the bytes past the limit
    /// are not forwarded; both directions end). With a TLS stream, `after` beyond the
    /// handshake cuts inside the first request or response.
    pub fn cut(&self, direction: Direction, after: u64, scope: Scope) {
        let remaining = match scope {
            Scope::Next(n) => Some(n),
            Scope::Always => None,
        };
        lock(&self.shared.rules).cuts.push(CutRule {
            direction,
            after,
            remaining,
        });
    }

    /// Cut each connection open now once `after` more bytes went in `direction`: with
    /// `after` 0, the next bytes in that direction are dropped and the connection is cut.
    /// On an idle, established connection that cuts the next request (`ToServer`) or the
    /// next response (`ToClient`) before any of it passes. Returns how many connections
    /// were armed.
    pub fn cut_open(&self, direction: Direction, after: u64) -> usize {
        let conns: Vec<Arc<Conn>> = lock(&self.shared.conns).values().cloned().collect();
        for c in &conns {
            let at = c
                .sent(direction)
                .load(Ordering::SeqCst)
                .saturating_add(after);
            c.limit(direction).fetch_min(at, Ordering::SeqCst);
        }
        conns.len()
    }

    /// Hold new connections for `delay` before forwarding anything (the client's bytes wait
    /// in the socket), so that connections accepted later overtake them. Ended early by
    /// [`ProxyHandle::release_held`].
    pub fn hold(&self, delay: Duration, scope: Scope) {
        let remaining = match scope {
            Scope::Next(n) => Some(n),
            Scope::Always => None,
        };
        lock(&self.shared.rules)
            .holds
            .push(HoldRule { delay, remaining });
    }

    /// Let every held connection start forwarding now.
    pub fn release_held(&self) {
        self.shared.release.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Cut every open connection now; how many were cut.
    pub fn kill_open(&self) -> usize {
        self.shared.kill_all()
    }

    /// Stop listening (new connections are refused by the operating system) and cut every
    /// open connection: the peer behind the proxy looks gone.
    pub async fn down(&self) -> Result<(), FaultError> {
        let (ack, done) = oneshot::channel();
        self.commands
            .send(Command::Down(ack))
            .await
            .map_err(|_| FaultError::Stopped)?;
        done.await.map_err(|_| FaultError::Stopped)
    }

    /// Listen again on the same address after [`ProxyHandle::down`] (no-op if listening).
    pub async fn up(&self) -> Result<(), FaultError> {
        let (ack, done) = oneshot::channel();
        self.commands
            .send(Command::Up(ack))
            .await
            .map_err(|_| FaultError::Stopped)?;
        done.await.map_err(|_| FaultError::Stopped)?
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        Stats {
            accepted: get(&c.accepted),
            forwarded: get(&c.forwarded),
            refused: get(&c.refused),
            blackholed: get(&c.blackholed),
            upstream_failed: get(&c.upstream_failed),
            held: get(&c.held),
            cut: get(&c.cut),
            open: lock(&self.shared.conns).len() as u64,
            bytes_to_server: get(&c.bytes_to_server),
            bytes_to_client: get(&c.bytes_to_client),
            bytes_discarded: get(&c.bytes_discarded),
        }
    }
}

/// Resolves once the connection is killed.
async fn killed(kill: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it here, not across an await.
    let _ = kill.wait_for(|k| *k).await.map(|_| ());
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, FaultError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| FaultError::Bind { addr, source })
}

async fn accept_loop(
    shared: Arc<Shared>,
    addr: SocketAddr,
    listener: TcpListener,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut listener = Some(listener);
    loop {
        let accepted = async {
            match &listener {
                Some(l) => l.accept().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(Command::Down(ack)) => {
                    listener = None;
                    shared.kill_all();
                    let _ = ack.send(());
                }
                Some(Command::Up(ack)) => {
                    let result = match listener {
                        Some(_) => Ok(()),
                        None => bind(addr).await.map(|l| listener = Some(l)),
                    };
                    let _ = ack.send(result);
                }
            },
            accepted = accepted => {
                // A failed accept (e.g. out of descriptors) drops that one connection.
                if let Ok((stream, _)) = accepted {
                    bump(&shared.counters.accepted, 1);
                    let plan = lock(&shared.rules).plan();
                    tokio::spawn(connection(shared.clone(), stream, plan));
                }
            }
        }
    }
}

/// Removes a connection from the open set when its task ends, however it ends.
struct Registered<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        lock(&self.shared.conns).remove(&self.id);
    }
}

async fn connection(shared: Arc<Shared>, client: TcpStream, plan: Plan) {
    let counters = &shared.counters;
    if plan.mode == Mode::Refuse {
        bump(&counters.refused, 1);
        return; // dropping the stream closes it
    }
    let conn = Arc::new(Conn::new(&plan));
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    lock(&shared.conns).insert(id, conn.clone());
    let _registered = Registered {
        shared: &shared,
        id,
    };
    let mut kill = conn.kill.subscribe();
    if plan.mode == Mode::Blackhole {
        bump(&counters.blackholed, 1);
        let (mut from, _to) = client.into_split();
        let mut buf = vec![0u8; CHUNK];
        loop {
            tokio::select! {
                read = from.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => bump(&counters.bytes_discarded, n as u64),
                },
                () = killed(&mut kill) => return,
            }
        }
    }
    if let Some(delay) = plan.hold {
        bump(&counters.held, 1);
        let mut release = shared.release.subscribe();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = release.changed() => {}
            () = killed(&mut kill) => return,
        }
    }
    let server = tokio::select! {
        connected = tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(shared.upstream)) => {
            match connected {
                Ok(Ok(s)) => s,
                _ => {
                    bump(&counters.upstream_failed, 1);
                    return;
                }
            }
        }
        () = killed(&mut kill) => return,
    };
    bump(&counters.forwarded, 1);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        pump(
            &shared,
            &conn,
            Direction::ToServer,
            client_read,
            server_write
        ),
        pump(
            &shared,
            &conn,
            Direction::ToClient,
            server_read,
            client_write
        ),
    );
}

/// Forward one direction until end of stream, an error, a cut or a kill.
async fn pump(
    shared: &Shared,
    conn: &Conn,
    direction: Direction,
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
) {
    let counters = &shared.counters;
    let total = match direction {
        Direction::ToServer => &counters.bytes_to_server,
        Direction::ToClient => &counters.bytes_to_client,
    };
    let mut kill = conn.kill.subscribe();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) => {
                    // Half-close: pass the end of stream on, keep the other direction.
                    let _ = to.shutdown().await;
                    return;
                }
                Ok(n) => n,
                Err(_) => {
                    conn.kill();
                    return;
                }
            },
            () = killed(&mut kill) => return,
        };
        let latency = shared.latency();
        if !latency.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(latency) => {}
                () = killed(&mut kill) => return,
            }
        }
        let sent = conn.sent(direction).load(Ordering::SeqCst);
        let limit = conn.limit(direction).load(Ordering::SeqCst);
        let allowed = usize::try_from(limit.saturating_sub(sent)).unwrap_or(usize::MAX);
        let forward = n.min(allowed);
        if forward > 0 {
            tokio::select! {
                written = to.write_all(&buf[..forward]) => {
                    if written.is_err() {
                        conn.kill();
                        return;
                    }
                }
                () = killed(&mut kill) => return,
            }
            conn.sent(direction)
                .fetch_add(forward as u64, Ordering::SeqCst);
            bump(total, forward as u64);
        }
        if forward < n || sent.saturating_add(forward as u64) >= limit {
            bump(&counters.bytes_discarded, (n - forward) as u64);
            if conn.kill() {
                bump(&counters.cut, 1);
            }
            return;
        }
    }
}
