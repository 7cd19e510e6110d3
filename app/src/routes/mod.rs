//! One module per page.

pub mod audit;
pub mod delete;
pub mod edit;
pub mod import;
pub mod list;
pub mod status;

use crate::api::{get_customer, CustomerError};
use crate::domain::Stored;
use crate::here::Here;
use leptos::prelude::*;
use leptos::server::ServerActionError;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The page a form is on, posted with it as `__page`. A refused post without
/// JavaScript is answered with the form page in place, at the server function's
/// address; the next post then has no page in its `Referer`, and the server
/// takes this instead (server/src/http/form_errors.rs). Leptos's own `__`
/// parameters are left out. In an island it follows the island's address
/// ([`Here`]); elsewhere it is the page rendered.
#[component]
pub fn FormPage() -> impl IntoView {
    let here = use_context::<Here>();
    let rendered = StoredValue::new(here.is_none().then(page_rendered).unwrap_or_default());
    let page = move || {
        let href = match here {
            Some(here) => here.href(),
            None => rendered.get_value(),
        };
        without_leptos_params(&href)
    };
    view! { <input type="hidden" name="__page" prop:value=page value=page/> }
}

/// The page being rendered on the server, as `/path?query` (empty in the browser).
pub(crate) fn page_rendered() -> String {
    #[cfg(feature = "ssr")]
    {
        let location = leptos_router::hooks::use_location();
        let (path, search) = (
            location.pathname.get_untracked(),
            location.search.get_untracked(),
        );
        match search.is_empty() {
            true => path,
            false => format!("{path}?{search}"),
        }
    }
    #[cfg(not(feature = "ssr"))]
    String::new()
}

/// `href` without the query parameters that start with `__`.
fn without_leptos_params(href: &str) -> String {
    let (path, search) = crate::url::split_href(href);
    let kept: Vec<&str> = search
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("__"))
        .collect();
    match kept.is_empty() {
        true => path.to_owned(),
        false => format!("{path}?{}", kept.join("&")),
    }
}

/// A refused form post's error, as the server rendered the page with it (a
/// post without JavaScript, or before the page hydrated), handed to an island
/// so that its action starts from the same error in the browser.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RefusedPost {
    path: String,
    error: String,
}

impl RefusedPost {
    /// The error the page is being rendered with, if any (on the server).
    pub fn here() -> Option<RefusedPost> {
        use_context::<ServerActionError>().map(|refused| RefusedPost {
            path: refused.path().to_owned(),
            error: refused.err().to_owned(),
        })
    }

    /// Makes it the error that server actions created after this start from.
    pub fn provide(refused: Option<RefusedPost>) {
        if let Some(RefusedPost { path, error }) = refused {
            provide_context(ServerActionError::new(&path, &error));
        }
    }
}

/// The customer that the edit and delete pages are about, named by their `id` query parameter.
fn use_customer() -> Resource<Result<Stored, CustomerError>> {
    let query = use_query_map();
    let id = Memo::new(move |_| query.read().get("id").filter(|id| !id.is_empty()));
    Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_customer(id).await,
                None => Err(CustomerError::NotFound(String::new())),
            }
        },
    )
}

/// While the page is shown, Escape does what its Cancel link does: goes to
/// `href` (with JavaScript; without it, the link is there). Renders nothing.
/// Lazy, like every island but the list's and the theme switch's.
#[island(lazy)]
fn EscapeGoesTo(href: String) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    escape_goes_to(href, || false);
    #[cfg(not(feature = "hydrate"))]
    let _ = href;
}

/// Until the calling island is gone, Escape goes to `href`, as the page's
/// Cancel link would; when `unsaved()` says changes would be lost, only once
/// the user has confirmed. Not while an input method is composing.
#[cfg(feature = "hydrate")]
fn escape_goes_to(href: String, unsaved: impl Fn() -> bool + 'static) {
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        let plain = !(event.ctrl_key() || event.alt_key() || event.meta_key() || event.shift_key());
        if event.key() != "Escape" || !plain || event.is_composing() || event.default_prevented() {
            return;
        }
        let confirmed = || {
            window()
                .confirm_with_message("Discard your changes?")
                .unwrap_or(false)
        };
        if !unsaved() || confirmed() {
            let _ = window().location().set_href(&href);
        }
    });
    on_cleanup(move || handle.remove());
}

/// A failed operation, said plainly; `role=alert` so screen readers announce it.
#[component]
fn ErrorNotice(error: CustomerError) -> impl IntoView {
    view! { <p class="notice error" role="alert">{error.to_string()}</p> }
}

/// What `ErrorBoundary` shows when loading data failed.
fn error_fallback(errors: ArcRwSignal<Errors>) -> impl IntoView {
    errors_with(errors, ())
}

/// The errors of an `ErrorBoundary` as an alert, with `action` (a way out) after them.
fn errors_with(errors: ArcRwSignal<Errors>, action: impl IntoView) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <ul>
                {move || {
                    errors
                        .get()
                        .into_iter()
                        .map(|(_, error)| view! { <li>{error.to_string()}</li> })
                        .collect_view()
                }}
            </ul>
            {action}
        </div>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <h1>"Page not found"</h1>
        <p><a href="/">"Back to the customer list"</a></p>
    }
}

/// `100000` → `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
