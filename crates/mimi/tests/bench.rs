//! `mimi bench` scenarios through the binary, each a tiny run that must report every figure
//! (nonzero) in its JSON. Discovery: 2,000 records and one-second load phases build the
//! directory, start the distribution point as a child process and load it.

use std::path::PathBuf;
use std::process::Command;

/// A temporary directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let mut b = [0u8; 6];
        getrandom::fill(&mut b).expect("random");
        let dir = std::env::temp_dir().join(format!("mimi-bench-test-{}", hex::encode(b)));
        std::fs::create_dir_all(&dir).expect("mkdir");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn positive(report: &serde_json::Value, path: &str) -> f64 {
    let value = path
        .split('.')
        .fold(report, |v, k| &v[k])
        .as_f64()
        .unwrap_or_else(|| panic!("{path} missing in {report:#}"));
    assert!(value > 0.0, "{path} is {value} in {report:#}");
    value
}

#[test]
fn a_tiny_discovery_benchmark_reports_every_figure() {
    let scratch = Scratch::new();
    let json = scratch.0.join("bench.json");
    let dir = scratch.0.join("dp");
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args([
            "bench",
            "discovery",
            "--records",
            "2000",
            "--seconds",
            "1",
            "--json",
        ])
        .arg(&json)
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run mimi bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| lookups/s |"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parse");
    assert_eq!(report["scenario"], "discovery");
    assert_eq!(report["records"], 2000);
    for path in [
        "setup.seconds",
        "setup.records_per_second",
        "setup.snapshot_bytes",
        "startup.seconds",
        "startup.rss_bytes",
        "lookups.count",
        "lookups.per_second",
        "lookups.found",
        "lookups.not_found",
        "lookups.latency_us.p50",
        "lookups.latency_us.p99",
        "lookups.latency_us.p99_9",
        "dp_after_lookups.rss_bytes",
        "dp_after_lookups.hwm_bytes",
        "private_lookups.count",
        "private_lookups.per_second",
        "private_lookups.latency_us.p50",
        "dp_after_private_lookups.rss_bytes",
        "dp_after_private_lookups.hwm_bytes",
        "uploads.count",
        "uploads.per_second",
        "uploads.latency_us.p50",
        "stop_with_compaction_seconds",
    ] {
        positive(&report, path);
    }
    // Every private lookup verified its assertion; no request failed.
    assert_eq!(
        report["private_lookups"]["found"],
        report["private_lookups"]["count"]
    );
    assert_eq!(report["lookups"]["errors"], 0);
    assert_eq!(report["private_lookups"]["errors"], 0);
    assert_eq!(report["uploads"]["errors"], 0);
    // --dir is kept: a DP data directory (snapshot, journal, key), with no SII in it.
    for name in ["store.cbor", "journal", "dp-key"] {
        assert!(dir.join(name).exists(), "{name}");
    }
    let snapshot = std::fs::read(dir.join("store.cbor")).expect("snapshot");
    assert!(!snapshot.windows(11).any(|w| w == b"12022000000"));
}

/// `mimi bench fanout` through the binary: three `mimi serve` child processes, two rooms of
/// three members, 60 messages at full load and a short fixed-rate phase; every message
/// reaches every recipient exactly once, and the baseline of the same shape is measured
/// in the same run.
#[test]
fn a_tiny_fanout_benchmark_delivers_everything_and_reports_every_figure() {
    let scratch = Scratch::new();
    let json = scratch.0.join("fanout.json");
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args([
            "bench",
            "fanout",
            "--rooms",
            "2",
            "--members",
            "3",
            "--messages",
            "60",
            "--concurrency",
            "8",
            "--rate",
            "40",
            "--seconds",
            "1",
            "--json",
        ])
        .arg(&json)
        .arg("--dir")
        .arg(scratch.0.join("providers"))
        .output()
        .expect("run mimi bench fanout");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parse");
    assert_eq!(report["scenario"], "fanout");
    let fanout = &report["fanout"];
    for (phase, messages) in [("max", 60), ("fixed", 40)] {
        let p = &fanout[phase];
        assert_eq!(p["messages"], messages, "{phase}: {p:#}");
        assert_eq!(p["accepted"], messages, "{phase}: {p:#}");
        assert_eq!(p["refused"], 0, "{phase}: {p:#}");
        assert_eq!(p["delivered_to_all"], messages, "{phase}: {p:#}");
        for path in [
            "accepted_per_s",
            "delivered_per_s",
            "latency_us.p50",
            "latency_us.p99",
        ] {
            positive(p, path);
        }
        for i in 0..3 {
            positive(&p["providers"][i], "rss_bytes");
        }
    }
    assert_eq!(fanout["duplicates"], 0);
    assert_eq!(fanout["order_violations"], 0);
    assert_eq!(fanout["unexpected_events"], 0);
    for path in [
        "baseline.mtls_http2.requests_per_s",
        "baseline.sqlite.one_per_transaction_per_s",
        "baseline.sqlite.rows_per_s_in_transactions_of_64",
        "ratios.accepted_to_mtls_requests",
    ] {
        positive(&report, path);
    }
    // The providers' directories are kept with --dir: three SQLite databases.
    for d in ["a.example", "b.example", "c.example"] {
        assert!(
            scratch
                .0
                .join("providers")
                .join(d)
                .join("mimi.sqlite")
                .exists(),
            "{d}"
        );
    }
}

/// Run `mimi bench <args>` writing JSON to `json`; its report.
fn bench(args: &[&str], json: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mimi"))
        .arg("bench")
        .args(args)
        .arg("--json")
        .arg(json)
        .output()
        .expect("run mimi bench");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(json).expect("json")).expect("parse")
}

/// `mimi bench large-room` through the binary: a room grown to 9 members (4 users x 2
/// devices and the owner) over the three providers in batches of 2 users, then an empty
/// commit and two messages at full size.
#[test]
fn a_tiny_large_room_benchmark_grows_the_room_and_reports_every_figure() {
    let scratch = Scratch::new();
    let report = bench(
        &[
            "large-room",
            "--members",
            "9",
            "--devices",
            "2",
            "--batch",
            "2",
            "--commits",
            "1",
            "--messages",
            "2",
        ],
        &scratch.0.join("large.json"),
    );
    let room = &report["large_room"];
    assert_eq!(room["members"], 9);
    assert_eq!(room["growth"].as_array().map(Vec::len), Some(2), "{room:#}");
    for path in [
        "empty_commit.hub_answer_us.p50",
        "empty_commit.client_build_us.p50",
        "message.hub_answer_us.p50",
        "hub_rss_bytes.full_room",
        "data_bytes",
    ] {
        positive(room, path);
    }
}

/// `mimi bench streams --rooms` through the binary: 40 rooms hosted and 32 streams open on
/// one provider.
#[test]
fn a_tiny_many_rooms_benchmark_hosts_the_rooms_and_opens_the_streams() {
    let scratch = Scratch::new();
    let report = bench(
        &[
            "streams",
            "--streams",
            "32",
            "--rooms",
            "40",
            "--idle-seconds",
            "1",
        ],
        &scratch.0.join("streams.json"),
    );
    assert_eq!(report["streams"], 32);
    assert_eq!(report["rooms"], 40);
    for path in [
        "rss_with_rooms_bytes",
        "rss_per_stream_bytes",
        "rooms_seconds",
    ] {
        positive(&report, path);
    }
}
