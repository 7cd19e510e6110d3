//! The customer list: search, sortable columns, keyset pagination, count and
//! empty state. The search and the order live in the URL (`q`, `sort`, `order`),
//! so links, Back and the forms without JavaScript all keep them.

use super::{page_rendered, thousands};
use crate::api::{
    delete_as_shown, list_customers, restore_customers, CustomerError, ListError, RestoreCustomers,
};
use crate::domain::{Customer, Page, Sort, SortField};
use crate::here::Here;
use crate::html::{push_attribute, push_text};
use crate::island_start::{hand_over, IslandStart, Started};
use crate::url::{self, with_query};
use leptos::either::Either;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{Element, HtmlInputElement};
use leptos_meta::Title;
use std::time::Duration;

/// How long typing must pause before the search runs (see [`more_may_be_typed`]).
const SEARCH_PAUSE: Duration = Duration::from_millis(150);
/// A search not followed by another within this long is settled: the next one
/// is a new step in history, so Back returns to it (the searches typed on the
/// way to it replace one another).
const SEARCH_SETTLED: Duration = Duration::from_secs(1);
/// How long the browser waits for a page of customers before it says so and
/// offers to try again, rather than leaving the old list up with no end.
const ANSWER_LIMIT: Duration = Duration::from_secs(2);

/// `/`: the list, rendered on the server with its first page. All of it works
/// in the browser, so all of it is one island ([`CustomerBrowser`]).
#[component]
pub fn CustomerList() -> impl IntoView {
    let admin = use_context::<crate::Viewer>().is_some_and(|viewer| viewer.is_admin());
    let page = page_rendered();
    let (_, query) = url::split_href(&page);
    let request = ListRequest::from(|key| url::first_value(query, key));
    let refused_undo = refused_undo();
    view! {
        <Title text="Customers"/>
        <Suspense>
            {Suspend::new(async move {
                let first = request.load().await;
                hand_over(ListStart { page, admin, first, refused_undo });
                view! { <CustomerBrowser/> }
            })}
        </Suspense>
        <EarlySearch/>
    }
}

/// Why an Undo posted without JavaScript failed, when the list is rendered
/// with its error (the server renders the page the form was on, see
/// server/src/http/form_errors.rs): said above the list, as with JavaScript.
fn refused_undo() -> Option<CustomerError> {
    use leptos::server::ServerActionError;
    use leptos::server_fn::error::ServerFnUrlError;
    let refused = use_context::<ServerActionError>()?;
    (refused.path() == <RestoreCustomers as ServerFn>::url())
        .then(|| ServerFnUrlError::<ListError>::decode_err(refused.err()).0)
}

/// Answers the search box before the app has hydrated: a small script
/// (`early_search.js`) that swaps in the server's rendering of the list for
/// what is typed, until the start script announces hydration. The
/// WebAssembly takes a second or more to come on a slow phone; this way a
/// search typed as soon as the box shows is answered in about a round trip.
#[component]
fn EarlySearch() -> impl IntoView {
    // Sent without its comments and indentation: it is in every list page.
    static SCRIPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let lines = include_str!("early_search.js").lines().map(str::trim);
        let code = lines.filter(|line| !line.is_empty() && !line.starts_with("//"));
        code.collect::<Vec<_>>().join("\n")
    });
    let nonce = leptos::nonce::use_nonce().map(|nonce| nonce.to_string());
    // The hydrated list's pause and time limit, so both searches keep the same.
    let (pause, limit) = (
        SEARCH_PAUSE.as_millis().to_string(),
        ANSWER_LIMIT.as_millis().to_string(),
    );
    // As `inner_html`: a script's text is not HTML-escaped.
    view! {
        <script nonce=nonce data-pause-ms=pause data-limit-ms=limit inner_html=SCRIPT.as_str()></script>
    }
}

/// Whether a change to the search box was one key's worth (a character typed
/// or deleted), after which more keys may well follow: the search then waits
/// for typing to pause. Text that came in one go (pasted, dropped, filled in
/// by the browser or a script, a word deleted, the box cleared) is the search
/// meant, and waiting would only make it slower. `early_search.js` keeps the
/// same rule.
fn more_may_be_typed(event: &leptos::ev::Event) -> bool {
    let Some(input) = event.dyn_ref::<leptos::web_sys::InputEvent>() else {
        return false;
    };
    match input.input_type().as_str() {
        "insertText" => input.data().is_some_and(|text| text.chars().count() == 1),
        "insertCompositionText" | "deleteContentBackward" | "deleteContentForward" => true,
        _ => false,
    }
}

/// The page of customers that the list's address asks for.
#[derive(Clone, PartialEq)]
struct ListRequest {
    search: Option<String>,
    sort: Sort,
    after: Option<String>,
    before: Option<String>,
    last: bool,
    /// After a save, the list opens at the page the customer saved is on.
    saved: Option<String>,
}

impl ListRequest {
    /// From the address's non-empty query values.
    fn from(param: impl Fn(&str) -> Option<String>) -> ListRequest {
        ListRequest {
            // Only spaces: no search, as the stores take it.
            search: param("q").filter(|q| !q.trim().is_empty()),
            sort: Sort::from_params(param("sort").as_deref(), param("order").as_deref()),
            after: param("after"),
            before: param("before"),
            last: param("last").is_some(),
            saved: param("saved"),
        }
    }

    async fn load(self) -> Result<Page, CustomerError> {
        let (field, order) = self.sort.params();
        let (field, order) = (field.map(str::to_owned), order.map(str::to_owned));
        let last = self.last.then_some(true);
        list_customers(
            self.search,
            self.after,
            self.before,
            last,
            self.saved,
            field,
            order,
        )
        .await
        .map_err(|ListError(error)| error)
    }
}

/// What the list starts from: the address it shows (its search, order and
/// place in the list), whether the viewer may export and import, the
/// server's answer for that address, and why an Undo posted without
/// JavaScript failed, if it did.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct ListStart {
    page: String,
    admin: bool,
    first: Result<Page, CustomerError>,
    refused_undo: Option<CustomerError>,
}

impl IslandStart for ListStart {
    const ELEMENT_ID: &'static str = "list-start";
}

/// The list, from its [`ListStart`]. Once hydrated, it searches as the user
/// types and moves between pages and orders in place (the address and
/// history follow, see [`Here`]).
#[island]
fn CustomerBrowser() -> impl IntoView {
    let start = Started::<ListStart>::take();
    let carrier = start.carrier();
    let ListStart {
        page,
        admin,
        first,
        refused_undo,
    } = start.value;
    let here = Here::provide(&page);
    let param = move |key: &str| here.get(key);
    let request = Memo::new(move |_| ListRequest::from(param));
    let search = Memo::new(move |_| request.with(|r| r.search.clone()));
    let sort = Memo::new(move |_| request.with(|r| r.sort));
    let deleting = DeleteFromList::default();
    deleting.failure.set(refused_undo);
    provide_context(deleting);
    // A write called from here (Undo) answers with the list to show: in place.
    #[cfg(feature = "hydrate")]
    let _ = leptos::server_fn::redirect::set_redirect_hook(move |to: &str| here.go(to, false));
    // The answer shown, and whether a newer one is on its way: the list shown
    // is then dimmed and marked busy, rather than left looking current.
    let shown = RwSignal::new(first);
    let (loading, set_loading) = signal(false);
    let retried = RwSignal::new(0_u32);
    // Each request is numbered; an answer overtaken by a later request is
    // dropped, and the request itself cancelled (its fetch aborted).
    let asked = StoredValue::new(0_u32);
    let in_flight = StoredValue::new(None::<futures::future::AbortHandle>);
    Effect::new(move |first_run: Option<()>| {
        let request = request.get();
        // After a deletion from the list, or a Retry, the page is read again.
        deleting.deleted.track();
        retried.track();
        // The first answer came with the page.
        if first_run.is_none() {
            return;
        }
        let number = asked.get_value() + 1;
        asked.set_value(number);
        set_loading.set(true);
        let (cancel, cancelled) = futures::future::AbortHandle::new_pair();
        if let Some(older) = in_flight
            .try_update_value(|slot| slot.replace(cancel))
            .flatten()
        {
            older.abort();
        }
        leptos::task::spawn_local(async move {
            let answer = within_answer_limit(request.load());
            let Ok(answer) = futures::future::Abortable::new(answer, cancelled).await else {
                return;
            };
            if asked.get_value() == number {
                shown.set(answer);
                set_loading.set(false);
            }
        });
    });
    // Once hydrated, search as the user types, once typing pauses (one request
    // per pause, not per key), or at once when the whole text came in one go;
    // the form still works without JS.
    let pending = StoredValue::new(None::<TimeoutHandle>);
    // Set while a search is being typed: until it settles, its searches replace
    // one another in history.
    let unsettled = StoredValue::new(None::<TimeoutHandle>);
    let search_as_you_type = move |ev: leptos::ev::Event| {
        // Not trimmed: the input's value follows the URL, and must keep a space just typed.
        let href = search_href(&event_target_value(&ev), sort.get_untracked());
        let go = move || {
            let replace = match unsettled.try_get_value().flatten() {
                Some(timer) => {
                    timer.clear();
                    true
                }
                None => false,
            };
            let settle = move || {
                unsettled.try_set_value(None);
            };
            unsettled.try_set_value(set_timeout_with_handle(settle, SEARCH_SETTLED).ok());
            here.go(&href, replace);
        };
        if let Some(previous) = pending.get_value() {
            previous.clear();
        }
        if more_may_be_typed(&ev) {
            pending.set_value(set_timeout_with_handle(go, SEARCH_PAUSE).ok());
        } else {
            pending.set_value(None);
            go();
        }
    };
    // Enter (or the button) searches at once, as a new step in history.
    let search_box = NodeRef::<leptos::html::Input>::new();
    let search_now = move |ev: leptos::ev::SubmitEvent| {
        let Some(input) = search_box.get_untracked() else {
            return;
        };
        ev.prevent_default();
        if let Some(previous) = pending.get_value() {
            previous.clear();
        }
        here.go(&search_href(&input.value(), sort.get_untracked()), false);
    };
    // What was typed into the search box before the page hydrated (which sets
    // the box to the URL's search) is put back and searched for.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(typed) = typed_before_hydration::take() else {
            return;
        };
        // Nothing new typed: the list stays as the URL has it (its page, its order).
        if typed == search.get_untracked().unwrap_or_default() {
            return;
        }
        here.go(&search_href(&typed, sort.get_untracked()), false);
    });
    // The pager's and the headings' links stay on this page: followed in place.
    let follow_in_place = move |ev: leptos::ev::MouseEvent| {
        let href = plainly_clicked(&ev, "a[href]").and_then(|link| link.get_attribute("href"));
        let Some(href) = href.filter(|href| href == "/" || href.starts_with("/?")) else {
            return;
        };
        ev.prevent_default();
        here.go(&href, false);
        window().scroll_to_with_x_and_y(0.0, 0.0);
    };

    view! {
        {carrier}
        <div class="page-heading">
            <h1>"Customers"</h1>
        </div>
        <Notices/>
        {move || deleting.failure.get().map(|error| view! { <super::ErrorNotice error/> })}
        <form method="get" action="/" role="search" class="search" on:submit=search_now>
            <label for="search">"Search by ID or name"</label>
            <div class="search-row">
                <input id="search" type="search" name="q" autocomplete="off" node_ref=search_box
                    value=move || search.get().unwrap_or_default()
                    prop:value=move || search.get().unwrap_or_default()
                    on:input=search_as_you_type/>
                <button type="submit" class="button">"Search"</button>
            </div>
            // A new search keeps the order chosen.
            {move || {
                let (field, order) = sort.get().params();
                view! {
                    {field.map(|v| view! { <input type="hidden" name="sort" value=v/> })}
                    {order.map(|v| view! { <input type="hidden" name="order" value=v/> })}
                }
            }}
        </form>
        <div class="results" class:pending=loading aria-busy=move || loading.get().to_string()
            on:click=follow_in_place>
            // One status line for every answer, kept from one to the next: a
            // screen reader says a live region's changes, but may say nothing
            // of one newly put in (as "No customers match" would be).
            <p class="count" role="status">
                {move || shown.with(|answer| {
                    let page = answer.as_ref().ok()?;
                    Some(status_line(page, search.get_untracked().as_deref()))
                })}
            </p>
            {move || match shown.get() {
                Ok(page) => {
                    let saved = here.get_untracked("saved");
                    let (search, sort) = (search.get_untracked(), sort.get_untracked());
                    Either::Left(view! { <CustomerTable page search sort saved/> })
                }
                Err(error) => Either::Right(view! { <Failed error retried/> }),
            }}
        </div>
        {admin.then(|| view! { <Downloads/> })}
    }
}

/// The list searching for `text` (none when empty), in `sort`'s order.
fn search_href(text: &str, sort: Sort) -> String {
    let (field, order) = sort.params();
    let q = Some(text).filter(|t| !t.trim().is_empty());
    with_query("/", &[("q", q), ("sort", field), ("order", order)])
}

/// The search box's text as the page's own HTML had it when hydration began:
/// what the user typed while the app was still loading (see [`CustomerList`]).
#[cfg(feature = "hydrate")]
pub mod typed_before_hydration {
    use std::cell::RefCell;
    use wasm_bindgen::JsCast;

    thread_local! {
        static TYPED: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Called just before hydration: notes the search box's text, if the page has one.
    pub fn remember() {
        let input = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("search"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok());
        let typed = input.map(|input| input.value());
        TYPED.with(|t| *t.borrow_mut() = typed);
    }

    /// The text noted, once: later lists (after navigation) have none.
    pub fn take() -> Option<String> {
        TYPED.with(|t| t.borrow_mut().take())
    }
}

/// Deleting straight from the list, with JavaScript (see [`rows_html`]):
/// how many were deleted (the page is read again after each), and the last
/// failure (or an Undo's posted without JavaScript), said above the list.
#[derive(Clone, Copy, Default)]
struct DeleteFromList {
    deleted: RwSignal<u32>,
    failure: RwSignal<Option<CustomerError>>,
}

impl DeleteFromList {
    /// Deletes `customer` if it is still as shown. Then the list names it (its
    /// notice offers to undo); a customer changed since goes to the
    /// confirmation page, as it is now.
    fn delete(self, customer: Customer, here: Here) {
        self.failure.set(None);
        leptos::task::spawn_local(async move {
            let id = customer.id.clone();
            let outcome = delete_as_shown(customer.id, customer.first_name, customer.last_name)
                .await
                .map_err(|ListError(error)| error);
            let href = match outcome {
                Ok(()) | Err(CustomerError::NotFound(_)) => {
                    self.deleted.update(|n| *n += 1);
                    list_naming_deleted(&here.query_untracked(), &id)
                }
                Err(CustomerError::Changed { .. }) => with_query("/delete", &[("id", Some(&id))]),
                Err(error) => return self.failure.set(Some(error)),
            };
            here.go(&href, false);
        });
    }
}

/// The list's address as it is (its search, order and page), with the
/// notices of earlier actions replaced by `deleted=id`.
fn list_naming_deleted(search: &str, id: &str) -> String {
    const NOTICES: [&str; 5] = ["saved", "deleted", "kept", "restored", "not_restored"];
    let mut kept: Vec<&str> = search
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| !NOTICES.contains(&pair.split('=').next().unwrap_or_default()))
        .collect();
    let deleted = format!("deleted={}", crate::url::encode(id));
    kept.push(&deleted);
    format!("/?{}", kept.join("&"))
}

/// Every customer as a file, and the import page, for those who may export
/// and import (admins; everyone in protected mode or with AUTH=off). The
/// downloads are plain links the browser follows (the server streams them).
#[component]
fn Downloads() -> impl IntoView {
    view! {
            <p class="downloads">
                "Download every customer: "
                <a href="/export?format=csv" download="customers.csv">"CSV"</a>
                " · "
                <a href="/export" download="customers.json">"JSON"</a>
                " · "
                <a href="/import">"Import customers from a file"</a>
            </p>
    }
}

/// Why the list could not be shown, and a Retry: a button once hydrated, else a
/// link that loads the same list again.
#[component]
fn Failed(error: CustomerError, retried: RwSignal<u32>) -> impl IntoView {
    let here = expect_context::<Here>();
    view! {
        <div class="notice error" role="alert">
            <ul><li>{error.to_string()}</li></ul>
            <a class="button" href=move || here.href() on:click=move |ev| {
                ev.prevent_default();
                retried.update(|n| *n += 1);
            }>"Retry"</a>
        </div>
    }
}

/// `call`, given up after [`ANSWER_LIMIT`] in the browser. The server needs no
/// such limit: its store calls have deadlines of their own.
async fn within_answer_limit<T>(
    call: impl std::future::Future<Output = Result<T, CustomerError>>,
) -> Result<T, CustomerError> {
    #[cfg(feature = "hydrate")]
    {
        use futures::future::{select, Either};
        let (ring, rung) = futures::channel::oneshot::channel::<()>();
        let timer = set_timeout_with_handle(
            move || {
                let _ = ring.send(());
            },
            ANSWER_LIMIT,
        );
        let call = std::pin::pin!(call);
        match select(call, rung).await {
            Either::Left((answer, _)) => {
                if let Ok(timer) = timer {
                    timer.clear();
                }
                answer
            }
            Either::Right((Ok(()), _)) => Err(CustomerError::TimedOut(ANSWER_LIMIT.as_secs())),
            // No timer could be set: wait as long as it takes.
            Either::Right((Err(_), call)) => call.await,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    call.await
}

/// How long the notice of a deletion offers to undo it, with JavaScript
/// (without, the notice and its Undo button stay until the next page).
#[cfg(feature = "hydrate")]
const UNDO_FOR: Duration = Duration::from_secs(10);

/// What the writes that redirect here did, from the URL they redirect to:
/// `saved`, `deleted` (with an Undo), `kept` (not deleted: changed or gone
/// since they were selected), `restored` and `not_restored`.
#[component]
fn Notices() -> impl IntoView {
    let here = expect_context::<Here>();
    let all = move |key: &str| here.get_all(key);
    let saved = move || {
        here.get("saved")
            .map(|id| view! { <p class="notice success" role="status">{format!("Saved customer “{id}”.")}</p> })
    };
    let kept = move || {
        let kept = all("kept");
        (!kept.is_empty()).then(|| {
            let text = format!(
                "Not deleted: {}. Someone changed or deleted {} after you selected {}; check and try again.",
                quoted(&kept),
                if kept.len() == 1 { "it" } else { "them" },
                if kept.len() == 1 { "it" } else { "them" },
            );
            view! { <p class="notice warning" role="status">{text}</p> }
        })
    };
    let restored = move || {
        let restored = all("restored");
        (!restored.is_empty()).then(|| {
            let text = match restored.as_slice() {
                [one] => format!("Restored customer “{one}”."),
                many => format!("Restored {} customers.", thousands(many.len() as u64)),
            };
            view! { <p class="notice success" role="status">{text}</p> }
        })
    };
    let not_restored = move || {
        let ids = all("not_restored");
        (!ids.is_empty()).then(|| {
            let text = format!(
                "Not restored: {}. A customer with that ID exists again, or there is no deletion to undo.",
                quoted(&ids)
            );
            view! { <p class="notice warning" role="status">{text}</p> }
        })
    };
    view! {
        <div class="notices" aria-live="polite">
            {saved}
            {move || {
                let deleted = all("deleted");
                (!deleted.is_empty()).then(|| view! { <Deleted ids=deleted/> })
            }}
            {kept}
            {restored}
            {not_restored}
        </div>
    }
}

/// The notice of a deletion, with a button that undoes it: the server restores
/// the customers from the audit trail. With JavaScript it goes after
/// [`UNDO_FOR`], as a toast does.
#[component]
fn Deleted(ids: Vec<String>) -> impl IntoView {
    let (pending, set_pending) = signal(false);
    let failure = RwSignal::new(None::<CustomerError>);
    let (open, set_open) = signal(true);
    #[cfg(feature = "hydrate")]
    {
        let closing = set_timeout_with_handle(move || set_open.set(false), UNDO_FOR).ok();
        on_cleanup(move || {
            if let Some(timer) = closing {
                timer.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_open;
    let text = match ids.as_slice() {
        [one] => format!("Deleted customer “{one}”."),
        many => format!("Deleted {} customers.", thousands(many.len() as u64)),
    };
    let ids = StoredValue::new(ids);
    let hidden = move || {
        ids.with_value(|ids| {
            ids.iter()
                .enumerate()
                .map(|(n, id)| view! { <input type="hidden" name=format!("ids[{n}]") value=id.clone()/> })
                .collect_view()
        })
    };
    // With JavaScript the restore is asked for in the background; the server's
    // answer then names the page to show (see `CustomerBrowser`'s redirect hook).
    let undo = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_pending.set(true);
        failure.set(None);
        leptos::task::spawn_local(async move {
            if let Err(ListError(error)) = restore_customers(ids.get_value()).await {
                failure.set(Some(error));
            }
            set_pending.set(false);
        });
    };
    let restore_url = <RestoreCustomers as ServerFn>::url();
    view! {
        <Show when=move || open.get()>
            <div class="notice success toast" role="status">
                <span>{text.clone()}</span>
                <form method="post" action=restore_url class="undo" on:submit=undo>
                    <super::FormPage/>
                    {hidden}
                    <button type="submit" class="button" disabled=move || pending.get()>
                        {move || if pending.get() { "Undoing…" } else { "Undo" }}
                    </button>
                </form>
                {move || failure.get().map(|error| view! { <super::ErrorNotice error/> })}
            </div>
        </Show>
    }
}

/// `“a”, “b” and “c”`.
fn quoted(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("“{id}”")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

#[component]
fn CustomerTable(
    page: Page,
    search: Option<String>,
    sort: Sort,
    saved: Option<String>,
) -> impl IntoView {
    let Page {
        customers,
        total,
        before,
        after,
        offset,
    } = page;
    if customers.is_empty() {
        // What was found is said in the status line above.
        let hint = match search {
            Some(_) => "Check the spelling, or search for fewer words.",
            None => "Customers you create or import are listed here.",
        };
        return Either::Left(view! {
            <div class="empty-state">
                <p>{hint}</p>
                <a href="/new" class="button primary">"Create a customer"</a>
            </div>
        });
    }
    let q = search.as_deref();
    let (field, order) = sort.params();
    let list = |cursor: (&'static str, Option<&str>)| {
        with_query("/", &[("q", q), ("sort", field), ("order", order), cursor])
    };
    let shown = format!(
        "Showing {}–{} of {}",
        thousands(offset + 1),
        thousands(offset + customers.len() as u64),
        thousands(total)
    );
    let first = before.is_some().then(|| list(("after", None)));
    let last = after.is_some().then(|| list(("last", Some("1"))));
    let previous = before.map(|id| list(("before", Some(&id))));
    let next = after.map(|id| list(("after", Some(&id))));
    let header = |field: SortField, label: &'static str| {
        view! { <SortHeader field label sort search=search.clone()/> }
    };
    // The customers ticked on this page (with JavaScript: for the count, the
    // select-all box and the button's state; without it, the boxes post as they are).
    let on_page: Vec<String> = customers.iter().map(|c| c.id.clone()).collect();
    // A list rather than a set: a page holds at most a few dozen, and the
    // browser's bundle then carries no ordered-set code.
    let selected = RwSignal::new(Vec::<String>::new());
    let count_selected = move || selected.read().len();
    let all_selected = {
        let on_page = on_page.clone();
        move || !on_page.is_empty() && selected.read().len() == on_page.len()
    };
    // Select-all needs JavaScript: without it the box would do nothing, so it
    // shows once the page has hydrated.
    let (hydrated, set_hydrated) = signal(false);
    // Deleting from a row, for the body's click handler below (`None` where the
    // list offers no undo: the link then goes to the confirmation page).
    let delete_now = use_context::<DeleteFromList>().map(|deleting| {
        let here = expect_context::<Here>();
        Callback::new(move |customer: Customer| deleting.delete(customer, here))
    });
    let body = NodeRef::<leptos::html::Tbody>::new();
    Effect::new(move |_| {
        // Boxes ticked while the page was loading (or kept by the browser on
        // Back) count as ticked once it has hydrated.
        if let Some(body) = body.get_untracked() {
            let ticked: Vec<String> = row_boxes(&body)
                .filter(|row_box| row_box.checked())
                .map(|row_box| row_box.value())
                .collect();
            if !ticked.is_empty() {
                selected.set(ticked);
            }
        }
        set_hydrated.set(true);
    });
    let select_all = move |ev: leptos::ev::Event| {
        let ticked = event_target_checked(&ev);
        if let Some(body) = body.get_untracked() {
            for row_box in row_boxes(&body) {
                row_box.set_checked(ticked);
            }
        }
        selected.set(match ticked {
            true => on_page.to_vec(),
            false => Default::default(),
        });
    };
    // The rows are plain HTML (see `rows_html`), so their boxes and Delete links
    // are handled here, for the whole body at once.
    let tick = move |ev: leptos::ev::Event| {
        let Some(row_box) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if row_box.name() != "id" {
            return;
        }
        let (id, on) = (row_box.value(), row_box.checked());
        selected.update(|selected| {
            selected.retain(|other| *other != id);
            if on {
                selected.push(id);
            }
        });
    };
    let rows = rows_html(&customers, saved.as_deref());
    // With JavaScript, Delete deletes at once (the list then offers to undo);
    // a click meant to open a new tab or window is left to the browser.
    let delete_clicked = move |ev: leptos::ev::MouseEvent| {
        let Some(delete_now) = delete_now else { return };
        let id = plainly_clicked(&ev, "a.delete").and_then(|link| link.get_attribute("data-id"));
        let Some(customer) = id.and_then(|id| customers.iter().find(|c| c.id == id).cloned())
        else {
            return;
        };
        ev.prevent_default();
        delete_now.run(customer);
    };
    Either::Right(view! {
        <form id="selection" method="GET" action="/delete" class="selection">
            <div class="bulk-bar">
                <span class="selected-count" aria-live="polite">
                    {move || match count_selected() {
                        0 => String::new(),
                        n => format!("{n} selected"),
                    }}
                </span>
                // With JavaScript, there is nothing to delete until a row is ticked.
                <button type="submit" class="button danger"
                    disabled=move || hydrated.get() && count_selected() == 0>
                    "Delete selected…"
                </button>
            </div>
            <div class="table-wrap">
                <table class="customers">
                    <thead>
                        <tr>
                            <th scope="col" class="select">
                                <input type="checkbox" aria-label="Select every customer on this page"
                                    hidden=move || !hydrated.get()
                                    prop:checked=all_selected on:change=select_all/>
                            </th>
                            {header(SortField::Id, "ID")}
                            {header(SortField::FirstName, "First name")}
                            {header(SortField::LastName, "Last name")}
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody node_ref=body inner_html=rows on:change=tick on:click=delete_clicked></tbody>
                </table>
            </div>
        </form>
        <nav class="pager" aria-label="Pages">
            <PagerLink href=first label="« First"/>
            <PagerLink href=previous label="‹ Previous" rel="prev"/>
            <span class="shown">{shown}</span>
            <PagerLink href=next label="Next ›" rel="next"/>
            <PagerLink href=last label="Last »"/>
        </nav>
    })
}

/// What the list shows for `search`, in words: how many customers it has or
/// match, or that there are none.
fn status_line(page: &Page, search: Option<&str>) -> String {
    match (search.map(str::trim), page.total) {
        (Some(q), _) if page.customers.is_empty() => format!("No customers match “{q}”."),
        (None, _) if page.customers.is_empty() => "No customers yet.".to_owned(),
        (None, 1) => "1 customer".to_owned(),
        (None, n) => format!("{} customers", thousands(n)),
        (Some(q), 1) => format!("1 customer matches “{q}”"),
        (Some(q), n) => format!("{} customers match “{q}”", thousands(n)),
    }
}

/// A column heading that sorts the list by its column: ascending first, the
/// other way when it is the order already. A plain link, so it works without
/// JavaScript, and the new order goes into the URL and history.
#[component]
fn SortHeader(
    field: SortField,
    label: &'static str,
    sort: Sort,
    search: Option<String>,
) -> impl IntoView {
    let current = sort.field == field;
    let next = Sort {
        field,
        descending: current && !sort.descending,
    };
    let (next_field, next_order) = next.params();
    let href = with_query(
        "/",
        &[
            ("q", search.as_deref()),
            ("sort", next_field),
            ("order", next_order),
        ],
    );
    let aria_sort = current.then_some(if sort.descending {
        "descending"
    } else {
        "ascending"
    });
    let arrow = match (current, sort.descending) {
        (false, _) => "",
        (true, false) => "▲",
        (true, true) => "▼",
    };
    let hint = format!(
        "Sort by {label}, {}",
        if next.descending {
            "descending"
        } else {
            "ascending"
        }
    );
    view! {
        <th scope="col" aria-sort=aria_sort class:sorted=current>
            <a class="sort" href=href title=hint>
                {label}
                <span class="arrow" aria-hidden="true">{arrow}</span>
            </a>
        </th>
    }
}

/// A pager link, or its label greyed out where there is nowhere to go (so that the
/// others keep their places from page to page).
#[component]
fn PagerLink(
    href: Option<String>,
    label: &'static str,
    #[prop(optional)] rel: Option<&'static str>,
) -> impl IntoView {
    match href {
        Some(href) => Either::Left(view! { <a href=href rel=rel>{label}</a> }),
        None => Either::Right(view! { <span class="disabled" aria-disabled="true">{label}</span> }),
    }
}

/// The page's rows, as HTML. Each row is one customer; the whole row opens it:
/// the Edit link's hit area covers the row (all but the Delete link, which lies
/// above it; style/main.css), without JavaScript too. Long values are cut with
/// an ellipsis; the cell's title and focus show them whole.
///
/// Plain HTML rather than a view per row: nothing in a row is reactive (the
/// table handles its boxes and links), and building a view per row cost about
/// two thirds of rendering the page on the server. The same function builds
/// the rows in the browser, so hydration finds the same markup.
fn rows_html(customers: &[Customer], saved: Option<&str>) -> String {
    let mut html = String::with_capacity(customers.len() * 640);
    for customer in customers {
        let Customer {
            id,
            first_name,
            last_name,
        } = customer;
        let name = format!("{first_name} {last_name}");
        let edit = with_query("/edit", &[("id", Some(id))]);
        let delete = with_query("/delete", &[("id", Some(id))]);
        html.push_str(match saved == Some(id.as_str()) {
            // `#saved`, the address a save goes to, brings it into view.
            true => r#"<tr id="saved" class="saved" aria-current="true">"#,
            false => "<tr>",
        });
        html.push_str(r#"<td class="select"><input type="checkbox" name="id" value=""#);
        push_attribute(&mut html, id);
        html.push_str(r#"" aria-label="Select "#);
        push_attribute(&mut html, &name);
        html.push_str(r#""></td><td class="id" title=""#);
        push_attribute(&mut html, id);
        html.push_str(r#"" data-label="ID">"#);
        push_text(&mut html, id);
        html.push_str(r#"</td><td title=""#);
        push_attribute(&mut html, first_name);
        html.push_str(r#"" data-label="First name">"#);
        push_text(&mut html, first_name);
        html.push_str(r#"</td><td title=""#);
        push_attribute(&mut html, last_name);
        html.push_str(r#"" data-label="Last name">"#);
        push_text(&mut html, last_name);
        html.push_str(r#"</td><td class="actions"><a class="edit" href=""#);
        push_attribute(&mut html, &edit);
        html.push_str(r#"" aria-label="Edit "#);
        push_attribute(&mut html, &name);
        html.push_str(r#"">Edit</a> <a class="delete" href=""#);
        push_attribute(&mut html, &delete);
        html.push_str(r#"" data-id=""#);
        push_attribute(&mut html, id);
        html.push_str(r#"" aria-label="Delete "#);
        push_attribute(&mut html, &name);
        html.push_str(r#"">Delete</a></td></tr>"#);
    }
    html
}

/// The element matching `selector` that a plain click landed in: the main
/// button, no modifier key (a click meant for a new tab or window is left to
/// the browser), not already handled.
fn plainly_clicked(ev: &leptos::ev::MouseEvent, selector: &str) -> Option<Element> {
    let modified = ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key();
    if ev.button() != 0 || modified || ev.default_prevented() {
        return None;
    }
    let target = ev.target()?.dyn_into::<Element>().ok()?;
    target.closest(selector).ok().flatten()
}

/// The ticking boxes of the rows in `body`.
fn row_boxes(body: &Element) -> impl Iterator<Item = HtmlInputElement> {
    let inputs = body.get_elements_by_tag_name("input");
    (0..inputs.length())
        .filter_map(move |i| inputs.item(i))
        .filter_map(|input| input.dyn_into::<HtmlInputElement>().ok())
        .filter(|input| input.name() == "id")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_early_search_script_stays_one_script_element() {
        // Inline in the page: "</" could close the element early (`</script`).
        assert!(!include_str!("early_search.js").contains("</"));
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (100_000, "100,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(crate::routes::thousands(n), text);
        }
    }

    #[test]
    fn a_search_of_only_spaces_is_no_search() {
        use crate::domain::{Page, Sort};
        let request = super::ListRequest::from(|name| (name == "q").then(|| "   ".to_owned()));
        assert_eq!(request.search, None);
        assert_eq!(super::search_href(" \t ", Sort::default()), "/");
        assert_eq!(super::search_href("jo ", Sort::default()), "/?q=jo%20");
        let page = Page {
            customers: vec![crate::domain::Customer {
                id: "a".into(),
                first_name: "Jo".into(),
                last_name: "Doe".into(),
            }],
            total: 1,
            before: None,
            after: None,
            offset: 0,
        };
        assert_eq!(
            super::status_line(&page, Some(" jo ")),
            "1 customer matches “jo”"
        );
    }

    #[test]
    fn rows_are_the_customers_as_text_with_the_saved_one_marked() {
        let customer = |id: &str, first: &str, last: &str| crate::domain::Customer {
            id: id.into(),
            first_name: first.into(),
            last_name: last.into(),
        };
        let html = super::rows_html(
            &[
                customer("a&b", "<img src=x onerror=alert(1)>", "O\"Neil"),
                customer("7", "Ada", "Lovelace"),
            ],
            Some("7"),
        );
        assert_eq!(
            html,
            concat!(
                r#"<tr><td class="select"><input type="checkbox" name="id" value="a&amp;b" "#,
                r#"aria-label="Select &lt;img src=x onerror=alert(1)&gt; O&quot;Neil"></td>"#,
                r#"<td class="id" title="a&amp;b" data-label="ID">a&amp;b</td>"#,
                r#"<td title="&lt;img src=x onerror=alert(1)&gt;" data-label="First name">"#,
                r#"&lt;img src=x onerror=alert(1)&gt;</td>"#,
                r#"<td title="O&quot;Neil" data-label="Last name">O"Neil</td>"#,
                r#"<td class="actions"><a class="edit" href="/edit?id=a%26b" "#,
                r#"aria-label="Edit &lt;img src=x onerror=alert(1)&gt; O&quot;Neil">Edit</a> "#,
                r#"<a class="delete" href="/delete?id=a%26b" data-id="a&amp;b" "#,
                r#"aria-label="Delete &lt;img src=x onerror=alert(1)&gt; O&quot;Neil">Delete</a>"#,
                r#"</td></tr>"#,
                r#"<tr id="saved" class="saved" aria-current="true"><td class="select">"#,
                r#"<input type="checkbox" name="id" value="7" aria-label="Select Ada Lovelace">"#,
                r#"</td><td class="id" title="7" data-label="ID">7</td>"#,
                r#"<td title="Ada" data-label="First name">Ada</td>"#,
                r#"<td title="Lovelace" data-label="Last name">Lovelace</td>"#,
                r#"<td class="actions"><a class="edit" href="/edit?id=7" "#,
                r#"aria-label="Edit Ada Lovelace">Edit</a> "#,
                r#"<a class="delete" href="/delete?id=7" data-id="7" "#,
                r#"aria-label="Delete Ada Lovelace">Delete</a></td></tr>"#,
            )
        );
    }
}
