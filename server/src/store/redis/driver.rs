//! Running a multiplexed connection's driver so that concurrent requests share
//! writes and reads.
//!
//! A `MultiplexedConnection` hands each command to a driver task, which writes
//! what it has queued and reads the replies. tokio runs a task woken from a
//! worker next on that worker (its "LIFO slot"), so the driver used to run
//! right after each request queued its command and wrote that one command by
//! itself: one `writev` and, later, one read per request, each waking Redis.
//! Woken, the driver here first steps to the back of the run queue; every
//! request ready in the same turn queues its command meanwhile, and the driver
//! writes them together and reads their replies together. At 32 concurrent
//! `GET /get/{id}` on 2 cores this took about a third off Redis's CPU time per
//! request, a tenth off ours, and gave 5-10% more requests per second; alone,
//! a request waits one turn of an otherwise empty queue.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns `driver`, polled one scheduling turn after each wake.
pub fn spawn(driver: impl Future<Output = ()> + Send + 'static) {
    tokio::spawn(AfterOthers {
        driver: Box::pin(driver),
        deferred: false,
    });
}

/// `driver`, polled on every second poll: the first poll after a wake only
/// wakes the task again, which tokio treats as a yield (back of the queue).
struct AfterOthers<F> {
    driver: Pin<Box<F>>,
    /// Whether this wake's turn was given up already.
    deferred: bool,
}

impl<F: Future<Output = ()>> Future for AfterOthers<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.deferred {
            self.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.deferred = false;
        self.driver.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::spawn;
    use std::time::Duration;

    #[tokio::test]
    async fn the_driver_runs_to_its_end() {
        let (done, finished) = tokio::sync::oneshot::channel();
        spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::task::yield_now().await;
            let _ = done.send(());
        });
        tokio::time::timeout(Duration::from_secs(5), finished)
            .await
            .expect("the driver finished")
            .expect("the driver sent");
    }
}
