//! Every customer's haystack (what a search looks in) in one buffer.
//!
//! A search that visited each customer's own allocation spent its time waiting
//! on memory: 32 ms for a pass over 1,000,000 customers. Here the haystacks lie
//! back to back, and a search runs one SIMD searcher over the whole buffer,
//! then maps each hit to its customer by where it lies. A customer that changes
//! gets a new slot at the end and its old one is marked dead; once half of the
//! buffer is dead, the index rebuilds it (see [`Haystacks::worth_rebuilding`]).

use crate::store::order::Matcher;
use crate::store::row::Row;

#[derive(Default)]
pub struct Haystacks {
    /// The haystacks, each followed by a `\0`.
    text: Vec<u8>,
    /// Where each slot's haystack ends (the offset of its `\0`), ascending.
    ends: Vec<usize>,
    /// Each slot's customer; `None` once it changed or went.
    owners: Vec<Option<Row>>,
    /// Bytes of dead slots.
    dead: usize,
}

/// Below this, a buffer is not worth rebuilding however much of it is dead.
const REBUILD_FROM_BYTES: usize = 1 << 16;

impl Haystacks {
    /// Adds `row`'s haystack; returns its slot.
    pub fn add(&mut self, row: &Row) -> usize {
        self.text.extend_from_slice(row.haystack().as_bytes());
        self.ends.push(self.text.len());
        self.text.push(0);
        self.owners.push(Some(row.clone()));
        self.owners.len() - 1
    }

    /// Marks `slot` dead: its customer changed or went.
    pub fn remove(&mut self, slot: usize) {
        if self.owners[slot].take().is_some() {
            let (start, end) = self.bounds(slot);
            self.dead += end - start + 1;
        }
    }

    /// Whether half the buffer is dead (rebuilding costs a pass over every customer).
    pub fn worth_rebuilding(&self) -> bool {
        self.text.len() >= REBUILD_FROM_BYTES && self.dead * 2 > self.text.len()
    }

    /// The live customers whose haystack holds every word of `matcher`, in
    /// slot order.
    pub fn search(&self, matcher: &Matcher) -> Vec<Row> {
        let mut found = Vec::new();
        let Some(scan) = matcher.longest_word() else {
            return found;
        };
        let mut from = 0;
        while let Some(hit) = scan.find(&self.text[from..]) {
            let slot = self.ends.partition_point(|&end| end < from + hit);
            let Some(&end) = self.ends.get(slot) else {
                break;
            };
            // Every word is checked within the slot, the scanned one too: a
            // word holding a `\0` could match across two haystacks.
            let (start, _) = self.bounds(slot);
            if let Some(row) = &self.owners[slot] {
                if matcher.found_in_bytes(&self.text[start..end]) {
                    found.push(row.clone());
                }
            }
            from = end + 1;
        }
        found
    }

    /// Where `slot`'s haystack starts and ends.
    fn bounds(&self, slot: usize) -> (usize, usize) {
        let start = match slot {
            0 => 0,
            _ => self.ends[slot - 1] + 1,
        };
        (start, self.ends[slot])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{Customer, Needle};

    fn row(id: &str, first: &str, last: &str) -> Row {
        let customer = Customer {
            id: id.into(),
            first_name: first.into(),
            last_name: last.into(),
        };
        Row::new(id, &customer)
    }

    fn ids(found: Vec<Row>) -> Vec<String> {
        found.iter().map(|row| row.id().to_owned()).collect()
    }

    fn search(haystacks: &Haystacks, query: &str) -> Vec<String> {
        ids(haystacks.search(&Matcher::new(&Needle::new(query).unwrap())))
    }

    #[test]
    fn finds_every_word_within_one_customer_only() {
        let mut haystacks = Haystacks::default();
        for (id, first, last) in [
            ("a1", "James", "Baker"),
            ("a2", "Jamie", "Fernández"),
            ("a3", "Baker", "Jameson"),
            ("a4", "Ann", "Müller"),
        ] {
            haystacks.add(&row(id, first, last));
        }
        assert_eq!(search(&haystacks, "james baker"), ["a1", "a3"]);
        assert_eq!(search(&haystacks, "FERNANDEZ"), ["a2"]);
        assert_eq!(search(&haystacks, "muller a4"), ["a4"]);
        assert_eq!(search(&haystacks, "jam"), ["a1", "a2", "a3"]);
        // Words never match across two customers' haystacks.
        assert!(search(&haystacks, "bakera2").is_empty());
        assert!(search(&haystacks, "zzz").is_empty());
    }

    #[test]
    fn dead_slots_are_not_found_and_half_dead_is_worth_a_rebuild() {
        let mut haystacks = Haystacks::default();
        let slots: Vec<usize> = (0..6000)
            .map(|n| haystacks.add(&row(&format!("c{n:05}"), "Ann", "Lee")))
            .collect();
        assert_eq!(search(&haystacks, "c00017").len(), 1);
        haystacks.remove(slots[17]);
        haystacks.remove(slots[17]);
        assert!(search(&haystacks, "c00017").is_empty());
        let again = haystacks.add(&row("c00017", "Ann", "Lee-Smith"));
        assert_eq!(search(&haystacks, "c00017 smith"), ["c00017"]);
        assert!(!haystacks.worth_rebuilding());
        for slot in slots.iter().take(3100) {
            haystacks.remove(*slot);
        }
        assert!(haystacks.worth_rebuilding());
        haystacks.remove(again);
        assert_eq!(search(&haystacks, "ann").len(), 2900);
    }
}
