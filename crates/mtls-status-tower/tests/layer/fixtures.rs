//! Outcomes built from real certificates, generated once per test binary.

use std::sync::{Arc, OnceLock};

use mtls_status::{
    ClientAuthOutcome, ClientIdentity, InvalidCertificate, InvalidReason, ReasonKind,
};
use mtls_testpki::{Leaf, Pki};

/// Every outcome the tests need, plus the identities behind them.
pub(crate) struct Fixtures {
    pub(crate) none: Arc<ClientAuthOutcome>,
    /// alice, issued via the intermediate, with DNS, URI (SPIFFE) and email SANs.
    pub(crate) alice: Arc<ClientAuthOutcome>,
    /// bob, issued by the root, with other names in another trust domain.
    pub(crate) bob: Arc<ClientAuthOutcome>,
    /// A certificate from a CA the server does not trust (OpenSSL 20).
    pub(crate) unknown_issuer: Arc<ClientAuthOutcome>,
    /// A lone self-signed certificate (OpenSSL 18).
    pub(crate) self_signed: Arc<ClientAuthOutcome>,
    /// An expired certificate (OpenSSL 10).
    pub(crate) expired: Arc<ClientAuthOutcome>,
    /// A certificate that is not yet valid (OpenSSL 9).
    pub(crate) not_yet_valid: Arc<ClientAuthOutcome>,
    /// A revoked certificate (OpenSSL 23).
    pub(crate) revoked: Arc<ClientAuthOutcome>,
    /// A serverAuth-only certificate (OpenSSL 26).
    pub(crate) wrong_purpose: Arc<ClientAuthOutcome>,
}

pub(crate) fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let pki = Pki::generate();
        let alice = pki
            .intermediate
            .leaf("alice")
            .dns("alice.example.org")
            .uri("spiffe://prod.example.org/ns/web/sa/alice")
            .email("Alice@Example.org")
            .build();
        let bob = pki
            .root
            .leaf("bob")
            .dns("bob.example.net")
            .uri("spiffe://dev.example.net/ns/batch/sa/bob")
            .email("bob@example.net")
            .build();
        Fixtures {
            none: Arc::new(ClientAuthOutcome::None),
            alice: verified(&alice),
            bob: verified(&bob),
            unknown_issuer: invalid(ReasonKind::UnknownIssuer, &pki.unknown_ca),
            self_signed: invalid(ReasonKind::SelfSigned, &pki.self_signed),
            expired: invalid(ReasonKind::Expired, &pki.expired),
            not_yet_valid: invalid(ReasonKind::NotYetValid, &pki.not_yet_valid),
            revoked: invalid(ReasonKind::Revoked, &pki.revoked),
            wrong_purpose: invalid(ReasonKind::InvalidPurpose, &pki.server_auth_only),
        }
    })
}

pub(crate) fn identity(leaf: &Leaf) -> ClientIdentity {
    ClientIdentity::from_chain(leaf.chain()).expect("test certificates parse")
}

fn verified(leaf: &Leaf) -> Arc<ClientAuthOutcome> {
    Arc::new(ClientAuthOutcome::Verified(identity(leaf)))
}

fn invalid(kind: ReasonKind, leaf: &Leaf) -> Arc<ClientAuthOutcome> {
    let presented = identity(leaf);
    let reason = InvalidReason::new(kind).with_certificate(0, presented.subject_dn());
    Arc::new(ClientAuthOutcome::Invalid(InvalidCertificate::new(
        reason,
        Some(presented),
    )))
}

impl Fixtures {
    /// The identity of a verified outcome.
    pub(crate) fn id(outcome: &ClientAuthOutcome) -> &ClientIdentity {
        outcome
            .presented_identity()
            .expect("outcome with a certificate")
    }

    /// Every `Invalid` outcome with whether its reason is an untrusted issuer.
    pub(crate) fn invalids(&self) -> [(&'static str, &Arc<ClientAuthOutcome>, bool); 6] {
        [
            ("unknown_issuer", &self.unknown_issuer, true),
            ("self_signed", &self.self_signed, true),
            ("expired", &self.expired, false),
            ("not_yet_valid", &self.not_yet_valid, false),
            ("revoked", &self.revoked, false),
            ("invalid_purpose", &self.wrong_purpose, false),
        ]
    }
}
