//! The idle timeout of an established connection: a stream on which no
//! byte is read and no byte is written for that long is closed.
//!
//! Cheap on the hot path: a read or write that moves bytes only records the
//! time. The timer is looked at only when an operation has to wait, and it
//! is re-armed lazily: when it fires, the deadline is recomputed from the
//! last progress, and only if that one has passed too is the stream idle.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The default [`MtlsAcceptor::idle_timeout`](crate::MtlsAcceptor::idle_timeout):
/// 5 minutes.
///
/// Longer than anything nginx keeps by default (60 s `client_header_timeout`
/// and `client_body_timeout`, 75 s `keepalive_timeout`, 60 s `send_timeout`
/// and `proxy_read_timeout`), so no connection nginx would keep is cut; short
/// enough that a client which completes the handshake and then goes silent
/// gives its connection back within minutes instead of never.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Which way an operation that has to wait moves bytes. Flush and shutdown
/// wait to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// The idle clock of one stream.
pub(crate) struct IdleTimer {
    /// `None`: no idle timeout.
    timeout: Option<Duration>,
    /// When bytes last moved (or the clock started). Only kept up to date
    /// while a timeout is set.
    last_progress: Instant,
    /// Created when an operation first has to wait.
    armed: Option<Armed>,
    /// Set once the stream was found idle: it stays closed.
    expired: bool,
}

/// The timer proper, with the tasks to wake when it fires.
struct Armed {
    /// Its deadline is a past `last_progress + timeout`, possibly stale
    /// (earlier than the current one): see [`IdleTimer::poll_expired`].
    sleep: Pin<Box<Sleep>>,
    waiters: Arc<Waiters>,
    /// `waiters` as a waker: the one the sleep is polled with.
    waker: Waker,
}

/// The tasks waiting to read and to write. A stream split in two
/// (`tokio::io::split`) is read in one task and written in another; the
/// timer wakes both, so each sees the stream close.
#[derive(Default)]
struct Waiters {
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl Waiters {
    fn register(&self, direction: Direction, waker: &Waker) {
        let mut wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = &mut wakers[direction as usize];
        if !slot.as_ref().is_some_and(|known| known.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers =
            std::mem::take(&mut *self.wakers.lock().unwrap_or_else(PoisonError::into_inner));
        // Woken outside the lock: a waker may run code of its own.
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}

impl IdleTimer {
    /// A clock that starts now. `Duration::ZERO` means no timeout.
    pub(crate) fn new(timeout: Option<Duration>) -> Self {
        Self {
            timeout: normalize(timeout),
            last_progress: Instant::now(),
            armed: None,
            expired: false,
        }
    }

    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Sets the timeout (`None` or zero: none) and restarts the clock.
    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = normalize(timeout);
        self.last_progress = Instant::now();
        // Re-created at the next wait, with the new deadline.
        self.armed = None;
    }

    /// Whether the stream was found idle; it then stays closed.
    pub(crate) fn is_expired(&self) -> bool {
        self.expired
    }

    /// Bytes moved.
    #[inline]
    pub(crate) fn progress(&mut self) {
        if self.timeout.is_some() {
            self.last_progress = Instant::now();
        }
    }

    /// Called when an operation in `direction` has to wait: `Ready` with the
    /// error to return if nothing moved for the timeout, else `Pending`, and
    /// the task is woken when the timeout could be reached.
    pub(crate) fn poll_expired(
        &mut self,
        direction: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Error> {
        let Some(timeout) = self.timeout else {
            return Poll::Pending;
        };
        // A timeout too long to represent never fires.
        let Some(deadline) = self.last_progress.checked_add(timeout) else {
            return Poll::Pending;
        };
        let armed = match &mut self.armed {
            Some(armed) => armed,
            None => {
                // Creating a timer outside a tokio runtime would panic;
                // tokio's I/O cannot be polled there anyway.
                if tokio::runtime::Handle::try_current().is_err() {
                    return Poll::Pending;
                }
                self.armed.insert(Armed::new(deadline))
            }
        };
        armed.waiters.register(direction, cx.waker());
        let mut timer_cx = Context::from_waker(&armed.waker);
        loop {
            if armed.sleep.as_mut().poll(&mut timer_cx).is_pending() {
                return Poll::Pending;
            }
            // The timer fired at a deadline computed earlier. If bytes moved
            // since, the real deadline is later: re-arm for it.
            if deadline > armed.sleep.deadline() {
                armed.sleep.as_mut().reset(deadline);
                continue;
            }
            // Idle. Wake the other direction's task so that it sees it too.
            armed.waker.wake_by_ref();
            self.armed = None;
            self.expired = true;
            return Poll::Ready(timed_out(timeout));
        }
    }

    /// The error every operation returns once the stream was found idle.
    pub(crate) fn expired_error(&self) -> io::Error {
        timed_out(self.timeout.unwrap_or_default())
    }
}

impl Armed {
    fn new(deadline: Instant) -> Self {
        let waiters = Arc::new(Waiters::default());
        Self {
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            waker: Waker::from(Arc::clone(&waiters)),
            waiters,
        }
    }
}

impl fmt::Debug for IdleTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleTimer")
            .field("timeout", &self.timeout)
            .field("expired", &self.expired)
            .finish_non_exhaustive()
    }
}

fn normalize(timeout: Option<Duration>) -> Option<Duration> {
    timeout.filter(|timeout| !timeout.is_zero())
}

/// The error of an idle stream, of kind [`io::ErrorKind::TimedOut`].
fn timed_out(timeout: Duration) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, IdleTimeout(timeout))
}

/// Inside the `io::Error` an idle stream returns.
#[derive(Debug, thiserror::Error)]
#[error(
    "connection idle: no data received or sent for {0:?} (MtlsAcceptor::idle_timeout); \
     closed"
)]
struct IdleTimeout(Duration);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
        let waker = Waker::from(Arc::clone(&counter));
        (counter, waker)
    }

    fn poll(timer: &mut IdleTimer, direction: Direction, waker: &Waker) -> Poll<io::Error> {
        timer.poll_expired(direction, &mut Context::from_waker(waker))
    }

    /// Virtual time: exact instants, no real waiting.
    #[tokio::test(start_paused = true)]
    async fn expires_a_timeout_after_the_last_progress_rearming_lazily() {
        let (_, waker) = counter();
        let mut timer = IdleTimer::new(Some(Duration::from_secs(10)));
        let start = Instant::now();
        assert!(poll(&mut timer, Direction::Read, &waker).is_pending());

        // Progress at 6 s: the timer armed for 10 s fires, sees the later
        // deadline (16 s) and re-arms instead of expiring.
        tokio::time::sleep(Duration::from_secs(6)).await;
        timer.progress();
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(poll(&mut timer, Direction::Read, &waker).is_pending());
        assert_eq!(
            timer
                .armed
                .as_ref()
                .map(|armed| armed.sleep.deadline() - start),
            Some(Duration::from_secs(16))
        );
        assert!(!timer.is_expired());

        tokio::time::sleep(Duration::from_secs(5)).await;
        let Poll::Ready(error) = poll(&mut timer, Direction::Read, &waker) else {
            panic!("idle for 10 s after the last progress");
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("10s"), "{error}");
        assert!(timer.is_expired());
    }

    /// The timer wakes the reading and the writing task alike, each once.
    #[tokio::test(start_paused = true)]
    async fn wakes_both_directions() {
        let (reads, read_waker) = counter();
        let (writes, write_waker) = counter();
        let mut timer = IdleTimer::new(Some(Duration::from_secs(1)));
        assert!(poll(&mut timer, Direction::Read, &read_waker).is_pending());
        assert!(poll(&mut timer, Direction::Write, &write_waker).is_pending());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(reads.0.load(Ordering::SeqCst), 1);
        assert_eq!(writes.0.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn none_zero_and_huge_timeouts_never_fire() {
        let (_, waker) = counter();
        let mut timers = [
            IdleTimer::new(None),
            IdleTimer::new(Some(Duration::ZERO)),
            IdleTimer::new(Some(Duration::MAX)),
        ];
        assert_eq!(timers[1].timeout(), None);
        for timer in &mut timers {
            assert!(poll(timer, Direction::Read, &waker).is_pending());
        }
        tokio::time::sleep(Duration::from_secs(365 * 24 * 3600)).await;
        for timer in &mut timers {
            assert!(poll(timer, Direction::Write, &waker).is_pending());
            assert!(!timer.is_expired());
        }
    }

    /// Setting the timeout restarts the clock.
    #[tokio::test(start_paused = true)]
    async fn set_timeout_restarts_the_clock() {
        let (_, waker) = counter();
        let mut timer = IdleTimer::new(None);
        tokio::time::sleep(Duration::from_secs(100)).await;
        timer.set_timeout(Some(Duration::from_secs(10)));
        assert!(poll(&mut timer, Direction::Read, &waker).is_pending());
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert!(poll(&mut timer, Direction::Read, &waker).is_pending());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(poll(&mut timer, Direction::Read, &waker).is_ready());
    }
}
