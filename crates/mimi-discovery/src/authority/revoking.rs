//! Signing and publishing revocations (docs/discovery.md §13.5; requirements R9, R10).

use crate::error::{Error, Malformed};
use crate::limits::MAX_LIFETIME_SECS;
use crate::revocation::{Revocation, RevocationTarget};
use crate::sii::Sii;

use super::sender::CodeSender;
use super::state::Published;
use super::{EXPIRY_MARGIN_SECS, MAX_AHEAD_SECS, MappingAuthority};

impl<S: CodeSender> MappingAuthority<S> {
    /// Sign a revocation of `target` as of now, publish it ([`Self::published_revocations`])
    /// and return it:
    ///
    /// * [`RevocationTarget::Serial`]: one of this authority's unexpired assertions;
    /// * [`RevocationTarget::Mapping`]: the mapping of an SII to one SSI;
    /// * [`RevocationTarget::Sii`]: every mapping of an SII.
    ///
    /// The authority signs only what verifiers will accept from it
    /// ([`crate::Permissions::revocation_reach`], R10): otherwise [`Error::NotAuthorized`]. A
    /// serial that names no unexpired assertion of this authority is [`Error::Invalid`].
    /// Whether the recipient (or the SII's issuer) asked for the removal is the caller's to
    /// establish (R10).
    ///
    /// Afterwards [`Self::renew`] no longer brings back what was revoked: a revoked latest
    /// assertion or SII leaves nothing to renew, a revoked SSI is left out of renewals, and
    /// every later assertion for the SII is issued after the revocation.
    pub fn revoke(&mut self, target: RevocationTarget, now: u64) -> Result<Vec<u8>, Error> {
        // R10, docs/discovery.md §4.3: never sign a removal verifiers would refuse.
        self.permissions.revocation_reach(&target)?;
        let (issued_at, drop_after) = match &target {
            RevocationTarget::Serial(serial) => {
                let (_, expires_at) = self.state.live_serials.get(serial).ok_or(Error::Invalid(
                    Malformed::OutOfRange(
                        "serial (no unexpired assertion of this authority has it)",
                    ),
                ))?;
                (now, expires_at.saturating_add(EXPIRY_MARGIN_SECS))
            }
            RevocationTarget::Mapping { sii, .. } | RevocationTarget::Sii(sii) => {
                let issued_at = self.covering_time(sii, now)?;
                // Any authority's assertion it covers was issued by `issued_at` and lives at
                // most MAX_LIFETIME_SECS.
                let drop_after = issued_at
                    .saturating_add(MAX_LIFETIME_SECS)
                    .saturating_add(EXPIRY_MARGIN_SECS);
                (issued_at, drop_after)
            }
        };
        let revocation = Revocation::new(self.signer.authority().clone(), issued_at, target);
        let bytes = self.signer.sign_revocation(&revocation)?;
        let target = revocation.target().clone();
        self.state.forget_revoked(&target, issued_at);
        self.state.note_revocation(&target, issued_at);
        self.state.revocations.push(Published {
            target,
            issued_at,
            drop_after,
            bytes: bytes.clone(),
        });
        Ok(bytes)
    }

    /// Every revocation this authority signed and still publishes, oldest first. A revocation
    /// is dropped by [`Self::prune`] once no assertion it covers can still be valid.
    pub fn published_revocations(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.state.revocations.iter().map(|p| p.bytes.as_slice())
    }

    /// `now`, or later if the SII's latest assertion was dated ahead of `now` (it follows an
    /// earlier revocation in the same second): the revocation must cover it.
    fn covering_time(&self, sii: &Sii, now: u64) -> Result<u64, Error> {
        let t = self
            .state
            .records
            .get(sii)
            .map_or(now, |r| r.issued_at.max(now));
        if t > now.saturating_add(MAX_AHEAD_SECS) {
            return Err(Error::RateLimited {
                retry_after: t - now - MAX_AHEAD_SECS,
            });
        }
        Ok(t)
    }
}
