//! The trust file: a verifier's [`TrustSet`] as text (docs/discovery.md §4.4), what
//! `mimi lookup --trust FILE` and `mimi room add --trust FILE` read and
//! `mimi discovery authority trust` writes.
//!
//! ```text
//! # comment
//! authority b.example kid=HEX key=HEX provider=b.example
//! authority phones.example kid=HEX key=HEX asserts=phone
//! authority carrier.example kid=HEX key=HEX issuer-of=+44,@mail.example
//! ```
//!
//! One line per authority key. `provider=D` is a provider acting as its own authority
//! ([`Permissions::provider`]); `asserts=P` a third-party mapping authority for the SIIs `P`
//! ([`Permissions::sii_authority`]); `issuer-of=P` the issuer of `P`, which may only remove
//! ([`Permissions::sii_issuer`]). Exactly one of the three. `P` is a comma-separated list of
//! `phone` (every phone number), `+CC` (a country calling code), `email` (every address) and
//! `@domain` (addresses at that domain). Several lines with one id add keys to one authority
//! and must give it the same rights.

use ed25519_dalek::VerifyingKey;
use mimi_types::id::ProviderDomain;

use crate::error::Error;
use crate::trust::{Authority, KeyId, Permissions, SiiPattern, SiiScope, TrustSet};

/// The first line [`format_trust_line`]'s callers write, describing the format.
pub const TRUST_FILE_HEADER: &str = "# mimi discovery trust file: authority ID kid=HEX key=HEX (provider=DOMAIN | asserts=PATTERNS | issuer-of=PATTERNS)";

fn bad(line: usize, reason: impl Into<String>) -> Error {
    Error::TrustFile {
        line,
        reason: reason.into(),
    }
}

fn scope(line: usize, text: &str) -> Result<SiiScope, Error> {
    let mut patterns = Vec::new();
    for p in text.split(',') {
        let pattern = match p {
            "phone" => SiiPattern::AnyPhone,
            "email" => SiiPattern::AnyEmail,
            _ if p.starts_with('+') => SiiPattern::PhoneCountryCode(
                p[1..]
                    .parse()
                    .ok()
                    .filter(|cc| (1..=999).contains(cc))
                    .ok_or_else(|| bad(line, format!("`{p}`: not a country calling code")))?,
            ),
            _ if p.starts_with('@') => SiiPattern::EmailDomain(
                ProviderDomain::parse(&p[1..]).map_err(|e| bad(line, format!("`{p}`: {e}")))?,
            ),
            _ => {
                return Err(bad(
                    line,
                    format!("`{p}`: expected phone, +CC, email or @domain"),
                ));
            }
        };
        patterns.push(pattern);
    }
    Ok(SiiScope::of(patterns))
}

/// Parse a trust file. Blank lines and lines starting with `#` are ignored.
///
/// # Errors
/// [`Error::TrustFile`] with the (1-based) line and reason; [`Error::Config`] for a weak key
/// or a key id given twice.
pub fn parse_trust_file(text: &str) -> Result<TrustSet, Error> {
    let mut trust = TrustSet::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        if words.next() != Some("authority") {
            return Err(bad(n, "expected `authority ID kid=HEX key=HEX RIGHTS`"));
        }
        let id = words.next().ok_or_else(|| bad(n, "no authority id"))?;
        let id = ProviderDomain::parse(id).map_err(|e| bad(n, format!("authority id: {e}")))?;
        let (mut kid, mut key, mut rights) = (None, None, None);
        for w in words {
            let (name, value) = w
                .split_once('=')
                .ok_or_else(|| bad(n, format!("`{w}`: expected NAME=VALUE")))?;
            let hex_value = || hex::decode(value).map_err(|_| bad(n, format!("{name}: not hex")));
            let permissions = match name {
                "kid" => {
                    kid = Some(KeyId::new(hex_value()?)?);
                    continue;
                }
                "key" => {
                    let bytes: [u8; 32] = hex_value()?
                        .try_into()
                        .map_err(|_| bad(n, "key: expected 32 bytes"))?;
                    key = Some(
                        VerifyingKey::from_bytes(&bytes)
                            .map_err(|_| bad(n, "key: not an Ed25519 public key"))?,
                    );
                    continue;
                }
                "provider" => Permissions::provider(
                    ProviderDomain::parse(value).map_err(|e| bad(n, format!("provider: {e}")))?,
                ),
                "asserts" => Permissions::sii_authority(scope(n, value)?),
                "issuer-of" => Permissions::sii_issuer(scope(n, value)?),
                _ => return Err(bad(n, format!("unknown field `{name}`"))),
            };
            if rights.replace(permissions).is_some() {
                return Err(bad(n, "give one of provider=, asserts= or issuer-of="));
            }
        }
        let (Some(kid), Some(key), Some(rights)) = (kid, key, rights) else {
            return Err(bad(
                n,
                "kid=, key= and one of provider=, asserts=, issuer-of= are required",
            ));
        };
        let authority = match trust.get(&id) {
            Some(known) if known.permissions() != &rights => {
                return Err(bad(
                    n,
                    format!("{id}: other rights than on an earlier line"),
                ));
            }
            Some(known) => known.clone(),
            None => Authority::new(id, rights),
        };
        trust.insert(authority.with_key(kid, key)?);
    }
    Ok(trust)
}

/// The trust-file line for a provider acting as its own authority.
pub fn format_trust_line(
    id: &ProviderDomain,
    kid: &KeyId,
    key: &VerifyingKey,
    provider: &ProviderDomain,
) -> String {
    format!(
        "authority {id} kid={} key={} provider={provider}",
        hex::encode(kid.as_bytes()),
        hex::encode(key.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Signer, Sii};

    fn line(signer: &Signer, rights: &str) -> String {
        format!(
            "authority {} kid={} key={} {rights}",
            signer.authority(),
            hex::encode(signer.kid().as_bytes()),
            hex::encode(signer.verifying_key().as_bytes())
        )
    }

    #[test]
    fn parses_every_kind_of_authority() {
        let b = Signer::from_secret(ProviderDomain::parse("b.example").unwrap(), &[1; 32]);
        let b2 = Signer::from_secret(ProviderDomain::parse("b.example").unwrap(), &[4; 32]);
        let phones =
            Signer::from_secret(ProviderDomain::parse("phones.example").unwrap(), &[2; 32]);
        let carrier =
            Signer::from_secret(ProviderDomain::parse("carrier.example").unwrap(), &[3; 32]);
        let text = format!(
            "{TRUST_FILE_HEADER}\n\n{}\n{}\n  {}\n{}\n",
            format_trust_line(b.authority(), b.kid(), &b.verifying_key(), b.authority()),
            line(&b2, "provider=b.example"),
            line(&phones, "asserts=phone,@mail.example"),
            line(&carrier, "issuer-of=+44"),
        );
        let trust = parse_trust_file(&text).unwrap();
        let b_auth = trust.get(b.authority()).unwrap();
        assert!(b_auth.key(b.kid().as_bytes()).is_some());
        assert!(b_auth.key(b2.kid().as_bytes()).is_some());
        let p = trust.get(phones.authority()).unwrap().permissions();
        assert!(p.assert_siis.covers(&Sii::parse("+442071838750").unwrap()));
        assert!(p.assert_siis.covers(&Sii::parse("x@mail.example").unwrap()));
        assert!(
            !p.assert_siis
                .covers(&Sii::parse("x@other.example").unwrap())
        );
        let c = trust.get(carrier.authority()).unwrap().permissions();
        assert!(
            c.sii_issuer_for
                .covers(&Sii::parse("+442071838750").unwrap())
        );
        assert!(
            !c.sii_issuer_for
                .covers(&Sii::parse("+12025550101").unwrap())
        );
        assert!(!c.assert_siis.covers(&Sii::parse("+442071838750").unwrap()));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let b = Signer::from_secret(ProviderDomain::parse("b.example").unwrap(), &[1; 32]);
        let good = line(&b, "provider=b.example");
        for (text, want_line) in [
            ("trust b.example".to_string(), 1),
            (format!("{good}\nauthority b.example kid=00"), 2),
            (line(&b, "provider=b.example asserts=phone"), 1),
            (line(&b, "asserts=fax"), 1),
            (line(&b, "asserts=+0"), 1),
            (line(&b, "color=blue"), 1),
            (format!("# x\n{}", line(&b, "")), 2),
            (format!("{good}\n{}", line(&b, "asserts=phone")), 2),
        ] {
            match parse_trust_file(&text) {
                Err(Error::TrustFile { line, .. }) => assert_eq!(line, want_line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // The same key id twice for one authority.
        assert!(matches!(
            parse_trust_file(&format!("{good}\n{good}")),
            Err(Error::Config(_))
        ));
    }
}
