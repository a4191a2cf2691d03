//! Display names: free text for people to read.

use std::fmt;
use std::str::FromStr;

use super::error::IdError;

/// Most Unicode scalar values in a display name.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;

/// Most bytes (UTF-8) in a display name.
pub const MAX_DISPLAY_NAME_BYTES: usize = 1024;

/// A display name ("decorative identifier", draft-kohbrok-mimi-identifiers-00): user-chosen,
/// user-facing, not unique, possibly not visible to providers.
///
/// **Never use a display name for authorization or addressing.** Anyone can call themselves
/// "Alice Smith"; the type deliberately has no conversion into any URI, handle or other
/// identifier type, so it cannot end up where an identity is checked.
///
/// Rules (docs/decisions/0028): surrounding whitespace is trimmed; the result is non-empty, at
/// most [`MAX_DISPLAY_NAME_CHARS`] Unicode scalar values and [`MAX_DISPLAY_NAME_BYTES`] bytes,
/// and contains no control characters (Unicode `Cc`: C0, DEL, C1, so no newlines or tabs), no
/// line or paragraph separators (U+2028, U+2029), and no bidirectional embedding, override or
/// isolate controls (U+202A..U+202E, U+2066..U+2069), which let a name reorder the text shown
/// around it. Otherwise the text is kept exactly (no case folding, no Unicode normalization).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DisplayName(String);

fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

impl DisplayName {
    /// Validate a display name (trimming surrounding whitespace).
    pub fn new(input: &str) -> Result<Self, IdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(IdError::EmptyDisplayName);
        }
        if s.len() > MAX_DISPLAY_NAME_BYTES {
            return Err(IdError::TooLong {
                what: "display name",
                len: s.len(),
                limit: MAX_DISPLAY_NAME_BYTES,
            });
        }
        let chars = s.chars().count();
        if chars > MAX_DISPLAY_NAME_CHARS {
            return Err(IdError::DisplayNameTooLong {
                len: chars,
                limit: MAX_DISPLAY_NAME_CHARS,
            });
        }
        if let Some(c) = s.chars().find(|&c| forbidden(c)) {
            return Err(IdError::DisplayNameControl(u32::from(c)));
        }
        Ok(Self(s.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, by value.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DisplayName {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

super::serde_as_string!(DisplayName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_trims() {
        assert_eq!(
            DisplayName::new("  Alice M. Smith ").unwrap().as_str(),
            "Alice M. Smith"
        );
        assert_eq!(
            DisplayName::new("Smith, Alice (Allie)").unwrap().as_str(),
            "Smith, Alice (Allie)"
        );
        assert_eq!(
            DisplayName::new("Jürgen 🦀 ユーザー").unwrap().as_str(),
            "Jürgen 🦀 ユーザー"
        );
        // Right-to-left text itself is fine; only the invisible direction controls are not.
        assert!(DisplayName::new("שלום").is_ok());
        let max = "é".repeat(256);
        assert!(DisplayName::new(&max).is_ok());
    }

    #[test]
    fn rejects() {
        assert_eq!(DisplayName::new(""), Err(IdError::EmptyDisplayName));
        assert_eq!(DisplayName::new(" \t\n "), Err(IdError::EmptyDisplayName));
        assert_eq!(
            DisplayName::new("a\nb"),
            Err(IdError::DisplayNameControl(0x0a))
        );
        assert_eq!(
            DisplayName::new("evil\u{202E}txt.exe"),
            Err(IdError::DisplayNameControl(0x202e))
        );
        assert_eq!(
            DisplayName::new("a\u{85}b"),
            Err(IdError::DisplayNameControl(0x85))
        );
        assert_eq!(
            DisplayName::new(&"a".repeat(257)),
            Err(IdError::DisplayNameTooLong {
                len: 257,
                limit: 256
            })
        );
        // 256 four-byte characters are 1024 bytes: fine; 257 characters are too many.
        assert!(DisplayName::new(&"🦀".repeat(256)).is_ok());
        assert!(matches!(
            DisplayName::new(&"🦀".repeat(257)),
            Err(IdError::TooLong {
                what: "display name",
                ..
            })
        ));
        assert_eq!(DisplayName::new("x").unwrap().to_string(), "x");
    }
}
