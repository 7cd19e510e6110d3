//! Read-your-writes for stores whose reads may be a little stale (Redis
//! replicas): when each client last wrote, so that its reads for a while
//! afterwards ask the store for at least that (see [`Freshness::Bounded`]).
//!
//! A client is its credential: a user (session or HTTP Basic) or an API token;
//! a client without one (protected mode, `AUTH=off`) is its address. The record
//! of a write is kept for the staleness bound only: after that, the bound
//! itself promises the write to every reader. It is this server's: a client
//! that writes through one server and reads through another is promised only
//! the bound.

use crate::auth::Principal;
use app::domain::Freshness;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct OwnWrites {
    /// The store's staleness bound.
    window: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_write: HashMap<String, Instant>,
    /// When records older than the window were last dropped.
    swept: Option<Instant>,
}

impl OwnWrites {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            state: Mutex::default(),
        }
    }

    /// Who `principal` (from `client`'s address) is, for this purpose.
    pub fn client(principal: &Principal, client: Option<IpAddr>) -> String {
        match principal {
            Principal::User { .. } | Principal::Token { .. } => principal.actor(),
            _ => match client {
                Some(ip) => format!("{}@{ip}", principal.actor()),
                None => principal.actor(),
            },
        }
    }

    /// What `client`'s reads must hold now.
    pub fn freshness(&self, client: &str) -> Freshness {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let own_writes = state
            .last_write
            .get(client)
            .copied()
            .filter(|at| at.elapsed() < self.window);
        Freshness::Bounded { own_writes }
    }

    /// `client` has just been answered a write (or a request that may have
    /// been one): its reads from now on must hold it.
    pub fn wrote(&self, client: String) {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.last_write.insert(client, now);
        // Records past the window promise nothing more than the bound: drop
        // them, at most once per window, so the map holds recent writers only.
        if state.swept.is_none_or(|at| now - at >= self.window) {
            let window = self.window;
            state.last_write.retain(|_, at| now - *at < window);
            state.swept = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clients_write_steers_its_reads_for_the_window_only() {
        let own = OwnWrites::new(Duration::from_millis(50));
        assert_eq!(own.freshness("a"), Freshness::Bounded { own_writes: None });
        own.wrote("a".into());
        let Freshness::Bounded {
            own_writes: Some(at),
        } = own.freshness("a")
        else {
            panic!("a's write is remembered");
        };
        assert!(at.elapsed() < Duration::from_millis(50));
        assert_eq!(own.freshness("b"), Freshness::Bounded { own_writes: None });
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(own.freshness("a"), Freshness::Bounded { own_writes: None });
        own.wrote("b".into());
        let state = own.state.lock().unwrap();
        assert_eq!(state.last_write.len(), 1, "a's old record is swept");
    }
}
