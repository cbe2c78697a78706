//! With feature `metrics`, `ClientAuthPolicy::check` records every request
//! through the `metrics` facade under the names of `mtls_status::metrics`.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use mtls_status::{
    ClientAuthOutcome, ClientAuthPolicy, ClientIdentity, InvalidCertificate, InvalidReason,
    LogContext, ReasonKind, VerifyMode,
};
use mtls_testpki::Ca;

fn labels(key: &CompositeKey) -> Vec<(String, String)> {
    let mut labels: Vec<_> = key
        .key()
        .labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    labels.sort();
    labels
}

fn counter(
    snapshot: &[(
        CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        DebugValue,
    )],
    outcome: &str,
    verdict: &str,
    reason: &str,
) -> u64 {
    let want = vec![
        ("outcome".to_owned(), outcome.to_owned()),
        ("reason".to_owned(), reason.to_owned()),
        ("verdict".to_owned(), verdict.to_owned()),
    ];
    snapshot
        .iter()
        .filter(|(key, ..)| {
            key.kind() == MetricKind::Counter
                && key.key().name() == "mtls_client_auth_requests_total"
                && labels(key) == want
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => *n,
            other => panic!("not a counter: {other:?}"),
        })
        .sum()
}

#[test]
fn check_records_verdicts_by_outcome_and_reason_and_soonest_client_expiry() {
    let ca = Ca::root("Metrics CA").build();
    let alice = ca.leaf("alice").build();
    let identity = ClientIdentity::from_chain(alice.chain()).expect("generated certificate parses");
    let not_after = identity.not_after().as_secs();
    let verified = ClientAuthOutcome::Verified(identity);
    let expired = ClientAuthOutcome::Invalid(InvalidCertificate::new(
        InvalidReason::new(ReasonKind::Expired),
        None,
    ));
    let strict = ClientAuthPolicy::new(VerifyMode::On);
    let nobody = ClientAuthPolicy::new(VerifyMode::On).authorize(|_: &ClientIdentity| false);

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let ctx = |_: &_| LogContext::new("metrics test");
        for _ in 0..3 {
            strict.check(Some(&verified), ctx);
        }
        strict.check(Some(&expired), ctx);
        strict.check(Some(&expired), ctx);
        strict.check(Some(&ClientAuthOutcome::None), ctx);
        nobody.check(Some(&verified), ctx);
        strict.check(None, ctx);
    });
    let snapshot = snapshotter.snapshot().into_vec();

    assert_eq!(counter(&snapshot, "verified", "passed", ""), 3);
    assert_eq!(counter(&snapshot, "invalid", "rejected", "expired"), 2);
    assert_eq!(
        counter(&snapshot, "none", "rejected", "certificate_required"),
        1
    );
    assert_eq!(
        counter(&snapshot, "verified", "rejected", "not_authorized"),
        1
    );
    assert_eq!(
        counter(&snapshot, "missing", "rejected", "missing_outcome"),
        1
    );
    let total: u64 = snapshot
        .iter()
        .filter_map(|(key, .., value)| match value {
            DebugValue::Counter(n) if key.key().name() == "mtls_client_auth_requests_total" => {
                Some(*n)
            }
            _ => None,
        })
        .sum();
    assert_eq!(total, 8);

    let gauge = snapshot
        .iter()
        .find(|(key, ..)| {
            key.key().name() == "mtls_client_cert_soonest_not_after_timestamp_seconds"
        })
        .map(|(.., value)| value);
    #[allow(clippy::cast_precision_loss)]
    let want = not_after as f64;
    match gauge {
        Some(DebugValue::Gauge(v)) => assert_eq!(v.into_inner(), want),
        other => panic!("gauge missing or wrong kind: {other:?}"),
    }
}
