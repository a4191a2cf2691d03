//! Percent-encoding as MIMI ids use it (RFC 3986 §2.1, §2.4, §6.2.2; RFC 3987 §3.1).
//!
//! An id segment is a Unicode string. Its canonical form in a URI percent-encodes (upper-case
//! hex) exactly the UTF-8 bytes of characters that are not `unreserved`, `sub-delims`, `:` or
//! `@` (the RFC 3986 `pchar` set), so `%41` and `A`, `%21` and `!`, `é` and `%C3%A9` are the same
//! id, while `%2F` (a `/` inside an id) stays encoded (docs/decisions/0020).

use super::error::IdError;

/// RFC 3986 §2.3 `unreserved`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §3.3 `pchar` minus `pct-encoded`: the bytes a canonical id segment writes literally.
pub(crate) fn is_pchar_literal(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
        )
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte encoded by the `%XX` starting at `bytes[i]`.
fn triplet(bytes: &[u8], i: usize) -> Result<u8, IdError> {
    let hi = bytes.get(i + 1).copied().and_then(hex_value);
    let lo = bytes.get(i + 2).copied().and_then(hex_value);
    match (hi, lo) {
        (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
        _ => Err(IdError::BadPercentEncoding(
            "\"%\" is not followed by two hex digits",
        )),
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Decode one URI component written with `pchar` characters, percent-encoding, or (IRI style)
/// non-ASCII characters, to the Unicode string it stands for.
///
/// ASCII characters outside `pchar` are rejected with `what` naming the place.
pub(crate) fn decode_component(s: &str, what: &'static str) -> Result<String, IdError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            out.push(triplet(bytes, i)?);
            i += 3;
        } else if b.is_ascii() {
            if !is_pchar_literal(b) {
                return Err(IdError::InvalidChar {
                    ch: char::from(b),
                    what,
                });
            }
            out.push(b);
            i += 1;
        } else {
            // A non-ASCII character of the (valid UTF-8) input: keep its bytes (RFC 3987 §3.1).
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| IdError::BadPercentEncoding("the decoded bytes are not valid UTF-8"))
}

/// Decode every `%XX` in `s`, leaving other characters as they are (for a whole URI that was
/// percent-encoded into one URL path segment).
pub(crate) fn decode_all(s: &str) -> Result<String, IdError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            out.push(triplet(bytes, i)?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| IdError::BadPercentEncoding("the decoded bytes are not valid UTF-8"))
}

/// Append the canonical encoding of the id `s` to `out`.
pub(crate) fn encode_into(s: &str, out: &mut String) {
    for &b in s.as_bytes() {
        if is_pchar_literal(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// Length in bytes of the canonical encoding of `s`.
pub(crate) fn encoded_len(s: &str) -> usize {
    s.bytes()
        .map(|b| if is_pchar_literal(b) { 1 } else { 3 })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_unreserved_and_keeps_slash_encoded() {
        assert_eq!(decode_component("%41b", "x").unwrap(), "Ab");
        assert_eq!(decode_component("a%2fb", "x").unwrap(), "a/b");
        let mut out = String::new();
        encode_into("a/b c%é", &mut out);
        assert_eq!(out, "a%2Fb%20c%25%C3%A9");
        assert_eq!(encoded_len("a/b c%é"), out.len());
    }

    #[test]
    fn rejects_bad_triplets_and_non_utf8() {
        assert!(matches!(
            decode_component("a%4", "x"),
            Err(IdError::BadPercentEncoding(_))
        ));
        assert!(matches!(
            decode_component("a%zz", "x"),
            Err(IdError::BadPercentEncoding(_))
        ));
        assert!(matches!(
            decode_component("%FF", "x"),
            Err(IdError::BadPercentEncoding(_))
        ));
        assert!(matches!(
            decode_component("a b", "x"),
            Err(IdError::InvalidChar { ch: ' ', .. })
        ));
        assert_eq!(decode_all("mimi%3A%2F%2Fa").unwrap(), "mimi://a");
    }
}
