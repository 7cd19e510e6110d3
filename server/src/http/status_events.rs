//! `GET /status/events` (admins): the status page's live feed, as
//! server-sent events. The store's status is read every [`EVERY`] and sent
//! (event `status`, its JSON) whenever it differs from what was sent last, so
//! a failover shows within a moment of the sentinels announcing it. The
//! stream ends when the server begins to stop.

use super::AppState;
use app::domain::CustomerStore;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::{interval, Interval, MissedTickBehavior};

const EVERY: Duration = Duration::from_millis(500);

pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut ticks = interval(EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let start = (state.store.clone(), ticks, None);
    let changes = futures::stream::unfold(start, |(store, mut ticks, last)| async move {
        let (event, sent) = next_change(&*store, &mut ticks, last).await;
        Some((Ok(event), (store, ticks, Some(sent))))
    });
    // Ends when the server stops (the browser reconnects to whichever serves next).
    let changes = changes.take_until(state.stopping.clone().cancelled_owned());
    Sse::new(changes).keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
}

/// Waits for the store's status to differ from `last`: the event to send,
/// and the JSON it carries.
async fn next_change(
    store: &dyn CustomerStore,
    ticks: &mut Interval,
    last: Option<String>,
) -> (Event, String) {
    loop {
        ticks.tick().await;
        let Ok(json) = serde_json::to_string(&store.status().await) else {
            continue;
        };
        if last.as_ref() != Some(&json) {
            return (Event::default().event("status").data(&json), json);
        }
    }
}
