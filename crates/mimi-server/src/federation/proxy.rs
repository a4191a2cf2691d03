//! `GET /proxyDownload/{downloadUrl}` at the hub (protocol-06 §5.10): fetch an asset for a
//! peer provider from an asset server that one of this hub's peer providers declared, and
//! from nowhere else (docs/decisions/0083).
//!
//! ```text
//!   peer ──GET /v1/proxyDownload/https%3A%2F%2Fassets.c.example%2Fx──► hub
//!        check: https, no userinfo, port 443, host a declared asset domain (not an IP),
//!               resolved to public addresses only (or an explicit [peers] override)
//!   hub ──GET https://assets.c.example/x (TLS, no redirects, bounded, timed)──► asset server
//!   hub ◄── 200 + bytes (at most proxy_download.max_bytes) ── or a 4xx/5xx with a reason
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_util::rt::TokioIo;
use mimi_store::Store;
use mimi_types::id::ProviderDomain;
use mimi_types::wire::Endpoint;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use super::auth::{Peer, reject};
use super::routes::{internal, path_arg};
use crate::config::Config;
use crate::provider::Provider;

/// Longest download URL accepted, in bytes (decoded).
pub const MAX_DOWNLOAD_URL_LEN: usize = 4096;

/// Budget for the TCP connection and TLS handshake to an asset server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A downloaded asset.
#[derive(Debug, Clone)]
pub struct Asset {
    /// The asset server's `Content-Type`, if it sent a valid one.
    pub content_type: Option<String>,
    /// The bytes (at most `proxy_download.max_bytes`).
    pub body: Bytes,
}

/// Why a download was refused or failed: the HTTP status for the requester and a reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {reason}")]
pub struct ProxyRefusal {
    /// The status answered to the requesting provider.
    pub status: StatusCode,
    /// A one-line reason.
    pub reason: String,
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> ProxyRefusal {
    ProxyRefusal {
        status,
        reason: reason.into(),
    }
}

/// The handler: authenticated peers only (behind `authenticate`).
pub async fn proxy_download<S: Store>(
    State(p): State<Arc<Provider<S>>>,
    Extension(Peer(peer)): Extension<Peer>,
    uri: Uri,
) -> Response {
    let url = match download_url_from_path(&uri) {
        Ok(url) => url,
        Err(r) => return reject(r.status, r.reason),
    };
    match p.fetch_asset(&url).await {
        Ok(asset) => {
            tracing::debug!(%peer, bytes = asset.body.len(), "asset proxied");
            let content_type = asset
                .content_type
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok())
                .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type)],
                asset.body,
            )
                .into_response()
        }
        Err(r) if r.status == StatusCode::INTERNAL_SERVER_ERROR => internal(r.reason),
        Err(r) => reject(r.status, r.reason),
    }
}

/// Percent-encode a download URL into one path segment (every byte but RFC 3986
/// `unreserved`), the form this implementation sends (docs/decisions/0083).
pub fn encode_download_url(url: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(url.len() * 3);
    for &b in url.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// The download URL of a request path: the percent-encoded form this implementation sends,
/// or (liberal) a literal `https://...` with the request's query appended.
pub fn download_url_from_path(uri: &Uri) -> Result<String, ProxyRefusal> {
    let raw = path_arg(uri, Endpoint::ProxyDownload);
    if raw.len() > 3 * MAX_DOWNLOAD_URL_LEN {
        return Err(too_long());
    }
    // The encoded form has no literal "://".
    let url = if raw.contains("://") {
        match uri.query() {
            Some(q) => format!("{raw}?{q}"),
            None => raw.to_string(),
        }
    } else {
        percent_decode(raw).ok_or_else(|| {
            refuse(
                StatusCode::BAD_REQUEST,
                "the download URL is not percent-encoded UTF-8",
            )
        })?
    };
    if url.len() > MAX_DOWNLOAD_URL_LEN {
        return Err(too_long());
    }
    Ok(url)
}

fn too_long() -> ProxyRefusal {
    refuse(
        StatusCode::URI_TOO_LONG,
        format!("the download URL is longer than {MAX_DOWNLOAD_URL_LEN} bytes"),
    )
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A download URL that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AssetTarget {
    host: ProviderDomain,
    path_and_query: String,
}

/// protocol-06 §5.10: "the hub MUST verify that the host part of the downloadUrl is
/// associated with the asset server domain for one of its peer providers".
fn check_url(config: &Config, url: &str) -> Result<AssetTarget, ProxyRefusal> {
    let forbidden = |reason: String| refuse(StatusCode::FORBIDDEN, reason);
    let parsed: Uri = url
        .parse()
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, format!("download URL: {e}")))?;
    match parsed.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => {}
        Some(s) => {
            return Err(forbidden(format!(
                "only https:// assets are proxied, not {s}://"
            )));
        }
        None => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "the download URL must be an absolute https:// URL",
            ));
        }
    }
    let authority = parsed
        .authority()
        .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "the download URL must name a host"))?;
    if authority.as_str().contains('@') {
        return Err(forbidden(
            "a download URL with user information is not proxied".into(),
        ));
    }
    if authority.port_u16().is_some_and(|p| p != 443) {
        return Err(forbidden(
            "asset servers are reached on port 443 only".into(),
        ));
    }
    let host = authority.host();
    if host.starts_with('[') || host.parse::<IpAddr>().is_ok() {
        return Err(forbidden("IP addresses are not asset domains".into()));
    }
    let host = ProviderDomain::parse(host)
        .map_err(|e| forbidden(format!("the download URL's host is not a domain name: {e}")))?;
    if !config.asset_hosts.contains_key(&host) {
        return Err(forbidden(format!(
            "{host} is not an asset domain of a peer provider of this hub"
        )));
    }
    let path_and_query = parsed
        .path_and_query()
        .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string());
    Ok(AssetTarget {
        host,
        path_and_query,
    })
}

/// Whether an address is one the hub may fetch from when DNS gave it: publicly routable
/// unicast only (no loopback, private, link-local, shared, documentation, multicast or
/// unspecified ranges), so a declared domain cannot point the hub into its own network.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking (RFC 2544)
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x0064 && ip.segments()[1] == 0xff9b)) // NAT64, maps IPv4 space
}

/// Where to connect for an asset host: the `[peers]` override if one is configured for it
/// (tests, the demo), else DNS, whose every answer must be a public address.
async fn resolve(config: &Config, host: &ProviderDomain) -> Result<String, ProxyRefusal> {
    if let Some(address) = config.peers.get(host) {
        return Ok(address.clone());
    }
    let gateway = |reason: String| refuse(StatusCode::BAD_GATEWAY, reason);
    let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 443))
        .await
        .map_err(|e| gateway(format!("cannot resolve {host}: {e}")))?
        .collect();
    if let Some(bad) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            format!("{host} resolves to a non-public address ({})", bad.ip()),
        ));
    }
    addresses
        .first()
        .map(ToString::to_string)
        .ok_or_else(|| gateway(format!("{host} has no address")))
}

/// TLS to asset servers: the federation roots (`tls.roots`, and the system's CAs when
/// `tls.system_roots` is set, as for peers), no client certificate.
fn asset_tls(config: &Config) -> Result<Arc<ClientConfig>, ProxyRefusal> {
    let broken = |e: &dyn std::fmt::Display| {
        refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("asset TLS configuration: {e}"),
        )
    };
    let mut roots = RootCertStore::empty();
    for path in &config.file.tls.roots {
        let pem = config.read(path).map_err(|e| broken(&e))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| broken(&e))?;
            roots.add(cert).map_err(|e| broken(&e))?;
        }
    }
    if config.file.tls.system_roots {
        // Asset servers usually have certificates from a public CA.
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    }
    let mut tls =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| broken(&e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

async fn fetch(config: &Config, target: &AssetTarget) -> Result<Asset, ProxyRefusal> {
    let host = &target.host;
    let gateway = |reason: String| refuse(StatusCode::BAD_GATEWAY, reason);
    let address = resolve(config, host).await?;
    let tls = asset_tls(config)?;
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address))
        .await
        .map_err(|_| {
            refuse(
                StatusCode::GATEWAY_TIMEOUT,
                format!("connecting to {host} timed out"),
            )
        })?
        .map_err(|e| gateway(format!("connecting to {host}: {e}")))?;
    let name = ServerName::try_from(host.as_str().to_string())
        .map_err(|e| gateway(format!("{host}: {e}")))?;
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
    )
    .await
    .map_err(|_| {
        refuse(
            StatusCode::GATEWAY_TIMEOUT,
            format!("TLS with {host} timed out"),
        )
    })?
    .map_err(|e| gateway(format!("TLS with {host}: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| gateway(format!("HTTP with {host}: {e}")))?;
    // The connection task ends with the response (or the caller's timeout drops `sender`).
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = hyper::Request::get(target.path_and_query.as_str())
        .header(header::HOST, host.as_str())
        .body(Empty::<Bytes>::new())
        .map_err(|e| gateway(format!("request to {host}: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| gateway(format!("{host}: {e}")))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(gateway(format!(
            "{host} answered {status}; redirects are not followed"
        )));
    }
    if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            format!("{host} has no such asset ({status})"),
        ));
    }
    if !status.is_success() {
        return Err(gateway(format!("{host} answered {status}")));
    }
    let max = config.file.proxy_download.max_bytes;
    let too_large = || gateway(format!("the asset is larger than {max} bytes"));
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
        return Err(too_large());
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = Limited::new(response.into_body(), max)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                too_large()
            } else {
                gateway(format!("reading the asset from {host}: {e}"))
            }
        })?
        .to_bytes();
    Ok(Asset { content_type, body })
}

impl<S: Store> Provider<S> {
    /// Fetch an asset as the hub's download proxy (protocol-06 §5.10), for a peer's
    /// `proxyDownload` or one of this provider's own clients. Refused with 4xx before any
    /// connection unless the URL is an `https` URL on port 443 whose host is a declared
    /// asset domain; the download is bounded by `proxy_download.max_bytes` and
    /// `proxy_download.timeout_secs`, and redirects are not followed.
    pub async fn fetch_asset(&self, url: &str) -> Result<Asset, ProxyRefusal> {
        let target = check_url(&self.config, url)?;
        let budget = Duration::from_secs(self.config.file.proxy_download.timeout_secs);
        match tokio::time::timeout(budget, fetch(&self.config, &target)).await {
            Ok(result) => result,
            Err(_) => Err(refuse(
                StatusCode::GATEWAY_TIMEOUT,
                format!("{} did not deliver the asset in time", target.host),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_urls_round_trip_through_the_path() {
        for url in [
            "https://assets.c.example/x/y?z=1&w=%20",
            "https://assets.c.example/é",
        ] {
            let path = format!("/v1/proxyDownload/{}", encode_download_url(url));
            let uri: Uri = path.parse().expect("uri");
            assert_eq!(download_url_from_path(&uri).expect("decoded"), url);
        }
        let literal: Uri = "/v1/proxyDownload/https://assets.c.example/a?b=c"
            .parse()
            .expect("uri");
        assert_eq!(
            download_url_from_path(&literal).expect("literal"),
            "https://assets.c.example/a?b=c"
        );
        let bad: Uri = "/v1/proxyDownload/%ZZ".parse().expect("uri");
        assert_eq!(
            download_url_from_path(&bad).expect_err("bad").status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }
}
