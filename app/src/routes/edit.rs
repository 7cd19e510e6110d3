//! Creating and editing a customer, with one form for both.

use super::{error_fallback, use_customer, ErrorNotice};
use crate::api::{CustomerError, SaveCustomer};
use crate::domain::{Customer, CustomerDraft, Field, ValidationErrors};
use crate::url::with_query;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NewCustomer() -> impl IntoView {
    view! {
        <Title text="New customer"/>
        <h1>"New customer"</h1>
        <CustomerForm existing=None/>
    }
}

#[component]
pub fn EditCustomer() -> impl IntoView {
    let customer = use_customer();
    view! {
        <Title text="Edit customer"/>
        <h1>"Edit customer"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading customer…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    customer.await.map(|customer| {
                        let delete = with_query("/delete", &[("id", Some(&customer.id))]);
                        view! {
                            <CustomerForm existing=Some(customer)/>
                            <p class="danger-zone">
                                <A href=delete attr:class="button danger">"Delete this customer…"</A>
                            </p>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The create/edit form. Works as a plain HTML form post without JavaScript; once
/// hydrated it submits in the background, shows the pending state and the errors.
#[component]
fn CustomerForm(existing: Option<Customer>) -> impl IntoView {
    let save = ServerAction::<SaveCustomer>::new();
    let pending = save.pending();
    let initial = existing
        .as_ref()
        .map(CustomerDraft::from)
        .unwrap_or_default();
    let existing_id = existing.map(|c| c.id);
    let is_edit = existing_id.is_some();

    // After a rejected save, show what the user typed and the errors next to the fields.
    let failure = move || match save.value().get() {
        Some(Err(error)) => Some(error),
        _ => None,
    };
    let draft = move || match failure() {
        Some(CustomerError::Invalid { draft, .. }) => draft,
        _ => initial.clone(),
    };
    let field_errors = move || match failure() {
        Some(CustomerError::Invalid { errors, .. }) => errors,
        _ => ValidationErrors::default(),
    };
    let other_failure = move || failure().filter(|e| !matches!(e, CustomerError::Invalid { .. }));

    let field = move |field: Field, label: &'static str, value: Option<String>, readonly: bool| {
        let name = field.json_name();
        let error_id = format!("{name}-error");
        let error = move || field_errors().for_field(field).map(str::to_owned);
        let described_by = error_id.clone();
        view! {
            <div class="field" class:invalid=move || error().is_some()>
                <label for=name>{label}</label>
                <input id=name name=name type="text" required
                    maxlength=if field == Field::CustomerId { 128 } else { 200 }
                    readonly=readonly
                    autocomplete="off"
                    value=value
                    aria-invalid=move || if error().is_some() { "true" } else { "false" }
                    aria-describedby=move || error().map(|_| described_by.clone())/>
                {move || error().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })}
            </div>
        }
    };

    view! {
        <ActionForm action=save attr:class="customer-form" attr:novalidate=true>
            {move || other_failure().map(|error| view! { <ErrorNotice error/> })}
            {move || (!field_errors().0.is_empty()).then(|| view! {
                <p class="notice error" role="alert">"Please correct the highlighted fields."</p>
            })}
            {existing_id.clone().map(|id| view! { <input type="hidden" name="existing" value=id/> })}
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
                    {move || if pending.get() { "Saving…" } else if is_edit { "Save changes" } else { "Create customer" }}
                </button>
                <A href="/" attr:class="button">"Cancel"</A>
            </div>
        </ActionForm>
    }
}
