//! The suite's peer providers: mutual-TLS listeners the provider under test calls (its
//! fanout to followers, its key-material requests, its fetch of a peer's client CA). Every
//! request is recorded; `/notify` answers are scripted per case.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mimi_types::id::{MimiUri, ProviderDomain};
use mimi_types::wire::{
    ClientKeyMaterial, ClientMaterial, Directory, IdentifierUri, KeyMaterialRequest,
    KeyMaterialResponse, KeyMaterialUserCode, KeyPackage, Protocol, WireMessage,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::ConformanceError;

/// Largest request body a peer reads.
const MAX_BODY: usize = 32 << 20;

/// A request a peer received.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// Method.
    pub method: Method,
    /// Path (undecoded).
    pub path: String,
    /// The `From` header, if any.
    pub from: Option<String>,
    /// The `Host` header (or HTTP/2 authority), if any.
    pub host: Option<String>,
    /// Body.
    pub body: Bytes,
    /// The status the peer answered.
    pub answered: u16,
}

/// One scripted answer to `/notify`.
#[derive(Debug, Clone, Copy)]
pub struct ScriptedAnswer {
    /// Status.
    pub status: u16,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u32>,
}

#[derive(Default)]
struct State {
    inbound: Vec<Inbound>,
    notify_script: VecDeque<ScriptedAnswer>,
    /// KeyPackages by user URI, then client URI.
    key_packages: HashMap<String, Vec<(String, VecDeque<KeyPackage>)>>,
}

/// A running peer provider.
pub struct Peer {
    /// Its domain.
    pub domain: ProviderDomain,
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a peer serves that is fixed.
struct Served {
    domain: ProviderDomain,
    directory: String,
    client_ca_pem: String,
}

impl Peer {
    /// Listen on `addr` as `domain`, presenting `chain`/`key`, accepting callers whose
    /// certificates chain to `roots`.
    pub async fn start(
        domain: ProviderDomain,
        addr: SocketAddr,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        roots: Arc<rustls::RootCertStore>,
        client_ca_pem: String,
    ) -> Result<Peer, ConformanceError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| ConformanceError::Tls(e.to_string()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ConformanceError::Tls(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| ConformanceError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ConformanceError::Listener(format!("{domain} on {addr}: {e}")))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let arrived = Arc::new(tokio::sync::Notify::new());
        let served = Arc::new(Served {
            directory: Directory::for_base(&format!("https://{domain}:{}/v1", addr.port()))
                .to_json(),
            domain: domain.clone(),
            client_ca_pem,
        });
        let task = {
            let state = state.clone();
            let arrived = arrived.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    let state = state.clone();
                    let arrived = arrived.clone();
                    let served = served.clone();
                    tokio::spawn(async move {
                        let Ok(Ok(tls)) =
                            tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                                .await
                        else {
                            return;
                        };
                        let service = hyper::service::service_fn(move |req| {
                            handle(req, state.clone(), arrived.clone(), served.clone())
                        });
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    });
                }
            })
        };
        Ok(Peer {
            domain,
            addr,
            state,
            arrived,
            task,
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offer these KeyPackages of `client` of `user` to `/keyMaterial` (each handed out once).
    pub fn offer_key_packages(&self, user: &str, client: &str, kps: Vec<KeyPackage>) {
        let mut s = self.state();
        let clients = s.key_packages.entry(user.to_string()).or_default();
        match clients.iter_mut().find(|(c, _)| c == client) {
            Some((_, queue)) => queue.extend(kps),
            None => clients.push((client.to_string(), kps.into())),
        }
    }

    /// Answer the next `/notify` requests with these statuses (then 201 again).
    pub fn script_notify(&self, answers: &[ScriptedAnswer]) {
        self.state().notify_script.extend(answers.iter().copied());
    }

    /// How many requests were received so far (a mark for [`Peer::since`]).
    pub fn mark(&self) -> usize {
        self.state().inbound.len()
    }

    /// Requests received after `mark`.
    pub fn since(&self, mark: usize) -> Vec<Inbound> {
        self.state().inbound.iter().skip(mark).cloned().collect()
    }

    /// Wait until a request after `mark` satisfies `pred`, up to `within`.
    pub async fn wait_for(
        &self,
        mark: usize,
        within: Duration,
        pred: impl Fn(&Inbound) -> bool,
    ) -> Option<Inbound> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            if let Some(found) = self.since(mark).into_iter().find(|i| pred(i)) {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.since(mark).into_iter().find(|i| pred(i));
            }
        }
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    arrived: Arc<tokio::sync::Notify>,
    served: Arc<Served>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let from = header("from");
    let host = header("host").or_else(|| req.uri().authority().map(|a| a.to_string()));
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(reply(StatusCode::PAYLOAD_TOO_LARGE, "too large")),
    };
    let mut response = if method == Method::GET && path == mimi_types::wire::DIRECTORY_PATH {
        let mut r = reply(StatusCode::OK, served.directory.clone());
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        r
    } else if method == Method::GET && path == mimi_server::federation::routes::CLIENT_CA_PATH {
        reply(StatusCode::OK, served.client_ca_pem.clone())
    } else if method == Method::POST && path.starts_with("/v1/notify/") {
        let answer = state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .notify_script
            .pop_front();
        match answer {
            None => reply(StatusCode::CREATED, Bytes::new()),
            Some(a) => {
                let mut r = reply(
                    StatusCode::from_u16(a.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    "scripted",
                );
                if let Some(secs) = a.retry_after {
                    r.headers_mut().insert(
                        hyper::header::RETRY_AFTER,
                        hyper::header::HeaderValue::from(secs),
                    );
                }
                r
            }
        }
    } else if method == Method::POST && path.starts_with("/v1/keyMaterial/") {
        key_material(&state, &served, &body)
    } else {
        reply(StatusCode::NOT_FOUND, "not served by the conformance peer")
    };
    if response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .is_none()
    {
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/octet-stream"),
        );
    }
    state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .inbound
        .push(Inbound {
            method,
            path,
            from,
            host,
            body,
            answered: response.status().as_u16(),
        });
    arrived.notify_waiters();
    Ok(response)
}

/// `/keyMaterial` at a peer: one offered KeyPackage per client of the target user.
fn key_material(state: &Mutex<State>, served: &Served, body: &[u8]) -> Response<Full<Bytes>> {
    let request = match KeyMaterialRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return reply(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let target = request.target_user.uri().as_str().to_string();
    if !target.starts_with(&format!("mimi://{}/", served.domain)) {
        return reply(StatusCode::NOT_FOUND, "not a user of this provider");
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let (user_status, clients) = match s.key_packages.get_mut(&target) {
        None => (KeyMaterialUserCode::UserUnknown, Vec::new()),
        Some(clients) => {
            let materials: Vec<ClientKeyMaterial> = clients
                .iter_mut()
                .filter_map(|(client, queue)| {
                    Some(ClientKeyMaterial {
                        client_uri: IdentifierUri::from(MimiUri::parse(client).ok()?),
                        material: match queue.pop_front() {
                            Some(kp) => ClientMaterial::Success(kp),
                            None => ClientMaterial::KeyMaterialExhausted,
                        },
                    })
                })
                .collect();
            let ok = materials
                .iter()
                .filter(|m| matches!(m.material, ClientMaterial::Success(_)))
                .count();
            let code = if ok == materials.len() && ok > 0 {
                KeyMaterialUserCode::Success
            } else if ok > 0 {
                KeyMaterialUserCode::PartialSuccess
            } else {
                KeyMaterialUserCode::NoCompatibleMaterial
            };
            (code, materials)
        }
    };
    let response = KeyMaterialResponse {
        protocol: Protocol::Mls10,
        user_status,
        user_uri: request.target_user.clone(),
        clients,
    };
    match response.encode() {
        Ok(bytes) => reply(StatusCode::OK, bytes),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
