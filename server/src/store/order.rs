//! The customers held in memory in every order a list can be sorted in (see
//! [`app::domain::Sort`]), and the pages read from them: one implementation
//! for the embedded store's records and the Redis store's search index, so
//! both sort, search and count alike.
//!
//! Each order is a persistent set of [`Row`]s, which every order shares: the
//! embedded store publishes a copy with every write, which then shares all but
//! the changed nodes. A page costs a walk from the cursor's row, plus, to
//! place it ("26–50 of 100,000"), a count of what lies behind it.

use super::row::Row;
use app::domain::{Cursor, Customer, Needle, Page, PageQuery, SortField};
use std::cmp::Ordering;
use std::ops::Bound;

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

/// A row in one order: `FIELD` is its [`SortField`]'s index in
/// [`SortField::ALL`]. Compared by [`Row::prefix`], then [`Row::cmp_by`],
/// so the set needs no position string per row, and most comparisons read
/// only the set's own nodes.
#[derive(Clone)]
struct Placed<const FIELD: usize> {
    prefix: u64,
    row: Row,
}

impl<const FIELD: usize> Placed<FIELD> {
    fn new(row: Row) -> Self {
        Placed {
            prefix: row.prefix(SortField::ALL[FIELD]),
            row,
        }
    }
}

impl<const FIELD: usize> Ord for Placed<FIELD> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.row.cmp_by(&other.row, SortField::ALL[FIELD]))
    }
}
impl<const FIELD: usize> PartialOrd for Placed<FIELD> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<const FIELD: usize> PartialEq for Placed<FIELD> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl<const FIELD: usize> Eq for Placed<FIELD> {}

const BY_ID: usize = 0;
const BY_FIRST: usize = 1;
const BY_LAST: usize = 2;

/// Every customer in each [`SortField`]'s ascending order.
#[derive(Clone, Default)]
pub struct Orders {
    by_id: imbl::OrdSet<Placed<BY_ID>>,
    by_first: imbl::OrdSet<Placed<BY_FIRST>>,
    by_last: imbl::OrdSet<Placed<BY_LAST>>,
}

impl Orders {
    pub fn from_rows(rows: &[Row]) -> Self {
        Orders {
            by_id: sorted(rows.iter().cloned()),
            by_first: sorted(rows.iter().cloned()),
            by_last: sorted(rows.iter().cloned()),
        }
    }

    pub fn insert(&mut self, row: Row) {
        self.by_id.insert(Placed::new(row.clone()));
        self.by_first.insert(Placed::new(row.clone()));
        self.by_last.insert(Placed::new(row));
    }

    /// Removes the row as it was inserted (its names then decide where it is).
    pub fn remove(&mut self, row: &Row) {
        self.by_id.remove(&Placed::new(row.clone()));
        self.by_first.remove(&Placed::new(row.clone()));
        self.by_last.remove(&Placed::new(row.clone()));
    }

    /// Replaces `old` (if any) by `new`.
    pub fn replace(&mut self, old: Option<&Row>, new: Row) {
        if let Some(old) = old {
            self.remove(old);
        }
        self.insert(new);
    }

    /// Every row in ID order.
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.by_id.iter().map(|placed| &placed.row)
    }

    /// One page in `query.sort` order, filtered by its search. `cursor_row` is
    /// the row of the customer a cursor names (see [`Row::of_id`] for one known
    /// by ID alone); without one, a cursor reads from the nearest end.
    pub fn page(&self, query: &PageQuery, cursor_row: Option<Row>) -> Page {
        let matcher = query.needle().map(|needle| Matcher::new(&needle));
        let matcher = matcher.as_ref();
        match query.sort.field {
            SortField::Id => page_in(&self.by_id, query, matcher, cursor_row),
            SortField::FirstName => page_in(&self.by_first, query, matcher, cursor_row),
            SortField::LastName => page_in(&self.by_last, query, matcher, cursor_row),
        }
    }

    /// [`Self::page`] of a search whose matches the caller found by a pass of
    /// its own, faster than a walk of an order (its rows lie in memory in the
    /// order it keeps them): a few thousand matches are sorted here, more are
    /// found again by walking the order.
    pub fn page_among(
        &self,
        query: &PageQuery,
        matches: Vec<Row>,
        cursor_row: Option<Row>,
    ) -> Page {
        if matches.len() > SORT_AT_MOST {
            return self.page(query, cursor_row);
        }
        match query.sort.field {
            SortField::Id => page_in(
                &sorted::<BY_ID>(matches.into_iter()),
                query,
                None,
                cursor_row,
            ),
            SortField::FirstName => page_in(
                &sorted::<BY_FIRST>(matches.into_iter()),
                query,
                None,
                cursor_row,
            ),
            SortField::LastName => page_in(
                &sorted::<BY_LAST>(matches.into_iter()),
                query,
                None,
                cursor_row,
            ),
        }
    }
}

/// `rows` in one order.
fn sorted<const FIELD: usize>(rows: impl Iterator<Item = Row>) -> imbl::OrdSet<Placed<FIELD>> {
    rows.map(Placed::new).collect()
}

/// Matches sorted for a page at most (see [`Orders::page_among`]): sorting 5,000
/// costs about what a walk of 100,000 does.
const SORT_AT_MOST: usize = 5_000;

/// One page of `set` read from the query's cursor in its direction, keeping
/// what `matcher` finds (all when `None`).
fn page_in<const FIELD: usize>(
    set: &imbl::OrdSet<Placed<FIELD>>,
    query: &PageQuery,
    matcher: Option<&Matcher>,
    cursor_row: Option<Row>,
) -> Page {
    let view = View {
        set,
        descending: query.sort.descending,
    };
    let (cursor, at) = match (&query.cursor, cursor_row) {
        (Cursor::After(_) | Cursor::Before(_) | Cursor::At(_), Some(row)) => {
            (query.cursor.clone(), Some(Placed::new(row)))
        }
        (Cursor::After(_) | Cursor::Before(_) | Cursor::At(_), None) => {
            let end = if query.cursor.reads_down() {
                Cursor::End
            } else {
                Cursor::Start
            };
            (end, None)
        }
        (other, _) => (other.clone(), None),
    };
    let keep = |placed: &&Placed<FIELD>| matcher.is_none_or(|m| placed.row.matches(m));
    let count = |walk: Walk<'_, FIELD>| match matcher {
        None => walk.count(),
        Some(_) => walk.filter(keep).count(),
    };
    // The page's walk (in the cursor's direction) and what lies behind it.
    let (walk, behind) = match (&cursor, &at) {
        (Cursor::After(_), Some(p)) => (
            view.forward(Bound::Excluded(p)),
            Some(view.backward(Bound::Included(p))),
        ),
        (Cursor::At(_), Some(p)) => (
            view.forward(Bound::Included(p)),
            Some(view.backward(Bound::Excluded(p))),
        ),
        (Cursor::Before(_), Some(p)) => (
            view.backward(Bound::Excluded(p)),
            Some(view.forward(Bound::Included(p))),
        ),
        (Cursor::End, _) => (view.backward(Bound::Unbounded), None),
        _ => (view.forward(Bound::Unbounded), None),
    };
    let limit = query.limit.max(1);
    let ahead: Vec<Customer> = walk
        .filter(keep)
        .take(limit + 1)
        .map(|placed| placed.row.customer())
        .collect();
    let mut behind = behind.map_or(0, count);
    // A page at a customer (the one just saved) is the whole page it falls in,
    // as paging from the first meets it: it starts with the matches before the
    // customer that share its page. Nothing at or after it (it is gone, and
    // would sort last): the last page.
    let window = match (&cursor, &at) {
        (Cursor::At(_), Some(p)) => {
            let sharing = match behind % limit {
                0 if ahead.is_empty() => limit.min(behind),
                sharing => sharing,
            };
            let mut window: Vec<Customer> = view
                .backward(Bound::Excluded(p))
                .filter(keep)
                .take(sharing)
                .map(|placed| placed.row.customer())
                .collect();
            behind -= window.len();
            window.reverse();
            window.extend(ahead);
            window
        }
        _ => ahead,
    };
    let total = match matcher {
        None => set.len(),
        Some(_) => count(view.forward(Bound::Unbounded)),
    };
    Page::from_window(&cursor, limit, window, total as u64, behind as u64)
}

type Walk<'a, const FIELD: usize> = Box<dyn Iterator<Item = &'a Placed<FIELD>> + 'a>;

/// One order read either way.
struct View<'a, const FIELD: usize> {
    set: &'a imbl::OrdSet<Placed<FIELD>>,
    descending: bool,
}

impl<'a, const FIELD: usize> View<'a, FIELD> {
    /// From `from` on, in the order shown.
    fn forward(&self, from: Bound<&Placed<FIELD>>) -> Walk<'a, FIELD> {
        let set = self.set;
        if self.descending {
            Box::new(
                set.range::<_, Placed<FIELD>>((Bound::Unbounded, from))
                    .rev(),
            )
        } else {
            Box::new(set.range::<_, Placed<FIELD>>((from, Bound::Unbounded)))
        }
    }

    /// From `from` back towards the start, against the order shown.
    fn backward(&self, from: Bound<&Placed<FIELD>>) -> Walk<'a, FIELD> {
        let set = self.set;
        if self.descending {
            Box::new(set.range::<_, Placed<FIELD>>((from, Bound::Unbounded)))
        } else {
            Box::new(
                set.range::<_, Placed<FIELD>>((Bound::Unbounded, from))
                    .rev(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{Customer, Sort};

    fn customers(n: usize) -> Vec<Customer> {
        (1..=n)
            .map(|i| Customer {
                id: i.to_string(),
                first_name: format!("First{}", n + 1 - i),
                last_name: if i % 2 == 0 { "Even" } else { "Odd" }.into(),
            })
            .collect()
    }

    fn row(customer: &Customer) -> Row {
        Row::new(&customer.id, customer)
    }

    fn orders(n: usize) -> Orders {
        Orders::from_rows(&customers(n).iter().map(row).collect::<Vec<_>>())
    }

    /// The row a cursor on `id` names, as the stores find it.
    fn cursor_row(customers: &[Customer], id: &str) -> Option<Row> {
        customers.iter().find(|c| c.id == id).map(row)
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
        let at = |id: &str| Some(Row::of_id(id));
        let first = orders.page(&query(Cursor::Start, Sort::default(), None), None);
        assert_eq!(ids(&first), ["1", "2", "3"]);
        assert_eq!(
            (first.offset, first.total, first.after.as_deref()),
            (0, 10, Some("3"))
        );
        let next = orders.page(
            &query(Cursor::After("3".into()), Sort::default(), None),
            at("3"),
        );
        assert_eq!(ids(&next), ["4", "5", "6"]);
        assert_eq!(next.offset, 3);
        let back = orders.page(
            &query(Cursor::Before("4".into()), Sort::default(), None),
            at("4"),
        );
        assert_eq!(ids(&back), ["1", "2", "3"]);
        assert_eq!(back.before, None);
        let last = orders.page(&query(Cursor::End, Sort::default(), None), None);
        // What is left after whole pages of 3.
        assert_eq!((ids(&last), last.offset), (vec!["10"], 9));
        // A cursor on an ID that is gone still has its place in the ID order.
        let gone = orders.page(
            &query(Cursor::After("4½".into()), Sort::default(), None),
            at("4½"),
        );
        assert_eq!(ids(&gone), ["5", "6", "7"]);
    }

    #[test]
    fn descending_name_order_with_a_search() {
        let customers = customers(10);
        let orders = Orders::from_rows(&customers.iter().map(row).collect::<Vec<_>>());
        let at = |id: &str| cursor_row(&customers, id);
        let sort = Sort {
            field: SortField::FirstName,
            descending: true,
        };
        // First names run First10 (ID 1) down to First1 (ID 10): descending
        // by first name is ascending by ID.
        let page = orders.page(&query(Cursor::Start, sort, Some("odd")), None);
        assert_eq!(ids(&page), ["1", "3", "5"]);
        assert_eq!((page.total, page.offset), (5, 0));
        let next = orders.page(
            &query(Cursor::After("5".into()), sort, Some("odd")),
            at("5"),
        );
        assert_eq!(
            (ids(&next), next.offset, next.after.as_deref()),
            (vec!["7", "9"], 3, None)
        );
        // At 3: the page it falls in, which starts with 1.
        let at_3 = orders.page(&query(Cursor::At("3".into()), sort, Some("odd")), at("3"));
        assert_eq!((ids(&at_3), at_3.offset), (vec!["1", "3", "5"], 0));
        assert_eq!((at_3.before, at_3.after.as_deref()), (None, Some("5")));
        let at_7 = orders.page(&query(Cursor::At("7".into()), sort, Some("odd")), at("7"));
        assert_eq!((ids(&at_7), at_7.offset), (vec!["7", "9"], 3));
        assert_eq!((at_7.before.as_deref(), at_7.after), (Some("7"), None));
    }

    #[test]
    fn matches_found_by_the_caller_page_as_a_walk_does() {
        let customers = customers(40);
        let orders = Orders::from_rows(&customers.iter().map(row).collect::<Vec<_>>());
        let needle = Needle::new("even").unwrap();
        let matcher = Matcher::new(&needle);
        let matches: Vec<Row> = orders
            .rows()
            .filter(|r| r.matches(&matcher))
            .cloned()
            .collect();
        assert_eq!(matches.len(), 20);
        for field in SortField::ALL {
            for descending in [false, true] {
                let sort = Sort { field, descending };
                for cursor in [
                    Cursor::Start,
                    Cursor::End,
                    Cursor::After("8".into()),
                    Cursor::Before("30".into()),
                    Cursor::At("7".into()),
                ] {
                    let at = match &cursor {
                        Cursor::After(id) | Cursor::Before(id) | Cursor::At(id) => {
                            cursor_row(&customers, id)
                        }
                        _ => None,
                    };
                    let query = query(cursor, sort, Some("even"));
                    assert_eq!(
                        orders.page_among(&query, matches.clone(), at.clone()),
                        orders.page(&query, at),
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
        let page = orders.page(&query(Cursor::After("x".into()), sort, None), None);
        assert_eq!(page.offset, 0);
        let page = orders.page(&query(Cursor::Before("x".into()), sort, None), None);
        // From the end: the last page, what is left after whole pages of 3.
        assert_eq!(page.offset, 3);
    }

    #[test]
    fn replacing_a_row_moves_it_in_every_order() {
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
        orders.replace(Some(&row(&old)), row(&new));
        assert_eq!(
            (
                orders.by_id.len(),
                orders.by_first.len(),
                orders.by_last.len()
            ),
            (3, 3, 3)
        );
        let sort = Sort {
            field: SortField::LastName,
            descending: false,
        };
        let page = orders.page(&query(Cursor::Start, sort, None), None);
        // Then by first name: ID 3 is First1, ID 1 is First3.
        assert_eq!(ids(&page), ["2", "3", "1"]);
        orders.remove(&row(&new));
        assert_eq!(orders.rows().map(Row::id).collect::<Vec<_>>(), ["1", "3"]);
    }
}
