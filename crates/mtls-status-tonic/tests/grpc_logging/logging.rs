//! Rejections are logged like the HTTP layer's: nginx's text, the stable
//! reason, the status, plus the gRPC status, the RPC and the peer.

use std::convert::Infallible;
use std::sync::Arc;

use mtls_status::{ClientAuthOutcome, ClientIdentity, InvalidCertificate, ReasonKind, VerifyMode};
use mtls_status_tonic::{
    AllowList, ClientAuthCheck, ClientAuthInterceptor, GrpcClientAuthLayer, MtlsConnectInfo,
};
use mtls_testpki::Pki;
use mtls_testpki::capture::Capture;
use tonic::service::Interceptor;
use tower::{Layer, Service, service_fn};
use tracing::Level;

/// The events logged while `interceptor` checks a request with `outcome`
/// (and, with `peer`, tonic's connect info).
fn intercept(
    interceptor: &ClientAuthInterceptor,
    outcome: Option<ClientAuthOutcome>,
) -> Vec<(Level, String)> {
    let capture = Capture::default();
    let mut request = tonic::Request::new(());
    if let Some(outcome) = outcome {
        request.extensions_mut().insert(MtlsConnectInfo::new(
            Arc::new(outcome),
            Some(([127, 0, 0, 1], 40000).into()),
            None,
        ));
    }
    let mut interceptor = interceptor.clone();
    tracing::subscriber::with_default(capture.clone(), || {
        let _ = interceptor.call(request);
    });
    capture.take()
}

fn identity(leaf: &mtls_testpki::Leaf) -> ClientIdentity {
    ClientIdentity::from_chain(leaf.chain()).expect("parses")
}

fn only_event(events: &[(Level, String)]) -> (Level, &str) {
    assert_eq!(events.len(), 1, "{events:#?}");
    (events[0].0, events[0].1.as_str())
}

#[test]
fn certificate_required_is_logged_with_nginx_text() {
    let events = intercept(
        &ClientAuthInterceptor::new(VerifyMode::On),
        Some(ClientAuthOutcome::None),
    );
    let (level, fields) = only_event(&events);
    assert_eq!(level, Level::INFO);
    assert!(
        fields.starts_with("message=client sent no required SSL certificate "),
        "{fields}"
    );
    for field in [
        "reason=certificate_required ",
        "status=496 ",
        "grpc_status=UNAUTHENTICATED ",
        "mode=on ",
        "peer=127.0.0.1:40000 ",
    ] {
        assert!(fields.contains(field), "{field} missing in {fields}");
    }
}

#[test]
fn invalid_certificate_is_logged_with_the_openssl_code_and_subject() {
    let pki = Pki::generate();
    let expired = ClientAuthOutcome::Invalid(InvalidCertificate::new(
        ReasonKind::Expired.into(),
        Some(identity(&pki.expired)),
    ));
    let events = intercept(
        &ClientAuthInterceptor::new(VerifyMode::Optional),
        Some(expired),
    );
    let (level, fields) = only_event(&events);
    assert_eq!(level, Level::INFO);
    assert!(
        fields.starts_with(
            "message=client SSL certificate verify error: (10:certificate has expired) "
        ),
        "{fields}"
    );
    for field in [
        "reason=expired ",
        "status=495 ",
        "subject=CN=client-expired ",
        "mode=optional ",
    ] {
        assert!(fields.contains(field), "{field} missing in {fields}");
    }
}

#[test]
fn refusal_by_policy_is_logged_with_why() {
    let pki = Pki::generate();
    let interceptor = ClientAuthCheck::new(VerifyMode::On)
        .authorize(AllowList::new().uri("spiffe://example.org/nobody"))
        .interceptor();
    let events = intercept(
        &interceptor,
        Some(ClientAuthOutcome::Verified(identity(&pki.valid_from_root))),
    );
    let (level, fields) = only_event(&events);
    assert_eq!(level, Level::INFO);
    assert!(
        fields.starts_with(
            "message=client SSL certificate not authorized: not in this resource's allow-list "
        ),
        "{fields}"
    );
    for field in [
        "reason=not_authorized ",
        "status=403 ",
        "grpc_status=PERMISSION_DENIED ",
        "subject=CN=client-valid ",
    ] {
        assert!(fields.contains(field), "{field} missing in {fields}");
    }
}

#[test]
fn passing_requests_log_nothing() {
    let pki = Pki::generate();
    let events = intercept(
        &ClientAuthInterceptor::new(VerifyMode::On),
        Some(ClientAuthOutcome::Verified(identity(&pki.valid_from_root))),
    );
    assert!(events.is_empty(), "{events:#?}");
}

#[test]
fn missing_outcome_is_an_error_naming_the_fix_and_the_rpc() {
    let capture = Capture::default();
    let mut service = GrpcClientAuthLayer::new(VerifyMode::Off).layer(service_fn(
        |_request: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
        },
    ));
    let request = http::Request::post("/greeter.v1.Greeter/SayHello")
        .body(())
        .expect("request");
    tracing::subscriber::with_default(capture.clone(), || {
        // The check runs in `call`; the answer is ready in the future.
        drop(service.call(request));
    });
    let events = capture.take();
    let (level, fields) = only_event(&events);
    assert_eq!(level, Level::ERROR);
    for field in [
        "reason=missing_outcome ",
        "status=500 ",
        "grpc_status=INTERNAL ",
        "rpc=/greeter.v1.Greeter/SayHello ",
        "serve_with_incoming(mtls_status_tonic::incoming(listener))",
    ] {
        assert!(fields.contains(field), "{field} missing in {fields}");
    }
}
