//! Everything a mapping authority remembers between calls (exported by `codec`), and the
//! bookkeeping on it: rolling-window counts and pruning.

use std::collections::BTreeMap;

use mimi_types::id::UserUri;

use super::code::ChallengeId;
use super::config::{AuthorityConfig, RateLimit};
use super::proof::ProofOfControl;
use crate::assertion::SsiEntry;
use crate::revocation::RevocationTarget;
use crate::sii::Sii;

/// A live challenge: a code was sent to `sii` and has not come back yet.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub id: ChallengeId,
    pub sii: Sii,
    /// Sorted, no duplicates.
    pub requested: Vec<UserUri>,
    /// [`super::code::digest`] of the code.
    pub digest: [u8; 32],
    pub created_at: u64,
    /// Last second the code is accepted.
    pub expires_at: u64,
    /// Wrong codes so far.
    pub attempts: u32,
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The digest of a short code is as good as the code: never print it.
        f.debug_struct("Challenge")
            .field("id", &self.id)
            .field("sii", &self.sii)
            .field("requested", &self.requested)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// The latest assertion the authority signed for one SII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issued {
    pub serial: u64,
    pub issued_at: u64,
    pub expires_at: u64,
    pub entries: Vec<SsiEntry>,
    /// When control of the SII was last proven (renewals keep it).
    pub proven_at: u64,
    /// The signed assertion.
    pub bytes: Vec<u8>,
}

/// A revocation the authority signed and publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    pub target: RevocationTarget,
    pub issued_at: u64,
    /// After this time no assertion it covers can still be valid, and it is dropped.
    pub drop_after: u64,
    pub bytes: Vec<u8>,
}

/// The authority's whole mutable state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// The highest serial ever used.
    pub last_serial: u64,
    /// At most one live challenge per SII.
    pub challenges: BTreeMap<Sii, Challenge>,
    /// Index of `challenges` by id.
    pub challenge_ids: BTreeMap<ChallengeId, Sii>,
    /// At most one unused proof per SII (the newest).
    pub proofs: BTreeMap<Sii, ProofOfControl>,
    /// When codes were sent, per SII, ascending, within the longest rate window.
    pub sends: BTreeMap<Sii, Vec<u64>>,
    /// When wrong codes came back, per SII, ascending, within the failure window.
    pub failures: BTreeMap<Sii, Vec<u64>>,
    /// The latest assertion per SII.
    pub records: BTreeMap<Sii, Issued>,
    /// Every unexpired assertion by serial: its SII and expiry (for revocation by serial).
    pub live_serials: BTreeMap<u64, (Sii, u64)>,
    /// Published revocations, in signing order.
    pub revocations: Vec<Published>,
    /// Derived from `revocations`: per SII, the latest issued-at of a mapping or SII
    /// revocation, which every later assertion must be issued after.
    pub revoked_at: BTreeMap<Sii, u64>,
}

/// Seconds until `limit` allows one more event, given the event times (ascending), or `None`
/// if it allows one now. An event at `t` counts while `now < t + window`.
pub(crate) fn retry_after(times: &[u64], limit: &RateLimit, now: u64) -> Option<u64> {
    let in_window: Vec<u64> = times
        .iter()
        .copied()
        .filter(|t| t.saturating_add(limit.window) > now)
        .collect();
    let max = usize::try_from(limit.max).unwrap_or(usize::MAX);
    if in_window.len() < max {
        return None;
    }
    // The event whose leaving the window brings the count below `max`.
    let freeing = in_window.get(in_window.len() - max).copied().unwrap_or(now);
    Some(
        freeing
            .saturating_add(limit.window)
            .saturating_sub(now)
            .max(1),
    )
}

/// Most times kept in one SII's log: above every limit's `max`
/// ([`AuthorityConfig::validate`] allows at most 1000), so dropping the oldest beyond it never
/// loosens a limit.
pub(crate) const MAX_LOGGED_TIMES: usize = 4096;

/// Append `now` to `sii`'s log, keeping it ascending even if the clock went back, and at most
/// [`MAX_LOGGED_TIMES`] long.
pub(crate) fn log_event(log: &mut BTreeMap<Sii, Vec<u64>>, sii: &Sii, now: u64) {
    let times = log.entry(sii.clone()).or_default();
    let at = times.partition_point(|t| *t <= now);
    times.insert(at, now);
    if times.len() > MAX_LOGGED_TIMES {
        times.remove(0);
    }
}

/// Keep only the times still inside `window`; drop empty logs.
fn prune_log(log: &mut BTreeMap<Sii, Vec<u64>>, window: u64, now: u64) {
    log.retain(|_, times| {
        times.retain(|t| t.saturating_add(window) > now);
        !times.is_empty()
    });
}

impl State {
    /// Remove the challenge for `sii`, if any.
    pub fn remove_challenge(&mut self, sii: &Sii) {
        if let Some(c) = self.challenges.remove(sii) {
            self.challenge_ids.remove(&c.id);
        }
    }

    /// Insert a challenge, replacing the SII's previous one.
    pub fn put_challenge(&mut self, c: Challenge) {
        self.remove_challenge(&c.sii);
        self.challenge_ids.insert(c.id, c.sii.clone());
        self.challenges.insert(c.sii.clone(), c);
    }

    /// Forget expired challenges, proofs and old log entries.
    pub fn prune_short_lived(&mut self, config: &AuthorityConfig, now: u64) {
        let dead: Vec<Sii> = self
            .challenges
            .values()
            .filter(|c| now > c.expires_at)
            .map(|c| c.sii.clone())
            .collect();
        for sii in &dead {
            self.remove_challenge(sii);
        }
        self.proofs.retain(|_, p| now <= p.expires_at);
        prune_log(&mut self.sends, config.longest_window(), now);
        prune_log(&mut self.failures, config.failure_limit.window, now);
    }

    /// Forget everything that can no longer matter at `now` (see
    /// [`crate::MappingAuthority::prune`]).
    pub fn prune(&mut self, config: &AuthorityConfig, now: u64) {
        self.prune_short_lived(config, now);
        let margin = super::EXPIRY_MARGIN_SECS;
        self.live_serials
            .retain(|_, (_, expires_at)| expires_at.saturating_add(margin) >= now);
        let window = config.renewal_window;
        self.records.retain(|_, r| {
            now <= r.expires_at.saturating_add(margin) || now <= r.proven_at.saturating_add(window)
        });
        self.revocations.retain(|p| now <= p.drop_after);
        self.rebuild_revoked_at();
    }

    /// Recompute [`State::revoked_at`] from the revocations.
    pub fn rebuild_revoked_at(&mut self) {
        self.revoked_at.clear();
        let revs = std::mem::take(&mut self.revocations);
        for p in &revs {
            self.note_revocation(&p.target, p.issued_at);
        }
        self.revocations = revs;
    }

    /// Drop what a revocation of `target` at `issued_at` removes from the records renewals
    /// start from (the latest assertion per SII), by the rule verifiers apply: a mapping or
    /// SII revocation covers assertions issued at or before it.
    pub fn forget_revoked(&mut self, target: &RevocationTarget, issued_at: u64) {
        let records = &mut self.records;
        match target {
            RevocationTarget::Serial(serial) => {
                if let Some((sii, _)) = self.live_serials.remove(serial)
                    && records.get(&sii).is_some_and(|r| r.serial == *serial)
                {
                    records.remove(&sii);
                }
            }
            RevocationTarget::Mapping { sii, ssi } => {
                if let Some(r) = records.get_mut(sii)
                    && r.issued_at <= issued_at
                {
                    let had_entries = !r.entries.is_empty();
                    r.entries.retain(|e| e.ssi() != ssi);
                    if had_entries && r.entries.is_empty() {
                        records.remove(sii);
                    }
                }
            }
            RevocationTarget::Sii(sii) => {
                if records.get(sii).is_some_and(|r| r.issued_at <= issued_at) {
                    records.remove(sii);
                }
            }
        }
    }

    /// Record that the SII of `target` (if it names one) was revoked at `issued_at`.
    pub fn note_revocation(&mut self, target: &RevocationTarget, issued_at: u64) {
        if let Some(sii) = target.sii() {
            let t = self.revoked_at.entry(sii.clone()).or_insert(issued_at);
            *t = (*t).max(issued_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_windows() {
        let limit = RateLimit::new(3, 100);
        assert_eq!(retry_after(&[], &limit, 1000), None);
        assert_eq!(retry_after(&[950, 960], &limit, 1000), None);
        // Full: the oldest (950) leaves at 1050.
        assert_eq!(retry_after(&[950, 960, 970], &limit, 1000), Some(50));
        assert_eq!(retry_after(&[950, 960, 970], &limit, 1049), Some(1));
        assert_eq!(retry_after(&[950, 960, 970], &limit, 1050), None);
        // Old events do not count.
        assert_eq!(retry_after(&[100, 200, 960, 970], &limit, 1000), None);
        // More than max in the window (limit lowered since): wait for enough to leave.
        assert_eq!(retry_after(&[910, 920, 930, 940], &limit, 1000), Some(20));
    }

    #[test]
    fn logs_stay_sorted_when_the_clock_goes_back() {
        let mut log = BTreeMap::new();
        let sii = Sii::parse("+12025550101").unwrap();
        for t in [10, 30, 20, 30] {
            log_event(&mut log, &sii, t);
        }
        assert_eq!(log[&sii], vec![10, 20, 30, 30]);
    }
}
