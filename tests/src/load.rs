//! One write-load harness for the failover tests, whatever they write through (a
//! store, or `POST /set` of a server): writers each send a new ID at a steady
//! pace until stopped, and report what they saw.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many writers, how fast, and for at most how long.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    pub writers: usize,
    /// Pause between two writes of one writer: a steady stream, not a saturating one.
    pub every: Duration,
    /// A writer stops by itself after this long, whatever happens.
    pub at_most: Duration,
}

/// One acknowledged write.
#[derive(Clone, Debug)]
pub struct Ack {
    pub id: String,
    pub at: Instant,
}

#[derive(Default)]
struct Seen {
    acks: Vec<Ack>,
    errors: Vec<String>,
    longest_request: Duration,
}

/// Writers at work; [`Writers::finish`] stops them and tells what they saw.
pub struct Writers {
    label: String,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What the writers of one [`Writers`] saw.
pub struct Report {
    pub label: String,
    /// In the order acknowledged.
    pub acks: Vec<Ack>,
    /// Every failed write: the ID, how long it took, and what `write` said.
    pub errors: Vec<String>,
    pub longest_request: Duration,
    /// The longest time between two acknowledgements: the stall a client saw.
    pub longest_gap: Duration,
}

impl Writers {
    /// Starts `pace.writers` tasks that call `write` with IDs `{label}-w{writer}-{n}`;
    /// `write` says whether the write was acknowledged, or why not.
    pub fn start<W, F>(label: &str, pace: Pace, write: W) -> Writers
    where
        W: Fn(String) -> F + Clone + Send + 'static,
        F: Future<Output = Result<(), String>> + Send,
    {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..pace.writers)
            .map(|writer| {
                let (seen, stop, write) = (seen.clone(), stop.clone(), write.clone());
                let prefix = format!("{label}-w{writer}");
                tokio::spawn(async move {
                    let started = Instant::now();
                    let mut tick = tokio::time::interval(pace.every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    for n in 0.. {
                        if stop.load(Ordering::SeqCst) || started.elapsed() > pace.at_most {
                            break;
                        }
                        tick.tick().await;
                        let id = format!("{prefix}-{n:06}");
                        let sent = Instant::now();
                        let outcome = write(id.clone()).await;
                        let took = sent.elapsed();
                        let mut seen = seen.lock().unwrap();
                        seen.longest_request = seen.longest_request.max(took);
                        match outcome {
                            Ok(()) => seen.acks.push(Ack {
                                id,
                                at: Instant::now(),
                            }),
                            Err(why) => seen.errors.push(format!("{id} after {took:?}: {why}")),
                        }
                    }
                })
            })
            .collect();
        Writers {
            label: label.to_owned(),
            seen,
            stop,
            tasks,
        }
    }

    pub fn acknowledged(&self) -> usize {
        self.seen.lock().unwrap().acks.len()
    }

    /// Waits until every one of `all` has `more` acknowledgements beyond what it
    /// had on entry (at most 30 s, then panics saying `what`).
    pub async fn wait_more(all: &[&Writers], more: usize, what: &str) {
        let marks: Vec<usize> = all.iter().map(|w| w.acknowledged()).collect();
        crate::topology::wait_for(Duration::from_secs(30), what, || {
            let done = all
                .iter()
                .zip(&marks)
                .all(|(writers, mark)| writers.acknowledged() >= mark + more);
            async move { done.then_some(()) }
        })
        .await;
    }

    pub async fn finish(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            task.await.expect("writer task");
        }
        let seen = Arc::try_unwrap(self.seen)
            .ok()
            .expect("writers done")
            .into_inner()
            .unwrap();
        let mut acks = seen.acks;
        acks.sort_by_key(|ack| ack.at);
        let longest_gap = acks
            .windows(2)
            .map(|pair| pair[1].at - pair[0].at)
            .max()
            .unwrap_or_default();
        Report {
            label: self.label,
            acks,
            errors: seen.errors,
            longest_request: seen.longest_request,
            longest_gap,
        }
    }
}

impl Report {
    pub fn acked_ids(&self) -> impl Iterator<Item = &str> {
        self.acks.iter().map(|ack| ack.id.as_str())
    }

    /// One line of figures (with the acknowledged writes found `lost`, where the
    /// caller looked for them), and the first few errors.
    pub fn print(&self, scenario: &str, lost: Option<usize>) {
        let lost = lost.map_or(String::new(), |n| format!(", {n} acknowledged writes lost"));
        println!(
            "[{scenario}] {}: {} writes acknowledged, {} errors, longest request {} ms, \
             longest gap between acknowledgements {} ms{lost}",
            self.label,
            self.acks.len(),
            self.errors.len(),
            self.longest_request.as_millis(),
            self.longest_gap.as_millis(),
        );
        for error in self.errors.iter().take(5) {
            println!("[{scenario}] {}: error {error}", self.label);
        }
    }
}
