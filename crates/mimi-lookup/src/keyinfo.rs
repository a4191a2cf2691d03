//! The body of `GET /discovery/v1/key`: `KeyInfo = [1, key_id: bstr .size 8,
//! public_key: bstr .size 32]` in deterministic CBOR (a fixed 45 bytes).

use crate::error::Error;
use crate::oprf::{DpPublicKey, KeyId};

/// Length of an encoded key info.
pub const KEY_INFO_LEN: usize = 3 + 8 + 2 + 32;

const HEADER: [u8; 3] = [0x83, 0x01, 0x48];
const KEY_HEADER: [u8; 2] = [0x58, 0x20];

/// Encode the DP's current public key and its id.
pub fn encode_key_info(key: &DpPublicKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(KEY_INFO_LEN);
    out.extend_from_slice(&HEADER);
    out.extend_from_slice(key.id().as_bytes());
    out.extend_from_slice(&KEY_HEADER);
    out.extend_from_slice(&key.to_bytes());
    out
}

/// Decode a key info strictly, checking that the key id is the key's.
///
/// # Errors
/// [`Error::Malformed`] for any other shape, [`Error::InvalidElement`] for a bad key,
/// [`Error::KeyMismatch`] if the id is not the key's.
pub fn decode_key_info(bytes: &[u8]) -> Result<(KeyId, DpPublicKey), Error> {
    let malformed = Error::Malformed {
        what: "key info",
        reason: "expected [1, bstr .size 8, bstr .size 32]",
    };
    if bytes.len() != KEY_INFO_LEN || bytes[..3] != HEADER || bytes[11..13] != KEY_HEADER {
        return Err(malformed);
    }
    let key = DpPublicKey::from_bytes(&bytes[13..])?;
    if key.id().as_bytes()[..] != bytes[3..11] {
        return Err(Error::KeyMismatch);
    }
    Ok((key.id(), key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oprf::DpKey;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn round_trip_and_strictness() {
        let key = DpKey::generate(&mut ChaCha20Rng::seed_from_u64(7)).expect("key");
        let bytes = encode_key_info(key.public());
        assert_eq!(bytes.len(), KEY_INFO_LEN);
        let (id, public) = decode_key_info(&bytes).expect("decodes");
        assert_eq!(id, key.public().id());
        assert_eq!(public.to_bytes(), key.public().to_bytes());
        let mut bad = bytes.clone();
        bad[3] ^= 1;
        assert!(matches!(decode_key_info(&bad), Err(Error::KeyMismatch)));
        assert!(decode_key_info(&bytes[..44]).is_err());
        let mut bad = bytes;
        bad[1] = 2;
        assert!(decode_key_info(&bad).is_err());
    }
}
