//! Where the browser is, for the islands: the page's path and query, kept in
//! step with the browser's history. The pages are rendered on the server and
//! only their islands run in the browser, so there is no client-side router;
//! an island that changes its own address (the list's search, its pager and
//! its sorting) goes through this instead: `pushState`, `replaceState`, and
//! `popstate` for Back and Forward.

use crate::url;
use leptos::prelude::*;

/// The page an island is on. Provided as context by the island that creates it.
#[derive(Clone, Copy)]
pub struct Here {
    path: StoredValue<String>,
    /// The query, without its `?`.
    query: RwSignal<String>,
}

impl Here {
    /// The page `href` (`/path?query`), as the server rendered it; provided as
    /// context. In the browser it then follows Back and Forward.
    pub fn provide(href: &str) -> Here {
        let (path, query) = url::split_href(href);
        let here = Here {
            path: StoredValue::new(path.to_owned()),
            query: RwSignal::new(query.to_owned()),
        };
        #[cfg(feature = "hydrate")]
        {
            let handle = window_event_listener(leptos::ev::popstate, move |_| {
                if let Ok(search) = window().location().search() {
                    here.query
                        .set(search.strip_prefix('?').unwrap_or(&search).to_owned());
                }
            });
            on_cleanup(move || handle.remove());
        }
        provide_context(here);
        here
    }

    /// The query, without its `?` (not tracked).
    pub fn query_untracked(&self) -> String {
        self.query.get_untracked()
    }

    /// The first non-empty value of `key` in the query (tracked).
    pub fn get(&self, key: &str) -> Option<String> {
        self.query.with(|query| url::first_value(query, key))
    }

    /// The first non-empty value of `key` in the query (not tracked).
    pub fn get_untracked(&self, key: &str) -> Option<String> {
        self.query
            .with_untracked(|query| url::first_value(query, key))
    }

    /// Every value of `key` in the query (tracked).
    pub fn get_all(&self, key: &str) -> Vec<String> {
        self.query.with(|query| url::values(query, key).collect())
    }

    /// The page, with its query (tracked).
    pub fn href(&self) -> String {
        let path = self.path.get_value();
        self.query.with(|query| match query.is_empty() {
            true => path,
            false => format!("{path}?{query}"),
        })
    }

    /// Goes to `href`: in place when it is this page with another query (a new
    /// step in history, or replacing this one), else by loading it.
    pub fn go(&self, href: &str, replace: bool) {
        #[cfg(feature = "hydrate")]
        {
            let (path, query) = url::split_href(href);
            if path != self.path.get_value() {
                let _ = window().location().set_href(href);
                return;
            }
            if let Ok(history) = window().history() {
                let state = leptos::wasm_bindgen::JsValue::NULL;
                let _ = match replace {
                    true => history.replace_state_with_url(&state, "", Some(href)),
                    false => history.push_state_with_url(&state, "", Some(href)),
                };
            }
            self.query.set(query.to_owned());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (href, replace);
    }
}
