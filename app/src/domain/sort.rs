//! The orders a list can be sorted in, the same in every store: by ID, first
//! name or last name, either way. Text compares as a person reads it: ignoring
//! case and accents (see [`fold`]), and with runs of digits compared as numbers,
//! so "2" comes before "10" and "c9" before "c10".

use super::{fold, Customer};
use serde::{Deserialize, Serialize};

/// The column a list is sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortField {
    #[default]
    Id,
    FirstName,
    LastName,
}

impl SortField {
    pub const ALL: [SortField; 3] = [SortField::Id, SortField::FirstName, SortField::LastName];

    /// Its name in URLs (`?sort=last`).
    pub fn param(self) -> &'static str {
        match self {
            SortField::Id => "id",
            SortField::FirstName => "first",
            SortField::LastName => "last",
        }
    }

    fn from_param(value: &str) -> Option<SortField> {
        SortField::ALL
            .into_iter()
            .find(|field| field.param() == value)
    }
}

/// An order: a column and a direction. The default is by ID, ascending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    /// From the URL's `sort` (`id`, `first`, `last`) and `order` (`asc`,
    /// `desc`) values; anything else means the default.
    pub fn from_params(sort: Option<&str>, order: Option<&str>) -> Sort {
        Sort {
            field: sort.and_then(SortField::from_param).unwrap_or_default(),
            descending: order == Some("desc"),
        }
    }

    /// The URL values for this order; `None` for what is the default.
    pub fn params(self) -> (Option<&'static str>, Option<&'static str>) {
        let field = (self.field != SortField::Id).then(|| self.field.param());
        let order = self.descending.then_some("desc");
        (field, order)
    }

    /// Where a customer stands in this column's ascending order, as a string
    /// whose byte order is that order: the sorted column's text, then the
    /// other name, then the ID (each in [`natural_key`] form, `\0` between),
    /// then the ID as stored, so no two customers share a position.
    pub fn position(self, customer: &Customer) -> String {
        let (first, last, id) = (&customer.first_name, &customer.last_name, &customer.id);
        let columns: &[&str] = match self.field {
            SortField::Id => &[id],
            SortField::FirstName => &[first, last, id],
            SortField::LastName => &[last, first, id],
        };
        let mut position = String::new();
        for column in columns {
            position.push_str(&natural_key(column));
            position.push('\0');
        }
        position.push_str(id);
        position
    }

    /// [`Self::position`] of a customer known by ID alone: only the ID order
    /// can place one without its names.
    pub fn position_of_id(self, id: &str) -> Option<String> {
        (self.field == SortField::Id).then(|| format!("{}\0{id}", natural_key(id)))
    }
}

/// `text` folded (see [`fold`]) with each run of digits replaced by `\u{1}`,
/// its length in three digits and the digits without leading zeros: compared
/// byte by byte these keys order numbers by value, and digits before letters.
/// (Validation refuses control characters, so `\0` and `\u{1}` mark only this.)
pub fn natural_key(text: &str) -> String {
    let folded = fold(text);
    let mut key = String::with_capacity(folded.len() + 8);
    let mut rest = folded.as_str();
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        key.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let digits = rest[..end].trim_start_matches('0');
        // Runs longer than 999 digits compare as if 999 long (IDs are far shorter).
        key.push('\u{1}');
        key.push_str(&format!("{:03}", digits.len().min(999)));
        key.push_str(digits);
        rest = &rest[end..];
    }
    key.push_str(rest);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(id: &str, first: &str, last: &str) -> Customer {
        Customer {
            id: id.into(),
            first_name: first.into(),
            last_name: last.into(),
        }
    }

    fn sorted(sort: Sort, mut customers: Vec<Customer>) -> Vec<String> {
        customers.sort_by_key(|c| sort.position(c));
        if sort.descending {
            customers.reverse();
        }
        customers.into_iter().map(|c| c.id).collect()
    }

    #[test]
    fn ids_sort_as_numbers_where_they_are_numbers() {
        let ids = [
            "10", "2", "1", "100000", "10001", "c10", "c9", "C1", "b", "007",
        ];
        let customers = ids.map(|id| customer(id, "F", "L")).to_vec();
        assert_eq!(
            sorted(Sort::default(), customers),
            ["1", "2", "007", "10", "10001", "100000", "b", "C1", "c9", "c10"]
        );
    }

    #[test]
    fn names_sort_ignoring_case_and_accents_then_by_the_other_name() {
        let customers = vec![
            customer("1", "Zoë", "Müller"),
            customer("2", "anna", "Muller"),
            customer("3", "Ana", "Fernández"),
            customer("4", "Bob", "fernandez"),
            customer("5", "Émile", "Zola"),
        ];
        let by_last = Sort {
            field: SortField::LastName,
            descending: false,
        };
        assert_eq!(
            sorted(by_last, customers.clone()),
            ["3", "4", "2", "1", "5"]
        );
        let by_first_desc = Sort {
            field: SortField::FirstName,
            descending: true,
        };
        assert_eq!(sorted(by_first_desc, customers), ["1", "5", "4", "2", "3"]);
    }

    #[test]
    fn every_customer_has_its_own_position() {
        let twins = [customer("a", "Jo", "Lee"), customer("b", "Jo", "Lee")];
        for field in SortField::ALL {
            let sort = Sort {
                field,
                descending: false,
            };
            assert!(sort.position(&twins[0]) < sort.position(&twins[1]));
        }
        // "07" and "7" are the same number: the ID as stored decides.
        let sort = Sort::default();
        assert_ne!(
            sort.position(&customer("07", "A", "B")),
            sort.position(&customer("7", "A", "B"))
        );
        assert_eq!(
            sort.position_of_id("c9"),
            Some(sort.position(&customer("c9", "X", "Y")))
        );
    }

    #[test]
    fn urls_name_the_order_and_omit_the_default() {
        let sort = Sort::from_params(Some("last"), Some("desc"));
        assert_eq!(sort.params(), (Some("last"), Some("desc")));
        assert_eq!(
            Sort::from_params(Some("id"), Some("asc")).params(),
            (None, None)
        );
        assert_eq!(
            Sort::from_params(Some("<script>"), Some("up")),
            Sort::default()
        );
    }
}
