//! Email addresses (RFC 5322 `addr-spec`, dot-atom subset).

use std::fmt;
use std::str::FromStr;

use super::domain::ProviderDomain;
use super::error::IdError;
use super::percent;

/// Longest local part, in bytes (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_LEN: usize = 64;

/// Longest address, in bytes (RFC 5321 §4.5.3.1.3: a 256-byte path less the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// An email address used as a connection-establishment identifier
/// (draft-kohbrok-mimi-identifiers-00; draft-ietf-mimi-protocol-06 §5.8 `email` queries match the
/// RFC 5322 `addr-spec` exactly).
///
/// Accepted (docs/decisions/0026): `local@domain` with an optional `mailto:` prefix (RFC 6068;
/// percent-encoding is decoded, header fields `?...` are rejected) and surrounding whitespace.
/// The local part is a dot-atom (RFC 5322 §3.2.3 `atext` plus, per RFC 6532, non-ASCII
/// characters), 1 to [`MAX_LOCAL_LEN`] bytes, kept exactly as written: local parts are
/// case-sensitive (RFC 5321 §2.4). Quoted local parts and domain literals are rejected. The
/// domain is normalized like a [`ProviderDomain`] (lowercase, A-labels) and must have at least
/// two labels. Canonical form ([`fmt::Display`]): `local@domain`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    text: String,
    at: usize,
    domain: ProviderDomain,
}

impl EmailAddress {
    /// Parse and normalize an email address.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim();
        if s.len() > 3 * MAX_EMAIL_LEN {
            return Err(IdError::InvalidEmail("longer than 254 bytes"));
        }
        let decoded;
        let s = match s.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("mailto:") => {
                let rest = &s[7..];
                if rest.contains('?') {
                    return Err(IdError::InvalidEmail(
                        "mailto: header fields (\"?...\") are not supported",
                    ));
                }
                decoded = percent::decode_all(rest)
                    .map_err(|_| IdError::InvalidEmail("bad percent-encoding in mailto: URI"))?;
                decoded.as_str()
            }
            _ => s,
        };
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or(IdError::InvalidEmail("no \"@\""))?;
        check_local(local)?;
        if domain.starts_with('[') {
            return Err(IdError::InvalidEmail("domain literals are not supported"));
        }
        let domain = ProviderDomain::parse(domain)
            .map_err(|_| IdError::InvalidEmail("the domain is not a valid domain name"))?;
        if !domain.as_str().contains('.') {
            return Err(IdError::InvalidEmail(
                "the domain needs at least two labels",
            ));
        }
        let text = format!("{local}@{domain}");
        if text.len() > MAX_EMAIL_LEN {
            return Err(IdError::InvalidEmail("longer than 254 bytes"));
        }
        Ok(Self {
            at: local.len(),
            text,
            domain,
        })
    }

    /// The canonical form, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The local part, exactly as written.
    pub fn local_part(&self) -> &str {
        self.text.get(..self.at).unwrap_or_default()
    }

    /// The domain, normalized.
    pub fn domain(&self) -> &ProviderDomain {
        &self.domain
    }

    /// The `mailto:` URI. Characters of the local part that RFC 6068 does not allow literally
    /// are percent-encoded.
    pub fn to_mailto_uri(&self) -> String {
        let mut out = String::from("mailto:");
        percent::encode_into(self.local_part(), &mut out);
        out.push('@');
        out.push_str(self.domain.as_str());
        out
    }
}

/// RFC 5322 §3.2.3 `atext`, extended by RFC 6532 §3.2 to non-ASCII characters.
fn is_atext(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '!' | '#'
                    | '$'
                    | '%'
                    | '&'
                    | '\''
                    | '*'
                    | '+'
                    | '-'
                    | '/'
                    | '='
                    | '?'
                    | '^'
                    | '_'
                    | '`'
                    | '{'
                    | '|'
                    | '}'
                    | '~'
            )
    } else {
        !c.is_control() && !c.is_whitespace()
    }
}

fn check_local(local: &str) -> Result<(), IdError> {
    if local.is_empty() {
        return Err(IdError::InvalidEmail("empty local part"));
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(IdError::InvalidEmail("local part longer than 64 bytes"));
    }
    if local.starts_with('"') {
        return Err(IdError::InvalidEmail(
            "quoted local parts are not supported",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(IdError::InvalidEmail(
            "a local part does not start or end with \".\" or contain \"..\"",
        ));
    }
    if !local.chars().all(|c| c == '.' || is_atext(c)) {
        return Err(IdError::InvalidEmail(
            "character not allowed in a local part",
        ));
    }
    Ok(())
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for EmailAddress {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

super::serde_as_string!(EmailAddress);

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        EmailAddress::parse(s).unwrap().to_string()
    }

    #[test]
    fn normalizes_domain_only() {
        assert_eq!(canon("asmith@a.example"), "asmith@a.example");
        assert_eq!(canon("ASmith@A.Example"), "ASmith@a.example");
        assert_eq!(canon(" mailto:asmith@a.example "), "asmith@a.example");
        assert_eq!(canon("MAILTO:a%2Bb@a.example"), "a+b@a.example");
        assert_eq!(canon("x@bücher.example"), "x@xn--bcher-kva.example");
        assert_eq!(canon("jürgen@a.example"), "jürgen@a.example");
        assert_eq!(
            canon("a.b+tag!#$%&'*/=?^_`{|}~-@a.example"),
            "a.b+tag!#$%&'*/=?^_`{|}~-@a.example"
        );
        assert_ne!(
            EmailAddress::parse("ASmith@a.example").unwrap(),
            EmailAddress::parse("asmith@a.example").unwrap()
        );
        let e = EmailAddress::parse("ASmith@A.Example").unwrap();
        assert_eq!(e.local_part(), "ASmith");
        assert_eq!(e.domain().as_str(), "a.example");
        assert_eq!(
            EmailAddress::parse("a+b@a.example")
                .unwrap()
                .to_mailto_uri(),
            "mailto:a+b@a.example"
        );
        assert_eq!(
            EmailAddress::parse("a%b@a.example")
                .unwrap()
                .to_mailto_uri(),
            "mailto:a%25b@a.example"
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "asmith",
            "@a.example",
            "asmith@",
            "a smith@a.example",
            "\"a smith\"@a.example",
            ".asmith@a.example",
            "asmith.@a.example",
            "a..smith@a.example",
            "asmith@localhost",
            "asmith@[192.0.2.1]",
            "asmith@a_b.example",
            "a(b)@a.example",
            "a,b@a.example",
            "a@b@a.example",
            "mailto:asmith@a.example?subject=hi",
            "mailto:a%ZZ@a.example",
        ] {
            assert!(
                matches!(EmailAddress::parse(bad), Err(IdError::InvalidEmail(_))),
                "{bad:?}: {:?}",
                EmailAddress::parse(bad)
            );
        }
        let long_local = format!("{}@a.example", "a".repeat(65));
        assert!(EmailAddress::parse(&long_local).is_err());
        let ok_local = format!("{}@a.example", "a".repeat(64));
        assert!(EmailAddress::parse(&ok_local).is_ok());
    }
}
