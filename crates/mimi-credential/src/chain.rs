//! The content of an MLS X.509 credential: `Certificate certificates<V>` (RFC 9420 §5.3).
//!
//! OpenMLS keeps a credential as `(credential_type, serialized_credential_content)`, where the
//! content is what follows the outer length prefix. For `x509` that is the concatenation of one
//! `opaque cert_data<V>` per certificate, leaf first:
//!
//! ```text
//! Credential = credential_type(2) || varint(len(content)) || content
//! content    = varint(len(cert_0)) || cert_0 || varint(len(cert_1)) || cert_1 ...
//! ```
//!
//! The decoder is written here rather than taken from `tls_codec` so that it is total (no
//! panics or debug assertions on truncated input), zero-copy, and bounded before it allocates.

use openmls::prelude::{Credential, CredentialType};

use crate::error::CredentialError;

/// Most certificates accepted in a credential's chain: the leaf and, optionally, the trust
/// anchor (docs/decisions/0045).
pub const MAX_CHAIN_CERTS: usize = 2;

/// Largest certificate accepted in a chain, in bytes of DER (docs/decisions/0048). Ours are
/// about 400 bytes; 4 KiB leaves room for other providers' extensions and RSA-4096 anchors.
pub const MAX_CERT_LEN: usize = 4096;

/// Largest value an MLS variable-length integer can carry (30 bits, RFC 9420 §2.1.2).
const MAX_VARINT: usize = (1 << 30) - 1;

/// Read one MLS variable-length integer (RFC 9420 §2.1.2): prefix `00` one byte, `01` two,
/// `10` four, `11` invalid; the smallest encoding MUST be used.
fn read_varint(input: &[u8]) -> Result<(usize, &[u8]), CredentialError> {
    let first = *input
        .first()
        .ok_or(CredentialError::MalformedChain("truncated length"))?;
    let len = match first >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => {
            return Err(CredentialError::MalformedChain(
                "invalid length prefix 0b11",
            ));
        }
    };
    let bytes = input
        .get(..len)
        .ok_or(CredentialError::MalformedChain("truncated length"))?;
    let mut value = usize::from(first & 0x3f);
    for b in &bytes[1..] {
        value = (value << 8) | usize::from(*b);
    }
    // Minimal encoding (RFC 9420 §2.1.2): a 2-byte form must carry >= 64, a 4-byte >= 16384.
    if len > 1 && value < (1 << (8 * (len / 2) - 2)) {
        return Err(CredentialError::MalformedChain(
            "length not minimally encoded",
        ));
    }
    Ok((value, &input[len..]))
}

/// Append an MLS variable-length integer.
fn write_varint(out: &mut Vec<u8>, value: usize) -> Result<(), CredentialError> {
    if value < 1 << 6 {
        out.push(value as u8);
    } else if value < 1 << 14 {
        out.extend_from_slice(&((value as u16) | 0x4000).to_be_bytes());
    } else if value <= MAX_VARINT {
        out.extend_from_slice(&((value as u32) | 0x8000_0000).to_be_bytes());
    } else {
        return Err(CredentialError::MalformedChain(
            "certificate too long for a variable-length vector",
        ));
    }
    Ok(())
}

/// Encode certificates (DER, leaf first) as the content of an MLS `x509` credential.
///
/// Fails only for a certificate of 2^30 bytes or more. Limits are not applied here: the
/// verifier applies them.
pub fn encode_certificate_chain<C: AsRef<[u8]>>(certs: &[C]) -> Result<Vec<u8>, CredentialError> {
    let mut out = Vec::with_capacity(certs.iter().map(|c| c.as_ref().len() + 4).sum());
    for cert in certs {
        let cert = cert.as_ref();
        write_varint(&mut out, cert.len())?;
        out.extend_from_slice(cert);
    }
    Ok(out)
}

/// Build an MLS credential of type `x509` from certificates (DER, leaf first).
pub fn x509_credential<C: AsRef<[u8]>>(certs: &[C]) -> Result<Credential, CredentialError> {
    Ok(Credential::new(
        CredentialType::X509,
        encode_certificate_chain(certs)?,
    ))
}

/// Decode the content of an MLS `x509` credential into its certificates (DER slices, leaf
/// first), applying the limits [`MAX_CHAIN_CERTS`] and [`MAX_CERT_LEN`].
///
/// Bounded: reads at most `MAX_CHAIN_CERTS + 1` lengths, allocates one small vector.
pub fn decode_certificate_chain(content: &[u8]) -> Result<Vec<&[u8]>, CredentialError> {
    let mut certs = Vec::with_capacity(MAX_CHAIN_CERTS);
    let mut rest = content;
    while !rest.is_empty() {
        if certs.len() == MAX_CHAIN_CERTS {
            return Err(CredentialError::ChainTooLong {
                max: MAX_CHAIN_CERTS,
            });
        }
        let (len, after) = read_varint(rest)?;
        if len == 0 {
            return Err(CredentialError::MalformedChain("empty cert_data"));
        }
        if len > MAX_CERT_LEN {
            return Err(CredentialError::CertificateTooLarge {
                index: certs.len(),
                len,
                max: MAX_CERT_LEN,
            });
        }
        let cert = after
            .get(..len)
            .ok_or(CredentialError::MalformedChain("truncated cert_data"))?;
        certs.push(cert);
        rest = &after[len..];
    }
    if certs.is_empty() {
        return Err(CredentialError::EmptyChain);
    }
    Ok(certs)
}

/// The certificates of an MLS credential, which must be of type `x509`.
pub(crate) fn credential_chain(credential: &Credential) -> Result<Vec<&[u8]>, CredentialError> {
    match credential.credential_type() {
        CredentialType::X509 => decode_certificate_chain(credential.serialized_content()),
        other => Err(CredentialError::WrongCredentialType(u16::from(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_minimality() {
        for v in [0usize, 1, 63, 64, 16383, 16384, MAX_VARINT] {
            let mut out = Vec::new();
            write_varint(&mut out, v).unwrap();
            let (back, rest) = read_varint(&out).unwrap();
            assert_eq!(back, v);
            assert!(rest.is_empty());
        }
        assert!(write_varint(&mut Vec::new(), MAX_VARINT + 1).is_err());
        // RFC 9420 §2.1.2 examples: 0x25 = 37, 0x7bbd = 15293, 0x9d7f3e7d = 494878333.
        assert_eq!(read_varint(&[0x25]).unwrap().0, 37);
        assert_eq!(read_varint(&[0x7b, 0xbd]).unwrap().0, 15293);
        assert_eq!(read_varint(&[0x9d, 0x7f, 0x3e, 0x7d]).unwrap().0, 494878333);
        // Non-minimal: 37 in two bytes; prefix 11; truncated.
        assert_eq!(
            read_varint(&[0x40, 0x25]),
            Err(CredentialError::MalformedChain(
                "length not minimally encoded"
            ))
        );
        assert!(read_varint(&[0xc0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(read_varint(&[0x80, 0x01]).is_err());
        assert!(read_varint(&[]).is_err());
    }

    #[test]
    fn chain_round_trip_and_limits() {
        let a = vec![0x30u8; 100];
        let b = vec![0x31u8; MAX_CERT_LEN];
        let content = encode_certificate_chain(&[&a, &b]).unwrap();
        assert_eq!(content[..2], [0x40, 100]);
        let certs = decode_certificate_chain(&content).unwrap();
        assert_eq!(certs, vec![&a[..], &b[..]]);

        assert_eq!(
            decode_certificate_chain(&[]),
            Err(CredentialError::EmptyChain)
        );
        let three = encode_certificate_chain(&[&a, &a, &a]).unwrap();
        assert_eq!(
            decode_certificate_chain(&three),
            Err(CredentialError::ChainTooLong {
                max: MAX_CHAIN_CERTS
            })
        );
        let big = encode_certificate_chain(&[vec![0u8; MAX_CERT_LEN + 1]]).unwrap();
        assert_eq!(
            decode_certificate_chain(&big),
            Err(CredentialError::CertificateTooLarge {
                index: 0,
                len: MAX_CERT_LEN + 1,
                max: MAX_CERT_LEN
            })
        );
        assert_eq!(
            decode_certificate_chain(&[0]),
            Err(CredentialError::MalformedChain("empty cert_data"))
        );
        assert_eq!(
            decode_certificate_chain(&content[..content.len() - 1]),
            Err(CredentialError::MalformedChain("truncated cert_data"))
        );
    }
}
