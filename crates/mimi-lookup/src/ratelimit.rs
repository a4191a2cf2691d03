//! Per-requester token buckets for blind evaluations (docs/discovery-lookup.md §"Rate
//! limiting", docs/decisions/0115). The clock is passed in, in milliseconds; it may be any
//! monotonic clock, and a clock that goes backwards adds no tokens.
//!
//! A requester starts with a full bucket of [`RatePolicy::burst`] tokens and earns one token
//! every [`RatePolicy::refill_every_ms`], never holding more than `burst`. Each blinded element
//! costs one token; a request that cannot be paid in full is refused and costs nothing.

use std::collections::HashMap;
use std::hash::Hash;

use crate::error::Error;

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatePolicy {
    /// Most tokens held (and the largest single request).
    pub burst: u32,
    /// Milliseconds per earned token (at least 1).
    pub refill_every_ms: u64,
}

impl RatePolicy {
    /// `burst` tokens, one more every `refill_every_ms` (clamped to at least 1 ms).
    pub fn new(burst: u32, refill_every_ms: u64) -> Self {
        Self {
            burst,
            refill_every_ms: refill_every_ms.max(1),
        }
    }

    /// The default for a client: 100 evaluations at once, then one per 36 s (100 per hour).
    pub fn client_default() -> Self {
        Self::new(100, 36_000)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u32,
    /// When the partial token currently being earned started.
    since_ms: u64,
}

impl Bucket {
    fn refill(&mut self, policy: &RatePolicy, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.since_ms);
        let earned = elapsed / policy.refill_every_ms;
        let room = u64::from(policy.burst.saturating_sub(self.tokens));
        if earned >= room {
            self.tokens = policy.burst;
            self.since_ms = now_ms.max(self.since_ms);
        } else {
            // earned < room <= u32::MAX
            self.tokens += earned as u32;
            self.since_ms += earned * policy.refill_every_ms;
        }
    }

    fn is_full(&self, policy: &RatePolicy) -> bool {
        self.tokens >= policy.burst
    }
}

/// Token buckets keyed by requester (`K`: whatever the DP authenticates requesters by — an
/// account, a provider domain). Requesters with full buckets are forgotten by
/// [`RateLimiter::prune`]; at most `max_requesters` are tracked at once.
#[derive(Debug, Clone)]
pub struct RateLimiter<K> {
    policy: RatePolicy,
    overrides: HashMap<K, RatePolicy>,
    buckets: HashMap<K, Bucket>,
    max_requesters: usize,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// A limiter applying `policy` to every requester, tracking at most 1,000,000 at once.
    pub fn new(policy: RatePolicy) -> Self {
        Self::with_max_requesters(policy, 1_000_000)
    }

    /// A limiter tracking at most `max_requesters` requesters at once.
    pub fn with_max_requesters(policy: RatePolicy, max_requesters: usize) -> Self {
        Self {
            policy,
            overrides: HashMap::new(),
            buckets: HashMap::new(),
            max_requesters,
        }
    }

    /// Give one requester its own policy (a publishing authority needs a larger budget).
    pub fn set_policy(&mut self, who: K, policy: RatePolicy) {
        self.overrides.insert(who, policy);
    }

    fn policy_of(&self, who: &K) -> RatePolicy {
        self.overrides.get(who).copied().unwrap_or(self.policy)
    }

    /// Spend `cost` tokens of `who` at `now_ms`.
    ///
    /// # Errors
    /// [`Error::RateLimited`] with the wait until it would succeed; [`Error::TooMany`] if
    /// `cost` exceeds the burst (it never can); [`Error::RateLimiterFull`] if `who` is new
    /// and the table is full of requesters that are still limited.
    pub fn check(&mut self, who: &K, cost: u32, now_ms: u64) -> Result<(), Error> {
        let policy = self.policy_of(who);
        if cost > policy.burst {
            return Err(Error::TooMany {
                what: "evaluations in one request",
                max: policy.burst as usize,
            });
        }
        if !self.buckets.contains_key(who) {
            if cost == 0 {
                return Ok(());
            }
            if self.buckets.len() >= self.max_requesters {
                self.prune(now_ms);
                if self.buckets.len() >= self.max_requesters {
                    return Err(Error::RateLimiterFull);
                }
            }
            self.buckets.insert(
                who.clone(),
                Bucket {
                    tokens: policy.burst,
                    since_ms: now_ms,
                },
            );
        }
        let Some(bucket) = self.buckets.get_mut(who) else {
            return Err(Error::RateLimiterFull);
        };
        bucket.refill(&policy, now_ms);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            return Ok(());
        }
        let missing = u64::from(cost - bucket.tokens);
        let wait = missing
            .saturating_mul(policy.refill_every_ms)
            .saturating_sub(now_ms.saturating_sub(bucket.since_ms));
        Err(Error::RateLimited {
            retry_after_ms: wait.max(1),
        })
    }

    /// The tokens `who` holds at `now_ms`.
    pub fn remaining(&self, who: &K, now_ms: u64) -> u32 {
        let policy = self.policy_of(who);
        match self.buckets.get(who) {
            Some(b) => {
                let mut b = *b;
                b.refill(&policy, now_ms);
                b.tokens
            }
            None => policy.burst,
        }
    }

    /// Forget requesters whose buckets are full again (they are indistinguishable from new
    /// ones); returns how many.
    pub fn prune(&mut self, now_ms: u64) -> usize {
        let before = self.buckets.len();
        let policy = self.policy;
        let overrides = &self.overrides;
        self.buckets.retain(|who, b| {
            let p = overrides.get(who).copied().unwrap_or(policy);
            b.refill(&p, now_ms);
            !b.is_full(&p)
        });
        before - self.buckets.len()
    }

    /// How many requesters are tracked.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_tokens_are_kept() {
        let mut rl = RateLimiter::new(RatePolicy::new(2, 1000));
        rl.check(&1u8, 2, 0).unwrap();
        assert_eq!(rl.remaining(&1, 999), 0);
        assert_eq!(rl.remaining(&1, 1000), 1);
        assert_eq!(
            rl.check(&1, 2, 1500),
            Err(Error::RateLimited {
                retry_after_ms: 500
            })
        );
        rl.check(&1, 1, 1500).unwrap();
        // The half token earned since 1000 is still being earned.
        assert_eq!(rl.remaining(&1, 1999), 0);
        assert_eq!(rl.remaining(&1, 2000), 1);
    }

    #[test]
    fn clock_going_backwards_adds_nothing() {
        let mut rl = RateLimiter::new(RatePolicy::new(1, 1000));
        rl.check(&1u8, 1, 10_000).unwrap();
        assert!(rl.check(&1, 1, 5_000).is_err());
        assert!(rl.check(&1, 1, 10_999).is_err());
        rl.check(&1, 1, 11_000).unwrap();
    }
}
