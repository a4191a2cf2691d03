//! The distribution point as an Oblivious HTTP gateway (RFC 9458 §5; docs/discovery.md §12):
//! `POST /discovery/v1/gateway` takes an encapsulated Binary HTTP (RFC 9292) lookup that
//! arrived through a relay, answers it like `POST /discovery/v1/lookup`, and encapsulates the
//! answer. `GET /discovery/v1/ohttp-keys` publishes the key configuration.
//!
//! Only lookups travel this way: evaluations are rate limited per requester and must stay
//! attributable, uploads are authenticated (docs/decisions/0135).

use std::io::Cursor;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bhttp::{Message, Mode};
use mimi_lookup::Error;
use ohttp::hpke::{Aead, Kdf, Kem};
use ohttp::{KeyConfig, SymmetricSuite};

use crate::{CBOR, DpError, OHTTP_KEYS, OHTTP_RESPONSE};

/// The key id of the gateway's one key configuration.
const KEY_ID: u8 = 1;

/// The only request the gateway answers.
const LOOKUP_PATH: &[u8] = b"/discovery/v1/lookup";

/// The gateway: an HPKE key (X25519, HKDF-SHA256; AES-128-GCM or ChaCha20-Poly1305).
pub struct Gateway {
    server: ohttp::Server,
    keys: Vec<u8>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

fn config_error(e: ohttp::Error) -> DpError {
    DpError::Config(format!("OHTTP key: {e}"))
}

impl Gateway {
    /// The gateway whose key pair is derived from `ikm` (32 secret bytes kept in the data
    /// directory), with the HPKE `DeriveKeyPair` of RFC 9180 §7.1.3.
    ///
    /// # Errors
    /// [`DpError::Config`] if the HPKE library refuses the key.
    pub fn from_secret(ikm: &[u8; 32]) -> Result<Self, DpError> {
        let suites = vec![
            SymmetricSuite::new(Kdf::HkdfSha256, Aead::Aes128Gcm),
            SymmetricSuite::new(Kdf::HkdfSha256, Aead::ChaCha20Poly1305),
        ];
        let config =
            KeyConfig::derive(KEY_ID, Kem::X25519Sha256, suites, ikm).map_err(config_error)?;
        let keys = KeyConfig::encode_list(&[&config]).map_err(config_error)?;
        Ok(Self {
            server: ohttp::Server::new(config).map_err(config_error)?,
            keys,
        })
    }

    /// The key configurations, as `application/ohttp-keys` (RFC 9458 §3.2).
    pub fn key_configs(&self) -> &[u8] {
        &self.keys
    }

    /// The `GET /discovery/v1/ohttp-keys` answer.
    pub(crate) fn keys_response(&self) -> Response {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(OHTTP_KEYS))],
            self.keys.clone(),
        )
            .into_response()
    }

    /// Answer one encapsulated request: decapsulate, check that it is a lookup, run
    /// `lookup` on its body, encapsulate the answer. Failures to decapsulate are the
    /// gateway's own 400 (RFC 9458 §5.2); everything inside travels encrypted.
    pub(crate) fn handle(
        &self,
        body: &[u8],
        lookup: impl FnOnce(&[u8]) -> Result<Vec<u8>, Error>,
    ) -> Response {
        let Ok((plain, pending)) = self.server.decapsulate(body) else {
            return (
                StatusCode::BAD_REQUEST,
                "cannot decapsulate: unknown key id, suite or damaged request",
            )
                .into_response();
        };
        let (status, content_type, content) = match inner_lookup(&plain) {
            Ok(request) => match lookup(request.content()) {
                Ok(answer) => (200, CBOR, answer),
                Err(e) => (
                    if matches!(e, Error::TooLarge { .. }) {
                        413
                    } else {
                        400
                    },
                    "text/plain",
                    e.to_string().into_bytes(),
                ),
            },
            Err((status, reason)) => (status, "text/plain", reason.as_bytes().to_vec()),
        };
        let Ok(status) = bhttp::StatusCode::try_from(status) else {
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        };
        let mut inner = Message::response(status);
        inner.put_header("content-type", content_type);
        inner.write_content(content);
        let mut encoded = Vec::new();
        let sealed = inner
            .write_bhttp(Mode::KnownLength, &mut encoded)
            .map_err(|_| ())
            .and_then(|()| pending.encapsulate(&encoded).map_err(|_| ()));
        match sealed {
            Ok(sealed) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(OHTTP_RESPONSE),
                )],
                sealed,
            )
                .into_response(),
            Err(()) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        }
    }
}

/// The decapsulated request, if it is `POST /discovery/v1/lookup` with a CBOR body; else the
/// inner status and reason.
fn inner_lookup(plain: &[u8]) -> Result<Message, (u16, &'static str)> {
    let request = Message::read_bhttp(&mut Cursor::new(plain))
        .map_err(|_| (400, "not a Binary HTTP request"))?;
    if request.control().method() != Some(b"POST".as_slice()) {
        return Err((
            405,
            "only POST /discovery/v1/lookup is answered through the gateway",
        ));
    }
    if request.control().path() != Some(LOOKUP_PATH) {
        return Err((
            404,
            "only POST /discovery/v1/lookup is answered through the gateway",
        ));
    }
    let cbor = request
        .header()
        .get(b"content-type")
        .and_then(|v| std::str::from_utf8(v).ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(CBOR));
    if !cbor {
        return Err((415, "the body must be application/cbor"));
    }
    Ok(request)
}
