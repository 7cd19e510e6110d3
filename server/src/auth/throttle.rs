//! Failed sign-ins slow down further tries, per user name and per client
//! address: after a few failures within a quarter of an hour, the next try must
//! wait a delay that doubles with each failure (1 s, 2 s, 4 s… up to a minute),
//! and a try made sooner is refused at once (429 with `Retry-After`) without
//! checking the password. A correct password clears the user's failures.
//!
//! Refusing rather than sleeping keeps connections free; counting per address
//! as well stops one client from trying many names.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before delays start, per user name and per client address.
const FREE_FAILURES_PER_USER: u32 = 5;
const FREE_FAILURES_PER_CLIENT: u32 = 20;
/// Failures older than this are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const LONGEST_DELAY: Duration = Duration::from_secs(60);
/// Names and addresses remembered at most (oldest forgotten first when full).
const TRACKED_AT_MOST: usize = 100_000;

#[derive(Clone, PartialEq, Eq, Hash)]
enum Subject {
    User(Box<str>),
    Client(IpAddr),
}

struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<Subject, Failures>>,
}

impl Throttle {
    /// How long the caller must still wait before trying `user` from `client`
    /// (`user` is `None` for a token, which is counted per address only).
    pub fn wait_before(&self, user: Option<&str>, client: Option<IpAddr>) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        subjects(user, client)
            .filter_map(|(subject, free)| {
                let failures = failures.get(&subject)?;
                let since = now.duration_since(failures.last);
                let delay = delay_after(failures.count, free);
                (since < WINDOW && since < delay).then(|| delay - since)
            })
            .max()
    }

    pub fn failed(&self, user: Option<&str>, client: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if failures.len() >= TRACKED_AT_MOST {
            failures.retain(|_, f| now.duration_since(f.last) < WINDOW);
            if failures.len() >= TRACKED_AT_MOST {
                // Many addresses (a spread-out attack): forget them, keep the names.
                failures.retain(|subject, _| matches!(subject, Subject::User(_)));
            }
            if failures.len() >= TRACKED_AT_MOST {
                failures.clear();
            }
        }
        for (subject, _) in subjects(user, client) {
            let entry = failures.entry(subject).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) >= WINDOW {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
    }

    pub fn succeeded(&self, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&Subject::User(user.into()));
    }
}

fn subjects(user: Option<&str>, client: Option<IpAddr>) -> impl Iterator<Item = (Subject, u32)> {
    [
        user.map(|user| (Subject::User(user.into()), FREE_FAILURES_PER_USER)),
        client.map(|ip| (Subject::Client(ip.to_canonical()), FREE_FAILURES_PER_CLIENT)),
    ]
    .into_iter()
    .flatten()
}

/// The wait after `count` failures when `free` are allowed without one.
fn delay_after(count: u32, free: u32) -> Duration {
    match count.checked_sub(free) {
        None => Duration::ZERO,
        Some(over) => Duration::from_secs(1u64 << over.min(6)).min(LONGEST_DELAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_failures_and_double() {
        assert_eq!(delay_after(4, 5), Duration::ZERO);
        assert_eq!(delay_after(5, 5), Duration::from_secs(1));
        assert_eq!(delay_after(6, 5), Duration::from_secs(2));
        assert_eq!(delay_after(8, 5), Duration::from_secs(8));
        assert_eq!(delay_after(40, 5), LONGEST_DELAY);
    }

    #[test]
    fn failures_count_per_user_and_per_client() {
        let throttle = Throttle::default();
        let here: IpAddr = "10.0.0.1".parse().unwrap();
        let there: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..FREE_FAILURES_PER_USER {
            assert_eq!(throttle.wait_before(Some("ada"), Some(here)), None);
            throttle.failed(Some("ada"), Some(here));
        }
        // The user is slowed from anywhere; other users from elsewhere are not.
        assert!(throttle.wait_before(Some("ada"), Some(there)).is_some());
        assert_eq!(throttle.wait_before(Some("bob"), Some(there)), None);
        throttle.succeeded("ada");
        assert_eq!(throttle.wait_before(Some("ada"), Some(there)), None);
        // Many names (or tokens) from one address slow that address.
        for i in 0..FREE_FAILURES_PER_CLIENT {
            let name = format!("guess{i}");
            throttle.failed((i % 2 == 0).then_some(name.as_str()), Some(there));
        }
        assert!(throttle.wait_before(Some("carol"), Some(there)).is_some());
        assert!(throttle.wait_before(None, Some(there)).is_some());
        assert_eq!(throttle.wait_before(Some("carol"), Some(here)), None);
    }
}
