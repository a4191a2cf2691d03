//! A peer that names arbitrary domains (a requester of another provider, a room of its own)
//! cannot make us connect out to each of them again and again (docs/security.md G18): a
//! client CA that could not be fetched is not asked for again for a while.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use support::{Net, domain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_peer_ca_is_not_fetched_again_at_once() {
    // "ghost.example" resolves to a listener that accepts and closes (no TLS, no CA).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let mut net = Net::init(&["a.example"]);
    net.configure("a.example", |c| {
        c.peers
            .insert("ghost.example".into(), format!("127.0.0.1:{port}"));
    });
    net.start_node("a.example").await;
    let a = net.provider("a.example").clone();
    let ghost = domain("ghost.example");
    for _ in 0..5 {
        a.ensure_peer_ca(&ghost).await;
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one connection attempt, then the failure is remembered"
    );
    assert!(a.trust.read().await.get(&ghost).is_none());
}
