//! Deleting customers after an explicit confirmation (a page of its own, so it
//! works the same with and without JavaScript): one, from its page (or from
//! its row in the list without JavaScript; with it, the row deletes at once),
//! or several ticked in the list (`/delete?id=a&id=b`). The confirmation is
//! for the versions shown: a customer someone changed since is not deleted.
//! The list then offers to undo the deletion.

use super::{error_fallback, use_customer, ErrorNotice, FormPage};
use crate::api::{get_customers, CustomerError, DeleteCustomer, DeleteCustomers};
use crate::bundle::PreloadIsland;
use crate::domain::Stored;
use crate::url::with_query;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

/// `/delete`: one customer's confirmation, or several's.
#[component]
pub fn DeleteCustomer() -> impl IntoView {
    let query = use_query_map();
    let ids = Memo::new(move |_| {
        let ids = query.read().get_all("id").unwrap_or_default();
        ids.into_iter()
            .filter(|id| !id.is_empty())
            .collect::<Vec<_>>()
    });
    move || match ids.get().as_slice() {
        [] => view! {
            <Title text="Delete customers"/>
            <h1>"Delete customers"</h1>
            <p>"No customers were selected. Tick the ones to delete in the list first."</p>
            <p><A href="/">"Back to the customer list"</A></p>
        }
        .into_any(),
        [_] => view! { <DeleteOne/> }.into_any(),
        many => view! { <DeleteMany ids=many.to_vec()/> }.into_any(),
    }
}

/// Several customers, confirmed at once: each is deleted only if it is still
/// as shown here.
#[component]
fn DeleteMany(ids: Vec<String>) -> impl IntoView {
    let asked = ids.len();
    let customers = Resource::new(move || ids.clone(), get_customers);
    let delete = ServerAction::<DeleteCustomers>::new();
    let pending = delete.pending();
    let failure = move || delete.value().get().and_then(Result::err);
    view! {
        <PreloadIsland island="escape_goes_to"/>
        <super::EscapeGoesTo href="/".to_owned()/>
        <Title text="Delete customers"/>
        <h1>"Delete customers"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading customers…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    customers.await.map(|found| {
                        let gone = asked - found.len();
                        let gone = (gone > 0).then(|| {
                            let text = match gone {
                                1 => "1 of the customers selected no longer exists.".to_owned(),
                                n => format!("{n} of the customers selected no longer exist."),
                            };
                            view! { <p class="notice warning" role="status">{text}</p> }
                        });
                        if found.is_empty() {
                            return view! {
                                {gone}
                                <p><A href="/">"Back to the customer list"</A></p>
                            }
                            .into_any();
                        }
                        let count = found.len();
                        let listed = found
                            .iter()
                            .map(|Stored { customer, .. }| {
                                let name = format!("{} {}", customer.first_name, customer.last_name);
                                view! { <li><strong>{name}</strong>" (ID " <code>{customer.id.clone()}</code> ")"</li> }
                            })
                            .collect_view();
                        let hidden = found
                            .iter()
                            .enumerate()
                            .map(|(n, Stored { customer, version })| {
                                view! {
                                    <input type="hidden" name=format!("ids[{n}]") value=customer.id.clone()/>
                                    <input type="hidden" name=format!("versions[{n}]") value=version.to_string()/>
                                }
                            })
                            .collect_view();
                        view! {
                            <p>{format!("Delete these {count} customers? The list then offers to undo it.")}</p>
                            <ul class="bulk-delete">{listed}</ul>
                            {gone}
                            <ActionForm action=delete attr:class="confirm-delete">
                                <FormPage/>
                                {move || failure().map(|error| view! { <ErrorNotice error/> })}
                                {hidden}
                                <div class="form-actions">
                                    <button type="submit" class="button danger" disabled=move || pending.get()>
                                        {move || if pending.get() {
                                            "Deleting…".to_owned()
                                        } else {
                                            format!("Yes, delete {count} customers")
                                        }}
                                    </button>
                                    <A href="/" attr:class="button">"Cancel"</A>
                                </div>
                            </ActionForm>
                        }
                        .into_any()
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// One customer, confirmed for the version shown.
#[component]
fn DeleteOne() -> impl IntoView {
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
                            <PreloadIsland island="escape_goes_to"/>
                            <super::EscapeGoesTo href=edit.clone()/>
                            <p>"Delete " <strong>{name}</strong>
                               " (ID " <code>{id.clone()}</code> ")? The list then offers to undo it."</p>
                            <ActionForm action=delete attr:class="confirm-delete">
                                <FormPage/>
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
