//! Trust anchors: which CA certifies the clients of which provider.

use std::collections::BTreeMap;
use std::fmt;

use mimi_types::id::ProviderDomain;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::cert;
use crate::error::{CredentialError, echo};

/// Default tolerance for clocks that disagree, in seconds: 5 minutes, as for content
/// timestamps (docs/decisions/0014, 0043).
pub const DEFAULT_CLOCK_SKEW_SECS: i64 = 300;

/// One provider's client CA certificate, checked and with the parts verification needs.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    der: Vec<u8>,
    subject: Vec<u8>,
    spki: Vec<u8>,
    key_id: Option<Vec<u8>>,
    not_before: i64,
    not_after: i64,
}

impl TrustAnchor {
    /// Check a CA certificate for use as the trust anchor of `domain` (docs/decisions/0046):
    /// a well-formed v3 certificate,
    /// basicConstraints cA = TRUE, keyCertSign if keyUsage is present, and any `mimi://` URI
    /// in its subjectAltName of `domain`. Self-signature and validity are not checked here:
    /// an anchor is trusted because it is configured, and its validity is checked at each
    /// verification.
    pub fn new(domain: &ProviderDomain, der: &[u8]) -> Result<TrustAnchor, CredentialError> {
        let invalid = |e: CredentialError| CredentialError::InvalidCaCertificate(e.to_string());
        let cert = cert::parse(der, 0).map_err(invalid)?;
        check_ca(&cert)?;
        let uris = cert::san_mimi_uris(&cert, 0).map_err(invalid)?;
        if let Some(uri) = uris.iter().flatten().find(|u| !u.is_in_domain(domain)) {
            return Err(CredentialError::InvalidCaCertificate(format!(
                "it names {}, which is not of {domain}",
                echo(uri.as_str())
            )));
        }
        let (not_before, not_after) = cert::times(&cert);
        Ok(TrustAnchor {
            der: der.to_vec(),
            subject: cert.subject().as_raw().to_vec(),
            spki: cert.public_key().raw.to_vec(),
            key_id: cert::subject_key_id(&cert).map(<[u8]>::to_vec),
            not_before,
            not_after,
        })
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate, PEM.
    pub fn pem(&self) -> String {
        cert::to_pem(&self.der)
    }

    /// notBefore, Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// notAfter, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether `cert` names this anchor as its issuer: issuer name equal to our subject
    /// (RFC 5280 §4.1.2.4, compared as DER bytes) and, when both are present, authority key
    /// identifier equal to our subject key identifier (§4.2.1.1).
    pub(crate) fn could_have_issued(&self, cert: &X509Certificate<'_>) -> bool {
        if cert.issuer().as_raw() != self.subject.as_slice() {
            return false;
        }
        match (cert::authority_key_id(cert), &self.key_id) {
            (Some(aki), Some(ski)) => aki == ski.as_slice(),
            _ => true,
        }
    }

    /// Whether `cert`'s signature verifies with this anchor's key.
    pub(crate) fn signed(&self, cert: &X509Certificate<'_>) -> bool {
        match SubjectPublicKeyInfo::from_der(&self.spki) {
            Ok((_, spki)) => cert.verify_signature(Some(&spki)).is_ok(),
            Err(_) => false,
        }
    }
}

impl fmt::Debug for TrustAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchor")
            .field("der_len", &self.der.len())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// The checks every CA certificate must pass, as trust anchor or as a [`crate::ClientCa`].
pub(crate) fn check_ca(cert: &X509Certificate<'_>) -> Result<(), CredentialError> {
    if !cert::is_ca(cert) {
        return Err(CredentialError::InvalidCaCertificate(
            "not a CA certificate (basicConstraints cA is not TRUE)".into(),
        ));
    }
    match cert.key_usage() {
        Ok(Some(ku)) if !ku.value.key_cert_sign() => Err(CredentialError::InvalidCaCertificate(
            "keyUsage does not include keyCertSign".into(),
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(CredentialError::InvalidCaCertificate(echo(&e.to_string()))),
    }
}

/// Trust anchors by provider domain: the client CA certificates of the providers whose
/// credentials this party accepts (docs/decisions/0046), and the allowed clock skew.
///
/// A domain may have several anchors, so a provider can roll its CA over: certificates of the
/// old and the new CA verify while both are configured.
#[derive(Clone, Debug)]
pub struct TrustStore {
    anchors: BTreeMap<ProviderDomain, Vec<TrustAnchor>>,
    clock_skew_secs: i64,
}

impl Default for TrustStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TrustStore {
    /// An empty store with the default clock skew ([`DEFAULT_CLOCK_SKEW_SECS`]).
    pub fn new() -> TrustStore {
        TrustStore {
            anchors: BTreeMap::new(),
            clock_skew_secs: DEFAULT_CLOCK_SKEW_SECS,
        }
    }

    /// Trust `ca_cert_der` as a client CA of `domain` (checked by [`TrustAnchor::new`]).
    /// Adding a certificate already present changes nothing.
    pub fn add(
        &mut self,
        domain: &ProviderDomain,
        ca_cert_der: &[u8],
    ) -> Result<(), CredentialError> {
        let anchor = TrustAnchor::new(domain, ca_cert_der)?;
        let list = self.anchors.entry(domain.clone()).or_default();
        if !list.contains(&anchor) {
            list.push(anchor);
        }
        Ok(())
    }

    /// Trust every `CERTIFICATE` in `pem` as a client CA of `domain`. Nothing is added unless
    /// all of them pass.
    pub fn add_pem(&mut self, domain: &ProviderDomain, pem: &str) -> Result<(), CredentialError> {
        let blocks = pem::parse_many(pem).map_err(|e| CredentialError::InvalidPem {
            what: "CA certificate",
            reason: echo(&e.to_string()),
        })?;
        if blocks.is_empty() {
            return Err(CredentialError::InvalidPem {
                what: "CA certificate",
                reason: "no PEM block".into(),
            });
        }
        let mut anchors = Vec::with_capacity(blocks.len());
        for block in &blocks {
            if block.tag() != "CERTIFICATE" {
                return Err(CredentialError::InvalidPem {
                    what: "CA certificate",
                    reason: format!("unexpected label {}", echo(block.tag())),
                });
            }
            anchors.push(TrustAnchor::new(domain, block.contents())?);
        }
        let list = self.anchors.entry(domain.clone()).or_default();
        for anchor in anchors {
            if !list.contains(&anchor) {
                list.push(anchor);
            }
        }
        Ok(())
    }

    /// The anchors of `domain`, if any (never an empty slice).
    pub fn get(&self, domain: &ProviderDomain) -> Option<&[TrustAnchor]> {
        self.anchors
            .get(domain)
            .map(Vec::as_slice)
            .filter(|l| !l.is_empty())
    }

    /// Stop trusting any CA of `domain`; whether there was one.
    pub fn remove(&mut self, domain: &ProviderDomain) -> bool {
        self.anchors.remove(domain).is_some()
    }

    /// The domains with anchors, in order.
    pub fn domains(&self) -> impl Iterator<Item = &ProviderDomain> {
        self.anchors.keys()
    }

    /// The number of domains with anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether no domain has an anchor.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The clock skew allowed when checking validity periods, in seconds.
    pub fn clock_skew(&self) -> i64 {
        self.clock_skew_secs
    }

    /// Set the clock skew allowed when checking validity periods (negative values count as 0).
    pub fn set_clock_skew(&mut self, secs: i64) {
        self.clock_skew_secs = secs.max(0);
    }

    /// Builder form of [`TrustStore::set_clock_skew`].
    pub fn with_clock_skew(mut self, secs: i64) -> TrustStore {
        self.set_clock_skew(secs);
        self
    }
}
