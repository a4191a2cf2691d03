//! The store's journal (docs/decisions/0130): every upload that may have changed the store is
//! appended to `journal` and fsynced before it is answered ("nothing acknowledged is lost",
//! docs/discovery.md §10.1), and replayed on top of the snapshot `store.cbor` at start.
//!
//! ```text
//! journal = header *record
//! header  = "MIMIDPJ1"  max_records: u64  base: [32]  check: [16]
//! record  = len: u32  !len: u32  body: [len]  check: [16]
//! body    = 1  publisher_len: u8  publisher  now_ms: u64  request      ; an upload, as received
//!         / 2  snapshot: [32]                                           ; a seal
//! ```
//!
//! Integers are big-endian; `check` is the first 16 bytes of the SHA-256 of what precedes it
//! in the header or record. `base` is the SHA-256 of the snapshot the journal continues, and a
//! seal says "the snapshot with this SHA-256 holds everything above"; `max_records` is the
//! store bound the uploads were applied under, so that a replay decides exactly as the live
//! store did.
//!
//! **Compaction** writes the store as a new snapshot and starts an empty journal. Online (the
//! usual case) it holds the store's read lock and the journal's lock only to serialize the
//! store, seal the journal, rename it to `journal.old` and create the new one; it writes the
//! snapshot (temporary file, fsync, rename, fsync of the directory) with no lock held, so
//! uploads go on into the new journal, then removes `journal.old`. After a failure it runs
//! synchronously instead (every lock held until the snapshot is written).
//!
//! **Recovery** follows the chain from `store.cbor`: a journal whose `base` is the snapshot's
//! hash is replayed, and the hash moves to its first seal; one holding a seal equal to the
//! snapshot's hash is already in the snapshot and is skipped; anything else is
//! [`DpError::Corrupt`]. A damaged last record (a crash during its append: it was never
//! acknowledged) is dropped; damage before the last record is [`DpError::Corrupt`].

use std::fs::{self, File, OpenOptions};
use std::hash::Hash as StdHash;
use std::io::Write;
use std::path::{Path, PathBuf};

use mimi_lookup::limits::{MAX_MESSAGE_LEN, MAX_PUBLISHER_ID_LEN};
use mimi_lookup::{DistributionPoint, DpKey, IndexStore, MemoryStore, PublisherId, RateLimiter};
use sha2::{Digest, Sha256};

use crate::DpError;
use crate::files::{
    DpFiles, LEGACY_PUBLISHER_ID, STORE_FILE, corrupt, io, read_if_exists, remove_if_exists,
    sync_dir,
};

/// The journal of uploads since the snapshot.
pub const JOURNAL_FILE: &str = "journal";
/// The previous journal, between the start of an online compaction and the moment its
/// snapshot is durable.
pub const OLD_JOURNAL_FILE: &str = "journal.old";
/// A journal being created (renamed to [`JOURNAL_FILE`] once its header is durable).
const TMP_JOURNAL_FILE: &str = "journal.tmp";
/// The snapshot being written by [`DpFiles::save_store`].
const TMP_STORE_FILE: &str = "store.cbor.tmp";

/// A SHA-256 digest.
pub(crate) type Digest32 = [u8; 32];

const MAGIC: &[u8; 8] = b"MIMIDPJ1";
const CHECK_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + 8 + 32 + CHECK_LEN;
const RECORD_HEAD_LEN: usize = 8;
const KIND_UPLOAD: u8 = 1;
const KIND_SEAL: u8 = 2;
/// Longest record body: an upload of the longest message by the longest publisher id.
const MAX_BODY_LEN: usize = 1 + 1 + MAX_PUBLISHER_ID_LEN + 8 + MAX_MESSAGE_LEN;
/// Longest record.
const MAX_RECORD_LEN: usize = RECORD_HEAD_LEN + MAX_BODY_LEN + CHECK_LEN;

/// SHA-256 of a snapshot.
pub(crate) fn digest(bytes: &[u8]) -> Digest32 {
    Sha256::digest(bytes).into()
}

fn check(parts: &[&[u8]]) -> [u8; CHECK_LEN] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let full: Digest32 = h.finalize().into();
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&full[..CHECK_LEN]);
    out
}

/// A journal's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    max_records: u64,
    base: Digest32,
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.max_records.to_be_bytes());
        out.extend_from_slice(&self.base);
        let c = check(&[&out]);
        out.extend_from_slice(&c);
        out
    }

    fn decode(path: &Path, bytes: &[u8]) -> Result<Self, DpError> {
        // A journal is created under a temporary name and renamed once its header is durable:
        // a short or damaged header is corruption, never a torn write.
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or_else(|| corrupt(path, "truncated journal header"))?;
        let (body, c) = header.split_at(HEADER_LEN - CHECK_LEN);
        if &body[..MAGIC.len()] != MAGIC {
            return Err(corrupt(path, "not a distribution point journal"));
        }
        if check(&[body]) != c {
            return Err(corrupt(path, "journal header checksum mismatch"));
        }
        let mut max = [0u8; 8];
        max.copy_from_slice(&body[MAGIC.len()..MAGIC.len() + 8]);
        let mut base = [0u8; 32];
        base.copy_from_slice(&body[MAGIC.len() + 8..]);
        Ok(Self {
            max_records: u64::from_be_bytes(max),
            base,
        })
    }
}

fn encode_record(body: &[u8]) -> Vec<u8> {
    // Bodies are bounded by MAX_BODY_LEN (a few bytes over 1 MiB).
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes();
    let not_len = (!u32::from_be_bytes(len)).to_be_bytes();
    let mut out = Vec::with_capacity(RECORD_HEAD_LEN + body.len() + CHECK_LEN);
    out.extend_from_slice(&len);
    out.extend_from_slice(&not_len);
    out.extend_from_slice(body);
    let c = check(&[&len, &not_len, body]);
    out.extend_from_slice(&c);
    out
}

fn upload_body(publisher: &PublisherId, now_ms: u64, request: &[u8]) -> Vec<u8> {
    let p = publisher.as_bytes();
    let mut body = Vec::with_capacity(2 + p.len() + 8 + request.len());
    body.push(KIND_UPLOAD);
    // Publisher ids are at most MAX_PUBLISHER_ID_LEN (255) bytes.
    body.push(u8::try_from(p.len()).unwrap_or(u8::MAX));
    body.extend_from_slice(p);
    body.extend_from_slice(&now_ms.to_be_bytes());
    body.extend_from_slice(request);
    body
}

/// One journaled upload, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upload<'a> {
    /// Who uploaded.
    pub publisher: PublisherId,
    /// The DP's clock when it applied the upload.
    pub now_ms: u64,
    /// The `UploadRequest` exactly as received.
    pub request: &'a [u8],
}

/// A journal file, read back.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    header: Header,
    /// The uploads, in the order they were applied.
    pub uploads: Vec<Upload<'a>>,
    /// The seals, in order.
    seals: Vec<Digest32>,
    /// Bytes up to the end of the last intact record.
    good_len: u64,
    /// Bytes of a damaged last record (a torn append), dropped.
    pub torn: u64,
}

/// The record at the start of `bytes`, if it is intact: its length.
fn intact_record(bytes: &[u8]) -> Option<usize> {
    let head = bytes.get(..RECORD_HEAD_LEN)?;
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let not_len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if len != !not_len || len as usize > MAX_BODY_LEN {
        return None;
    }
    let len = len as usize;
    let record = bytes.get(..RECORD_HEAD_LEN + len + CHECK_LEN)?;
    let body = &record[RECORD_HEAD_LEN..RECORD_HEAD_LEN + len];
    (check(&[&record[..4], &record[4..8], body]) == record[RECORD_HEAD_LEN + len..])
        .then_some(record.len())
}

/// Whether an intact record starts anywhere in `bytes` (then damage before it is not a torn
/// append).
fn intact_record_within(bytes: &[u8]) -> bool {
    (0..bytes.len()).any(|k| intact_record(&bytes[k..]).is_some())
}

/// Read a journal. The last record may be damaged (a crash while it was being appended: it
/// was never acknowledged) and is then dropped; damage anywhere before it is corruption.
pub(crate) fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Parsed<'a>, DpError> {
    let header = Header::decode(path, bytes)?;
    let mut out = Parsed {
        header,
        uploads: Vec::new(),
        seals: Vec::new(),
        good_len: HEADER_LEN as u64,
        torn: 0,
    };
    let mut off = HEADER_LEN;
    while off < bytes.len() {
        let rest = &bytes[off..];
        // A torn append damages at most the one record being appended: the damage runs to the
        // end of the file, is no longer than one record, and no intact record follows it.
        let tail = || rest.len() <= MAX_RECORD_LEN && !intact_record_within(&rest[1..]);
        let torn = |out: &mut Parsed<'a>| out.torn = rest.len() as u64;
        let Some(head) = rest.get(..RECORD_HEAD_LEN) else {
            torn(&mut out);
            break;
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let not_len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let at = format!("journal record at byte {off}");
        if len != !not_len || len as usize > MAX_BODY_LEN {
            if tail() {
                torn(&mut out);
                break;
            }
            return Err(corrupt(path, format!("{at}: bad length")));
        }
        let len = len as usize;
        let end = RECORD_HEAD_LEN + len + CHECK_LEN;
        let Some(record) = rest.get(..end) else {
            // The length is intact (it matches its complement) and reaches past the end.
            torn(&mut out);
            break;
        };
        let body = &record[RECORD_HEAD_LEN..RECORD_HEAD_LEN + len];
        if check(&[&record[..4], &record[4..8], body]) != record[RECORD_HEAD_LEN + len..] {
            if end == rest.len() {
                torn(&mut out);
                break;
            }
            return Err(corrupt(path, format!("{at}: checksum mismatch")));
        }
        match body.split_first() {
            Some((&KIND_UPLOAD, rest)) => {
                if !out.seals.is_empty() {
                    return Err(corrupt(path, format!("{at}: an upload after a seal")));
                }
                let bad = || corrupt(path, format!("{at}: malformed upload"));
                let (&plen, rest) = rest.split_first().ok_or_else(bad)?;
                let plen = usize::from(plen);
                let publisher = rest.get(..plen).ok_or_else(bad)?;
                let now = rest.get(plen..plen + 8).ok_or_else(bad)?;
                let mut now_ms = [0u8; 8];
                now_ms.copy_from_slice(now);
                out.uploads.push(Upload {
                    publisher: PublisherId::new(publisher.to_vec()).map_err(|_| bad())?,
                    now_ms: u64::from_be_bytes(now_ms),
                    request: &rest[plen + 8..],
                });
            }
            Some((&KIND_SEAL, h)) => {
                let h: Digest32 = h
                    .try_into()
                    .map_err(|_| corrupt(path, format!("{at}: malformed seal")))?;
                out.seals.push(h);
            }
            _ => return Err(corrupt(path, format!("{at}: unknown record kind"))),
        }
        off += end;
        out.good_len = off as u64;
    }
    Ok(out)
}

/// One open journal file, appended to.
#[derive(Debug)]
struct Journal {
    path: PathBuf,
    file: File,
    /// Bytes up to the end of the last durable record.
    len: u64,
    /// Uploads in it.
    uploads: u64,
    /// A seal was appended: no upload may follow.
    sealed: bool,
    /// A failed append may have left bytes after `len`: cut them before the next append.
    garbage: bool,
}

impl Journal {
    /// Create an empty journal at `dir/JOURNAL_FILE`, replacing any: written under a
    /// temporary name, fsynced, renamed, and the directory fsynced.
    fn create(dir: &Path, header: Header) -> Result<Self, DpError> {
        let tmp = dir.join(TMP_JOURNAL_FILE);
        let path = dir.join(JOURNAL_FILE);
        remove_if_exists(&tmp)?;
        let mut options = OpenOptions::new();
        options.append(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        let bytes = header.encode();
        file.write_all(&bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(dir)?;
        Ok(Self {
            path,
            file,
            len: bytes.len() as u64,
            uploads: 0,
            sealed: false,
            garbage: false,
        })
    }

    /// Open an existing journal to seal it, cutting a torn last record.
    fn reopen(path: PathBuf, parsed: &Parsed<'_>) -> Result<Self, DpError> {
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        if parsed.torn > 0 {
            file.set_len(parsed.good_len).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
        }
        Ok(Self {
            path,
            file,
            len: parsed.good_len,
            uploads: parsed.uploads.len() as u64,
            sealed: !parsed.seals.is_empty(),
            garbage: false,
        })
    }

    /// Append one record and make it durable; on failure, cut what was written (the record
    /// counts as never written).
    fn write_record(&mut self, body: &[u8]) -> Result<(), DpError> {
        if self.garbage {
            self.file
                .set_len(self.len)
                .and_then(|()| self.file.sync_all())
                .map_err(io(&self.path))?;
            self.garbage = false;
        }
        let record = encode_record(body);
        let written = self
            .file
            .write_all(&record)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += record.len() as u64;
                Ok(())
            }
            Err(e) => {
                let cut = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_all());
                self.garbage = cut.is_err();
                Err(io(&self.path)(e))
            }
        }
    }

    fn seal(&mut self, snapshot: &Digest32) -> Result<(), DpError> {
        let mut body = Vec::with_capacity(33);
        body.push(KIND_SEAL);
        body.extend_from_slice(snapshot);
        self.write_record(&body)?;
        self.sealed = true;
        Ok(())
    }
}

/// What a started online compaction leaves to do without the locks: write this snapshot.
#[derive(Debug)]
pub(crate) struct PendingSnapshot(pub Vec<u8>);

/// The journals of a data directory and the state of compaction, behind the DP's journal
/// lock.
#[derive(Debug)]
pub(crate) struct Journals {
    files: DpFiles,
    max_records: u64,
    /// The journal uploads go to; `None` only after a failed compaction.
    cur: Option<Journal>,
    /// `journal.old`, between an online rotation and the moment its snapshot is durable.
    old: Option<Journal>,
    /// The last compaction failed part way, or an append failed (the store in memory may then
    /// hold a change the journal does not): uploads wait until a synchronous compaction
    /// succeeds.
    needs_repair: bool,
}

impl Journals {
    /// Bytes in the current journal.
    pub(crate) fn len(&self) -> u64 {
        self.cur.as_ref().map_or(0, |j| j.len)
    }

    /// Uploads in the current journal (and the old one, if its snapshot is not durable yet).
    pub(crate) fn uploads(&self) -> u64 {
        self.cur.as_ref().map_or(0, |j| j.uploads) + self.old.as_ref().map_or(0, |j| j.uploads)
    }

    /// Whether uploads must wait for a compaction.
    pub(crate) fn needs_repair(&self) -> bool {
        self.needs_repair
    }

    /// Append an upload and make it durable (docs/discovery.md §10.1: before it is answered).
    /// On failure the store in memory is ahead of the journal: further uploads wait for a
    /// compaction.
    pub(crate) fn append(
        &mut self,
        publisher: &PublisherId,
        now_ms: u64,
        request: &[u8],
    ) -> Result<(), DpError> {
        let result = match self.cur.as_mut() {
            Some(j) if !self.needs_repair && !j.sealed => j
                .write_record(&upload_body(publisher, now_ms, request))
                .map(|()| j.uploads += 1),
            _ => Err(DpError::Io {
                path: self.files.dir().join(JOURNAL_FILE).display().to_string(),
                source: std::io::Error::other("the journal is waiting for a compaction"),
            }),
        };
        if result.is_err() {
            self.needs_repair = true;
        }
        result
    }

    /// Start a compaction of `store` (whose lock the caller holds, as it holds this one).
    /// Nothing to do: `None`. After a failure: a synchronous compaction, done on return
    /// (`None`). Otherwise the journal is sealed and rotated, and the snapshot is returned to
    /// be written without the locks, then [`Journals::finish`]ed.
    pub(crate) fn begin(
        &mut self,
        store: &MemoryStore,
    ) -> Result<Option<PendingSnapshot>, DpError> {
        if self.needs_repair || self.old.is_some() || self.cur.is_none() {
            return self.compact_sync(store).map(|()| None);
        }
        if self.uploads() == 0 {
            return Ok(None);
        }
        let snapshot = store.snapshot();
        let hash = digest(&snapshot);
        let dir = self.files.dir().to_path_buf();
        let Some(cur) = self.cur.as_mut() else {
            return Ok(None);
        };
        // A failed seal is cut again (or cut before the next append): nothing changed.
        cur.seal(&hash)?;
        // From here the sealed journal takes no more uploads: a failure needs a repair.
        let old_path = dir.join(OLD_JOURNAL_FILE);
        if let Err(e) = fs::rename(&cur.path, &old_path) {
            self.needs_repair = true;
            return Err(io(&old_path)(e));
        }
        cur.path = old_path;
        self.old = self.cur.take();
        let header = Header {
            max_records: self.max_records,
            base: hash,
        };
        match Journal::create(&dir, header) {
            Ok(j) => self.cur = Some(j),
            Err(e) => {
                self.needs_repair = true;
                return Err(e);
            }
        }
        Ok(Some(PendingSnapshot(snapshot)))
    }

    /// End an online compaction once its snapshot was written (`written`) or not.
    pub(crate) fn finish(&mut self, written: bool) -> Result<(), DpError> {
        if !written {
            // `journal.old` is still needed: the next compaction is synchronous.
            self.needs_repair = true;
            return Ok(());
        }
        // The old journal is in the snapshot now: removing it is tidying, not correctness
        // (recovery skips it by its seal).
        if let Some(old) = self.old.take() {
            remove_if_exists(&old.path)?;
            sync_dir(self.files.dir())?;
        }
        Ok(())
    }

    /// Compact with every lock held: seal the journals, write the snapshot, start a new
    /// journal, remove the old one.
    fn compact_sync(&mut self, store: &MemoryStore) -> Result<(), DpError> {
        let result = (|| {
            let snapshot = store.snapshot();
            let hash = digest(&snapshot);
            // Each journal not yet in `store.cbor` gets a seal naming the new snapshot, so that
            // once it is written recovery knows them to be in it.
            for j in [self.old.as_mut(), self.cur.as_mut()].into_iter().flatten() {
                j.seal(&hash)?;
            }
            self.files.save_store(&snapshot)?;
            drop(snapshot);
            self.cur = Some(Journal::create(
                self.files.dir(),
                Header {
                    max_records: self.max_records,
                    base: hash,
                },
            )?);
            if let Some(old) = self.old.take() {
                remove_if_exists(&old.path)?;
                sync_dir(self.files.dir())?;
            }
            Ok(())
        })();
        self.needs_repair = result.is_err();
        result
    }
}

/// What [`recover`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// Uploads replayed from the journals.
    pub replayed: usize,
    /// Bytes of torn last records dropped.
    pub torn: u64,
    /// Expired records purged.
    pub purged: usize,
    /// The records of a directory from before docs/decisions/0130 were moved from publisher
    /// id `publisher` to `default`.
    pub migrated: bool,
    /// A new snapshot was written.
    pub compacted: bool,
}

/// The store of `files` at start: `store.cbor`, every journaled upload replayed with its
/// recorded publisher and time, expired records purged; then compacted (a new snapshot and an
/// empty journal) if any of that changed it.
pub(crate) fn recover<K: Eq + StdHash + Clone>(
    files: &DpFiles,
    key: DpKey,
    limiter: RateLimiter<K>,
    max_records: usize,
    now_ms: u64,
) -> Result<(DistributionPoint<MemoryStore, K>, Journals, Recovery), DpError> {
    let dir = files.dir();
    remove_if_exists(&dir.join(TMP_JOURNAL_FILE))?;
    remove_if_exists(&dir.join(TMP_STORE_FILE))?;
    let store_path = dir.join(STORE_FILE);
    let saved = read_if_exists(&store_path)?;
    let empty;
    let base: &[u8] = match &saved {
        Some(b) => b,
        None => {
            empty = MemoryStore::new().snapshot();
            &empty
        }
    };
    let base_hash = digest(base);
    let old_path = dir.join(OLD_JOURNAL_FILE);
    let cur_path = dir.join(JOURNAL_FILE);
    let old_bytes = read_if_exists(&old_path)?;
    let cur_bytes = read_if_exists(&cur_path)?;
    let legacy = saved.is_some() && old_bytes.is_none() && cur_bytes.is_none();
    let old = old_bytes
        .as_deref()
        .map(|b| parse(&old_path, b))
        .transpose()?;
    let cur = cur_bytes
        .as_deref()
        .map(|b| parse(&cur_path, b))
        .transpose()?;

    // The chain from the snapshot (module docs).
    let mut at = Some(base_hash);
    let mut replay: Vec<(&Path, &Parsed<'_>)> = Vec::new();
    let mut old_needed = false;
    for (is_old, path, parsed) in [(true, &old_path, &old), (false, &cur_path, &cur)] {
        let Some(p) = parsed else { continue };
        if Some(p.header.base) == at {
            replay.push((path, p));
            old_needed |= is_old;
            at = p.seals.first().copied();
        } else if !p.seals.contains(&base_hash) {
            return Err(corrupt(
                path,
                "the journal does not continue store.cbor (restored from another copy?)",
            ));
        }
    }

    let mut store = MemoryStore::from_snapshot(base, 0, usize::MAX)
        .map_err(|e| corrupt(&store_path, e.to_string()))?;
    let mut report = Recovery {
        torn: [&old, &cur].into_iter().flatten().map(|p| p.torn).sum(),
        ..Recovery::default()
    };
    if legacy {
        // Before docs/decisions/0130 every record was the one publisher's, id `publisher`; that
        // publisher's token is the `default` publisher's now.
        let from = PublisherId::new(LEGACY_PUBLISHER_ID.to_vec())?;
        let to = PublisherId::new(crate::files::DEFAULT_PUBLISHER.as_bytes().to_vec())?;
        report.migrated = store.rename_publisher(&from, &to);
    }
    // Replay under the bound the uploads were applied under, so each decides as it did live.
    let replay_max = replay.first().map_or(max_records, |(_, p)| {
        usize::try_from(p.header.max_records).unwrap_or(usize::MAX)
    });
    store.set_max_records(replay_max);
    let mut dp = DistributionPoint::new(key, store, limiter);
    for (path, p) in &replay {
        for u in &p.uploads {
            dp.upload(&u.publisher, u.request, u.now_ms)
                .map_err(|e| corrupt(path, format!("a journaled upload does not apply: {e}")))?;
            report.replayed += 1;
        }
    }
    let store = dp.store_mut();
    store.set_max_records(max_records);
    report.purged = store.purge_expired(now_ms / 1000);

    let mut journals = Journals {
        files: files.clone(),
        max_records: max_records as u64,
        cur: None,
        old: None,
        needs_repair: false,
    };
    let changed = report.replayed > 0 || report.purged > 0 || report.migrated || saved.is_none();
    if changed {
        if let (Some(p), true) = (&old, old_needed) {
            journals.old = Some(Journal::reopen(old_path.clone(), p)?);
        }
        if let Some(p) = &cur {
            journals.cur = Some(Journal::reopen(cur_path.clone(), p)?);
        }
        journals.compact_sync(dp.store())?;
        report.compacted = true;
    } else {
        // Nothing to replay: the journals hold no upload that is not in the snapshot.
        journals.cur = Some(Journal::create(
            dir,
            Header {
                max_records: max_records as u64,
                base: base_hash,
            },
        )?);
    }
    if remove_if_exists(&old_path)? {
        sync_dir(dir)?;
    }
    Ok((dp, journals, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PublisherId {
        PublisherId::new(s.as_bytes().to_vec()).expect("id")
    }

    fn journal(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Header {
            max_records: 7,
            base: [3; 32],
        }
        .encode();
        for r in records {
            out.extend_from_slice(&encode_record(r));
        }
        out
    }

    #[test]
    fn records_read_back() {
        let a = upload_body(&id("a"), 5, b"req-a");
        let b = upload_body(&id("bb"), 6, b"");
        let bytes = journal(&[a, b, vec![KIND_SEAL; 33]]);
        let p = parse(Path::new("j"), &bytes).expect("parse");
        assert_eq!(p.header.max_records, 7);
        assert_eq!(p.uploads.len(), 2);
        assert_eq!(p.uploads[0].publisher, id("a"));
        assert_eq!(
            (p.uploads[0].now_ms, p.uploads[0].request),
            (5, &b"req-a"[..])
        );
        assert_eq!((p.uploads[1].now_ms, p.uploads[1].request), (6, &b""[..]));
        assert_eq!(p.seals, vec![[KIND_SEAL; 32]]);
        assert_eq!((p.good_len, p.torn), (bytes.len() as u64, 0));
    }

    #[test]
    fn only_the_last_record_may_be_damaged() {
        let a = upload_body(&id("a"), 5, &[9; 100]);
        let bytes = journal(&[a.clone(), a.clone()]);
        let one = HEADER_LEN + encode_record(&a).len();
        // Every cut inside the last record is a torn append.
        for cut in one..bytes.len() {
            let p = parse(Path::new("j"), &bytes[..cut]).expect("torn tail");
            assert_eq!(
                (p.uploads.len(), p.good_len),
                (1, one as u64),
                "cut at {cut}"
            );
        }
        // Zeros where the last record should be, too.
        let mut zeroed = bytes.clone();
        zeroed[one..].fill(0);
        assert_eq!(
            parse(Path::new("j"), &zeroed).expect("zeros").uploads.len(),
            1
        );
        // A flipped bit in the first record is corruption.
        for at in [HEADER_LEN + 1, HEADER_LEN + 20, one - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            assert!(
                matches!(parse(Path::new("j"), &bad), Err(DpError::Corrupt { .. })),
                "flip at {at}"
            );
        }
        let mut bad = bytes.clone();
        bad[3] ^= 1;
        assert!(parse(Path::new("j"), &bad).is_err(), "header");
        assert!(parse(Path::new("j"), &bytes[..HEADER_LEN - 1]).is_err());
    }

    /// A DP on a fresh directory, as `DpState::open` builds it.
    struct Point {
        dir: tempfile::TempDir,
        files: DpFiles,
        dp: DistributionPoint<MemoryStore, u8>,
        journals: Journals,
        n: u64,
    }

    const NOW_MS: u64 = 1_800_000_000_000;

    impl Point {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("dir");
            let files = DpFiles::open(dir.path()).expect("files");
            let (dp, journals, _) = Self::recover(&files);
            Self {
                dir,
                files,
                dp,
                journals,
                n: 0,
            }
        }

        fn recover(files: &DpFiles) -> (DistributionPoint<MemoryStore, u8>, Journals, Recovery) {
            let key = files.key().expect("key");
            let limiter = RateLimiter::new(mimi_lookup::RatePolicy::client_default());
            recover(files, key, limiter, 100, NOW_MS).expect("recover")
        }

        /// Apply and journal one upload of a new record.
        fn upload(&mut self) {
            let (publisher, now, request) = self.upload_only_in_memory();
            self.journals
                .append(&publisher, now, &request)
                .expect("append");
        }

        /// Apply one upload of a new record, without journaling it.
        fn upload_only_in_memory(&mut self) -> (PublisherId, u64, Vec<u8>) {
            self.n += 1;
            let key = self.files.key().expect("key");
            let sii = format!("+1 202 555 {:04}", 100 + self.n);
            let id = mimi_types::id::ConnectionId::parse(&sii).expect("sii");
            let secret = key.direct_secret(&id).expect("secret");
            let record = secret
                .seal(sii.as_bytes(), &mut mimi_lookup::rand_core::OsRng)
                .expect("seal");
            let request = mimi_lookup::UploadRequest::new(
                vec![mimi_lookup::UploadEntry {
                    index: *secret.index(),
                    expires_at: NOW_MS / 1000 + 86_400,
                    record,
                }],
                vec![],
            )
            .expect("request")
            .encode();
            let now = NOW_MS + self.n;
            let publisher = id_of(if self.n.is_multiple_of(2) { "a" } else { "b" });
            self.dp.upload(&publisher, &request, now).expect("upload");
            (publisher, now, request)
        }

        /// Drop the journals' files (as a crash would) and recover: the store must be the
        /// live one.
        fn crash_and_recover(self) -> Self {
            let live = self.dp.store().snapshot();
            drop(self.journals);
            let (dp, journals, report) = Self::recover(&self.files);
            assert_eq!(dp.store().snapshot(), live, "{report:?}");
            assert!(!self.dir.path().join(OLD_JOURNAL_FILE).exists());
            Self {
                dp,
                journals,
                ..self
            }
        }
    }

    fn id_of(s: &str) -> PublisherId {
        PublisherId::new(s.as_bytes().to_vec()).expect("id")
    }

    #[test]
    fn every_moment_of_an_online_compaction_recovers() {
        // Rotated (sealed, journal.old, new journal), snapshot not written.
        let mut p = Point::new();
        p.upload();
        p.upload();
        let pending = p
            .journals
            .begin(p.dp.store())
            .expect("begin")
            .expect("online");
        assert!(p.dir.path().join(OLD_JOURNAL_FILE).exists());
        p.upload();
        let mut p = p.crash_and_recover();

        // Snapshot written, journal.old not yet removed.
        p.upload();
        let pending2 = p
            .journals
            .begin(p.dp.store())
            .expect("begin")
            .expect("online");
        p.upload();
        p.files.save_store(&pending2.0).expect("save");
        let mut p = p.crash_and_recover();

        // Finished.
        p.upload();
        let pending3 = p
            .journals
            .begin(p.dp.store())
            .expect("begin")
            .expect("online");
        p.files.save_store(&pending3.0).expect("save");
        p.journals.finish(true).expect("finish");
        assert!(!p.dir.path().join(OLD_JOURNAL_FILE).exists());
        p.upload();
        let p = p.crash_and_recover();
        assert_eq!(p.dp.store().len(), 7);
        drop(pending);
    }

    #[test]
    fn a_failed_online_compaction_is_repaired_synchronously() {
        let mut p = Point::new();
        p.upload();
        let _lost = p
            .journals
            .begin(p.dp.store())
            .expect("begin")
            .expect("online");
        p.upload();
        // Writing the snapshot failed: uploads wait for a repair.
        p.journals.finish(false).expect("finish");
        assert!(p.journals.needs_repair());
        assert!(p.journals.append(&id_of("a"), NOW_MS, b"x").is_err());
        // The repair is synchronous (everything done on return).
        assert!(p.journals.begin(p.dp.store()).expect("repair").is_none());
        assert!(!p.journals.needs_repair());
        assert!(!p.dir.path().join(OLD_JOURNAL_FILE).exists());
        assert_eq!(
            std::fs::read(p.dir.path().join(STORE_FILE)).expect("store"),
            p.dp.store().snapshot()
        );
        p.upload();
        let p = p.crash_and_recover();
        assert_eq!(p.dp.store().len(), 3);
    }

    #[test]
    fn a_store_ahead_of_its_journal_is_compacted_before_more_uploads() {
        // An upload applied in memory whose append failed (never acknowledged).
        let ahead = || {
            let mut p = Point::new();
            p.upload();
            p.upload_only_in_memory();
            p.journals.needs_repair = true;
            p
        };
        // The repair writes the store as it is in memory.
        let mut p = ahead();
        assert!(p.journals.append(&id_of("a"), NOW_MS, b"x").is_err());
        assert!(p.journals.begin(p.dp.store()).expect("repair").is_none());
        p.upload();
        let p = p.crash_and_recover();
        assert_eq!(p.dp.store().len(), 3);

        // A crash after the repair sealed the journal, before the snapshot was written:
        // the journal alone is replayed (the unacknowledged upload is gone).
        let mut p = ahead();
        let hash = digest(&p.dp.store().snapshot());
        p.journals
            .cur
            .as_mut()
            .expect("cur")
            .seal(&hash)
            .expect("seal");
        drop(p.journals);
        let (dp, _, report) = Point::recover(&p.files);
        assert_eq!((report.replayed, dp.store().len()), (1, 1));
    }

    #[test]
    fn uploads_after_a_seal_are_refused() {
        let a = upload_body(&id("a"), 5, b"x");
        let bytes = journal(&[vec![KIND_SEAL; 33], a.clone(), a]);
        assert!(parse(Path::new("j"), &bytes).is_err());
    }
}
