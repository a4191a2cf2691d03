//! The suite reports failures: run against a "provider" that is only one of the suite's own
//! peer listeners (a directory, 404 for everything else), the transport cases that need a
//! real provider fail, with reasons, and the report says so.

use std::net::SocketAddr;

use mimi_conformance::{SuiteConfig, Verdict};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_not_one_fails_the_suite() {
    let dir = std::env::temp_dir().join(format!("mimi-conformance-test-{}", std::process::id()));
    let files =
        mimi_conformance::setup::SuiteFiles::prepare(&dir, mimi_conformance::ctx::now_secs())
            .expect("files");
    // The fake target: a third suite listener presenting conf-d's certificate.
    let target_dir = files.peer_dir(mimi_conformance::setup::PEER_D);
    let peer_roots = std::sync::Arc::new(
        mimi_conformance::http::root_store(
            &mimi_conformance::http::read_certs(&files.ca_cert()).expect("ca"),
        )
        .expect("roots"),
    );
    let fake = mimi_conformance::peer::Peer::start(
        mimi_types::id::ProviderDomain::parse(mimi_conformance::setup::PEER_D).expect("domain"),
        "127.0.0.1:0".parse().expect("addr"),
        mimi_conformance::http::read_certs(&target_dir.join("tls.pem")).expect("cert"),
        mimi_conformance::http::read_key(&target_dir.join("tls.key")).expect("key"),
        peer_roots,
        String::new(),
    )
    .await
    .expect("fake target");
    let free = || -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let config = SuiteConfig {
        target: fake.addr,
        domain: fake.domain.clone(),
        target_roots: files.ca_cert(),
        suite_dir: dir.clone(),
        listen_c: free(),
        listen_d: free(),
    };
    let ctx = mimi_conformance::prepare(&config, None)
        .await
        .expect("prepare");
    let only = ["TR-06", "TR-14", "DIR-02", "KM-01"].map(String::from);
    let report = mimi_conformance::run(&ctx, &only, |_| {}).await;
    let verdict = |id: &str| {
        report
            .results
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.verdict.clone())
            .expect("ran")
    };
    // No From check: the fake answers 404, not 400.
    assert!(matches!(verdict("TR-06"), Verdict::Fail(w) if w.contains("expected 400, got 404")));
    // It does answer 404 for unknown endpoints, and serves a complete directory.
    assert_eq!(verdict("TR-14"), Verdict::Pass);
    assert_eq!(verdict("DIR-02"), Verdict::Pass);
    // Without a driver, cases that need a local user are skipped, with the reason.
    assert!(matches!(verdict("KM-01"), Verdict::Skip(w) if w.contains("driver")));
    assert!(!report.ok());
    assert_eq!(report.counts(), (2, 1, 1));
    let _ = std::fs::remove_dir_all(&dir);
}
