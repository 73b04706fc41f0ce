//! A bounded, de-duplicated stream of notifications, newest first.

use std::collections::{HashSet, VecDeque};

pub trait Keyed {
    fn key(&self) -> &str;
}

#[derive(Debug, Clone)]
pub struct Ring<T> {
    items: VecDeque<T>,
    keys: HashSet<String>,
    capacity: usize,
}

impl<T: Keyed> Ring<T> {
    pub fn new(capacity: usize) -> Self {
        Ring {
            items: VecDeque::new(),
            keys: HashSet::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Adds `item` as the newest unless its key is already present; evicts the oldest when full.
    /// Returns whether it was added.
    pub fn push_newest(&mut self, item: T) -> bool {
        if self.keys.contains(item.key()) {
            return false;
        }
        self.keys.insert(item.key().to_string());
        self.items.push_front(item);
        while self.items.len() > self.capacity {
            if let Some(old) = self.items.pop_back() {
                self.keys.remove(old.key());
            }
        }
        true
    }

    pub fn remove_where(&mut self, mut pred: impl FnMut(&T) -> bool) -> usize {
        let before = self.items.len();
        let keys = &mut self.keys;
        self.items.retain(|t| {
            if pred(t) {
                keys.remove(t.key());
                false
            } else {
                true
            }
        });
        before - self.items.len()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Newest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Keyed for String {
        fn key(&self) -> &str {
            self
        }
    }

    #[test]
    fn bounded_dedup_newest_first() {
        let mut r = Ring::new(3);
        for s in ["a", "b", "a", "c", "d"] {
            r.push_newest(s.to_string());
        }
        let v: Vec<_> = r.iter().cloned().collect();
        assert_eq!(v, ["d", "c", "b"]);
        assert!(!r.contains("a"));
        // An evicted key may come back.
        assert!(r.push_newest("a".to_string()));
        assert_eq!(r.remove_where(|s| s == "c"), 1);
        let v: Vec<_> = r.iter().cloned().collect();
        assert_eq!(v, ["a", "d"]);
    }
}
