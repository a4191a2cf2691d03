//! Lookups through an Oblivious HTTP relay (RFC 9458; docs/discovery.md §12): the client
//! encrypts a Binary HTTP (RFC 9292) `POST /discovery/v1/lookup` to the distribution point's
//! OHTTP key and sends it to a relay, which forwards it to the point's gateway. The relay sees
//! who asks but not what; the point sees what is asked but not who.
//!
//! ```text
//!  client ── message/ohttp-req ──▶ relay ── message/ohttp-req ──▶ DP gateway ─▶ lookup
//!         ◀─ message/ohttp-res ───       ◀─ message/ohttp-res ───
//! ```

use std::io::Cursor;

use bhttp::{Message, Mode};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::discovery::{base_url, exchange};
use crate::error::ClientError;

/// The media type of an encapsulated request (RFC 9458 §9.2).
pub const OHTTP_REQUEST: &str = "message/ohttp-req";
/// The media type of an encapsulated response (RFC 9458 §9.3).
pub const OHTTP_RESPONSE: &str = "message/ohttp-res";
/// The media type of a list of key configurations (RFC 9458 §9.1).
pub const OHTTP_KEYS: &str = "application/ohttp-keys";

fn ohttp(e: impl std::fmt::Display) -> ClientError {
    ClientError::Discovery(format!("OHTTP: {e}"))
}

/// An OHTTP relay and the gateway key configurations to encrypt to.
#[derive(Clone)]
pub struct Relay {
    url: String,
    keys: Vec<u8>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("url", &self.url).finish()
    }
}

impl Relay {
    /// The relay at `url` (`http://host:port`, optionally with a path), encrypting to the
    /// gateway key configurations `keys` (`application/ohttp-keys`, RFC 9458 §3.2).
    ///
    /// # Errors
    /// [`ClientError::Invalid`] for another form of URL or key configurations that do not
    /// decode.
    pub fn new(url: &str, keys: Vec<u8>) -> Result<Self, ClientError> {
        let (origin, path) = match url.strip_prefix("http://").and_then(|r| r.find('/')) {
            Some(slash) => url.split_at("http://".len() + slash),
            None => (url, ""),
        };
        let origin = base_url(origin)?;
        ohttp::KeyConfig::decode_list(&keys)
            .map_err(|e| ClientError::Invalid(format!("OHTTP key configurations: {e}")))?;
        Ok(Self {
            url: format!("{origin}{path}"),
            keys,
        })
    }

    /// Fetch the gateway key configurations a distribution point publishes
    /// (`GET /discovery/v1/ohttp-keys`). Clients SHOULD obtain them through a channel that
    /// gives everybody the same ones (configuration); fetching them from the point itself is
    /// the fallback.
    ///
    /// # Errors
    /// Transport errors and refusals.
    pub async fn fetch_keys(
        http: &Client<HttpConnector, Full<Bytes>>,
        dp_url: &str,
    ) -> Result<Vec<u8>, ClientError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}/discovery/v1/ohttp-keys", base_url(dp_url)?))
            .body(Full::new(Bytes::new()))
            .map_err(ohttp)?;
        exchange(http, request, "/discovery/v1/ohttp-keys").await
    }

    /// The relay's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Send one lookup request body through the relay; the lookup response body.
    pub(crate) async fn lookup(
        &self,
        http: &Client<HttpConnector, Full<Bytes>>,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut inner = Message::request(
            b"POST".to_vec(),
            b"https".to_vec(),
            b"distribution-point".to_vec(),
            b"/discovery/v1/lookup".to_vec(),
        );
        inner.put_header("content-type", "application/cbor");
        inner.write_content(body);
        let mut plain = Vec::new();
        inner
            .write_bhttp(Mode::KnownLength, &mut plain)
            .map_err(ohttp)?;
        let client = ohttp::ClientRequest::from_encoded_config_list(&self.keys).map_err(ohttp)?;
        let (sealed, pending) = client.encapsulate(&plain).map_err(ohttp)?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.url)
            .header(header::CONTENT_TYPE, OHTTP_REQUEST)
            .body(Full::new(Bytes::from(sealed)))
            .map_err(ohttp)?;
        let answer = exchange(http, request, "OHTTP relay").await?;
        let plain = pending.decapsulate(&answer).map_err(ohttp)?;
        let response = Message::read_bhttp(&mut Cursor::new(&plain[..])).map_err(ohttp)?;
        match response.control().status().map(|s| s.code()) {
            Some(200) => Ok(response.content().to_vec()),
            Some(code) => Err(ClientError::Discovery(format!(
                "lookup through the relay: {code}: {}",
                String::from_utf8_lossy(response.content()).trim()
            ))),
            None => Err(ohttp("the gateway answered with a request")),
        }
    }
}
