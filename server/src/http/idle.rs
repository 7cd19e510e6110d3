//! The time a connection may spend between requests, apart from the time a
//! request head may take once it has started to arrive.
//!
//! hyper's header timeout runs from the moment a connection is ready for a
//! request, so alone it cannot give an idle keep-alive connection a different
//! bound from a slowly sent head. Here the socket is wrapped ([`Watched`]) and
//! told by the service ([`Activity`]) when a request is in flight:
//!
//! - no request in flight and no byte since connecting or since the last answer
//!   was written: closed `keep_alive` after that moment;
//! - the first byte of a head arrived: closed `header_read` after that byte,
//!   unless the head is complete by then (the request is then in flight);
//! - a request in flight: not this module's business (body-read and request
//!   timeouts apply).
//!
//! The deadline is checked when hyper waits to read, which is exactly when the
//! connection is waiting on its client, and armed when an answer has been
//! written (hyper does not always try to read again before more bytes come).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// What the service tells the socket wrapper about one connection.
#[derive(Debug)]
pub struct Activity {
    opened: Instant,
    /// Requests whose answer has not been fully written yet.
    in_flight: AtomicUsize,
    /// When the last answer was written, in microseconds since `opened`.
    answered_at_us: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            answered_at_us: AtomicU64::new(0),
        })
    }

    /// A request head was read and handed to the service.
    pub fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// An answer's body was written to the end (or dropped with the request).
    fn answered(&self) {
        let at = self.opened.elapsed().as_micros() as u64;
        self.answered_at_us.store(at, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    fn idle_since(&self) -> Option<Instant> {
        (self.in_flight.load(Ordering::Relaxed) == 0).then(|| {
            self.opened + Duration::from_micros(self.answered_at_us.load(Ordering::Relaxed))
        })
    }
}

/// A response body that reports to [`Activity`] when hyper is done with it.
pub struct Answer<B> {
    body: B,
    activity: Arc<Activity>,
}

impl<B> Answer<B> {
    pub fn new(body: B, activity: Arc<Activity>) -> Self {
        Self { body, activity }
    }
}

impl<B> Drop for Answer<B> {
    fn drop(&mut self) {
        self.activity.answered();
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Answer<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A socket that fails its pending read once the connection has waited on its
/// client too long (see the module comment).
pub struct Watched<S> {
    socket: S,
    activity: Arc<Activity>,
    keep_alive: Duration,
    header_read: Duration,
    /// When the first byte of the current head arrived, if it has.
    head_started: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    timer_deadline: Option<Instant>,
}

impl<S> Watched<S> {
    pub fn new(
        socket: S,
        activity: Arc<Activity>,
        keep_alive: Duration,
        header_read: Duration,
    ) -> Self {
        Self {
            socket,
            activity,
            keep_alive,
            header_read,
            head_started: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            timer_deadline: None,
        }
    }

    /// When the wait on the client ends, if the connection is waiting on it.
    fn deadline(&mut self) -> Option<Instant> {
        let idle_since = self.activity.idle_since()?;
        match self.head_started {
            Some(started) if started >= idle_since => Some(started + self.header_read),
            _ => {
                self.head_started = None;
                Some(idle_since + self.keep_alive)
            }
        }
    }

    /// Bytes arrived: if no request was in flight, they begin a head.
    fn bytes_arrived(&mut self) {
        let Some(idle_since) = self.activity.idle_since() else {
            return; // a body, or a pipelined head read with the previous request
        };
        if self.head_started.is_none_or(|started| started < idle_since) {
            self.head_started = Some(Instant::now().max(idle_since));
        }
    }

    /// Ready once the deadline has passed. The timer is moved only when the
    /// deadline comes sooner than it is set for, or when it fires before a
    /// deadline that has since moved later: moving it after every answer cost a
    /// timer-wheel removal and insertion per request.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline() else {
            return Poll::Pending;
        };
        loop {
            if let Some(armed) = self.timer_deadline.filter(|armed| *armed <= deadline) {
                ready!(self.timer.as_mut().poll(cx));
                if armed == deadline {
                    return Poll::Ready(());
                }
            }
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::from_std(deadline));
            self.timer_deadline = Some(deadline);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.socket).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.bytes_arrived();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => {
                ready!(self.poll_deadline(cx));
                Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.socket).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = ready!(Pin::new(&mut self.socket).poll_flush(cx));
        // An answer was just written out. hyper may not try to read again before
        // the client sends more, so the idle time is armed here: its timer wakes
        // the connection, whose read then fails once the deadline has passed.
        if flushed.is_ok() {
            let _ = self.poll_deadline(cx);
        }
        Poll::Ready(flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}
