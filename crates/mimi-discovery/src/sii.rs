//! Service-independent identifiers (SIIs): what a sender knows a recipient by.

use std::fmt;
use std::str::FromStr;

use mimi_types::id::{ConnectionId, EmailAddress, PhoneNumber};

use crate::cbor::{Reader, Writer};
use crate::error::{Error, Malformed};

/// Wire code of a phone-number SII.
const KIND_PHONE: u64 = 1;
/// Wire code of an email SII.
const KIND_EMAIL: u64 = 2;
/// Longest E.164 text: `+` and 15 digits.
const MAX_PHONE_TEXT: usize = 16;

/// A service-independent identifier (the IETF 118 discovery framing; "cross-service identifier",
/// CSI, in draft-interop-mimi-discovery-requirements): a phone number in E.164 form or an email
/// address, both normalized by `mimi-types` (docs/decisions/0025, 0026). Handles are service
/// specific and cannot be SIIs.
///
/// Encoded as `[kind, value]`: `[1, "+12025550101"]` or `[2, "alice@example.com"]`, the value
/// in exactly its normalized form (docs/discovery.md §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sii {
    /// An E.164 phone number.
    Phone(PhoneNumber),
    /// An email address.
    Email(EmailAddress),
}

impl Sii {
    /// Parse a written phone number (international form) or email address and normalize it.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let id =
            ConnectionId::parse(input).map_err(|_| Error::Invalid(Malformed::Identifier("SII")))?;
        Self::try_from(id)
    }

    /// The normalized text: E.164 (`+12025550101`) or `local@domain`.
    pub fn as_str(&self) -> &str {
        match self {
            Sii::Phone(p) => p.as_str(),
            Sii::Email(e) => e.as_str(),
        }
    }

    /// The same identifier as a MIMI connection identifier (what `mimi-lookup` blinds).
    pub fn to_connection_id(&self) -> ConnectionId {
        match self {
            Sii::Phone(p) => ConnectionId::Phone(p.clone()),
            Sii::Email(e) => ConnectionId::Email(e.clone()),
        }
    }

    /// The wire kind code: 1 for a phone number, 2 for an email address.
    pub fn kind_code(&self) -> u64 {
        match self {
            Sii::Phone(_) => KIND_PHONE,
            Sii::Email(_) => KIND_EMAIL,
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.array(2);
        w.uint(self.kind_code());
        w.text(self.as_str());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Malformed> {
        if r.array(2, "SII elements")? != 2 {
            return Err(Malformed::UnexpectedType {
                expected: "SII [kind, value]",
            });
        }
        match r.uint("SII kind")? {
            KIND_PHONE => {
                let text = r.text(2, MAX_PHONE_TEXT, "SII phone number")?;
                let p = PhoneNumber::parse(text).map_err(|_| Malformed::Identifier("SII"))?;
                if p.as_str() != text {
                    return Err(Malformed::NotNormalized("SII"));
                }
                Ok(Sii::Phone(p))
            }
            KIND_EMAIL => {
                let text = r.text(3, mimi_types::id::MAX_EMAIL_LEN, "SII email address")?;
                let e = EmailAddress::parse(text).map_err(|_| Malformed::Identifier("SII"))?;
                if e.as_str() != text {
                    return Err(Malformed::NotNormalized("SII"));
                }
                Ok(Sii::Email(e))
            }
            _ => Err(Malformed::UnknownKind("SII kind")),
        }
    }
}

impl TryFrom<ConnectionId> for Sii {
    type Error = Error;

    fn try_from(id: ConnectionId) -> Result<Self, Self::Error> {
        match id {
            ConnectionId::Phone(p) => Ok(Sii::Phone(p)),
            ConnectionId::Email(e) => Ok(Sii::Email(e)),
            ConnectionId::Handle(_) => Err(Error::Invalid(Malformed::Identifier(
                "SII (a handle is service specific)",
            ))),
        }
    }
}

impl From<PhoneNumber> for Sii {
    fn from(p: PhoneNumber) -> Self {
        Sii::Phone(p)
    }
}

impl From<EmailAddress> for Sii {
    fn from(e: EmailAddress) -> Self {
        Sii::Email(e)
    }
}

impl fmt::Display for Sii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sii {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_phone_and_email_not_handles() {
        assert_eq!(
            Sii::parse("+1 202 555 0101").unwrap().as_str(),
            "+12025550101"
        );
        assert_eq!(
            Sii::parse("Bob@B.Example").unwrap().as_str(),
            "Bob@b.example"
        );
        assert!(Sii::parse("@bob@b.example").is_err());
    }

    #[test]
    fn round_trips_and_rejects_unnormalized() {
        for s in ["+12025550101", "bob@b.example"] {
            let sii = Sii::parse(s).unwrap();
            let mut w = Writer::new();
            sii.encode(&mut w);
            let b = w.into_bytes();
            let mut r = Reader::new(&b);
            assert_eq!(Sii::decode(&mut r).unwrap(), sii);
            r.finish().unwrap();
        }
        let mut w = Writer::new();
        w.array(2);
        w.uint(2);
        w.text("bob@B.example");
        let b = w.into_bytes();
        assert_eq!(
            Sii::decode(&mut Reader::new(&b)),
            Err(Malformed::NotNormalized("SII"))
        );
    }
}
