//! Administrative identifiers rendered as UUIDs.
//!
//! draft-kohbrok-mimi-identifiers-00 §"Administrative identifiers": unique within the provider's
//! domain, immutable, possibly provider-generated and not user-readable (UUIDs are the example);
//! "used for authentication and included in MLS credentials". They are the ids in `mimi://` user,
//! client and pseudonym URIs that go into credentials. Connection-establishment identifiers
//! (handles, phone numbers, email addresses: user-facing, user-chosen, mutable, several per user)
//! are a different class: see [`super::ConnectionId`]. Nothing here draws randomness: the caller
//! passes the bytes (sans-IO, deterministic tests).

/// Render 16 bytes as a canonical UUID string: lowercase hex, hyphenated 8-4-4-4-12
/// (RFC 9562 §4), e.g. `0fd3e0dc-a2ff-4965-8873-509f0af0a75c`. The bytes are rendered as given.
pub fn format_uuid(bytes: [u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Turn 16 random bytes into the bytes of a version-4 (random) UUID by setting the version and
/// variant bits (RFC 9562 §5.4). The caller supplies the randomness.
pub fn uuid_v4_bytes(mut random: [u8; 16]) -> [u8; 16] {
    random[6] = (random[6] & 0x0f) | 0x40;
    random[8] = (random[8] & 0x3f) | 0x80;
    random
}

/// Parse a canonical (lowercase, hyphenated) UUID string back to its bytes; `None` for anything
/// else, including upper-case hex (ids are case-sensitive, so only one spelling is canonical).
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut i = 0;
    while i < 36 {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b[i] != b'-' {
                return None;
            }
            i += 1;
            continue;
        }
        let hi = lower_hex(b[i])?;
        let lo = lower_hex(*b.get(i + 1)?)?;
        *out.get_mut(n)? = hi << 4 | lo;
        n += 1;
        i += 2;
    }
    Some(out)
}

fn lower_hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let bytes = [
            0x0f, 0xd3, 0xe0, 0xdc, 0xa2, 0xff, 0x49, 0x65, 0x88, 0x73, 0x50, 0x9f, 0x0a, 0xf0,
            0xa7, 0x5c,
        ];
        let s = format_uuid(bytes);
        assert_eq!(s, "0fd3e0dc-a2ff-4965-8873-509f0af0a75c");
        assert_eq!(parse_uuid(&s), Some(bytes));
        assert_eq!(parse_uuid(&s.to_uppercase()), None);
        assert_eq!(parse_uuid("0fd3e0dc-a2ff-4965-8873-509f0af0a75"), None);
        assert_eq!(parse_uuid("0fd3e0dca-2ff-4965-8873-509f0af0a75c"), None);
    }

    #[test]
    fn v4_bits() {
        let u = uuid_v4_bytes([0xff; 16]);
        let s = format_uuid(u);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(
            format_uuid(uuid_v4_bytes([0; 16])),
            "00000000-0000-4000-8000-000000000000"
        );
    }
}
