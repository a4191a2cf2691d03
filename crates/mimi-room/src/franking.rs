//! Franking (protocol-06 §5.4.1): the client commits to its message with a franking tag in
//! the Safe AAD, the hub binds tag, sender, room and acceptance time into a server frank and
//! signs it, receivers verify the signature, and the hub can later confirm an abuse report.

use hmac::{Hmac, Mac};
use mimi_content::MimiContent;
use mimi_types::wire::{
    FRANKING_INTEGRITY_LABEL, Frank, FrankingIntegrityTbs, IdentifierUri, ServerFrankingContext,
    sign_content,
};
use openmls::prelude::tls_codec::Serialize as _;
use openmls::prelude::{OpenMlsCrypto, VerifiableCiphersuite};
use openmls_traits::signatures::Signer;
use sha2::Sha256;

use crate::RoomError;
use crate::profile::CIPHERSUITE;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// `franking_tag = HMAC_SHA256(salt, application_data)`: the salt is the MIMI content's own
/// salt and the application data its encoding (protocol-06 §5.4.1).
pub fn franking_tag(content_bytes: &[u8]) -> Result<[u8; 32], RoomError> {
    let content = MimiContent::decode(content_bytes)
        .map_err(|e| RoomError::Invalid(format!("content: {e}")))?;
    Ok(hmac(&content.salt, &[content_bytes]))
}

/// The hub's franking secrets: the symmetric `hub_key` and the signer of integrity signatures
/// (the hub's MLS key, published as the room's `franking_agent`).
pub struct Franker<'a> {
    /// `hub_key`.
    pub hub_key: &'a [u8; 32],
    /// The franking signer.
    pub signer: &'a dyn Signer,
}

impl Franker<'_> {
    /// Frank an accepted message (protocol-06 §5.4.1, hub steps).
    pub fn frank(
        &self,
        franking_tag: &[u8; 32],
        context: ServerFrankingContext,
    ) -> Result<Frank, RoomError> {
        let input = context.server_frank_input(franking_tag)?;
        let server_frank = hmac(self.hub_key, &[&input]);
        let tbs = FrankingIntegrityTbs {
            server_frank,
            franking_signature_ciphersuite: VerifiableCiphersuite::from(CIPHERSUITE),
            context,
        };
        let tbs = tbs
            .tls_serialize_detached()
            .map_err(|e| RoomError::Internal(format!("encoding FrankingIntegrityTBS: {e:?}")))?;
        let signature = self
            .signer
            .sign(&sign_content(FRANKING_INTEGRITY_LABEL, &tbs)?)
            .map_err(|e| RoomError::Internal(format!("signing: {e:?}")))?;
        Ok(Frank {
            server_frank,
            franking_signature_ciphersuite: VerifiableCiphersuite::from(CIPHERSUITE),
            franking_integrity_signature: signature.into(),
        })
    }

    /// Confirm a reported message: recompute its franking tag and the server frank from the
    /// hub key, and check the integrity signature.
    pub fn confirm_report(
        &self,
        crypto: &impl OpenMlsCrypto,
        agent_key: &[u8],
        content_bytes: &[u8],
        frank: &Frank,
        accepted_timestamp: u64,
    ) -> Result<(), RoomError> {
        let context = report_context(content_bytes, accepted_timestamp)?;
        let tag = franking_tag(content_bytes)?;
        let expected = hmac(self.hub_key, &[&context.server_frank_input(&tag)?]);
        if expected != frank.server_frank {
            return Err(RoomError::Invalid(
                "the server frank does not match this message".into(),
            ));
        }
        verify_frank(crypto, agent_key, frank, &tag, context)
    }
}

/// The franking context of a reported message, from the content's sender and room URIs.
fn report_context(
    content_bytes: &[u8],
    accepted_timestamp: u64,
) -> Result<ServerFrankingContext, RoomError> {
    let content = MimiContent::decode(content_bytes)
        .map_err(|e| RoomError::Invalid(format!("content: {e}")))?;
    let uri = |s: Option<&String>, what: &str| -> Result<IdentifierUri, RoomError> {
        let s = s.ok_or_else(|| RoomError::Invalid(format!("the content has no {what} URI")))?;
        Ok(mimi_types::id::MimiUri::parse(s)
            .map_err(|e| RoomError::Invalid(format!("{what} URI: {e}")))?
            .into())
    };
    Ok(ServerFrankingContext {
        sender_uri: uri(content.extensions.sender_uri.as_ref(), "sender")?,
        room_uri: uri(content.extensions.room_uri.as_ref(), "room")?,
        accepted_timestamp,
    })
}

/// Receiver check (protocol-06 §5.4.1): the franking agent's signature over the server frank
/// and the context the receiver derived itself.
pub fn verify_frank(
    crypto: &impl OpenMlsCrypto,
    agent_key: &[u8],
    frank: &Frank,
    _franking_tag: &[u8; 32],
    context: ServerFrankingContext,
) -> Result<(), RoomError> {
    let tbs = FrankingIntegrityTbs {
        server_frank: frank.server_frank,
        franking_signature_ciphersuite: frank.franking_signature_ciphersuite,
        context,
    }
    .tls_serialize_detached()
    .map_err(|e| RoomError::Internal(format!("encoding FrankingIntegrityTBS: {e:?}")))?;
    crypto
        .verify_signature(
            CIPHERSUITE.signature_algorithm(),
            &sign_content(FRANKING_INTEGRITY_LABEL, &tbs)?,
            agent_key,
            frank.franking_integrity_signature.as_slice(),
        )
        .map_err(|_| RoomError::Invalid("the franking integrity signature does not verify".into()))
}
