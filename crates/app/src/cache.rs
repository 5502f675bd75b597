//! Short-lived in-memory caches for the hot path of a scan (who is the checker, which checkpoint,
//! whose pseudonym, is that session live), so that a scan costs no database read in the common
//! case. Changes made through this instance invalidate at once; changes made by another instance
//! sharing the database are seen within the cache's lifetime (seconds).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bounded map whose entries expire.
#[derive(Debug)]
pub(crate) struct TtlCache<K, V> {
    map: Mutex<HashMap<K, (V, Instant)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self { map: Mutex::new(HashMap::new()), ttl, capacity }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value, if present and fresh.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let map = self.lock();
        map.get(key).filter(|(_, at)| at.elapsed() < self.ttl).map(|(v, _)| v.clone())
    }

    /// Stores a value; a full cache is emptied first (bounded memory, simple and fair).
    pub(crate) fn insert(&self, key: K, value: V) {
        let mut map = self.lock();
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(key, (value, Instant::now()));
    }

    /// Drops the entries whose value matches.
    pub(crate) fn remove_where(&self, pred: impl Fn(&V) -> bool) {
        self.lock().retain(|_, (v, _)| !pred(v));
    }

    /// Drops one entry.
    pub(crate) fn remove(&self, key: &K) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_is_bounded() {
        let c = TtlCache::new(Duration::from_millis(30), 2);
        c.insert(1, "a");
        assert_eq!(c.get(&1), Some("a"));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&1), None);
        c.insert(1, "a");
        c.insert(2, "b");
        c.insert(3, "c");
        assert_eq!((c.get(&1), c.get(&3)), (None, Some("c")));
        c.remove_where(|v| *v == "c");
        assert_eq!(c.get(&3), None);
    }
}
