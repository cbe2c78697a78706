//! Where the time goes: the per-connection steps in which (a) and (b)
//! differ, each timed in a loop on this thread, outside any handshake.

use std::time::{Duration, Instant};

use mtls_status::{ClientIdentity, VerifyMode};
use rustls::pki_types::UnixTime;

use crate::BoxError;
use crate::report::median;
use crate::setup::Setup;

/// Rounds over all steps (interleaved, so machine noise hits every step
/// alike); the median of the rounds is printed.
const ROUNDS: usize = 7;
/// Time spent on each step per round.
const BUDGET: Duration = Duration::from_millis(40);

pub(crate) fn breakdown(setup: &Setup) -> Result<(), BoxError> {
    let chain = &setup.client_chain;
    let (leaf, intermediates) = chain.split_first().ok_or("empty client chain")?;
    let webpki = setup.webpki_verifier()?;
    let cold = setup.classifier(false)?;
    let cached = setup.classifier(true)?;
    let deferred = cached.verifier(VerifyMode::On);
    let now = UnixTime::now();
    if webpki.verify_client_cert(leaf, intermediates, now).is_err()
        || !cold.classify(Some(chain)).is_verified()
        || !cached.classify(Some(chain)).is_verified()
        || ClientIdentity::from_chain(chain.clone()).is_err()
    {
        return Err("the client chain does not verify".into());
    }
    type Step<'a> = (&'static str, Box<dyn Fn() -> bool + 'a>);
    let steps: [Step<'_>; 5] = [
        (
            "(a) in handshake: WebPkiClientVerifier::verify_client_cert",
            Box::new(|| webpki.verify_client_cert(leaf, intermediates, now).is_ok()),
        ),
        (
            "(b) in handshake: deferred verify_client_cert (parse only)",
            Box::new(|| {
                deferred
                    .verify_client_cert(leaf, intermediates, now)
                    .is_ok()
            }),
        ),
        (
            "(b) after it: Classifier::classify, cache hit",
            Box::new(|| cached.classify(Some(chain)).is_verified()),
        ),
        (
            "(b0) after it: Classifier::classify, no cache",
            Box::new(|| cold.classify(Some(chain)).is_verified()),
        ),
        (
            "     of which ClientIdentity::from_chain",
            Box::new(|| ClientIdentity::from_chain(chain.clone()).is_ok()),
        ),
    ];
    let mut timings: Vec<Vec<f64>> = steps.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for ((_, step), timings) in steps.iter().zip(&mut timings) {
            timings.push(time_per_call(step.as_ref()).as_secs_f64() * 1e6);
        }
    }
    println!("\nper-connection steps that differ (µs per call, one thread, median of {ROUNDS}):");
    for ((name, _), timings) in steps.iter().zip(timings) {
        println!("  {name:<62} {:>8.2}", median(timings).unwrap_or(f64::NAN));
    }
    println!();
    Ok(())
}

/// The mean time of one call of `step`, calling it for [`BUDGET`].
pub(crate) fn time_per_call(step: &dyn Fn() -> bool) -> Duration {
    let start = Instant::now();
    let mut calls: u32 = 0;
    while start.elapsed() < BUDGET {
        for _ in 0..8 {
            std::hint::black_box(step());
        }
        calls += 8;
    }
    start.elapsed() / calls
}
