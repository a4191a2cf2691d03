//! The issuing side: a provider's client CA.

use std::fmt;

use mimi_types::id::{ClientUri, MimiUri, ProviderDomain, UriKind, UserUri};
use openmls::prelude::Credential;
use rcgen::{CertificateParams, Issuer, KeyPair, PublicKeyData};

use crate::cert;
use crate::chain::x509_credential;
use crate::error::{CredentialError, echo};
use crate::profile::{self, Ed25519PublicKey};
use crate::trust::{TrustAnchor, check_ca};

/// Ten years, a reasonable lifetime for a client CA (docs/decisions/0043).
pub const DEFAULT_CA_VALIDITY_SECS: i64 = 10 * 366 * 24 * 3600;

/// Thirty days, a reasonable lifetime for a client certificate: short enough that expiry
/// stands in for revocation, long enough for devices that are offline for a while
/// (docs/decisions/0043).
pub const DEFAULT_CLIENT_VALIDITY_SECS: i64 = 30 * 24 * 3600;

/// A provider's client-certificate authority: an Ed25519 key and its self-signed CA
/// certificate (profile in docs/decisions/0040..0046).
pub struct ClientCa {
    domain: ProviderDomain,
    issuer: Issuer<'static, KeyPair>,
    cert_der: Vec<u8>,
    cert_pem: String,
    spki: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

/// A certified MLS client: the leaf certificate and the OpenMLS credential that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    /// The leaf certificate, DER.
    pub certificate_der: Vec<u8>,
    /// The MLS credential: type `x509`, content `Certificate certificates<V>` holding only the
    /// leaf; peers have the CA certificate as their trust anchor (RFC 9420 §5.3: "A chain MAY
    /// omit any non-leaf certificates that supported peers are known to already possess";
    /// docs/decisions/0045).
    pub credential: Credential,
}

impl IssuedCredential {
    /// The leaf certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        cert::to_pem(&self.certificate_der)
    }
}

impl ClientCa {
    /// A new CA for `domain` with a fresh Ed25519 key, valid from `not_before_unix` for
    /// `validity_secs` seconds.
    pub fn generate(
        domain: &ProviderDomain,
        not_before_unix: i64,
        validity_secs: i64,
    ) -> Result<ClientCa, CredentialError> {
        if validity_secs <= 0 {
            return Err(CredentialError::InvalidValidity(
                "the validity period must be positive",
            ));
        }
        let not_after_unix = not_before_unix
            .checked_add(validity_secs)
            .ok_or(CredentialError::InvalidValidity("time out of range"))?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519)?;
        let spki = key.subject_public_key_info();
        let params = profile::ca_params(domain, &spki, not_before_unix, not_after_unix)?;
        let cert = params.self_signed(&key)?;
        Ok(ClientCa {
            domain: domain.clone(),
            issuer: Issuer::new(params, key),
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            spki,
            not_before: not_before_unix,
            not_after: not_after_unix,
        })
    }

    /// Load a CA from its certificate and PKCS #8 private key, both PEM (as written by
    /// [`ClientCa::cert_pem`] and [`ClientCa::key_pem`]).
    ///
    /// The certificate must be a CA certificate (basicConstraints cA, keyCertSign) with an
    /// Ed25519 key equal to the private key's, and name its provider in subjectAltName as
    /// `mimi://<domain>`. Before returning, the CA issues a probe certificate and checks that
    /// it chains to the loaded certificate, so a CA that loads is a CA that works.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ClientCa, CredentialError> {
        let block = pem::parse(cert_pem).map_err(|e| CredentialError::InvalidPem {
            what: "CA certificate",
            reason: echo(&e.to_string()),
        })?;
        if block.tag() != "CERTIFICATE" {
            return Err(CredentialError::InvalidPem {
                what: "CA certificate",
                reason: format!("unexpected label {}", echo(block.tag())),
            });
        }
        let der = block.into_contents();
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| CredentialError::InvalidCaKey(echo(&e.to_string())))?;
        if key.algorithm() != &rcgen::PKCS_ED25519 {
            return Err(CredentialError::InvalidCaKey("not an Ed25519 key".into()));
        }

        let invalid = |e: CredentialError| CredentialError::InvalidCaCertificate(e.to_string());
        let parsed = cert::parse(&der, 0).map_err(invalid)?;
        check_ca(&parsed)?;
        if !cert::is_ed25519(parsed.public_key()) {
            return Err(CredentialError::InvalidCaCertificate(
                "its key is not an Ed25519 key".into(),
            ));
        }
        if key.public_key_raw() != cert::raw_public_key(&parsed) {
            return Err(CredentialError::InvalidCaKey(
                "the private key does not belong to the certificate".into(),
            ));
        }
        // rcgen copies the subject into issued certificates; it handles single-valued RDNs only
        // (and panics on an empty one), so refuse anything else here.
        if parsed.subject().iter().any(|rdn| rdn.iter().count() != 1) {
            return Err(CredentialError::InvalidCaCertificate(
                "its subject has an empty or multi-valued RDN".into(),
            ));
        }
        let domain = ca_domain(&parsed)?;
        let (not_before, not_after) = cert::times(&parsed);
        let cert_pem = cert::to_pem(&der);
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)?;
        let spki = issuer.key().subject_public_key_info();
        drop(parsed);
        let ca = ClientCa {
            domain,
            issuer,
            cert_der: der,
            cert_pem,
            spki,
            not_before,
            not_after,
        };
        ca.probe()?;
        Ok(ca)
    }

    /// Issue a certificate for a dummy key and check that it chains to this CA.
    fn probe(&self) -> Result<(), CredentialError> {
        let client = ClientUri::new(self.domain.clone(), None, "probe")
            .map_err(|e| CredentialError::Generation(e.to_string()))?;
        let user = UserUri::new(self.domain.clone(), "probe")
            .map_err(|e| CredentialError::Generation(e.to_string()))?;
        let issued = self.issue(&client, &user, &[0x55; 32], self.not_before, self.not_after)?;
        let anchor = TrustAnchor::new(&self.domain, &self.cert_der)?;
        let leaf = cert::parse(&issued.certificate_der, 0)?;
        if anchor.could_have_issued(&leaf) && anchor.signed(&leaf) {
            Ok(())
        } else {
            Err(CredentialError::InvalidCaCertificate(
                "certificates issued with this key and subject do not chain to it".into(),
            ))
        }
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The CA private key, PKCS #8 PEM. Secret: store it like one.
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// The CA certificate, DER: what peers put in their [`crate::TrustStore`].
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The provider this CA certifies clients of.
    pub fn domain(&self) -> &ProviderDomain {
        &self.domain
    }

    /// The CA certificate's notBefore, Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// The CA certificate's notAfter, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Certify an MLS client: a leaf certificate for `signature_key` (the raw 32-byte Ed25519
    /// public key that is the MLS leaf's `signature_key`), whose subjectAltName is the client
    /// URI and the user URI, valid from `not_before_unix` to `not_after_unix` (inclusive,
    /// RFC 5280 §4.1.2.5).
    ///
    /// Both URIs must be of this CA's domain, and the validity period must lie within the
    /// CA's own.
    pub fn issue(
        &self,
        client: &ClientUri,
        user: &UserUri,
        signature_key: &[u8],
        not_before_unix: i64,
        not_after_unix: i64,
    ) -> Result<IssuedCredential, CredentialError> {
        let key = profile::ed25519_key(signature_key)?;
        for uri in [client.as_uri(), user.as_uri()] {
            if uri.domain() != &self.domain {
                return Err(CredentialError::ForeignIdentifier {
                    uri: echo(uri.as_str()),
                    domain: self.domain.clone(),
                });
            }
        }
        profile::validity(not_before_unix, not_after_unix)?;
        if not_before_unix < self.not_before || not_after_unix > self.not_after {
            return Err(CredentialError::InvalidValidity(
                "outside the CA certificate's validity period",
            ));
        }
        let params = profile::leaf_params(
            client,
            user,
            signature_key,
            &self.spki,
            not_before_unix,
            not_after_unix,
        )?;
        let certificate_der = self.sign(&params, &key)?;
        let credential = x509_credential(&[&certificate_der])?;
        Ok(IssuedCredential {
            certificate_der,
            credential,
        })
    }

    /// Sign a certificate with arbitrary parameters (tests build off-profile certificates
    /// with it).
    pub(crate) fn sign(
        &self,
        params: &CertificateParams,
        key: &Ed25519PublicKey<'_>,
    ) -> Result<Vec<u8>, CredentialError> {
        Ok(params.signed_by(key, &self.issuer)?.der().to_vec())
    }
}

/// The domain a CA certificate names: the one `mimi://<domain>` provider URI in its
/// subjectAltName.
fn ca_domain(
    cert: &x509_parser::certificate::X509Certificate<'_>,
) -> Result<ProviderDomain, CredentialError> {
    let uris: Vec<MimiUri> = cert::san_mimi_uris(cert, 0)
        .map_err(|e| CredentialError::InvalidCaCertificate(e.to_string()))?
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.kind() == UriKind::Provider)
        .collect();
    match uris.as_slice() {
        [uri] => Ok(uri.domain().clone()),
        _ => Err(CredentialError::InvalidCaCertificate(
            "its subjectAltName must hold exactly one provider URI mimi://<domain>".into(),
        )),
    }
}

impl fmt::Debug for ClientCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCa")
            .field("domain", &self.domain)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}
