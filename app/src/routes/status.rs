//! `/status` (admins): what the store is and, for Redis, the master in use,
//! its replicas and how far behind they are, what each sentinel names as
//! master, and the latest failover as a timeline. Rendered on the server;
//! with JavaScript it follows the server's live feed (`/status/events`,
//! server-sent events), so a failover shows as it happens.

use super::{error_fallback, thousands};
use crate::api::store_status;
use crate::bundle::PreloadIsland;
use crate::domain::{StoreEvent, StoreStatus};
use crate::island_prop::IslandProp;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn StoreStatusPage() -> impl IntoView {
    let loaded = Resource::new(|| (), |_| store_status());
    view! {
        <Title text="Store status"/>
        <h1>"Store status"</h1>
        <Transition fallback=|| view! { <p class="loading">"Asking the store…"</p> }>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    loaded.await.map(|first| view! {
                        <PreloadIsland island="live_status"/>
                        <LiveStatus first=first.into()/>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

/// The status as the page was rendered with it, then (with JavaScript) as the
/// live feed tells it. Lazy, like every island but the list's and the theme
/// switch's.
#[island(lazy)]
fn LiveStatus(first: IslandProp<StoreStatus>) -> impl IntoView {
    let live = RwSignal::new(first.into_inner());
    let connected = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    follow_live_feed(live, connected);
    let freshness = move || match connected.get() {
        true => "Live: changes show here as they happen.",
        false => "As it was when the page was loaded; reload the page to see it again.",
    };
    view! {
        <p class="hint" role="status">{freshness}</p>
        {move || status_view(live.get())}
    }
}

/// Listens to `/status/events` for as long as the page is shown. The browser
/// reconnects by itself after an error; until it does, the page says it is
/// not live.
#[cfg(feature = "hydrate")]
fn follow_live_feed(live: RwSignal<StoreStatus>, connected: RwSignal<bool>) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::{closure::Closure, JsCast};
    let Ok(source) = web_sys::EventSource::new("/status/events") else {
        return;
    };
    let on_status =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let status = event
                .data()
                .as_string()
                // Read as the page's own status was (see `IslandProp`): one decoder.
                .and_then(|json| serde_json::from_slice(json.as_bytes()).ok());
            if let Some(status) = status {
                live.set(status);
                connected.set(true);
            }
        });
    let on_error = Closure::<dyn FnMut()>::new(move || connected.set(false));
    let _ = source.add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let held = SendWrapper::new((source, on_status, on_error));
    on_cleanup(move || held.0.close());
}

fn status_view(status: StoreStatus) -> impl IntoView {
    let StoreStatus {
        kind,
        master,
        replicas,
        sentinels,
        events,
        problem,
    } = status;
    let replicated = master.is_some() || !sentinels.is_empty();
    let master_text = master.clone();
    view! {
        <dl class="status-facts">
            <dt>"Store"</dt><dd class="store-kind">{kind}</dd>
            {replicated.then(|| view! {
                <dt>"Master in use"</dt>
                <dd class="master">{master_text.unwrap_or_else(|| "none right now".into())}</dd>
            })}
        </dl>
        {problem.map(|problem| view! { <p class="notice warning">{problem}</p> })}
        {replicated.then(|| view! {
            <ReplicaTable replicas/>
            <SentinelTable sentinels master/>
            <Timeline events/>
        })}
    }
}

#[component]
fn ReplicaTable(replicas: Vec<crate::domain::ReplicaStatus>) -> impl IntoView {
    let rows = replicas
        .into_iter()
        .map(|r| {
            let behind = format!("{} bytes", thousands(r.behind_bytes));
            let ack = format!("{} s ago", r.last_ack_seconds);
            view! { <tr><td class="id">{r.address}</td><td>{r.state}</td><td>{behind}</td><td>{ack}</td></tr> }
        })
        .collect_view();
    view! {
        <table class="status-replicas">
            <caption>"Replicas, as the master sees them"</caption>
            <thead><tr>
                <th scope="col">"Address"</th><th scope="col">"State"</th>
                <th scope="col">"Behind the master"</th><th scope="col">"Last acknowledged"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
fn SentinelTable(
    sentinels: Vec<crate::domain::SentinelStatus>,
    master: Option<String>,
) -> impl IntoView {
    let rows = sentinels
        .into_iter()
        .map(|s| {
            let view_of_master = match (&s.names_master, s.reachable) {
                (Some(named), _) if Some(named) == master.as_ref() => named.clone(),
                (Some(named), _) => format!("{named} (differs from the master in use)"),
                (None, true) => "does not know this master".into(),
                (None, false) => "did not answer".into(),
            };
            view! { <tr><td class="id">{s.address}</td><td>{view_of_master}</td></tr> }
        })
        .collect_view();
    view! {
        <table class="status-sentinels">
            <caption>"Sentinels, and the master each names"</caption>
            <thead><tr><th scope="col">"Address"</th><th scope="col">"Names as master"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// The sentinels' events, oldest first, so a failover reads in its order:
/// `+sdown`, `+odown`, `+try-failover`, …, `+promoted-slave`, `+switch-master`.
#[component]
fn Timeline(events: Vec<StoreEvent>) -> impl IntoView {
    if events.is_empty() {
        return Either::Left(view! {
            <h2>"Failover timeline"</h2>
            <p class="hint">"No failover events since this server started."</p>
        });
    }
    let items = events
        .into_iter()
        .map(|e| {
            let seen_by = match e.seen_by {
                1 => "1 sentinel".to_owned(),
                n => format!("{n} sentinels"),
            };
            view! {
                <li>
                    <time>{utc_time(e.at_ms)}</time>" "
                    <code class="event-name">{e.name}</code>" "
                    <span class="event-detail">{e.detail}</span>
                    <span class="hint">" (" {seen_by} ")"</span>
                </li>
            }
        })
        .collect_view();
    Either::Right(view! {
        <h2>"Failover timeline"</h2>
        <ol class="status-timeline">{items}</ol>
    })
}

/// `HH:MM:SS.mmm UTC` of a Unix time in milliseconds.
fn utc_time(at_ms: u64) -> String {
    let ms = at_ms % 86_400_000;
    let (h, m, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03} UTC", ms % 1000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_in_utc() {
        // 2026-12-07 03:04:05.678 UTC
        assert_eq!(super::utc_time(1_796_612_645_678), "03:04:05.678 UTC");
    }
}
