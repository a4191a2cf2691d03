//! [`RemoteApi`]: a typed client of a provider's client API (`/client/v1/...`, HTTP JSON, see
//! `docs/client-api.md`), one method per endpoint.
//!
//! It speaks plain HTTP/1.1, for a provider on the same machine or behind a TLS-terminating
//! proxy the transport already protects. Protocol values go in and come out typed: the
//! base64url and TLS encodings are this module's business.
//!
//! ```text
//!  MimiClient ──UpdateRequest──► RemoteApi::update ──POST /client/v1/rooms/{room}/update──► provider
//!  MimiClient ◄──FanoutMessage── EventStream::next ◄──── SSE /client/v1/devices/{d}/stream ── provider
//! ```

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mimi_types::client_api::{
    ConsentAnswer, ConsentAsk, ConsentResponse, CreateRoomRequest, CreateRoomResponse,
    DeviceRequest, DeviceWireRequest, ErrorBody, EventsResponse, HubInfo, IdentifiersRequest,
    IdentifiersResponse, KeyMaterialApiRequest, LoginRequest, LoginResponse, NewDeviceRequest,
    NewDeviceResponse, PublishKeyPackagesRequest, PublishKeyPackagesResponse, RegisterRequest,
    RegisterResponse, SearchElement, SearchRequest, SearchResponse, StreamEvent, WireResponse,
};
use mimi_types::id::{ClientUri, ProviderDomain, RoomUri, UserUri};
use mimi_types::wire::{
    FanoutMessage, FrankingAgentData, GroupInfo, GroupInfoRequest, GroupInfoResponse,
    KeyMaterialRequest, KeyMaterialResponse, KeyPackage, RatchetTree, SubmitMessageRequest,
    SubmitMessageResponse, UpdateRequest, UpdateRoomResponse, WireMessage,
};
use openmls::prelude::{Credential, ExternalSender};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tls_codec::Deserialize as _;

use crate::error::ClientError;

/// Largest response body read, in bytes.
const MAX_RESPONSE: usize = 64 << 20;

/// Largest single Server-Sent Event, in bytes.
const MAX_SSE_EVENT: usize = 64 << 20;

/// How long a request may take unless set otherwise (a long poll waits at most 30 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The keys of a provider's hub: what a client puts into a group that provider hosts.
#[derive(Debug, Clone)]
pub struct HubKeys {
    /// The hub's domain.
    pub domain: ProviderDomain,
    /// The hub as MLS external sender.
    pub external_sender: ExternalSender,
    /// The hub as franking agent (protocol-06 §5.4.1).
    pub franking_agent: FrankingAgentData,
}

/// A response as received, for [`RemoteApi::raw`].
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A typed client of one provider's client API, holding its base URL and (after
/// [`RemoteApi::login`]) a bearer token. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct RemoteApi {
    base: String,
    token: Option<String>,
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for RemoteApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteApi")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn transport(e: impl std::fmt::Display) -> ClientError {
    ClientError::Transport(e.to_string())
}

fn b64_field<T>(
    what: &'static str,
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<T, ClientError> {
    decode(bytes)
        .map_err(|e| ClientError::Transport(format!("the provider sent a bad {what}: {e}")))
}

/// Percent-encode one URL path segment (everything but RFC 3986 unreserved characters).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl RemoteApi {
    /// A client for the API at `base_url` (`http://host:port`, no path).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let base = base_url.trim_end_matches('/');
        let rest = base.strip_prefix("http://").ok_or_else(|| {
            ClientError::Invalid(format!("{base_url}: expected http://host:port"))
        })?;
        if rest.is_empty() || rest.contains(['/', '?', '#']) {
            return Err(ClientError::Invalid(format!(
                "{base_url}: expected http://host:port"
            )));
        }
        let http = Client::builder(TokioExecutor::new()).build_http();
        Ok(Self {
            base: base.to_string(),
            token: None,
            http,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// A client for the API listening at `addr`.
    pub fn at(addr: std::net::SocketAddr) -> Result<Self, ClientError> {
        Self::new(&format!("http://{addr}"))
    }

    /// This client, using `token` from now on.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Use `token` (or none) from now on.
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// The bearer token in use.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Limit every request (but an open event stream) to `timeout`.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Send a request as is and return the response whatever its status (for diagnostics and
    /// tests of the API itself). `headers` are added; a body is sent as `application/json`
    /// unless `headers` name another `Content-Type`; the token, if any, is sent.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, ClientError> {
        let method = Method::from_bytes(method.as_bytes()).map_err(transport)?;
        let response = self.send(method, path, headers, body).await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_body(response.into_body()).await?;
        Ok(RawResponse {
            status,
            content_type,
            body,
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<hyper::Response<Incoming>, ClientError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let has_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_type {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(transport)?;
        tokio::time::timeout(self.timeout, self.http.request(request))
            .await
            .map_err(|_| ClientError::Transport(format!("{path}: timed out")))?
            .map_err(transport)
    }

    /// Send a JSON request; a 2xx answer's body, else [`ClientError::Api`].
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Vec<u8>, ClientError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Invalid(format!("request body: {e}")))?;
        let response = tokio::time::timeout(self.timeout, async {
            let response = self.send(method, path, &[], body).await?;
            let status = response.status();
            let bytes = read_body(response.into_body()).await?;
            Ok::<_, ClientError>((status, bytes))
        })
        .await
        .map_err(|_| ClientError::Transport(format!("{path}: timed out")))??;
        check(response.0, response.1)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let bytes = self.call(method, path, body).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Transport(format!("{path}: unexpected answer: {e}")))
    }

    /// `GET /healthz`: Ok when the provider and its storage answer.
    pub async fn health(&self) -> Result<(), ClientError> {
        self.call(Method::GET, "/healthz", None::<&()>)
            .await
            .map(|_| ())
    }

    /// `GET /client/v1/openapi.json`: the API's OpenAPI document.
    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        self.json(Method::GET, "/client/v1/openapi.json", None::<&()>)
            .await
    }

    /// `POST /client/v1/register`: create an account; its user URI.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        display_name: &str,
    ) -> Result<UserUri, ClientError> {
        let body = RegisterRequest {
            username: username.into(),
            password: password.into(),
            display_name: display_name.into(),
        };
        let r: RegisterResponse = self
            .json(Method::POST, "/client/v1/register", Some(&body))
            .await?;
        Ok(r.user_uri)
    }

    /// `POST /client/v1/login`: log in and use the new token from now on.
    pub async fn login(
        &mut self,
        username: &str,
        password: &str,
    ) -> Result<LoginResponse, ClientError> {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
        };
        let r: LoginResponse = self
            .json(Method::POST, "/client/v1/login", Some(&body))
            .await?;
        self.token = Some(r.token.clone());
        Ok(r)
    }

    /// `POST /client/v1/logout`: invalidate the token and forget it.
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        self.call(Method::POST, "/client/v1/logout", None::<&()>)
            .await?;
        self.token = None;
        Ok(())
    }

    /// `GET /client/v1/hub`: the provider's hub keys.
    pub async fn hub(&self) -> Result<HubKeys, ClientError> {
        let r: HubInfo = self
            .json(Method::GET, "/client/v1/hub", None::<&()>)
            .await?;
        let domain = ProviderDomain::parse(&r.domain)
            .map_err(|e| ClientError::Transport(format!("the provider sent a bad domain: {e}")))?;
        let external_sender = b64_field("external_sender", r.external_sender.as_bytes(), |b| {
            ExternalSender::tls_deserialize_exact(b).map_err(|e| e.to_string())
        })?;
        let franking_agent = b64_field("franking_agent", r.franking_agent.as_bytes(), |b| {
            FrankingAgentData::tls_deserialize_exact(b).map_err(|e| e.to_string())
        })?;
        Ok(HubKeys {
            domain,
            external_sender,
            franking_agent,
        })
    }

    /// `POST /client/v1/devices`: certify a new device holding MLS signature key
    /// `signature_key` (see [`crate::MimiClient::new_signer`]); its client URI and credential,
    /// for [`crate::MimiClient::from_parts`].
    pub async fn register_device(
        &self,
        device: &str,
        signature_key: &[u8],
    ) -> Result<(ClientUri, Credential), ClientError> {
        let body = NewDeviceRequest {
            device: device.into(),
            signature_key: signature_key.into(),
        };
        let r: NewDeviceResponse = self
            .json(Method::POST, "/client/v1/devices", Some(&body))
            .await?;
        let credential = b64_field("credential", r.credential.as_bytes(), |b| {
            Credential::tls_deserialize_exact(b).map_err(|e| e.to_string())
        })?;
        Ok((r.client_uri, credential))
    }

    /// `POST /client/v1/devices/{device}/key-packages`.
    pub async fn publish_key_packages(
        &self,
        device: &str,
        key_packages: &[KeyPackage],
    ) -> Result<PublishKeyPackagesResponse, ClientError> {
        let body = PublishKeyPackagesRequest {
            key_packages: key_packages.iter().map(|k| k.as_bytes().into()).collect(),
        };
        let path = format!("/client/v1/devices/{}/key-packages", segment(device));
        self.json(Method::POST, &path, Some(&body)).await
    }

    /// `POST /client/v1/rooms`: have the provider host a room whose group `device` created
    /// with [`RemoteApi::hub`]'s keys and the policy of `preset` (a
    /// `mimi_room::policy::Preset` name) with this user as creator.
    pub async fn create_room(
        &self,
        room_id: &str,
        preset: &str,
        device: &str,
        group_info: &GroupInfo,
        ratchet_tree: &RatchetTree,
    ) -> Result<RoomUri, ClientError> {
        let body = CreateRoomRequest {
            room: room_id.into(),
            preset: preset.into(),
            device: device.into(),
            group_info: group_info.as_bytes().into(),
            ratchet_tree: ratchet_tree.as_bytes().into(),
        };
        let r: CreateRoomResponse = self
            .json(Method::POST, "/client/v1/rooms", Some(&body))
            .await?;
        Ok(r.room_uri)
    }

    /// `POST /client/v1/key-material`: claim KeyPackages of a user to add to `room`.
    pub async fn key_material(
        &self,
        room: &RoomUri,
        request: &KeyMaterialRequest,
    ) -> Result<KeyMaterialResponse, ClientError> {
        let body = KeyMaterialApiRequest {
            room: room.clone(),
            request: request.encode()?.into(),
        };
        let r: WireResponse = self
            .json(Method::POST, "/client/v1/key-material", Some(&body))
            .await?;
        Ok(KeyMaterialResponse::decode(r.response.as_bytes())?)
    }

    async fn room_call<Resp: WireMessage>(
        &self,
        room: &RoomUri,
        operation: &str,
        device: &str,
        request: Vec<u8>,
        limit: usize,
    ) -> Result<Resp, ClientError> {
        let body = DeviceWireRequest {
            device: device.into(),
            request: request.into(),
        };
        let path = format!("/client/v1/rooms/{}/{operation}", room.to_url_path());
        let r: WireResponse = self.json(Method::POST, &path, Some(&body)).await?;
        Ok(Resp::decode_with_limit(r.response.as_bytes(), limit)?)
    }

    /// `POST /client/v1/rooms/{room}/update`: a commit or proposals of `device` for the
    /// room's hub; the hub's answer.
    pub async fn update(
        &self,
        room: &RoomUri,
        device: &str,
        request: &UpdateRequest,
    ) -> Result<UpdateRoomResponse, ClientError> {
        self.room_call(room, "update", device, request.encode()?, MAX_RESPONSE)
            .await
    }

    /// `POST /client/v1/rooms/{room}/messages`: an application message for the room's hub.
    pub async fn submit(
        &self,
        room: &RoomUri,
        device: &str,
        request: &SubmitMessageRequest,
    ) -> Result<SubmitMessageResponse, ClientError> {
        self.room_call(room, "messages", device, request.encode()?, MAX_RESPONSE)
            .await
    }

    /// `POST /client/v1/rooms/{room}/group-info`: the room's GroupInfo, encrypted to the
    /// request's key (open it with [`crate::MimiClient::open_group_info`]).
    pub async fn group_info(
        &self,
        room: &RoomUri,
        device: &str,
        request: &GroupInfoRequest,
    ) -> Result<GroupInfoResponse, ClientError> {
        self.room_call(room, "group-info", device, request.encode()?, MAX_RESPONSE)
            .await
    }

    async fn room_device(
        &self,
        room: &RoomUri,
        operation: &str,
        device: &str,
    ) -> Result<(), ClientError> {
        let path = format!("/client/v1/rooms/{}/{operation}", room.to_url_path());
        let body = DeviceRequest {
            device: device.into(),
        };
        self.call(Method::POST, &path, Some(&body))
            .await
            .map(|_| ())
    }

    /// `POST /client/v1/rooms/{room}/joined`: confirm `device` receives the room (after its
    /// external commit was accepted).
    pub async fn joined(&self, room: &RoomUri, device: &str) -> Result<(), ClientError> {
        self.room_device(room, "joined", device).await
    }

    /// `POST /client/v1/rooms/{room}/left`: stop delivering the room to `device` (after it
    /// processed its removal).
    pub async fn left(&self, room: &RoomUri, device: &str) -> Result<(), ClientError> {
        self.room_device(room, "left", device).await
    }

    /// `PUT /client/v1/identifiers`: replace the identifiers this user can be found by, and
    /// whether the user can be found at all; what is stored, normalized.
    pub async fn set_identifiers(
        &self,
        identifiers: &IdentifiersRequest,
    ) -> Result<IdentifiersResponse, ClientError> {
        self.json(Method::PUT, "/client/v1/identifiers", Some(identifiers))
            .await
    }

    /// `POST /client/v1/search`: which users of provider `domain` match every element of
    /// `query` (protocol-06 §5.8, asked by this user's provider).
    pub async fn search(
        &self,
        domain: &ProviderDomain,
        query: &[SearchElement],
    ) -> Result<SearchResponse, ClientError> {
        let body = SearchRequest {
            domain: domain.clone(),
            query: query.to_vec(),
        };
        self.json(Method::POST, "/client/v1/search", Some(&body))
            .await
    }

    async fn consent_call(
        &self,
        operation: &str,
        body: &impl Serialize,
    ) -> Result<ConsentResponse, ClientError> {
        let path = format!("/client/v1/consent/{operation}");
        self.json(Method::POST, &path, Some(body)).await
    }

    /// `POST /client/v1/consent/request`: ask `target` for consent (for `room`, or any room).
    pub async fn request_consent(
        &self,
        target: &UserUri,
        room: Option<&RoomUri>,
    ) -> Result<ConsentResponse, ClientError> {
        let body = ConsentAsk {
            target: target.clone(),
            room: room.cloned(),
        };
        self.consent_call("request", &body).await
    }

    /// `POST /client/v1/consent/cancel`: withdraw a pending request to `target`.
    pub async fn cancel_consent(
        &self,
        target: &UserUri,
        room: Option<&RoomUri>,
    ) -> Result<ConsentResponse, ClientError> {
        let body = ConsentAsk {
            target: target.clone(),
            room: room.cloned(),
        };
        self.consent_call("cancel", &body).await
    }

    /// `POST /client/v1/consent/grant`: accept `requester` (for `room`, or any room).
    pub async fn grant_consent(
        &self,
        requester: &UserUri,
        room: Option<&RoomUri>,
    ) -> Result<ConsentResponse, ClientError> {
        let body = ConsentAnswer {
            requester: requester.clone(),
            room: room.cloned(),
        };
        self.consent_call("grant", &body).await
    }

    /// `POST /client/v1/consent/revoke`: refuse or withdraw consent for `requester`.
    pub async fn revoke_consent(
        &self,
        requester: &UserUri,
        room: Option<&RoomUri>,
    ) -> Result<ConsentResponse, ClientError> {
        let body = ConsentAnswer {
            requester: requester.clone(),
            room: room.cloned(),
        };
        self.consent_call("revoke", &body).await
    }

    /// `GET /client/v1/devices/{device}/events`: events after cursor `after`; with `wait_ms`,
    /// wait up to that long for one.
    pub async fn events(
        &self,
        device: &str,
        after: u64,
        limit: Option<usize>,
        wait_ms: Option<u64>,
    ) -> Result<EventsResponse, ClientError> {
        let mut path = format!(
            "/client/v1/devices/{}/events?after={after}",
            segment(device)
        );
        if let Some(limit) = limit {
            path.push_str(&format!("&limit={limit}"));
        }
        if let Some(wait) = wait_ms {
            path.push_str(&format!("&wait_ms={wait}"));
        }
        self.json(Method::GET, &path, None::<&()>).await
    }

    /// `GET /client/v1/devices/{device}/stream`: the device's events after cursor `after` as
    /// they arrive (Server-Sent Events, resumed with `Last-Event-ID`).
    pub async fn stream(&self, device: &str, after: u64) -> Result<EventStream, ClientError> {
        let path = format!("/client/v1/devices/{}/stream", segment(device));
        let last = after.to_string();
        let response = self
            .send(
                Method::GET,
                &path,
                &[("accept", "text/event-stream"), ("last-event-id", &last)],
                None,
            )
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = read_body(response.into_body()).await?;
            return Err(api_error(status, &body));
        }
        Ok(EventStream {
            body: Some(response.into_body()),
            buffer: Vec::new(),
            last_cursor: after,
        })
    }
}

async fn read_body(body: Incoming) -> Result<Vec<u8>, ClientError> {
    Limited::new(body, MAX_RESPONSE)
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .map_err(transport)
}

/// A 2xx response's body, or the provider's refusal as [`ClientError::Api`].
fn check(status: StatusCode, body: Vec<u8>) -> Result<Vec<u8>, ClientError> {
    if status.is_success() {
        Ok(body)
    } else {
        Err(api_error(status, &body))
    }
}

/// A refusal: the `{"error": ...}` reason, or the body as text.
fn api_error(status: StatusCode, body: &[u8]) -> ClientError {
    let message = serde_json::from_slice::<ErrorBody>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
    ClientError::Api {
        status: status.as_u16(),
        message,
    }
}

/// An open event stream of one device (Server-Sent Events). Events come in cursor order
/// without gaps; after the stream ends (server shutdown, logout), open a new one after
/// [`EventStream::last_cursor`] and nothing is lost or repeated.
pub struct EventStream {
    body: Option<Incoming>,
    buffer: Vec<u8>,
    last_cursor: u64,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("last_cursor", &self.last_cursor)
            .field("open", &self.body.is_some())
            .finish()
    }
}

impl EventStream {
    /// The cursor of the last event returned (or the one the stream started after).
    pub fn last_cursor(&self) -> u64 {
        self.last_cursor
    }

    /// The next event; `None` when the provider ended the stream.
    pub async fn next(&mut self) -> Result<Option<StreamEvent>, ClientError> {
        loop {
            while let Some(end) = find_blank_line(&self.buffer) {
                let block: Vec<u8> = self.buffer.drain(..end.1).collect();
                if let Some(event) = parse_block(block.get(..end.0).unwrap_or_default())? {
                    if event.cursor <= self.last_cursor {
                        return Err(ClientError::Transport(format!(
                            "event stream went back from cursor {} to {}",
                            self.last_cursor, event.cursor
                        )));
                    }
                    self.last_cursor = event.cursor;
                    return Ok(Some(event));
                }
            }
            let Some(body) = self.body.as_mut() else {
                return Ok(None);
            };
            match body.frame().await {
                None => {
                    self.body = None;
                    return Ok(None);
                }
                Some(Err(e)) => {
                    self.body = None;
                    return Err(transport(e));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        // SSE allows CRLF and CR line ends; JSON data never holds a raw CR.
                        self.buffer.extend(data.iter().filter(|b| **b != b'\r'));
                        if self.buffer.len() > MAX_SSE_EVENT {
                            self.body = None;
                            return Err(ClientError::Transport("event too large".into()));
                        }
                    }
                }
            }
        }
    }
}

/// Where the first event block ends: (end of its text, end including the blank line).
fn find_blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    buffer
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2))
}

/// One SSE event block: its `data` as a [`StreamEvent`]; `None` for a block of comments
/// (keep-alives) or without data.
fn parse_block(block: &[u8]) -> Result<Option<StreamEvent>, ClientError> {
    let text = std::str::from_utf8(block).map_err(transport)?;
    let mut data = String::new();
    let mut id = None;
    for line in text.split('\n') {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            "id" => id = Some(value.to_string()),
            _ => {}
        }
    }
    if data.is_empty() {
        return Ok(None);
    }
    let event: StreamEvent = serde_json::from_str(&data)
        .map_err(|e| ClientError::Transport(format!("bad stream event: {e}")))?;
    if id.as_deref() != Some(event.cursor.to_string().as_str()) {
        return Err(ClientError::Transport(format!(
            "stream event id {id:?} is not its cursor {}",
            event.cursor
        )));
    }
    Ok(Some(event))
}

/// The `FanoutMessage` a `fanout` event carries.
pub fn fanout(event: &StreamEvent) -> Result<FanoutMessage, ClientError> {
    if event.kind != "fanout" {
        return Err(ClientError::Invalid(format!(
            "a {} event is not a fanout message",
            event.kind
        )));
    }
    Ok(FanoutMessage::decode_with_limit(
        event.body.as_bytes(),
        MAX_RESPONSE,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_blocks() {
        assert!(parse_block(b": keep-alive").unwrap().is_none());
        let e = parse_block(
            b"id: 3\ndata: {\"cursor\":3,\"room\":\"mimi://a.example/r/x\",\"kind\":\"fanout\",\"body\":\"AAE\"}",
        )
        .unwrap()
        .unwrap();
        assert_eq!(e.cursor, 3);
        assert_eq!(e.body.as_bytes(), &[0, 1]);
        assert!(
            parse_block(
                b"id: 4\ndata: {\"cursor\":3,\"room\":\"mimi://a.example/r/x\",\"kind\":\"fanout\",\"body\":\"\"}"
            )
            .is_err()
        );
        assert_eq!(find_blank_line(b"a\n\nb"), Some((1, 3)));
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert!(RemoteApi::new("https://x").is_err());
        assert!(RemoteApi::new("http://127.0.0.1:1/").is_ok());
    }
}
