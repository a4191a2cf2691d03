//! Requests to the provider under test, over mutual TLS, with exactly the headers a case
//! chooses (a conformance suite must be able to send what an honest client never would).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ClientConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::ConformanceError;

/// Largest response body the suite reads.
const MAX_REPLY: usize = 32 << 20;
/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Reply {
    /// The body as (lossy) text, for failure messages.
    pub fn text(&self) -> String {
        let t = String::from_utf8_lossy(&self.body);
        t.chars().take(300).collect()
    }

    /// "status: body" for failure messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.status.as_u16(), self.text())
    }
}

/// HTTP version of a connection (chosen by ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.1.
    Http1,
    /// HTTP/2.
    Http2,
}

/// Read every certificate of a PEM file.
pub fn read_certs(
    path: &std::path::Path,
) -> Result<Vec<CertificateDer<'static>>, ConformanceError> {
    use rustls_pki_types::pem::PemObject as _;
    let bytes = std::fs::read(path)
        .map_err(|e| ConformanceError::Files(format!("{}: {e}", path.display())))?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConformanceError::Files(format!("{}: {e}", path.display())))
}

/// Read a PEM private key.
pub fn read_key(path: &std::path::Path) -> Result<PrivateKeyDer<'static>, ConformanceError> {
    use rustls_pki_types::pem::PemObject as _;
    let bytes = std::fs::read(path)
        .map_err(|e| ConformanceError::Files(format!("{}: {e}", path.display())))?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|e| ConformanceError::Files(format!("{}: {e}", path.display())))
}

/// A root store of these certificates.
pub fn root_store(
    certs: &[CertificateDer<'static>],
) -> Result<rustls::RootCertStore, ConformanceError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots
            .add(c.clone())
            .map_err(|e| ConformanceError::Tls(e.to_string()))?;
    }
    Ok(roots)
}

fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS identity the suite presents when it calls the target: trust in the target's
/// certificate, and the client certificate (or none).
#[derive(Clone)]
pub struct Identity {
    roots: Arc<rustls::RootCertStore>,
    cert: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("has_cert", &self.cert.is_some())
            .finish()
    }
}

impl Identity {
    /// An identity with the certificate chain and key in these PEM files.
    pub fn from_files(
        roots: Arc<rustls::RootCertStore>,
        chain: &std::path::Path,
        key: &std::path::Path,
    ) -> Result<Identity, ConformanceError> {
        Ok(Identity {
            roots,
            cert: Some((read_certs(chain)?, Arc::new(read_key(key)?))),
        })
    }

    /// An identity without a client certificate.
    pub fn anonymous(roots: Arc<rustls::RootCertStore>) -> Identity {
        Identity { roots, cert: None }
    }

    /// The rustls configuration, offering `version` by ALPN.
    pub fn client_config(&self, version: Version) -> Result<Arc<ClientConfig>, ConformanceError> {
        let builder = ClientConfig::builder_with_provider(crypto())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConformanceError::Tls(e.to_string()))?
            .with_root_certificates(self.roots.clone());
        let mut config = match &self.cert {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| ConformanceError::Tls(e.to_string()))?,
        };
        config.alpn_protocols = vec![match version {
            Version::Http1 => b"http/1.1".to_vec(),
            Version::Http2 => b"h2".to_vec(),
        }];
        Ok(Arc::new(config))
    }
}

/// One request: a new TLS connection to `addr` (the server must present a certificate for
/// `server_name`), then `method path` with `headers` and `body`.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    identity: &Identity,
    version: Version,
    addr: SocketAddr,
    server_name: &str,
    method: Method,
    path: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<Reply, String> {
    let exchange = async {
        let stream = connect(identity, version, addr, server_name).await?;
        let host = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone());
        // HTTP/2 carries the authority in the `:authority` pseudo-header, from the URI.
        let uri = match (version, &host) {
            (Version::Http2, Some(host)) => format!("https://{host}{path}"),
            (Version::Http2, None) => format!("https://{server_name}{path}"),
            (Version::Http1, _) => path.to_string(),
        };
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            if version == Version::Http2 && k.eq_ignore_ascii_case("host") {
                continue;
            }
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let io = TokioIo::new(stream);
        let response = match version {
            Version::Http1 => {
                let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                    .await
                    .map_err(|e| format!("HTTP/1.1: {e}"))?;
                tokio::spawn(conn);
                sender
                    .send_request(request)
                    .await
                    .map_err(|e| format!("request: {e}"))?
            }
            Version::Http2 => {
                let (mut sender, conn) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .map_err(|e| format!("HTTP/2: {e}"))?;
                tokio::spawn(conn);
                sender
                    .send_request(request)
                    .await
                    .map_err(|e| format!("request: {e}"))?
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()))?
}

/// A TLS connection (the handshake completed, including the server's check of our
/// certificate as far as TLS 1.3 lets a client see it).
pub async fn connect(
    identity: &Identity,
    version: Version,
    addr: SocketAddr,
    server_name: &str,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let config = identity.client_config(version).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))
}
