//! The customers held in memory in every order a list can be sorted in (see
//! [`app::domain::Sort`]), and the pages read from them: one implementation
//! for the embedded store's records and the Redis store's search index, so
//! both sort, search and count alike.
//!
//! Each order is a persistent set of (position, record): the embedded store
//! publishes a copy with every write, which then shares all but the changed
//! nodes. A page costs a walk from the cursor's position, plus, to place it
//! ("26–50 of 100,000"), a count of what lies behind it.

use app::domain::{Cursor, Customer, Needle, Page, PageQuery, Sort, SortField};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ops::Bound;

/// What the orders hold of each customer.
pub trait Record: Clone {
    fn customer(&self) -> Customer;
    fn matches(&self, matcher: &Matcher) -> bool;
    /// [`Sort::position`] of this record.
    fn position(&self, sort: Sort) -> String;
}

/// A search's words (see [`Needle`]), each ready to be looked for in many
/// haystacks: a searcher built once per search rather than once per customer
/// (as `str::contains` does) makes a pass over a million customers several
/// times faster.
pub struct Matcher(Vec<memchr::memmem::Finder<'static>>);

impl Matcher {
    pub fn new(needle: &Needle) -> Self {
        let words = needle.words().iter();
        Matcher(
            words
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned())
                .collect(),
        )
    }

    /// Whether a [`app::domain::haystack`] holds every word ([`Needle::found_in`]).
    pub fn found_in(&self, haystack: &str) -> bool {
        self.found_in_bytes(haystack.as_bytes())
    }

    pub fn found_in_bytes(&self, haystack: &[u8]) -> bool {
        self.0.iter().all(|word| word.find(haystack).is_some())
    }

    /// The searcher of the longest word: the one to scan with, as it matches least.
    pub fn longest_word(&self) -> Option<&memchr::memmem::Finder<'static>> {
        self.0.iter().max_by_key(|word| word.needle().len())
    }
}

/// A record at its position. Ordered, compared and found by position alone.
#[derive(Clone)]
struct Placed<R> {
    position: Box<str>,
    record: R,
}

impl<R> PartialEq for Placed<R> {
    fn eq(&self, other: &Self) -> bool {
        self.position == other.position
    }
}
impl<R> Eq for Placed<R> {}
impl<R> PartialOrd for Placed<R> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<R> Ord for Placed<R> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.position.cmp(&other.position)
    }
}
impl<R> Borrow<str> for Placed<R> {
    fn borrow(&self) -> &str {
        &self.position
    }
}

/// Every customer in each [`SortField`]'s ascending order.
#[derive(Clone)]
pub struct Orders<R: Record> {
    by: [imbl::OrdSet<Placed<R>>; 3],
}

impl<R: Record> Default for Orders<R> {
    fn default() -> Self {
        Orders {
            by: Default::default(),
        }
    }
}

fn ascending(field: SortField) -> Sort {
    Sort {
        field,
        descending: false,
    }
}

impl<R: Record> Orders<R> {
    pub fn from_records(records: impl IntoIterator<Item = R>) -> Self {
        let mut orders = Orders::default();
        for record in records {
            orders.insert(record);
        }
        orders
    }

    pub fn insert(&mut self, record: R) {
        for (set, field) in self.by.iter_mut().zip(SortField::ALL) {
            set.insert(Placed {
                position: record.position(ascending(field)).into(),
                record: record.clone(),
            });
        }
    }

    /// Removes the record as it was inserted (its names then decide where it is).
    pub fn remove(&mut self, record: &R) {
        for (set, field) in self.by.iter_mut().zip(SortField::ALL) {
            set.remove::<str>(&record.position(ascending(field)));
        }
    }

    /// Replaces `old` (if any) by `new`.
    pub fn replace(&mut self, old: Option<&R>, new: R) {
        if let Some(old) = old {
            self.remove(old);
        }
        self.insert(new);
    }

    /// One page in `query.sort` order, filtered by its search. `position_of`
    /// gives the position of the customer a cursor names, in that order; a
    /// cursor naming a customer that is gone (and not placeable by ID alone)
    /// reads from the nearest end.
    pub fn page(&self, query: &PageQuery, position_of: impl Fn(&str) -> Option<String>) -> Page {
        let set = &self.by[SortField::ALL
            .iter()
            .position(|f| *f == query.sort.field)
            .unwrap_or(0)];
        let matcher = query.needle().map(|needle| Matcher::new(&needle));
        page_in(set, query, matcher.as_ref(), position_of)
    }

    /// [`Self::page`] of a search whose matches the caller found by a pass of
    /// its own, faster than a walk of an order (its records lie in memory in
    /// the order it keeps them): a few thousand matches are sorted here, more
    /// are found again by walking the order.
    pub fn page_among(
        &self,
        query: &PageQuery,
        matches: Vec<R>,
        position_of: impl Fn(&str) -> Option<String>,
    ) -> Page {
        if matches.len() > SORT_AT_MOST {
            return self.page(query, position_of);
        }
        let sort = ascending(query.sort.field);
        let set = matches
            .into_iter()
            .map(|record| Placed {
                position: record.position(sort).into(),
                record,
            })
            .collect();
        page_in(&set, query, None, position_of)
    }
}

/// Matches sorted for a page at most (see [`Orders::page_among`]): sorting 5,000
/// costs about what a walk of 100,000 does.
const SORT_AT_MOST: usize = 5_000;

/// One page of `set` read from the query's cursor in its direction, keeping
/// what `needle` finds (all when `None`).
fn page_in<R: Record>(
    set: &imbl::OrdSet<Placed<R>>,
    query: &PageQuery,
    matcher: Option<&Matcher>,
    position_of: impl Fn(&str) -> Option<String>,
) -> Page {
    let view = View {
        set,
        descending: query.sort.descending,
    };
    let (cursor, position) = match &query.cursor {
        Cursor::After(id) | Cursor::Before(id) | Cursor::At(id) => match position_of(id) {
            Some(position) => (query.cursor.clone(), position),
            None if query.cursor.reads_down() => (Cursor::End, String::new()),
            None => (Cursor::Start, String::new()),
        },
        other => (other.clone(), String::new()),
    };
    let keep = |placed: &&Placed<R>| matcher.is_none_or(|m| placed.record.matches(m));
    let count = |walk: Walk<'_, R>| match matcher {
        None => walk.count(),
        Some(_) => walk.filter(keep).count(),
    };
    let p = position.as_str();
    // The page's walk (in the cursor's direction) and what lies behind it.
    let (walk, behind) = match &cursor {
        Cursor::Start => (view.forward(Bound::Unbounded), None),
        Cursor::End => (view.backward(Bound::Unbounded), None),
        Cursor::After(_) => (
            view.forward(Bound::Excluded(p)),
            Some(view.backward(Bound::Included(p))),
        ),
        Cursor::At(_) => (
            view.forward(Bound::Included(p)),
            Some(view.backward(Bound::Excluded(p))),
        ),
        Cursor::Before(_) => (
            view.backward(Bound::Excluded(p)),
            Some(view.forward(Bound::Included(p))),
        ),
    };
    let window = walk
        .filter(keep)
        .take(query.limit + 1)
        .map(|placed| placed.record.customer())
        .collect();
    let total = match matcher {
        None => set.len(),
        Some(_) => count(view.forward(Bound::Unbounded)),
    };
    let behind = behind.map_or(0, count);
    Page::from_window(&cursor, query.limit, window, total as u64, behind as u64)
}

type Walk<'a, R> = Box<dyn Iterator<Item = &'a Placed<R>> + 'a>;

/// One order read either way.
struct View<'a, R: Record> {
    set: &'a imbl::OrdSet<Placed<R>>,
    descending: bool,
}

impl<'a, R: Record> View<'a, R> {
    /// From `from` on, in the order shown.
    fn forward(&self, from: Bound<&str>) -> Walk<'a, R> {
        let set = self.set;
        if self.descending {
            Box::new(set.range::<_, str>((Bound::Unbounded, from)).rev())
        } else {
            Box::new(set.range::<_, str>((from, Bound::Unbounded)))
        }
    }

    /// From `from` back towards the start, against the order shown.
    fn backward(&self, from: Bound<&str>) -> Walk<'a, R> {
        let set = self.set;
        if self.descending {
            Box::new(set.range::<_, str>((from, Bound::Unbounded)))
        } else {
            Box::new(set.range::<_, str>((Bound::Unbounded, from)).rev())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Record for Customer {
        fn customer(&self) -> Customer {
            self.clone()
        }
        fn matches(&self, matcher: &Matcher) -> bool {
            matcher.found_in(&app::domain::haystack(self))
        }
        fn position(&self, sort: Sort) -> String {
            sort.position(self)
        }
    }

    fn orders(n: usize) -> Orders<Customer> {
        Orders::from_records((1..=n).map(|i| Customer {
            id: i.to_string(),
            first_name: format!("First{}", n + 1 - i),
            last_name: if i % 2 == 0 { "Even" } else { "Odd" }.into(),
        }))
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.customers.iter().map(|c| c.id.as_str()).collect()
    }

    fn query(cursor: Cursor, sort: Sort, search: Option<&str>) -> PageQuery {
        PageQuery::new(search, cursor, 3).sorted(sort)
    }

    #[test]
    fn pages_walk_either_way_in_natural_order() {
        let orders = orders(10);
        let lookup = |id: &str| Sort::default().position_of_id(id);
        let first = orders.page(&query(Cursor::Start, Sort::default(), None), lookup);
        assert_eq!(ids(&first), ["1", "2", "3"]);
        assert_eq!(
            (first.offset, first.total, first.after.as_deref()),
            (0, 10, Some("3"))
        );
        let next = orders.page(
            &query(Cursor::After("3".into()), Sort::default(), None),
            lookup,
        );
        assert_eq!(ids(&next), ["4", "5", "6"]);
        assert_eq!(next.offset, 3);
        let back = orders.page(
            &query(Cursor::Before("4".into()), Sort::default(), None),
            lookup,
        );
        assert_eq!(ids(&back), ["1", "2", "3"]);
        assert_eq!(back.before, None);
        let last = orders.page(&query(Cursor::End, Sort::default(), None), lookup);
        assert_eq!((ids(&last), last.offset), (vec!["8", "9", "10"], 7));
    }

    #[test]
    fn descending_name_order_with_a_search() {
        let orders = orders(10);
        let records: std::collections::HashMap<String, Customer> = orders.by[0]
            .iter()
            .map(|p| (p.record.id.clone(), p.record.clone()))
            .collect();
        let sort = Sort {
            field: SortField::FirstName,
            descending: true,
        };
        let lookup = |id: &str| records.get(id).map(|c| sort.position(c));
        // First names run First10 (ID 1) down to First1 (ID 10): descending
        // by first name is ascending by ID.
        let page = orders.page(&query(Cursor::Start, sort, Some("odd")), lookup);
        assert_eq!(ids(&page), ["1", "3", "5"]);
        assert_eq!((page.total, page.offset), (5, 0));
        let next = orders.page(&query(Cursor::After("5".into()), sort, Some("odd")), lookup);
        assert_eq!(
            (ids(&next), next.offset, next.after.as_deref()),
            (vec!["7", "9"], 3, None)
        );
        let at = orders.page(&query(Cursor::At("3".into()), sort, Some("odd")), lookup);
        assert_eq!((ids(&at), at.offset), (vec!["3", "5", "7"], 1));
    }

    #[test]
    fn matches_found_by_the_caller_page_as_a_walk_does() {
        let orders = orders(40);
        let records: Vec<Customer> = orders.by[0].iter().map(|p| p.record.clone()).collect();
        let needle = app::domain::Needle::new("even").unwrap();
        let matches: Vec<Customer> = records
            .iter()
            .filter(|c| app::domain::matches(c, &needle))
            .cloned()
            .collect();
        for field in SortField::ALL {
            for descending in [false, true] {
                let sort = Sort { field, descending };
                let lookup = |id: &str| {
                    records
                        .iter()
                        .find(|c| c.id == id)
                        .map(|c| sort.position(c))
                };
                for cursor in [
                    Cursor::Start,
                    Cursor::End,
                    Cursor::After("8".into()),
                    Cursor::Before("30".into()),
                    Cursor::At("7".into()),
                ] {
                    let query = query(cursor, sort, Some("even"));
                    assert_eq!(
                        orders.page_among(&query, matches.clone(), lookup),
                        orders.page(&query, lookup),
                        "{query:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_cursor_on_a_customer_gone_reads_from_the_nearest_end() {
        let orders = orders(5);
        let sort = Sort {
            field: SortField::LastName,
            descending: false,
        };
        let gone = |_: &str| None;
        let page = orders.page(&query(Cursor::After("x".into()), sort, None), gone);
        assert_eq!(page.offset, 0);
        let page = orders.page(&query(Cursor::Before("x".into()), sort, None), gone);
        assert_eq!(page.offset, 2);
    }

    #[test]
    fn replacing_a_record_moves_it() {
        let mut orders = orders(3);
        let old = Customer {
            id: "2".into(),
            first_name: "First2".into(),
            last_name: "Even".into(),
        };
        let new = Customer {
            last_name: "Aardvark".into(),
            ..old.clone()
        };
        orders.replace(Some(&old), new);
        assert!(orders.by.iter().all(|set| set.len() == 3));
        let sort = Sort {
            field: SortField::LastName,
            descending: false,
        };
        let page = orders.page(&query(Cursor::Start, sort, None), |_| None);
        // Then by first name: ID 3 is First1, ID 1 is First3.
        assert_eq!(ids(&page), ["2", "3", "1"]);
    }
}
