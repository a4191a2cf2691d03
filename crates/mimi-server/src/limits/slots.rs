//! Counted slots: at most `max` concurrent holders per key (connections per address or peer,
//! event streams per device or user). A slot is held by a [`Slot`] guard and given back when
//! it is dropped; a key with no holder takes no memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Holders per key.
#[derive(Debug)]
pub struct SlotTable<K> {
    max: usize,
    held: HashMap<K, usize>,
}

impl<K: Eq + Hash + Clone> SlotTable<K> {
    /// At most `max` holders per key; 0: no limit.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            held: HashMap::new(),
        }
    }

    /// Whether every key of `keys` has a free slot.
    pub fn can_take(&self, keys: &[K]) -> bool {
        self.max == 0 || keys.iter().all(|k| self.held(k) < self.max)
    }

    /// Take one slot of each key of `keys`, all or none.
    pub fn take(&mut self, keys: &[K]) -> bool {
        if !self.can_take(keys) {
            return false;
        }
        for k in keys {
            *self.held.entry(k.clone()).or_default() += 1;
        }
        true
    }

    /// Give back one slot of each key of `keys`.
    pub fn give_back(&mut self, keys: &[K]) {
        for k in keys {
            if let Some(n) = self.held.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    self.held.remove(k);
                }
            }
        }
    }

    /// How many slots of `key` are held.
    pub fn held(&self, key: &K) -> usize {
        self.held.get(key).copied().unwrap_or(0)
    }

    /// How many keys have a holder.
    pub fn keys(&self) -> usize {
        self.held.len()
    }
}

/// A [`SlotTable`] shared between tasks.
pub type SharedSlots<K> = Arc<Mutex<SlotTable<K>>>;

/// Lock a shared table (a panic while holding it leaves plain counters behind, which are
/// still consistent).
pub fn lock<K>(table: &Mutex<SlotTable<K>>) -> MutexGuard<'_, SlotTable<K>> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Slots taken in a shared table, given back on drop.
#[derive(Debug)]
pub struct Slot<K: Eq + Hash + Clone> {
    table: SharedSlots<K>,
    keys: Vec<K>,
}

impl<K: Eq + Hash + Clone> Slot<K> {
    /// Take one slot of each key of `keys` in `table`, all or none.
    pub fn take(table: &SharedSlots<K>, keys: Vec<K>) -> Option<Slot<K>> {
        lock(table).take(&keys).then(|| Slot {
            table: table.clone(),
            keys,
        })
    }
}

impl<K: Eq + Hash + Clone> Drop for Slot<K> {
    fn drop(&mut self) {
        lock(&self.table).give_back(&self.keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_per_key_all_or_none() {
        let mut t = SlotTable::new(2);
        assert!(t.take(&["a"]));
        assert!(t.take(&["a", "b"]));
        assert!(!t.take(&["a"]), "a is full");
        assert!(!t.take(&["b", "a"]), "all or none: b is not taken either");
        assert_eq!(t.held(&"b"), 1);
        t.give_back(&["a"]);
        assert!(t.take(&["a"]));
        t.give_back(&["a", "b"]);
        t.give_back(&["a"]);
        assert_eq!(t.keys(), 0, "keys without holders are forgotten");
    }

    #[test]
    fn zero_means_no_limit() {
        let mut t = SlotTable::new(0);
        for _ in 0..1000 {
            assert!(t.take(&[1]));
        }
    }

    #[test]
    fn guards_give_back_on_drop() {
        let table: SharedSlots<&str> = Arc::new(Mutex::new(SlotTable::new(1)));
        let first = Slot::take(&table, vec!["dev"]).expect("free");
        assert!(Slot::take(&table, vec!["dev"]).is_none());
        drop(first);
        assert!(Slot::take(&table, vec!["dev"]).is_some());
        assert_eq!(lock(&table).keys(), 0);
    }
}
