//! Plain-text rendering for a terminal.
//!
//! Output: an optional first line of bracketed annotations (`[reply to <id>]`,
//! `[edit of <id>]`, `[deleted <id>]`, `[reaction to <id>]`, `[reaction removed <id>]`,
//! `[topic: ...]`, `[expires ...]`), then one or more body lines. Text parts
//! (`text/plain`, `text/markdown`) are shown as they are; `text/html` is shown with tags
//! removed; anything else is summarized as `[image/png 12345 bytes]`. External parts show
//! disposition, filename, type, size, URL and description. A `chooseOne` MultiPart shows its
//! first part that has something textual to show (else its first part); `processAll` and
//! `singleUnit` show every part. Unknown dispositions are treated as `render`
//! (content-08 §"Security Considerations").
//!
//! All text from the message is sanitized: control characters (except newline and tab) and
//! bidirectional-override characters become U+FFFD, so a message cannot drive the terminal.

use core::fmt::Write as _;

use crate::model::{
    Disposition, ExternalPart, MessageKind, MimiContent, NestedPart, PartBody, PartSemantics,
    SinglePart,
};

/// Renders `msg` as plain text (see the module documentation for the format).
pub fn render_text(msg: &MimiContent) -> String {
    let mut header: Vec<String> = Vec::new();
    let kind = msg.kind();
    match (kind, &msg.replaces) {
        (MessageKind::Edit, Some(id)) => header.push(format!("[edit of {id}]")),
        (MessageKind::Delete, Some(id)) => header.push(format!("[deleted {id}]")),
        (MessageKind::Unreact, Some(id)) => header.push(format!("[reaction removed {id}]")),
        _ => {}
    }
    match (kind, &msg.in_reply_to) {
        (MessageKind::Reaction, Some(id)) => header.push(format!("[reaction to {id}]")),
        (MessageKind::Reaction, None) => header.push("[reaction]".to_owned()),
        (MessageKind::Message | MessageKind::Edit, Some(id)) => {
            header.push(format!("[reply to {id}]"))
        }
        _ => {}
    }
    if !msg.topic_id.is_empty() {
        header.push(format!("[topic: {}]", topic(&msg.topic_id)));
    }
    if let Some(exp) = msg.expires {
        header.push(if exp.relative {
            format!("[expires {} s after reading]", exp.time)
        } else {
            format!("[expires {}]", iso8601(u64::from(exp.time)))
        });
    }

    let mut lines = Vec::new();
    if matches!(msg.nested_part.body, PartBody::NullPart) {
        if msg.replaces.is_none() {
            lines.push("[empty message]".to_owned());
        }
    } else {
        part_lines(&msg.nested_part, &mut lines);
    }

    let mut out = header.join(" ");
    for line in lines {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

/// Whether a part would show something textual (used to choose among alternatives).
fn is_textual(part: &NestedPart) -> bool {
    match &part.body {
        PartBody::NullPart => false,
        PartBody::SinglePart(s) => {
            text_kind(&s.content_type).is_some() && shows_inline(part.disposition)
        }
        PartBody::ExternalPart(_) => true,
        PartBody::MultiPart(m) => m.parts.iter().any(is_textual),
    }
}

fn part_lines(part: &NestedPart, out: &mut Vec<String>) {
    match &part.body {
        PartBody::NullPart => {}
        PartBody::SinglePart(s) => out.push(single(part.disposition, s)),
        PartBody::ExternalPart(x) => out.push(external(part.disposition, x)),
        PartBody::MultiPart(m) => match m.semantics {
            PartSemantics::ChooseOne => {
                if let Some(chosen) = m
                    .parts
                    .iter()
                    .find(|p| is_textual(p))
                    .or_else(|| m.parts.first())
                {
                    part_lines(chosen, out);
                }
            }
            PartSemantics::SingleUnit | PartSemantics::ProcessAll => {
                for p in &m.parts {
                    part_lines(p, out);
                }
            }
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Plain,
    Html,
}

/// Media types shown as text: text/plain and text/markdown as they are, text/html stripped.
fn text_kind(content_type: &str) -> Option<TextKind> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "text/plain" | "text/markdown" => Some(TextKind::Plain),
        "text/html" => Some(TextKind::Html),
        _ => None,
    }
}

/// Dispositions whose text content is shown in the conversation.
fn shows_inline(d: Disposition) -> bool {
    matches!(
        d.effective(),
        Disposition::Render
            | Disposition::Unspecified
            | Disposition::Inline
            | Disposition::Reaction
            | Disposition::Preview
    )
}

fn single(dispo: Disposition, s: &SinglePart) -> String {
    match text_kind(&s.content_type) {
        Some(kind) if shows_inline(dispo) => {
            let text = String::from_utf8_lossy(&s.content);
            let text = match kind {
                TextKind::Plain => sanitize(&text),
                TextKind::Html => sanitize(&html_to_text(&text)),
            };
            if dispo == Disposition::Preview {
                format!("preview: {text}")
            } else {
                text
            }
        }
        _ => {
            let mut out = String::from("[");
            if let Some(label) = label(dispo) {
                out.push_str(label);
                out.push(' ');
            }
            if !s.content_type.is_empty() {
                out.push_str(&sanitize(&s.content_type));
                out.push(' ');
            }
            let _ = write!(out, "{} bytes]", s.content.len());
            out
        }
    }
}

/// Disposition shown in a summary; none for the ordinary ones.
fn label(d: Disposition) -> Option<&'static str> {
    match d.effective() {
        Disposition::Render | Disposition::Unspecified => None,
        other => Some(other.name()),
    }
}

fn external(dispo: Disposition, x: &ExternalPart) -> String {
    let mut out = format!("[{}:", label(dispo).unwrap_or("external"));
    if !x.filename.is_empty() {
        let _ = write!(out, " {}", sanitize(&x.filename));
    }
    let mut details = Vec::new();
    if !x.content_type.is_empty() {
        details.push(sanitize(&x.content_type));
    }
    if x.size != 0 {
        details.push(format!("{} bytes", x.size));
    }
    if x.enc_alg != 0 {
        details.push("encrypted".to_owned());
    }
    if x.expires != 0 {
        details.push(format!("until {}", iso8601(u64::from(x.expires))));
    }
    if !details.is_empty() {
        let _ = write!(out, " ({})", details.join(", "));
    }
    let _ = write!(out, " {}", sanitize(&x.url));
    if !x.description.is_empty() {
        let _ = write!(out, " \"{}\"", sanitize(&x.description));
    }
    out.push(']');
    out
}

fn topic(t: &[u8]) -> String {
    match core::str::from_utf8(t) {
        Ok(s) if !s.chars().any(char::is_control) => sanitize(s),
        _ => hex::encode(t),
    }
}

/// Replaces characters that could control a terminal or reorder text with U+FFFD.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}');
            if (c.is_control() && c != '\n' && c != '\t') || bidi {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// A minimal HTML-to-text conversion: drops tags (and the content of `script`/`style`),
/// decodes the basic character references, and trims each line.
fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            text.push_str(&rest[..lt]);
        }
        let after = &rest[lt..];
        let end = after.find('>').map_or(after.len(), |i| i + 1);
        let tag = after[..end].to_ascii_lowercase();
        match skip_until {
            Some(close) if tag.starts_with(close) => skip_until = None,
            Some(_) => {}
            None if tag.starts_with("<script") => skip_until = Some("</script"),
            None if tag.starts_with("<style") => skip_until = Some("</style"),
            None => {
                if tag.starts_with("<br")
                    || tag.starts_with("</p")
                    || tag.starts_with("</h")
                    || tag.starts_with("</div")
                {
                    text.push('\n');
                }
            }
        }
        rest = &after[end..];
    }
    if skip_until.is_none() {
        text.push_str(rest);
    }
    let decoded = decode_entities(&text);
    decoded
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let semi = after.find(';').filter(|&i| i <= 10);
        let decoded = semi.and_then(|i| {
            let name = &after[1..i];
            let c = match name {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, i + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the UNIX epoch (proleptic Gregorian, UTC).
pub fn iso8601(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (non-negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_644_390_004), "2022-02-09T07:00:04Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(u64::from(u32::MAX)), "2106-02-07T06:28:15Z");
    }

    #[test]
    fn html() {
        assert_eq!(
            html_to_text(
                "<p>Kudos to <a href=\"x\">@Alice</a> &amp; co &lt;3 &#x1F600;</p><script>evil()</script>"
            ),
            "Kudos to @Alice & co <3 \u{1F600}"
        );
        assert_eq!(html_to_text("a &bogus; & b <unclosed"), "a &bogus; & b");
    }

    #[test]
    fn sanitizes_escapes() {
        assert_eq!(
            sanitize("a\u{1b}[31mb\u{202E}c\nd"),
            "a\u{FFFD}[31mb\u{FFFD}c\nd"
        );
    }
}
