//! [`DiscoveryClient`]: identifier discovery from the client's side (docs/discovery.md §10-§12,
//! docs/discovery-lookup.md §7): find the verified MIMI users behind a phone number or an email
//! address at a distribution point (DP) that is trusted for nothing.
//!
//! ```text
//!  lookup(SII) ─ GET /key (pinned?) ─ POST /evaluate (blinded SII, proof checked) ─ index, seal key
//!              ─ POST /lookup (index; direct, or through an OHTTP relay) ─ sealed records
//!              ─ open ─ check_lookup (signatures, trust, SII, serials, revocations) ─ SSIs
//!  publish(SII, objects) ─ evaluate as above ─ seal ─ POST /upload (publisher token)
//! ```
//!
//! What the DP answers is never believed: records that do not open are counted and dropped,
//! and what opens is verified as signed objects for exactly the SII asked about
//! ([`mimi_discovery::check_lookup_with_floor`]). A pinned key ([`DiscoveryClient::pin_key`])
//! keeps a DP from tagging this client with a key of its own.

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mimi_discovery::{LookupOutcome, RevocationSet, Sii, TrustSet, check_lookup_with_floor};
use mimi_lookup::limits::MAX_MESSAGE_LEN;
use mimi_lookup::rand_core::OsRng;
use mimi_lookup::{
    DpPublicKey, Evaluation, Index, LookupRequest, LookupResponse, LookupSecret, UploadEntry,
    UploadRequest, UploadResponse, UploadStatus,
};
use mimi_types::id::{ProviderDomain, UserUri};

use crate::error::ClientError;
use crate::ohttp::Relay;

/// The media type of every DP request and response body.
const CBOR: &str = "application/cbor";

/// How long one DP request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The checked answer of one lookup.
#[derive(Debug, Clone)]
pub struct Found {
    /// The SII looked up.
    pub sii: Sii,
    /// Verified mappings, rejected items, serials seen (docs/discovery.md §6.3).
    pub outcome: LookupOutcome,
    /// Records that did not open with this SII's sealing key: a DP's garbage or substitution.
    pub unopened: usize,
}

impl Found {
    /// The most preferred verified user, if any.
    pub fn best(&self) -> Option<&UserUri> {
        self.outcome.ssis().first().map(|e| e.ssi())
    }
}

/// One signed object to publish under an SII, kept by the DP until `expires_at` (UNIX
/// seconds): the object's own expiry, or for a revocation that of what it revokes.
#[derive(Debug, Clone, Copy)]
pub struct Publication<'a> {
    /// The COSE_Sign1 bytes (an assertion or a revocation).
    pub object: &'a [u8],
    /// Until when the DP keeps it.
    pub expires_at: u64,
}

/// A client of one distribution point, optionally pinned to its key and reaching its lookup
/// endpoint through an OHTTP relay. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct DiscoveryClient {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    pinned: Option<DpPublicKey>,
    relay: Option<Relay>,
}

impl std::fmt::Debug for DiscoveryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscoveryClient")
            .field("base", &self.base)
            .field("pinned", &self.pinned.as_ref().map(DpPublicKey::id))
            .field("relay", &self.relay)
            .finish()
    }
}

fn discovery(e: impl std::fmt::Display) -> ClientError {
    ClientError::Discovery(e.to_string())
}

/// `http://host:port` without a path, or [`ClientError::Invalid`].
pub(crate) fn base_url(url: &str) -> Result<String, ClientError> {
    let base = url.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| ClientError::Invalid(format!("{url}: expected http://host:port")))?;
    if rest.is_empty() || rest.contains(['/', '?', '#']) {
        return Err(ClientError::Invalid(format!(
            "{url}: expected http://host:port"
        )));
    }
    Ok(base.to_string())
}

/// The plain HTTP exchange every discovery call uses: a 200's body, a 429 as
/// [`ClientError::RateLimited`], anything else as [`ClientError::Discovery`] with the reason.
pub(crate) async fn exchange(
    http: &Client<HttpConnector, Full<Bytes>>,
    request: Request<Full<Bytes>>,
    what: &str,
) -> Result<Vec<u8>, ClientError> {
    let response = tokio::time::timeout(TIMEOUT, async {
        let response = http
            .request(request)
            .await
            .map_err(|e| ClientError::Transport(format!("{what}: {e}")))?;
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = Limited::new(response.into_body(), MAX_MESSAGE_LEN + 1024)
            .collect()
            .await
            .map_err(|e| ClientError::Transport(format!("{what}: {e}")))?
            .to_bytes();
        Ok::<_, ClientError>((status, retry, body))
    })
    .await
    .map_err(|_| ClientError::Transport(format!("{what}: timed out")))??;
    match response {
        (StatusCode::OK, _, body) => Ok(body.to_vec()),
        (StatusCode::TOO_MANY_REQUESTS, retry, _) => Err(ClientError::RateLimited {
            retry_after_secs: retry.unwrap_or(1),
        }),
        (status, _, body) => Err(ClientError::Discovery(format!(
            "{what}: {status}: {}",
            String::from_utf8_lossy(&body).trim()
        ))),
    }
}

impl DiscoveryClient {
    /// A client of the DP at `url` (`http://host:port`).
    ///
    /// # Errors
    /// [`ClientError::Invalid`] for another form of URL.
    pub fn new(url: &str) -> Result<Self, ClientError> {
        Ok(Self {
            base: base_url(url)?,
            http: Client::builder(TokioExecutor::new()).build_http(),
            pinned: None,
            relay: None,
        })
    }

    /// Only ever use `key`: a DP that announces or evaluates with another is refused
    /// (docs/discovery-lookup.md §10, "Tagging").
    pub fn pin_key(mut self, key: DpPublicKey) -> Self {
        self.pinned = Some(key);
        self
    }

    /// Send lookups (not evaluations, which are rate limited per requester) through an
    /// Oblivious HTTP relay (docs/discovery.md §12), so that the DP sees the index asked for
    /// but not who asks.
    pub fn via_relay(mut self, relay: Relay) -> Self {
        self.relay = Some(relay);
        self
    }

    /// The DP's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, CBOR);
        }
        if let Some(t) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(discovery)?;
        exchange(&self.http, request, path).await
    }

    /// The DP's current OPRF key (`GET /discovery/v1/key`), checked against the pinned key.
    ///
    /// # Errors
    /// Transport errors; [`ClientError::Discovery`] for a bad answer or a key that is not the
    /// pinned one.
    pub async fn key(&self) -> Result<DpPublicKey, ClientError> {
        let body = self
            .call(Method::GET, "/discovery/v1/key", None, None)
            .await?;
        let (_, key) = mimi_lookup::decode_key_info(&body).map_err(discovery)?;
        match &self.pinned {
            Some(pinned) if pinned.id() != key.id() => Err(ClientError::Discovery(format!(
                "the distribution point announces key {:?}, not the pinned {:?}",
                key.id(),
                pinned.id()
            ))),
            _ => Ok(key),
        }
    }

    /// The OHTTP key configurations of the DP's gateway (`GET /discovery/v1/ohttp-keys`),
    /// for [`Relay::new`](crate::Relay::new).
    ///
    /// # Errors
    /// Transport errors and refusals.
    pub async fn ohttp_keys(&self) -> Result<Vec<u8>, ClientError> {
        Relay::fetch_keys(&self.http, &self.base).await
    }

    /// Blind `siis` (1 to 64) in one query, have the DP evaluate them, verify its proof and
    /// derive each SII's index and sealing key. With a pinned key the key is not even fetched.
    ///
    /// # Errors
    /// [`ClientError::RateLimited`] when the DP's budget for this requester is used up;
    /// [`ClientError::Discovery`] for a refused query or a failed proof.
    pub async fn evaluate(
        &self,
        siis: &[Sii],
    ) -> Result<(DpPublicKey, Vec<LookupSecret>), ClientError> {
        let key = match &self.pinned {
            Some(k) => k.clone(),
            None => self.key().await?,
        };
        let ids: Vec<_> = siis.iter().map(Sii::to_connection_id).collect();
        let (state, query) = mimi_lookup::blind_batch(&key, &ids, &mut OsRng).map_err(discovery)?;
        let body = self
            .call(
                Method::POST,
                "/discovery/v1/evaluate",
                Some(query.encode()),
                None,
            )
            .await
            .map_err(|e| match (&self.pinned, e) {
                // 409: the point holds no key with that id (docs/discovery.md §10.1).
                (Some(pinned), ClientError::Discovery(why)) if why.contains("409") => {
                    ClientError::Discovery(format!(
                        "the distribution point does not hold the pinned key {:?}",
                        pinned.id()
                    ))
                }
                (_, e) => e,
            })?;
        let evaluation = Evaluation::decode(&body).map_err(discovery)?;
        // docs/discovery-lookup.md §3: the proof MUST verify against the key we blinded for.
        let secrets = mimi_lookup::finalize_batch(state, &evaluation, &key).map_err(discovery)?;
        Ok((key, secrets))
    }

    /// The sealed records under `index` (`POST /discovery/v1/lookup`, through the relay if one
    /// is set).
    ///
    /// # Errors
    /// Transport errors; [`ClientError::Discovery`] for a refusal or a bad answer.
    pub async fn records(&self, index: &Index) -> Result<LookupResponse, ClientError> {
        let body = LookupRequest { index: *index }.encode();
        let answer = match &self.relay {
            Some(relay) => relay.lookup(&self.http, body).await?,
            None => {
                self.call(Method::POST, "/discovery/v1/lookup", Some(body), None)
                    .await?
            }
        };
        LookupResponse::decode(&answer).map_err(discovery)
    }

    /// Look `sii` up and check the answer against `trust`, the revocations the caller holds
    /// and its per-authority serial `floor` from earlier lookups (docs/discovery.md §6.3).
    ///
    /// # Errors
    /// As [`Self::evaluate`] and [`Self::records`]. An answer with nothing verified is not an
    /// error ("no mapping" is a normal answer, R5).
    pub async fn lookup(
        &self,
        sii: &Sii,
        trust: &TrustSet,
        revocations: &RevocationSet,
        floor: &BTreeMap<ProviderDomain, u64>,
        now: u64,
    ) -> Result<Found, ClientError> {
        let (_, mut secrets) = self.evaluate(std::slice::from_ref(sii)).await?;
        let secret = secrets
            .pop()
            .ok_or_else(|| discovery("the evaluation has no element"))?;
        self.open_and_check(sii, &secret, trust, revocations, floor, now)
            .await
    }

    /// Look up several SIIs: one evaluation (one proof) for all, then one lookup request per
    /// SII, as docs/discovery-lookup.md §7 recommends.
    ///
    /// # Errors
    /// As [`Self::lookup`].
    pub async fn lookup_all(
        &self,
        siis: &[Sii],
        trust: &TrustSet,
        revocations: &RevocationSet,
        now: u64,
    ) -> Result<Vec<Found>, ClientError> {
        let (_, secrets) = self.evaluate(siis).await?;
        let mut found = Vec::with_capacity(siis.len());
        for (sii, secret) in siis.iter().zip(&secrets) {
            found.push(
                self.open_and_check(sii, secret, trust, revocations, &BTreeMap::new(), now)
                    .await?,
            );
        }
        Ok(found)
    }

    async fn open_and_check(
        &self,
        sii: &Sii,
        secret: &LookupSecret,
        trust: &TrustSet,
        revocations: &RevocationSet,
        floor: &BTreeMap<ProviderDomain, u64>,
        now: u64,
    ) -> Result<Found, ClientError> {
        let response = self.records(secret.index()).await?;
        let (objects, unopened) = secret.open_all(&response);
        let outcome = check_lookup_with_floor(sii, &objects, now, trust, revocations, floor);
        Ok(Found {
            sii: sii.clone(),
            outcome,
            unopened,
        })
    }

    /// Seal `objects` for `sii` and upload them with the publisher `token` (docs/discovery-lookup.md
    /// §7, publisher procedure). One status per object, in order.
    ///
    /// # Errors
    /// As [`Self::evaluate`]; [`ClientError::Discovery`] for a refused upload (401: wrong
    /// token) or a bad answer.
    pub async fn publish(
        &self,
        token: &str,
        sii: &Sii,
        objects: &[Publication<'_>],
    ) -> Result<Vec<UploadStatus>, ClientError> {
        let (_, mut secrets) = self.evaluate(std::slice::from_ref(sii)).await?;
        let secret = secrets
            .pop()
            .ok_or_else(|| discovery("the evaluation has no element"))?;
        let entries = objects
            .iter()
            .map(|p| {
                Ok(UploadEntry {
                    index: *secret.index(),
                    expires_at: p.expires_at,
                    record: secret.seal(p.object, &mut OsRng).map_err(discovery)?,
                })
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        let upload = UploadRequest::new(entries, vec![]).map_err(discovery)?;
        let body = self
            .call(
                Method::POST,
                "/discovery/v1/upload",
                Some(upload.encode()),
                Some(token),
            )
            .await?;
        let response = UploadResponse::decode(&body).map_err(discovery)?;
        if response.statuses.len() != objects.len() {
            return Err(discovery(
                "the upload answer has the wrong number of statuses",
            ));
        }
        Ok(response.statuses)
    }
}
