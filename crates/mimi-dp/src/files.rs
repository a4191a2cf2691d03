//! The data directory: the OPRF key, the publisher token and the store snapshot.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use mimi_lookup::rand_core::{OsRng, RngCore};
use mimi_lookup::{DpKey, MemoryStore};

use crate::DpError;

/// The OPRF secret key: 32 bytes, hex, mode 0600, created at first start.
pub const KEY_FILE: &str = "dp-key";
/// The bearer token publishers present on upload: 32 random bytes, hex, mode 0600.
pub const TOKEN_FILE: &str = "publisher-token";
/// The store's snapshot (`MemoryStore::snapshot`), replaced atomically.
pub const STORE_FILE: &str = "store.cbor";

/// The files of one DP's data directory.
#[derive(Debug, Clone)]
pub struct DpFiles {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DpError + '_ {
    move |source| DpError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> DpError {
    DpError::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
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

    /// The store as last saved (empty if never saved), loaded at `now` (Unix seconds):
    /// expired records are dropped.
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
    /// fsync of the directory. A crash leaves either the old or the new snapshot.
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
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }
}
