//! Sealed records (docs/discovery-lookup.md §"Sealed records", docs/decisions/0112).
//!
//! ```text
//! nonce      = 12 random bytes
//! aad        = VERSION (0x01) || index (32 bytes)
//! ciphertext = ChaCha20-Poly1305(seal_key, nonce, aad, record)      (RFC 8439; tag appended)
//! SealedRecord = [1, nonce: bstr .size 12, ciphertext: bstr .size (17..8208)]
//! ```
//! The AAD binds a record to its index: a DP that moves a record to another index makes it fail
//! to open, even for a key that would otherwise open it.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::cbor::{Reader, Writer};
use crate::error::Error;
use crate::limits::{
    MAX_CIPHERTEXT_LEN, MAX_RECORD_LEN, MIN_CIPHERTEXT_LEN, NONCE_LEN, TAG_LEN, VERSION,
};
use crate::secret::{INDEX_LEN, Index, SEAL_KEY_LEN};

const WHAT: &str = "sealed record";

/// A record sealed for one index: what the DP stores and returns, opaque to it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SealedRecord {
    nonce: [u8; NONCE_LEN],
    ciphertext: Box<[u8]>,
}

/// SHA-256 of a sealed record's encoding: how a publisher names a record to remove.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId([u8; 32]);

impl RecordId {
    /// The id with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", hex::encode(self.0))
    }
}

impl SealedRecord {
    /// A sealed record from its parts (as received).
    ///
    /// # Errors
    /// [`Error::TooLarge`] or [`Error::Malformed`] for a ciphertext out of bounds.
    pub fn new(nonce: [u8; NONCE_LEN], ciphertext: Vec<u8>) -> Result<Self, Error> {
        check_ciphertext_len(ciphertext.len())?;
        Ok(Self {
            nonce,
            ciphertext: ciphertext.into_boxed_slice(),
        })
    }

    /// The nonce.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// The ciphertext, tag included.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// Its id: SHA-256 of [`SealedRecord::encode`].
    pub fn id(&self) -> RecordId {
        RecordId(Sha256::digest(self.encode()).into())
    }

    /// The encoding: `[1, nonce, ciphertext]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.into_bytes()
    }

    /// Decode exactly one sealed record.
    ///
    /// # Errors
    /// Any decoding error; trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::message(bytes, WHAT)?;
        let s = Self::read(&mut r)?;
        r.finish()?;
        Ok(s)
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.versioned(3).bytes(&self.nonce).bytes(&self.ciphertext);
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.versioned(3)?;
        let nonce = r.bytes_exact::<NONCE_LEN>("sealed record nonce")?;
        let ct = r.bytes_within(
            MIN_CIPHERTEXT_LEN,
            MAX_CIPHERTEXT_LEN,
            "sealed record ciphertext",
        )?;
        Ok(Self {
            nonce,
            ciphertext: ct.into(),
        })
    }

    /// Approximate heap and inline bytes this record occupies in memory.
    pub fn memory_size(&self) -> usize {
        std::mem::size_of::<Self>() + self.ciphertext.len()
    }
}

impl fmt::Debug for SealedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedRecord")
            .field("nonce", &hex::encode(self.nonce))
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

fn check_ciphertext_len(len: usize) -> Result<(), Error> {
    if len > MAX_CIPHERTEXT_LEN {
        return Err(Error::TooLarge {
            what: "sealed record ciphertext",
            max: MAX_CIPHERTEXT_LEN,
        });
    }
    if len < MIN_CIPHERTEXT_LEN {
        return Err(Error::Malformed {
            what: "sealed record ciphertext",
            reason: "too short",
        });
    }
    Ok(())
}

fn aad(index: &Index) -> [u8; 1 + INDEX_LEN] {
    let mut a = [0u8; 1 + INDEX_LEN];
    a[0] = VERSION;
    a[1..].copy_from_slice(index.as_bytes());
    a
}

pub(crate) fn seal<R: RngCore + CryptoRng>(
    key: &[u8; SEAL_KEY_LEN],
    index: &Index,
    record: &[u8],
    rng: &mut R,
) -> Result<SealedRecord, Error> {
    if record.is_empty() {
        return Err(Error::Empty { what: "record" });
    }
    if record.len() > MAX_RECORD_LEN {
        return Err(Error::TooLarge {
            what: "record",
            max: MAX_RECORD_LEN,
        });
    }
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let aad = aad(index);
    let ct = ChaCha20Poly1305::new(Key::from_slice(key))
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: record,
                aad: &aad,
            },
        )
        .map_err(|_| Error::Crypto("ChaCha20-Poly1305 seal"))?;
    debug_assert_eq!(ct.len(), record.len() + TAG_LEN);
    SealedRecord::new(nonce, ct)
}

pub(crate) fn open(
    key: &[u8; SEAL_KEY_LEN],
    index: &Index,
    sealed: &SealedRecord,
) -> Result<Vec<u8>, Error> {
    let aad = aad(index);
    ChaCha20Poly1305::new(Key::from_slice(key))
        .decrypt(
            Nonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| Error::OpenFailed)
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn aad_binds_the_index_under_the_same_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = [9u8; 32];
        let a = Index::from_bytes([1; 32]);
        let b = Index::from_bytes([2; 32]);
        let s = seal(&key, &a, b"assertion", &mut rng).unwrap();
        assert_eq!(open(&key, &a, &s).unwrap(), b"assertion");
        assert_eq!(open(&key, &b, &s), Err(Error::OpenFailed));
        assert_eq!(open(&[8u8; 32], &a, &s), Err(Error::OpenFailed));
    }

    #[test]
    fn nonces_are_fresh_and_bounds_hold() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let key = [9u8; 32];
        let i = Index::from_bytes([1; 32]);
        let s1 = seal(&key, &i, b"x", &mut rng).unwrap();
        let s2 = seal(&key, &i, b"x", &mut rng).unwrap();
        assert_ne!(s1.nonce, s2.nonce);
        assert_eq!(
            seal(&key, &i, b"", &mut rng),
            Err(Error::Empty { what: "record" })
        );
        assert!(seal(&key, &i, &vec![0; MAX_RECORD_LEN], &mut rng).is_ok());
        assert!(matches!(
            seal(&key, &i, &vec![0; MAX_RECORD_LEN + 1], &mut rng),
            Err(Error::TooLarge { .. })
        ));
    }
}
