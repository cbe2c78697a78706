//! One certificate, one reading of its validity: a trust anchor whose times
//! are encoded the odd ways OpenSSL accepts (a zone offset, GeneralizedTime
//! before 2050, years before 1970) gives the same instants in
//! `$ssl_client_v_start` / `$ssl_client_v_end` (the identity), in the
//! classifier's validity check (the anchor's dates are ours to check, not
//! webpki's) and in the trust-configuration lints (`mtls lint`). Times
//! OpenSSL reads but cannot compare (an offset, no seconds) are its format
//! errors 13 / 14 on a leaf, an intermediate and a trust anchor alike, as
//! `openssl verify` says cell by cell.
//!
//! The certificates are built by hand (rcgen always writes `Z` times in the
//! RFC 5280 form) and signed with rcgen's ECDSA P-256 key.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mtls_status::lint::{LintKind, LintSettings, lint_trust_config};
use mtls_status::{ClientAuthOutcome, ClientIdentity, ReasonKind};
use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStore};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PublicKeyData as _, SigningKey as _};
use rustls::crypto::ring::default_provider;
use rustls_pki_types::{CertificateDer, UnixTime};

const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = u16::try_from(content.len()).expect("test DER stays small");
    match len.to_be_bytes() {
        [0, short] if short < 0x80 => out.push(short),
        [0, one] => out.extend([0x81, one]),
        two => {
            out.push(0x82);
            out.extend(two);
        }
    }
    out.extend_from_slice(content);
    out
}

fn name(cn: &str) -> Vec<u8> {
    let atav = [tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0C, cn.as_bytes())].concat();
    tlv(0x30, &tlv(0x31, &tlv(0x30, &atav)))
}

/// A v3 certificate signed by `signer`, with the validity as given (tag and
/// text of each time).
fn cert(
    issuer: &str,
    subject: &str,
    validity: [(u8, &str); 2],
    key: &KeyPair,
    ca: bool,
    signer: &KeyPair,
) -> CertificateDer<'static> {
    let ecdsa_sha256 = tlv(
        0x30,
        &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    );
    let times: Vec<u8> = validity
        .iter()
        .flat_map(|(tag, text)| tlv(*tag, text.as_bytes()))
        .collect();
    let mut tbs = tlv(0xA0, &tlv(0x02, &[2]));
    tbs.extend(tlv(0x02, &[u8::from(ca) + 1]));
    tbs.extend(&ecdsa_sha256);
    tbs.extend(name(issuer));
    tbs.extend(tlv(0x30, &times));
    tbs.extend(name(subject));
    tbs.extend(key.subject_public_key_info());
    if ca {
        // basicConstraints, critical, cA TRUE.
        let bc = [
            tlv(0x06, &[0x55, 0x1d, 0x13]),
            tlv(0x01, &[0xff]),
            tlv(0x04, &tlv(0x30, &tlv(0x01, &[0xff]))),
        ]
        .concat();
        tbs.extend(tlv(0xA3, &tlv(0x30, &tlv(0x30, &bc))));
    }
    let tbs = tlv(0x30, &tbs);
    let signature = signer.sign(&tbs).expect("sign");
    let mut bits = vec![0];
    bits.extend(signature);
    CertificateDer::from(tlv(0x30, &[tbs, ecdsa_sha256, tlv(0x03, &bits)].concat()))
}

fn pem(der: &CertificateDer<'_>) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out + "-----END CERTIFICATE-----\n"
}

struct Case {
    what: &'static str,
    validity: [(u8, &'static str); 2],
    /// `$ssl_client_v_start` and `$ssl_client_v_end` of the CA.
    v_start: &'static str,
    v_end: &'static str,
    /// What the classifier and the lints must say about the CA's dates.
    verdict: ReasonKind,
}

const CASES: &[Case] = &[
    Case {
        what: "GeneralizedTime before 2050, in the future",
        validity: [
            (GENERALIZED_TIME, "20400101000000Z"),
            (GENERALIZED_TIME, "20450101000000Z"),
        ],
        v_start: "Jan  1 00:00:00 2040 GMT",
        v_end: "Jan  1 00:00:00 2045 GMT",
        verdict: ReasonKind::NotYetValid,
    },
    Case {
        what: "UTCTime with a zone offset, in the future",
        validity: [
            (UTC_TIME, "400101013000+0130"),
            (UTC_TIME, "450101000000-0000"),
        ],
        v_start: "Jan  1 00:00:00 2040 GMT",
        v_end: "Jan  1 00:00:00 2045 GMT",
        // OpenSSL cannot compare either time; notAfter is checked last.
        verdict: ReasonKind::BadNotAfter,
    },
    Case {
        what: "UTCTime without seconds and an offset that crosses midnight, expired",
        validity: [(UTC_TIME, "1001012300-0200"), (UTC_TIME, "2001010030+0100")],
        v_start: "Jan  2 01:00:00 2010 GMT",
        v_end: "Dec 31 23:30:00 2019 GMT",
        verdict: ReasonKind::BadNotAfter,
    },
    Case {
        what: "years before 1970, expired",
        validity: [
            (GENERALIZED_TIME, "19600101000000Z"),
            (UTC_TIME, "691231235959Z"),
        ],
        v_start: "Jan  1 00:00:00 1960 GMT",
        v_end: "Dec 31 23:59:59 1969 GMT",
        verdict: ReasonKind::Expired,
    },
];

#[test]
fn identity_classifier_and_lints_read_odd_times_alike() {
    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)); // 2027
    let provider = Arc::new(default_provider());
    for case in CASES {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let ca = cert("Odd CA", "Odd CA", case.validity, &ca_key, true, &ca_key);
        let ordinary = [(UTC_TIME, "250101000000Z"), (UTC_TIME, "300101000000Z")];
        let leaf = cert("Odd CA", "client", ordinary, &leaf_key, false, &ca_key);

        // 1. $ssl_client_v_start / $ssl_client_v_end.
        let identity = ClientIdentity::from_der(ca.clone()).expect("identity reads the CA");
        assert_eq!(identity.v_start(), case.v_start, "{}", case.what);
        assert_eq!(identity.v_end(), case.v_end, "{}", case.what);

        // 2. The classifier checks the anchor's dates with the same reader.
        let classifier = uncached(&provider, &ca);
        let outcome = classifier.classify_at(Some(std::slice::from_ref(&leaf)), now);
        let ClientAuthOutcome::Invalid(invalid) = &*outcome else {
            panic!("{}: {outcome:?}", case.what);
        };
        let reason = invalid.reason();
        assert_eq!(reason.kind(), case.verdict, "{}: {reason:?}", case.what);
        let context = reason.context();
        let shown = |t: Option<UnixTime>| t.map(mtls_status::identity::format_time);
        // UnixTime cannot hold 1960: there the context clamps to the epoch
        // and only the kind is compared.
        if !case.v_start.ends_with("1960 GMT") {
            assert_eq!(
                shown(context.not_before).as_deref(),
                Some(case.v_start),
                "{}",
                case.what
            );
            assert_eq!(
                shown(context.not_after).as_deref(),
                Some(case.v_end),
                "{}",
                case.what
            );
        }

        // 3. `mtls lint` reads the bundle alike: the same verdict, the same
        // printed time, and no "unparseable" complaint.
        let lints = lint_trust_config(std::slice::from_ref(&ca), &[], &LintSettings::new(now));
        let (kind, printed) = match case.verdict {
            ReasonKind::NotYetValid => (LintKind::CaNotYetValid, case.v_start),
            ReasonKind::BadNotAfter => (LintKind::CaTimeFormat, case.v_end),
            _ => (LintKind::CaExpired, case.v_end),
        };
        let lint = lints
            .iter()
            .find(|l| l.kind() == kind)
            .unwrap_or_else(|| panic!("{}: no {kind} lint in {lints:?}", case.what));
        assert!(lint.message().contains(printed), "{}: {lint}", case.what);
        assert!(
            !lints
                .iter()
                .any(|l| l.kind() == LintKind::UnparseableCertificate),
            "{}: {lints:?}",
            case.what
        );
        // A time OpenSSL cannot compare is only that: not also expired or
        // not yet valid.
        if kind == LintKind::CaTimeFormat {
            assert!(
                !lints
                    .iter()
                    .any(|l| matches!(l.kind(), LintKind::CaExpired | LintKind::CaNotYetValid)),
                "{}: {lints:?}",
                case.what
            );
        }
    }
}

fn openssl_verify(
    dir: &std::path::Path,
    root: &CertificateDer<'_>,
    untrusted: Option<&CertificateDer<'_>>,
    leaf: &CertificateDer<'_>,
    at: u64,
) -> u32 {
    let untrusted = untrusted.map(pem);
    mtls_testpki::openssl::verify(dir, &pem(root), untrusted.as_deref(), &pem(leaf), at).into()
}

/// A classifier trusting `root`, without a verdict cache.
fn uncached(
    provider: &Arc<rustls::crypto::CryptoProvider>,
    root: &CertificateDer<'_>,
) -> Classifier {
    let store = TrustStore::builder()
        .ca_pem(pem(root))
        .build()
        .expect("store loads");
    Classifier::builder(ReloadableTrustStore::new(store), Arc::clone(provider))
        .cache_capacity(0)
        .build()
        .expect("classifier")
}

/// The classifier's verdict on `chain` at `now` as an OpenSSL code (0: verified).
fn code(
    classifier: &Classifier,
    chain: &[CertificateDer<'static>],
    now: UnixTime,
    what: &str,
) -> u32 {
    match &*classifier.classify_at(Some(chain), now) {
        ClientAuthOutcome::Verified(_) => 0,
        ClientAuthOutcome::Invalid(invalid) => invalid.reason().kind().openssl_code().into(),
        other => panic!("{what}: {other:?}"),
    }
}

/// notBefore and notAfter: tag and text of each.
type Validity = [(u8, &'static str); 2];

/// Leaves and intermediates with odd validity encodings: the classifier's
/// verdict is OpenSSL's, cell by cell, and `$ssl_client_v_start` is what
/// OpenSSL prints.
#[test]
fn leaf_and_intermediate_times_match_openssl() {
    let at: u64 = 1_800_000_000; // 2027-01-15
    let now = UnixTime::since_unix_epoch(Duration::from_secs(at));
    let provider = Arc::new(default_provider());
    let dir = std::env::temp_dir().join(format!("mtls-odd-times-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ordinary = [(UTC_TIME, "200101000000Z"), (UTC_TIME, "400101000000Z")];
    // (what, validity, OpenSSL's code at `at`)
    let cases: &[(&str, Validity, u32)] = &[
        ("ordinary", ordinary, 0),
        (
            "GeneralizedTime before 2050",
            [
                (GENERALIZED_TIME, "20200101000000Z"),
                (GENERALIZED_TIME, "20400101000000Z"),
            ],
            0,
        ),
        (
            "notBefore before 1970",
            [
                (GENERALIZED_TIME, "19600101000000Z"),
                (UTC_TIME, "400101000000Z"),
            ],
            0,
        ),
        (
            "UTCTime notBefore with +hhmm",
            [(UTC_TIME, "200101000000+0100"), (UTC_TIME, "400101000000Z")],
            13,
        ),
        (
            "UTCTime notAfter with -hhmm",
            [(UTC_TIME, "200101000000Z"), (UTC_TIME, "400101000000-0130")],
            14,
        ),
        (
            "notBefore without seconds",
            [(UTC_TIME, "2001010000Z"), (UTC_TIME, "400101000000Z")],
            13,
        ),
        (
            "expired",
            [(UTC_TIME, "200101000000Z"), (UTC_TIME, "250101000000Z")],
            10,
        ),
        (
            "expired, expiring exactly at the check",
            [(UTC_TIME, "200101000000Z"), (UTC_TIME, "270115080000Z")],
            10,
        ),
        (
            "not yet valid",
            [(UTC_TIME, "300101000000Z"), (UTC_TIME, "400101000000Z")],
            9,
        ),
        (
            "not yet valid, GeneralizedTime before 2050",
            [
                (GENERALIZED_TIME, "20300101000000Z"),
                (GENERALIZED_TIME, "20400101000000Z"),
            ],
            9,
        ),
    ];
    // Two errors in one certificate: `openssl verify` stops at the first
    // (13), nginx's callback goes on and keeps the last (10, notAfter is
    // checked after notBefore); the classifier answers as nginx.
    let two_errors = [(UTC_TIME, "200101000000+0100"), (UTC_TIME, "250101000000Z")];
    let mut table = Vec::new();
    for &(what, validity, openssl) in cases {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let inter_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let root = cert("Root", "Root", ordinary, &root_key, true, &root_key);
        let classifier = uncached(&provider, &root);
        let verdict = |chain: &[CertificateDer<'static>]| code(&classifier, chain, now, what);

        // The leaf has the odd validity.
        let leaf = cert("Root", "client", validity, &leaf_key, false, &root_key);
        let ours = verdict(std::slice::from_ref(&leaf));
        let theirs = openssl_verify(&dir, &root, None, &leaf, at);
        table.push((what, "leaf", ours, theirs, openssl));
        let identity = ClientIdentity::from_der(leaf.clone()).expect("identity reads the leaf");
        assert_eq!(
            identity.v_start(),
            mtls_testpki::openssl::start_date(&dir, &pem(&leaf)),
            "{what}"
        );

        // The intermediate has it.
        let inter = cert("Root", "Inter", validity, &inter_key, true, &root_key);
        let leaf = cert("Inter", "client", ordinary, &leaf_key, false, &inter_key);
        let ours = verdict(&[leaf.clone(), inter.clone()]);
        let theirs = openssl_verify(&dir, &root, Some(&inter), &leaf, at);
        table.push((what, "intermediate", ours, theirs, openssl));

        // The trust anchor has it (OpenSSL checks the anchor's times too).
        let odd_root = cert("Root", "Root", validity, &root_key, true, &root_key);
        let leaf = cert("Root", "client", ordinary, &leaf_key, false, &root_key);
        let ours = code(
            &uncached(&provider, &odd_root),
            std::slice::from_ref(&leaf),
            now,
            what,
        );
        let theirs = openssl_verify(&dir, &odd_root, None, &leaf, at);
        table.push((what, "trust anchor", ours, theirs, openssl));

        // `mtls lint` on a bundle holding that intermediate: the same
        // verdict, and it reads it.
        let lints = lint_trust_config(&[root.clone(), inter], &[], &LintSettings::new(now));
        let lint_kind = match openssl {
            9 => Some(LintKind::CaNotYetValid),
            10 => Some(LintKind::CaExpired),
            13 | 14 => Some(LintKind::CaTimeFormat),
            _ => None,
        };
        for kind in [
            LintKind::CaNotYetValid,
            LintKind::CaExpired,
            LintKind::CaTimeFormat,
        ] {
            assert_eq!(
                lints.iter().any(|l| l.kind() == kind),
                lint_kind == Some(kind),
                "{what}: {lints:?}"
            );
        }
        assert!(
            !lints
                .iter()
                .any(|l| l.kind() == LintKind::UnparseableCertificate),
            "{what}: {lints:?}"
        );
    }
    {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let root = cert("Root", "Root", ordinary, &root_key, true, &root_key);
        let leaf = cert("Root", "client", two_errors, &leaf_key, false, &root_key);
        let classifier = uncached(&provider, &root);
        let outcome = classifier.classify_at(Some(std::slice::from_ref(&leaf)), now);
        let ClientAuthOutcome::Invalid(invalid) = &*outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(invalid.reason().kind(), ReasonKind::Expired);
        assert_eq!(openssl_verify(&dir, &root, None, &leaf, at), 13);
    }
    // Times OpenSSL cannot read at all (month 13; a notAfter one digit
    // short): its format errors, for the leaf and for an intermediate.
    let malformed: [(Validity, u32); 2] = [
        (
            [(UTC_TIME, "201301000000Z"), (UTC_TIME, "400101000000Z")],
            13,
        ),
        (
            [(UTC_TIME, "200101000000Z"), (UTC_TIME, "40010100000Z")],
            14,
        ),
    ];
    for (validity, openssl) in malformed {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let inter_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let root = cert("Root", "Root", ordinary, &root_key, true, &root_key);
        let classifier = uncached(&provider, &root);
        let code = |chain: &[CertificateDer<'static>]| code(&classifier, chain, now, "malformed");
        let leaf = cert("Root", "client", validity, &leaf_key, false, &root_key);
        let theirs = openssl_verify(&dir, &root, None, &leaf, at);
        table.push((
            "malformed",
            "leaf",
            code(std::slice::from_ref(&leaf)),
            theirs,
            openssl,
        ));
        let inter = cert("Root", "Inter", validity, &inter_key, true, &root_key);
        let leaf = cert("Inter", "client", ordinary, &leaf_key, false, &inter_key);
        let theirs = openssl_verify(&dir, &root, Some(&inter), &leaf, at);
        table.push((
            "malformed",
            "intermediate",
            code(&[leaf, inter]),
            theirs,
            openssl,
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let wrong: Vec<_> = table
        .iter()
        .filter(|(_, _, ours, theirs, expected)| ours != theirs || theirs != expected)
        .collect();
    assert!(
        wrong.is_empty(),
        "(case, certificate, classifier, openssl verify, expected):\n{wrong:#?}"
    );
}
