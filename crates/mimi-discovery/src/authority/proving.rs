//! Proof of control: send a one-time code to the SII, take it back (docs/discovery.md §13.2).

use mimi_types::id::UserUri;
use rand_core::CryptoRngCore;

use super::code::{self, ChallengeId};
use super::proof::ProofOfControl;
use super::sender::{CodeMessage, CodeSender};
use super::state::{Challenge, log_event, retry_after};
use super::{MappingAuthority, config::RateLimit};
use crate::error::{Error, Malformed};
use crate::limits::MAX_SSIS;
use crate::sii::Sii;

/// Fresh challenge ids drawn before giving up on an RNG that keeps repeating itself.
const ID_DRAWS: usize = 8;

impl<S: CodeSender> MappingAuthority<S> {
    /// Start proving control of `sii` for mapping it to `requested_ssis` (possibly none: an
    /// empty mapping, "not discoverable"): draw a one-time code from `rng`, send it through
    /// the [`CodeSender`] together with what it authorizes, and return the challenge's id, to be
    /// given back with the code to [`MappingAuthority::complete_proof`].
    ///
    /// Refused, before anything is sent, when the authority could not sign the mapping
    /// anyway ([`Error::NotAuthorized`]: the SII or an SSI's domain is outside its rights,
    /// R1, R4), and when the SII's rate limits are reached ([`Error::RateLimited`]: codes per
    /// window, or wrong codes per window) or the challenge table is full. A new challenge for an
    /// SII replaces its previous one. A send that fails ([`Error::Delivery`]) creates no
    /// challenge but counts against the SII's limits.
    pub fn start_proof(
        &mut self,
        sii: &Sii,
        requested_ssis: &[UserUri],
        now: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<ChallengeId, Error> {
        let requested = canonical_ssis(requested_ssis)?;
        // R1 and docs/discovery.md §4.2: no code for a mapping the authority may not sign.
        self.permissions
            .may_assert(sii, requested.iter().map(UserUri::domain))?;
        self.check_send_limits(sii, now)?;
        self.make_room(sii, now)?;

        let id = self.fresh_id(rng)?;
        let code = code::generate(self.config.code_digits, rng);
        let expires_at = now.saturating_add(self.config.challenge_ttl);
        // Counted before sending: a send that times out may still have been delivered.
        log_event(&mut self.state.sends, sii, now);
        self.sender.send(&CodeMessage {
            authority: self.signer.authority(),
            sii,
            code: &code,
            requested_ssis: &requested,
            expires_at,
        })?;
        self.state.put_challenge(Challenge {
            id,
            sii: sii.clone(),
            requested,
            digest: code::digest(&id, &code),
            created_at: now,
            expires_at,
            attempts: 0,
        });
        Ok(id)
    }

    /// Complete a challenge with the code the recipient received. The right code, before the
    /// challenge expires, gives a [`ProofOfControl`] (valid for
    /// [`crate::AuthorityConfig::proof_ttl`]) and ends the challenge: each code works once.
    ///
    /// The code is compared in constant time. A wrong code costs one attempt
    /// ([`Error::WrongCode`]); the last allowed attempt kills the challenge
    /// ([`Error::TooManyAttempts`]), and so does reaching the SII's limit of wrong codes
    /// ([`Error::RateLimited`]). An expired challenge is removed ([`Error::ChallengeExpired`]);
    /// an id that is not live is [`Error::UnknownChallenge`].
    pub fn complete_proof(
        &mut self,
        id: &ChallengeId,
        code: &str,
        now: u64,
    ) -> Result<ProofOfControl, Error> {
        let sii = self
            .state
            .challenge_ids
            .get(id)
            .cloned()
            .ok_or(Error::UnknownChallenge)?;
        let failure_limit = self.config.failure_limit;
        let max_attempts = self.config.max_attempts;
        let challenge = self
            .state
            .challenges
            .get_mut(&sii)
            .ok_or(Error::UnknownChallenge)?;
        if now > challenge.expires_at {
            self.state.remove_challenge(&sii);
            return Err(Error::ChallengeExpired);
        }
        if code::matches(id, code, &challenge.digest) {
            let proof = ProofOfControl {
                id: *id,
                sii: sii.clone(),
                requested_ssis: challenge.requested.clone(),
                proven_at: now,
                expires_at: now.saturating_add(self.config.proof_ttl),
            };
            self.state.remove_challenge(&sii);
            self.state.proofs.insert(sii, proof.clone());
            return Ok(proof);
        }
        challenge.attempts = challenge.attempts.saturating_add(1);
        let attempts_left = max_attempts.saturating_sub(challenge.attempts);
        log_event(&mut self.state.failures, &sii, now);
        if attempts_left == 0 {
            self.state.remove_challenge(&sii);
            return Err(Error::TooManyAttempts);
        }
        if let Some(retry_after) = self.failure_wait(&sii, &failure_limit, now) {
            self.state.remove_challenge(&sii);
            return Err(Error::RateLimited { retry_after });
        }
        Err(Error::WrongCode { attempts_left })
    }

    /// [`Error::RateLimited`] if `sii` may not be sent another code now.
    fn check_send_limits(&mut self, sii: &Sii, now: u64) -> Result<(), Error> {
        let window = self.config.longest_window();
        if let Some(times) = self.state.sends.get_mut(sii) {
            times.retain(|t| t.saturating_add(window) > now);
        }
        let sends = self.state.sends.get(sii).map_or(&[][..], Vec::as_slice);
        let mut wait = self
            .config
            .challenge_limits
            .iter()
            .filter_map(|l| retry_after(sends, l, now))
            .max();
        // An SII whose wrong-code budget is spent gets no new code either (decision 0123).
        let failure_limit = self.config.failure_limit;
        wait = wait.max(self.failure_wait(sii, &failure_limit, now));
        match wait {
            Some(retry_after) => Err(Error::RateLimited { retry_after }),
            None => Ok(()),
        }
    }

    /// Seconds until `sii` may fail again, if its wrong-code budget is spent.
    fn failure_wait(&mut self, sii: &Sii, limit: &RateLimit, now: u64) -> Option<u64> {
        let times = self.state.failures.get_mut(sii)?;
        times.retain(|t| t.saturating_add(limit.window) > now);
        if times.is_empty() {
            self.state.failures.remove(sii);
            return None;
        }
        retry_after(times, limit, now)
    }

    /// Make sure a challenge for `sii` fits in the table.
    fn make_room(&mut self, sii: &Sii, now: u64) -> Result<(), Error> {
        let full = |s: &Self| {
            !s.state.challenges.contains_key(sii)
                && s.state.challenges.len() >= s.config.max_pending_challenges
        };
        if full(self) {
            self.state.prune_short_lived(&self.config, now);
        }
        if full(self) {
            // Live challenges die within challenge_ttl at the latest.
            return Err(Error::RateLimited {
                retry_after: self.config.challenge_ttl,
            });
        }
        Ok(())
    }

    fn fresh_id(&self, rng: &mut impl CryptoRngCore) -> Result<ChallengeId, Error> {
        for _ in 0..ID_DRAWS {
            let id = ChallengeId::random(rng);
            if !self.state.challenge_ids.contains_key(&id) {
                return Ok(id);
            }
        }
        Err(Error::AuthorityConfig(
            "the random number generator keeps repeating itself",
        ))
    }
}

/// The requested SSIs sorted, refusing duplicates and more than an assertion can hold.
fn canonical_ssis(ssis: &[UserUri]) -> Result<Vec<UserUri>, Error> {
    if ssis.len() > MAX_SSIS {
        return Err(Error::Invalid(Malformed::TooMany {
            what: "SSIs",
            limit: MAX_SSIS,
        }));
    }
    let mut v = ssis.to_vec();
    v.sort();
    if v.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::Invalid(Malformed::NotSorted(
            "requested SSIs (duplicate)",
        )));
    }
    Ok(v)
}
