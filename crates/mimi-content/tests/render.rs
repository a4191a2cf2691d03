//! `render_text` on every draft example (golden output) and on hand-built edge cases.

mod common;

use mimi_content::{
    Disposition, Expiration, ExternalPart, MessageBuilder, MimiContent, NestedPart, PartSemantics,
    decode, render_text,
};

const ORIGINAL_08: &str = "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4";

fn render(name: &str) -> String {
    render_text(&decode(&common::vector("content-08", name).bytes).expect("decodes"))
}

#[test]
fn draft_examples() {
    let reply = format!("[reply to {ORIGINAL_08}]");
    let cases: [(&str, String); 14] = [
        ("original", "Hi everyone, we just shipped release 2.0. __Good  work__!".into()),
        ("reply", format!("{reply}\nRight on! _Congratulations_ 'all!")),
        ("reaction", format!("[reaction to {ORIGINAL_08}]\n❤")),
        (
            "mention",
            format!("{reply}\nKudos to [@Alice Smith](mimi://example.com/u/alice-smith) for making the release happen!"),
        ),
        ("mention-html", format!("{reply}\nKudos to @Alice Smith for making the release happen!")),
        (
            "edit",
            format!(
                "[edit of 015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27] {reply}\nRight on! _Congratulations_ y'all!"
            ),
        ),
        ("delete", "[deleted 015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27]".into()),
        ("unlike", "[reaction removed 0158c4288911e50a8f6be3f47746b6682f10fd91bc8c05557aa589a3157aff68]".into()),
        (
            "expiring",
            "[expires 2022-02-09T07:00:04Z]\n__*VPN GOING DOWN*__ I'm rebooting the VPN in ten minutes unless anyone objects.".into(),
        ),
        (
            "attachment",
            "[attachment: bigfile.mp4 (video/mp4, 708234961 bytes, encrypted) https://example.com/storage/8ksB4bSrrRE.mp4 \"2 hours of key signing video\"]".into(),
        ),
        ("conferencing", "[topic: Foo 118]\n[session: https://example.com/join/12345 \"Join the Foo 118 conference\"]".into()),
        ("multipart-1", "# Welcome!".into()),
        ("multipart-2", "[reaction]\n❤\n🥳\n🤞".into()),
        // chooseOne GIF/PNG -> GIF version; chooseOne en/fr -> en; HTML shown without tags.
        ("multipart-3", "Welcome!\n[inline image/gif 16 bytes]".into()),
    ];
    for (name, expected) in cases {
        assert_eq!(render(name), expected, "{name}");
    }
}

fn msg(body: NestedPart) -> MimiContent {
    MessageBuilder::new([0; 16])
        .sender_uri("mimi://a/u/a")
        .room_uri("mimi://a/r/r")
        .body(body)
        .build()
}

#[test]
fn non_text_parts_are_summarized() {
    let png = NestedPart::single(Disposition::Render, "image/png", vec![0u8; 12345]);
    assert_eq!(render_text(&msg(png)), "[image/png 12345 bytes]");
    let att = NestedPart::single(Disposition::Attachment, "text/plain", "notes");
    assert_eq!(render_text(&msg(att)), "[attachment text/plain 5 bytes]");
    let unknown = NestedPart::single(Disposition::from_value(77), "text/plain", "shown as render");
    assert_eq!(render_text(&msg(unknown)), "shown as render");
    let preview = NestedPart::single(Disposition::Preview, "text/plain", "a link");
    assert_eq!(render_text(&msg(preview)), "preview: a link");
}

#[test]
fn choose_one_prefers_first_textual_alternative() {
    let alt = NestedPart::multi(
        Disposition::Render,
        PartSemantics::ChooseOne,
        vec![
            NestedPart::single(
                Disposition::Render,
                "application/vnd.example",
                vec![1, 2, 3],
            ),
            NestedPart::single(
                Disposition::Render,
                "text/plain;charset=utf-8",
                "plain version",
            ),
            NestedPart::single(
                Disposition::Render,
                "text/markdown;variant=GFM-MIMI",
                "*md version*",
            ),
        ],
    );
    assert_eq!(render_text(&msg(alt)), "plain version");
    // No textual alternative: the first one.
    let alt = NestedPart::multi(
        Disposition::Render,
        PartSemantics::ChooseOne,
        vec![
            NestedPart::single(Disposition::Render, "image/jpeg", vec![0; 3]),
            NestedPart::single(Disposition::Render, "image/png", vec![0; 4]),
        ],
    );
    assert_eq!(render_text(&msg(alt)), "[image/jpeg 3 bytes]");
    let all = NestedPart::multi(
        Disposition::Render,
        PartSemantics::SingleUnit,
        vec![
            NestedPart::single(Disposition::Render, "text/plain", "see picture"),
            NestedPart::single(Disposition::Inline, "image/png", vec![0; 4]),
        ],
    );
    assert_eq!(
        render_text(&msg(all)),
        "see picture\n[inline image/png 4 bytes]"
    );
}

#[test]
fn external_part_details() {
    let x = ExternalPart {
        url: "https://x.example/a".into(),
        expires: 1_700_000_000,
        ..ExternalPart::default()
    };
    assert_eq!(
        render_text(&msg(NestedPart::external(Disposition::Render, x))),
        "[external: (until 2023-11-14T22:13:20Z) https://x.example/a]"
    );
}

#[test]
fn metadata_lines() {
    let m = MessageBuilder::new([0; 16])
        .topic_id(vec![0xff, 0x00])
        .expires(Expiration {
            relative: true,
            time: 600,
        })
        .body(NestedPart::single(Disposition::Render, "text/plain", "x"))
        .build();
    assert_eq!(
        render_text(&m),
        "[topic: ff00] [expires 600 s after reading]\nx"
    );
    let empty = MessageBuilder::new([0; 16]).build();
    assert_eq!(render_text(&empty), "[empty message]");
}

#[test]
fn terminal_control_is_neutralized() {
    let evil = NestedPart::single(
        Disposition::Render,
        "text/plain",
        "hi\u{1b}]0;pwned\u{7}\r\u{202e}txt.exe",
    );
    let out = render_text(&msg(evil));
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert_eq!(out, "hi\u{fffd}]0;pwned\u{fffd}\u{fffd}\u{fffd}txt.exe");
    let bad_utf8 = NestedPart::single(Disposition::Render, "text/plain", vec![b'a', 0xff, b'b']);
    assert_eq!(render_text(&msg(bad_utf8)), "a\u{fffd}b");
    let x = ExternalPart {
        url: "https://x\u{1b}[2J".into(),
        filename: "f\u{9b}".into(),
        ..ExternalPart::default()
    };
    let out = render_text(&msg(NestedPart::external(Disposition::Attachment, x)));
    assert!(!out.chars().any(char::is_control), "{out:?}");
}
