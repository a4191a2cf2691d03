//! The data directory: the OPRF key, the publishers and their token hashes, the store
//! snapshot and its journal (docs/discovery.md §10.1, docs/decisions/0119 and 0130).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use mimi_lookup::rand_core::{OsRng, RngCore};
use mimi_lookup::{DpKey, MemoryStore, PublisherId};
use sha2::{Digest, Sha256};

use crate::DpError;

/// The OPRF secret key: 32 bytes, hex, mode 0600, created at first start.
pub const KEY_FILE: &str = "dp-key";
/// The bearer token of the [`DEFAULT_PUBLISHER`]: 32 random bytes, hex, mode 0600, created at
/// first start (the one publisher of data directories from before docs/decisions/0130).
pub const TOKEN_FILE: &str = "publisher-token";
/// The OHTTP gateway's secret (docs/discovery.md §12.1): 32 bytes, hex, mode 0600, created at
/// first start; the HPKE key pair is derived from it.
pub const OHTTP_KEY_FILE: &str = "ohttp-key";
/// The store's snapshot (`MemoryStore::snapshot`), replaced atomically.
pub const STORE_FILE: &str = "store.cbor";
/// The publishers added with [`DpFiles::add_publisher`]: one `NAME SHA256HEX` line each (the
/// SHA-256 of the token, never the token), mode 0600.
pub const PUBLISHERS_FILE: &str = "publishers";
/// Held locked (`flock`) by the one DP serving the directory.
pub const LOCK_FILE: &str = "dp.lock";
/// The name (and publisher id) of the publisher whose token is [`TOKEN_FILE`].
pub const DEFAULT_PUBLISHER: &str = "default";
/// The publisher id under which data directories from before docs/decisions/0130 stored every
/// record; renamed to [`DEFAULT_PUBLISHER`] when such a directory is first opened.
pub(crate) const LEGACY_PUBLISHER_ID: &[u8] = b"publisher";
/// Longest publisher name.
pub const MAX_PUBLISHER_NAME_LEN: usize = 64;

const PUBLISHERS_HEADER: &str =
    "# mimi distribution point publishers: NAME SHA-256(token) in hex; tokens are not kept\n";

/// A publisher the DP accepts uploads from: its name, which is also its publisher id in the
/// store, and the SHA-256 of its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    /// 1 to [`MAX_PUBLISHER_NAME_LEN`] characters of `a-z`, `0-9`, `.` and `-`.
    pub name: String,
    /// SHA-256 of the token's text (what follows `Bearer `).
    pub token_sha256: [u8; 32],
}

impl Publisher {
    /// The publisher id its records are stored under: the name's bytes.
    ///
    /// # Errors
    /// None for a valid name; [`DpError::Lookup`] otherwise.
    pub fn id(&self) -> Result<PublisherId, DpError> {
        Ok(PublisherId::new(self.name.as_bytes().to_vec())?)
    }
}

/// SHA-256 of a bearer token.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Check a publisher name: 1 to [`MAX_PUBLISHER_NAME_LEN`] characters of `a-z`, `0-9`, `.`
/// and `-`.
///
/// # Errors
/// [`DpError::InvalidPublisherName`].
pub fn check_publisher_name(name: &str) -> Result<(), DpError> {
    let ok = (1..=MAX_PUBLISHER_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(DpError::InvalidPublisherName(name.to_string()))
    }
}

/// Parse the publishers file.
fn parse_publishers(path: &Path, text: &str) -> Result<Vec<Publisher>, DpError> {
    let mut out: Vec<Publisher> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| corrupt(path, format!("line {}: {why}", n + 1));
        let (name, hash) = line
            .split_once(' ')
            .ok_or_else(|| bad("expected `NAME SHA256HEX`"))?;
        check_publisher_name(name).map_err(|_| bad("invalid publisher name"))?;
        let token_sha256: [u8; 32] = hex::decode(hash.trim())
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| bad("expected 32 bytes of hex"))?;
        if name == DEFAULT_PUBLISHER || out.iter().any(|p| p.name == name) {
            return Err(bad("duplicate publisher name"));
        }
        out.push(Publisher {
            name: name.to_string(),
            token_sha256,
        });
    }
    Ok(out)
}

/// The files of one DP's data directory.
#[derive(Debug, Clone)]
pub struct DpFiles {
    dir: PathBuf,
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DpError + '_ {
    move |source| DpError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(crate) fn corrupt(path: &Path, reason: impl Into<String>) -> DpError {
    DpError::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// fsync a directory, so that the renames and creations in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), DpError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Remove `path` if it exists.
pub(crate) fn remove_if_exists(path: &Path) -> Result<bool, DpError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(path)(e)),
    }
}

/// Read `path`, `None` if it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, DpError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Create `path` with `contents`, mode 0600, failing if it exists.
fn create_secret(path: &Path, contents: &str) -> Result<(), DpError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(contents.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Read a hex secret file, creating it from `fresh` first if it does not exist.
fn secret_hex(path: &Path, fresh: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>, DpError> {
    if !path.exists() {
        create_secret(path, &format!("{}\n", hex::encode(fresh())))?;
    }
    let text = fs::read_to_string(path).map_err(io(path))?;
    hex::decode(text.trim()).map_err(|e| corrupt(path, format!("not hex: {e}")))
}

impl DpFiles {
    /// The data directory `dir`, created (mode 0700 on Unix) if missing.
    ///
    /// # Errors
    /// [`DpError::Io`] if it cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, DpError> {
        let dir = dir.into();
        if !dir.exists() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(&dir).map_err(io(&dir))?;
        }
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The OPRF key, generated and written on first use.
    ///
    /// # Errors
    /// I/O errors, or a file that does not hold a valid key.
    pub fn key(&self) -> Result<DpKey, DpError> {
        let path = self.dir.join(KEY_FILE);
        let mut generated = None;
        let bytes = secret_hex(&path, || {
            let key = DpKey::generate(&mut OsRng);
            let bytes = key
                .as_ref()
                .map(|k| k.to_bytes().to_vec())
                .unwrap_or_default();
            generated = Some(key);
            bytes
        })?;
        if let Some(Err(e)) = generated {
            return Err(e.into());
        }
        DpKey::from_bytes(&bytes).map_err(|e| corrupt(&path, e.to_string()))
    }

    /// The OHTTP gateway's secret, generated and written on first use.
    ///
    /// # Errors
    /// I/O errors, or a file that is not 32 bytes of hex.
    pub fn ohttp_secret(&self) -> Result<[u8; 32], DpError> {
        let path = self.dir.join(OHTTP_KEY_FILE);
        let bytes = secret_hex(&path, || {
            let mut b = [0u8; 32];
            OsRng.fill_bytes(&mut b);
            b.to_vec()
        })?;
        bytes
            .try_into()
            .map_err(|_| corrupt(&path, "expected 32 bytes of hex"))
    }

    /// The publisher token, generated and written on first use.
    ///
    /// # Errors
    /// I/O errors, or a file that is not 32 bytes of hex.
    pub fn publisher_token(&self) -> Result<String, DpError> {
        let path = self.dir.join(TOKEN_FILE);
        let bytes = secret_hex(&path, || {
            let mut b = [0u8; 32];
            OsRng.fill_bytes(&mut b);
            b.to_vec()
        })?;
        if bytes.len() != 32 {
            return Err(corrupt(&path, "expected 32 bytes of hex"));
        }
        Ok(hex::encode(bytes))
    }

    /// The publishers the DP accepts: [`DEFAULT_PUBLISHER`] if [`TOKEN_FILE`] exists, then
    /// those of [`PUBLISHERS_FILE`] in the order they were added.
    ///
    /// # Errors
    /// I/O errors, or a file with invalid contents.
    pub fn publishers(&self) -> Result<Vec<Publisher>, DpError> {
        let mut out = Vec::new();
        let token_path = self.dir.join(TOKEN_FILE);
        if token_path.exists() {
            out.push(Publisher {
                name: DEFAULT_PUBLISHER.to_string(),
                token_sha256: token_hash(&self.publisher_token()?),
            });
        }
        let path = self.dir.join(PUBLISHERS_FILE);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&path)(e)),
        };
        // Shared against a concurrent `add_publisher` (which appends under an exclusive lock).
        file.lock_shared().map_err(io(&path))?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io(&path))?;
        out.extend(parse_publishers(&path, &text)?);
        Ok(out)
    }

    /// When [`PUBLISHERS_FILE`] last changed (modification time and length), `None` if it does
    /// not exist: a running DP reloads the publishers when this changes.
    pub(crate) fn publishers_stamp(&self) -> Option<(SystemTime, u64)> {
        let meta = fs::metadata(self.dir.join(PUBLISHERS_FILE)).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    /// Add a publisher named `name` and return its bearer token, which is shown this once:
    /// only its SHA-256 is kept ([`PUBLISHERS_FILE`]). A running DP accepts it from its next
    /// upload on.
    ///
    /// # Errors
    /// [`DpError::InvalidPublisherName`], [`DpError::DuplicatePublisher`] (also for
    /// [`DEFAULT_PUBLISHER`], which is [`TOKEN_FILE`]'s), I/O errors.
    pub fn add_publisher(&self, name: &str) -> Result<String, DpError> {
        check_publisher_name(name)?;
        if name == DEFAULT_PUBLISHER {
            return Err(DpError::DuplicatePublisher(name.to_string()));
        }
        let path = self.dir.join(PUBLISHERS_FILE);
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io(&path))?;
        // Exclusive: two concurrent additions cannot both take a name.
        file.lock().map_err(io(&path))?;
        let mut text = String::new();
        file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        file.read_to_string(&mut text).map_err(io(&path))?;
        if parse_publishers(&path, &text)?
            .iter()
            .any(|p| p.name == name)
        {
            return Err(DpError::DuplicatePublisher(name.to_string()));
        }
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let mut line = String::new();
        if text.is_empty() {
            line.push_str(PUBLISHERS_HEADER);
        } else if !text.ends_with('\n') {
            line.push('\n');
        }
        line.push_str(&format!("{name} {}\n", hex::encode(token_hash(&token))));
        file.write_all(line.as_bytes()).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))?;
        if text.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(token)
    }

    /// Lock the directory for one running DP (an advisory `flock` on [`LOCK_FILE`], released
    /// when the returned file is dropped).
    ///
    /// # Errors
    /// [`DpError::InUse`] if another process holds it, I/O errors.
    pub(crate) fn lock(&self) -> Result<File, DpError> {
        let path = self.dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(fs::TryLockError::WouldBlock) => Err(DpError::InUse {
                path: self.dir.display().to_string(),
            }),
            Err(fs::TryLockError::Error(e)) => Err(io(&path)(e)),
        }
    }

    /// The snapshot as last saved (empty if never saved), loaded at `now` (Unix seconds):
    /// expired records are dropped. This is [`STORE_FILE`] alone, without the uploads in the
    /// journal since; [`crate::DpState::open`] replays those too.
    ///
    /// # Errors
    /// I/O errors, or a snapshot that does not load.
    pub fn load_store(&self, now: u64, max_records: usize) -> Result<MemoryStore, DpError> {
        let path = self.dir.join(STORE_FILE);
        match fs::read(&path) {
            Ok(bytes) => MemoryStore::from_snapshot(&bytes, now, max_records)
                .map_err(|e| corrupt(&path, e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(MemoryStore::with_max_records(max_records))
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Replace the saved store with `snapshot` atomically: a temporary file, fsync, rename,
    /// fsync of the directory. A crash leaves either the old or the new snapshot. Meant for a
    /// directory no DP is serving (building one offline, as `mimi bench` does): a running DP
    /// writes its snapshots itself, in step with its journal.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save_store(&self, snapshot: &[u8]) -> Result<(), DpError> {
        let path = self.dir.join(STORE_FILE);
        let tmp = self.dir.join(format!("{STORE_FILE}.tmp"));
        {
            let mut options = OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(io(&tmp))?;
            file.write_all(snapshot).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        // The rename is durable once the directory entry is.
        sync_dir(&self.dir)
    }
}
