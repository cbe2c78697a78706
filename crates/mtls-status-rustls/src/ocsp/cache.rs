//! Answers by certificate (issuer hashes + serial): kept for the answer's
//! validity (bounded), within a byte budget; one lookup in flight per
//! certificate, which every concurrent asker waits on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use super::{OcspAnswer, OcspError};

/// What identifies a certificate to its responder: SHA-1 of the issuer's
/// name and key, and the serial number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) issuer_name_hash: Vec<u8>,
    pub(super) issuer_key_hash: Vec<u8>,
    pub(super) serial: Vec<u8>,
}

impl Key {
    pub(super) fn of(cert_id: &x509_ocsp::CertId) -> Self {
        Self {
            issuer_name_hash: cert_id.issuer_name_hash.as_bytes().to_vec(),
            issuer_key_hash: cert_id.issuer_key_hash.as_bytes().to_vec(),
            serial: cert_id.serial_number.as_bytes().to_vec(),
        }
    }

    /// What an entry costs against the byte budget: the key, the answer
    /// and the map's bookkeeping.
    fn cost(&self, answer: &OcspAnswer) -> usize {
        const OVERHEAD: usize = 160;
        OVERHEAD
            + self.issuer_name_hash.len()
            + self.issuer_key_hash.len()
            + self.serial.len()
            + answer.heap_size()
    }
}

pub(super) type Flight = Arc<OnceCell<Result<Arc<OcspAnswer>, OcspError>>>;

enum Slot {
    Ready {
        answer: Arc<OcspAnswer>,
        /// Unix seconds after which the entry is not used.
        expires: u64,
        cost: usize,
        /// SHA-256 of the certificate whose issuer was confirmed (by its
        /// signature) before this answer was asked for.
        certificate: [u8; 32],
    },
    InFlight(Flight),
}

/// Either the cached answer, or the flight to wait on (and, when it is
/// new, to fly).
pub(super) enum Lookup {
    Cached(Arc<OcspAnswer>),
    Wait(Flight),
}

pub(super) struct Cache {
    max_bytes: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    slots: HashMap<Key, Slot>,
    bytes: usize,
}

impl Cache {
    pub(super) fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached answer for `key` at `now`, or the flight in progress, or
    /// a new flight registered for it.
    pub(super) fn lookup(&self, key: &Key, now: u64) -> Lookup {
        let mut inner = self.lock();
        match inner.slots.get(key) {
            Some(Slot::Ready {
                answer, expires, ..
            }) if now < *expires => return Lookup::Cached(Arc::clone(answer)),
            Some(Slot::InFlight(flight)) => return Lookup::Wait(Arc::clone(flight)),
            _ => {}
        }
        let flight: Flight = Arc::default();
        if let Some(Slot::Ready { cost, .. }) = inner
            .slots
            .insert(key.clone(), Slot::InFlight(Arc::clone(&flight)))
        {
            inner.bytes -= cost;
        }
        Lookup::Wait(flight)
    }

    /// The fresh answer for `key` if it was obtained for the certificate
    /// whose SHA-256 is `certificate`: then the issuer that `key` names is
    /// the one its signature was checked against.
    pub(super) fn confirmed(
        &self,
        key: &Key,
        certificate: &[u8; 32],
        now: u64,
    ) -> Option<Arc<OcspAnswer>> {
        match self.lock().slots.get(key) {
            Some(Slot::Ready {
                answer,
                expires,
                certificate: c,
                ..
            }) if now < *expires && c == certificate => Some(Arc::clone(answer)),
            _ => None,
        }
    }

    /// Ends `flight` for `key`: a good result is kept until `expires`
    /// (if the budget allows), a failure is forgotten so the next asker
    /// tries again.
    pub(super) fn land(
        &self,
        key: &Key,
        flight: &Flight,
        result: &Result<Arc<OcspAnswer>, OcspError>,
        expires: u64,
        now: u64,
        certificate: [u8; 32],
    ) {
        let mut inner = self.lock();
        let ours =
            matches!(inner.slots.get(key), Some(Slot::InFlight(f)) if Arc::ptr_eq(f, flight));
        if !ours {
            return;
        }
        inner.slots.remove(key);
        let Ok(answer) = result else { return };
        let cost = key.cost(answer);
        if expires <= now || cost > self.max_bytes {
            return;
        }
        inner.make_room(cost, self.max_bytes, now);
        inner.bytes += cost;
        inner.slots.insert(
            key.clone(),
            Slot::Ready {
                answer: Arc::clone(answer),
                expires,
                cost,
                certificate,
            },
        );
    }

    /// Bytes held by cached answers.
    pub(super) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Cached answers.
    pub(super) fn len(&self) -> usize {
        self.lock()
            .slots
            .values()
            .filter(|slot| matches!(slot, Slot::Ready { .. }))
            .count()
    }
}

impl Inner {
    /// Drops expired answers, then those expiring soonest, until `cost`
    /// more bytes fit.
    fn make_room(&mut self, cost: usize, max_bytes: usize, now: u64) {
        if self.bytes + cost <= max_bytes {
            return;
        }
        let mut freed = 0;
        self.slots.retain(|_, slot| match slot {
            Slot::Ready { expires, cost, .. } if *expires <= now => {
                freed += *cost;
                false
            }
            _ => true,
        });
        self.bytes -= freed;
        while self.bytes + cost > max_bytes {
            let soonest = self
                .slots
                .iter()
                .filter_map(|(key, slot)| match slot {
                    Slot::Ready { expires, .. } => Some((*expires, key)),
                    Slot::InFlight(_) => None,
                })
                .min_by_key(|(expires, _)| *expires)
                .map(|(_, key)| key.clone());
            let Some(key) = soonest else { return };
            if let Some(Slot::Ready { cost, .. }) = self.slots.remove(&key) {
                self.bytes -= cost;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocsp::OcspStatus;

    fn key(serial: u8) -> Key {
        Key {
            issuer_name_hash: vec![1; 20],
            issuer_key_hash: vec![2; 20],
            serial: vec![serial],
        }
    }

    fn answer() -> Arc<OcspAnswer> {
        Arc::new(OcspAnswer::for_tests(OcspStatus::Good))
    }

    fn fly(cache: &Cache, k: &Key, now: u64, expires: u64) {
        let Lookup::Wait(flight) = cache.lookup(k, now) else {
            panic!("expected a flight")
        };
        cache.land(k, &flight, &Ok(answer()), expires, now, [0; 32]);
    }

    #[test]
    fn coalesces_caches_expires_and_stays_in_budget() {
        let cache = Cache::new(10_000);
        let k = key(1);
        let Lookup::Wait(first) = cache.lookup(&k, 100) else {
            panic!()
        };
        // A second asker waits on the same flight.
        let Lookup::Wait(second) = cache.lookup(&k, 100) else {
            panic!()
        };
        assert!(Arc::ptr_eq(&first, &second));
        cache.land(&k, &first, &Ok(answer()), 200, 100, [7; 32]);
        assert!(cache.confirmed(&k, &[7; 32], 199).is_some());
        assert!(
            cache.confirmed(&k, &[8; 32], 199).is_none(),
            "another certificate"
        );
        assert!(matches!(cache.lookup(&k, 199), Lookup::Cached(_)));
        // Expired: a new flight, and no confirmation.
        assert!(cache.confirmed(&k, &[7; 32], 200).is_none());
        assert!(matches!(cache.lookup(&k, 200), Lookup::Wait(_)));

        // Failures are not kept.
        let k2 = key(2);
        let Lookup::Wait(flight) = cache.lookup(&k2, 100) else {
            panic!()
        };
        let error = OcspError::new(super::super::ErrorKind::Http, "down");
        cache.land(&k2, &flight, &Err(error), 200, 100, [0; 32]);
        let Lookup::Wait(again) = cache.lookup(&k2, 100) else {
            panic!()
        };
        assert!(!Arc::ptr_eq(&flight, &again));

        // The budget holds: a small cache keeps the latest-expiring.
        let one = key(9).cost(&answer());
        let small = Cache::new(one * 3);
        for serial in 10..20u8 {
            fly(&small, &key(serial), 100, 1000 + u64::from(serial));
        }
        assert_eq!(small.len(), 3);
        assert!(small.bytes() <= one * 3);
        assert!(matches!(small.lookup(&key(19), 100), Lookup::Cached(_)));
    }
}
