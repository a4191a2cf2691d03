//! The `mimi` binary as a user runs it.

use std::process::{Command, Output};

fn mimi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mimi"))
        .args(args)
        .output()
        .expect("run mimi")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8")
}

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../mimi-content/tests/vectors/content-08"
);

#[test]
fn inspect_prints_rendering_and_both_message_ids() {
    let reply = std::fs::read_to_string(format!("{VECTORS}/reply.hex")).expect("vector");
    let out = mimi(&["content", "inspect", "--hex", reply.trim()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Right on! _Congratulations_ 'all!"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    assert_eq!(
        lines[n - 2],
        "message-id: 015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27"
    );
    assert!(
        lines[n - 1].starts_with("message-id-07: 01"),
        "{}",
        lines[n - 1]
    );
    assert_eq!(lines[n - 1].len(), "message-id-07: ".len() + 64);
}

#[test]
fn inspect_reads_files_as_hex_or_raw_cbor() {
    let file = format!("{VECTORS}/original.hex");
    let from_hex_file = mimi(&["content", "inspect", &file]);
    assert!(from_hex_file.status.success(), "{}", stderr(&from_hex_file));
    let raw = hex::decode(std::fs::read_to_string(&file).expect("vector").trim()).expect("hex");
    let dir = std::env::temp_dir().join(format!("mimi-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let raw_file = dir.join("original.cbor");
    std::fs::write(&raw_file, raw).expect("write");
    let from_raw = mimi(&["content", "inspect", raw_file.to_str().expect("path")]);
    assert_eq!(stdout(&from_raw), stdout(&from_hex_file));
    assert!(
        stdout(&from_raw).contains(
            "message-id: 017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4"
        )
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn invalid_content_gives_one_line_reason_and_failure() {
    for (hex, why) in [
        ("8800", "truncated"),
        ("9f00ff", "indefinite"),
        ("86", "truncated"),
        ("zz", "invalid hex"),
    ] {
        let out = mimi(&["content", "inspect", "--hex", hex]);
        assert!(!out.status.success(), "{hex} accepted");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(why), "{hex}: {err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn new_then_inspect_round_trips_with_reply() {
    let parent = "015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27";
    let out = mimi(&[
        "content",
        "new",
        "--from",
        "mimi://a.example/u/alice",
        "--room",
        "mimi://a.example/r/clubhouse",
        "--text",
        "hello there",
        "--reply-to",
        parent,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hex = stdout(&out);
    assert_eq!(hex.lines().count(), 1);
    let inspected = mimi(&["content", "inspect", "--hex", hex.trim()]);
    assert!(inspected.status.success(), "{}", stderr(&inspected));
    let text = stdout(&inspected);
    assert!(text.contains("hello there"), "{text}");
    assert!(text.contains(parent), "{text}");
    // Salt is random: two messages with the same text differ.
    let again = mimi(&[
        "content",
        "new",
        "--from",
        "mimi://a.example/u/alice",
        "--room",
        "mimi://a.example/r/clubhouse",
        "--text",
        "hello there",
    ]);
    assert_ne!(stdout(&again), hex);
}

#[test]
fn new_rejects_wrong_identifier_kinds() {
    let out = mimi(&[
        "content",
        "new",
        "--from",
        "mimi://a.example/r/clubhouse",
        "--room",
        "mimi://a.example/r/clubhouse",
        "--text",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid identifier"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn id_commands_normalize() {
    let out = mimi(&["id", "parse", "MIMI://Bücher.example/u/%41lice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("uri: mimi://xn--bcher-kva.example/u/Alice"));
    let out = mimi(&["id", "phone", "0044 20 7946 0958"]);
    assert_eq!(stdout(&out).trim(), "+442079460958");
    let out = mimi(&["id", "phone", "020 7946 0958", "--region", "GB"]);
    assert_eq!(stdout(&out).trim(), "+442079460958");
    let out = mimi(&["id", "phone", "020 7946 0958"]);
    assert!(!out.status.success());
    let out = mimi(&["id", "parse", "mimi://a.example/x/y"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown"), "{}", stderr(&out));
}
