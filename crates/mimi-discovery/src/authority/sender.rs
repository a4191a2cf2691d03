//! Delivering one-time codes: the [`CodeSender`] trait, an in-memory [`RecordingSender`] for
//! tests and a [`FileCodeSender`] for tests and the demo (docs/decisions/0128).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use mimi_types::id::{ProviderDomain, UserUri};

use crate::error::Error;
use crate::sii::Sii;

/// One one-time code to deliver, with what it authorizes, so that a real sender can tell the
/// recipient what they are agreeing to (discovery-requirements R1): "Your b.example code is
/// 123456. Entering it maps +1 202-555-0101 to mimi://b.example/u/bob. If you did not ask for
/// this, ignore this message."
#[derive(Debug, Clone, Copy)]
pub struct CodeMessage<'a> {
    /// The mapping authority asking.
    pub authority: &'a ProviderDomain,
    /// Where to deliver the code: a phone number (SMS, voice) or an email address.
    pub sii: &'a Sii,
    /// The code, decimal digits.
    pub code: &'a str,
    /// The SSIs the recipient is asked to map the SII to (may be empty: "not discoverable").
    pub requested_ssis: &'a [UserUri],
    /// The last second (UNIX time) at which the code is accepted.
    pub expires_at: u64,
}

/// Delivers one-time codes to SIIs: by SMS or voice to a phone number, by mail to an email
/// address, in a real deployment. The mapping authority calls it once per challenge; an error
/// ([`Error::Delivery`]) means the challenge is not created (it still counts against the SII's
/// rate limit: a timed-out send may have been delivered).
///
/// Implementations must deliver only to `message.sii` itself: control of the SII is exactly
/// what the code proves.
pub trait CodeSender {
    /// Deliver `message.code` to `message.sii`.
    fn send(&mut self, message: &CodeMessage<'_>) -> Result<(), Error>;
}

impl<S: CodeSender + ?Sized> CodeSender for &mut S {
    fn send(&mut self, message: &CodeMessage<'_>) -> Result<(), Error> {
        (**self).send(message)
    }
}

impl<S: CodeSender + ?Sized> CodeSender for Box<S> {
    fn send(&mut self, message: &CodeMessage<'_>) -> Result<(), Error> {
        (**self).send(message)
    }
}

/// A code [`RecordingSender`] delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCode {
    /// The SII it was sent to.
    pub sii: Sii,
    /// The code.
    pub code: String,
    /// The SSIs it authorizes.
    pub requested_ssis: Vec<UserUri>,
    /// When it stops being accepted.
    pub expires_at: u64,
}

/// Keeps every code in memory instead of delivering it. **For tests only.** It can be told to
/// fail, to exercise delivery errors.
#[derive(Debug, Clone, Default)]
pub struct RecordingSender {
    sent: Vec<SentCode>,
    failing: bool,
}

impl RecordingSender {
    /// A sender that records and succeeds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Make every following [`CodeSender::send`] fail (`true`) or succeed again (`false`).
    pub fn set_failing(&mut self, failing: bool) {
        self.failing = failing;
    }

    /// Every code sent, oldest first.
    pub fn sent(&self) -> &[SentCode] {
        &self.sent
    }

    /// The last code sent to `sii`.
    pub fn last_code_for(&self, sii: &Sii) -> Option<&str> {
        self.sent
            .iter()
            .rev()
            .find(|s| &s.sii == sii)
            .map(|s| s.code.as_str())
    }
}

impl CodeSender for RecordingSender {
    fn send(&mut self, message: &CodeMessage<'_>) -> Result<(), Error> {
        if self.failing {
            return Err(Error::Delivery(
                "the recording sender was told to fail".into(),
            ));
        }
        self.sent.push(SentCode {
            sii: message.sii.clone(),
            code: message.code.to_owned(),
            requested_ssis: message.requested_ssis.to_vec(),
            expires_at: message.expires_at,
        });
        Ok(())
    }
}

/// The name of the file [`FileCodeSender`] appends to, in its directory.
pub const CODES_FILE_NAME: &str = "one-time-codes.txt";

/// Appends one line `<sii> <code>` per code to [`CODES_FILE_NAME`] in a directory, instead of
/// delivering it. **For tests and the demo only**: it proves nothing about control of the SII,
/// since whoever reads the file gets every code. The file is created with mode 0600 on Unix.
///
/// This is the only part of the mapping authority that does I/O.
#[derive(Debug, Clone)]
pub struct FileCodeSender {
    dir: PathBuf,
}

impl FileCodeSender {
    /// A sender writing into `dir`, which must exist.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file the codes are appended to.
    pub fn path(&self) -> PathBuf {
        self.dir.join(CODES_FILE_NAME)
    }

    /// The last code written for `sii`, if any (reads the file; for tests and the demo).
    pub fn last_code_for(&self, sii: &Sii) -> Result<Option<String>, Error> {
        let text = match std::fs::read_to_string(self.path()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Delivery(format!("reading the codes file: {e}"))),
        };
        Ok(text
            .lines()
            .rev()
            .filter_map(|l| l.split_once(' '))
            .find(|(s, _)| *s == sii.as_str())
            .map(|(_, code)| code.to_owned()))
    }
}

impl CodeSender for FileCodeSender {
    fn send(&mut self, message: &CodeMessage<'_>) -> Result<(), Error> {
        let sii = message.sii.as_str();
        // Normalized SIIs have neither; refuse rather than write a line that reads otherwise.
        let unsafe_char = |c: char| c.is_whitespace() || c.is_control();
        if sii.contains(unsafe_char) || message.code.contains(unsafe_char) {
            return Err(Error::Delivery(
                "whitespace in an SII or code would break the file's lines".into(),
            ));
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let io = |e: std::io::Error| Error::Delivery(format!("writing the codes file: {e}"));
        let mut file = options.open(self.path()).map_err(io)?;
        // One write per line: concurrent appenders do not interleave within it.
        file.write_all(format!("{sii} {}\n", message.code).as_bytes())
            .map_err(io)
    }
}
