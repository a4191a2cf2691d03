//! Mutual TLS between providers (protocol-06 §4.1): every connection, in and out, presents
//! this provider's certificate and requires the peer's, chained to the configured roots.

use std::sync::Arc;

use mimi_types::id::ProviderDomain;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;
use crate::error::ServerError;

/// TLS configurations for the federation listener and the federation client.
#[derive(Clone)]
pub struct FederationTls {
    /// For accepting peers.
    pub server: Arc<ServerConfig>,
    /// For connecting to peers.
    pub client: Arc<ClientConfig>,
}

fn tls_err(e: impl std::fmt::Display) -> ServerError {
    ServerError::Tls(e.to_string())
}

impl FederationTls {
    /// Build both configurations from the certificate, key and roots of the configuration.
    pub fn load(config: &Config) -> Result<FederationTls, ServerError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&config.read(&config.file.tls.cert)?)
                .collect::<Result<_, _>>()
                .map_err(|e| ServerError::Config(format!("tls.cert: {e}")))?;
        if chain.is_empty() {
            return Err(ServerError::Config("tls.cert holds no certificate".into()));
        }
        let names = certificate_domains(&chain[0])?;
        if !names.contains(&config.domain) {
            return Err(ServerError::Config(format!(
                "tls.cert does not name {} (it names {:?})",
                config.domain,
                names.iter().map(ProviderDomain::as_str).collect::<Vec<_>>()
            )));
        }
        let key = PrivateKeyDer::from_pem_slice(&config.read(&config.file.tls.key)?)
            .map_err(|e| ServerError::Config(format!("tls.key: {e}")))?;
        let mut roots = RootCertStore::empty();
        for path in &config.file.tls.roots {
            for cert in CertificateDer::pem_slice_iter(&config.read(path)?) {
                let cert =
                    cert.map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))?;
            }
        }
        if config.file.tls.system_roots {
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::warn!(error = %e, "reading the system's CA certificates");
            }
            let (added, ignored) = roots.add_parsable_certificates(native.certs);
            tracing::info!(added, ignored, "trusting the system's CA certificates");
            if added == 0 && config.file.tls.roots.is_empty() {
                return Err(ServerError::Config(
                    "tls.system_roots: the system has no usable CA certificates".into(),
                ));
            }
        }
        let roots = Arc::new(roots);
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(tls_err)?;
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(tls_err)?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let mut client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(tls_err)?;
        client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(FederationTls {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }
}

/// The provider domains a certificate authenticates: its subjectAltName DNS names
/// (RFC 6125 identifiers; the common name is not used).
pub fn certificate_domains(cert: &CertificateDer<'_>) -> Result<Vec<ProviderDomain>, ServerError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| ServerError::Tls(format!("peer certificate: {e}")))?;
    let mut out = Vec::new();
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name
                && let Ok(d) = ProviderDomain::parse(dns)
            {
                out.push(d);
            }
        }
    }
    Ok(out)
}
