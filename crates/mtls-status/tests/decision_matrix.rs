//! Every (mode, outcome) pair against DESIGN.md §2, and the answers each
//! rejection produces in both styles.

use mtls_status::{
    Answer, AnswerStyle, ClientAuthOutcome, ClientIdentity, Decision, InvalidCertificate,
    InvalidReason, ReasonKind, VerifyMode,
};
use mtls_testpki::Ca;

fn verified() -> ClientAuthOutcome {
    let root = Ca::root("Matrix Root").build();
    let leaf = root.leaf("alice").build();
    let identity = ClientIdentity::from_chain(leaf.chain()).expect("generated certificate parses");
    ClientAuthOutcome::Verified(identity)
}

fn invalid(kind: ReasonKind) -> ClientAuthOutcome {
    ClientAuthOutcome::Invalid(InvalidCertificate::new(InvalidReason::new(kind), None))
}

/// The expected decision, written out from the table rather than computed.
fn expected(mode: VerifyMode, outcome: &ClientAuthOutcome) -> Decision {
    use Decision::{CertificateInvalid as E495, CertificateRequired as E496, Pass};
    let untrusted = outcome
        .reason()
        .is_some_and(|r| matches!(r.openssl_code(), 18 | 19 | 20 | 21 | 27));
    match (outcome.label(), mode) {
        ("none", VerifyMode::On) => E496,
        ("none", _) => Pass,
        ("invalid", VerifyMode::Off) => Pass,
        ("invalid", VerifyMode::OptionalNoCa) if untrusted => Pass,
        ("invalid", _) => E495,
        ("verified", _) => Pass,
        (label, mode) => panic!("unexpected combination {label} / {mode}"),
    }
}

#[test]
fn every_mode_and_outcome() {
    let mut outcomes = vec![ClientAuthOutcome::None, verified()];
    outcomes.extend(ReasonKind::ALL.iter().map(|kind| invalid(*kind)));
    let mut passes_under_optional_no_ca = Vec::new();
    for mode in VerifyMode::ALL {
        for outcome in &outcomes {
            let decision = mode.decide(outcome);
            assert_eq!(decision, expected(mode, outcome), "{mode} / {outcome:?}");
            if let (VerifyMode::OptionalNoCa, Decision::Pass, Some(reason)) =
                (mode, decision, outcome.reason())
            {
                passes_under_optional_no_ca.push(reason.name());
            }
        }
    }
    assert_eq!(
        passes_under_optional_no_ca,
        [
            "self_signed",
            "self_signed_in_chain",
            "unknown_issuer",
            "unknown_leaf_issuer",
            "untrusted"
        ]
    );
}

#[test]
fn chain_too_long_is_not_tolerated_by_optional_no_ca() {
    // nginx reports an over-long chain as 20 and lets it through; we name it 22 and refuse.
    let outcome = invalid(ReasonKind::ChainTooLong);
    assert_eq!(
        VerifyMode::OptionalNoCa.decide(&outcome),
        Decision::CertificateInvalid
    );
    assert_eq!(
        outcome.ssl_client_verify(),
        "FAILED:certificate chain too long"
    );
}

#[test]
fn decisions_map_to_nginx_statuses() {
    assert_eq!(Decision::Pass.status(), None);
    assert_eq!(
        Decision::CertificateRequired.status().map(|s| s.as_u16()),
        Some(496)
    );
    assert_eq!(
        Decision::CertificateInvalid.status().map(|s| s.as_u16()),
        Some(495)
    );
    assert!(VerifyMode::On.requests_certificate());
    assert!(VerifyMode::OptionalNoCa.requests_certificate());
    assert!(!VerifyMode::Off.requests_certificate());
}

#[test]
fn answers_for_every_rejection_in_both_styles() {
    let outcomes = [
        ClientAuthOutcome::None,
        invalid(ReasonKind::Expired),
        invalid(ReasonKind::UnknownIssuer),
    ];
    for outcome in &outcomes {
        let decision = VerifyMode::On.decide(outcome);
        let explicit =
            Answer::for_decision(AnswerStyle::Explicit, decision, outcome, &[]).expect("rejected");
        assert_eq!(explicit.status(), outcome.status());
        let body: serde_json::Value = serde_json::from_slice(explicit.body()).expect("json");
        let expected_reason = outcome
            .reason()
            .map_or("certificate_required", |r| r.name());
        assert_eq!(body["reason"], expected_reason);

        let nginx =
            Answer::for_decision(AnswerStyle::Nginx, decision, outcome, &[]).expect("rejected");
        assert_eq!(nginx.status().as_u16(), 400);
        let page = String::from_utf8_lossy(nginx.body()).into_owned();
        let text = if outcome.is_none() {
            "No required SSL certificate was sent"
        } else {
            "The SSL certificate error"
        };
        assert!(page.contains(&format!("<center>{text}</center>")), "{page}");
    }
}

#[test]
fn verified_outcome_exposes_identity_and_success() {
    let outcome = verified();
    assert_eq!(outcome.ssl_client_verify(), "SUCCESS");
    assert_eq!(outcome.status().as_u16(), 200);
    let identity = outcome.identity().expect("verified identity");
    assert_eq!(identity.subject_dn(), "CN=alice");
    assert_eq!(identity.issuer_dn(), "CN=Matrix Root");
    assert!(outcome.reason().is_none());
}
