//! Phone numbers, always held in E.164 form.

use std::fmt;
use std::str::FromStr;

use phonenumber::Mode;
use phonenumber::country::Id as Region;

use super::error::{IdError, echo};

/// Longest written form accepted, in bytes after trimming.
const MAX_INPUT_LEN: usize = 64;

/// Most digits in a written number: 15 (ITU-T E.164 §6) plus a two-digit international prefix.
const MAX_DIGITS: usize = 17;

/// A telephone number, a connection-establishment identifier (draft-kohbrok-mimi-identifiers-00),
/// stored and displayed in E.164 form with the `+` prefix (`+12125551212`): the form
/// draft-ietf-mimi-protocol-06 §5.8 uses for `phone` identifier queries.
///
/// Parsing (docs/decisions/0025) accepts common written forms: `+1 (212) 555-1212`,
/// `+44 20 7946 0958`, `+44 (0)20 7946 0958`, `0044 20 7946 0958` (`00` as international
/// prefix), `tel:+1-212-555-1212` (RFC 3966 global numbers without parameters), and national
/// forms with an explicit region ([`PhoneNumber::parse_with_region`]). Separators are spaces,
/// `-`, `.`, `/`, `(` and `)`; letters (vanity numbers), extensions and `tel:` parameters are
/// rejected. The number must be valid for its country's numbering plan (libphonenumber data,
/// via the `phonenumber` crate); no default region is ever assumed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl PhoneNumber {
    /// Parse a number written in international form (`+` or `00` followed by the country code,
    /// or a `tel:` URI).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        Self::parse_inner(input, None)
    }

    /// Parse a number that may be written in the national form of `region` (an ISO 3166-1
    /// alpha-2 code such as `"GB"`, any case), e.g. `("020 7946 0958", "GB")`. International
    /// forms are accepted too, using `region`'s international prefix (`011` for `"US"`).
    pub fn parse_with_region(input: &str, region: &str) -> Result<Self, IdError> {
        let region_id = region
            .to_ascii_uppercase()
            .parse::<Region>()
            .map_err(|_| IdError::UnknownRegion(echo(region)))?;
        Self::parse_inner(input, Some(region_id))
    }

    fn parse_inner(input: &str, region: Option<Region>) -> Result<Self, IdError> {
        let cleaned = clean(input, region.is_some())?;
        let parsed = parse_valid(&cleaned, region)?;
        let e164 = parsed.format().mode(Mode::E164).to_string();
        // Guarantee that the stored form parses back to itself (idempotent normalization).
        let again = parse_valid(&e164, None)?;
        if again.format().mode(Mode::E164).to_string() != e164 {
            return Err(IdError::InvalidPhone(
                "the number has no stable E.164 form".to_owned(),
            ));
        }
        let digits = e164.strip_prefix('+').unwrap_or_default();
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::InvalidPhone(
                "the number has no valid E.164 form".to_owned(),
            ));
        }
        Ok(Self {
            country_code: parsed.code().value(),
            e164,
        })
    }

    /// The E.164 form, e.g. `+12125551212`.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The ITU-T country calling code, e.g. `1` or `44`.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The `tel:` URI (RFC 3966), e.g. `tel:+12125551212`.
    pub fn to_tel_uri(&self) -> String {
        format!("tel:{}", self.e164)
    }

    /// The international format for showing to people, e.g. `+1 212-555-1212` (never for
    /// comparison).
    pub fn to_international(&self) -> String {
        match phonenumber::parse(None, &self.e164) {
            Ok(n) => n.format().mode(Mode::International).to_string(),
            Err(_) => self.e164.clone(),
        }
    }
}

fn invalid(reason: &str) -> IdError {
    IdError::InvalidPhone(reason.to_owned())
}

/// Reduce a written number to `+digits` or bare digits for libphonenumber, accepting only the
/// characters documented on [`PhoneNumber`] (which also keeps unusual input away from the
/// library's parser).
fn clean(input: &str, have_region: bool) -> Result<String, IdError> {
    let s = input.trim();
    if s.len() > MAX_INPUT_LEN {
        return Err(invalid("too long"));
    }
    let (s, tel) = match s.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tel:") => (&s[4..], true),
        _ => (s, false),
    };
    if tel && s.contains(';') {
        return Err(invalid(
            "tel: URI parameters (extension, phone-context, ...) are not supported",
        ));
    }
    let s = s.trim_start();
    let plus = s.starts_with('+');
    if tel && !plus {
        return Err(invalid(
            "a tel: URI without parameters must be global (+...)",
        ));
    }
    let body = if plus { &s[1..] } else { s };
    // "+44 (0)20 ...": the trunk prefix in parentheses is not dialled from abroad.
    let body = if plus {
        body.replacen("(0)", "", 1)
    } else {
        body.to_owned()
    };
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '\t' | '\u{a0}' | '-' | '.' | '/' | '(' | ')' => {}
            '+' => return Err(invalid("\"+\" may only start the number")),
            c if c.is_ascii_alphabetic() => {
                return Err(invalid(
                    "letters (vanity numbers, extensions) are not supported",
                ));
            }
            _ => return Err(invalid("unexpected character")),
        }
    }
    if digits.len() < 3 {
        return Err(invalid("too few digits"));
    }
    if digits.len() > MAX_DIGITS {
        return Err(invalid("too many digits"));
    }
    if plus {
        Ok(format!("+{digits}"))
    } else if have_region {
        Ok(digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        // ITU-T E.164's recommended international prefix, used by most countries.
        Ok(format!("+{rest}"))
    } else {
        Err(invalid(
            "no country code: write it with \"+\" (or give the region of a national number)",
        ))
    }
}

/// Parse with libphonenumber and require a valid number without extension.
fn parse_valid(cleaned: &str, region: Option<Region>) -> Result<phonenumber::PhoneNumber, IdError> {
    let number =
        phonenumber::parse(region, cleaned).map_err(|e| IdError::InvalidPhone(e.to_string()))?;
    if number.extension().is_some() {
        return Err(invalid("extensions are not supported"));
    }
    if !phonenumber::is_valid(&number) {
        return Err(invalid(
            "not a valid number in its country's numbering plan",
        ));
    }
    Ok(number)
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl FromStr for PhoneNumber {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

super::serde_as_string!(PhoneNumber);

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(s: &str) -> String {
        match PhoneNumber::parse(s) {
            Ok(n) => n.as_str().to_owned(),
            Err(e) => panic!("{s:?}: {e}"),
        }
    }

    #[test]
    fn international_forms() {
        for s in [
            "+12125551212",
            "+1 (212) 555-1212",
            "+1 212 555 1212",
            "+1.212.555.1212",
            "+1-212-555-1212",
            "tel:+1-212-555-1212",
            "TEL:+1.212.555.1212",
            "0012125551212",
            " +1 212 555 1212 ",
        ] {
            assert_eq!(e164(s), "+12125551212", "{s}");
        }
        for s in [
            "+44 20 7946 0958",
            "+442079460958",
            "0044 20 7946 0958",
            "+44 (0)20 7946 0958",
            "+44 (0) 20 7946 0958",
        ] {
            assert_eq!(e164(s), "+442079460958", "{s}");
        }
        assert_eq!(e164("+49 30 901820"), "+4930901820");
        assert_eq!(e164("+33 1 42 68 53 00"), "+33142685300");
        let n = PhoneNumber::parse("+1 212 555 1212").unwrap();
        assert_eq!(n.country_code(), 1);
        assert_eq!(n.to_tel_uri(), "tel:+12125551212");
        assert_eq!(n.to_string(), "+12125551212");
    }

    #[test]
    fn national_forms_need_a_region() {
        let gb = PhoneNumber::parse_with_region("020 7946 0958", "GB").unwrap();
        assert_eq!(gb.as_str(), "+442079460958");
        assert_eq!(gb.country_code(), 44);
        assert_eq!(
            PhoneNumber::parse_with_region("(212) 555-1212", "us")
                .unwrap()
                .as_str(),
            "+12125551212"
        );
        assert_eq!(
            PhoneNumber::parse_with_region("011 44 20 7946 0958", "US")
                .unwrap()
                .as_str(),
            "+442079460958"
        );
        assert_eq!(
            PhoneNumber::parse_with_region("+1 212 555 1212", "GB")
                .unwrap()
                .as_str(),
            "+12125551212"
        );
        assert!(matches!(
            PhoneNumber::parse("020 7946 0958"),
            Err(IdError::InvalidPhone(_))
        ));
        assert!(matches!(
            PhoneNumber::parse_with_region("020 7946 0958", "XX"),
            Err(IdError::UnknownRegion(_))
        ));
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "+",
            "+1",
            "+1 212 555 121",
            "+1 212 555 12123",
            "+999 123 456 789",
            "+1 800 FLOWERS",
            "+1 212 555 1212 ext 3",
            "tel:+1-212-555-1212;ext=3",
            "tel:212-555-1212",
            "+1 212 +555 1212",
            "+1 212 555 1212 #",
            "+12125551212123456789",
            "alice@a.example",
        ] {
            assert!(
                matches!(PhoneNumber::parse(bad), Err(IdError::InvalidPhone(_))),
                "{bad:?} accepted: {:?}",
                PhoneNumber::parse(bad)
            );
        }
    }

    #[test]
    fn idempotent() {
        for s in ["+1 (212) 555-1212", "+44 20 7946 0958", "+39 06 6982 0000"] {
            let n = PhoneNumber::parse(s).unwrap();
            assert_eq!(PhoneNumber::parse(n.as_str()).unwrap(), n);
        }
    }
}
