//! The colour theme a user picked: light, dark, or the system's (the default).
//! It is remembered in a cookie, so that the server renders the page in it from
//! the first byte (no flash of the other theme), and the switch works without
//! JavaScript as a form post to `/theme`; with JavaScript it applies at once.

use crate::island_start::{hand_over, IslandStart, Started};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The cookie that remembers the choice (absent: follow the system).
pub const COOKIE: &str = "theme";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The form's and the cookie's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn parse(value: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|theme| theme.as_str() == value)
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The choice in a `Cookie` header; the system's when there is none (or an
    /// unknown value).
    pub fn from_cookie_header(header: &str) -> Theme {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .and_then(|(_, value)| Theme::parse(value))
            .unwrap_or_default()
    }

    /// The `Set-Cookie` value that remembers it for a year (the system's: forgets).
    /// Not `HttpOnly`: the switch sets it from JavaScript too.
    pub fn set_cookie(self) -> String {
        match self {
            Theme::System => format!("{COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
            theme => format!(
                "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                theme.as_str()
            ),
        }
    }

    /// `<html data-theme>`: none for the system's (the stylesheet follows
    /// `prefers-color-scheme` then).
    pub fn attribute(self) -> Option<&'static str> {
        (self != Theme::System).then(|| self.as_str())
    }
}

/// The theme a request's cookies name (the pages rendered without Leptos use
/// this too); the system's if none.
#[cfg(feature = "ssr")]
pub fn theme_of_request(headers: &http::HeaderMap) -> Theme {
    let cookies = headers.get_all(http::header::COOKIE);
    let joined: Vec<&str> = cookies.iter().filter_map(|v| v.to_str().ok()).collect();
    Theme::from_cookie_header(&joined.join("; "))
}

/// The theme of the request being rendered; the system's in the browser, where
/// the server's value is used instead.
pub fn theme_here() -> Theme {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|parts| theme_of_request(&parts.headers))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Theme::System
    }
}

/// The switch, for the page being rendered (see [`ThemeButtons`]).
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    hand_over(SwitchStart {
        chosen: theme_here(),
        back: crate::routes::page_rendered(),
    });
    view! { <ThemeButtons/> }
}

/// What the switch starts from: the theme in use, and the page to come back
/// to after a choice made without JavaScript.
#[derive(Clone, Serialize, Deserialize)]
struct SwitchStart {
    chosen: Theme,
    back: String,
}

impl IslandStart for SwitchStart {
    const ELEMENT_ID: &'static str = "theme-switch-start";
}

/// Three buttons, the current one pressed. Each submits the form to `/theme`,
/// which remembers the choice and sends the browser back to `back`; once
/// hydrated, a click applies the choice in place instead.
#[island]
fn ThemeButtons() -> impl IntoView {
    let start = Started::<SwitchStart>::take();
    let carrier = start.carrier();
    let SwitchStart { chosen, back } = start.value;
    let chosen = RwSignal::new(chosen);
    view! {
        {carrier}
        // Named, a form is a landmark: the three buttons are found together as
        // "Colour theme" (ARIA allows no `group` role on a form).
        <form class="theme-switch" method="post" action="/theme" aria-label="Colour theme">
            <input type="hidden" name="back" value=back/>
            {Theme::ALL
                .into_iter()
                .map(|theme| {
                    let choose = move |ev: leptos::ev::MouseEvent| {
                        ev.prevent_default();
                        apply(theme);
                        chosen.set(theme);
                    };
                    view! {
                        <button type="submit" name="theme" value=theme.as_str()
                            aria-pressed=move || (chosen.get() == theme).to_string()
                            on:click=choose>
                            {theme.label()}
                        </button>
                    }
                })
                .collect_view()}
        </form>
    }
}

/// Applies a choice in the browser: the page's attribute and the cookie.
fn apply(theme: Theme) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let Some(document) = leptos::web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if let Some(root) = document.document_element() {
            let _ = match theme.attribute() {
                Some(value) => root.set_attribute("data-theme", value),
                None => root.remove_attribute("data-theme"),
            };
        }
        if let Ok(html) = document.dyn_into::<leptos::web_sys::HtmlDocument>() {
            let _ = html.set_cookie(&theme.set_cookie());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = theme;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_round_trips_and_anything_else_is_the_system_theme() {
        for theme in Theme::ALL {
            let set = theme.set_cookie();
            let (pair, _) = set.split_once(';').unwrap();
            assert_eq!(
                Theme::from_cookie_header(&format!("session=x; {pair}")),
                theme
            );
        }
        assert_eq!(Theme::from_cookie_header("theme=purple"), Theme::System);
        assert_eq!(Theme::from_cookie_header("mytheme=dark"), Theme::System);
        assert_eq!(Theme::from_cookie_header(""), Theme::System);
        assert_eq!(Theme::Dark.attribute(), Some("dark"));
        assert_eq!(Theme::System.attribute(), None);
    }
}
