//! Chains that passed OCSP, remembered by the classifier's shared
//! `Verified` outcome: the verdict cache hands the same `Arc` to every
//! connection presenting the same chain, so a later connection is answered
//! by one lookup, without finding issuers or hashing CertIDs again. An
//! entry keeps its outcome alive (so the address cannot be another
//! outcome's), is for one trust-store generation, and lasts until the
//! first of its answers leaves the answer cache: a revocation is seen as
//! soon as without it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mtls_status::ClientAuthOutcome;

/// At most this many chains are remembered; beyond, the memo starts over.
const MAX_PASSED: usize = 1024;

#[derive(Default)]
pub(super) struct Passed {
    entries: Mutex<HashMap<usize, Entry>>,
}

struct Entry {
    outcome: Arc<ClientAuthOutcome>,
    generation: u64,
    /// Unix seconds from which the entry is not used.
    until: u64,
}

fn key(outcome: &Arc<ClientAuthOutcome>) -> usize {
    Arc::as_ptr(outcome) as usize
}

impl Passed {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `outcome` passed against store `generation`, still at `now`.
    pub(super) fn holds(
        &self,
        outcome: &Arc<ClientAuthOutcome>,
        generation: u64,
        now: u64,
    ) -> bool {
        self.lock().get(&key(outcome)).is_some_and(|entry| {
            Arc::ptr_eq(&entry.outcome, outcome)
                && entry.generation == generation
                && now < entry.until
        })
    }

    /// `outcome` passed against store `generation`, with answers good
    /// until `until`.
    pub(super) fn remember(&self, outcome: &Arc<ClientAuthOutcome>, generation: u64, until: u64) {
        let mut entries = self.lock();
        if entries.len() >= MAX_PASSED {
            entries.clear();
        }
        entries.insert(
            key(outcome),
            Entry {
                outcome: Arc::clone(outcome),
                generation,
                until,
            },
        );
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_outcome_generation_and_time() {
        let passed = Passed::default();
        let one = Arc::new(ClientAuthOutcome::None);
        let other = Arc::new(ClientAuthOutcome::None);
        passed.remember(&one, 7, 100);
        assert!(passed.holds(&one, 7, 99));
        assert!(!passed.holds(&one, 7, 100), "expired with its first answer");
        assert!(!passed.holds(&one, 8, 99), "another trust store");
        assert!(!passed.holds(&other, 7, 99), "another chain");
        for _ in 0..MAX_PASSED {
            passed.remember(&Arc::new(ClientAuthOutcome::None), 7, 100);
        }
        assert!(passed.len() <= MAX_PASSED);
    }
}
