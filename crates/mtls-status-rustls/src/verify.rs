//! Classifying one presented chain against one trust-store snapshot: run
//! rustls-webpki, then turn its answer into an nginx-grade verdict.

use std::cell::RefCell;
use std::time::Duration;

use mtls_status::{
    ClientAuthOutcome, ClientIdentity, InvalidCertificate, InvalidReason, ReasonKind,
};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use webpki::{
    CertRevocationList, ExpirationPolicy, ExtendedKeyUsageValidator, KeyPurposeId,
    KeyPurposeIdIter, KeyUsage, RequiredEkuNotFoundContext, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy, VerifiedPath,
};

use crate::cache::Window;
use crate::chain::{ChainView, Node};
use crate::error_map::reason_kind;
use crate::names;
use crate::policy::{CrlScope, EkuPolicy, oid_to_string};
use crate::rfc5280::{self, Violation};
use crate::search_bound::{self, MAX_SEARCH_READS};
use crate::svid;
use crate::times::{self, Canonical, Restoring};
use crate::trust_store::TrustStore;
use mtls_status::der::{Certificate as ParsedCert, KeyUsage as KeyUsageExt, Reader, tag};

/// The most intermediates rustls-webpki follows when building a path.
pub const MAX_SUPPORTED_DEPTH: usize = 6;

/// The verification policy of a classifier.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) max_depth: usize,
    pub(crate) crl_scope: CrlScope,
    pub(crate) allow_unknown_revocation: bool,
    pub(crate) enforce_crl_expiry: bool,
    pub(crate) eku: EkuPolicy,
    /// The leaf must be an X509-SVID ([`svid`]).
    pub(crate) x509_svid: bool,
}

/// A verdict and the time window in which it holds (`None`: do not cache).
pub(crate) struct Verdict {
    pub(crate) outcome: ClientAuthOutcome,
    pub(crate) window: Option<Window>,
}

fn unix(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// A certificate time in whole seconds, clamped to the epoch (as `now`
/// never precedes it, the clamp changes no comparison).
fn secs(time: mtls_status::der::Time<'_>) -> u64 {
    time.unix_time().as_secs()
}

/// Classifies a non-empty presented chain (leaf first).
pub(crate) fn classify(
    settings: &Settings,
    algs: &WebPkiSupportedAlgorithms,
    store: &TrustStore,
    chain: &[CertificateDer<'_>],
    now: UnixTime,
) -> Verdict {
    let t = now.as_secs();
    let parsed: Vec<Option<ParsedCert<'_>>> = chain
        .iter()
        .map(|c| ParsedCert::parse(c.as_ref()).ok())
        .collect();
    // Every time a check compares `now` with is a breakpoint; between two
    // consecutive ones the verdict cannot change. A certificate we cannot
    // read has unknown times, so such a verdict is not cached.
    let window = if parsed.iter().all(Option::is_some) {
        Window::around(
            t,
            store.breakpoints(),
            parsed
                .iter()
                .flatten()
                .flat_map(|c| [secs(c.not_before()), secs(c.not_after())]),
        )
    } else {
        None
    };
    let check = Check {
        settings,
        algs,
        store,
        chain,
        parsed: &parsed,
        now,
    };
    let outcome = match verify(&check, now) {
        Ok(()) => verified(chain),
        Err(reason) => {
            let valid_at = only_time_fails(&check, &reason);
            let invalid =
                InvalidCertificate::new((*reason).with_time(now), presented_identity(chain));
            ClientAuthOutcome::Invalid(match valid_at {
                Some(instant) => invalid.with_valid_at(instant),
                None => invalid,
            })
        }
    };
    Verdict { outcome, window }
}

/// For an `expired` (`not_yet_valid`) verdict: the instant at which the
/// chain verifies when its certificates' validity is checked then and
/// everything else now, if there is one: the offending certificate's
/// last valid second (notBefore), moved back (forward) to the next offending bound
/// while another certificate of the chain is the one out of its validity,
/// a bounded number of times. `None` when something other than time fails
/// too (an expired certificate from an unknown CA, revoked, too deep, ...),
/// so that a route's tolerance of `expired` never accepts those.
fn only_time_fails(check: &Check<'_, '_>, reason: &InvalidReason) -> Option<UnixTime> {
    let kind = reason.kind();
    // The last second a certificate is valid (it has expired at its
    // notAfter), or its first.
    let bound = |reason: &InvalidReason| match reason.kind() {
        ReasonKind::Expired => reason
            .context()
            .not_after
            .map(|t| unix(t.as_secs().saturating_sub(1))),
        ReasonKind::NotYetValid => reason.context().not_before,
        _ => None,
    };
    let mut instant = bound(reason)?;
    // Each certificate of an accepted path (the leaf, at most `max_depth`
    // intermediates, the anchor) can move the instant once; a longer walk
    // is not a chain worth tolerating, and the bound keeps a hostile chain
    // of many expired certificates from costing more than a few
    // verifications.
    for _ in 0..check.settings.max_depth.min(8) + 2 {
        match verify(check, instant) {
            Ok(()) => return Some(instant),
            Err(next) if next.kind() == kind => {
                let next = bound(&next)?;
                let further = match kind {
                    ReasonKind::Expired => next.as_secs() < instant.as_secs(),
                    _ => next.as_secs() > instant.as_secs(),
                };
                if !further {
                    return None;
                }
                instant = next;
            }
            Err(_) => return None,
        }
    }
    None
}

/// The X509-SVID rules for the leaf, before any path is built (as
/// go-spiffe checks them).
fn check_x509_svid(
    leaf_der: &CertificateDer<'_>,
    parsed: Option<&ParsedCert<'_>>,
) -> Result<(), Box<InvalidReason>> {
    let identity = ClientIdentity::from_der(leaf_der.clone().into_owned()).ok();
    let key_usage = match parsed.map(ParsedCert::key_usage) {
        Some(KeyUsageExt::Bits(bits)) => Some(bits),
        _ => None,
    };
    let leaf = svid::Leaf {
        uris: identity.as_ref().map_or(&[], ClientIdentity::uris),
        is_ca: identity.as_ref().is_some_and(ClientIdentity::is_ca),
        key_usage,
    };
    svid::check(&leaf)
        .map_err(|reason| Box::new((*reason).with_certificate(0, names::subject_dn(leaf_der))))
}

fn owned_chain(chain: &[CertificateDer<'_>]) -> Vec<CertificateDer<'static>> {
    chain.iter().map(|c| c.clone().into_owned()).collect()
}

fn presented_identity(chain: &[CertificateDer<'_>]) -> Option<ClientIdentity> {
    ClientIdentity::from_chain(owned_chain(chain)).ok()
}

fn verified(chain: &[CertificateDer<'_>]) -> ClientAuthOutcome {
    match ClientIdentity::from_chain(owned_chain(chain)) {
        Ok(identity) => ClientAuthOutcome::Verified(identity),
        // webpki accepted what the identity parser cannot read: refuse
        // rather than hand out an identity we cannot describe.
        Err(error) => ClientAuthOutcome::Invalid(InvalidCertificate::new(
            InvalidReason::new(ReasonKind::BadEncoding).with_message(format!(
                "the certificate verified but its fields cannot be read: {error}"
            )),
            None,
        )),
    }
}

/// Why a candidate path was refused by our own checks.
struct DepthViolation {
    actual: usize,
    /// DER of the first intermediate beyond the limit.
    offending: Vec<u8>,
}

/// One classification's inputs: what to check the chain against, the
/// presented chain (leaf first) and its parsed certificates, and the time.
struct Check<'c, 'a> {
    settings: &'c Settings,
    algs: &'c WebPkiSupportedAlgorithms,
    store: &'c TrustStore,
    chain: &'c [CertificateDer<'a>],
    parsed: &'c [Option<ParsedCert<'a>>],
    now: UnixTime,
}

/// Verifies `check`'s chain at its time, with the certificates' (and trust
/// anchors') validity checked at `validity_at` (the same time, except when
/// finding out whether time is the only failure).
fn verify(check: &Check<'_, '_>, validity_at: UnixTime) -> Result<(), Box<InvalidReason>> {
    let &Check {
        settings,
        algs,
        store,
        chain,
        parsed,
        now,
    } = check;
    let Some(leaf_der) = chain.first() else {
        return Err(Box::new(
            InvalidReason::new(ReasonKind::BadEncoding).with_message("empty certificate chain"),
        ));
    };
    // webpki is shown every certificate with a validity that always holds;
    // the real times are ours to check (see `times`).
    let canonical = Canonical::new(
        chain
            .iter()
            .map(AsRef::as_ref)
            .chain(times::reachable(chain, store.intermediates())),
    );
    let restoring = Restoring::wrap(algs.all, &canonical);
    let restoring: Vec<&dyn SignatureVerificationAlgorithm> = restoring
        .iter()
        .map(|a| a as &dyn SignatureVerificationAlgorithm)
        .collect();
    // CRL signatures are checked once per store, not once per chain.
    let remembering = store.crl_signatures().wrap(store.crl_ders(), &restoring);
    let restoring: Vec<&dyn SignatureVerificationAlgorithm> = remembering
        .iter()
        .map(|a| a as &dyn SignatureVerificationAlgorithm)
        .collect();
    let shown_leaf = canonical.get(0).unwrap_or(leaf_der);
    let leaf = webpki::EndEntityCert::try_from(shown_leaf).map_err(|e| {
        let reason = InvalidReason::new(reason_kind(&e));
        match parsed.first().and_then(Option::as_ref) {
            Some(_) => reason.with_certificate(0, names::subject_dn(leaf_der)),
            None => reason,
        }
        .with_message(format!("the client certificate cannot be parsed: {e:?}"))
    })?;
    if settings.x509_svid {
        check_x509_svid(leaf_der, parsed.first().and_then(Option::as_ref))?;
    }

    let intermediates: Vec<CertificateDer<'_>> = (1..canonical.len())
        .filter_map(|i| canonical.get(i))
        .map(|c| CertificateDer::from(c.as_ref()))
        .collect();
    if search_bound::check(leaf_der.as_ref(), &intermediates, MAX_SUPPORTED_DEPTH).is_err() {
        return Err(Box::new(
            InvalidReason::new(ReasonKind::TooComplex).with_message(format!(
                "the chain offers too many candidate certification paths to search (more \
                 than {MAX_SEARCH_READS} certificate reads): certificates that share a name \
                 multiply them; send only the client certificate and its intermediates"
            )),
        ));
    }

    let crl_refs: Vec<&CertRevocationList<'_>> = store.crls().iter().map(|crl| &**crl).collect();
    let revocation = RevocationOptionsBuilder::new(&crl_refs)
        .ok()
        .map(|builder| {
            builder
                .with_depth(match settings.crl_scope {
                    CrlScope::Chain => RevocationCheckDepth::Chain,
                    CrlScope::Leaf => RevocationCheckDepth::EndEntity,
                })
                .with_status_policy(if settings.allow_unknown_revocation {
                    UnknownStatusPolicy::Allow
                } else {
                    UnknownStatusPolicy::Deny
                })
                .with_expiration_policy(if settings.enforce_crl_expiry {
                    ExpirationPolicy::Enforce
                } else {
                    ExpirationPolicy::Ignore
                })
                .build()
        });

    let depth_violation: RefCell<Option<DepthViolation>> = RefCell::new(None);
    // The first violation of each kind our own checks found (so at most
    // two, however many paths are tried).
    let violations: RefCell<Vec<Violation>> = RefCell::new(Vec::new());
    let time_violations: RefCell<Vec<TimeViolation>> = RefCell::new(Vec::new());
    let record = |violation: TimeViolation| {
        let error = violation.error.clone();
        time_violations.borrow_mut().push(violation);
        error
    };
    let check_path = |path: &VerifiedPath<'_>| -> Result<(), webpki::Error> {
        // nginx keeps OpenSSL's last error, and validity is checked last
        // from the top of the chain down: the lowest certificate wins.
        let shown = std::iter::once(path.end_entity().der())
            .chain(path.intermediate_certificates().map(|c| c.der()));
        for der in shown {
            let der = der.as_ref();
            let original = canonical.original(der);
            if let Some(violation) = time_violation(original, validity_at)? {
                return Err(record(violation));
            }
        }
        if let Some(violation) = anchor_time_violation(store, path, validity_at) {
            return Err(record(violation));
        }
        let actual = path.intermediate_certificates().count();
        if actual > settings.max_depth {
            let offending = path
                .intermediate_certificates()
                .nth(settings.max_depth)
                .map(|c| canonical.original(c.der().as_ref()).to_vec())
                .unwrap_or_default();
            let mut slot = depth_violation.borrow_mut();
            // Report the shortest over-long path.
            if slot.as_ref().is_none_or(|v| actual < v.actual) {
                *slot = Some(DepthViolation { actual, offending });
            }
            return Err(webpki::Error::MaximumPathDepthExceeded);
        }
        if let Err(violation) = rfc5280::check(store, path, settings.crl_scope, &canonical) {
            let error = violation.error.clone();
            let mut found = violations.borrow_mut();
            if !found.iter().any(|v| v.error == error) {
                found.push(violation);
            }
            return Err(error);
        }
        Ok(())
    };

    let result = leaf.verify_for_usage(
        &restoring,
        store.anchors(),
        &intermediates,
        now,
        EkuValidator(&settings.eku),
        revocation,
        Some(&check_path),
    );

    match result {
        Ok(path) => {
            if settings.enforce_crl_expiry {
                let mut issuers = vec![path.end_entity().issuer()];
                if settings.crl_scope == CrlScope::Chain {
                    issuers.extend(path.intermediate_certificates().map(|c| c.issuer()));
                }
                check_crl_not_yet_valid(store, &issuers, now.as_secs())?;
            }
            Ok(())
        }
        Err(error) => {
            let view = ChainView::new(chain, parsed, store, algs.all);
            let found = time_violations.into_inner();
            if let Some(v) = found
                .iter()
                .find(|v| v.error == error)
                .or_else(|| found.first())
                .filter(|_| is_time(&error))
            {
                return Err(Box::new(explain_time(&view, v)));
            }
            // OpenSSL checks validity after the chain, its extensions and
            // revocation: a certificate outside its validity on the chain
            // it builds is what nginx reports.
            if !matches!(reason_kind(&error), ReasonKind::TooComplex)
                && let Some(reason) = walk_time(&view, validity_at)
            {
                return Err(Box::new(reason));
            }
            let ours = violations
                .into_inner()
                .into_iter()
                .find(|v| v.error == error);
            Err(Box::new(match ours {
                Some(violation) => explain_violation(&view, violation),
                None => explain(settings, &view, error, depth_violation.into_inner(), now),
            }))
        }
    }
}

/// A certificate of a candidate path outside its validity (or with a time
/// OpenSSL cannot compare).
struct TimeViolation {
    error: webpki::Error,
    kind: ReasonKind,
    subject: TimeSubject,
}

/// The certificate a [`TimeViolation`] is about.
enum TimeSubject {
    /// A presented or CA-bundle certificate (its original DER).
    Certificate(Vec<u8>),
    /// The trust anchor at this index of the store.
    Anchor(usize),
}

/// The webpki error that ranks a time verdict `kind` like webpki's own.
fn time_error(
    kind: ReasonKind,
    now: UnixTime,
    not_before: UnixTime,
    not_after: UnixTime,
) -> webpki::Error {
    match kind {
        ReasonKind::NotYetValid | ReasonKind::BadNotBefore => webpki::Error::CertNotValidYet {
            time: now,
            not_before,
        },
        _ => webpki::Error::CertExpired {
            time: now,
            not_after,
        },
    }
}

fn is_time(error: &webpki::Error) -> bool {
    matches!(
        error,
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }
    )
}

/// [`times::check`] of one certificate (original DER), as an error webpki
/// ranks like its own time errors. A time OpenSSL cannot read either is its
/// format error (13, 14); a certificate we cannot read otherwise is refused
/// (webpki was shown a validity that always holds).
fn time_violation(original: &[u8], now: UnixTime) -> Result<Option<TimeViolation>, webpki::Error> {
    let violation = |kind, not_before, not_after| {
        Ok(Some(TimeViolation {
            error: time_error(kind, now, not_before, not_after),
            kind,
            subject: TimeSubject::Certificate(original.to_vec()),
        }))
    };
    let cert = match ParsedCert::parse(original) {
        Ok(cert) => cert,
        Err(e) if e.part() == "notBefore" => return violation(ReasonKind::BadNotBefore, now, now),
        Err(e) if e.part() == "notAfter" => return violation(ReasonKind::BadNotAfter, now, now),
        Err(_) => return Err(webpki::Error::BadDerTime),
    };
    let validity = times::Validity::of(&cert);
    match validity.check(seconds(now)) {
        Some(kind) => violation(kind, validity.not_before(), validity.not_after()),
        None => Ok(None),
    }
}

/// rustls-webpki does not check trust anchors' validity; OpenSSL (and so
/// nginx) does, with the same rules as for the chain: an expired root
/// rejects every chain through it, and so does a time it cannot compare.
fn anchor_time_violation(
    store: &TrustStore,
    path: &VerifiedPath<'_>,
    now: UnixTime,
) -> Option<TimeViolation> {
    let index = rfc5280::anchor_index(store, path)?;
    let validity = store.anchor_info().get(index)?.validity;
    let kind = validity.check(seconds(now))?;
    Some(TimeViolation {
        error: time_error(kind, now, validity.not_before(), validity.not_after()),
        kind,
        subject: TimeSubject::Anchor(index),
    })
}

/// `now` as the signed seconds the validity checks compare.
fn seconds(now: UnixTime) -> i64 {
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

/// The reason for a time violation.
fn explain_time(view: &ChainView<'_>, violation: &TimeViolation) -> InvalidReason {
    let reason = InvalidReason::new(violation.kind);
    let original = match &violation.subject {
        TimeSubject::Certificate(original) => original,
        TimeSubject::Anchor(index) => {
            return match view.store.anchor_info().get(*index) {
                Some(info) => anchor_reason(reason, info),
                None => reason,
            };
        }
    };
    let Some(node) = find_der(view, original) else {
        return reason;
    };
    let reason = match view.cert(node) {
        Some(c) => reason.with_validity(
            Some(c.not_before().unix_time()),
            Some(c.not_after().unix_time()),
        ),
        None => reason,
    };
    blame(view, reason, node, None)
}

/// The time verdict of the lowest certificate of OpenSSL's chain that has
/// one.
fn walk_time(view: &ChainView<'_>, now: UnixTime) -> Option<InvalidReason> {
    let t = seconds(now);
    view.walk().into_iter().find_map(|node| {
        let cert = view.cert(node)?;
        let kind = times::check(cert, t)?;
        let reason = InvalidReason::new(kind).with_validity(
            Some(cert.not_before().unix_time()),
            Some(cert.not_after().unix_time()),
        );
        Some(blame(view, reason, node, None))
    })
}

/// A reason for a rule of [`rfc5280`] that the path webpki settled on
/// breaks.
fn explain_violation(view: &ChainView<'_>, violation: Violation) -> InvalidReason {
    let reason = InvalidReason::new(violation.kind);
    match violation.offender.and_then(|der| find_der(view, &der)) {
        Some(node) => blame(view, reason, node, Some(violation.detail)),
        None => reason.with_message(violation.detail),
    }
}

/// rustls-webpki does not check a CRL's thisUpdate; OpenSSL reports a CRL
/// issued in the future as 11 "CRL is not yet valid". The CRL webpki uses
/// for a certificate is the first one with the certificate's issuer.
fn check_crl_not_yet_valid(
    store: &TrustStore,
    issuers: &[&[u8]],
    t: u64,
) -> Result<(), Box<InvalidReason>> {
    for issuer in issuers {
        let Some(crl) = store
            .crl_info()
            .iter()
            .find(|c| c.issuer.as_slice() == *issuer)
        else {
            continue;
        };
        if crl.this_update > t {
            return Err(Box::new(
                InvalidReason::new(ReasonKind::CrlNotYetValid)
                    .with_validity(Some(unix(crl.this_update)), crl.next_update.map(unix))
                    .with_message(format!(
                        "the CRL issued by \"{}\" is not valid yet",
                        crl.issuer_dn
                    )),
            ));
        }
    }
    Ok(())
}

/// An [`ExtendedKeyUsageValidator`] for an [`EkuPolicy`].
struct EkuValidator<'a>(&'a EkuPolicy);

impl ExtendedKeyUsageValidator for EkuValidator<'_> {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let Some(accepted) = self.0.accepted() else {
            return Ok(());
        };
        let mut empty = true;
        for id in iter {
            empty = false;
            let id = id?;
            if accepted.iter().any(|oid| KeyPurposeId::new(oid) == id) {
                return Ok(());
            }
        }
        if empty {
            // No extKeyUsage extension: any purpose (RFC 5280).
            return Ok(());
        }
        // The classifier names the purposes itself (see `wrong_purpose`).
        Err(webpki::Error::RequiredEkuNotFoundContext(
            RequiredEkuNotFoundContext {
                required: KeyUsage::client_auth(),
                present: Vec::new(),
            },
        ))
    }
}

/// Turns a webpki error into a reason with context.
fn explain(
    settings: &Settings,
    view: &ChainView<'_>,
    error: webpki::Error,
    depth: Option<DepthViolation>,
    now: UnixTime,
) -> InvalidReason {
    let t = now.as_secs();
    let kind = reason_kind(&error);
    match error {
        webpki::Error::MaximumPathDepthExceeded => match depth {
            Some(v) => {
                let reason = InvalidReason::new(ReasonKind::ChainTooLong)
                    .with_limit(settings.max_depth, Some(v.actual));
                match find_der(view, &v.offending) {
                    Some(node) => blame(view, reason, node, None),
                    None => reason,
                }
            }
            None => InvalidReason::new(ReasonKind::ChainTooLong)
                .with_limit(settings.max_depth, None)
                .with_message(format!(
                    "more than {MAX_SUPPORTED_DEPTH} intermediate CAs, the most that are followed"
                )),
        },
        webpki::Error::UnknownIssuer => untrusted_issuer(view),
        webpki::Error::CertExpired { not_after, .. } => {
            let na = not_after.as_secs();
            time_reason(
                view,
                kind,
                |c| secs(c.not_after()) == na && t > secs(c.not_after()),
                |i| i.validity.not_after().as_secs() == na,
            )
        }
        webpki::Error::InvalidCertValidity => time_reason(
            view,
            kind,
            |c| c.not_before().unix() > c.not_after().unix(),
            |_| false,
        ),
        webpki::Error::CertNotValidYet { not_before, .. } => {
            let nb = not_before.as_secs();
            time_reason(
                view,
                kind,
                |c| secs(c.not_before()) == nb && t < secs(c.not_before()),
                |i| i.validity.not_before().as_secs() == nb,
            )
        }
        webpki::Error::CertRevoked => {
            let reason = InvalidReason::new(kind);
            match revoked_node(view) {
                Some((node, issuer_dn)) => blame(
                    view,
                    reason,
                    node,
                    Some(format!("listed in the CRL issued by \"{issuer_dn}\"")),
                ),
                None => reason,
            }
        }
        webpki::Error::UnknownRevocationStatus => unknown_revocation(settings, view),
        webpki::Error::CrlExpired { next_update, .. } => {
            let nu = next_update.as_secs();
            let reason = InvalidReason::new(kind);
            match view
                .store
                .crl_info()
                .iter()
                .find(|c| c.next_update == Some(nu))
            {
                Some(crl) => reason
                    .with_validity(Some(unix(crl.this_update)), Some(next_update))
                    .with_message(format!(
                        "the CRL issued by \"{}\" has expired",
                        crl.issuer_dn
                    )),
                None => reason.with_validity(None, Some(next_update)),
            }
        }
        webpki::Error::RequiredEkuNotFoundContext(_) | webpki::Error::EmptyEkuExtension => {
            wrong_purpose(settings, view)
        }
        #[allow(deprecated)]
        webpki::Error::RequiredEkuNotFound => wrong_purpose(settings, view),
        webpki::Error::CaUsedAsEndEntity => {
            // A lone self-signed CA certificate that is not trusted: the
            // client must first of all use a certificate from a trusted CA
            // (OpenSSL: 18).
            let lone_untrusted_root = view.presented.len() == 1
                && view.is_self_signed(Node::Presented(0))
                && !is_anchor(view, Node::Presented(0));
            let kind = if lone_untrusted_root {
                ReasonKind::SelfSigned
            } else {
                ReasonKind::CaUsedAsLeaf
            };
            blame(view, InvalidReason::new(kind), Node::Presented(0), None)
        }
        webpki::Error::EndEntityUsedAsCa => {
            let reason = InvalidReason::new(kind);
            let walk = view.walk();
            match walk.iter().skip(1).find(|&&n| {
                view.cert(n)
                    .is_some_and(|c| c.basic_constraints().map(|(ca, _)| ca) != Some(true))
            }) {
                Some(&node) => blame(view, reason, node, None),
                None => reason,
            }
        }
        webpki::Error::InvalidSignatureForPublicKey => {
            let reason = InvalidReason::new(kind);
            match view.bad_signature() {
                Some(node) => blame(view, reason, node, None),
                None => reason,
            }
        }
        #[allow(deprecated)]
        webpki::Error::UnsupportedSignatureAlgorithm
        | webpki::Error::UnsupportedSignatureAlgorithmContext(_)
        | webpki::Error::UnsupportedSignatureAlgorithmForPublicKey
        | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            let reason = InvalidReason::new(kind);
            match view.bad_signature() {
                Some(node) => {
                    let algorithm = view
                        .cert(node)
                        .map(|c| describe_algorithm(c.signature_algorithm))
                        .unwrap_or_default();
                    blame(view, reason, node, Some(format!("signed with {algorithm}")))
                }
                None => reason,
            }
        }
        other => InvalidReason::new(kind).with_message(format!("{other:?}")),
    }
}

/// The OID of an AlgorithmIdentifier (DER content), dotted.
fn describe_algorithm(algorithm_id: &[u8]) -> String {
    match Reader::new(algorithm_id).expect(tag::OID) {
        Ok(oid) => format!("signature algorithm {}", oid_to_string(oid.value)),
        Err(_) => "an unreadable signature algorithm".to_owned(),
    }
}

/// Names the certificate at fault (index and subject for a presented
/// certificate, a message for a CA-bundle one) and adds `detail`.
fn blame(
    view: &ChainView<'_>,
    reason: InvalidReason,
    node: Node,
    detail: Option<String>,
) -> InvalidReason {
    match node {
        Node::Presented(i) => {
            let reason = reason.with_certificate(i, view.subject_dn(node));
            match detail {
                Some(detail) => reason.with_message(detail),
                None => reason,
            }
        }
        Node::Bundle(_) => {
            let mut message = format!("the server's CA certificate \"{}\"", view.subject_dn(node));
            if let Some(detail) = detail {
                message.push_str(": ");
                message.push_str(&detail);
            }
            reason.with_message(message)
        }
    }
}

fn find_der(view: &ChainView<'_>, der: &[u8]) -> Option<Node> {
    if let Some(i) = view.presented.iter().position(|c| c.as_ref() == der) {
        return Some(Node::Presented(i));
    }
    view.store
        .intermediates()
        .iter()
        .position(|c| c.as_ref() == der)
        .map(Node::Bundle)
}

/// Whether `node` is a certificate of the trust store (a CA-bundle or
/// trusted-only intermediate), also when the client sent it too.
fn in_store(view: &ChainView<'_>, node: Node) -> bool {
    match node {
        Node::Bundle(_) => true,
        Node::Presented(i) => view.presented.get(i).is_some_and(|der| {
            view.store
                .intermediates()
                .iter()
                .any(|c| c.as_ref() == der.as_ref())
        }),
    }
}

fn is_anchor(view: &ChainView<'_>, node: Node) -> bool {
    view.cert(node).is_some_and(|c| {
        view.store.anchors().iter().any(|a| {
            a.subject.as_ref() == c.subject && a.subject_public_key_info.as_ref() == c.spki
        })
    })
}

/// nginx's untrusted-issuer codes, from the chain OpenSSL would build:
/// a lone self-signed certificate is 18, a chain ending in a self-signed
/// certificate 19, a lone certificate with an unknown issuer 21, a chain
/// that reached a CA of the trust store but no root 2 (OpenSSL looks in
/// the store first; `x509_vfy.c`: some of the chain is trusted), anything
/// else 20. (A certificate outside its validity comes first: see
/// `walk_time`.)
fn untrusted_issuer(view: &ChainView<'_>) -> InvalidReason {
    let walk = view.walk();
    let Some(&top) = walk.last() else {
        return InvalidReason::new(ReasonKind::UnknownIssuer);
    };
    let top_self_issued = view.cert(top).is_some_and(ParsedCert::is_self_issued);
    let reached_store = walk.iter().skip(1).any(|&node| in_store(view, node));
    let (kind, node) = match (walk.len(), top_self_issued) {
        (1, true) if view.is_self_signed(top) => (ReasonKind::SelfSigned, top),
        (1, _) => (ReasonKind::UnknownLeafIssuer, top),
        (_, true) if view.is_self_signed(top) => (ReasonKind::SelfSignedInChain, top),
        _ if reached_store => (ReasonKind::UnknownBundleIssuer, top),
        _ => (ReasonKind::UnknownIssuer, top),
    };
    let detail = match (kind, view.cert(node)) {
        (
            ReasonKind::UnknownIssuer
            | ReasonKind::UnknownLeafIssuer
            | ReasonKind::UnknownBundleIssuer,
            Some(c),
        ) if !c.is_self_issued() => Some(format!(
            "its issuer \"{}\" is not a trusted CA",
            names::name_dn(c.issuer)
        )),
        _ => None,
    };
    blame(view, InvalidReason::new(kind), node, detail)
}

/// Expired / not yet valid: the first certificate matching `cert_matches`
/// (presented or CA bundle), else the trust anchor matching `anchor_matches`.
fn time_reason(
    view: &ChainView<'_>,
    kind: ReasonKind,
    cert_matches: impl Fn(&ParsedCert<'_>) -> bool,
    anchor_matches: impl Fn(&crate::trust_store::CaInfo) -> bool,
) -> InvalidReason {
    let reason = InvalidReason::new(kind);
    if let Some((node, c)) = view
        .candidates()
        .into_iter()
        .find_map(|n| view.cert(n).filter(|c| cert_matches(c)).map(|c| (n, *c)))
    {
        return blame(
            view,
            reason.with_validity(
                Some(c.not_before().unix_time()),
                Some(c.not_after().unix_time()),
            ),
            node,
            None,
        );
    }
    match view.store.anchor_info().iter().find(|i| anchor_matches(i)) {
        Some(info) => anchor_reason(reason, info),
        None => reason,
    }
}

/// `reason` about the trust anchor `info`: its validity and name.
fn anchor_reason(reason: InvalidReason, info: &crate::trust_store::CaInfo) -> InvalidReason {
    reason
        .with_validity(
            Some(info.validity.not_before()),
            Some(info.validity.not_after()),
        )
        .with_message(format!(
            "the server's trusted CA certificate \"{}\"",
            info.subject_dn
        ))
}

/// The certificate listed in a CRL, and that CRL's issuer.
fn revoked_node(view: &ChainView<'_>) -> Option<(Node, String)> {
    let store = view.store;
    view.candidates().into_iter().find_map(|node| {
        let cert = view.cert(node)?;
        store
            .crls()
            .iter()
            .zip(store.crl_info())
            .filter(|(_, info)| info.issuer.as_slice() == cert.issuer)
            .find(|(crl, _)| matches!(crl.find_serial(cert.serial), Ok(Some(_))))
            .map(|(_, info)| (node, info.issuer_dn.clone()))
    })
}

/// The first certificate in scope whose issuer has no CRL; a CRL that is
/// not valid yet is reported as such.
fn unknown_revocation(settings: &Settings, view: &ChainView<'_>) -> InvalidReason {
    let walk = view.walk();
    let in_scope = match settings.crl_scope {
        CrlScope::Leaf => &walk[..walk.len().min(1)],
        CrlScope::Chain => &walk[..],
    };
    for &node in in_scope {
        let Some(cert) = view.cert(node) else {
            continue;
        };
        let crls: Vec<_> = view
            .store
            .crl_info()
            .iter()
            .filter(|c| c.issuer.as_slice() == cert.issuer)
            .collect();
        if crls.is_empty() {
            let detail = format!(
                "no CRL issued by \"{}\" is configured",
                names::name_dn(cert.issuer)
            );
            return blame(
                view,
                InvalidReason::new(ReasonKind::UnknownRevocationStatus),
                node,
                Some(detail),
            );
        }
    }
    InvalidReason::new(ReasonKind::UnknownRevocationStatus)
}

/// The first certificate whose extended key usage the policy refuses.
fn wrong_purpose(settings: &Settings, view: &ChainView<'_>) -> InvalidReason {
    let reason = InvalidReason::new(ReasonKind::InvalidPurpose);
    let found = view.candidates().into_iter().find_map(|node| {
        let oids = view.cert(node)?.extended_key_usage()?;
        (!settings.eku.allows(Some(&oids))).then_some((node, oids))
    });
    match found {
        Some((node, oids)) => {
            let present: Vec<String> = oids.iter().map(|o| oid_to_string(o)).collect();
            let present = if present.is_empty() {
                "an empty extended key usage".to_owned()
            } else {
                format!("extended key usage {}", present.join(", "))
            };
            let detail = format!("{present}; required: {}", settings.eku);
            blame(view, reason, node, Some(detail))
        }
        None => reason,
    }
}
