//! A bounded, de-duplicated stream of notifications, newest first. Every item gets a sequence
//! number when it is added (strictly increasing), so that indexes over the ring (the filter's
//! matching rows, the groups) can name an item without holding a position that shifts.

use std::collections::{HashMap, VecDeque};

pub trait Keyed {
    fn key(&self) -> &str;
}

/// What one push did: the new item's sequence number and the oldest item it pushed out.
#[derive(Debug)]
pub struct Pushed<T> {
    pub seq: u64,
    pub evicted: Option<(u64, T)>,
}

#[derive(Debug, Clone)]
pub struct Ring<T> {
    /// Newest first; sequence numbers strictly decrease from front to back. Boxed, so that the
    /// deque's spare capacity (up to half its length) costs a pointer per slot, not an item.
    items: VecDeque<(u64, Box<T>)>,
    keys: HashMap<String, u64>,
    capacity: usize,
    next_seq: u64,
}

impl<T: Keyed> Ring<T> {
    pub fn new(capacity: usize) -> Self {
        Ring {
            items: VecDeque::new(),
            keys: HashMap::new(),
            capacity: capacity.max(1),
            next_seq: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains_key(key)
    }

    /// Adds `item` as the newest unless its key is already present (`None`); when full, the
    /// oldest item leaves and is handed back.
    pub fn push_newest(&mut self, item: T) -> Option<Pushed<T>> {
        if self.keys.contains_key(item.key()) {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.keys.insert(item.key().to_string(), seq);
        self.items.push_front((seq, Box::new(item)));
        let evicted = if self.items.len() > self.capacity {
            self.items.pop_back().map(|(s, t)| (s, *t))
        } else {
            None
        };
        if let Some((_, old)) = &evicted {
            self.keys.remove(old.key());
        }
        Some(Pushed { seq, evicted })
    }

    /// Removes every item `pred` selects, handing them back newest first.
    pub fn remove_where(&mut self, mut pred: impl FnMut(&T) -> bool) -> Vec<(u64, T)> {
        let (gone, kept): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|(_, t)| pred(t));
        self.items = kept;
        for (_, t) in &gone {
            self.keys.remove(t.key());
        }
        gone.into_iter().map(|(s, t)| (s, *t)).collect()
    }

    /// Empties the ring, oldest first (the order to push them elsewhere as newest).
    pub fn drain_oldest_first(&mut self) -> impl Iterator<Item = T> + use<T> {
        self.keys.clear();
        std::mem::take(&mut self.items)
            .into_iter()
            .rev()
            .map(|(_, t)| *t)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Newest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter().map(|(_, t)| &**t)
    }

    /// Newest first, with sequence numbers.
    pub fn iter_seq(&self) -> impl DoubleEndedIterator<Item = (u64, &T)> + ExactSizeIterator {
        self.items.iter().map(|(s, t)| (*s, &**t))
    }

    /// The `i`-th newest.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.items.get(i).map(|(_, t)| &**t)
    }

    /// The item numbered `seq` (a binary search: the numbers are sorted).
    pub fn get_seq(&self, seq: u64) -> Option<&T> {
        // Descending order: an element with a larger number comes before `seq`.
        self.items
            .binary_search_by(|(s, _)| seq.cmp(s))
            .ok()
            .and_then(|i| self.items.get(i))
            .map(|(_, t)| &**t)
    }

    pub fn get_key(&self, key: &str) -> Option<&T> {
        self.keys.get(key).and_then(|s| self.get_seq(*s))
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
        assert!(r.push_newest("a".to_string()).is_some());
        assert_eq!(r.remove_where(|s| s == "c").len(), 1);
        let v: Vec<_> = r.iter().cloned().collect();
        assert_eq!(v, ["a", "d"]);
    }

    #[test]
    fn a_push_reports_its_number_and_what_it_pushed_out() {
        let mut r = Ring::new(2);
        let a = r.push_newest("a".to_string()).map(|p| (p.seq, p.evicted));
        assert_eq!(a, Some((0, None)));
        assert!(r.push_newest("a".to_string()).is_none(), "duplicate");
        r.push_newest("b".to_string());
        let c = r.push_newest("c".to_string()).map(|p| (p.seq, p.evicted));
        assert_eq!(c, Some((2, Some((0, "a".to_string())))));
        assert_eq!(r.get_seq(1).map(String::as_str), Some("b"));
        assert_eq!(r.get_seq(0), None);
        assert_eq!(r.get_key("c").map(String::as_str), Some("c"));
        let drained: Vec<_> = r.drain_oldest_first().collect();
        assert_eq!(drained, ["b", "c"]);
        assert!(r.is_empty() && !r.contains("b"));
    }
}
