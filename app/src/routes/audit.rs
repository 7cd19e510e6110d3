//! The audit trail: one customer's history (`/history?id=…`, editors) and
//! everyone's changes with filters and an export (`/audit`, admins). Plain
//! links and GET forms, so both work the same without JavaScript.

use super::error_fallback;
use crate::api::{audit_log, customer_history};
use crate::domain::{Action, AuditEntry, AuditPage, Customer};
use crate::url::with_query;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CustomerHistory() -> impl IntoView {
    let query = use_query_map();
    let id = move || query.read().get("id").unwrap_or_default();
    let history = Resource::new(
        move || (id(), query.read().get("older")),
        |(id, older)| customer_history(id, older),
    );
    view! {
        <Title text="Customer history"/>
        <h1>"History of " <code>{id}</code></h1>
        <p><a href=move || with_query("/edit", &[("id", Some(&id()))])>"Back to the customer"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading history…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    history.await.map(|page| {
                        let older = move |next: &str| with_query("/history", &[("id", Some(&id())), ("older", Some(next))]);
                        view! { <AuditTable page older show_customer=false/> }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
pub fn AuditLog() -> impl IntoView {
    let query = use_query_map();
    let filter = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let log = Resource::new(
        move || (filter("actor"), filter("customer"), filter("older")),
        |(actor, customer, older)| audit_log(actor, customer, older),
    );
    let export = move || {
        with_query(
            "/audit/export",
            &[
                ("actor", filter("actor").as_deref()),
                ("customer", filter("customer").as_deref()),
            ],
        )
    };
    view! {
        <Title text="Audit log"/>
        <h1>"Audit log"</h1>
        <Form method="GET" action="/audit" attr:class="audit-filter">
            <div class="field">
                <label for="actor">"Who"</label>
                <input id="actor" type="text" name="actor" placeholder="user:ann, token:nightly, local…"
                    value=move || filter("actor").unwrap_or_default()/>
            </div>
            <div class="field">
                <label for="customer">"Customer ID"</label>
                <input id="customer" type="text" name="customer"
                    value=move || filter("customer").unwrap_or_default()/>
            </div>
            <div class="form-actions">
                <button type="submit" class="button">"Filter"</button>
                <a class="button" href=export download="audit.jsonl">"Export (JSON Lines)"</a>
            </div>
        </Form>
        <Transition fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    log.await.map(|page| {
                        let older = move |next: &str| with_query(
                            "/audit",
                            &[
                                ("actor", filter("actor").as_deref()),
                                ("customer", filter("customer").as_deref()),
                                ("older", Some(next)),
                            ],
                        );
                        view! { <AuditTable page older show_customer=true/> }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// A page of entries, newest first, with a link to older ones.
#[component]
fn AuditTable(
    page: AuditPage,
    older: impl Fn(&str) -> String + 'static,
    show_customer: bool,
) -> impl IntoView {
    if page.entries.is_empty() {
        return view! { <p class="empty-state">"No changes recorded."</p> }.into_any();
    }
    let older = page.next.as_deref().map(older);
    let rows = page
        .entries
        .into_iter()
        .map(|entry| view! { <AuditRow entry show_customer/> })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="audit">
                <thead>
                    <tr>
                        <th scope="col">"When (UTC)"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"What"</th>
                        {show_customer.then(|| view! { <th scope="col">"Customer"</th> })}
                        <th scope="col">"Values"</th>
                        <th scope="col">"Request ID"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {older.map(|href| view! {
            <nav aria-label="Pages" class="pager"><a href=href>"Older changes"</a></nav>
        })}
    }
    .into_any()
}

#[component]
fn AuditRow(entry: AuditEntry, show_customer: bool) -> impl IntoView {
    let what = match entry.action {
        Action::Create => "Created",
        Action::Update => "Changed",
        Action::Delete => "Deleted",
    };
    let history = with_query("/history", &[("id", Some(&entry.customer_id))]);
    let values = describe_change(entry.before.as_ref(), entry.after.as_ref());
    view! {
        <tr>
            <td><time datetime=format_utc(entry.at_ms).replace(' ', "T") + "Z">{format_utc(entry.at_ms)}</time></td>
            <td>{entry.actor}</td>
            <td>{what}</td>
            {show_customer.then(|| view! { <td><a href=history><code>{entry.customer_id}</code></a></td> })}
            <td>{values}</td>
            <td><code>{entry.request_id.unwrap_or_default()}</code></td>
        </tr>
    }
}

/// The change in words: the fields that changed, or the values created or deleted.
fn describe_change(before: Option<&Customer>, after: Option<&Customer>) -> String {
    let name = |c: &Customer| format!("{} {}", c.first_name, c.last_name);
    match (before, after) {
        (Some(before), Some(after)) => {
            let mut changes = Vec::new();
            if before.first_name != after.first_name {
                changes.push(format!(
                    "first name “{}” → “{}”",
                    before.first_name, after.first_name
                ));
            }
            if before.last_name != after.last_name {
                changes.push(format!(
                    "last name “{}” → “{}”",
                    before.last_name, after.last_name
                ));
            }
            if changes.is_empty() {
                "saved unchanged".to_owned()
            } else {
                changes.join("; ")
            }
        }
        (None, Some(after)) => name(after),
        (Some(before), None) => format!("was {}", name(before)),
        (None, None) => String::new(),
    }
}

/// `YYYY-MM-DD HH:MM:SS` in UTC for milliseconds since the Unix epoch (the
/// civil-from-days conversion of the proleptic Gregorian calendar).
fn format_utc(ms: u64) -> String {
    let seconds = ms / 1000;
    let (days, in_day) = (seconds / 86_400, seconds % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(format_utc(1_795_660_245_123), "2026-11-26 02:30:45");
    }

    #[test]
    fn a_change_says_what_changed() {
        let c = |first: &str, last: &str| Customer {
            id: "a".into(),
            first_name: first.into(),
            last_name: last.into(),
        };
        assert_eq!(
            describe_change(Some(&c("Ann", "Lee")), Some(&c("Anne", "Lee"))),
            "first name “Ann” → “Anne”"
        );
        assert_eq!(describe_change(None, Some(&c("Ann", "Lee"))), "Ann Lee");
        assert_eq!(describe_change(Some(&c("Ann", "Lee")), None), "was Ann Lee");
    }
}
