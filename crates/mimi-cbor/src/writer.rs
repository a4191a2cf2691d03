//! Shortest-form deterministic CBOR output.

use crate::major;

/// Appends deterministic CBOR: shortest-form heads and definite lengths only. Maps are
/// written as a count and then keys and values in the order given, so the caller writes keys
/// in bytewise order of their encodings.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    /// A head of major type `major` (0..=7) with its argument in the shortest form.
    pub fn head(&mut self, major: u8, arg: u64) -> &mut Self {
        let mt = major << 5;
        if arg < 24 {
            self.out.push(mt | arg as u8);
        } else if let Ok(b) = u8::try_from(arg) {
            self.out.extend_from_slice(&[mt | 24, b]);
        } else if let Ok(b) = u16::try_from(arg) {
            self.out.push(mt | 25);
            self.out.extend_from_slice(&b.to_be_bytes());
        } else if let Ok(b) = u32::try_from(arg) {
            self.out.push(mt | 26);
            self.out.extend_from_slice(&b.to_be_bytes());
        } else {
            self.out.push(mt | 27);
            self.out.extend_from_slice(&arg.to_be_bytes());
        }
        self
    }

    /// An unsigned integer.
    pub fn uint(&mut self, v: u64) -> &mut Self {
        self.head(major::UINT, v)
    }

    /// A negative integer given by its argument `n`: the value `-1 - n`.
    pub fn nint_arg(&mut self, n: u64) -> &mut Self {
        self.head(major::NINT, n)
    }

    /// A byte string.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.head(major::BYTES, b.len() as u64).raw(b)
    }

    /// A text string.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.head(major::TEXT, s.len() as u64).raw(s.as_bytes())
    }

    /// An array head of `len` elements.
    pub fn array(&mut self, len: usize) -> &mut Self {
        self.head(major::ARRAY, len as u64)
    }

    /// A map head of `len` key/value pairs.
    pub fn map(&mut self, len: usize) -> &mut Self {
        self.head(major::MAP, len as u64)
    }

    /// Bytes that already are deterministic CBOR (a validated item).
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }
}
