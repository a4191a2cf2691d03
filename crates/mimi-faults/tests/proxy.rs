//! The fault proxy against a loopback echo server: each fault does what it says, and only
//! to the connections it was meant for.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mimi_faults::{Direction, FaultError, FaultProxy, Mode, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bounds every wait of these tests, so a broken proxy fails them instead of hanging.
const BOUND: Duration = Duration::from_secs(10);

/// A loopback echo server that remembers, per connection, everything it received (in the
/// order connections first delivered a byte).
#[derive(Clone, Default)]
struct Echo {
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    connections: Arc<Mutex<u64>>,
}

impl Echo {
    async fn start() -> (Echo, SocketAddr) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let echo = Echo::default();
        let e = echo.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                *e.connections.lock().expect("lock") += 1;
                let e = e.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let mut slot = None;
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        {
                            let mut received = e.received.lock().expect("lock");
                            let i = *slot.get_or_insert_with(|| {
                                received.push(Vec::new());
                                received.len() - 1
                            });
                            received[i].extend_from_slice(&buf[..n]);
                        }
                        if s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (echo, addr)
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().expect("lock").clone()
    }

    fn connections(&self) -> u64 {
        *self.connections.lock().expect("lock")
    }
}

/// Read until end of stream (or error); what arrived.
async fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("no end of stream within {BOUND:?}"),
        }
    }
}

/// Send `data`, read back exactly as many bytes.
async fn round_trip(s: &mut TcpStream, data: &[u8]) -> Vec<u8> {
    s.write_all(data).await.expect("write");
    let mut back = vec![0u8; data.len()];
    tokio::time::timeout(BOUND, s.read_exact(&mut back))
        .await
        .expect("echo in time")
        .expect("echo");
    back
}

async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !ok() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn passes_bytes_through_and_counts_them() {
    let (echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    assert_eq!(round_trip(&mut s, &data).await, data);
    drop(s);
    until("connection closed", || proxy.stats().open == 0).await;
    let stats = proxy.stats();
    assert_eq!(stats.accepted, 1);
    assert_eq!(stats.forwarded, 1);
    assert_eq!(stats.bytes_to_server, 100_000);
    assert_eq!(stats.bytes_to_client, 100_000);
    assert_eq!(stats.cut, 0);
    assert_eq!(echo.received(), vec![data]);
}

#[tokio::test]
async fn latency_delays_every_chunk_without_changing_bytes() {
    let (_echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    proxy.set_latency(Duration::from_millis(50));
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    let started = Instant::now();
    assert_eq!(round_trip(&mut s, b"hello").await, b"hello");
    // Each direction waited at least once: a lower bound, which cannot be flaky.
    assert!(started.elapsed() >= Duration::from_millis(100));
    proxy.set_latency(Duration::ZERO);
    assert_eq!(round_trip(&mut s, b"again").await, b"again");
}

#[tokio::test]
async fn refuse_accepts_and_closes_without_reaching_the_upstream() {
    let (echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    proxy.set_mode(Mode::Refuse);
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    let _ = s.write_all(b"anyone?").await;
    assert!(read_to_end(&mut s).await.is_empty());
    assert_eq!(proxy.stats().refused, 1);
    assert_eq!(echo.connections(), 0);
    proxy.set_mode(Mode::Pass);
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, b"now").await, b"now");
}

#[tokio::test]
async fn down_refuses_connections_and_cuts_open_ones_until_up() {
    let (_echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    let mut open = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut open, b"before").await, b"before");
    proxy.down().await.expect("down");
    let refused = TcpStream::connect(proxy.addr()).await;
    assert_eq!(
        refused.expect_err("down").kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    assert!(read_to_end(&mut open).await.is_empty(), "open one is cut");
    assert_eq!(proxy.stats().cut, 1);
    proxy.up().await.expect("up");
    proxy.up().await.expect("up twice is harmless");
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, b"after").await, b"after");
}

#[tokio::test]
async fn blackhole_reads_and_forwards_nothing() {
    let (echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    proxy.set_mode(Mode::Blackhole);
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    s.write_all(&[7u8; 5000]).await.expect("write");
    until("bytes swallowed", || proxy.stats().bytes_discarded == 5000).await;
    let stats = proxy.stats();
    assert_eq!((stats.blackholed, stats.forwarded), (1, 0));
    assert_eq!(echo.connections(), 0, "nothing reached the upstream");
    // The client is left waiting: its connection is open, nothing comes back.
    assert_eq!(stats.open, 1);
    assert_eq!(proxy.kill_open(), 1);
    assert!(read_to_end(&mut s).await.is_empty());
}

#[tokio::test]
async fn cut_mid_request_forwards_exactly_n_bytes_to_the_server() {
    let (echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    proxy.cut(Direction::ToServer, 10, Scope::Next(1));
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    s.write_all(&[1u8; 100]).await.expect("write");
    let back = read_to_end(&mut s).await;
    assert!(
        back.len() <= 10,
        "at most the 10 bytes that passed: {back:?}"
    );
    until("upstream got its bytes", || {
        echo.received().first().map(Vec::len) == Some(10)
    })
    .await;
    assert_eq!(proxy.stats().cut, 1);
    assert_eq!(proxy.stats().bytes_to_server, 10);
    // The rule was for one connection: the next passes whole.
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, &[2u8; 100]).await, vec![2u8; 100]);
}

#[tokio::test]
async fn cut_mid_response_delivers_the_request_but_not_the_whole_answer() {
    let (echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    proxy.cut(Direction::ToClient, 30, Scope::Always);
    for round in 0..3u8 {
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        s.write_all(&[round; 100]).await.expect("write");
        assert_eq!(read_to_end(&mut s).await, vec![round; 30]);
    }
    until("all requests arrived whole", || {
        echo.received().iter().filter(|r| r.len() == 100).count() == 3
    })
    .await;
    assert_eq!(proxy.stats().cut, 3);
    proxy.clear();
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, &[9u8; 100]).await, vec![9u8; 100]);
}

#[tokio::test]
async fn cut_open_drops_the_next_response_on_an_established_connection() {
    let (echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, b"first").await, b"first");
    assert_eq!(proxy.cut_open(Direction::ToClient, 0), 1);
    s.write_all(b"second").await.expect("write");
    assert!(
        read_to_end(&mut s).await.is_empty(),
        "no byte of the answer"
    );
    until("the request arrived", || {
        echo.received() == vec![b"firstsecond".to_vec()]
    })
    .await;
    // New connections are not affected.
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, b"third").await, b"third");
}

#[tokio::test]
async fn held_connection_is_overtaken_by_a_later_one() {
    let (echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    // Long enough never to end by itself in this test: the release decides.
    proxy.hold(Duration::from_secs(60), Scope::Next(1));
    let mut early = TcpStream::connect(proxy.addr()).await.expect("connect");
    early.write_all(b"early").await.expect("write");
    until("held", || proxy.stats().held == 1).await;
    let mut late = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut late, b"late").await, b"late");
    proxy.release_held();
    let mut back = [0u8; 5];
    tokio::time::timeout(BOUND, early.read_exact(&mut back))
        .await
        .expect("in time")
        .expect("echo");
    assert_eq!(&back, b"early");
    assert_eq!(echo.received(), vec![b"late".to_vec(), b"early".to_vec()]);
}

#[tokio::test]
async fn next_k_rules_apply_to_k_connections_then_stop() {
    let (_echo, upstream) = Echo::start().await;
    let proxy = FaultProxy::start(upstream).await.expect("proxy");
    proxy.cut(Direction::ToClient, 0, Scope::Next(2));
    for _ in 0..2 {
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        s.write_all(b"x").await.expect("write");
        assert!(read_to_end(&mut s).await.is_empty());
    }
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, b"y").await, b"y");
    assert_eq!(proxy.stats().cut, 2);
}

#[tokio::test]
async fn unreachable_upstream_and_non_loopback_addresses() {
    // A port nobody listens on: bind one, note it, close it.
    let gone = {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        l.local_addr().expect("addr")
    };
    let proxy = FaultProxy::start(gone).await.expect("proxy");
    let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
    assert!(read_to_end(&mut s).await.is_empty());
    assert_eq!(proxy.stats().upstream_failed, 1);
    let outside: SocketAddr = "192.0.2.1:443".parse().expect("addr");
    assert!(matches!(
        FaultProxy::start(outside).await,
        Err(FaultError::NotLoopback(a)) if a == outside
    ));
}
