//! Provider domains: validated, normalized DNS names.

use std::fmt;
use std::str::FromStr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::error::{IdError, echo};

/// Longest domain name, in bytes of its A-label form without the trailing dot (RFC 1035 §2.3.4
/// allows 255 octets on the wire, i.e. 253 characters of text).
pub const MAX_DOMAIN_LEN: usize = 253;

/// Longest label, in bytes of its A-label form (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Inputs longer than this are rejected before IDNA processing (bounds the work done on input;
/// IDNA mapping can shrink text, e.g. by removing ignored code points, but never by this much
/// for a name that ends up valid).
const MAX_DOMAIN_INPUT_LEN: usize = 1024;

/// A provider's domain name: "each provider is represented by a domain name in the `host`
/// production of the `authority` of a MIMI URI" (draft-ietf-mimi-protocol-06 §3).
///
/// Normalized (docs/decisions/0021): UTS #46 processing (STD3 rules, so letters, digits and
/// hyphens only; lowercase; U-labels converted to A-labels, `bücher.example` becomes
/// `xn--bcher-kva.example`; A-labels are checked to decode to valid U-labels), one trailing dot
/// removed, at most [`MAX_DOMAIN_LEN`] bytes with labels of at most [`MAX_LABEL_LEN`]. IP
/// addresses are not domains: IP literals (`[::1]`) and names whose last label is all digits
/// (`192.0.2.1`) are rejected. Single-label names (`localhost`) are accepted.
///
/// Equality, hashing and ordering compare the normalized (A-label) form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderDomain(String);

impl ProviderDomain {
    /// Validate and normalize a domain name (A-labels or U-labels, any case, optional trailing
    /// dot).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let invalid = |reason| IdError::InvalidHost {
            host: echo(input),
            reason,
        };
        if input.is_empty() {
            return Err(invalid("empty domain name"));
        }
        if input.len() > MAX_DOMAIN_INPUT_LEN {
            return Err(IdError::TooLong {
                what: "domain",
                len: input.len(),
                limit: MAX_DOMAIN_LEN,
            });
        }
        if input.starts_with('[') {
            return Err(invalid(
                "IP literals are not provider domains (draft-ietf-mimi-protocol-06 §3)",
            ));
        }
        // Give a precise reason for the common ASCII mistakes before UTS #46 says "invalid".
        if let Some(c) = input
            .chars()
            .find(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.')))
        {
            return Err(if c == '_' {
                invalid(
                    "\"_\" is not allowed in a host name (RFC 952/1123 letters, digits, hyphens)",
                )
            } else if c.is_ascii_whitespace() || c.is_ascii_control() {
                invalid("whitespace or control character")
            } else {
                invalid("only letters, digits, hyphens and dots are allowed")
            });
        }
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        if trimmed.is_empty() || trimmed.split('.').any(str::is_empty) {
            return Err(invalid("empty label"));
        }
        let ascii = Uts46::new()
            .to_ascii(
                trimmed.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::CheckFirstLast,
                DnsLength::Ignore,
            )
            .map_err(|_| {
                invalid(
                    "not a valid internationalized domain name (UTS #46: bad A-label, \
                     disallowed character, or a label starting or ending with \"-\")",
                )
            })?;
        let ascii = ascii.into_owned();
        Self::check_ascii(&ascii).map_err(|e| match e {
            IdError::InvalidHost { reason, .. } => invalid(reason),
            other => other,
        })?;
        Ok(Self(ascii))
    }

    /// Checks on the A-label form.
    fn check_ascii(ascii: &str) -> Result<(), IdError> {
        let invalid = |reason| IdError::InvalidHost {
            host: echo(ascii),
            reason,
        };
        if ascii.len() > MAX_DOMAIN_LEN {
            return Err(IdError::TooLong {
                what: "domain",
                len: ascii.len(),
                limit: MAX_DOMAIN_LEN,
            });
        }
        let mut last = "";
        for label in ascii.split('.') {
            if label.is_empty() {
                return Err(invalid("empty label"));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(IdError::TooLong {
                    what: "domain label",
                    len: label.len(),
                    limit: MAX_LABEL_LEN,
                });
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(invalid(
                    "only letters, digits, hyphens and dots are allowed",
                ));
            }
            last = label;
        }
        if last.bytes().all(|b| b.is_ascii_digit()) {
            // RFC 3986 §3.2.2 reads such a host as an IPv4 address; RFC 3696 §2 rules out
            // all-numeric top-level labels.
            return Err(invalid(
                "an IP address is not a provider domain (last label is all digits)",
            ));
        }
        Ok(())
    }

    /// The normalized (A-label, lowercase) form, e.g. `xn--bcher-kva.example`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name with A-labels converted back to Unicode, for showing to people (never for
    /// comparison).
    pub fn to_unicode(&self) -> String {
        let (unicode, result) = idna::domain_to_unicode(&self.0);
        match result {
            Ok(()) => unicode,
            Err(_) => self.0.clone(),
        }
    }

    /// `local.invalid`, the domain draft-mahy-mimi-identity-05 suggests for identifiers that
    /// have no domain ("a URI scheme could use `local.invalid` in place of a resolvable domain
    /// name"; `.invalid` is reserved by RFC 6761 §6.4).
    pub fn local_invalid() -> Self {
        Self("local.invalid".to_owned())
    }

    /// The normalized form as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for ProviderDomain {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for ProviderDomain {
    type Error = IdError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl fmt::Display for ProviderDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ProviderDomain {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

super::serde_as_string!(ProviderDomain);

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        ProviderDomain::parse(s).unwrap().into_string()
    }

    #[test]
    fn normalizes_case_idn_and_trailing_dot() {
        assert_eq!(ok("A.Example"), "a.example");
        assert_eq!(ok("a.example."), "a.example");
        assert_eq!(ok("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(ok("BÜCHER.example"), "xn--bcher-kva.example");
        assert_eq!(ok("XN--BCHER-KVA.example"), "xn--bcher-kva.example");
        assert_eq!(ok("localhost"), "localhost");
        assert_eq!(ok("r3---sn-abc.example"), "r3---sn-abc.example");
        assert_eq!(ok("1.example"), "1.example");
        // Fullwidth full stop is a label separator under UTS #46.
        assert_eq!(ok("a\u{3002}example"), "a.example");
    }

    #[test]
    fn unicode_round_trip() {
        let d = ProviderDomain::parse("bücher.example").unwrap();
        assert_eq!(d.to_unicode(), "bücher.example");
        assert_eq!(ProviderDomain::parse(&d.to_unicode()).unwrap(), d);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            ".",
            "a..example",
            ".a.example",
            "-a.example",
            "a-.example",
            "a_b.example",
            "a b.example",
            "a.example:443",
            "[::1]",
            "192.0.2.1",
            "a.123",
            "xn--zz.example",
            "a\u{0}.example",
        ] {
            assert!(ProviderDomain::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long_label = format!("{}.example", "a".repeat(64));
        assert_eq!(
            ProviderDomain::parse(&long_label),
            Err(IdError::TooLong {
                what: "domain label",
                len: 64,
                limit: 63
            })
        );
        let ok_label = format!("{}.example", "a".repeat(63));
        assert!(ProviderDomain::parse(&ok_label).is_ok());
        let long = vec!["abcdefghi"; 26].join("."); // 26*10-1 = 259 bytes
        assert!(matches!(
            ProviderDomain::parse(&long),
            Err(IdError::TooLong { what: "domain", .. })
        ));
        let just = format!("{}.{}", vec!["abcdefghi"; 24].join("."), "abcdefghijklm"); // 253
        assert_eq!(just.len(), 253);
        assert!(ProviderDomain::parse(&just).is_ok());
    }
}
