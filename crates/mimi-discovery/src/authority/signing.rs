//! Issuing and renewing assertions (docs/discovery.md §13.3, §13.4).

use crate::assertion::{MappingAssertion, SsiEntry};
use crate::error::{Error, Malformed};
use crate::sii::Sii;

use super::proof::ProofOfControl;
use super::sender::CodeSender;
use super::state::Issued;
use super::{MAX_AHEAD_SECS, MappingAuthority};

/// Serials are at least `now << SERIAL_TIME_SHIFT` (docs/decisions/0124).
const SERIAL_TIME_SHIFT: u32 = 20;

impl<S: CodeSender> MappingAuthority<S> {
    /// Sign the mapping of `sii` to `entries` (priorities and tags as the recipient chose,
    /// R2), valid for `validity` seconds from now, on the strength of `proof`; returns the
    /// signed assertion. The proof is used up.
    ///
    /// Refused when the proof is for another SII, unknown or already used, or expired
    /// ([`Error::ProofRejected`]); when an SSI is outside the authority's rights (a provider
    /// only maps to its own domain) or was not in the SSIs the recipient authorized with the
    /// code ([`Error::NotAuthorized`], R1); and when the entries or `validity` break the format
    /// ([`Error::Invalid`]: `validity` must be 1 s to 366 days;
    /// [`crate::RECOMMENDED_VALIDITY_SECS`] is the recommendation). On refusals other than an
    /// expired proof the proof stays usable.
    ///
    /// The new assertion gets a serial above every earlier one and replaces the SII's
    /// previous assertion (docs/discovery.md §5).
    pub fn issue(
        &mut self,
        proof: &ProofOfControl,
        sii: &Sii,
        entries: Vec<SsiEntry>,
        validity: u64,
        now: u64,
    ) -> Result<Vec<u8>, Error> {
        if proof.sii() != sii {
            return Err(Error::ProofRejected("the proof is for another SII"));
        }
        if self.state.proofs.get(sii) != Some(proof) {
            return Err(Error::ProofRejected("unknown or already used"));
        }
        if now > proof.expires_at() {
            self.state.proofs.remove(sii);
            return Err(Error::ProofRejected("expired"));
        }
        // R4, docs/discovery.md §4.2: what verifiers would refuse is not signed.
        self.permissions
            .may_assert(sii, entries.iter().map(SsiEntry::provider))?;
        // R1: only the SSIs the recipient agreed to when it entered the code.
        if entries
            .iter()
            .any(|e| proof.requested_ssis().binary_search(e.ssi()).is_err())
        {
            return Err(Error::NotAuthorized(
                "the recipient did not authorize this SSI with the code (R1)",
            ));
        }
        let bytes = self.sign_new(sii, entries, validity, proof.proven_at(), now)?;
        self.state.proofs.remove(sii);
        Ok(bytes)
    }

    /// Re-issue the latest mapping of `sii` (same entries and lifetime) with a new serial and
    /// validity starting now, without a new proof, **only** if control of the SII was last
    /// proven at most [`crate::AuthorityConfig::renewal_window`] ago; otherwise, or if there is
    /// no mapping to renew (none issued, or revoked), [`Error::ProofRequired`]: the recipient
    /// proves control again and the mapping is issued anew (docs/decisions/0125).
    pub fn renew(&mut self, sii: &Sii, now: u64) -> Result<Vec<u8>, Error> {
        let record = self
            .state
            .records
            .get(sii)
            .ok_or(Error::ProofRequired("no mapping of this SII to renew"))?;
        if now > record.proven_at.saturating_add(self.config.renewal_window) {
            return Err(Error::ProofRequired(
                "control of the SII was proven before the renewal window",
            ));
        }
        let entries = record.entries.clone();
        let lifetime = record.expires_at.saturating_sub(record.issued_at);
        let proven_at = record.proven_at;
        // The rights may have changed since (a re-imported state, a new configuration).
        self.permissions
            .may_assert(sii, entries.iter().map(SsiEntry::provider))?;
        self.sign_new(sii, entries, lifetime, proven_at, now)
    }

    /// Sign and record a new assertion for `sii`.
    fn sign_new(
        &mut self,
        sii: &Sii,
        entries: Vec<SsiEntry>,
        lifetime: u64,
        proven_at: u64,
        now: u64,
    ) -> Result<Vec<u8>, Error> {
        let issued_at = self.issue_time(sii, now)?;
        let expires_at = issued_at
            .checked_add(lifetime)
            .ok_or(Error::Invalid(Malformed::LifetimeTooLong))?;
        let serial = self.next_serial(now)?;
        let assertion = MappingAssertion::new(
            self.signer.authority().clone(),
            serial,
            sii.clone(),
            issued_at,
            expires_at,
            entries,
        )?;
        let bytes = self.signer.sign_assertion(&assertion)?;
        self.state.last_serial = serial;
        self.state
            .live_serials
            .insert(serial, (sii.clone(), expires_at));
        self.state.records.insert(
            sii.clone(),
            Issued {
                serial,
                issued_at,
                expires_at,
                entries: assertion.ssis().to_vec(),
                proven_at,
                bytes: bytes.clone(),
            },
        );
        Ok(bytes)
    }

    /// `now`, or just after the authority's latest revocation of a mapping of `sii`: a
    /// revocation covers assertions issued at or before it, and must not cover a newer one.
    fn issue_time(&self, sii: &Sii, now: u64) -> Result<u64, Error> {
        let t = match self.state.revoked_at.get(sii) {
            Some(&revoked) if revoked >= now => revoked.saturating_add(1),
            _ => now,
        };
        if t > now.saturating_add(MAX_AHEAD_SECS) {
            return Err(Error::RateLimited {
                retry_after: t - now - MAX_AHEAD_SECS,
            });
        }
        Ok(t)
    }

    /// Above every serial used so far, and at least `now << 20` so that serials keep growing
    /// even if the state was lost (docs/decisions/0124).
    fn next_serial(&self, now: u64) -> Result<u64, Error> {
        let next = self
            .state
            .last_serial
            .checked_add(1)
            .ok_or(Error::Invalid(Malformed::OutOfRange("serial (exhausted)")))?;
        let floor = now.checked_mul(1 << SERIAL_TIME_SHIFT).unwrap_or(0);
        Ok(next.max(floor))
    }
}
