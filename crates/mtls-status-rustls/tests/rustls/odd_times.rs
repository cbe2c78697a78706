//! Client certificates with odd validity encodings in real handshakes: the
//! classifier's verdict (and `$ssl_client_verify`) is what `openssl verify
//! -attime` says of the same certificate, cell by cell (see also
//! `tests/tests/odd_times.rs` for intermediates and the lints).

use std::sync::Arc;
use std::time::Duration;

use crate::common::{Harness, Presented, TLS12, TLS13, classifier, store_of};
use mtls_status::{ClientAuthOutcome, VerifyMode};
use mtls_testpki::{GENERALIZED_TIME as G, Pki, UTC_TIME as U};
use rustls::pki_types::UnixTime;

#[tokio::test]
async fn odd_leaf_times_in_handshakes_match_openssl() {
    let at: u64 = 1_800_000_000; // 2027-01-15 08:00:00 UTC
    let now = UnixTime::since_unix_epoch(Duration::from_secs(at));
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    let dir = std::env::temp_dir().join(format!("mtls-odd-handshake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // (what, notBefore, notAfter, expected OpenSSL code)
    let cases = [
        (
            "GeneralizedTime before 2050",
            (G, "20200101000000Z"),
            (G, "20400101000000Z"),
            0,
        ),
        (
            "notBefore before 1970",
            (G, "19600101000000Z"),
            (U, "400101000000Z"),
            0,
        ),
        (
            "notBefore with +hhmm",
            (U, "200101000000+0100"),
            (U, "400101000000Z"),
            13,
        ),
        (
            "notAfter with -hhmm",
            (U, "200101000000Z"),
            (U, "400101000000-0130"),
            14,
        ),
        (
            "notBefore without seconds",
            (U, "2001010000Z"),
            (U, "400101000000Z"),
            13,
        ),
        ("expired", (U, "200101000000Z"), (U, "250101000000Z"), 10),
        (
            "expired at the check",
            (U, "200101000000Z"),
            (U, "270115080000Z"),
            10,
        ),
        (
            "not yet valid",
            (G, "20300101000000Z"),
            (G, "20400101000000Z"),
            9,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, not_before, not_after, expected) in cases {
        let leaf = pki
            .root
            .leaf("odd")
            .raw_validity(not_before, not_after)
            .build();
        let openssl =
            mtls_testpki::openssl::verify(&dir, &pki.root.cert_pem(), None, &leaf.cert_pem(), at);
        for version in [TLS12, TLS13] {
            let (client, server) = Harness::new(Arc::clone(&pki))
                .run(
                    &classifier,
                    VerifyMode::Optional,
                    Presented::leaf(&leaf),
                    version,
                    Some(now),
                )
                .await;
            assert_eq!(client.result, Ok(()), "{what}: optional completes");
            let outcome = server.outcome();
            let ours = match outcome {
                ClientAuthOutcome::Verified(identity) => {
                    assert_eq!(outcome.ssl_client_verify(), "SUCCESS");
                    assert!(identity.v_start().ends_with("GMT"), "{what}");
                    0
                }
                ClientAuthOutcome::Invalid(invalid) => {
                    let kind = invalid.reason().kind();
                    assert_eq!(
                        outcome.ssl_client_verify(),
                        format!("FAILED:{}", kind.openssl_str()),
                        "{what}"
                    );
                    kind.openssl_code()
                }
                other => panic!("{what}: {other:?}"),
            };
            if (ours, openssl) != (expected, expected) {
                wrong.push((what, version, ours, openssl, expected));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        wrong.is_empty(),
        "(case, version, classifier, openssl verify, expected): {wrong:#?}"
    );
}
