use super::{Customer, Needle, Sort};
use serde::{Deserialize, Serialize};

/// Where a page starts. Pages are keyed by a customer's place in the order (not
/// by offset), named by its ID, so that no page shifts when customers before it
/// are added or removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cursor {
    #[default]
    Start,
    /// The page of customers after this one.
    After(String),
    /// The page of customers before this one (for "previous").
    Before(String),
    /// The last page.
    End,
    /// The page this customer falls in, in whole pages from the first: where a
    /// customer just saved is shown. The page is placed by its first customer,
    /// which may come before this one.
    At(String),
}

impl Cursor {
    /// Whether the page is read from its last customer down (then reversed).
    pub fn reads_down(&self) -> bool {
        matches!(self, Cursor::Before(_) | Cursor::End)
    }
}

/// A request for one page of customers in `sort` order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
    /// Words matched against the ID and both names, ignoring case and accents
    /// (see [`super::search`]); `None` lists all.
    pub search: Option<String>,
    /// Cursors name customers by ID; the page starts at that customer's place
    /// in this order.
    pub cursor: Cursor,
    pub limit: usize,
    #[serde(default)]
    pub sort: Sort,
}

impl PageQuery {
    pub const DEFAULT_LIMIT: usize = 25;
    pub const MAX_LIMIT: usize = 1000;

    /// Builds a query, normalising what a client may send: blank search means none,
    /// and the limit is kept between 1 and [`Self::MAX_LIMIT`].
    pub fn new(search: Option<&str>, cursor: Cursor, limit: usize) -> Self {
        let search = search
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Self {
            search,
            cursor,
            limit: limit.clamp(1, Self::MAX_LIMIT),
            sort: Sort::default(),
        }
    }

    /// The same query in another order.
    pub fn sorted(self, sort: Sort) -> Self {
        Self { sort, ..self }
    }

    /// What the search looks for, if there is one (see [`super::search`]).
    pub fn needle(&self) -> Option<Needle> {
        self.search.as_deref().and_then(Needle::new)
    }
}

/// One page of customers in the query's order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub customers: Vec<Customer>,
    /// How many customers match the query in all (all customers when there is no search).
    pub total: u64,
    /// Cursor for the previous page, when there are customers before this one.
    pub before: Option<String>,
    /// Cursor for the next page, when there are customers after this one.
    pub after: Option<String>,
    /// How many matches come before this page's first customer: the page of the
    /// 26th to 50th has 25.
    pub offset: u64,
}

impl Page {
    /// Builds a page from matches fetched in the query's order *in the cursor's direction*,
    /// with at most `limit + 1` items: the extra one only says there is more.
    /// `behind` counts the matches on the cursor's other side: up to and including
    /// an `After` ID, before an `At` page's first customer, from a `Before` ID on
    /// (0 from either end); it places the page.
    pub fn from_window(
        cursor: &Cursor,
        limit: usize,
        mut window: Vec<Customer>,
        total: u64,
        behind: u64,
    ) -> Page {
        let mut more_in_direction = window.len() > limit;
        window.truncate(limit);
        if cursor.reads_down() {
            window.reverse();
        }
        // The last page holds what is left after whole pages (the 51st to
        // 60th of 60), so that paging back from it meets the pages paging on
        // from the first does.
        let left_over = (total % limit.max(1) as u64) as usize;
        if matches!(cursor, Cursor::End) && left_over > 0 && window.len() > left_over {
            window.drain(..window.len() - left_over);
            more_in_direction = true;
        }
        let offset = if cursor.reads_down() {
            total.saturating_sub(behind + window.len() as u64)
        } else {
            behind
        };
        let first = window.first().map(|c| c.id.clone());
        let last = window.last().map(|c| c.id.clone());
        let (has_before, has_after) = match cursor {
            Cursor::Start => (false, more_in_direction),
            Cursor::After(_) => (true, more_in_direction),
            Cursor::Before(_) => (more_in_direction, true),
            Cursor::End => (more_in_direction, false),
            Cursor::At(_) => (behind > 0, more_in_direction),
        };
        Page {
            customers: window,
            total,
            before: first.filter(|_| has_before),
            after: last.filter(|_| has_after),
            offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: &str) -> Customer {
        Customer {
            id: id.into(),
            first_name: "F".into(),
            last_name: "L".into(),
        }
    }

    #[test]
    fn query_normalises_search_and_limit() {
        let query = PageQuery::new(Some("  "), Cursor::Start, 0);
        assert_eq!(query.search, None);
        assert_eq!(query.limit, 1);
        let query = PageQuery::new(Some(" Ab "), Cursor::Start, 1_000_000);
        assert_eq!(query.needle(), Needle::new("ab"));
        assert_eq!(query.limit, PageQuery::MAX_LIMIT);
    }

    #[test]
    fn window_before_is_reversed_and_links_both_ways() {
        let page = Page::from_window(
            &Cursor::Before("d".into()),
            2,
            vec![customer("c"), customer("b"), customer("a")],
            5,
            2,
        );
        let ids: Vec<_> = page.customers.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(page.before.as_deref(), Some("b"));
        assert_eq!(page.after.as_deref(), Some("c"));
        assert_eq!(page.offset, 1, "a comes before; d and e (behind) after");
    }

    #[test]
    fn first_page_has_no_previous() {
        let page = Page::from_window(&Cursor::Start, 2, vec![customer("a"), customer("b")], 2, 0);
        assert_eq!(page.before, None);
        assert_eq!(page.after, None);
        assert_eq!(page.offset, 0);
    }

    #[test]
    fn last_page_is_placed_from_the_total() {
        let page = Page::from_window(
            &Cursor::End,
            2,
            vec![customer("e"), customer("d"), customer("c")],
            5,
            0,
        );
        let ids: Vec<_> = page.customers.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["e"], "what is left after whole pages of 2");
        assert_eq!((page.before.as_deref(), page.after), (Some("e"), None));
        assert_eq!(page.offset, 4);
        // Whole pages: a full last page.
        let window = vec![customer("d"), customer("c"), customer("b")];
        let page = Page::from_window(&Cursor::End, 2, window, 4, 0);
        let ids: Vec<_> = page.customers.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["c", "d"]);
        assert_eq!((page.before.as_deref(), page.offset), (Some("c"), 2));
        // Fewer than a page in all: all of them, nothing before.
        let page = Page::from_window(&Cursor::End, 2, vec![customer("a")], 1, 0);
        assert_eq!(
            (page.customers.len(), page.before, page.offset),
            (1, None, 0)
        );
    }

    #[test]
    fn a_page_at_an_id_links_back_only_when_something_is_before() {
        let at = Cursor::At("b".into());
        let page = Page::from_window(&at, 2, vec![customer("b"), customer("c")], 3, 1);
        assert_eq!((page.before.as_deref(), page.after), (Some("b"), None));
        assert_eq!(page.offset, 1);
        let page = Page::from_window(&at, 2, vec![customer("b")], 1, 0);
        assert_eq!(page.before, None);
    }

    #[test]
    fn a_page_after_a_cursor_starts_behind_it() {
        let page = Page::from_window(
            &Cursor::After("b".into()),
            2,
            vec![customer("c"), customer("d")],
            4,
            2,
        );
        assert_eq!(page.offset, 2);
        assert_eq!(page.after, None);
    }
}
