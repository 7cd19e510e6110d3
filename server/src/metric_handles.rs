//! Metric handles kept per label set.
//!
//! `metrics::counter!(name, labels…)` builds a key (a vector of labels) and looks
//! it up in the recorder's registry on every call, which showed in request
//! profiles. The handles here are looked up once per label set, then found in
//! a small map keyed by the labels' `&'static str` values, with a fast hash
//! (the labels are the program's own, not a client's).

use metrics::{Counter, Histogram};
use rustc_hash::FxHashMap;
use std::hash::Hash;
use std::sync::{OnceLock, RwLock};

/// Handles of one metric name, by the values of its labels (label names and
/// the metric's name are fixed where the cache is declared).
pub struct Handles<K, H> {
    map: OnceLock<RwLock<FxHashMap<K, H>>>,
}

impl<K: Eq + Hash + Copy, H: Clone> Handles<K, H> {
    pub const fn new() -> Self {
        Self {
            map: OnceLock::new(),
        }
    }

    /// The handle for `labels`, registered with `register` the first time.
    pub fn get(&self, labels: K, register: impl FnOnce() -> H) -> H {
        let map = self.map.get_or_init(Default::default);
        if let Some(handle) = map.read().unwrap_or_else(|e| e.into_inner()).get(&labels) {
            return handle.clone();
        }
        map.write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(labels)
            .or_insert_with(register)
            .clone()
    }
}

impl<K: Eq + Hash + Copy, H: Clone> Default for Handles<K, H> {
    fn default() -> Self {
        Self::new()
    }
}

pub type Counters<K> = Handles<K, Counter>;
pub type Histograms<K> = Handles<K, Histogram>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_once_per_label_set() {
        static SEEN: Handles<(&str, &str), usize> = Handles::new();
        let mut registered = 0;
        for labels in [("a", "x"), ("a", "x"), ("b", "x"), ("a", "x")] {
            SEEN.get(labels, || {
                registered += 1;
                registered
            });
        }
        assert_eq!(registered, 2);
        assert_eq!(SEEN.get(("a", "x"), || 99), 1);
        assert_eq!(SEEN.get(("b", "x"), || 99), 2);
    }
}
