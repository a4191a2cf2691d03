//! Token buckets keyed by who pays (a peer domain, a user, an address, a room), sans-IO: the
//! caller passes the time, in milliseconds of any monotonic clock; a clock that goes
//! backwards earns nothing.
//!
//! A key starts with a full bucket of [`Rate::burst`] tokens and earns [`Rate::per_sec`]
//! tokens a second, never holding more than `burst`. A charge that cannot be paid in full is
//! refused, costs nothing, and says how long until it could be paid. Tokens are counted in
//! thousandths, so slow rates refill smoothly. Keys whose buckets are full again hold no
//! information and are forgotten when the table is full; if it is still full, new keys
//! share one overflow bucket, so memory stays bounded whatever the number of keys.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

/// Thousandths of a token per token.
const MILLI: u64 = 1000;

/// A bucket's refill rate and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens earned per second (at least 1).
    pub per_sec: u64,
    /// Most tokens held: the largest burst (at least 1).
    pub burst: u64,
}

impl Rate {
    /// `per_sec` tokens a second, at most `burst` at once; `None` (no limit) when `per_sec`
    /// is 0. A `burst` of 0 is taken as 1.
    pub fn new(per_sec: u64, burst: u64) -> Option<Rate> {
        (per_sec > 0).then_some(Rate {
            per_sec,
            burst: burst.max(1),
        })
    }

    fn capacity(&self) -> u64 {
        self.burst.saturating_mul(MILLI)
    }
}

/// One bucket: thousandths of tokens held as of `at_ms`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli: u64,
    at_ms: u64,
}

impl Bucket {
    fn full(rate: &Rate, now_ms: u64) -> Bucket {
        Bucket {
            milli: rate.capacity(),
            at_ms: now_ms,
        }
    }

    fn refill(&mut self, rate: &Rate, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.at_ms);
        // per_sec tokens a second are per_sec thousandths a millisecond.
        let earned = elapsed.saturating_mul(rate.per_sec);
        self.milli = self.milli.saturating_add(earned).min(rate.capacity());
        self.at_ms = self.at_ms.max(now_ms);
    }

    fn is_full(&self, rate: &Rate, now_ms: u64) -> bool {
        let mut b = *self;
        b.refill(rate, now_ms);
        b.milli >= rate.capacity()
    }

    /// Take `cost` tokens, or say how long until they are there.
    fn take(&mut self, rate: &Rate, cost: u64, now_ms: u64) -> Result<(), Duration> {
        self.refill(rate, now_ms);
        // A charge larger than the bucket is charged as a full bucket: it waits for the
        // bucket to fill, but is never refused forever.
        let cost = cost.min(rate.burst).saturating_mul(MILLI);
        if self.milli >= cost {
            self.milli -= cost;
            return Ok(());
        }
        let missing = cost - self.milli;
        Err(Duration::from_millis(missing.div_ceil(rate.per_sec).max(1)))
    }
}

/// Token buckets by key, at most `max_keys` of them tracked at once.
#[derive(Debug, Clone)]
pub struct KeyedBuckets<K> {
    rate: Rate,
    buckets: HashMap<K, Bucket>,
    overflow: Option<Bucket>,
    max_keys: usize,
}

impl<K: Eq + Hash + Clone> KeyedBuckets<K> {
    /// Buckets of `rate`, tracking at most `max_keys` keys (at least 1).
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        Self {
            rate,
            buckets: HashMap::new(),
            overflow: None,
            max_keys: max_keys.max(1),
        }
    }

    /// The rate every key gets.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Charge `cost` tokens to `key` at `now_ms`: `Err` with the wait until the charge could
    /// be paid (at least 1 ms); a refused charge costs nothing.
    pub fn take(&mut self, key: &K, cost: u64, now_ms: u64) -> Result<(), Duration> {
        let rate = self.rate;
        if let Some(bucket) = self.buckets.get_mut(key) {
            return bucket.take(&rate, cost, now_ms);
        }
        if self.buckets.len() >= self.max_keys {
            self.prune(now_ms);
        }
        if self.buckets.len() >= self.max_keys {
            // Every tracked key is still paying off: newcomers share one bucket.
            let overflow = self
                .overflow
                .get_or_insert_with(|| Bucket::full(&rate, now_ms));
            return overflow.take(&rate, cost, now_ms);
        }
        let mut bucket = Bucket::full(&rate, now_ms);
        let result = bucket.take(&rate, cost, now_ms);
        self.buckets.insert(key.clone(), bucket);
        result
    }

    /// Forget the keys whose buckets are full again at `now_ms` (they behave as new keys).
    pub fn prune(&mut self, now_ms: u64) {
        let rate = self.rate;
        self.buckets.retain(|_, b| !b.is_full(&rate, now_ms));
        if self.overflow.is_some_and(|b| b.is_full(&rate, now_ms)) {
            self.overflow = None;
        }
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// A wait as `Retry-After` seconds: rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_sec: u64, burst: u64) -> Rate {
        Rate::new(per_sec, burst).expect("rate")
    }

    #[test]
    fn zero_rate_means_no_limit() {
        assert_eq!(Rate::new(0, 10), None);
        assert_eq!(Rate::new(5, 0).map(|r| r.burst), Some(1));
    }

    #[test]
    fn burst_then_refill() {
        let mut b = KeyedBuckets::new(rate(2, 3), 10);
        for _ in 0..3 {
            assert_eq!(b.take(&"p", 1, 0), Ok(()));
        }
        // Empty: one token comes back after 500 ms.
        assert_eq!(b.take(&"p", 1, 0), Err(Duration::from_millis(500)));
        assert_eq!(b.take(&"p", 1, 200), Err(Duration::from_millis(300)));
        assert_eq!(b.take(&"p", 1, 500), Ok(()));
        assert!(b.take(&"p", 1, 500).is_err());
        // Never more than the burst, however long the pause.
        for _ in 0..3 {
            assert_eq!(b.take(&"p", 1, 1_000_000), Ok(()));
        }
        assert!(b.take(&"p", 1, 1_000_000).is_err());
    }

    #[test]
    fn refused_charges_cost_nothing() {
        let mut b = KeyedBuckets::new(rate(1000, 1000), 10);
        assert_eq!(b.take(&"room", 600, 0), Ok(()));
        // 400 left: a charge of 500 is refused and takes nothing ...
        assert_eq!(b.take(&"room", 500, 0), Err(Duration::from_millis(100)));
        // ... so 400 can still be paid.
        assert_eq!(b.take(&"room", 400, 0), Ok(()));
    }

    #[test]
    fn keys_are_independent() {
        let mut b = KeyedBuckets::new(rate(1, 1), 10);
        assert_eq!(b.take(&"a", 1, 0), Ok(()));
        assert!(b.take(&"a", 1, 0).is_err());
        assert_eq!(b.take(&"b", 1, 0), Ok(()));
    }

    #[test]
    fn clock_going_backwards_earns_nothing() {
        let mut b = KeyedBuckets::new(rate(1, 1), 10);
        assert_eq!(b.take(&"a", 1, 10_000), Ok(()));
        assert!(b.take(&"a", 1, 5_000).is_err());
        assert!(b.take(&"a", 1, 10_500).is_err());
        assert_eq!(b.take(&"a", 1, 11_000), Ok(()));
    }

    #[test]
    fn oversized_charge_waits_for_a_full_bucket() {
        let mut b = KeyedBuckets::new(rate(10, 10), 10);
        assert_eq!(b.take(&"a", 100, 0), Ok(()), "charged as the full bucket");
        assert_eq!(b.take(&"a", 100, 0), Err(Duration::from_secs(1)));
        assert_eq!(b.take(&"a", 100, 1000), Ok(()));
    }

    #[test]
    fn memory_is_bounded_and_full_buckets_are_forgotten() {
        let mut b = KeyedBuckets::new(rate(1, 2), 3);
        for k in 0..3 {
            assert_eq!(b.take(&k, 1, 0), Ok(()));
        }
        assert_eq!(b.len(), 3);
        // The table is full of keys still paying off: newcomers share the overflow bucket.
        assert_eq!(b.take(&10, 1, 0), Ok(()));
        assert_eq!(b.take(&11, 1, 0), Ok(()));
        assert!(b.take(&12, 1, 0).is_err());
        assert_eq!(b.len(), 3);
        // A second later every tracked bucket is full again: they are pruned to make room.
        assert_eq!(b.take(&13, 1, 1000), Ok(()));
        assert_eq!(b.len(), 1);
        b.prune(10_000);
        assert!(b.is_empty());
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
