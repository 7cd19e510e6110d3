//! One customer as the in-memory lists hold it (the embedded store's sort
//! orders, the Redis store's search index): everything a page, a sort and a
//! search read, in one shared allocation.
//!
//! At a million customers the index is most of the server's memory, so a row
//! is built to be small: one `Arc<str>` that every order and the search buffer
//! share, rather than a position string per order and a string per field.

use crate::store::order::Matcher;
use app::domain::{haystack, natural_key, Customer, SortField};
use std::cmp::Ordering;
use std::sync::Arc;

/// The parts of a row, `\0` between, in the order they are read most: the
/// [`natural_key`]s the orders compare (of the ID, first and last name), the
/// ID, first and last name as stored, then what searches look in
/// ([`haystack`]). Validation refuses control characters, so only data written
/// to Redis by something else can hold a `\0`: it is kept as U+FFFD here.
#[derive(Clone)]
pub struct Row(Arc<str>);

const KEY_ID: usize = 0;
const KEY_FIRST: usize = 1;
const KEY_LAST: usize = 2;
const ID: usize = 3;
const FIRST: usize = 4;
const LAST: usize = 5;
const PARTS: usize = 7;

impl Row {
    /// The customer stored under `id` (the key that names it).
    pub fn new(id: &str, customer: &Customer) -> Row {
        let customer = Customer {
            id: stored_id(id),
            first_name: customer.first_name.replace('\0', "\u{FFFD}"),
            last_name: customer.last_name.replace('\0', "\u{FFFD}"),
        };
        let text = [
            natural_key(&customer.id),
            natural_key(&customer.first_name),
            natural_key(&customer.last_name),
            haystack(&customer),
        ];
        let [key_id, key_first, key_last, haystack] = text;
        let parts = [
            key_id.as_str(),
            &key_first,
            &key_last,
            &customer.id,
            &customer.first_name,
            &customer.last_name,
            &haystack,
        ];
        Row(parts.join("\0").into())
    }

    /// A stand-in for a customer known by ID alone, to find where it would
    /// be: it has a true place in the ID order only.
    pub fn of_id(id: &str) -> Row {
        let unnamed = Customer {
            id: id.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
        };
        Row::new(id, &unnamed)
    }

    fn parts(&self) -> [&str; PARTS] {
        let mut parts = self.0.splitn(PARTS, '\0');
        std::array::from_fn(|_| parts.next().unwrap_or_default())
    }

    /// The first four parts, which orders compare and sets find rows by: read
    /// by one pass over the bytes up to the fourth `\0`, as a sort compares
    /// rows millions of times (a general split costs several times more).
    fn keys(&self) -> [&str; 4] {
        let text = &*self.0;
        let mut ends = [text.len(); 4];
        let mut found = 0;
        for (at, byte) in text.bytes().enumerate() {
            if byte == 0 {
                ends[found] = at;
                found += 1;
                if found == 4 {
                    break;
                }
            }
        }
        let start = |n: usize| {
            if n == 0 {
                0
            } else {
                (ends[n - 1] + 1).min(text.len())
            }
        };
        // `\0` is one byte, so every bound lies on a character boundary.
        std::array::from_fn(|n| &text[start(n)..ends[n].max(start(n))])
    }

    /// The ID as this row holds it (see [`stored_id`]).
    pub fn id(&self) -> &str {
        self.keys()[ID]
    }

    pub fn haystack(&self) -> &str {
        self.0.rsplit('\0').next().unwrap_or_default()
    }

    pub fn customer(&self) -> Customer {
        let parts = self.parts();
        Customer {
            id: parts[ID].to_owned(),
            first_name: parts[FIRST].to_owned(),
            last_name: parts[LAST].to_owned(),
        }
    }

    pub fn matches(&self, matcher: &Matcher) -> bool {
        matcher.found_in(self.haystack())
    }

    /// The first eight bytes of this row's [`app::domain::Sort::position`]
    /// in `field`'s order (zero bytes past its end), as a number that orders
    /// as positions do: kept beside the row in each order, it settles most
    /// comparisons without reading the row's memory. Equal prefixes settle nothing
    /// ([`Self::cmp_by`] decides).
    pub fn prefix(&self, field: SortField) -> u64 {
        let keys = self.keys();
        let mut bytes = [0; 8];
        let mut at = 0;
        for (n, &column) in columns(field).iter().enumerate() {
            let separator: &[u8] = if n == 0 { b"" } else { b"\0" };
            for &byte in separator.iter().chain(keys[column].as_bytes()) {
                if at == bytes.len() {
                    return u64::from_be_bytes(bytes);
                }
                bytes[at] = byte;
                at += 1;
            }
        }
        u64::from_be_bytes(bytes)
    }

    /// Compares in `field`'s ascending order. This is the order of
    /// [`app::domain::Sort::position`] (natural keys of the sort column, the
    /// other name, the ID, then the ID as stored), compared column by column
    /// instead of built into one string per order: no `\0` lies inside a
    /// part, so both agree.
    pub fn cmp_by(&self, other: &Row, field: SortField) -> Ordering {
        let (mine, theirs) = (self.keys(), other.keys());
        columns(field)
            .iter()
            .map(|&column| mine[column].cmp(theirs[column]))
            .find(|order| order.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// The parts `field`'s order compares, in turn.
fn columns(field: SortField) -> &'static [usize] {
    match field {
        SortField::Id => &[KEY_ID, ID],
        SortField::FirstName => &[KEY_FIRST, KEY_LAST, KEY_ID, ID],
        SortField::LastName => &[KEY_LAST, KEY_FIRST, KEY_ID, ID],
    }
}

/// `text`'s first eight bytes as a big-endian number, zero-padded. No part
/// holds a `\0`, so a shorter text orders first, as it does compared whole.
pub fn prefix_of(text: &str) -> u64 {
    let mut bytes = [0; 8];
    let head = &text.as_bytes()[..text.len().min(8)];
    bytes[..head.len()].copy_from_slice(head);
    u64::from_be_bytes(bytes)
}

/// `id` as a row holds it: a `\0` (only foreign data has one) as U+FFFD.
pub fn stored_id(id: &str) -> String {
    id.replace('\0', "\u{FFFD}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::Sort;

    fn customer(id: &str, first: &str, last: &str) -> Customer {
        Customer {
            id: id.into(),
            first_name: first.into(),
            last_name: last.into(),
        }
    }

    #[test]
    fn holds_the_customer_and_its_haystack() {
        let ada = customer("c7", "Ada", "Lovelace");
        let row = Row::new("c7", &ada);
        assert_eq!(row.customer(), ada);
        assert_eq!((row.id(), row.haystack()), ("c7", "c7\nada\nlovelace"));
        let odd = Row::new("x\0y", &customer("x\0y", "A\0", "B"));
        assert_eq!(odd.id(), "x\u{FFFD}y");
        assert_eq!(odd.customer().first_name, "A\u{FFFD}");
        assert_eq!(odd.customer().last_name, "B");
    }

    #[test]
    fn compares_as_the_domain_positions_do() {
        let names = [
            "", "a", "A", "ä", "b", "a b", "2", "10", "c9", "c10", "07", "7",
        ];
        let mut customers = Vec::new();
        for (n, first) in names.iter().enumerate() {
            for last in names.iter().step_by(3) {
                let id = names[(n * 5 + last.len()) % names.len()];
                customers.push(customer(&format!("{id}{n}"), first, last));
                customers.push(customer(id, first, last));
            }
        }
        for field in SortField::ALL {
            let sort = Sort {
                field,
                descending: false,
            };
            for a in &customers {
                for b in &customers {
                    let rows = (Row::new(&a.id, a), Row::new(&b.id, b));
                    assert_eq!(
                        rows.0.cmp_by(&rows.1, field),
                        sort.position(a).cmp(&sort.position(b)),
                        "{field:?} {a:?} {b:?}"
                    );
                }
            }
            for a in &customers {
                let position = sort.position(a);
                assert_eq!(Row::new(&a.id, a).prefix(field), prefix_of(&position));
                for b in &customers {
                    let rows = (Row::new(&a.id, a), Row::new(&b.id, b));
                    let prefixes = (rows.0.prefix(field), rows.1.prefix(field));
                    if prefixes.0 != prefixes.1 {
                        assert_eq!(prefixes.0.cmp(&prefixes.1), rows.0.cmp_by(&rows.1, field));
                    }
                }
            }
            let of_id = Row::of_id("c9");
            assert_eq!(
                of_id.cmp_by(&Row::new("c10", &customers[0]), SortField::Id),
                Ordering::Less
            );
        }
    }
}
