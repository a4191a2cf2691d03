//! One-time codes and challenge ids: drawn uniformly from the caller's RNG, stored as a digest,
//! compared in constant time (docs/decisions/0121).

use std::fmt;

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Malformed};
use crate::trust::to_hex;

/// Bytes in a challenge id.
pub const CHALLENGE_ID_LEN: usize = 16;

/// Longest code text that is hashed for comparison; anything longer is simply wrong.
const MAX_PRESENTED_CODE_LEN: usize = 64;

/// The handle of one proof-of-control challenge: 128 random bits, so that nobody but the party
/// that started a challenge can submit codes for it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChallengeId([u8; CHALLENGE_ID_LEN]);

impl ChallengeId {
    /// The id with these bytes (e.g. received back from a client).
    pub fn from_bytes(bytes: [u8; CHALLENGE_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// Parse the lowercase or uppercase hex form ([`fmt::Display`]).
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let bad = Error::Invalid(Malformed::Identifier("challenge id (32 hex digits)"));
        if text.len() != 2 * CHALLENGE_ID_LEN || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad);
        }
        let mut out = [0u8; CHALLENGE_ID_LEN];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = text.get(2 * i..2 * i + 2).ok_or(bad.clone())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad.clone())?;
        }
        Ok(Self(out))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; CHALLENGE_ID_LEN] {
        &self.0
    }

    pub(crate) fn random(rng: &mut impl CryptoRngCore) -> Self {
        let mut b = [0u8; CHALLENGE_ID_LEN];
        rng.fill_bytes(&mut b);
        Self(b)
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChallengeId({self})")
    }
}

/// `10^digits`, for 1..=9 digits (fits a `u32`).
fn modulus(digits: u8) -> u32 {
    10u32.pow(u32::from(digits))
}

/// A code of exactly `digits` decimal digits (leading zeros kept), uniform over all
/// `10^digits` values: 32-bit draws at or above the largest multiple of `10^digits` are
/// rejected and drawn again, so there is no modulo bias. `digits` is 6 to 8.
pub(crate) fn generate(digits: u8, rng: &mut impl CryptoRngCore) -> String {
    let m = modulus(digits);
    // The largest multiple of m that fits in 2^32: draws below it are uniform modulo m.
    let zone = u64::from(u32::MAX) + 1 - (u64::from(u32::MAX) + 1) % u64::from(m);
    loop {
        let x = rng.next_u32();
        if u64::from(x) < zone {
            return format!("{:0width$}", x % m, width = usize::from(digits));
        }
    }
}

/// The stored form of a code: SHA-256 over a label, the challenge id and the code. A state
/// dump or log line with it does not show the code directly (a short code can still be found
/// by trying them all: exported state is confidential, docs/decisions/0127).
pub(crate) fn digest(id: &ChallengeId, code: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"mimi-authority-code-v1")
        .chain_update(id.as_bytes())
        .chain_update(code.as_bytes())
        .finalize()
        .into()
}

/// Whether `presented` is the code whose digest is `stored`, in time independent of where
/// they differ (`subtle`).
pub(crate) fn matches(id: &ChallengeId, presented: &str, stored: &[u8; 32]) -> bool {
    if presented.len() > MAX_PRESENTED_CODE_LEN {
        return false;
    }
    bool::from(digest(id, presented).ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{CryptoRng, RngCore};

    /// Returns the scripted values, then zeros.
    struct Scripted(Vec<u32>);

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            if self.0.is_empty() {
                0
            } else {
                self.0.remove(0)
            }
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.next_u32() as u8;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl CryptoRng for Scripted {}

    #[test]
    fn codes_have_exactly_the_digits_asked_for() {
        for digits in 6..=8 {
            let code = generate(digits, &mut Scripted(vec![42]));
            assert_eq!(code.len(), usize::from(digits));
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
            assert!(code.ends_with("42") && code.starts_with('0'));
        }
    }

    #[test]
    fn draws_in_the_biased_zone_are_rejected() {
        // 2^32 = 4294 * 10^6 + 967296: the last 967296 draws would favour low codes.
        let zone = 4_294_000_000u32;
        let code = generate(6, &mut Scripted(vec![u32::MAX, zone, zone - 1, 7]));
        assert_eq!(code, "999999", "zone - 1 is the first accepted draw");
        let code = generate(6, &mut Scripted(vec![zone + 5, 123_456]));
        assert_eq!(code, "123456");
        // 8 digits: 2^32 = 42 * 10^8 + 94967296.
        let code = generate(8, &mut Scripted(vec![4_200_000_000, 99_999_999]));
        assert_eq!(code, "99999999");
    }

    #[test]
    fn comparison_uses_the_digest() {
        let id = ChallengeId::from_bytes([9; 16]);
        let stored = digest(&id, "012345");
        assert!(matches(&id, "012345", &stored));
        assert!(!matches(&id, "012346", &stored));
        assert!(!matches(&id, "12345", &stored));
        assert!(!matches(
            &ChallengeId::from_bytes([8; 16]),
            "012345",
            &stored
        ));
        assert!(!matches(&id, &"0".repeat(100), &stored));
    }

    #[test]
    fn challenge_ids_round_trip_through_hex() {
        let id = ChallengeId::from_bytes([0xab; 16]);
        assert_eq!(ChallengeId::from_hex(&id.to_string()).unwrap(), id);
        assert_eq!(
            ChallengeId::from_hex(&id.to_string().to_uppercase()).unwrap(),
            id
        );
        assert!(ChallengeId::from_hex("abcd").is_err());
        assert!(ChallengeId::from_hex(&"zz".repeat(16)).is_err());
        assert!(ChallengeId::from_hex(&"é".repeat(16)).is_err());
        assert!(ChallengeId::from_hex(&"+a".repeat(16)).is_err());
    }
}
