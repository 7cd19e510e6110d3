//! Creating and editing a customer, with one form for both.
//!
//! An edit carries the version the form was opened at. If someone else saved or
//! deleted the customer meanwhile, the save is refused and the form says so:
//! their values beside yours, to keep theirs or overwrite them, or, when the
//! customer was deleted, to create it again. With and without JavaScript: a
//! plain form post comes back to this page with the server function's error.

use super::{error_fallback, page_rendered, use_customer, ErrorNotice, RefusedPost};
use crate::api::{CustomerError, SaveCustomer};
use crate::bundle::PreloadIsland;
use crate::domain::{
    length_in_chars, Customer, CustomerDraft, Field, Problem, Stored, ValidationErrors,
};
use crate::here::Here;
use crate::island_prop::IslandProp;
use crate::url::with_query;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NewCustomer() -> impl IntoView {
    view! {
        <Title text="New customer"/>
        <h1>"New customer"</h1>
        {customer_form(None)}
    }
}

#[component]
pub fn EditCustomer() -> impl IntoView {
    let customer = use_customer();
    // Only to read a refused save this page is rendered with (no JavaScript).
    let save = ServerAction::<SaveCustomer>::new();
    let deleted_meanwhile = move || {
        matches!(
            save.value().get_untracked(),
            Some(Err(CustomerError::Deleted { .. }))
        )
    };
    view! {
        <Title text="Edit customer"/>
        <h1>"Edit customer"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading customer…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    match customer.await {
                        Ok(stored) => {
                            let delete = with_query("/delete", &[("id", Some(&stored.customer.id))]);
                            let history = with_query("/history", &[("id", Some(&stored.customer.id))]);
                            let title = format!("Edit {}", stored.customer.display_name());
                            Ok(view! {
                                // Names the customer in the tab and the history.
                                <Title text=title/>
                                {customer_form(Some(stored))}
                                <p class="danger-zone">
                                    <A href=history attr:class="button">"History"</A>
                                    " "
                                    <A href=delete attr:class="button danger">"Delete this customer…"</A>
                                </p>
                            }.into_any())
                        }
                        // Back from a save refused because the customer is gone (no JavaScript):
                        // the form offers to create it again.
                        Err(CustomerError::NotFound(_)) if deleted_meanwhile() => {
                            Ok(customer_form(None).into_any())
                        }
                        Err(error) => Err(error),
                    }
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// What the form shows, derived from the last save's outcome.
#[derive(Clone, PartialEq)]
enum FormState {
    /// Nothing refused yet (or a failure that is not about the fields).
    Editing,
    Invalid(ValidationErrors, CustomerDraft),
    /// Someone else saved meanwhile: `theirs` is what is stored now.
    Conflict(Stored, CustomerDraft),
    /// Someone else deleted the customer meanwhile.
    Deleted(CustomerDraft),
}

/// The form for `existing`, or for a new customer, on the page being rendered.
fn customer_form(existing: Option<Stored>) -> impl IntoView {
    view! {
        <PreloadIsland island="customer_form"/>
        <CustomerForm existing=existing.into() page=page_rendered() refused=RefusedPost::here().into()/>
    }
}

/// The create/edit form. Works as a plain HTML form post without JavaScript; once
/// hydrated it checks the fields as they are typed, submits in the background,
/// and shows the pending state and the errors. Lazy: its code is a chunk of its
/// own, loaded only by the pages that show it (see `bundle::BundleScripts`).
#[island(lazy)]
fn CustomerForm(
    existing: IslandProp<Option<Stored>>,
    page: String,
    refused: IslandProp<Option<RefusedPost>>,
) -> impl IntoView {
    let existing = existing.into_inner();
    Here::provide(&page);
    RefusedPost::provide(refused.into_inner());
    let save = ServerAction::<SaveCustomer>::new();
    // A save accepted answers with the page to go to (the list, at the page the customer is on).
    #[cfg(feature = "hydrate")]
    let _ = leptos::server_fn::redirect::set_redirect_hook(|to: &str| {
        let _ = window().location().set_href(to);
    });
    let pending = save.pending();
    let initial = existing
        .as_ref()
        .map(|stored| CustomerDraft::from(&stored.customer))
        .unwrap_or_default();
    // Escape cancels (once hydrated), asking first if the fields differ from these.
    #[cfg(feature = "hydrate")]
    let opened_with = initial.clone();
    let existing_id = existing.as_ref().map(|s| s.customer.id.clone());
    let opened_at = existing.as_ref().map(|s| s.version);

    let failure = move || match save.value().get() {
        Some(Err(error)) => Some(error),
        _ => None,
    };
    let state = Memo::new(move |_| match failure() {
        Some(CustomerError::Invalid { errors, draft }) => FormState::Invalid(errors, draft),
        Some(CustomerError::Conflict { theirs, yours }) => FormState::Conflict(*theirs, yours),
        Some(CustomerError::Deleted { yours }) => FormState::Deleted(yours),
        _ => FormState::Editing,
    });
    let other_failure = move || {
        failure().filter(|e| {
            !matches!(
                e,
                CustomerError::Invalid { .. }
                    | CustomerError::Conflict { .. }
                    | CustomerError::Deleted { .. }
            )
        })
    };
    let draft = move || match state.get() {
        FormState::Invalid(_, draft)
        | FormState::Conflict(_, draft)
        | FormState::Deleted(draft) => draft,
        FormState::Editing => initial.clone(),
    };
    let field_errors = move || match state.get() {
        FormState::Invalid(errors, _) => errors,
        _ => ValidationErrors::default(),
    };
    // The version this save expects: after a conflict, the one the user has now seen.
    let expected_version = move || match state.get() {
        FormState::Conflict(theirs, _) => Some(theirs.version),
        _ => opened_at,
    };
    let deleted = move || matches!(state.get(), FormState::Deleted(_));
    // After a deletion, saving creates the customer again.
    let updates = {
        let existing_id = existing_id.clone();
        Memo::new(move |_| existing_id.clone().filter(|_| !deleted()))
    };
    let is_edit = existing_id.is_some();
    let submit_label = move || {
        if pending.get() {
            return "Saving…";
        }
        match state.get() {
            FormState::Conflict(..) => "Overwrite with my changes",
            FormState::Deleted(_) => "Create it again",
            _ if is_edit => "Save changes",
            _ => "Create customer",
        }
    };

    // The first field the server refused takes focus: on the page a form post
    // comes back with (`autofocus`), and once hydrated after each refused save.
    let first_refused = move || field_errors().first().map(|error| error.field);
    // After each refused save (even one refused alike), once it is drawn: a
    // render effect kept by the view below (the inputs are patched in place).
    let focus_first_refused = move || {
        save.version().track();
        if let Some(field) = first_refused() {
            focus_later(field.json_name());
        }
    };

    let field = move |field: Field, label: &'static str, value: Option<String>, readonly: bool| {
        let name = field.json_name();
        let (error_id, hint_id) = (format!("{name}-error"), format!("{name}-hint"));
        let refused = field_errors().for_field(field).cloned();
        // Once hydrated: what the user has typed since the form was drawn, and
        // whether they have left the field since.
        let typed = RwSignal::new(None::<String>);
        let left = RwSignal::new(false);
        let text = {
            let value = value.clone().unwrap_or_default();
            move || typed.get().unwrap_or_else(|| value.clone())
        };
        let error = {
            let (refused, text) = (refused.clone(), text.clone());
            move || match typed.get() {
                // The server's own rules as the user types. "Required" waits
                // until they leave the field, or until the server has said it.
                Some(_) => field.check(&text()).filter(|error| {
                    error.problem != Problem::Required || left.get() || refused.is_some()
                }),
                // What the server refused (a taken ID, say), until they type.
                None => refused.clone(),
            }
        };
        let hint = {
            let text = text.clone();
            move || form_hint(field, &text())
        };
        let described_by = {
            let (error, hint) = (error.clone(), hint.clone());
            let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
            move || {
                let ids: Vec<&str> = [
                    error().map(|_| error_id.as_str()),
                    hint().map(|_| hint_id.as_str()),
                ]
                .into_iter()
                .flatten()
                .collect();
                (!ids.is_empty()).then(|| ids.join(" "))
            }
        };
        let autofocus = first_refused() == Some(field);
        let invalid = {
            let error = error.clone();
            move || error().is_some()
        };
        let aria_invalid = {
            let invalid = invalid.clone();
            move || if invalid() { "true" } else { "false" }
        };
        view! {
            <div class="field" class:invalid=invalid>
                <label for=name>{label}</label>
                // No `maxlength`: it cuts pasted text silently; the length rule
                // is checked with the others and says how long the text is.
                <input id=name name=name type="text" required
                    readonly=readonly
                    autocomplete="off"
                    autofocus=autofocus
                    value=value
                    on:input=move |ev| typed.set(Some(event_target_value(&ev)))
                    on:blur=move |_| left.set(true)
                    aria-invalid=aria_invalid
                    aria-describedby=described_by/>
                // A line kept for them: a message appearing as the user leaves the
                // field must not move the button they are clicking.
                <div class="field-messages">
                    {move || error().map(|error| view! {
                        <p class="field-error" id=error_id.clone()>{error.user_message()}</p>
                    })}
                    {move || hint().map(|hint| view! { <p class="field-hint" id=hint_id.clone()>{hint}</p> })}
                </div>
            </div>
        }
    };

    // Once hydrated, the form is sent in the background (the server's answer
    // then shows here, or its redirect is followed); without, it posts.
    let form = NodeRef::<leptos::html::Form>::new();
    let save_url = <SaveCustomer as ServerFn>::url();
    #[cfg(feature = "hydrate")]
    super::escape_goes_to("/".to_owned(), move || {
        form.get_untracked().is_some_and(|form| {
            let shown = form_to_save(&form);
            let same = |now: Option<String>, then: &Option<String>| {
                now.unwrap_or_default() == then.clone().unwrap_or_default()
            };
            !(same(shown.customer_id, &opened_with.id)
                && same(shown.first_name, &opened_with.first_name)
                && same(shown.last_name, &opened_with.last_name))
        })
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if let Some(form) = form.get_untracked() {
            save.dispatch(form_to_save(&form));
        }
    };
    view! {
        <form method="post" action=save_url class="customer-form" novalidate node_ref=form
            on:submit=submit>
            <super::FormPage/>
            {focus_first_refused}
            {move || other_failure().map(|error| view! { <ErrorNotice error/> })}
            {move || match state.get() {
                FormState::Invalid(..) => Some(EitherOf3::A(view! {
                    <p class="notice error" role="alert">"Please correct the highlighted fields."</p>
                })),
                FormState::Conflict(theirs, yours) => Some(EitherOf3::B(view! { <ConflictNotice theirs yours/> })),
                FormState::Deleted(_) => Some(EitherOf3::C(view! {
                    <p class="notice error" role="alert">
                        "Someone else deleted this customer while you were editing it, so your changes were not saved. "
                        "You can create it again with your values below."
                    </p>
                })),
                FormState::Editing => None,
            }}
            {move || updates.get().map(|id| view! { <input type="hidden" name="existing" value=id/> })}
            {move || updates.get().and(expected_version()).map(|version| view! {
                <input type="hidden" name="version" value=version.to_string()/>
            })}
            {move || {
                let draft = draft();
                view! {
                    {field(Field::CustomerId, "Customer ID", draft.id, is_edit)}
                    {field(Field::FirstName, "First name", draft.first_name, false)}
                    {field(Field::LastName, "Last name", draft.last_name, false)}
                }
            }}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.get()
                    aria-busy=move || pending.get().to_string()>
                    {submit_label}
                </button>
                {move || match (state.get(), existing_id.clone()) {
                    // A full page load, so the form starts again from what is stored now.
                    (FormState::Conflict(..), Some(id)) => Either::Left(view! {
                        <a href=with_query("/edit", &[("id", Some(&id))]) class="button">
                            "Discard mine, keep theirs"
                        </a>
                    }),
                    _ => Either::Right(view! { <a href="/" class="button">"Cancel"</a> }),
                }}
            </div>
        </form>
    }
}

/// What the form holds, as the save it asks for (the fields a plain post sends).
fn form_to_save(form: &leptos::web_sys::HtmlFormElement) -> SaveCustomer {
    let data = leptos::web_sys::FormData::new_with_form(form).ok();
    let field = |name: &str| data.as_ref().and_then(|data| data.get(name).as_string());
    SaveCustomer {
        customer_id: field("customerID"),
        first_name: field("firstName"),
        last_name: field("lastName"),
        existing: field("existing"),
        version: field("version"),
    }
}

/// A note under a field that is not an error: how long the text is, once it
/// nears the limit, and that spaces around a name will go.
fn form_hint(field: Field, text: &str) -> Option<String> {
    let name = matches!(field, Field::FirstName | Field::LastName);
    let counted = length_in_chars(if name { text.trim() } else { text });
    let max = field.max_chars();
    let mut notes = Vec::new();
    if counted * 10 >= max * 8 {
        notes.push(format!("{counted} of {max} characters."));
    }
    if name && !text.trim().is_empty() && text.trim() != text {
        notes.push("Spaces at the start or end will be removed.".to_owned());
    }
    (!notes.is_empty()).then(|| notes.join(" "))
}

/// Moves focus to the element with `id` once the page has been drawn (in the
/// browser; the server's page uses `autofocus`).
fn focus_later(id: &'static str) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use leptos::wasm_bindgen::JsCast;
        if let Some(input) = document()
            .get_element_by_id(id)
            .and_then(|element| element.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = input.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Their saved values beside the user's, field by field.
#[component]
fn ConflictNotice(theirs: Stored, yours: CustomerDraft) -> impl IntoView {
    let Customer {
        first_name,
        last_name,
        ..
    } = theirs.customer;
    let yours_or_blank = |value: Option<String>| value.unwrap_or_default();
    let row = |label: &'static str, theirs: String, yours: String| {
        let differs = theirs != yours;
        view! {
            <tr class:differs=differs>
                <th scope="row">{label}</th>
                <td>{theirs}</td>
                <td>{yours}</td>
            </tr>
        }
    };
    view! {
        <div class="notice error conflict" role="alert">
            <p>
                "Someone else changed this customer while you were editing it, so your changes were not saved. "
                "Keep their version, or overwrite it with yours."
            </p>
            <table class="compare">
                <caption class="visually-hidden">"Their saved values and yours"</caption>
                <thead>
                    <tr><th scope="col">"Field"</th><th scope="col">"Saved by them"</th><th scope="col">"Yours"</th></tr>
                </thead>
                <tbody>
                    {row("First name", first_name, yours_or_blank(yours.first_name))}
                    {row("Last name", last_name, yours_or_blank(yours.last_name))}
                </tbody>
            </table>
        </div>
    }
}
