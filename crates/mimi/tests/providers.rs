//! Two providers as separate `mimi serve` processes (set up by `mimi init`, federating over
//! mutual TLS on loopback), and users driving them only through the `mimi` client commands:
//! accounts, search by handle and email, consent, a room across providers, messages, a reply
//! from `mimi chat`, metrics, and a graceful stop on SIGTERM. Plus `mimi demo` end to end.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::dp::Dp;
use support::{TempDir, free_port, mimi, ok, run, text};

const PASSWORD: &str = "a long enough password";

/// A plain HTTP/1.0 GET on loopback: (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

/// A provider process.
struct Provider {
    child: Child,
    client_port: u16,
    admin_port: u16,
}

impl Provider {
    fn start(dir: &Path, domain: &str, fed_port: u16, peer: (&str, u16)) -> Provider {
        let client_port = free_port();
        let admin_port = free_port();
        let wrote = ok(&[
            "init",
            "--domain",
            domain,
            "--dir",
            dir.join(domain).to_str().expect("path"),
            "--ca-dir",
            dir.join("ca").to_str().expect("path"),
            "--federation-listen",
            &format!("127.0.0.1:{fed_port}"),
            "--client-listen",
            &format!("127.0.0.1:{client_port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin_port}"),
            "--peer",
            &format!("{}=127.0.0.1:{}", peer.0, peer.1),
        ]);
        let config = dir.join(domain).join("mimi.toml");
        assert!(wrote.contains("mimi.toml"), "{wrote}");
        let child = mimi()
            .args(["serve", "--config", config.to_str().expect("path")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn mimi serve");
        let p = Provider {
            child,
            client_port,
            admin_port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(client_port, "/healthz").map(|r| r.0) != Some(200) {
            assert!(Instant::now() < deadline, "{domain} did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }

    fn server(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// SIGTERM, then the process must exit cleanly on its own.
    fn terminate(mut self) {
        support::terminate(&mut self.child);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `args` with `--profile profile` until stdout contains `want` (deliveries between
/// providers are asynchronous). Returns everything printed meanwhile.
fn until(profile: &str, args: &[&str], want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    loop {
        let mut all = args.to_vec();
        all.extend(["--profile", profile]);
        seen.push_str(&ok(&all));
        if seen.contains(want) {
            return seen;
        }
        assert!(Instant::now() < deadline, "never saw {want:?} in {seen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn users_chat_across_two_provider_processes() {
    let dir = TempDir::new("providers");
    let (port_a, port_b) = (free_port(), free_port());
    let a = Provider::start(&dir.0, "a.example", port_a, ("b.example", port_b));
    let b = Provider::start(&dir.0, "b.example", port_b, ("a.example", port_a));
    let alice = dir.0.join("alice.db");
    let bob = dir.0.join("bob.db");
    let (alice, bob) = (alice.to_str().expect("path"), bob.to_str().expect("path"));

    let out = ok(&[
        "account",
        "register",
        "--server",
        &a.server(),
        "--username",
        "alice",
        "--password",
        PASSWORD,
        "--device",
        "laptop",
        "--profile",
        alice,
    ]);
    assert!(out.contains("mimi://a.example/u/alice"), "{out}");
    assert!(out.contains("mimi://a.example/d/alice/laptop"), "{out}");
    ok(&[
        "account",
        "register",
        "--server",
        &b.server(),
        "--username",
        "bob",
        "--password",
        PASSWORD,
        "--profile",
        bob,
    ]);
    // A profile holds one device: a second registration into it is refused.
    let again = run(&[
        "account",
        "register",
        "--server",
        &b.server(),
        "--username",
        "bob2",
        "--password",
        PASSWORD,
        "--profile",
        bob,
    ]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already holds a device"));
    assert!(ok(&["account", "show", "--profile", bob]).contains("mimi://b.example/u/bob"));

    // Bob can be found by handle and email once he says so; alice adds him by handle.
    let hidden = ok(&[
        "search",
        "b.example",
        "--handle",
        "@bob",
        "--profile",
        alice,
    ]);
    assert!(hidden.contains("nobody"), "{hidden}");
    ok(&[
        "account",
        "identifiers",
        "--handle",
        "@bob",
        "--email",
        "bob@example.com",
        "--profile",
        bob,
    ]);
    let found = ok(&[
        "search",
        "b.example",
        "--email",
        "bob@example.com",
        "--profile",
        alice,
    ]);
    assert!(found.contains("mimi://b.example/u/bob"), "{found}");
    let granted = ok(&[
        "consent",
        "grant",
        "mimi://a.example/u/alice",
        "--profile",
        bob,
    ]);
    assert!(
        granted.contains("granted consent to mimi://a.example/u/alice for any room"),
        "{granted}"
    );

    let room = "mimi://a.example/r/club";
    let out = ok(&["room", "create", "club", "--profile", alice]);
    assert!(out.contains(&format!("created {room}")), "{out}");
    let out = ok(&["room", "add", room, "@bob@b.example", "--profile", alice]);
    assert!(out.contains("added mimi://b.example/u/bob"), "{out}");
    let out = until(bob, &["room", "list"], room);
    assert!(out.contains(&format!("* you joined {room}")), "{out}");
    assert!(out.contains("2 devices"), "{out}");

    ok(&["send", room, "hello bob", "--profile", alice]);
    let out = until(bob, &["room", "list"], "hello bob");
    assert!(out.contains("a.example/u/alice: hello bob"), "{out}");
    let id = out
        .lines()
        .find(|l| l.contains("hello bob"))
        .and_then(|l| l.rsplit_once('#'))
        .map(|(_, id)| id.trim().to_string())
        .expect("a message id");

    // Bob replies from `mimi chat`: it shows the history, sends what is typed, and stops at
    // /quit.
    let mut chat = mimi()
        .args(["chat", room, "--profile", bob])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chat");
    chat.stdin
        .take()
        .expect("stdin")
        .write_all(format!("/reply {id} thanks alice\n/quit\n").as_bytes())
        .expect("type");
    let out = chat.wait_with_output().expect("chat output");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("hello bob"),
        "{}",
        text(&out.stdout)
    );

    let out = until(alice, &["room", "list"], "thanks alice");
    assert!(
        out.contains(&format!("b.example/u/bob: [reply to {id}")),
        "{out}"
    );

    // Bad input: a clear one-line error, non-zero exit.
    let bad = run(&[
        "room",
        "add",
        room,
        "mimi://b.example/r/bob",
        "--profile",
        alice,
    ]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).starts_with("mimi: invalid identifier"),
        "{}",
        text(&bad.stderr)
    );
    let unknown = run(&["room", "add", room, "@nobody@b.example", "--profile", alice]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("no single user with handle"),
        "{}",
        text(&unknown.stderr)
    );
    let missing = run(&[
        "room",
        "list",
        "--profile",
        dir.0.join("nobody.db").to_str().expect("p"),
    ]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("mimi account register"));

    // Metrics and health on the admin listener.
    let (status, metrics) = get(a.admin_port, "/metrics").expect("metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("mimi_hosted_rooms 1"), "{metrics}");
    assert!(metrics.contains("mimi_http_requests_total{"), "{metrics}");
    assert_eq!(get(b.admin_port, "/healthz").map(|r| r.0), Some(200));

    a.terminate();
    b.terminate();
}

/// Prove an SII to b.example's authority (the code comes from its file sender) and publish
/// the mapping to `ssi` at the DP.
fn publish_mapping(authority: &str, dp_url: &str, token: &str, sii: &str, ssi: &str) {
    ok(&[
        "discovery",
        "authority",
        "challenge",
        "--dir",
        authority,
        "--sii",
        sii,
        "--ssi",
        ssi,
    ]);
    let codes =
        std::fs::read_to_string(Path::new(authority).join("one-time-codes.txt")).expect("codes");
    let code = codes
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(sii).and_then(|c| c.strip_prefix(' ')))
        .expect("a code")
        .to_string();
    let out = ok(&[
        "discovery",
        "authority",
        "issue",
        "--dir",
        authority,
        "--sii",
        sii,
        "--code",
        &code,
        "--dp",
        dp_url,
        "--dp-token",
        token,
    ]);
    assert!(out.contains("published"), "{out}");
}

#[test]
fn a_user_added_by_phone_number_and_email_through_discovery() {
    let dir = TempDir::new("by-phone");
    let (port_a, port_b) = (free_port(), free_port());
    let a = Provider::start(&dir.0, "a.example", port_a, ("b.example", port_b));
    let b = Provider::start(&dir.0, "b.example", port_b, ("a.example", port_a));
    let path = |name: &str| dir.0.join(name).to_str().expect("path").to_string();
    let (alice, carol, dave) = (path("alice.db"), path("carol.db"), path("dave.db"));
    for (server, user, profile) in [
        (a.server(), "alice", &alice),
        (b.server(), "carol", &carol),
        (b.server(), "dave", &dave),
    ] {
        ok(&[
            "account",
            "register",
            "--server",
            &server,
            "--username",
            user,
            "--password",
            PASSWORD,
            "--profile",
            profile,
        ]);
    }
    for profile in [&carol, &dave] {
        ok(&[
            "consent",
            "grant",
            "mimi://a.example/u/alice",
            "--profile",
            profile,
        ]);
    }

    // b.example is its own mapping authority and publishes at a distribution point.
    let dp_port = free_port();
    let dp_url = format!("http://127.0.0.1:{dp_port}");
    let dp = Dp::start(&dir.0.join("dp"), dp_port);
    let authority = path("b-authority");
    let token = path("dp/publisher-token");
    ok(&[
        "discovery",
        "authority",
        "init",
        "--dir",
        &authority,
        "--id",
        "b.example",
    ]);
    publish_mapping(
        &authority,
        &dp_url,
        &token,
        "+12025550103",
        "mimi://b.example/u/carol",
    );
    publish_mapping(
        &authority,
        &dp_url,
        &token,
        "dave@mail.example",
        "mimi://b.example/u/dave",
    );
    let trust = path("trust.txt");
    ok(&[
        "discovery",
        "authority",
        "trust",
        "--dir",
        &authority,
        "--out",
        &trust,
    ]);

    let room = "mimi://a.example/r/numbers";
    ok(&["room", "create", "numbers", "--profile", &alice]);
    let discovery = ["--dp", dp_url.as_str(), "--trust", trust.as_str()];
    let mut add = vec![
        "room",
        "add",
        room,
        "tel:+1-202-555-0103",
        "dave@mail.example",
    ];
    add.extend(discovery);
    add.extend(["--profile", &alice]);
    let out = ok(&add);
    assert!(
        out.contains("added mimi://b.example/u/carol, mimi://b.example/u/dave"),
        "{out}"
    );
    for profile in [&carol, &dave] {
        let out = until(profile, &["room", "list"], "you joined");
        assert!(out.contains(&format!("* you joined {room}")), "{out}");
    }
    ok(&["send", room, "found you by number", "--profile", &alice]);
    until(&carol, &["room", "list"], "found you by number");

    // An unmapped number, or no trusted authority, is a clear refusal that adds nobody.
    let empty_trust = path("empty-trust.txt");
    std::fs::write(&empty_trust, "# trusts nobody\n").expect("write");
    for (number, trust) in [
        ("+12025550199", trust.as_str()),
        ("+12025550103", &empty_trust),
    ] {
        let out = run(&[
            "room",
            "add",
            room,
            number,
            "--dp",
            &dp_url,
            "--trust",
            trust,
            "--profile",
            &alice,
        ]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("no verified mapping"),
            "{}",
            text(&out.stderr)
        );
    }
    // Without a distribution point the command says what it needs.
    let out = run(&["room", "add", room, "+12025550103", "--profile", &alice]);
    assert!(text(&out.stderr).contains("--dp"), "{}", text(&out.stderr));

    dp.terminate();
    a.terminate();
    b.terminate();
}

#[test]
fn demo_runs_the_six_flows_and_passes_its_checks() {
    let out = run(&["demo", "--quiet"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for flow in [
        "== 1.",
        "== 2.",
        "== 3.",
        "== 4.",
        "== 5.",
        "== 6.",
        "== summary",
    ] {
        assert!(stdout.contains(flow), "{flow} missing: {stdout}");
    }
    assert!(stdout.contains("bob sees: [") && stdout.contains("c.example/u/cathy: Hi everyone"));
    assert!(
        stdout.contains("alice looks up +1 (202) 555-0101: mimi://b.example/u/bob, signed by b.example and verified"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
    assert!(stdout.trim_end().ends_with("all checks passed"), "{stdout}");
}
