//! Documents kept loaded between calls, least recently used evicted first.
//!
//! Loading a document costs a SQLite read and an Automerge parse (well under a millisecond for a
//! household, more for one with years of visits); a phone touches a few dozen at a time, a server
//! thousands. Eviction scans for the oldest entry: at a few thousand entries that is microseconds,
//! far below the load it saves, and needs no second structure to keep in step.

use std::collections::HashMap;

use automerge::AutoCommit;

pub(crate) struct DocCache {
    docs: HashMap<String, (AutoCommit, u64)>,
    capacity: usize,
    clock: u64,
}

impl DocCache {
    pub fn new(capacity: usize) -> Self {
        DocCache {
            docs: HashMap::new(),
            capacity: capacity.max(1),
            clock: 0,
        }
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        while self.docs.len() > self.capacity {
            self.evict_one();
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.docs.contains_key(id)
    }

    /// The document, marked as just used.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut AutoCommit> {
        self.clock += 1;
        let now = self.clock;
        self.docs.get_mut(id).map(|(d, used)| {
            *used = now;
            d
        })
    }

    pub fn insert(&mut self, id: String, doc: AutoCommit) {
        if !self.docs.contains_key(&id) && self.docs.len() >= self.capacity {
            self.evict_one();
        }
        self.clock += 1;
        self.docs.insert(id, (doc, self.clock));
    }

    pub fn remove(&mut self, id: &str) -> Option<AutoCommit> {
        self.docs.remove(id).map(|(d, _)| d)
    }

    pub fn clear(&mut self) {
        self.docs.clear();
    }

    fn evict_one(&mut self) {
        if let Some(oldest) = self
            .docs
            .iter()
            .min_by_key(|(_, (_, used))| *used)
            .map(|(k, _)| k.clone())
        {
            self.docs.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = DocCache::new(2);
        c.insert("a".into(), AutoCommit::new());
        c.insert("b".into(), AutoCommit::new());
        assert!(c.get_mut("a").is_some());
        c.insert("c".into(), AutoCommit::new());
        assert!(c.contains("a") && c.contains("c") && !c.contains("b"));
        c.insert("a".into(), AutoCommit::new());
        assert!(c.contains("c"), "re-inserting a held id evicts nothing");
        c.set_capacity(1);
        assert!(c.contains("a") && !c.contains("c"));
    }
}
