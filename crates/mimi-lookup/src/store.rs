//! The DP's index store (docs/discovery-lookup.md §"Distribution point behaviour",
//! docs/decisions/0114): sealed records under indices, nothing else about the SII.
//!
//! Rules every [`IndexStore`] follows (the [`MemoryStore`] reference implementation is the
//! definition):
//!
//! * an upload's `expires_at` must be in the future and at most [`MAX_RECORD_TTL_SECS`] away;
//!   expired records are never returned and may be forgotten at any time;
//! * a record identical (byte for byte) to one already under the index is a duplicate: not
//!   stored twice (if the same publisher sent it, its expiry is updated);
//! * a publisher holds at most [`MAX_RECORDS_PER_PUBLISHER`] records per index: a further one
//!   replaces its oldest there, so an authority renewing an assertion never fills the index
//!   and nobody can push another publisher's records out;
//! * an index holds at most [`MAX_RECORDS_PER_INDEX`] records; beyond that uploads are refused;
//! * only the publisher that stored a record can remove it;
//! * records come back in the order they were stored.

use std::collections::HashMap;
use std::fmt;

use crate::cbor::{Reader, Writer};
use crate::error::Error;
use crate::limits::{
    MAX_PUBLISHER_ID_LEN, MAX_RECORD_TTL_SECS, MAX_RECORDS_PER_INDEX, MAX_RECORDS_PER_PUBLISHER,
};
use crate::seal::{RecordId, SealedRecord};
use crate::secret::{INDEX_LEN, Index};

/// Who uploaded a record, as the DP's transport authenticated it (for example the mapping
/// authority's domain from its TLS client certificate). 1 to [`MAX_PUBLISHER_ID_LEN`] bytes,
/// opaque.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublisherId(Box<[u8]>);

impl PublisherId {
    /// A publisher id.
    ///
    /// # Errors
    /// [`Error::Empty`] or [`Error::TooLarge`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(Error::Empty {
                what: "publisher id",
            });
        }
        if bytes.len() > MAX_PUBLISHER_ID_LEN {
            return Err(Error::TooLarge {
                what: "publisher id",
                max: MAX_PUBLISHER_ID_LEN,
            });
        }
        Ok(Self(bytes.into_boxed_slice()))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PublisherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) => write!(f, "PublisherId({s:?})"),
            Err(_) => write!(f, "PublisherId({})", hex::encode(&self.0)),
        }
    }
}

/// How a [`IndexStore::put`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutOutcome {
    /// Stored.
    Stored,
    /// Already there.
    Duplicate,
    /// Stored, replacing the publisher's oldest record under the index.
    Replaced,
}

/// How a [`IndexStore::remove`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemoveOutcome {
    /// Removed.
    Removed,
    /// No record with that id under that index stored by that publisher.
    NotFound,
}

/// Storage of sealed records by index. Times are seconds since the Unix epoch.
pub trait IndexStore {
    /// Store `record` under `index` for `publisher`, until `expires_at`.
    ///
    /// # Errors
    /// [`Error::Expired`], [`Error::ExpiryTooFar`], [`Error::IndexFull`],
    /// [`Error::StoreFull`].
    fn put(
        &mut self,
        publisher: &PublisherId,
        index: Index,
        record: SealedRecord,
        expires_at: u64,
        now: u64,
    ) -> Result<PutOutcome, Error>;

    /// The unexpired records under `index`, in the order they were stored.
    fn get(&self, index: &Index, now: u64) -> Vec<SealedRecord>;

    /// Remove the record `id` under `index`, if `publisher` stored it.
    fn remove(&mut self, publisher: &PublisherId, index: &Index, id: &RecordId) -> RemoveOutcome;

    /// Forget every expired record; returns how many.
    fn purge_expired(&mut self, now: u64) -> usize;

    /// How many records are stored (expired ones not yet purged included).
    fn len(&self) -> usize;

    /// Whether nothing is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone)]
struct Entry {
    publisher: u32,
    expires_at: u64,
    record: SealedRecord,
}

/// The in-memory reference [`IndexStore`]. It can be written to and read from a snapshot
/// ([`MemoryStore::snapshot`]), which holds exactly what the DP knows: indices, publisher ids,
/// expiry times and sealed records.
#[derive(Clone)]
pub struct MemoryStore {
    map: HashMap<Index, Vec<Entry>>,
    publishers: Vec<PublisherId>,
    publisher_numbers: HashMap<PublisherId, u32>,
    records: usize,
    max_records: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("indices", &self.map.len())
            .field("records", &self.records)
            .field("publishers", &self.publishers.len())
            .finish()
    }
}

const SNAPSHOT: &str = "store snapshot";

impl MemoryStore {
    /// An empty store without a total bound.
    pub fn new() -> Self {
        Self::with_max_records(usize::MAX)
    }

    /// An empty store holding at most `max_records` records in all.
    pub fn with_max_records(max_records: usize) -> Self {
        Self {
            map: HashMap::new(),
            publishers: Vec::new(),
            publisher_numbers: HashMap::new(),
            records: 0,
            max_records,
        }
    }

    /// How many indices hold records.
    pub fn index_count(&self) -> usize {
        self.map.len()
    }

    /// The bound on the number of records, as set by [`MemoryStore::with_max_records`] or
    /// [`MemoryStore::set_max_records`].
    pub fn max_records(&self) -> usize {
        self.max_records
    }

    /// Change the bound on the number of records. Records already stored stay, even beyond a
    /// lower bound; further uploads are then refused with [`Error::StoreFull`] until enough
    /// have expired or been removed.
    pub fn set_max_records(&mut self, max_records: usize) {
        self.max_records = max_records;
    }

    /// Give every record of publisher `from` to publisher `to` (a data migration, when the DP
    /// renames a publisher). Nothing happens, and `false` is returned, if `from` holds nothing
    /// or `to` is already known to the store (merging two publishers could break the
    /// per-publisher bound).
    pub fn rename_publisher(&mut self, from: &PublisherId, to: &PublisherId) -> bool {
        if self.publisher_numbers.contains_key(to) {
            return false;
        }
        let Some(n) = self.publisher_numbers.remove(from) else {
            return false;
        };
        if let Some(slot) = self.publishers.get_mut(n as usize) {
            *slot = to.clone();
        }
        self.publisher_numbers.insert(to.clone(), n);
        true
    }

    /// Reserve room for `indices` more indices (bulk loading).
    pub fn reserve(&mut self, indices: usize) {
        self.map.reserve(indices);
    }

    /// An estimate of the memory the store occupies, in bytes: the hash table at its capacity,
    /// each index's record vector at its capacity, and every ciphertext. Allocator overhead
    /// (typically 8-16 bytes per allocation, two allocations per index and one per record) is
    /// not included.
    pub fn approx_memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(Index, Vec<Entry>)>() + 1;
        let table = self.map.capacity() * slot;
        let vectors: usize = self
            .map
            .values()
            .map(|v| {
                v.capacity() * std::mem::size_of::<Entry>()
                    + v.iter().map(|e| e.record.ciphertext().len()).sum::<usize>()
            })
            .sum();
        let publishers: usize = self
            .publishers
            .iter()
            .map(|p| 2 * (p.0.len() + std::mem::size_of::<PublisherId>()) + 8)
            .sum();
        table + vectors + publishers
    }

    fn publisher_number(&mut self, publisher: &PublisherId) -> Result<u32, Error> {
        if let Some(&n) = self.publisher_numbers.get(publisher) {
            return Ok(n);
        }
        let n = u32::try_from(self.publishers.len()).map_err(|_| Error::StoreFull {
            max: self.max_records,
        })?;
        self.publishers.push(publisher.clone());
        self.publisher_numbers.insert(publisher.clone(), n);
        Ok(n)
    }

    /// The snapshot encoding, canonical: indices in ascending order, each index's records in
    /// stored order, publishers numbered in order of first appearance (only those holding
    /// records):
    ///
    /// ```text
    /// Snapshot = [1, publishers: [* bstr], entries: [* [index: bstr .size 32,
    ///              publisher: uint, expires_at: uint, SealedRecord]]]
    /// ```
    pub fn snapshot(&self) -> Vec<u8> {
        // The indices are copied out to be sorted: comparing them in place would chase a
        // pointer into the table at every comparison (seconds at a million indices).
        let mut indices: Vec<(Index, &Vec<Entry>)> =
            self.map.iter().map(|(i, v)| (*i, v)).collect();
        indices.sort_unstable_by_key(|(i, _)| *i);
        let mut renumber: Vec<Option<u64>> = vec![None; self.publishers.len()];
        let mut order: Vec<u32> = Vec::new();
        for e in indices.iter().flat_map(|(_, v)| v.iter()) {
            if let Some(slot @ None) = renumber.get_mut(e.publisher as usize) {
                *slot = Some(order.len() as u64);
                order.push(e.publisher);
            }
        }
        let mut w = Writer::new();
        w.versioned(3).array(order.len());
        for p in order {
            if let Some(p) = self.publishers.get(p as usize) {
                w.bytes(p.as_bytes());
            }
        }
        w.array(self.records);
        for (index, entries) in &indices {
            for e in entries.iter() {
                let number = renumber
                    .get(e.publisher as usize)
                    .copied()
                    .flatten()
                    .unwrap_or_default();
                w.array(4)
                    .bytes(index.as_bytes())
                    .uint(number)
                    .uint(e.expires_at);
                e.record.write(&mut w);
            }
        }
        w.into_bytes()
    }

    /// Load a snapshot at time `now`: every entry is stored again under the rules of
    /// [`IndexStore::put`] (expired ones are skipped; one that breaks another rule fails the
    /// load). Only the canonical form of [`MemoryStore::snapshot`] is accepted. Not bounded by
    /// [`crate::limits::MAX_MESSAGE_LEN`]: snapshots are local data.
    ///
    /// # Errors
    /// Any decoding error, or a rule violation.
    pub fn from_snapshot(bytes: &[u8], now: u64, max_records: usize) -> Result<Self, Error> {
        let malformed = |reason| Error::Malformed {
            what: SNAPSHOT,
            reason,
        };
        let mut r = Reader::new(bytes, SNAPSHOT);
        r.versioned(3)?;
        let n = r.array_within(0, usize::MAX, "snapshot publishers")?;
        let mut publishers = Vec::new();
        for _ in 0..n {
            publishers.push(PublisherId::new(r.bytes_within(
                1,
                MAX_PUBLISHER_ID_LEN,
                "publisher id",
            )?)?);
        }
        let mut store = Self::with_max_records(max_records);
        let n = r.array_within(0, usize::MAX, "snapshot entries")?;
        // At most one index per entry (exactly one in the common case); growing the table
        // instead would rehash it about twenty times on the way to a million. An entry takes
        // more bytes of the snapshot than the reservation does of memory.
        store.map.reserve(n.min(bytes.len() / 32));
        let mut last: Option<Index> = None;
        let mut seen_publishers = 0usize;
        for _ in 0..n {
            r.array(4)?;
            let index = Index::from_bytes(r.bytes_exact::<INDEX_LEN>("index")?);
            if last.is_some_and(|l| l > index) {
                return Err(malformed("indices out of order"));
            }
            last = Some(index);
            let number = usize::try_from(r.uint()?)
                .ok()
                .filter(|&p| p <= seen_publishers)
                .ok_or(malformed("publisher number out of order"))?;
            if number == seen_publishers {
                seen_publishers += 1;
            }
            let publisher = publishers
                .get(number)
                .ok_or(malformed("unknown publisher number"))?;
            let expires_at = r.uint()?;
            let record = SealedRecord::read(&mut r)?;
            match store.put_unchecked_ttl(publisher, index, record, expires_at, now) {
                Ok(PutOutcome::Stored) | Err(Error::Expired) => {}
                Ok(_) => return Err(malformed("duplicate or excess record")),
                Err(e) => return Err(e),
            }
        }
        if seen_publishers != publishers.len() {
            return Err(malformed("unused publisher"));
        }
        r.finish()?;
        Ok(store)
    }

    /// [`IndexStore::put`] without the upper bound on `expires_at` (snapshots).
    fn put_unchecked_ttl(
        &mut self,
        publisher: &PublisherId,
        index: Index,
        record: SealedRecord,
        expires_at: u64,
        now: u64,
    ) -> Result<PutOutcome, Error> {
        if expires_at <= now {
            return Err(Error::Expired);
        }
        let known = self.publisher_numbers.get(publisher).copied();
        if let Some(entries) = self.map.get_mut(&index) {
            let before = entries.len();
            entries.retain(|e| e.expires_at > now);
            self.records -= before - entries.len();
            if let Some(e) = entries.iter_mut().find(|e| e.record == record) {
                if Some(e.publisher) == known {
                    e.expires_at = expires_at;
                }
                return Ok(PutOutcome::Duplicate);
            }
            if let Some(p) = known {
                let own = entries.iter().filter(|e| e.publisher == p).count();
                if own >= MAX_RECORDS_PER_PUBLISHER {
                    if let Some(pos) = entries.iter().position(|e| e.publisher == p) {
                        entries.remove(pos);
                    }
                    entries.push(Entry {
                        publisher: p,
                        expires_at,
                        record,
                    });
                    return Ok(PutOutcome::Replaced);
                }
            }
            if entries.len() >= MAX_RECORDS_PER_INDEX {
                return Err(Error::IndexFull {
                    max: MAX_RECORDS_PER_INDEX,
                });
            }
        }
        if self.records >= self.max_records {
            if self.map.get(&index).is_some_and(Vec::is_empty) {
                self.map.remove(&index);
            }
            return Err(Error::StoreFull {
                max: self.max_records,
            });
        }
        let publisher = self.publisher_number(publisher)?;
        // Most indices hold one record: start each vector at exactly one entry (the default
        // first growth would reserve four).
        self.map
            .entry(index)
            .or_insert_with(|| Vec::with_capacity(1))
            .push(Entry {
                publisher,
                expires_at,
                record,
            });
        self.records += 1;
        Ok(PutOutcome::Stored)
    }
}

impl IndexStore for MemoryStore {
    fn put(
        &mut self,
        publisher: &PublisherId,
        index: Index,
        record: SealedRecord,
        expires_at: u64,
        now: u64,
    ) -> Result<PutOutcome, Error> {
        if expires_at.saturating_sub(now) > MAX_RECORD_TTL_SECS {
            return Err(Error::ExpiryTooFar {
                max_secs: MAX_RECORD_TTL_SECS,
            });
        }
        self.put_unchecked_ttl(publisher, index, record, expires_at, now)
    }

    fn get(&self, index: &Index, now: u64) -> Vec<SealedRecord> {
        self.map
            .get(index)
            .into_iter()
            .flatten()
            .filter(|e| e.expires_at > now)
            .map(|e| e.record.clone())
            .collect()
    }

    fn remove(&mut self, publisher: &PublisherId, index: &Index, id: &RecordId) -> RemoveOutcome {
        let Some(&p) = self.publisher_numbers.get(publisher) else {
            return RemoveOutcome::NotFound;
        };
        let Some(entries) = self.map.get_mut(index) else {
            return RemoveOutcome::NotFound;
        };
        let Some(pos) = entries
            .iter()
            .position(|e| e.publisher == p && e.record.id() == *id)
        else {
            return RemoveOutcome::NotFound;
        };
        entries.remove(pos);
        if entries.is_empty() {
            self.map.remove(index);
        }
        self.records -= 1;
        RemoveOutcome::Removed
    }

    fn purge_expired(&mut self, now: u64) -> usize {
        let mut purged = 0;
        self.map.retain(|_, entries| {
            let before = entries.len();
            entries.retain(|e| e.expires_at > now);
            purged += before - entries.len();
            !entries.is_empty()
        });
        self.records -= purged;
        purged
    }

    fn len(&self) -> usize {
        self.records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u8) -> SealedRecord {
        SealedRecord::new([n; 12], vec![n; 20]).expect("record")
    }

    #[test]
    fn renaming_a_publisher_keeps_its_records_and_rights() {
        let old = PublisherId::new(b"publisher".to_vec()).expect("id");
        let new = PublisherId::new(b"default".to_vec()).expect("id");
        let index = Index::from_bytes([1; INDEX_LEN]);
        let mut store = MemoryStore::new();
        store.put(&old, index, record(1), 200, 100).expect("put");
        assert!(store.rename_publisher(&old, &new));
        // Nothing left to rename, and a known target is refused.
        assert!(!store.rename_publisher(&old, &new));
        assert!(!store.rename_publisher(&new, &new));
        assert_eq!(
            store.remove(&old, &index, &record(1).id()),
            RemoveOutcome::NotFound
        );
        let again = MemoryStore::from_snapshot(&store.snapshot(), 100, usize::MAX).expect("load");
        assert_eq!(again.get(&index, 100), vec![record(1)]);
        assert_eq!(
            store.remove(&new, &index, &record(1).id()),
            RemoveOutcome::Removed
        );
    }

    #[test]
    fn lowering_the_bound_keeps_records_and_refuses_more() {
        let p = PublisherId::new(b"p".to_vec()).expect("id");
        let mut store = MemoryStore::new();
        for n in 0..3 {
            store
                .put(&p, Index::from_bytes([n; INDEX_LEN]), record(n), 200, 100)
                .expect("put");
        }
        store.set_max_records(2);
        assert_eq!((store.len(), store.max_records()), (3, 2));
        assert!(matches!(
            store.put(&p, Index::from_bytes([9; INDEX_LEN]), record(9), 200, 100),
            Err(Error::StoreFull { max: 2 })
        ));
    }
}
