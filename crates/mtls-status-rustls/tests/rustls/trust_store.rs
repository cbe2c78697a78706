//! Trust store loading, atomic reload and the verdict cache.

use std::path::PathBuf;
use std::sync::Arc;

use crate::common::{Harness, Presented, TLS13, classifier, days_from_now, provider, store_of};
use mtls_status::{ReasonKind, VerifyMode};
use mtls_status_rustls::{
    Classifier, ReloadableTrustStore, TrustStore, TrustStoreError, TrustStoreFiles,
};
use mtls_testpki::Pki;

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "mtls-status-rustls-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    pub(crate) fn write(&self, file: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(file);
        std::fs::write(&path, content).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use std::fmt::Write;
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", String::from_utf8_lossy(line));
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

#[test]
fn bundle_contents_are_sorted_into_anchors_and_intermediates() {
    let pki = Pki::generate();
    let store = TrustStore::builder()
        .ca_pem(pki.ca_bundle_pem())
        .ca_pem(pki.root.cert_pem()) // duplicates are advertised once
        .trusted_pem(pki.unknown_root.cert_pem())
        .crl_pem(pki.crl_bundle_pem())
        .crl_pem(pki.expired_root_crl.der()) // DER works too
        .build()
        .expect("store builds");
    assert_eq!(store.anchor_count(), 3);
    assert_eq!(store.intermediate_count(), 1);
    assert_eq!(store.crl_count(), 3);
    assert_eq!(store.certificates().len(), 4);
    assert_eq!(store.generation(), 1);
    assert_eq!(
        store.accepted_ca_names(),
        [
            "CN=mtls-status Test Root CA",
            "CN=mtls-status Test Intermediate CA"
        ]
    );
    let hints: Vec<&[u8]> = store
        .root_hint_subjects()
        .iter()
        .map(|h| h.as_ref())
        .collect();
    assert_eq!(
        hints,
        [
            pki.root.subject_der().as_slice(),
            pki.intermediate.subject_der().as_slice()
        ]
    );
}

#[test]
fn load_errors_name_the_source_and_the_cause() {
    let pki = Pki::generate();
    let dir = TempDir::new("load-errors");

    let err = TrustStore::builder()
        .build()
        .expect_err("nothing configured");
    assert!(matches!(err, TrustStoreError::NoCaConfigured), "{err}");

    let missing = dir.0.join("missing.pem");
    let err = TrustStore::builder()
        .ca_file(&missing)
        .build()
        .expect_err("missing file");
    assert!(matches!(err, TrustStoreError::Io { .. }));
    assert!(err.to_string().contains("missing.pem"), "{err}");

    let empty = dir.write("empty.pem", "# no certificates here\n");
    let err = TrustStore::builder()
        .ca_file(&empty)
        .build()
        .expect_err("empty bundle");
    assert!(matches!(err, TrustStoreError::NoCertificates { .. }));
    assert!(err.to_string().contains("empty.pem"), "{err}");

    let truncated = dir.write("truncated.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let err = TrustStore::builder()
        .ca_file(&truncated)
        .build()
        .expect_err("bad PEM");
    assert!(matches!(err, TrustStoreError::Pem { .. }), "{err}");
    assert!(err.to_string().contains("truncated.pem"), "{err}");

    let garbage = dir.write(
        "garbage.pem",
        pki.root.cert_pem() + &pem_block("CERTIFICATE", b"\x30\x03\x02\x01\x01"),
    );
    // By default the unusable certificate is left out and the rest loads,
    // as nginx loads what OpenSSL can use.
    let store = TrustStore::builder()
        .ca_file(&garbage)
        .build()
        .expect("the root still loads");
    assert_eq!(store.anchor_count(), 1);
    assert_eq!(store.accepted_ca_names().len(), 1);
    let skipped = store.skipped_certificates();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].index(), 2);
    assert!(skipped[0].source_name().contains("garbage.pem"));
    assert!(
        skipped[0]
            .to_string()
            .contains("certificate #2 cannot be used"),
        "{}",
        skipped[0]
    );
    // A file of nothing usable is a wrong file, not one bad CA.
    let only_garbage = dir.write(
        "only-garbage.pem",
        pem_block("CERTIFICATE", b"\x30\x03\x02\x01\x01"),
    );
    let err = TrustStore::builder()
        .ca_file(&only_garbage)
        .build()
        .expect_err("nothing usable");
    assert!(
        matches!(err, TrustStoreError::BadCertificate { index: 1, .. }),
        "{err}"
    );
    // Strict: one unusable certificate fails the store, and a reload.
    let err = TrustStore::builder()
        .ca_file(&garbage)
        .refuse_unusable_certificates()
        .build()
        .expect_err("bad certificate");
    let files = TrustStoreFiles::new()
        .ca_file(&garbage)
        .refuse_unusable_certificates();
    assert!(ReloadableTrustStore::from_files(files).is_err());
    let text = err.to_string();
    assert!(
        matches!(err, TrustStoreError::BadCertificate { index: 2, .. }),
        "{text}"
    );
    assert!(
        text.contains("garbage.pem") && text.contains("certificate #2"),
        "{text}"
    );

    let bad_crl = dir.write("bad.crl", pem_block("X509 CRL", b"\x30\x03\x02\x01\x01"));
    let err = TrustStore::builder()
        .ca_pem(pki.root.cert_pem())
        .crl_file(&bad_crl)
        .build()
        .expect_err("bad CRL");
    assert!(
        matches!(err, TrustStoreError::BadCrl { index: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("bad.crl"), "{err}");

    // Files are read up to a limit, which real CRLs fit (default 256 MiB).
    let root_file = dir.write("root.pem", pki.root.cert_pem());
    let err = TrustStore::builder()
        .ca_file(&root_file)
        .max_file_size(100)
        .build()
        .expect_err("over the limit");
    assert!(
        matches!(err, TrustStoreError::FileTooLarge { limit: 100, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("root.pem"), "{err}");
    let files = TrustStoreFiles::new()
        .ca_file(&root_file)
        .max_file_size(100);
    assert!(matches!(
        ReloadableTrustStore::from_files(files),
        Err(TrustStoreError::FileTooLarge { .. })
    ));
    // Larger than the old 16 MiB cap: PEM text around the blocks counts.
    let big = dir.write(
        "big.pem",
        pki.root.cert_pem() + &"# padding\n".repeat(2 * 1024 * 1024),
    );
    assert!(std::fs::metadata(&big).expect("size").len() > 16 * 1024 * 1024);
    let store = TrustStore::builder()
        .ca_file(&big)
        .build()
        .expect("a 20 MB file loads");
    assert_eq!(store.anchor_count(), 1);

    let no_crl = dir.write("no.crl", pki.root.cert_pem());
    let err = TrustStore::builder()
        .ca_pem(pki.root.cert_pem())
        .crl_file(&no_crl)
        .build()
        .expect_err("no CRL in file");
    assert!(matches!(err, TrustStoreError::NoCrls { .. }), "{err}");
}

#[tokio::test]
async fn reload_swaps_in_a_new_ca_and_bumps_the_generation() {
    let pki = Arc::new(Pki::generate());
    let dir = TempDir::new("reload-ok");
    let bundle = dir.write("ca.pem", pki.root.cert_pem());
    let store =
        ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&bundle)).expect("load");
    let classifier = classifier(store.clone());
    let harness = Harness::new(Arc::clone(&pki));

    let (_, server) = harness
        .run(
            &classifier,
            VerifyMode::On,
            Presented::leaf(&pki.unknown_ca),
            TLS13,
            None,
        )
        .await;
    assert_eq!(server.reason_kind(), Some(ReasonKind::UnknownLeafIssuer));
    assert_eq!(store.current().generation(), 1);

    dir.write("ca.pem", pki.root.cert_pem() + &pki.unknown_root.cert_pem());
    assert_eq!(store.reload().expect("reload"), 2);
    assert_eq!(store.current().generation(), 2);
    assert_eq!(store.current().anchor_count(), 2);

    let (_, server) = harness
        .run(
            &classifier,
            VerifyMode::On,
            Presented::leaf(&pki.unknown_ca),
            TLS13,
            None,
        )
        .await;
    assert!(
        server.outcome().is_verified(),
        "new CA accepted after reload"
    );
}

#[tokio::test]
async fn a_broken_reload_keeps_the_old_store() {
    let pki = Arc::new(Pki::generate());
    let dir = TempDir::new("reload-broken");
    let bundle = dir.write("ca.pem", pki.root.cert_pem());
    let crl = dir.write("ca.crl", pki.root_crl.pem());
    let files = TrustStoreFiles::new().ca_file(&bundle).crl_file(&crl);
    let store = ReloadableTrustStore::from_files(files.clone()).expect("load");
    assert_eq!(store.files(), Some(&files));
    let classifier = classifier(store.clone());

    dir.write(
        "ca.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    );
    let err = store.reload().expect_err("broken bundle refused");
    assert!(err.to_string().contains("ca.pem"), "{err}");
    assert_eq!(store.current().generation(), 1);

    dir.write("ca.pem", pki.root.cert_pem());
    dir.write("ca.crl", "garbage");
    let err = store.reload().expect_err("broken CRL refused");
    assert!(err.to_string().contains("ca.crl"), "{err}");
    assert_eq!(store.current().generation(), 1);

    std::fs::remove_file(&bundle).expect("remove");
    let err = store.reload().expect_err("missing file refused");
    assert!(err.to_string().contains("ca.pem"), "{err}");

    // The old store (root + its CRL) is still in force.
    let harness = Harness::new(Arc::clone(&pki));
    let (_, server) = harness
        .run(
            &classifier,
            VerifyMode::On,
            Presented::leaf(&pki.valid_from_root),
            TLS13,
            None,
        )
        .await;
    assert!(server.outcome().is_verified());
    let (_, server) = harness
        .run(
            &classifier,
            VerifyMode::On,
            Presented::leaf(&pki.revoked),
            TLS13,
            None,
        )
        .await;
    assert_eq!(server.reason_kind(), Some(ReasonKind::Revoked));
}

#[test]
fn replace_and_in_memory_stores() {
    let pki = Pki::generate();
    let store = ReloadableTrustStore::new(TrustStore::empty());
    assert!(matches!(
        store.reload(),
        Err(TrustStoreError::NotFileBacked)
    ));
    let next = TrustStore::builder()
        .ca_pem(pki.root.cert_pem())
        .build()
        .expect("store");
    assert_eq!(store.replace(next.clone()), 2);
    assert_eq!(store.replace(next), 3);
    assert_eq!(store.generation(), 3);
    let clone = store.clone();
    assert_eq!(clone.current().anchor_count(), 1, "clones share the store");
}

#[test]
fn second_classification_of_a_chain_hits_the_cache() {
    let pki = Pki::generate();
    let store = store_of(&[&pki.root]);
    let classifier = classifier(store.clone());
    let chain = pki.valid_via_intermediate.chain();
    let first = classifier.classify(Some(&chain));
    let second = classifier.classify(Some(&chain));
    assert!(first.is_verified());
    assert!(Arc::ptr_eq(&first, &second), "the same verdict is shared");
    let stats = classifier.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 1, 1));
    assert_eq!(stats.capacity, mtls_status_rustls::DEFAULT_CACHE_CAPACITY);

    // A reload invalidates every cached verdict.
    store.replace(
        TrustStore::builder()
            .ca_pem(pki.unknown_root.cert_pem())
            .build()
            .expect("store"),
    );
    let third = classifier.classify(Some(&chain));
    assert_eq!(
        third.reason().map(|r| r.kind()),
        Some(ReasonKind::UnknownIssuer)
    );
    assert_eq!(classifier.cache_stats().misses, 2);
}

#[test]
fn cached_verdicts_are_not_served_outside_their_validity() {
    let pki = Pki::generate();
    let classifier = classifier(store_of(&[&pki.root]));
    let chain = pki.valid_from_root.chain();
    assert!(
        classifier
            .classify_at(Some(&chain), days_from_now(0))
            .is_verified()
    );
    assert!(
        classifier
            .classify_at(Some(&chain), days_from_now(1))
            .is_verified()
    );
    assert_eq!(classifier.cache_stats().hits, 1);
    // After notAfter the cached Verified must not be served.
    let later = days_from_now(400);
    let expired = classifier.classify_at(Some(&chain), later);
    assert_eq!(
        expired.reason().map(|r| r.kind()),
        Some(ReasonKind::Expired)
    );
    // A cached time-bound failure carries the time of each classification.
    let even_later = days_from_now(401);
    let again = classifier.classify_at(Some(&chain), even_later);
    assert_eq!(
        again.reason().and_then(|r| r.context().time),
        Some(even_later)
    );
    assert_eq!(classifier.cache_stats().hits, 2);
}

#[test]
fn disabled_cache_always_verifies() {
    let pki = Pki::generate();
    let classifier = Classifier::builder(store_of(&[&pki.root]), provider())
        .cache_capacity(0)
        .build()
        .expect("classifier");
    let chain = pki.valid_from_root.chain();
    for _ in 0..3 {
        assert!(classifier.classify(Some(&chain)).is_verified());
    }
    let stats = classifier.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (0, 3, 0));
    assert!(classifier.classify(None).is_none());
    assert!(classifier.classify(Some(&[])).is_none());
}
