//! Identifier discovery end to end through the `mimi` binary: a distribution point
//! (`mimi discovery serve`), a mapping authority proving control by one-time code, issuing and
//! publishing, and `mimi lookup` verifying the answer; durability across a restart, no SII in
//! the DP's files, and a graceful stop on SIGTERM.

mod support;

use std::path::Path;
use support::dp::{Dp, contains, files, get_body};
use support::{TempDir, free_port, ok, run, text};

/// None of `files` holds bob's number in any written form.
fn assert_no_number(files: &[std::path::PathBuf]) {
    for f in files {
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
}

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
    assert_no_number(&dp_files);

    // Durable across a restart.
    dp.terminate();
    let dp = Dp::start(&dp_dir, port);
    let again = lookup("+1-202-555-0101", &trust);
    assert!(again.contains("mimi://b.example/u/bob"), "{again}");
    dp.terminate();

    // Pinning, renewal and revocation, with the DP logging at debug level.
    let log = tmp.0.join("dp.log");
    let dp = Dp::spawn(
        &[
            "discovery",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--dir",
            &s(&dp_dir),
        ],
        port,
        "/discovery/v1/key",
        Some(&log),
    );
    let trust_path = s(&trust);
    let info = get_body(port, "/discovery/v1/key").expect("key info");
    let (_, key) = mimi_lookup::decode_key_info(&info).expect("key info decodes");
    let pinned = hex::encode(key.to_bytes());
    let with_pin = |pin: &str| {
        run(&[
            "lookup",
            "+12025550101",
            "--dp",
            &url,
            "--trust",
            &s(&trust),
            "--dp-key",
            pin,
        ])
    };
    let out = with_pin(&pinned);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("mimi://b.example/u/bob"));
    let other = mimi_lookup::DpKey::generate(&mut mimi_lookup::rand_core::OsRng).expect("key");
    let out = with_pin(&hex::encode(other.public().to_bytes()));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("pinned key"),
        "{}",
        text(&out.stderr)
    );

    // Through an OHTTP relay: with the gateway's key configurations given, and fetched.
    let relay_port = free_port();
    let relay_log = tmp.0.join("relay.log");
    let relay = Dp::spawn(
        &[
            "discovery",
            "relay",
            "--listen",
            &format!("127.0.0.1:{relay_port}"),
            "--gateway",
            &format!("{url}/discovery/v1/gateway"),
        ],
        relay_port,
        "/",
        Some(&relay_log),
    );
    let relay_url = format!("http://127.0.0.1:{relay_port}/");
    let keys = hex::encode(get_body(port, "/discovery/v1/ohttp-keys").expect("ohttp keys"));
    for extra in [vec!["--ohttp-keys", keys.as_str()], vec![]] {
        let mut args = vec![
            "lookup",
            "+1 202 555 0101",
            "--dp",
            &url,
            "--trust",
            &trust_path,
            "--relay",
            &relay_url,
        ];
        args.extend(extra);
        let out = ok(&args);
        assert!(out.contains("mimi://b.example/u/bob"), "{out}");
    }
    // Encrypted to another gateway's key, the request does not decapsulate: a clean refusal.
    let other = mimi_dp::Gateway::from_secret(&[7; 32]).expect("gateway");
    let other_keys = hex::encode(other.key_configs());
    let out = run(&[
        "lookup",
        "+12025550101",
        "--dp",
        &url,
        "--trust",
        &trust_path,
        "--relay",
        &relay_url,
        "--ohttp-keys",
        &other_keys,
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("400"), "{}", text(&out.stderr));
    relay.terminate();

    let publish = [
        "--dp",
        url.as_str(),
        "--dp-token",
        &s(&dp_dir.join("publisher-token")),
    ];
    let auth = s(&auth_dir);
    let authority = |args: &[&str]| {
        let mut all = vec!["discovery", "authority"];
        all.extend(args);
        all.extend(["--dir", auth.as_str(), "--sii", "+1 202 555 0101"]);
        all.extend(publish);
        ok(&all)
    };
    let renewed = authority(&["renew"]);
    let serial = renewed
        .split_whitespace()
        .skip_while(|w| *w != "serial")
        .nth(1)
        .expect("renewed serial")
        .to_string();
    let found = lookup("+12025550101", &trust);
    assert!(
        found.contains(&format!("verified: authority b.example serial {serial} ")),
        "{found}"
    );
    // Both assertions are at the DP; the older one is superseded.
    assert!(found.contains("Superseded"), "{found}");

    // The recipient asks for removal: the revocation is published beside the assertions, and
    // every lookup sees the removal.
    let revoked = authority(&["revoke"]);
    assert!(revoked.contains("published"), "{revoked}");
    let gone = lookup("+1 202 555 0101", &trust);
    assert!(gone.contains("no verified mapping"), "{gone}");
    assert!(gone.contains("invalid: revoked"), "{gone}");
    // And renewal does not bring it back.
    let mut renew = vec!["discovery", "authority", "renew", "--dir"];
    renew.extend([auth.as_str(), "--sii", "+12025550101"]);
    renew.extend(publish);
    assert!(!run(&renew).status.success());
    dp.terminate();

    // Neither the files nor the debug log of the DP hold the number, in any form.
    let mut searched = files(&dp_dir);
    searched.push(log);
    searched.push(relay_log);
    assert_no_number(&searched);
}
