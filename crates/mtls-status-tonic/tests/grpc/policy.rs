//! A policy needs a verified identity: a client the mode lets through
//! without one gets `UNAUTHENTICATED` (gRPC reserves `PERMISSION_DENIED` for
//! identified callers), with the reason it would get under `On`.

use std::sync::Arc;

use mtls_status::{ClientAuthOutcome, ClientIdentity, InvalidCertificate, ReasonKind, VerifyMode};
use mtls_status_tonic::{ClientAuthCheck, ClientAuthInterceptor, ClientAuthRequestExt};
use tonic::Code;
use tonic::service::Interceptor;

use crate::harness::mtls_metadata;

fn check(
    interceptor: ClientAuthInterceptor,
    outcome: ClientAuthOutcome,
) -> Result<tonic::Request<()>, tonic::Status> {
    let mut request = tonic::Request::new(());
    request.extensions_mut().insert(Arc::new(outcome));
    let mut interceptor = interceptor;
    interceptor.call(request)
}

fn untrusted() -> ClientAuthOutcome {
    ClientAuthOutcome::Invalid(InvalidCertificate::new(
        ReasonKind::UnknownLeafIssuer.into(),
        None,
    ))
}

#[test]
fn optional_with_policy_and_no_certificate_is_unauthenticated_496() {
    let status = check(
        ClientAuthCheck::new(VerifyMode::Optional)
            .authorize(|_: &ClientIdentity| true)
            .interceptor(),
        ClientAuthOutcome::None,
    )
    .expect_err("policy needs an identity");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        mtls_metadata(&status),
        (Some("496"), Some("certificate_required"))
    );
    // Without a policy, Optional lets it through.
    assert!(
        check(
            ClientAuthInterceptor::new(VerifyMode::Optional),
            ClientAuthOutcome::None
        )
        .is_ok()
    );
}

#[test]
fn optional_no_ca_passes_an_untrusted_issuer_unless_a_policy_needs_an_identity() {
    let request = check(
        ClientAuthInterceptor::new(VerifyMode::OptionalNoCa),
        untrusted(),
    )
    .expect("optional_no_ca passes an untrusted issuer");
    // The handler sees why, and no verified identity.
    assert_eq!(
        request
            .client_auth()
            .and_then(|o| o.reason())
            .map(|r| r.name()),
        Some("unknown_leaf_issuer")
    );
    assert!(request.client_identity().is_none());

    let status = check(
        ClientAuthCheck::new(VerifyMode::OptionalNoCa)
            .authorize(|_: &ClientIdentity| true)
            .interceptor(),
        untrusted(),
    )
    .expect_err("policy needs an identity");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        mtls_metadata(&status),
        (Some("495"), Some("unknown_leaf_issuer"))
    );
}

#[test]
fn optional_no_ca_still_refuses_other_failures() {
    let expired =
        ClientAuthOutcome::Invalid(InvalidCertificate::new(ReasonKind::Expired.into(), None));
    let status = check(
        ClientAuthInterceptor::new(VerifyMode::OptionalNoCa),
        expired,
    )
    .expect_err("expired is never passed by optional_no_ca");
    assert_eq!(mtls_metadata(&status), (Some("495"), Some("expired")));
}

#[test]
fn closure_policies_give_their_explanation() {
    let pki = mtls_testpki::Pki::generate();
    let identity = ClientIdentity::from_chain(pki.valid_from_root.chain()).expect("parses");
    let status = check(
        ClientAuthCheck::new(VerifyMode::On)
            .authorize(|_: &ClientIdentity| Err::<(), _>("only on Tuesdays"))
            .interceptor(),
        ClientAuthOutcome::Verified(identity),
    )
    .expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status
            .message()
            .ends_with("not authorized for this service: only on Tuesdays."),
        "{}",
        status.message()
    );
}

/// The full table for a service with a policy, mode `Off` included: the
/// HTTP layer answers 403 to every request without a verified certificate;
/// the gRPC check answers `UNAUTHENTICATED` with the reason it would give
/// under `On`, and `PERMISSION_DENIED` only to a verified client the policy
/// refuses.
#[test]
fn policy_table_in_every_mode() {
    let pki = mtls_testpki::Pki::generate();
    let identity = ClientIdentity::from_chain(pki.valid_from_root.chain()).expect("parses");
    let expired =
        || ClientAuthOutcome::Invalid(InvalidCertificate::new(ReasonKind::Expired.into(), None));
    for mode in VerifyMode::ALL {
        let allow = ClientAuthCheck::new(mode)
            .authorize(|_: &ClientIdentity| true)
            .interceptor();
        let deny = ClientAuthCheck::new(mode)
            .authorize(|_: &ClientIdentity| false)
            .interceptor();
        let status = check(allow.clone(), ClientAuthOutcome::None).expect_err("no identity");
        assert_eq!(status.code(), Code::Unauthenticated, "{mode}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("496"), Some("certificate_required")),
            "{mode}"
        );
        let status = check(allow.clone(), untrusted()).expect_err("no identity");
        assert_eq!(status.code(), Code::Unauthenticated, "{mode}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("495"), Some("unknown_leaf_issuer")),
            "{mode}"
        );
        let status = check(allow.clone(), expired()).expect_err("no identity");
        assert_eq!(status.code(), Code::Unauthenticated, "{mode}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("495"), Some("expired")),
            "{mode}"
        );
        let verified = ClientAuthOutcome::Verified(identity.clone());
        assert!(check(allow, verified.clone()).is_ok(), "{mode}");
        let status = check(deny, verified).expect_err("refused by the policy");
        assert_eq!(status.code(), Code::PermissionDenied, "{mode}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("403"), Some("not_authorized")),
            "{mode}"
        );
    }
}

/// A policy tolerating `expired`: the RPC passes with the reason in the
/// request's extensions while time is the only failure, within the grace.
#[test]
fn a_tolerated_expired_certificate_passes_with_the_reason() {
    use mtls_status::{AnswerOptions, ClientAuthPolicy, Tolerance, Tolerated};

    let pki = mtls_testpki::Pki::generate();
    let presented = ClientIdentity::from_chain(pki.expired.chain()).ok();
    let expired = |valid_at: Option<u64>| {
        let invalid = InvalidCertificate::new(ReasonKind::Expired.into(), presented.clone());
        ClientAuthOutcome::Invalid(match valid_at {
            Some(secs) => {
                invalid.with_valid_at(mtls_testpki::rustls_pki_types::UnixTime::since_unix_epoch(
                    std::time::Duration::from_secs(secs),
                ))
            }
            None => invalid,
        })
    };
    let policy = ClientAuthPolicy::new(VerifyMode::On)
        .tolerate(Tolerance::expired(std::time::Duration::from_secs(3600)));
    let interceptor =
        || ClientAuthCheck::with_policy(policy.clone(), AnswerOptions::default()).interceptor();
    let now = mtls_testpki::unix_now().as_secs();
    let request = check(interceptor(), expired(Some(now - 60))).expect("tolerated");
    assert_eq!(
        request
            .extensions()
            .get::<Tolerated>()
            .map(|t| t.reason().name()),
        Some("expired")
    );
    assert_eq!(
        mtls_status_tonic::ClientAuthRequestExt::tolerated(&request).map(|r| r.name()),
        Some("expired"),
        "the handler's accessor"
    );
    for outcome in [expired(Some(now - 7200)), expired(None)] {
        let status = check(interceptor(), outcome).expect_err("not tolerated");
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(mtls_metadata(&status), (Some("495"), Some("expired")));
    }
}
