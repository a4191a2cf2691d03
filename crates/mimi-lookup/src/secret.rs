//! The key schedule: from an OPRF output to the [`Index`] the DP stores and the key that seals
//! records (docs/discovery-lookup.md §"Key schedule", docs/decisions/0112).
//!
//! ```text
//! prk      = HKDF-Extract(salt = "mimi-lookup-v1", IKM = OPRF output (64 bytes))
//! index    = HKDF-Expand(prk, "mimi-lookup-v1 index",    32)
//! seal_key = HKDF-Expand(prk, "mimi-lookup-v1 seal key", 32)
//! ```
//! HKDF is HKDF-SHA256 (RFC 5869).

use std::fmt;

use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::seal::{self, SealedRecord};
use crate::wire::LookupResponse;

/// HKDF-Extract salt.
pub const HKDF_SALT: &[u8] = b"mimi-lookup-v1";

/// HKDF-Expand info of the index.
pub const INFO_INDEX: &[u8] = b"mimi-lookup-v1 index";

/// HKDF-Expand info of the sealing key.
pub const INFO_SEAL_KEY: &[u8] = b"mimi-lookup-v1 seal key";

/// Length of an index, in bytes.
pub const INDEX_LEN: usize = 32;

/// Length of the sealing key, in bytes.
pub const SEAL_KEY_LEN: usize = 32;

/// What the DP stores records under and is asked for: 32 pseudorandom bytes that only the
/// holder of the DP's OPRF key, or someone who knows the SII (and asks the DP), can link to the
/// SII.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Index([u8; INDEX_LEN]);

impl Index {
    /// The index with these bytes.
    pub fn from_bytes(bytes: [u8; INDEX_LEN]) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; INDEX_LEN] {
        &self.0
    }
}

impl fmt::Debug for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Index({})", hex::encode(self.0))
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// What a client or publisher learns from one blind evaluation for one SII: the index and the
/// sealing key. Zeroized on drop; its `Debug` shows the index only.
#[derive(Clone)]
pub struct LookupSecret {
    index: Index,
    seal_key: Zeroizing<[u8; SEAL_KEY_LEN]>,
}

impl LookupSecret {
    /// Run the key schedule on an OPRF output.
    pub(crate) fn from_oprf_output(output: &[u8]) -> Result<Self, Error> {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), output);
        let mut index = [0u8; INDEX_LEN];
        let mut seal_key = Zeroizing::new([0u8; SEAL_KEY_LEN]);
        hk.expand(INFO_INDEX, &mut index)
            .map_err(|_| Error::Crypto("HKDF output length"))?;
        hk.expand(INFO_SEAL_KEY, seal_key.as_mut())
            .map_err(|_| Error::Crypto("HKDF output length"))?;
        Ok(Self {
            index: Index(index),
            seal_key,
        })
    }

    /// The index to store under and to look up.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Seal `record` (1 to [`crate::limits::MAX_RECORD_LEN`] bytes, opaque: a signed assertion
    /// or revocation) for this index, with a fresh random nonce.
    ///
    /// # Errors
    /// [`Error::Empty`] or [`Error::TooLarge`] for a record out of bounds.
    pub fn seal<R: RngCore + CryptoRng>(
        &self,
        record: &[u8],
        rng: &mut R,
    ) -> Result<SealedRecord, Error> {
        seal::seal(&self.seal_key, &self.index, record, rng)
    }

    /// Open a record sealed for this index.
    ///
    /// # Errors
    /// [`Error::OpenFailed`] if it was sealed for another index or SII, or altered.
    pub fn open(&self, sealed: &SealedRecord) -> Result<Vec<u8>, Error> {
        seal::open(&self.seal_key, &self.index, sealed)
    }

    /// Open every record of a lookup answer; those that do not open (a DP's substitution or
    /// garbage, or another SII's records under a colliding index) are counted, not returned.
    pub fn open_all(&self, response: &LookupResponse) -> (Vec<Vec<u8>>, usize) {
        let mut opened = Vec::new();
        let mut failed = 0;
        for r in response.records() {
            match self.open(r) {
                Ok(b) => opened.push(b),
                Err(_) => failed += 1,
            }
        }
        (opened, failed)
    }
}

impl fmt::Debug for LookupSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupSecret")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_separate_index_and_key() {
        let s = LookupSecret::from_oprf_output(&[7u8; 64]).unwrap();
        assert_ne!(s.index.as_bytes(), &*s.seal_key);
        let t = LookupSecret::from_oprf_output(&[8u8; 64]).unwrap();
        assert_ne!(s.index, t.index);
        assert!(!format!("{s:?}").contains("seal_key"));
    }
}
