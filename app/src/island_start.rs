//! What the islands every list page hydrates start from, handed over without
//! JSON.
//!
//! Leptos hands an island its props as JSON, so any island with props puts a
//! JSON reader in the browser's bundle, and with it float formatting (serde's
//! error messages print numbers). For the list and the theme switch, which
//! every list page loads, that was about a fifth of the WebAssembly. So those
//! two take no props: each starts from one [`IslandStart`] value, which the
//! island renders into the page as postcard (hex, in a `<template>`'s data
//! attribute) and reads back from there when it hydrates. The list's server
//! functions answer in postcard too (see `api::ListError`), so the main
//! bundle reads no JSON at all. The lazily loaded islands keep JSON props
//! ([`crate::island_prop`]): their reader loads with them.

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

/// A value an island starts from: on the server, given by the page through
/// context ([`hand_over`]); in the browser, read back from the page.
pub trait IslandStart: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The `id` of the element carrying it: at most one such island per page.
    const ELEMENT_ID: &'static str;
}

/// Gives `value` to the island rendered next in this part of the page (server).
pub fn hand_over<T: IslandStart>(value: T) {
    provide_context(value);
}

/// An island's start, and the element that carries it in the page.
pub struct Started<T> {
    pub value: T,
    encoded: String,
}

impl<T: IslandStart> Started<T> {
    /// On the server, the value the page handed over; in the browser, the one
    /// the server's rendering of the island carries.
    pub fn take() -> Self {
        #[cfg(feature = "ssr")]
        {
            let value = expect_context::<T>();
            let encoded = encode(&value);
            Self { value, encoded }
        }
        #[cfg(not(feature = "ssr"))]
        {
            let encoded = carried(T::ELEMENT_ID).unwrap_or_default();
            let value = decode(&encoded)
                .unwrap_or_else(|| panic!("the page carries no start for #{}", T::ELEMENT_ID));
            Self { value, encoded }
        }
    }

    /// The carrying element, to render as part of the island (so that a page
    /// whose island is swapped for another's, as the early search does,
    /// carries the new island's start).
    pub fn carrier(&self) -> impl IntoView {
        view! { <template id=T::ELEMENT_ID data-start=self.encoded.clone()></template> }
    }
}

/// The `data-start` of the element `id` in the page.
#[cfg(not(feature = "ssr"))]
fn carried(id: &str) -> Option<String> {
    let document = leptos::web_sys::window()?.document()?;
    document.get_element_by_id(id)?.get_attribute("data-start")
}

#[cfg(any(test, feature = "ssr"))]
fn encode<T: Serialize>(value: &T) -> String {
    let bytes = postcard::to_allocvec(value).expect("an island's start encodes");
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        hex.push(DIGITS[usize::from(byte >> 4)] as char);
        hex.push(DIGITS[usize::from(byte & 15)] as char);
    }
    hex
}

#[cfg(any(test, not(feature = "ssr")))]
fn decode<T: DeserializeOwned>(hex: &str) -> Option<T> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let bytes = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()?;
    postcard::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Customer, Page};

    #[test]
    fn a_start_comes_back_as_it_went() {
        let customer = |id: &str| Customer {
            id: id.into(),
            first_name: "Zoë \"Z\" <b>".into(),
            last_name: "\\".into(),
        };
        let start: Result<Page, crate::api::CustomerError> = Ok(Page {
            customers: vec![customer("1"), customer("ä&")],
            total: 100_000,
            before: None,
            after: Some("ä&".into()),
            offset: 25,
        });
        let hex = encode(&start);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{hex}");
        assert_eq!(decode(&hex), Some(start));
    }

    #[test]
    fn a_damaged_start_is_refused() {
        let hex = encode(&(7_u64, "seven".to_owned()));
        assert_eq!(decode::<(u64, String)>(&hex[..hex.len() - 1]), None);
        assert_eq!(decode::<(u64, String)>(&hex.replace('7', "x")), None);
    }
}
