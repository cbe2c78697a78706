//! Which handshake [`MtlsListener`](crate::MtlsListener) drops when every
//! slot is taken and another client connects.
//!
//! Without eviction, a cap on concurrent handshakes is a lock: an attacker
//! who opens more idle connections than the cap, and reopens each as soon
//! as it is closed, holds every slot for the whole handshake timeout, and
//! valid clients wait in (then overflow) the kernel's backlog (#16). With
//! it, the listener keeps accepting at the cap and closes the handshake
//! least likely to be a client that is about to finish:
//!
//! 1. the oldest that has not yet sent a complete ClientHello (or that
//!    speaks plain HTTP and is being answered): a real client sends its
//!    ClientHello in the same flight as the last ACK of the TCP handshake,
//!    so it is usually complete by the time the connection is accepted;
//!    evicting one needs `max_concurrent_handshakes` newer connections
//!    before its ClientHello is read (or while a lost segment of it is
//!    retransmitted);
//! 2. otherwise the oldest past its ClientHello that has been in progress
//!    for at least [`STALLED_AFTER`] (a client that sends a ClientHello,
//!    then nothing);
//! 3. otherwise none: the newcomer waits for a slot. Handshakes that are
//!    done and wait for room in the ready queue are never evicted.
//!
//! A handshake registers when it starts and deregisters when its first
//! phase (handshake or plain-HTTP answer) ends; an evicted one is told
//! through a oneshot channel and drops its connection and its slot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// How long a handshake past its ClientHello must have been in progress
/// before it may be evicted: many round trips on any real network.
pub(crate) const STALLED_AFTER: Duration = Duration::from_secs(1);

/// The handshakes in progress that may be evicted, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Evictable {
    inner: Mutex<Registry>,
    evicted: AtomicU64,
}

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    /// Keyed by registration order: the first entry is the oldest.
    entries: BTreeMap<u64, Entry>,
}

#[derive(Debug)]
struct Entry {
    started: Instant,
    past_client_hello: bool,
    /// Dropped to evict.
    _evict: oneshot::Sender<()>,
}

impl Evictable {
    /// Registers a handshake starting now. The receiver completes if it is
    /// evicted.
    pub(crate) fn register(self: &Arc<Self>) -> (Registration, oneshot::Receiver<()>) {
        let (evict, evicted) = oneshot::channel();
        let mut registry = self.lock();
        let id = registry.next;
        registry.next += 1;
        registry.entries.insert(
            id,
            Entry {
                started: Instant::now(),
                past_client_hello: false,
                _evict: evict,
            },
        );
        let registration = Registration {
            evictable: Arc::clone(self),
            id,
        };
        (registration, evicted)
    }

    /// Evicts one handshake (see the [module docs](self)); whether there
    /// was one.
    pub(crate) fn evict_one(&self) -> bool {
        let mut registry = self.lock();
        let now = Instant::now();
        let victim = registry
            .entries
            .iter()
            .find(|(_, entry)| !entry.past_client_hello)
            .or_else(|| {
                registry
                    .entries
                    .iter()
                    .find(|(_, entry)| now.duration_since(entry.started) >= STALLED_AFTER)
            })
            .map(|(&id, _)| id);
        let evicted = victim.is_some_and(|id| registry.entries.remove(&id).is_some());
        if evicted {
            self.evicted.fetch_add(1, Ordering::Relaxed);
            #[cfg(feature = "metrics")]
            crate::metrics::handshake_failed(mtls_status::metrics::HandshakeFailure::Evicted);
        }
        evicted
    }

    /// How many handshakes were evicted so far.
    pub(crate) fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// How many handshakes may be evicted now or later.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A registered handshake; deregistered when dropped.
#[derive(Debug)]
pub(crate) struct Registration {
    evictable: Arc<Evictable>,
    id: u64,
}

impl Registration {
    /// The handshake has its complete ClientHello: from now on it is evicted
    /// only once stalled.
    pub(crate) fn past_client_hello(&self) {
        if let Some(entry) = self.evictable.lock().entries.get_mut(&self.id) {
            entry.past_client_hello = true;
        }
    }

    /// Deregisters; `false` if the handshake was evicted meanwhile (its slot
    /// is promised to another client: drop the connection).
    pub(crate) fn finish(self) -> bool {
        self.evictable.lock().entries.remove(&self.id).is_some()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.evictable.lock().entries.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Virtual time: exact ages, no waiting.
    #[tokio::test(start_paused = true)]
    async fn oldest_without_client_hello_first_then_oldest_stalled_then_none() {
        let evictable = Arc::new(Evictable::default());
        let (past_old, mut past_old_rx) = evictable.register();
        past_old.past_client_hello();
        let (_fresh, mut fresh_rx) = evictable.register();
        let (_newest, mut newest_rx) = evictable.register();

        // The oldest without a ClientHello, though one past it is older.
        assert!(evictable.evict_one());
        assert!(
            fresh_rx
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Closed)
        );
        assert!(
            past_old_rx
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Empty)
        );
        assert!(evictable.evict_one());
        assert!(
            newest_rx
                .try_recv()
                .is_err_and(|e| e == oneshot::error::TryRecvError::Closed)
        );

        // Only one past its ClientHello is left: not before STALLED_AFTER.
        assert!(!evictable.evict_one());
        tokio::time::advance(STALLED_AFTER).await;
        assert!(evictable.evict_one());
        assert!(!past_old.finish(), "evicted meanwhile");
        assert_eq!(evictable.len(), 0);
        assert_eq!(evictable.evicted(), 3);
    }

    #[test]
    fn finished_and_dropped_handshakes_are_not_evicted() {
        let evictable = Arc::new(Evictable::default());
        let (done, _rx) = evictable.register();
        let (dropped, _rx2) = evictable.register();
        assert!(done.finish());
        drop(dropped);
        assert_eq!(evictable.len(), 0);
        assert!(!evictable.evict_one());
    }
}
