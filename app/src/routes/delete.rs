//! Deleting a customer after an explicit confirmation (a page of its own, so it
//! works the same with and without JavaScript). The confirmation is for the
//! version shown: if someone changed the customer since, it asks again.

use super::{error_fallback, use_customer, ErrorNotice};
use crate::api::{CustomerError, DeleteCustomer};
use crate::domain::Stored;
use crate::url::with_query;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn DeleteCustomer() -> impl IntoView {
    let customer = use_customer();
    let delete = ServerAction::<DeleteCustomer>::new();
    let pending = delete.pending();
    let failure = move || delete.value().get().and_then(Result::err);

    view! {
        <Title text="Delete customer"/>
        <h1>"Delete customer"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading customer…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    customer.await.map(|loaded| {
                        let edit = with_query("/edit", &[("id", Some(&loaded.customer.id))]);
                        super::escape_goes_to(edit.clone());
                        let id = loaded.customer.id.clone();
                        // What the user confirms: after a refused delete, the customer as it is now.
                        let shown = Memo::new(move |_| match failure() {
                            Some(CustomerError::Changed { current }) => *current,
                            _ => loaded.clone(),
                        });
                        let name = move || {
                            let Stored { customer, .. } = shown.get();
                            format!("{} {}", customer.first_name, customer.last_name)
                        };
                        view! {
                            <p>"Delete " <strong>{name}</strong>
                               " (ID " <code>{id.clone()}</code> ")? This cannot be undone."</p>
                            <ActionForm action=delete attr:class="confirm-delete">
                                <super::FormPage/>
                                {move || failure().map(|error| view! { <ErrorNotice error/> })}
                                <input type="hidden" name="customerID" value=id.clone()/>
                                <input type="hidden" name="version" value=move || shown.get().version.to_string()/>
                                <div class="form-actions">
                                    <button type="submit" class="button danger" disabled=move || pending.get()>
                                        {move || if pending.get() { "Deleting…" } else { "Yes, delete" }}
                                    </button>
                                    <A href=edit attr:class="button">"Cancel"</A>
                                </div>
                            </ActionForm>
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}
