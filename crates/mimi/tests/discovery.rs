//! Identifier discovery end to end through the `mimi` binary: a distribution point
//! (`mimi discovery serve`), a mapping authority proving control by one-time code, issuing and
//! publishing, and `mimi lookup` verifying the answer; durability across a restart, no SII in
//! the DP's files, and a graceful stop on SIGTERM.

mod support;

use std::path::Path;
use support::dp::{Dp, contains, files};
use support::{TempDir, free_port, ok, run};

#[test]
fn publish_and_look_up_through_a_distribution_point() {
    let tmp = TempDir::new("discovery");
    let dp_dir = tmp.0.join("dp");
    let auth_dir = tmp.0.join("authority");
    let s = |p: &Path| p.to_str().expect("path").to_string();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dp = Dp::start(&dp_dir, port);

    ok(&[
        "discovery",
        "authority",
        "init",
        "--dir",
        &s(&auth_dir),
        "--id",
        "b.example",
    ]);
    ok(&[
        "discovery",
        "authority",
        "challenge",
        "--dir",
        &s(&auth_dir),
        "--sii",
        "+1 202 555 0101",
        "--ssi",
        "mimi://b.example/u/bob",
    ]);
    let codes = std::fs::read_to_string(auth_dir.join("one-time-codes.txt")).expect("codes");
    let code = codes
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("+12025550101 "))
        .expect("a code for the number")
        .to_string();

    // A wrong code is refused and publishes nothing.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let out = run(&[
        "discovery",
        "authority",
        "issue",
        "--dir",
        &s(&auth_dir),
        "--sii",
        "+1 202 555 0101",
        "--code",
        wrong,
        "--dp",
        &url,
        "--dp-token",
        &s(&dp_dir.join("publisher-token")),
    ]);
    assert!(!out.status.success(), "a wrong code was accepted");

    let issued = ok(&[
        "discovery",
        "authority",
        "issue",
        "--dir",
        &s(&auth_dir),
        "--sii",
        "+1 202 555 0101",
        "--code",
        &code,
        "--dp",
        &url,
        "--dp-token",
        &s(&dp_dir.join("publisher-token")),
    ]);
    assert!(issued.contains("published"), "{issued}");

    let trust = tmp.0.join("trust.txt");
    ok(&[
        "discovery",
        "authority",
        "trust",
        "--dir",
        &s(&auth_dir),
        "--out",
        &s(&trust),
    ]);
    let empty_trust = tmp.0.join("empty-trust.txt");
    std::fs::write(&empty_trust, "# trusts nobody\n").expect("write");

    let lookup =
        |number: &str, trust: &Path| ok(&["lookup", number, "--dp", &url, "--trust", &s(trust)]);
    let found = lookup("+1 (202) 555-0101", &trust);
    assert!(found.contains("mimi://b.example/u/bob"), "{found}");
    assert!(
        found.contains("verified: authority b.example serial 1"),
        "{found}"
    );
    let untrusted = lookup("+12025550101", &empty_trust);
    assert!(untrusted.contains("no verified mapping"), "{untrusted}");
    assert!(!untrusted.contains("maps to"), "{untrusted}");
    assert!(untrusted.contains("rejected record 0"), "{untrusted}");
    let unknown = lookup("+1 202 555 0199", &trust);
    assert!(unknown.contains("no verified mapping"), "{unknown}");

    // The DP's files hold neither the E.164 digits nor the number as written.
    let dp_files = files(&dp_dir);
    assert!(
        dp_files.iter().any(|p| p.ends_with("store.cbor")),
        "{dp_files:?}"
    );
    for f in &dp_files {
        let bytes = std::fs::read(f).expect("read");
        for needle in [
            "12025550101",
            "+1 202 555 0101",
            "202 555 0101",
            "2025550101",
        ] {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{} holds {needle}",
                f.display()
            );
        }
    }

    // Durable across a restart.
    dp.terminate();
    let dp = Dp::start(&dp_dir, port);
    let again = lookup("+1-202-555-0101", &trust);
    assert!(again.contains("mimi://b.example/u/bob"), "{again}");
    dp.terminate();
}
