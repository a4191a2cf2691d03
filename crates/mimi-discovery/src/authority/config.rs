//! The mapping authority's limits (docs/discovery.md §13, docs/decisions/0121-0125).

use crate::error::Error;

/// Shortest one-time code, in digits.
pub const MIN_CODE_DIGITS: u8 = 6;
/// Longest one-time code, in digits.
pub const MAX_CODE_DIGITS: u8 = 8;

/// At most `max` events per rolling `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Events allowed in any window (at least 1).
    pub max: u32,
    /// The window, in seconds (at least 1).
    pub window: u64,
}

impl RateLimit {
    /// `max` events per `window` seconds.
    pub const fn new(max: u32, window: u64) -> Self {
        Self { max, window }
    }
}

/// How a [`crate::MappingAuthority`] proves control of SIIs, and how much it allows.
///
/// [`AuthorityConfig::default`] gives the recommended values; every field may be changed, within
/// the ranges [`AuthorityConfig::validate`] checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityConfig {
    /// Digits in a one-time code, [`MIN_CODE_DIGITS`] to [`MAX_CODE_DIGITS`]
    /// (default 6; docs/decisions/0121).
    pub code_digits: u8,
    /// Seconds a one-time code stays usable after it was sent (default 600; decision 0122).
    pub challenge_ttl: u64,
    /// Wrong codes one challenge tolerates before it dies (default 5; decision 0122).
    pub max_attempts: u32,
    /// Challenges (codes sent) per SII, each limit applying on its own (default 3 per hour
    /// and 10 per 24 hours; decision 0123). At least one, at most 4.
    pub challenge_limits: Vec<RateLimit>,
    /// Wrong codes per SII, across all its challenges (default 10 per 24 hours; decision
    /// 0123). Once reached, the SII's challenge dies and no new one starts until the window
    /// allows it.
    pub failure_limit: RateLimit,
    /// Live challenges, all SIIs together (default 100 000): bounds the authority's memory.
    pub max_pending_challenges: usize,
    /// Seconds a proof of control may wait before [`crate::MappingAuthority::issue`] uses it
    /// (default 600; decision 0122).
    pub proof_ttl: u64,
    /// Seconds after the last proof of control during which
    /// [`crate::MappingAuthority::renew`] re-issues without a new proof (default 30 days;
    /// decision 0125). Zero means every renewal needs a new proof (renewal only in the very
    /// second of the proof).
    pub renewal_window: u64,
}

/// Recommended assertion lifetime: 14 days (docs/decisions/0125). Together with the default
/// renewal window this keeps every mapping within 44 days of a proof of control.
pub const RECOMMENDED_VALIDITY_SECS: u64 = 14 * 86_400;

impl Default for AuthorityConfig {
    fn default() -> Self {
        Self {
            code_digits: 6,
            challenge_ttl: 600,
            max_attempts: 5,
            challenge_limits: vec![RateLimit::new(3, 3_600), RateLimit::new(10, 86_400)],
            failure_limit: RateLimit::new(10, 86_400),
            max_pending_challenges: 100_000,
            proof_ttl: 600,
            renewal_window: 30 * 86_400,
        }
    }
}

impl AuthorityConfig {
    /// Check every field's range.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |what| Err(Error::AuthorityConfig(what));
        if !(MIN_CODE_DIGITS..=MAX_CODE_DIGITS).contains(&self.code_digits) {
            return bad("code_digits must be 6 to 8");
        }
        if self.challenge_ttl == 0 || self.challenge_ttl > 3_600 {
            return bad("challenge_ttl must be 1 to 3600 seconds");
        }
        if self.max_attempts == 0 || self.max_attempts > 10 {
            return bad("max_attempts must be 1 to 10");
        }
        if self.challenge_limits.is_empty() || self.challenge_limits.len() > 4 {
            return bad("challenge_limits must have 1 to 4 limits");
        }
        let limits = self.challenge_limits.iter().chain([&self.failure_limit]);
        for l in limits {
            if l.max == 0 || l.window == 0 || l.max > 1_000 {
                return bad("a rate limit must allow 1 to 1000 events per non-empty window");
            }
        }
        if self.max_pending_challenges == 0 {
            return bad("max_pending_challenges must be at least 1");
        }
        if self.proof_ttl == 0 || self.proof_ttl > 86_400 {
            return bad("proof_ttl must be 1 to 86400 seconds");
        }
        if self.renewal_window > crate::limits::MAX_LIFETIME_SECS {
            return bad("renewal_window must be at most 366 days");
        }
        Ok(())
    }

    /// The longest window of any per-SII limit: how long send and failure times are kept.
    pub(crate) fn longest_window(&self) -> u64 {
        self.challenge_limits
            .iter()
            .chain([&self.failure_limit])
            .map(|l| l.window)
            .max()
            .unwrap_or(0)
    }
}
