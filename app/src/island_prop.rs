//! Island props that decode with the same JSON reader as server functions'
//! answers.
//!
//! Leptos sends an island's props as one JSON object and decodes it in the
//! browser with `serde_json::from_str`, while server functions' answers are
//! decoded with `serde_json::from_slice`. The two readers are different types,
//! so every type that is both a prop and an answer (a page of customers, an
//! error, an import report) would be compiled into the browser's bundle twice.
//! A prop wrapped in [`IslandProp`] travels as a JSON string holding its own
//! JSON, which is read back through `from_slice`: one copy of each decoder.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value passed to an island, decoded through `serde_json::from_slice`.
#[derive(Clone, Debug, PartialEq)]
pub struct IslandProp<T>(pub T);

impl<T> IslandProp<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for IslandProp<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: Serialize> Serialize for IslandProp<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json = serde_json::to_string(&self.0).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&json)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for IslandProp<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = String::deserialize(deserializer)?;
        serde_json::from_slice(json.as_bytes())
            .map(Self)
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Props {
        first: IslandProp<Result<Vec<String>, String>>,
        admin: bool,
    }

    #[test]
    fn a_prop_comes_back_as_it_went_even_with_quotes_and_non_ascii() {
        let props = Props {
            first: Ok(vec!["Zoë \"Z\" <b>".to_owned(), "\\".to_owned()]).into(),
            admin: true,
        };
        let json = serde_json::to_string(&props).unwrap();
        assert!(json.starts_with(r#"{"first":"{\"Ok\""#), "{json}");
        assert_eq!(serde_json::from_str::<Props>(&json).unwrap(), props);
        let refused = serde_json::from_str::<Props>(r#"{"first":"{\"Ok\":1}","admin":true}"#);
        assert!(refused.is_err());
    }
}
