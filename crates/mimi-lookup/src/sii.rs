//! The OPRF input: a domain-separated canonical encoding of an SII
//! (docs/discovery-lookup.md §"SII encoding", docs/decisions/0111).
//!
//! ```text
//! sii_input = "mimi-sii-v1" || kind || value
//!   kind  = 0x01 (phone number) | 0x02 (email address)
//!   value = the normalized form, UTF-8, no terminator:
//!           phone: E.164 with "+"   ("+12025550101", docs/decisions/0025)
//!           email: local@domain     (local part as written, domain lowercase A-labels, 0026)
//! ```
//!
//! The prefix and kind have fixed lengths and the value runs to the end, so the encoding is
//! injective; the kind codes are those of the discovery SII (`mimi_discovery::Sii`).

use mimi_types::id::ConnectionId;

use crate::error::Error;

/// Domain-separation prefix of every OPRF input.
pub const SII_DOMAIN: &[u8] = b"mimi-sii-v1";

/// Kind byte of a phone number.
pub const KIND_PHONE: u8 = 1;

/// Kind byte of an email address.
pub const KIND_EMAIL: u8 = 2;

/// The OPRF input for `id`, which must be a phone number or an email address (already
/// normalized by `mimi-types`: any written form of the same number gives the same bytes).
///
/// # Errors
/// [`Error::NotAnSii`] for a handle.
pub fn sii_input(id: &ConnectionId) -> Result<Vec<u8>, Error> {
    let (kind, value) = match id {
        ConnectionId::Phone(p) => (KIND_PHONE, p.as_str()),
        ConnectionId::Email(e) => (KIND_EMAIL, e.as_str()),
        ConnectionId::Handle(_) => return Err(Error::NotAnSii),
    };
    let mut out = Vec::with_capacity(SII_DOMAIN.len() + 1 + value.len());
    out.extend_from_slice(SII_DOMAIN);
    out.push(kind);
    out.extend_from_slice(value.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_phone_and_email_and_rejects_handles() {
        let p = ConnectionId::parse("+1 (202) 555-0101").unwrap();
        assert_eq!(sii_input(&p).unwrap(), b"mimi-sii-v1\x01+12025550101");
        let e = ConnectionId::parse("mailto:Bob@B.Example").unwrap();
        assert_eq!(sii_input(&e).unwrap(), b"mimi-sii-v1\x02Bob@b.example");
        let h = ConnectionId::parse("@bob@b.example").unwrap();
        assert_eq!(sii_input(&h), Err(Error::NotAnSii));
    }
}
