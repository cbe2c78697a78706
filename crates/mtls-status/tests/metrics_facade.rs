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

type Snapshot = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

/// The value of `name` with exactly `want` labels.
fn value<'a>(snapshot: &'a Snapshot, name: &str, want: &[(&str, &str)]) -> Option<&'a DebugValue> {
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    snapshot
        .iter()
        .find(|(key, ..)| key.key().name() == name && labels(key) == want)
        .map(|(.., value)| value)
}

fn gauge(snapshot: &Snapshot, name: &str, want: &[(&str, &str)]) -> f64 {
    match value(snapshot, name, want) {
        Some(DebugValue::Gauge(v)) => v.into_inner(),
        other => panic!("{name} {want:?}: gauge missing or wrong kind: {other:?}"),
    }
}

#[test]
fn refusals_are_counted_by_authorizer_name() {
    use mtls_status::{AllowList, Authorize};

    let ca = Ca::root("Metrics CA").build();
    let alice = ca.leaf("alice").build();
    let identity = ClientIdentity::from_chain(alice.chain()).expect("generated certificate parses");
    let verified = ClientAuthOutcome::Verified(identity);
    let allow_list =
        ClientAuthPolicy::new(VerifyMode::On).authorize(AllowList::new().subject_dn("CN=bob"));
    let closure = ClientAuthPolicy::new(VerifyMode::On).authorize(|_: &ClientIdentity| false);
    let named = ClientAuthPolicy::new(VerifyMode::On)
        .authorize((|_: &ClientIdentity| false).named("admins"));
    let passes =
        ClientAuthPolicy::new(VerifyMode::On).authorize(AllowList::new().subject_dn("CN=alice"));

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let ctx = |_: &_| LogContext::new("metrics test");
        allow_list.check(Some(&verified), ctx);
        allow_list.check(Some(&verified), ctx);
        closure.check(Some(&verified), ctx);
        named.check(Some(&verified), ctx);
        assert!(passes.check(Some(&verified), ctx).is_pass());
        // No verified identity: a 403 of the mode, not of a policy.
        allow_list.check(Some(&ClientAuthOutcome::None), ctx);
    });
    let snapshot = snapshotter.snapshot().into_vec();
    let denied = |authorizer| match value(
        &snapshot,
        "mtls_client_auth_denied_total",
        &[("authorizer", authorizer)],
    ) {
        Some(DebugValue::Counter(n)) => *n,
        None => 0,
        other => panic!("not a counter: {other:?}"),
    };
    assert_eq!(denied("allow_list"), 2);
    assert_eq!(denied("custom"), 1);
    assert_eq!(denied("admins"), 1);
    let total: u64 = snapshot
        .iter()
        .filter_map(|(key, .., value)| match value {
            DebugValue::Counter(n) if key.key().name() == "mtls_client_auth_denied_total" => {
                Some(*n)
            }
            _ => None,
        })
        .sum();
    assert_eq!(total, 4);
    assert_eq!(
        counter(&snapshot, "verified", "rejected", "not_authorized"),
        4
    );
}

#[test]
fn trust_store_gauges_and_handshake_failures() {
    use mtls_status::metrics::{
        HandshakeFailure, TrustStoreGauges, record_handshake_failure, record_trust_store,
    };

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        record_trust_store(
            &TrustStoreGauges::new(Some(1_900_000_000), 2, 1)
                .crl("CN=Gauge Issuing CA", Some(1_800_000_500), 2)
                .crl("CN=Gauge Issuing CA", Some(1_800_000_000), 3)
                .crl("CN=Gauge Root CA", None, 0)
                .crl("CN=Gauge Gone CA", Some(1_700_000_000), 1),
        );
        record_handshake_failure(HandshakeFailure::PlainHttp);
        record_handshake_failure(HandshakeFailure::PlainHttp);
        record_handshake_failure(HandshakeFailure::Timeout);
    });
    let first = snapshotter.snapshot().into_vec();
    assert_eq!(
        gauge(
            &first,
            "mtls_trust_store_earliest_not_after_timestamp_seconds",
            &[]
        ),
        1_900_000_000.0
    );
    assert_eq!(
        gauge(
            &first,
            "mtls_trust_store_ca_certificates",
            &[("role", "anchor")]
        ),
        2.0
    );
    assert_eq!(
        gauge(
            &first,
            "mtls_trust_store_ca_certificates",
            &[("role", "intermediate")]
        ),
        1.0
    );
    let issuing = [("issuer", "CN=Gauge Issuing CA")];
    assert_eq!(
        gauge(&first, "mtls_crl_next_update_timestamp_seconds", &issuing),
        1_800_000_000.0
    );
    assert_eq!(
        gauge(&first, "mtls_crl_revoked_certificates", &issuing),
        5.0
    );
    let root = [("issuer", "CN=Gauge Root CA")];
    assert!(value(&first, "mtls_crl_next_update_timestamp_seconds", &root).is_none());
    assert_eq!(gauge(&first, "mtls_crl_revoked_certificates", &root), 0.0);
    assert!(matches!(
        value(
            &first,
            "mtls_handshake_failures_total",
            &[("cause", "plain_http")]
        ),
        Some(DebugValue::Counter(2))
    ));
    assert!(matches!(
        value(
            &first,
            "mtls_handshake_failures_total",
            &[("cause", "timeout")]
        ),
        Some(DebugValue::Counter(1))
    ));

    // A reload without the "Gone" CRL and without CAs.
    metrics::with_local_recorder(&recorder, || {
        record_trust_store(&TrustStoreGauges::new(None, 0, 0).crl(
            "CN=Gauge Issuing CA",
            Some(1_800_009_000),
            1,
        ));
    });
    let second = snapshotter.snapshot().into_vec();
    assert!(
        gauge(
            &second,
            "mtls_trust_store_earliest_not_after_timestamp_seconds",
            &[]
        )
        .is_nan()
    );
    assert_eq!(
        gauge(&second, "mtls_crl_next_update_timestamp_seconds", &issuing),
        1_800_009_000.0
    );
    let gone = [("issuer", "CN=Gauge Gone CA")];
    assert!(gauge(&second, "mtls_crl_next_update_timestamp_seconds", &gone).is_nan());
    assert!(gauge(&second, "mtls_crl_revoked_certificates", &gone).is_nan());
}
