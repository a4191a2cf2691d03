//! The federation client: requests to peer providers over mutual TLS, one HTTP/2 connection
//! per peer (reused, re-established when it breaks), peer addresses from the configuration's
//! overrides or DNS, and each peer's endpoint directory fetched once and cached.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::{http1, http2};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mimi_types::id::ProviderDomain;
use mimi_types::wire::{DIRECTORY_PATH, Directory, Endpoint};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_rustls::TlsConnector;

use crate::error::ServerError;

/// Largest response body read from a peer.
const MAX_RESPONSE: usize = 16 << 20;
/// Connect + handshake budget.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request budget.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

enum Sender {
    H2(http2::SendRequest<Full<Bytes>>),
    H1(http1::SendRequest<Full<Bytes>>),
}

/// The connection to one peer (absent until first used or after it broke).
type PeerSlot = Arc<Mutex<Option<Sender>>>;

/// A peer's answer.
#[derive(Debug)]
pub struct PeerResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Body (bounded).
    pub body: Bytes,
    /// `Retry-After`, in seconds, if the peer sent one.
    pub retry_after: Option<u64>,
}

/// Outgoing federation requests.
#[derive(Clone)]
pub struct FederationClient {
    ours: ProviderDomain,
    tls: TlsConnector,
    overrides: Arc<BTreeMap<ProviderDomain, String>>,
    connections: Arc<Mutex<HashMap<ProviderDomain, PeerSlot>>>,
    directories: Arc<Mutex<HashMap<ProviderDomain, Directory>>>,
}

fn peer_err(peer: &ProviderDomain, reason: impl std::fmt::Display) -> ServerError {
    ServerError::Peer {
        peer: peer.to_string(),
        reason: reason.to_string(),
    }
}

impl FederationClient {
    /// A client for provider `ours`, with its mutual-TLS client configuration and address
    /// overrides.
    pub fn new(
        ours: ProviderDomain,
        tls: Arc<rustls::ClientConfig>,
        overrides: BTreeMap<ProviderDomain, String>,
    ) -> FederationClient {
        FederationClient {
            ours,
            tls: TlsConnector::from(tls),
            overrides: Arc::new(overrides),
            connections: Arc::new(Mutex::new(HashMap::new())),
            directories: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Where to connect for `peer`: the override, or the domain on port 443.
    fn address(&self, peer: &ProviderDomain) -> String {
        self.overrides
            .get(peer)
            .cloned()
            .unwrap_or_else(|| format!("{}:443", peer.as_str()))
    }

    async fn connect(&self, peer: &ProviderDomain) -> Result<Sender, ServerError> {
        let address = self.address(peer);
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address))
            .await
            .map_err(|_| peer_err(peer, format!("connecting to {address} timed out")))?
            .map_err(|e| peer_err(peer, format!("connecting to {address}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        // The peer's certificate must name the peer's domain (protocol-06 §4.1, RFC 6125).
        let name =
            ServerName::try_from(peer.as_str().to_string()).map_err(|e| peer_err(peer, e))?;
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, self.tls.connect(name, tcp))
            .await
            .map_err(|_| peer_err(peer, "TLS handshake timed out"))?
            .map_err(|e| peer_err(peer, format!("TLS: {e}")))?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(tls);
        if h2 {
            let (sender, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| peer_err(peer, format!("HTTP/2: {e}")))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Sender::H2(sender))
        } else {
            let (sender, conn) = http1::handshake(io)
                .await
                .map_err(|e| peer_err(peer, format!("HTTP/1.1: {e}")))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Sender::H1(sender))
        }
    }

    /// Send one request to `peer` (`path_and_query` on its host), with `From: mimi@<ours>`.
    pub async fn request(
        &self,
        peer: &ProviderDomain,
        method: Method,
        path_and_query: &str,
        body: Vec<u8>,
    ) -> Result<PeerResponse, ServerError> {
        let slot = {
            let mut map = self.connections.lock().await;
            map.entry(peer.clone()).or_default().clone()
        };
        let mut guard = slot.lock().await;
        let usable = match guard.as_ref() {
            Some(Sender::H2(s)) => !s.is_closed(),
            Some(Sender::H1(s)) => !s.is_closed(),
            None => false,
        };
        if !usable {
            match self.connect(peer).await {
                Ok(sender) => *guard = Some(sender),
                Err(e) => {
                    // No entry stays behind for a peer we could not reach.
                    drop(guard);
                    self.forget(peer).await;
                    return Err(e);
                }
            }
        }
        let request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(hyper::header::HOST, peer.as_str())
            .header(hyper::header::FROM, format!("mimi@{}", self.ours.as_str()))
            .header(hyper::header::CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| peer_err(peer, e))?;
        let response = match guard.as_mut() {
            Some(Sender::H2(s)) => {
                let mut s = s.clone();
                // HTTP/2 multiplexes: release the slot for concurrent requests.
                drop(guard);
                tokio::time::timeout(REQUEST_TIMEOUT, s.send_request(request)).await
            }
            Some(Sender::H1(s)) => {
                tokio::time::timeout(REQUEST_TIMEOUT, s.send_request(request)).await
            }
            None => return Err(peer_err(peer, "no connection")),
        };
        let response = match response {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.forget(peer).await;
                return Err(peer_err(peer, e));
            }
            Err(_) => {
                self.forget(peer).await;
                return Err(peer_err(peer, "request timed out"));
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| peer_err(peer, format!("response body: {e}")))?
            .to_bytes();
        Ok(PeerResponse {
            status,
            body,
            retry_after,
        })
    }

    async fn forget(&self, peer: &ProviderDomain) {
        self.connections.lock().await.remove(peer);
    }

    /// The peer's endpoint directory (protocol-06 §5.1), fetched once and cached.
    pub async fn directory(&self, peer: &ProviderDomain) -> Result<Directory, ServerError> {
        if let Some(d) = self.directories.lock().await.get(peer) {
            return Ok(d.clone());
        }
        let response = self
            .request(peer, Method::GET, DIRECTORY_PATH, Vec::new())
            .await?;
        if response.status != StatusCode::OK {
            return Err(peer_err(
                peer,
                format!("directory: HTTP {}", response.status),
            ));
        }
        let directory = Directory::parse(&response.body).map_err(|e| peer_err(peer, e))?;
        self.directories
            .lock()
            .await
            .insert(peer.clone(), directory.clone());
        Ok(directory)
    }

    /// POST a protocol body to a peer's endpoint for `arg` (URL path form).
    pub async fn post(
        &self,
        peer: &ProviderDomain,
        endpoint: Endpoint,
        arg: &str,
        body: Vec<u8>,
    ) -> Result<PeerResponse, ServerError> {
        let directory = self.directory(peer).await?;
        let url = directory
            .url(endpoint, arg)
            .map_err(|e| peer_err(peer, e))?;
        let path = path_of(&url)
            .ok_or_else(|| peer_err(peer, format!("directory URL {url} has no path")))?;
        self.request(peer, Method::POST, path, body).await
    }
}

/// The path-and-query of an absolute https URL.
fn path_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    rest.find('/').map(|i| &rest[i..])
}
