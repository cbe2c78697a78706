//! A bounded cache of verdicts, keyed by the presented chain and the trust
//! store's generation, valid only inside the time window where the verdict
//! cannot change.
//!
//! Soundness: a hit requires the **full chain bytes** to be equal (the hash
//! only picks the slot), the same trust-store generation, and a time inside
//! the window the verdict was computed for. A hash collision can therefore
//! only cost a miss, never serve another chain's verdict.
//!
//! Memory: besides the entry count, the bytes each verdict keeps alive (its
//! chain, and the identity and reason read from it, whose names as text can
//! be several times the DER) count against `capacity × MAX_ENTRY_BYTES`, so
//! clients sending bulky certificates of their own making cannot make the
//! cache hold more than that.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mtls_status::{ClientAuthOutcome, ClientIdentity, InvalidReason};
use rustls_pki_types::CertificateDer;

/// Chains larger than this (total DER bytes) are not cached, and the bytes
/// all cached verdicts keep alive stay within `capacity × MAX_ENTRY_BYTES`.
pub(crate) const MAX_ENTRY_BYTES: usize = 16 * 1024;

/// The open time interval (seconds since the epoch) in which a verdict
/// holds: `after < t < before`; `None` = unbounded on that side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) after: Option<u64>,
    pub(crate) before: Option<u64>,
}

impl Window {
    /// The window around `now` delimited by the nearest `breakpoints`
    /// (times at which some check flips); `None` if `now` is one of them.
    /// `sorted` must be sorted ascending; `extra` may be in any order.
    pub(crate) fn around(
        now: u64,
        sorted: &[u64],
        extra: impl IntoIterator<Item = u64>,
    ) -> Option<Self> {
        let idx = sorted.partition_point(|&b| b < now);
        if sorted.get(idx) == Some(&now) {
            return None;
        }
        let mut window = Self {
            after: idx.checked_sub(1).and_then(|i| sorted.get(i)).copied(),
            before: sorted.get(idx).copied(),
        };
        for b in extra {
            if b == now {
                return None;
            } else if b < now {
                window.after = Some(window.after.map_or(b, |a| a.max(b)));
            } else {
                window.before = Some(window.before.map_or(b, |x| x.min(b)));
            }
        }
        Some(window)
    }

    pub(crate) fn contains(&self, t: u64) -> bool {
        self.after.is_none_or(|a| a < t) && self.before.is_none_or(|b| t < b)
    }
}

/// Hit and miss counters of a [`Classifier`](crate::Classifier)'s verdict
/// cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Classifications answered from the cache.
    pub hits: u64,
    /// Classifications of a chain that had to be verified (including every
    /// classification when the cache is disabled).
    pub misses: u64,
    /// Verdicts held now.
    pub entries: usize,
    /// The most verdicts held at once (0 = cache disabled).
    pub capacity: usize,
}

struct Entry {
    seq: u64,
    /// What this entry keeps alive, in bytes (see [`retained_bytes`]).
    cost: usize,
    chain: Box<[CertificateDer<'static>]>,
    outcome: Arc<ClientAuthOutcome>,
    window: Window,
}

#[derive(Default)]
struct State {
    generation: u64,
    map: HashMap<u64, Entry, BuildHasherDefault<PrehashedKey>>,
    /// Insertion order, for FIFO eviction; stale `(key, seq)` pairs are
    /// skipped.
    order: VecDeque<(u64, u64)>,
    next_seq: u64,
    /// The sum of the entries' costs.
    bytes: usize,
}

/// The map's keys are already hashes.
#[derive(Default)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) struct VerdictCache {
    capacity: usize,
    hasher: RandomState,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl VerdictCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            hasher: RandomState::new(),
            state: Mutex::new(State::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The slot of a chain: a keyed hash of its shape and the tail (the
    /// signature bytes) of each certificate. Equality is decided on the full
    /// bytes, so this only needs to spread legitimate chains.
    fn key(&self, chain: &[CertificateDer<'_>]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_usize(chain.len());
        for cert in chain {
            let bytes = cert.as_ref();
            h.write_usize(bytes.len());
            h.write(bytes.get(bytes.len().saturating_sub(48)..).unwrap_or(bytes));
        }
        h.finish()
    }

    pub(crate) fn get(
        &self,
        generation: u64,
        chain: &[CertificateDer<'_>],
        now: u64,
    ) -> Option<Arc<ClientAuthOutcome>> {
        if self.capacity == 0 {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let key = self.key(chain);
        let found = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            match state.map.get(&key) {
                Some(entry)
                    if state.generation == generation
                        && entry.window.contains(now)
                        && same_chain(&entry.chain, chain) =>
                {
                    Some(Arc::clone(&entry.outcome))
                }
                _ => None,
            }
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn insert(
        &self,
        generation: u64,
        chain: &[CertificateDer<'_>],
        outcome: Arc<ClientAuthOutcome>,
        window: Window,
    ) {
        if self.capacity == 0 {
            return;
        }
        if chain_bytes(chain) > MAX_ENTRY_BYTES {
            return;
        }
        let budget = self.capacity.saturating_mul(MAX_ENTRY_BYTES);
        let cost = retained_bytes(chain, &outcome);
        if cost > budget {
            return;
        }
        let key = self.key(chain);
        let chain: Box<[CertificateDer<'static>]> =
            chain.iter().map(|c| c.clone().into_owned()).collect();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if generation < state.generation {
            // Computed against a store that has since been replaced.
            return;
        }
        if generation > state.generation {
            state.map.clear();
            state.order.clear();
            state.bytes = 0;
            state.generation = generation;
        }
        let seq = state.next_seq;
        state.next_seq = seq.wrapping_add(1);
        let replaced = state.map.insert(
            key,
            Entry {
                seq,
                cost,
                chain,
                outcome,
                window,
            },
        );
        state.bytes = state
            .bytes
            .saturating_add(cost)
            .saturating_sub(replaced.map_or(0, |e| e.cost));
        state.order.push_back((key, seq));
        while state.map.len() > self.capacity || state.bytes > budget {
            let Some((old_key, old_seq)) = state.order.pop_front() else {
                break;
            };
            if state.map.get(&old_key).is_some_and(|e| e.seq == old_seq)
                && let Some(evicted) = state.map.remove(&old_key)
            {
                state.bytes = state.bytes.saturating_sub(evicted.cost);
            }
        }
        if state.order.len() > 2 * self.capacity + 16 {
            let State { map, order, .. } = &mut *state;
            order.retain(|(k, s)| map.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let entries = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            capacity: self.capacity,
        }
    }
}

fn chain_bytes(chain: &[CertificateDer<'_>]) -> usize {
    chain.iter().map(|c| c.as_ref().len()).sum()
}

/// Roughly the heap bytes a cached verdict keeps alive: the chain (the
/// key), and the outcome's identity (its own copy of the chain, its names
/// as text, and the forwarding headers it may build later) and reason.
fn retained_bytes(chain: &[CertificateDer<'_>], outcome: &ClientAuthOutcome) -> usize {
    let outcome_bytes = match outcome {
        ClientAuthOutcome::Verified(identity) => identity_bytes(identity),
        ClientAuthOutcome::Invalid(invalid) => {
            reason_bytes(invalid.reason()) + invalid.presented().map_or(0, identity_bytes)
        }
        _ => 0,
    };
    chain_bytes(chain) + outcome_bytes + 256
}

fn identity_bytes(identity: &ClientIdentity) -> usize {
    let names = identity.subject_dn().len()
        + identity.issuer_dn().len()
        + identity.subject_dn_legacy().len()
        + identity.issuer_dn_legacy().len();
    let alt_names: usize = identity
        .dns_names()
        .iter()
        .chain(identity.uris())
        .chain(identity.emails())
        .chain(identity.user_principal_names())
        .chain(identity.directory_names())
        .map(|name| name.len() + 24)
        .sum();
    let leaf = identity.leaf().as_ref().len();
    // The names are kept, and copied again into forwarding headers, as is
    // the leaf as escaped PEM (about twice its DER).
    chain_bytes(identity.chain())
        + 2 * names
        + 2 * leaf
        + alt_names
        + 32 * identity.ip_addresses().len()
        + 512
}

fn reason_bytes(reason: &InvalidReason) -> usize {
    let context = reason.context();
    context.subject.as_ref().map_or(0, String::len)
        + context.message.as_ref().map_or(0, String::len)
        + 128
}

fn same_chain(a: &[CertificateDer<'_>], b: &[CertificateDer<'_>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.as_ref() == y.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(bytes: &[&[u8]]) -> Vec<CertificateDer<'static>> {
        bytes
            .iter()
            .map(|b| CertificateDer::from(b.to_vec()))
            .collect()
    }

    const ALWAYS: Window = Window {
        after: None,
        before: None,
    };

    #[test]
    fn window_around_breakpoints() {
        let sorted = [10, 20, 30];
        assert_eq!(
            Window::around(25, &sorted, []),
            Some(Window {
                after: Some(20),
                before: Some(30)
            })
        );
        assert_eq!(Window::around(20, &sorted, []), None);
        assert_eq!(
            Window::around(25, &sorted, [22]),
            Some(Window {
                after: Some(22),
                before: Some(30)
            })
        );
        assert_eq!(Window::around(25, &sorted, [25]), None);
        assert_eq!(
            Window::around(5, &[], [7, 3]),
            Some(Window {
                after: Some(3),
                before: Some(7)
            })
        );
        let w = Window::around(25, &sorted, [27]).unwrap_or(ALWAYS);
        assert!(w.contains(21) && w.contains(26));
        assert!(!w.contains(20) && !w.contains(27));
        assert!(ALWAYS.contains(0) && ALWAYS.contains(u64::MAX));
    }

    #[test]
    fn hits_need_same_bytes_generation_and_time() {
        let cache = VerdictCache::new(4);
        let a = chain(&[b"leaf-a", b"int"]);
        let b = chain(&[b"leaf-b", b"int"]);
        let outcome = Arc::new(ClientAuthOutcome::None);
        let window = Window {
            after: Some(100),
            before: Some(200),
        };
        assert!(cache.get(1, &a, 150).is_none());
        cache.insert(1, &a, outcome, window);
        assert!(cache.get(1, &a, 150).is_some());
        assert!(cache.get(1, &b, 150).is_none());
        assert!(cache.get(2, &a, 150).is_none());
        assert!(cache.get(1, &a, 100).is_none());
        assert!(cache.get(1, &a, 200).is_none());
        assert!(cache.get(1, &a[..1], 150).is_none());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 6, 1));
    }

    #[test]
    fn bounded_fifo_and_generation_reset() {
        let cache = VerdictCache::new(2);
        let chains: Vec<_> = (0u8..5).map(|i| chain(&[&[i; 8]])).collect();
        for c in &chains {
            cache.insert(1, c, Arc::new(ClientAuthOutcome::None), ALWAYS);
        }
        assert_eq!(cache.stats().entries, 2);
        assert!(cache.get(1, &chains[4], 0).is_some());
        assert!(cache.get(1, &chains[3], 0).is_some());
        assert!(cache.get(1, &chains[0], 0).is_none());
        // Re-inserting the same chain many times keeps the queue bounded.
        for _ in 0..100 {
            cache.insert(1, &chains[4], Arc::new(ClientAuthOutcome::None), ALWAYS);
        }
        assert!(
            cache
                .state
                .lock()
                .map(|s| s.order.len() <= 2 * 2 + 16)
                .unwrap_or(false)
        );
        // A newer generation drops everything; an older one is ignored.
        cache.insert(2, &chains[0], Arc::new(ClientAuthOutcome::None), ALWAYS);
        assert_eq!(cache.stats().entries, 1);
        cache.insert(1, &chains[1], Arc::new(ClientAuthOutcome::None), ALWAYS);
        assert!(cache.get(1, &chains[1], 0).is_none());
        assert!(cache.get(2, &chains[0], 0).is_some());
        // Oversized chains are not cached.
        let big = chain(&[&vec![7u8; MAX_ENTRY_BYTES + 1]]);
        cache.insert(2, &big, Arc::new(ClientAuthOutcome::None), ALWAYS);
        assert!(cache.get(2, &big, 0).is_none());
        // Capacity 0 disables the cache.
        let off = VerdictCache::new(0);
        off.insert(1, &chains[0], Arc::new(ClientAuthOutcome::None), ALWAYS);
        assert!(off.get(1, &chains[0], 0).is_none());
        assert_eq!(off.stats().misses, 1);
    }

    #[test]
    fn bytes_kept_alive_are_bounded() {
        use mtls_status::{InvalidCertificate, ReasonKind};
        let cache = VerdictCache::new(4);
        let bulky = |n: usize| {
            Arc::new(ClientAuthOutcome::Invalid(InvalidCertificate::new(
                InvalidReason::new(ReasonKind::Other).with_message("x".repeat(n)),
                None,
            )))
        };
        let chains: Vec<_> = (0u8..6).map(|i| chain(&[&[i; 8]])).collect();
        // 4 x 16 KiB in all: three verdicts of 25 KiB do not fit.
        for c in &chains[..3] {
            cache.insert(1, c, bulky(25 * 1024), ALWAYS);
        }
        assert_eq!(cache.stats().entries, 2);
        assert!(cache.get(1, &chains[0], 0).is_none(), "the oldest went");
        assert!(cache.get(1, &chains[2], 0).is_some());
        let bytes = |cache: &VerdictCache| cache.state.lock().map(|s| s.bytes).unwrap_or(0);
        assert!(bytes(&cache) <= 4 * MAX_ENTRY_BYTES);
        // Replacing an entry does not count it twice; small ones fill the rest.
        cache.insert(1, &chains[2], bulky(10), ALWAYS);
        for c in &chains[3..] {
            cache.insert(1, c, bulky(10), ALWAYS);
        }
        assert_eq!(cache.stats().entries, 4);
        assert!(bytes(&cache) < 4 * 1024, "{}", bytes(&cache));
        // A verdict larger than the whole budget is not cached.
        cache.insert(1, &chains[0], bulky(100 * 1024), ALWAYS);
        assert!(cache.get(1, &chains[0], 0).is_none());
    }
}
