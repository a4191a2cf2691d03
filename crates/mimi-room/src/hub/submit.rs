//! `POST /submitMessage/{roomId}` at the hub (protocol-06 §5.4).

use std::collections::BTreeSet;

use mimi_types::id::{MimiUri, ProviderDomain, UriKind};
use mimi_types::wire::{
    AbuseReport, Capability, FanoutMessage, FanoutPayload, FrankAad, MlsMessage, MlsMessageKind,
    Protocol, SafeAad, ServerFrankingContext, SubmitMessageRequest, SubmitMessageResponse,
    SubmitOutcome, WireMessage, components,
};
use openmls::prelude::MlsMessageBodyIn;
use openmls::prelude::OpenMlsProvider;

use super::fanout::{Accepted, Fanout};
use super::{HubContext, HubRoom};
use crate::RoomError;

/// The hub's answer to a `/submitMessage`.
#[derive(Debug)]
pub struct SubmitReply {
    /// The `SubmitMessageResponse` body.
    pub response: SubmitMessageResponse,
    /// Set when the message was accepted.
    pub accepted: Option<Accepted>,
    /// Why it was refused, for logs (the protocol response carries only the code).
    pub refusal: Option<String>,
}

impl SubmitReply {
    fn refused(outcome: SubmitOutcome, why: impl Into<String>) -> Self {
        SubmitReply {
            response: SubmitMessageResponse {
                protocol: Protocol::Mls10,
                outcome,
            },
            accepted: None,
            refusal: Some(why.into()),
        }
    }
}

impl HubRoom {
    /// Handle a `/submitMessage` from provider `from`. Refusals are protocol responses and
    /// change nothing.
    pub fn handle_submit(
        &mut self,
        ctx: &HubContext<'_>,
        from: &ProviderDomain,
        request: &SubmitMessageRequest,
    ) -> Result<SubmitReply, RoomError> {
        let not_allowed = |why: &str| Ok(SubmitReply::refused(SubmitOutcome::NotAllowed, why));
        let message = &request.app_message;
        // protocol-06 §5.4: appMessage MUST be a PrivateMessage carrying an application message.
        if !message.is_private_application() {
            return not_allowed("appMessage must be a PrivateMessage application message");
        }
        let MlsMessageKind::Framed { epoch, .. } = message.kind() else {
            return not_allowed("appMessage is not a framed message");
        };
        let group_id_ok = match message.parse()?.extract() {
            MlsMessageBodyIn::PrivateMessage(pm) => pm.group_id() == self.group.group_id(),
            _ => false,
        };
        if !group_id_ok {
            return not_allowed("message is for another MLS group");
        }
        let current = self.epoch();
        if epoch > current {
            // protocol-06 §5.4: nonsensical input, e.g. an epoch newer than the hub's.
            return not_allowed("epoch is newer than the room's");
        }
        if epoch < current {
            return Ok(SubmitReply::refused(
                SubmitOutcome::EpochTooOld {
                    current_epoch: current,
                },
                "epoch too old",
            ));
        }
        // protocol-06 §5.4: the sender is a valid URI of an active participant; a follower
        // speaks only for its own users.
        let sender = request.sending_uri.uri();
        if !matches!(sender.kind(), UriKind::User | UriKind::Pseudonym) {
            return not_allowed("sendingUri is not a user");
        }
        if sender.domain() != from {
            return not_allowed("sendingUri is not a user of the submitting provider");
        }
        if !self.leaves.values().any(|l| &l.user == sender) {
            return not_allowed("the sender has no client in the room");
        }
        // protocol-06 §5.3: removed or banned users' messages are blocked; room-policy-03:
        // canSendMessage.
        if !self.effective_policy().can_send_message(sender) {
            return not_allowed("the sender may not send messages in this room");
        }
        // protocol-06 §5.4.1: frank when the message carries a franking tag and the room
        // names this hub as franking agent.
        let frank = match (self.franking, franking_tag_of(message)?) {
            (true, Some(tag)) => Some(ctx.hub.franker().frank(
                &tag,
                ServerFrankingContext {
                    sender_uri: request.sending_uri.clone(),
                    room_uri: MimiUri::from(self.room.clone()).into(),
                    accepted_timestamp: ctx.now_ms,
                },
            )?),
            _ => None,
        };
        let seq = self.next_seq();
        let fanout_message = FanoutMessage {
            timestamp: ctx.now_ms,
            payload: FanoutPayload::Application {
                message: message.clone(),
                frank: frank.clone(),
            },
        };
        // Withhold delivery from providers none of whose users may receive (room-policy-03
        // canReceiveMessage is the one receive capability a hub can enforce).
        let receivers = self
            .effective_policy()
            .participants_with(Capability::RECEIVE_MESSAGE);
        let destinations: BTreeSet<ProviderDomain> = self
            .leaves
            .values()
            .filter(|l| receivers.contains(&l.user))
            .map(|l| l.domain.clone())
            .collect();
        let fanout = destinations
            .into_iter()
            .map(|destination| Fanout {
                destination,
                message: fanout_message.clone(),
            })
            .collect();
        Ok(SubmitReply {
            response: SubmitMessageResponse {
                protocol: Protocol::Mls10,
                outcome: SubmitOutcome::Accepted {
                    accepted_timestamp: ctx.now_ms,
                    frank,
                },
            },
            accepted: Some(Accepted { seq, fanout }),
            refusal: None,
        })
    }
}

/// The franking tag in a PrivateMessage's Safe AAD, if any (component `frank_aad`).
fn franking_tag_of(message: &MlsMessage) -> Result<Option<[u8; 32]>, RoomError> {
    let MlsMessageBodyIn::PrivateMessage(pm) = message.parse()?.extract() else {
        return Ok(None);
    };
    let Ok(aad) = SafeAad::decode(pm.aad()) else {
        return Ok(None);
    };
    Ok(aad
        .item(components::FRANK_AAD)
        .and_then(|bytes| {
            <FrankAad as openmls::prelude::tls_codec::Deserialize>::tls_deserialize_exact(bytes)
                .ok()
        })
        .map(|f| f.franking_tag))
}

impl HubRoom {
    /// Handle a `/reportAbuse` for this room from provider `from` (protocol-06 §5.9): every
    /// reported message must be franked by this hub for this room; `Ok` means the report is
    /// accepted for review.
    pub fn handle_report(
        &self,
        ctx: &HubContext<'_>,
        from: &ProviderDomain,
        report: &AbuseReport,
    ) -> Result<(), RoomError> {
        if !self.franking {
            return Err(RoomError::Invalid(
                "this room does not frank messages".into(),
            ));
        }
        if let Some(reporter) = &report.reporting_user.0
            && reporter.uri().domain() != from
        {
            return Err(RoomError::Invalid(
                "the reporter is not a user of the reporting provider".into(),
            ));
        }
        if report.messages.is_empty() {
            return Err(RoomError::Invalid("the report names no message".into()));
        }
        let room = MimiUri::from(self.room.clone());
        for m in &report.messages {
            let content = mimi_content::MimiContent::decode(m.message_content.as_slice())
                .map_err(|e| RoomError::Invalid(format!("reported content: {e}")))?;
            if content.extensions.room_uri.as_deref() != Some(room.as_str()) {
                return Err(RoomError::Invalid(
                    "a reported message is from another room".into(),
                ));
            }
            ctx.hub.franker().confirm_report(
                self.provider.crypto(),
                ctx.hub.signer.public(),
                m.message_content.as_slice(),
                &m.frank,
                m.accepted_timestamp,
            )?;
        }
        Ok(())
    }
}
