//! What the store remembers about failovers, and the rules it follows: which
//! masters are refused as demoted, when writes pause, which master to try first,
//! and when the sentinels' answers say to move. Synchronous and clock-free (every
//! call takes `now`), so each rule is unit-tested below; `master.rs` holds it
//! behind a mutex and does the I/O.

use super::addr::Addr;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Longest write pause for one failover if neither `+switch-master` nor an abort arrives.
/// (Measured in the failover test without the pause: 500-1000 acknowledged writes lost
/// per `SENTINEL FAILOVER`, even with `WAIT 1`, since the replica not yet reconfigured
/// still follows, and acknowledges, the old master.)
pub const FAILOVER_PAUSE_MAX: Duration = Duration::from_secs(5);
/// How long a master replaced by `+switch-master` is refused: sentinels convert it to
/// a replica only 8-20 s after the switch, and until then it answers `ROLE` as master.
pub const DEMOTED_FOR: Duration = Duration::from_secs(30);
/// How old a demotion mark must be before a majority of sentinels naming that
/// master again overrides it (they gossip a new configuration every ~2 s).
pub const MAJORITY_OVERRIDES_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct FailoverState {
    /// The new master named by the latest `+switch-master`, tried first.
    hint: Option<Addr>,
    /// Masters replaced by a failover -> when.
    demoted: HashMap<Addr, Instant>,
    /// Sentinel -> when it reported the start of a failover.
    failovers: HashMap<String, Instant>,
}

impl FailoverState {
    /// The master to try before asking the sentinels, if a switch named one.
    pub fn hint(&self) -> Option<&Addr> {
        self.hint.as_ref()
    }

    /// `addr` is in use now: no need to keep hinting at it.
    pub fn using(&mut self, addr: &Addr) {
        if self.hint.as_ref() == Some(addr) {
            self.hint = None;
        }
    }

    /// A sentinel announced `+switch-master old new`: `old` is refused for a while,
    /// `new` goes first, and any write pause ends. Returns whether this is news
    /// (every sentinel announces the same switch).
    pub fn switched(&mut self, old: Addr, new: Addr, now: Instant) -> bool {
        let news = self.hint.as_ref() != Some(&new);
        if old != new {
            self.demoted.insert(old, now);
        }
        self.demoted.remove(&new);
        self.failovers.clear();
        self.hint = Some(new);
        news
    }

    /// A sentinel reported the start of a failover; `true` when it had not already.
    pub fn failover_started(&mut self, sentinel: &str, now: Instant) -> bool {
        if self.failovers.contains_key(sentinel) {
            return false;
        }
        self.failovers.insert(sentinel.to_owned(), now);
        true
    }

    /// A sentinel's failover ended without a switch; `true` if it was pausing writes.
    pub fn failover_ended(&mut self, sentinel: &str) -> bool {
        self.failovers.remove(sentinel).is_some()
    }

    /// Until when writes wait, if a failover is in progress (capped per failover).
    pub fn write_pause(&mut self, now: Instant) -> Option<Instant> {
        self.failovers
            .retain(|_, since| now.duration_since(*since) < FAILOVER_PAUSE_MAX);
        self.failovers
            .values()
            .max()
            .map(|since| *since + FAILOVER_PAUSE_MAX)
    }

    /// Whether `addr` was replaced by a failover less than [`DEMOTED_FOR`] ago.
    pub fn is_demoted(&mut self, addr: &Addr, now: Instant) -> bool {
        self.demoted
            .retain(|_, since| now.duration_since(*since) < DEMOTED_FOR);
        self.demoted.contains_key(addr)
    }

    /// The periodic check's rule: given the sentinels' answers (in preference order,
    /// out of `configured` sentinels), the master to move to instead of `current`,
    /// if any.
    ///
    /// A majority of the sentinels is Sentinel's settled answer: once a switch is a
    /// few seconds old, it is followed even to a master marked demoted (events from
    /// different sentinels can arrive out of order, or a later failover can go
    /// back). Right after a switch a majority may still lag and name the old master,
    /// which must not be used again. Without a majority, the first answer counts
    /// unless it names a demoted master.
    pub fn master_to_follow(
        &mut self,
        answers: &[Addr],
        configured: usize,
        current: &Addr,
        now: Instant,
    ) -> Option<Addr> {
        let majority = majority(answers, configured).filter(|addr| {
            self.demoted
                .get(*addr)
                .is_none_or(|since| now.duration_since(*since) >= MAJORITY_OVERRIDES_AFTER)
        });
        let named = match majority {
            Some(addr) => {
                self.demoted.remove(addr);
                if addr != current {
                    // Tried first on re-resolving, ahead of any stale hint.
                    self.hint = Some(addr.clone());
                }
                addr.clone()
            }
            None => {
                let first = answers.first()?.clone();
                if self.is_demoted(&first, now) {
                    return None;
                }
                first
            }
        };
        (named != *current).then_some(named)
    }
}

/// The address more than half of the `configured` sentinels name.
fn majority(answers: &[Addr], configured: usize) -> Option<&Addr> {
    answers.iter().find(|candidate| {
        let votes = answers.iter().filter(|a| a == candidate).count();
        votes * 2 > configured
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(port: u16) -> Addr {
        ("10.0.0.1".to_owned(), port)
    }

    #[test]
    fn a_switch_demotes_the_old_master_and_hints_the_new_one() {
        let (mut state, now) = (FailoverState::default(), Instant::now());
        assert!(state.switched(a(1), a(2), now));
        assert!(
            !state.switched(a(1), a(2), now),
            "the same switch again is no news"
        );
        assert!(state.is_demoted(&a(1), now));
        assert!(!state.is_demoted(&a(2), now));
        assert_eq!(state.hint(), Some(&a(2)));
        state.using(&a(2));
        assert_eq!(state.hint(), None);
        // Demotion wears off.
        assert!(!state.is_demoted(&a(1), now + DEMOTED_FOR));
    }

    #[test]
    fn a_switch_back_clears_the_demotion() {
        let (mut state, now) = (FailoverState::default(), Instant::now());
        state.switched(a(1), a(2), now);
        state.switched(a(2), a(1), now);
        assert!(!state.is_demoted(&a(1), now));
        assert!(state.is_demoted(&a(2), now));
    }

    #[test]
    fn writes_pause_from_a_failover_start_until_a_switch_an_abort_or_the_cap() {
        let (mut state, now) = (FailoverState::default(), Instant::now());
        assert_eq!(state.write_pause(now), None);
        assert!(state.failover_started("s1", now));
        assert!(
            !state.failover_started("s1", now),
            "reported once per sentinel"
        );
        assert_eq!(state.write_pause(now), Some(now + FAILOVER_PAUSE_MAX));
        // The latest start counts.
        let later = now + Duration::from_secs(1);
        state.failover_started("s2", later);
        assert_eq!(state.write_pause(later), Some(later + FAILOVER_PAUSE_MAX));
        // An abort from one sentinel leaves the other's pause.
        assert!(state.failover_ended("s2"));
        assert!(!state.failover_ended("s2"));
        assert_eq!(state.write_pause(later), Some(now + FAILOVER_PAUSE_MAX));
        // The cap.
        assert_eq!(state.write_pause(now + FAILOVER_PAUSE_MAX), None);
        // A switch ends every pause.
        state.failover_started("s1", later);
        state.switched(a(1), a(2), later);
        assert_eq!(state.write_pause(later), None);
    }

    #[test]
    fn a_majority_naming_another_master_is_followed() {
        let (mut state, now) = (FailoverState::default(), Instant::now());
        let answers = [a(2), a(2), a(1)];
        assert_eq!(state.master_to_follow(&answers, 3, &a(1), now), Some(a(2)));
        assert_eq!(state.hint(), Some(&a(2)), "and tried first");
        assert_eq!(
            state.master_to_follow(&answers, 3, &a(2), now),
            None,
            "already there"
        );
    }

    #[test]
    fn a_lagging_majority_does_not_send_writes_back_to_a_fresh_demotion() {
        let (mut state, now) = (FailoverState::default(), Instant::now());
        state.switched(a(1), a(2), now);
        let lagging = [a(1), a(1), a(2)];
        assert_eq!(state.master_to_follow(&lagging, 3, &a(2), now), None);
        let soon = now + MAJORITY_OVERRIDES_AFTER - Duration::from_millis(1);
        assert_eq!(state.master_to_follow(&lagging, 3, &a(2), soon), None);
        // Once the switch is a few seconds old, the majority is the settled answer.
        let settled = now + MAJORITY_OVERRIDES_AFTER;
        assert_eq!(
            state.master_to_follow(&lagging, 3, &a(2), settled),
            Some(a(1))
        );
        assert!(!state.is_demoted(&a(1), settled), "the mark is cleared");
    }

    #[test]
    fn without_a_majority_the_first_answer_counts_unless_demoted() {
        let (mut state, now) = (FailoverState::default(), Instant::now());
        // Two of three configured sentinels answer, and disagree.
        assert_eq!(
            state.master_to_follow(&[a(3), a(2)], 3, &a(1), now),
            Some(a(3))
        );
        assert_eq!(state.master_to_follow(&[a(1), a(2)], 3, &a(1), now), None);
        state.switched(a(3), a(1), now);
        assert_eq!(state.master_to_follow(&[a(3)], 3, &a(1), now), None);
        // Demoted for long: the lone answer still may not override it, only a majority.
        let later = now + MAJORITY_OVERRIDES_AFTER;
        assert_eq!(state.master_to_follow(&[a(3)], 3, &a(1), later), None);
        assert_eq!(
            state.master_to_follow(&[], 3, &a(1), later),
            None,
            "no answer: stay"
        );
    }

    #[test]
    fn a_majority_is_of_the_configured_sentinels_not_of_those_answering() {
        let (mut state, now) = (FailoverState::default(), Instant::now());
        state.switched(a(2), a(1), now - DEMOTED_FOR / 2);
        // One of three answering is no majority, so a(2)'s demotion holds.
        assert_eq!(state.master_to_follow(&[a(2)], 3, &a(1), now), None);
        assert_eq!(
            state.master_to_follow(&[a(2), a(2)], 3, &a(1), now),
            Some(a(2))
        );
    }
}
