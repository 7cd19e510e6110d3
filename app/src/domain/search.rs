//! What a search matches, the same in every store: each word of the query must
//! appear somewhere in the customer's ID, first or last name, ignoring case and
//! accents. So "james baker" finds James Baker, "fernandez" finds Fernández and
//! "muller" finds Müller.

use super::Customer;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// The words a search looks for, folded (see [`fold`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Needle {
    words: Vec<String>,
}

impl Needle {
    /// Words a search looks for at most; further ones are ignored, so a huge
    /// query cannot make every search scan everything thousands of times.
    pub const MAX_WORDS: usize = 16;

    /// `None` when the query has no words.
    pub fn new(query: &str) -> Option<Needle> {
        let mut words: Vec<String> = Vec::new();
        for word in query.split_whitespace().map(fold) {
            if !words.contains(&word) {
                words.push(word);
            }
            if words.len() == Self::MAX_WORDS {
                break;
            }
        }
        (!words.is_empty()).then_some(Needle { words })
    }

    /// The folded words, each of which a match holds.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether a [`haystack`] holds every word.
    pub fn found_in(&self, haystack: &str) -> bool {
        self.words
            .iter()
            .all(|word| haystack.contains(word.as_str()))
    }
}

/// What a search looks in: the ID and both names, folded, one per line (no
/// word of a query holds a line break, so none matches across two of them).
pub fn haystack(customer: &Customer) -> String {
    [&customer.id, &customer.first_name, &customer.last_name]
        .map(|text| fold(text))
        .join("\n")
}

/// Does this customer match the needle?
pub fn matches(customer: &Customer, needle: &Needle) -> bool {
    needle.found_in(&haystack(customer))
}

/// Lower case without accents: "Fernández" → "fernandez", "MÜLLER" → "muller",
/// "Straße" → "strasse", "Łódź" → "lodz".
pub fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .fold(String::with_capacity(text.len()), |mut folded, c| {
            // Letters with a stroke or ligature have no decomposition to strip.
            match c {
                'ß' => folded.push_str("ss"),
                'æ' => folded.push_str("ae"),
                'œ' => folded.push_str("oe"),
                'þ' => folded.push_str("th"),
                'ø' => folded.push('o'),
                'ł' => folded.push('l'),
                'đ' | 'ð' => folded.push('d'),
                'ı' => folded.push('i'),
                c => folded.push(c),
            }
            folded
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(first: &str, last: &str) -> Customer {
        Customer {
            id: "c1".into(),
            first_name: first.into(),
            last_name: last.into(),
        }
    }

    #[test]
    fn case_and_accents_are_ignored() {
        assert_eq!(fold("Fernández"), "fernandez");
        assert_eq!(fold("MÜLLER"), "muller");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Ångström"), "angstrom");
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Søren Ærø"), "soren aero");
        let find = |query: &str, first: &str, last: &str| {
            matches(&customer(first, last), &Needle::new(query).unwrap())
        };
        assert!(find("fernandez", "Ana", "Fernández"));
        assert!(find("FERNÁNDEZ", "Ana", "Fernandez"));
        assert!(find("muller", "Jörg", "Müller"));
        assert!(find("jorg", "Jörg", "Müller"));
        assert!(!find("mueller", "Jörg", "Müller"));
    }

    #[test]
    fn every_word_must_match_somewhere() {
        let find = |query: &str| matches(&customer("James", "Baker"), &Needle::new(query).unwrap());
        assert!(find("james baker"));
        assert!(find("  Baker   JAMES "));
        assert!(find("jam bak"));
        assert!(find("c1 baker"));
        assert!(!find("james smith"));
        // A word never spans two fields.
        assert!(!find("jamesbaker"));
        assert!(Needle::new("   ").is_none());
        let many = "a ".repeat(30_000) + &(0..40).map(|i| format!("w{i} ")).collect::<String>();
        assert_eq!(Needle::new(&many).unwrap().words.len(), Needle::MAX_WORDS);
    }
}
