//! Customer records: the domain, the web UI and the server functions behind it.
// The list island is one deep view type (see routes/list.rs).
#![recursion_limit = "256"]

pub mod api;
mod bundle;
pub mod domain;
mod here;
mod html;
mod island_prop;
mod island_start;
mod routes;
pub mod theme;
mod url;

pub use api::SignedIn;
pub use bundle::stylesheet_href;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Meta, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{SsrMode, StaticSegment};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    // The theme picked, from the first byte: no flash of the other one.
    let theme = theme::theme_here().attribute();
    // For the pages' own links to the bundle (`bundle::PreloadIsland`).
    provide_context(options.clone());
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <bundle::Stylesheet options=options.clone()/>
                <bundle::BundleScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this origin or with this
/// response's nonce (Leptos puts it on its hydration scripts), WebAssembly
/// compilation allowed, no inline styles, no framing.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use http::{header::CONTENT_SECURITY_POLICY, HeaderValue};
    let nonce = leptos::nonce::use_nonce();
    let response = use_context::<leptos_axum::ResponseOptions>();
    let (Some(nonce), Some(response)) = (nonce, response) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

/// The whole page, rendered on the server. Only its islands (`#[island]`: the
/// search and the list, the forms, the theme switch, the live parts) are
/// hydrated in the browser; links between pages are ordinary page loads.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The pages are rendered on the server only (the islands in them get what
    // they need as props), so this is read there, once per page.
    provide_context(Viewer(signed_in_here()));
    view! {
        <Title formatter=|page: String| format!("{page} · Customer records")/>
        <Meta name="description" content="Find, add, edit and remove customer records."/>
        <Router>
            // The browser follows it, and so moves focus to `main` (which takes
            // focus, but not from Tab).
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="site-header">
                <A href="/" attr:class="brand">"Customer records"</A>
                <nav aria-label="Main">
                    <A href="/new" attr:class="button primary">"New customer"</A>
                    <SignedInAs/>
                    <theme::ThemeSwitch/>
                </nav>
            </header>
            <main id="main" tabindex="-1">
                // Async: pages arrive complete, so they work without JavaScript.
                <Routes fallback=routes::NotFound>
                    <Route path=StaticSegment("") view=routes::list::CustomerList ssr=SsrMode::Async/>
                    <Route path=StaticSegment("new") view=routes::edit::NewCustomer ssr=SsrMode::Async/>
                    <Route path=StaticSegment("edit") view=routes::edit::EditCustomer ssr=SsrMode::Async/>
                    <Route path=StaticSegment("delete") view=routes::delete::DeleteCustomer ssr=SsrMode::Async/>
                    <Route path=StaticSegment("history") view=routes::audit::CustomerHistory ssr=SsrMode::Async/>
                    <Route path=StaticSegment("import") view=routes::import::ImportCustomers ssr=SsrMode::Async/>
                    <Route path=StaticSegment("status") view=routes::status::StoreStatusPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("audit") view=routes::audit::AuditLog ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// Who is signed in, with a sign-out button for a signed-in session (a plain
/// form post: it works the same with and without JavaScript), and the audit
/// log's link for those who may read it.
#[component]
fn SignedInAs() -> impl IntoView {
    let viewer = expect_context::<Viewer>();
    let admin = viewer.is_admin();
    let who = viewer.0;
    view! {
        {admin.then(|| view! {
            <a href="/audit" class="button">"Audit log"</a>
            <a href="/status" class="button">"Store status"</a>
        })}
        {who.map(|who| view! {
            <form class="signed-in" method="post" action="/sign-out">
                <span>"Signed in as " <span class="who">{who.name}</span> " (" {who.role} ")"</span>
                {who.with_session.then(|| view! {
                    <button type="submit" class="button">"Sign out"</button>
                })}
            </form>
        })}
    }
}

/// Who the pages are shown to (see [`App`]).
#[derive(Clone, Debug)]
pub(crate) struct Viewer(pub Option<SignedIn>);

impl Viewer {
    /// May do everything: an admin, or no one named (protected mode or
    /// AUTH=off, where everyone may).
    pub fn is_admin(&self) -> bool {
        self.0.as_ref().is_none_or(|who| who.role == "admin")
    }
}

/// The user the page is shown to, from the request's extensions (the server's
/// access check puts it there); `None` in the browser, where the server's
/// value is used instead.
fn signed_in_here() -> Option<SignedIn> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<SignedIn>().cloned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    routes::list::typed_before_hydration::remember();
    // The islands are hydrated one by one after this, by the start script
    // (`bundle::BundleScripts`), which then marks the page `data-hydrated`.
    leptos::mount::hydrate_islands();
}
