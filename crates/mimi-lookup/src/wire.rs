//! Lookup and upload messages (docs/discovery-lookup.md §"Wire encoding",
//! docs/decisions/0113). [`crate::BlindedQuery`], [`crate::Evaluation`] and
//! [`crate::SealedRecord`] are encoded in their own modules.
//!
//! ```text
//! LookupRequest  = [1, index: bstr .size 32]
//! LookupResponse = [1, [* SealedRecord]]                                       (≤ 32)
//! UploadRequest  = [1, [* UploadEntry], [* Removal]]          (≤ 64 each, ≥ 1 in all)
//! UploadEntry    = [index: bstr .size 32, expires_at: uint, SealedRecord]
//! Removal        = [index: bstr .size 32, record_id: bstr .size 32]
//! UploadResponse = [1, [* status: uint], [* removed: uint]]   (one per entry, per removal)
//!   status  = 0 stored | 1 duplicate | 2 replaced | 3 index full | 4 store full
//!           | 5 expired | 6 expiry too far
//!   removed = 0 removed | 1 not found
//! ```

use crate::cbor::{Reader, Writer};
use crate::error::Error;
use crate::limits::{MAX_RECORDS_PER_INDEX, MAX_REMOVALS, MAX_UPLOAD_ENTRIES};
use crate::seal::{RecordId, SealedRecord};
use crate::secret::{INDEX_LEN, Index};

/// Ask for the records under one index. Each lookup is a separate request, so a DP cannot
/// link the indices one client looks up (when requests arrive through a relay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupRequest {
    /// The index.
    pub index: Index,
}

impl LookupRequest {
    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.versioned(2).bytes(self.index.as_bytes());
        w.into_bytes()
    }

    /// Decode a lookup request.
    ///
    /// # Errors
    /// Any decoding error; trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::message(bytes, "lookup request")?;
        r.versioned(2)?;
        let index = Index::from_bytes(r.bytes_exact::<INDEX_LEN>("index")?);
        r.finish()?;
        Ok(Self { index })
    }
}

/// Every current record under the index asked for: zero, one or many (discovery-requirements
/// R5), at most [`MAX_RECORDS_PER_INDEX`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupResponse {
    records: Vec<SealedRecord>,
}

impl LookupResponse {
    /// An answer with these records.
    ///
    /// # Errors
    /// [`Error::TooMany`] beyond [`MAX_RECORDS_PER_INDEX`].
    pub fn new(records: Vec<SealedRecord>) -> Result<Self, Error> {
        if records.len() > MAX_RECORDS_PER_INDEX {
            return Err(Error::TooMany {
                what: "records in a lookup answer",
                max: MAX_RECORDS_PER_INDEX,
            });
        }
        Ok(Self { records })
    }

    /// The records.
    pub fn records(&self) -> &[SealedRecord] {
        &self.records
    }

    /// The records, owned.
    pub fn into_records(self) -> Vec<SealedRecord> {
        self.records
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.versioned(2).array(self.records.len());
        for r in &self.records {
            r.write(&mut w);
        }
        w.into_bytes()
    }

    /// Decode a lookup answer.
    ///
    /// # Errors
    /// Any decoding error; trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::message(bytes, "lookup response")?;
        r.versioned(2)?;
        let n = r.array_within(0, MAX_RECORDS_PER_INDEX, "records in a lookup answer")?;
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            records.push(SealedRecord::read(&mut r)?);
        }
        r.finish()?;
        Ok(Self { records })
    }
}

/// One record to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEntry {
    /// The index to store it under.
    pub index: Index,
    /// When the DP may forget it, in seconds since the Unix epoch: the expiry of the assertion
    /// inside (or, for a revocation, of what it revokes). Only for garbage collection; clients
    /// rely on the signed times inside.
    pub expires_at: u64,
    /// The record.
    pub record: SealedRecord,
}

/// One record to remove: only the publisher that stored it can (docs/discovery-lookup.md
/// §"Removal").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// The index it is under.
    pub index: Index,
    /// Its id.
    pub record_id: RecordId,
}

/// A publisher's request to store and remove records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRequest {
    entries: Vec<UploadEntry>,
    removals: Vec<Removal>,
}

impl UploadRequest {
    /// A request with these entries and removals: at least one in all, at most
    /// [`MAX_UPLOAD_ENTRIES`] entries and [`MAX_REMOVALS`] removals.
    ///
    /// # Errors
    /// [`Error::Empty`] or [`Error::TooMany`].
    pub fn new(entries: Vec<UploadEntry>, removals: Vec<Removal>) -> Result<Self, Error> {
        if entries.len() > MAX_UPLOAD_ENTRIES {
            return Err(Error::TooMany {
                what: "upload entries",
                max: MAX_UPLOAD_ENTRIES,
            });
        }
        if removals.len() > MAX_REMOVALS {
            return Err(Error::TooMany {
                what: "removals",
                max: MAX_REMOVALS,
            });
        }
        if entries.is_empty() && removals.is_empty() {
            return Err(Error::Empty {
                what: "upload request",
            });
        }
        Ok(Self { entries, removals })
    }

    /// The entries to store.
    pub fn entries(&self) -> &[UploadEntry] {
        &self.entries
    }

    /// The records to remove.
    pub fn removals(&self) -> &[Removal] {
        &self.removals
    }

    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.versioned(3).array(self.entries.len());
        for e in &self.entries {
            w.array(3).bytes(e.index.as_bytes()).uint(e.expires_at);
            e.record.write(&mut w);
        }
        w.array(self.removals.len());
        for r in &self.removals {
            w.array(2)
                .bytes(r.index.as_bytes())
                .bytes(r.record_id.as_bytes());
        }
        w.into_bytes()
    }

    /// Decode an upload request.
    ///
    /// # Errors
    /// Any decoding error; trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::message(bytes, "upload request")?;
        r.versioned(3)?;
        let n = r.array_within(0, MAX_UPLOAD_ENTRIES, "upload entries")?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            r.array(3)?;
            let index = Index::from_bytes(r.bytes_exact::<INDEX_LEN>("index")?);
            let expires_at = r.uint()?;
            let record = SealedRecord::read(&mut r)?;
            entries.push(UploadEntry {
                index,
                expires_at,
                record,
            });
        }
        let n = r.array_within(0, MAX_REMOVALS, "removals")?;
        let mut removals = Vec::with_capacity(n);
        for _ in 0..n {
            r.array(2)?;
            let index = Index::from_bytes(r.bytes_exact::<INDEX_LEN>("index")?);
            let record_id = RecordId::from_bytes(r.bytes_exact::<32>("record id")?);
            removals.push(Removal { index, record_id });
        }
        r.finish()?;
        Self::new(entries, removals)
    }
}

/// What happened to one upload entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UploadStatus {
    /// Stored.
    Stored,
    /// An identical record was already stored under the index.
    Duplicate,
    /// Stored, replacing this publisher's oldest record under the index.
    Replaced,
    /// Refused: the index holds the most records allowed.
    IndexFull,
    /// Refused: the store holds the most records allowed.
    StoreFull,
    /// Refused: `expires_at` is not in the future.
    Expired,
    /// Refused: `expires_at` is too far in the future.
    ExpiryTooFar,
}

impl UploadStatus {
    fn code(self) -> u64 {
        match self {
            Self::Stored => 0,
            Self::Duplicate => 1,
            Self::Replaced => 2,
            Self::IndexFull => 3,
            Self::StoreFull => 4,
            Self::Expired => 5,
            Self::ExpiryTooFar => 6,
        }
    }

    fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => Self::Stored,
            1 => Self::Duplicate,
            2 => Self::Replaced,
            3 => Self::IndexFull,
            4 => Self::StoreFull,
            5 => Self::Expired,
            6 => Self::ExpiryTooFar,
            _ => return None,
        })
    }

    /// Whether the record is stored now.
    pub fn is_stored(self) -> bool {
        matches!(self, Self::Stored | Self::Duplicate | Self::Replaced)
    }
}

/// The DP's answer to an upload: a status per entry and whether each removal removed
/// something, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadResponse {
    /// One per entry.
    pub statuses: Vec<UploadStatus>,
    /// One per removal: `true` if removed, `false` if no such record of this publisher.
    pub removed: Vec<bool>,
}

impl UploadResponse {
    /// The encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.versioned(3).array(self.statuses.len());
        for s in &self.statuses {
            w.uint(s.code());
        }
        w.array(self.removed.len());
        for &r in &self.removed {
            w.uint(if r { 0 } else { 1 });
        }
        w.into_bytes()
    }

    /// Decode an upload answer.
    ///
    /// # Errors
    /// Any decoding error; trailing bytes are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let what = "upload response";
        let mut r = Reader::message(bytes, what)?;
        r.versioned(3)?;
        let n = r.array_within(0, MAX_UPLOAD_ENTRIES, "upload statuses")?;
        let mut statuses = Vec::with_capacity(n);
        for _ in 0..n {
            statuses.push(UploadStatus::from_code(r.uint()?).ok_or(Error::Malformed {
                what,
                reason: "unknown upload status",
            })?);
        }
        let n = r.array_within(0, MAX_REMOVALS, "removal results")?;
        let mut removed = Vec::with_capacity(n);
        for _ in 0..n {
            removed.push(match r.uint()? {
                0 => true,
                1 => false,
                _ => {
                    return Err(Error::Malformed {
                        what,
                        reason: "unknown removal result",
                    });
                }
            });
        }
        r.finish()?;
        Ok(Self { statuses, removed })
    }
}
