//! Reading certificates: parsing with structural checks, extensions, names, times.
//!
//! Everything here is total on any input: x509-parser returns errors rather than panicking, and
//! no function indexes or unwraps parsed data.

use mimi_types::id::{ClientUri, MimiUri, UriKind, UserUri};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_PKCS1_RSASSAPSS, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ED25519,
    OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER, OID_X509_EXT_BASIC_CONSTRAINTS,
    OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE, OID_X509_EXT_SUBJECT_ALT_NAME, Oid,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Version};

use crate::error::{CredentialError, echo};

/// Parse one DER certificate and check the structure RFC 5280 requires of it: nothing after
/// it, version 3, the two signature algorithm fields equal (§4.1.1.2), no duplicate extension
/// (§4.2), every extension x509-parser knows decodes, and no critical extension this crate
/// does not process (§4.2: "MUST reject").
pub(crate) fn parse(der: &[u8], index: usize) -> Result<X509Certificate<'_>, CredentialError> {
    let malformed = |reason: String| CredentialError::MalformedCertificate { index, reason };
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| {
        // Where our byte-level check also fails, its reason is the more precise one.
        malformed(check_unsigned_parts(der).map_or_else(Into::into, |()| echo(&e.to_string())))
    })?;
    if !rest.is_empty() {
        return Err(malformed(format!(
            "{} bytes after the certificate",
            rest.len()
        )));
    }
    check_unsigned_parts(der).map_err(|reason| malformed(reason.into()))?;
    if cert.version() != X509Version::V3 {
        return Err(malformed("not a version 3 certificate".into()));
    }
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(malformed(
            "signatureAlgorithm differs from the signature field of tbsCertificate".into(),
        ));
    }
    cert.extensions_map()
        .map_err(|_| malformed("duplicate extension".into()))?;
    for ext in cert.extensions() {
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            return Err(malformed(echo(&format!(
                "extension {}: {error}",
                ext.oid.to_id_string()
            ))));
        }
        let processed = [
            &OID_X509_EXT_SUBJECT_ALT_NAME,
            &OID_X509_EXT_KEY_USAGE,
            &OID_X509_EXT_EXTENDED_KEY_USAGE,
            &OID_X509_EXT_BASIC_CONSTRAINTS,
        ];
        if ext.critical && !processed.contains(&&ext.oid) {
            return Err(CredentialError::UnknownCriticalExtension {
                index,
                oid: echo(&ext.oid.to_id_string()),
            });
        }
    }
    Ok(cert)
}

/// A parsed TLV: tag, contents, the whole TLV, and the input after it.
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// One DER TLV: tag, contents, the whole TLV, and what follows. Strict DER (X.690 §10.1):
/// low-tag-number form, definite length in the fewest octets. Lengths above 2^24 are refused
/// (no certificate here is near that).
fn der_tlv(input: &[u8]) -> Result<Tlv<'_>, &'static str> {
    let [tag, first, rest @ ..] = input else {
        return Err("truncated DER");
    };
    if tag & 0x1f == 0x1f {
        return Err("high-tag-number form");
    }
    let (len, header) = match *first {
        n if n < 0x80 => (usize::from(n), 2),
        0x81..=0x83 => {
            let count = usize::from(first & 0x7f);
            let bytes = rest.get(..count).ok_or("truncated DER length")?;
            if bytes.first() == Some(&0) {
                return Err("non-minimal DER length");
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len < 0x80 {
                return Err("non-minimal DER length");
            }
            (len, 2 + count)
        }
        _ => return Err("unsupported DER length"),
    };
    let end = header.checked_add(len).ok_or("DER length overflow")?;
    let whole = input.get(..end).ok_or("truncated DER value")?;
    Ok((*tag, &whole[header..], whole, &input[end..]))
}

/// Check, byte for byte, the parts of a certificate its signature does not cover: the outer
/// SEQUENCE, the outer signatureAlgorithm (must equal the signed one, RFC 5280 §4.1.1.2) and the
/// signatureValue BIT STRING (no unused bits). x509-parser is lenient there (it accepts an
/// AlgorithmIdentifier whose OID has the wrong tag), which would let anyone make a different
/// byte string that verifies as the same certificate.
fn check_unsigned_parts(der: &[u8]) -> Result<(), &'static str> {
    let (tag, body, _, rest) = der_tlv(der)?;
    if tag != 0x30 || !rest.is_empty() {
        return Err("not a single DER SEQUENCE");
    }
    let (tbs_tag, tbs, _, rest) = der_tlv(body)?;
    let (alg_tag, _, outer_alg, rest) = der_tlv(rest)?;
    let (sig_tag, sig, _, rest) = der_tlv(rest)?;
    if tbs_tag != 0x30 || alg_tag != 0x30 || sig_tag != 0x03 || !rest.is_empty() {
        return Err(
            "Certificate is not SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }",
        );
    }
    if sig.first() != Some(&0) {
        return Err("signatureValue has unused bits");
    }
    // tbsCertificate: [0] version (optional), serialNumber, signature AlgorithmIdentifier.
    let (tag, _, _, mut rest) = der_tlv(tbs)?;
    if tag == 0xa0 {
        let (_, _, _, after) = der_tlv(rest)?;
        rest = after;
    }
    let (_, _, inner_alg, _) = der_tlv(rest)?;
    if inner_alg != outer_alg {
        return Err("signatureAlgorithm is not byte-identical to the signed signature field");
    }
    Ok(())
}

/// The signature algorithms accepted on certificates: what ring verifies, without SHA-1
/// (docs/decisions/0040). Our own CAs sign with Ed25519 only.
pub(crate) fn check_signature_algorithm(
    cert: &X509Certificate<'_>,
    index: usize,
) -> Result<(), CredentialError> {
    let oid = &cert.signature_algorithm.algorithm;
    let accepted: [&Oid<'_>; 7] = [
        &OID_SIG_ED25519,
        &OID_SIG_ECDSA_WITH_SHA256,
        &OID_SIG_ECDSA_WITH_SHA384,
        &OID_PKCS1_SHA256WITHRSA,
        &OID_PKCS1_SHA384WITHRSA,
        &OID_PKCS1_SHA512WITHRSA,
        &OID_PKCS1_RSASSAPSS,
    ];
    if accepted.contains(&oid) {
        Ok(())
    } else {
        Err(CredentialError::UnsupportedSignatureAlgorithm {
            index,
            oid: echo(&oid.to_id_string()),
        })
    }
}

/// A DER certificate as PEM, with LF line endings (as rcgen writes them).
pub(crate) fn to_pem(der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new("CERTIFICATE", der.to_vec()), config)
}

/// Whether basicConstraints says cA = TRUE.
pub(crate) fn is_ca(cert: &X509Certificate<'_>) -> bool {
    matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca)
}

/// The subjectKeyIdentifier, if any.
pub(crate) fn subject_key_id<'a>(cert: &X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        })
}

/// The keyIdentifier of the authorityKeyIdentifier, if any.
pub(crate) fn authority_key_id<'a>(cert: &X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions().iter().find_map(|ext| {
        if ext.oid != OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER {
            return None;
        }
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|k| k.0)
            }
            _ => None,
        }
    })
}

/// notBefore and notAfter as Unix seconds.
pub(crate) fn times(cert: &X509Certificate<'_>) -> (i64, i64) {
    let v = cert.validity();
    (v.not_before.timestamp(), v.not_after.timestamp())
}

/// The raw subject public key (for Ed25519, the 32-byte key; RFC 8410 §4).
pub(crate) fn raw_public_key<'b>(cert: &'b X509Certificate<'_>) -> &'b [u8] {
    &cert.tbs_certificate.subject_pki.subject_public_key.data
}

/// Whether a SubjectPublicKeyInfo is an Ed25519 key (RFC 8410 §3: the algorithm OID with
/// absent parameters).
pub(crate) fn is_ed25519(spki: &SubjectPublicKeyInfo<'_>) -> bool {
    spki.algorithm.algorithm == OID_SIG_ED25519
        && spki.algorithm.parameters.is_none()
        && spki.subject_public_key.data.len() == crate::profile::ED25519_PUBLIC_KEY_LEN
}

/// Whether a URI has the `mimi` scheme (schemes are case-insensitive, RFC 3986 §3.1).
fn is_mimi_scheme(uri: &str) -> bool {
    uri.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("mimi:"))
}

/// The `mimi://` URIs in subjectAltName, parsed. Other kinds of name (DNS names, e-mail
/// addresses, URIs of other schemes) are not ours to judge and are skipped
/// (docs/decisions/0041); an undecodable entry is an error.
pub(crate) fn san_mimi_uris(
    cert: &X509Certificate<'_>,
    index: usize,
) -> Result<Option<Vec<MimiUri>>, CredentialError> {
    let san =
        cert.subject_alternative_name()
            .map_err(|e| CredentialError::MalformedCertificate {
                index,
                reason: echo(&format!("subjectAltName: {e}")),
            })?;
    let Some(san) = san else {
        return Ok(None);
    };
    let mut uris = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::URI(uri) if is_mimi_scheme(uri) => {
                uris.push(MimiUri::parse(uri).map_err(CredentialError::InvalidSanUri)?);
            }
            GeneralName::Invalid(..) => return Err(CredentialError::MalformedSan),
            _ => {}
        }
    }
    Ok(Some(uris))
}

/// The client and user a leaf certificate names: exactly one client URI and one user URI in
/// subjectAltName, of the same provider (draft-mahy-mimi-identity-05 §"X.509 Certificates",
/// the "Single Combined Cert" example).
pub(crate) fn identity(
    cert: &X509Certificate<'_>,
) -> Result<(ClientUri, UserUri), CredentialError> {
    let uris = san_mimi_uris(cert, 0)?.ok_or(CredentialError::NoSubjectAltName)?;
    let mut clients = Vec::new();
    let mut users = Vec::new();
    for uri in uris {
        match uri.kind() {
            UriKind::Client => clients.push(uri),
            UriKind::User => users.push(uri),
            other => return Err(CredentialError::UnexpectedSanUri(other)),
        }
    }
    let client = one(
        clients,
        CredentialError::MissingClientUri,
        CredentialError::MultipleClientUris,
    )?;
    let user = one(
        users,
        CredentialError::MissingUserUri,
        CredentialError::MultipleUserUris,
    )?;
    let client = ClientUri::try_from(client).map_err(CredentialError::InvalidSanUri)?;
    let user = UserUri::try_from(user).map_err(CredentialError::InvalidSanUri)?;
    if client.domain() != user.domain() {
        return Err(CredentialError::SanDomainMismatch {
            client: client.domain().clone(),
            user: user.domain().clone(),
        });
    }
    Ok((client, user))
}

fn one(
    mut uris: Vec<MimiUri>,
    none: CredentialError,
    many: CredentialError,
) -> Result<MimiUri, CredentialError> {
    match (uris.pop(), uris.is_empty()) {
        (None, _) => Err(none),
        (Some(uri), true) => Ok(uri),
        (Some(_), false) => Err(many),
    }
}
