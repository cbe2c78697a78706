//! Soundness checks: the generated PKI verifies (or fails) with rustls-webpki exactly
//! as each scenario intends.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::*;

/// Verifies `leaf` for client auth against `roots` now, with optional CRLs
/// (whole-chain scope, unknown status denied, expiry as given).
fn verify(
    leaf: &Leaf,
    roots: &[&Ca],
    crls: &[&Crl],
    enforce_crl_expiry: bool,
) -> Result<(), webpki::Error> {
    verify_chain(
        &leaf.chain(),
        roots,
        crls,
        enforce_crl_expiry,
        KeyUsage::client_auth(),
    )
}

fn verify_chain(
    chain: &[CertificateDer<'static>],
    roots: &[&Ca],
    crls: &[&Crl],
    enforce_crl_expiry: bool,
    usage: KeyUsage,
) -> Result<(), webpki::Error> {
    let root_ders: Vec<_> = roots.iter().map(|ca| ca.cert_der()).collect();
    let anchors: Vec<_> = root_ders
        .iter()
        .map(|der| webpki::anchor_from_trusted_cert(der).expect("anchor"))
        .collect();
    let crl_ders: Vec<_> = crls.iter().map(|crl| crl.der()).collect();
    let owned: Vec<CertRevocationList<'_>> = crl_ders
        .iter()
        .map(|der| {
            CertRevocationList::Owned(OwnedCertRevocationList::from_der(der).expect("crl parses"))
        })
        .collect();
    let refs: Vec<&CertRevocationList<'_>> = owned.iter().collect();
    let revocation = (!refs.is_empty()).then(|| {
        RevocationOptionsBuilder::new(&refs)
            .expect("non-empty")
            .with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Deny)
            .with_expiration_policy(if enforce_crl_expiry {
                ExpirationPolicy::Enforce
            } else {
                ExpirationPolicy::Ignore
            })
            .build()
    });
    let ee = EndEntityCert::try_from(&chain[0])?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &chain[1..],
        unix_now(),
        usage,
        revocation,
        None,
    )
    .map(|_| ())
}

#[test]
fn scenario_pki_verifies_as_intended() {
    let pki = Pki::generate();
    let root = &[&pki.root];
    let crls = &[&pki.root_crl, &pki.intermediate_crl];

    assert_eq!(verify(&pki.valid_from_root, root, &[], false), Ok(()));
    assert_eq!(
        verify(&pki.valid_via_intermediate, root, &[], false),
        Ok(())
    );
    assert_eq!(verify(&pki.valid_from_root, root, crls, true), Ok(()));
    assert_eq!(
        verify(&pki.valid_via_intermediate, root, crls, true),
        Ok(())
    );
    assert!(matches!(
        verify(&pki.expired, root, &[], false),
        Err(webpki::Error::CertExpired { .. })
    ));
    assert!(matches!(
        verify(&pki.not_yet_valid, root, &[], false),
        Err(webpki::Error::CertNotValidYet { .. })
    ));
    assert!(matches!(
        verify(&pki.server_auth_only, root, &[], false),
        Err(webpki::Error::RequiredEkuNotFoundContext(_))
    ));
    assert_eq!(
        verify(&pki.self_signed, root, &[], false),
        Err(webpki::Error::UnknownIssuer)
    );
    assert_eq!(
        verify(&pki.unknown_ca, root, &[], false),
        Err(webpki::Error::UnknownIssuer)
    );
    // The unknown root itself does validate its leaf: the CA is sound, just untrusted.
    assert_eq!(
        verify(&pki.unknown_ca, &[&pki.unknown_root], &[], false),
        Ok(())
    );
    assert_eq!(verify(&pki.revoked, root, &[], false), Ok(()));
    assert_eq!(
        verify(&pki.revoked, root, crls, true),
        Err(webpki::Error::CertRevoked)
    );
    // Missing the intermediate's CRL: unknown status for the via-intermediate leaf.
    assert_eq!(
        verify(&pki.valid_via_intermediate, root, &[&pki.root_crl], true),
        Err(webpki::Error::UnknownRevocationStatus)
    );
    assert!(matches!(
        verify(
            &pki.valid_from_root,
            root,
            &[&pki.expired_root_crl, &pki.intermediate_crl],
            true
        ),
        Err(webpki::Error::CrlExpired { .. })
    ));

    // The server certificate is a valid TLS server certificate for its names.
    assert_eq!(
        verify_chain(
            &pki.server.chain(),
            root,
            &[],
            false,
            KeyUsage::server_auth()
        ),
        Ok(())
    );
    let server_der = pki.server.cert_der();
    let ee = EndEntityCert::try_from(&server_der).unwrap();
    for name in ["localhost", "127.0.0.1", "::1"] {
        let name = ServerName::try_from(name).unwrap();
        assert_eq!(ee.verify_is_valid_for_subject_name(&name), Ok(()));
    }
}

#[test]
fn chain_shapes() {
    let pki = Pki::generate();
    assert_eq!(
        pki.valid_from_root.chain(),
        vec![pki.valid_from_root.cert_der()]
    );
    assert_eq!(
        pki.valid_via_intermediate.chain(),
        vec![
            pki.valid_via_intermediate.cert_der(),
            pki.intermediate.cert_der()
        ]
    );
    assert_eq!(
        pki.valid_via_intermediate.chain_with_root(),
        vec![
            pki.valid_via_intermediate.cert_der(),
            pki.intermediate.cert_der(),
            pki.root.cert_der()
        ]
    );
    assert_eq!(
        pki.self_signed.chain_with_root(),
        vec![pki.self_signed.cert_der()]
    );
    assert_eq!(pki.self_signed.root_der(), None);
    assert_eq!(pki.intermediate.root_der(), pki.root.cert_der());
    assert_eq!(
        pki.valid_via_intermediate.issuer_der(),
        pki.intermediate.subject_der()
    );

    for n in [0, 1, 2, 5] {
        let leaf = pki.deep_chain(n);
        assert_eq!(leaf.chain().len(), n + 1);
        assert_eq!(leaf.chain_with_root().len(), n + 2);
        assert_eq!(leaf.chain_with_root().last(), Some(&pki.root.cert_der()));
        assert_eq!(verify(&leaf, &[&pki.root], &[], false), Ok(()));
    }
}

#[test]
fn path_len_constraint_is_enforced() {
    let root = Ca::root("PathLen Root").build();
    let limited = root.intermediate("Limited").path_len(0).build();
    let below = limited.intermediate("Below Limited").build();
    let ok = limited.leaf("ok").build();
    let too_deep = below.leaf("too-deep").build();
    assert_eq!(verify(&ok, &[&root], &[], false), Ok(()));
    assert_eq!(
        verify(&too_deep, &[&root], &[], false),
        Err(webpki::Error::PathLenConstraintViolated)
    );
}

#[test]
fn revoking_an_intermediate_revokes_its_leaves() {
    let pki = Pki::generate();
    let root_crl = pki.root.crl().revoke(&pki.intermediate).build();
    assert_eq!(
        verify(
            &pki.valid_via_intermediate,
            &[&pki.root],
            &[&root_crl, &pki.intermediate_crl],
            true
        ),
        Err(webpki::Error::CertRevoked)
    );
}

#[test]
fn serials_are_exactly_as_requested() {
    let root = Ca::root("Serial Root").serial([0x7f]).build();
    assert_eq!(root.serial(), &[0x7f]);
    let cases: [(&[u8], &[u8]); 4] = [
        (&[0x01, 0x02], &[0x01, 0x02]),
        (&[0x80, 0x01], &[0x00, 0x80, 0x01]),
        (&[0x00, 0xff], &[0x00, 0xff]),
        (&[0x00, 0x00, 0x01], &[0x01]),
    ];
    for (requested, encoded) in cases {
        let leaf = root.leaf("serial").serial(requested).build();
        assert_eq!(leaf.serial(), encoded, "requested {requested:02x?}");
        assert_eq!(verify(&leaf, &[&root], &[], false), Ok(()));
    }
    let negative = root.leaf("negative").raw_serial([0x80, 0x01]).build();
    assert_eq!(negative.serial(), &[0x80, 0x01]);
    assert_eq!(negative.serial_hex(), "-7FFF");
    let padded = root.leaf("padded").raw_serial([0x00, 0x01]).build();
    assert_eq!(padded.serial(), &[0x00, 0x01]);

    // Default serials differ, even for the shared RSA key.
    let a = root.leaf("a").key(KeyAlgorithm::Rsa2048).build();
    let b = root.leaf("b").key(KeyAlgorithm::Rsa2048).build();
    assert_ne!(a.serial(), b.serial());
    let crl = root.crl().revoke(&a).build();
    assert_eq!(
        verify(&a, &[&root], &[&crl], true),
        Err(webpki::Error::CertRevoked)
    );
    assert_eq!(verify(&b, &[&root], &[&crl], true), Ok(()));
}

#[test]
fn validity_windows() {
    let now = now();
    let root = Ca::root("Time Root").build();
    let expired = root.leaf("expired").expired().build();
    assert!(expired.not_after() < now);
    assert!(expired.not_before() < expired.not_after());
    let future = root.leaf("future").not_yet_valid().build();
    assert!(future.not_before() > now);
    let default = root.leaf("default").build();
    assert!(default.not_before() < now && now < default.not_after());
    let (from, to) = (days_ago(10), days_from_now(10));
    let exact = root.leaf("exact").valid_between(from, to).build();
    assert_eq!((exact.not_before(), exact.not_after()), (from, to));
    assert_eq!(from_unix_time(unix_time(from)), from);

    let expired_ca = root.intermediate("Expired CA").expired().build();
    let leaf = expired_ca.leaf("under-expired-ca").build();
    assert!(matches!(
        verify(&leaf, &[&root], &[], false),
        Err(webpki::Error::CertExpired { .. })
    ));
}

#[test]
fn crl_conveniences() {
    let root = Ca::root("CRL Root").build();
    let expired = root.crl().expired().build();
    assert!(expired.next_update() < now());
    let future = root.crl().not_yet_valid().build();
    assert!(future.this_update() > now());
    let numbered = root.crl().crl_number(42).build();
    assert_eq!(numbered.crl_number(), 42);
    assert!(!numbered.der().is_empty());
    let a = root.crl().build();
    let b = root.crl().build();
    assert!(b.crl_number() > a.crl_number());
    let leaf = root.leaf("x").build();
    let with_reason = root
        .crl()
        .revoke(&leaf)
        .reason(rcgen::RevocationReason::KeyCompromise)
        .build();
    assert_eq!(
        verify(&leaf, &[&root], &[&with_reason], true),
        Err(webpki::Error::CertRevoked)
    );
    // A CA without cRLSign still produces a CRL, which webpki refuses to use (it only
    // checks this for intermediates: trust anchors keep no key usage in webpki).
    let no_crl_sign = root
        .intermediate("No CRL Sign")
        .key_usages(vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ])
        .build();
    let leaf = no_crl_sign.leaf("y").build();
    let crl = no_crl_sign.crl().build();
    let root_crl = root.crl().build();
    assert_eq!(
        verify(&leaf, &[&root], &[&root_crl, &crl], true),
        Err(webpki::Error::IssuerNotCrlSigner)
    );
}

#[test]
fn every_key_algorithm_verifies() {
    for ca_key in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::Rsa2048,
    ] {
        let root = Ca::root(format!("{ca_key:?} Root")).key(ca_key).build();
        let intermediate = root.intermediate("Intermediate").key(ca_key).build();
        for leaf_key in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Rsa2048,
        ] {
            let leaf = intermediate.leaf("leaf").key(leaf_key).build();
            assert_eq!(leaf.key_algorithm(), leaf_key);
            assert_eq!(
                verify(&leaf, &[&root], &[], false),
                Ok(()),
                "CA {ca_key:?}, leaf {leaf_key:?}"
            );
            let key = rcgen::KeyPair::try_from(&leaf.key_der()).expect("key parses");
            assert_eq!(key.algorithm(), leaf_key.signature_algorithm());
        }
        let crl = intermediate.crl().build();
        let root_crl = root.crl().build();
        let leaf = intermediate.leaf("leaf").build();
        assert_eq!(verify(&leaf, &[&root], &[&root_crl, &crl], true), Ok(()));
    }
}

#[test]
fn raw_names_are_written_and_chains_still_verify() {
    let ca_name = Name::new()
        .domain_component("com")
        .domain_component("example")
        .organization("Example, Inc.")
        .common_name("Raw Name Root");
    let root = Ca::root("Raw Name Root")
        .subject_name(ca_name.clone())
        .build();
    assert_eq!(root.subject_der(), ca_name.to_der());

    let leaf_name = Name::new()
        .country("US")
        .attr(&[1, 2, 3, 4], "unknownoid")
        .attr(
            name::oid::ORGANIZATION_NAME,
            AttributeValue::Bmp("Bücher".into()),
        )
        .attr(
            name::oid::LOCALITY_NAME,
            AttributeValue::Teletex(vec![b'M', 0xfc, b'n']),
        )
        .multi([
            (name::oid::COMMON_NAME, "alice"),
            (name::oid::USER_ID, "u1"),
        ]);
    let leaf = root.leaf("alice").subject_name(leaf_name.clone()).build();
    assert_eq!(leaf.subject_der(), leaf_name.to_der());
    assert_eq!(leaf.issuer_der(), ca_name.to_der());
    assert_eq!(verify(&leaf, &[&root], &[], false), Ok(()));

    // Intermediates and CRLs of a raw-named CA carry the raw issuer too.
    let intermediate = root.intermediate("Raw Child").build();
    let grandchild = intermediate.leaf("grandchild").build();
    assert_eq!(verify(&grandchild, &[&root], &[], false), Ok(()));
    let crl = root.crl().revoke(&leaf).build();
    assert_eq!(
        verify(&leaf, &[&root], &[&crl], true),
        Err(webpki::Error::CertRevoked)
    );

    // Empty subject (SPIFFE style) through rcgen.
    let empty = root
        .leaf("ignored")
        .subject(rcgen::DistinguishedName::new())
        .uri("spiffe://example.org/ns/prod/sa/web")
        .build();
    assert_eq!(empty.subject_der(), vec![0x30, 0x00]);
    assert_eq!(verify(&empty, &[&root], &[], false), Ok(()));
}

#[test]
fn eku_variants() {
    let root = Ca::root("EKU Root").build();
    let ok = |leaf: &Leaf| verify(leaf, &[&root], &[], false);
    assert_eq!(ok(&root.leaf("client").client_auth().build()), Ok(()));
    assert_eq!(ok(&root.leaf("none").no_eku().build()), Ok(()));
    assert_eq!(
        ok(&root.leaf("both").client_and_server_auth().build()),
        Ok(())
    );
    assert!(ok(&root.leaf("server").server_auth_only().build()).is_err());
    // webpki does not treat anyExtendedKeyUsage as a wildcard.
    assert!(ok(&root.leaf("any").eku_any().build()).is_err());
    // Not-a-CA issuer.
    let fake_ca = root.intermediate("Not A CA").not_a_ca().build();
    let leaf = fake_ca.leaf("under-non-ca").build();
    assert!(verify(&leaf, &[&root], &[], false).is_err());
}

#[test]
fn name_constraints_are_emitted() {
    let root = Ca::root("NC Root").build();
    let constrained = root
        .intermediate("Constrained")
        .permitted_dns("example.org")
        .build();
    let inside = constrained.leaf("in").dns("a.example.org").build();
    let outside = constrained.leaf("out").dns("a.example.com").build();
    assert_eq!(verify(&inside, &[&root], &[], false), Ok(()));
    assert_eq!(
        verify(&outside, &[&root], &[], false),
        Err(webpki::Error::NameConstraintViolation)
    );
}

#[test]
fn pem_round_trips_and_files_are_written() {
    let pki = Pki::generate();
    let parsed = CertificateDer::from_pem_slice(pki.root.cert_pem().as_bytes()).unwrap();
    assert_eq!(parsed, pki.root.cert_der());
    let key =
        rustls_pki_types::PrivateKeyDer::from_pem_slice(pki.valid_from_root.key_pem().as_bytes())
            .unwrap();
    assert_eq!(key, pki.valid_from_root.key_der());
    let crl = rustls_pki_types::CertificateRevocationListDer::from_pem_slice(
        pki.root_crl.pem().as_bytes(),
    )
    .unwrap();
    assert_eq!(crl, pki.root_crl.der());

    let bundle = bundle_pem(&[&pki.root, &pki.intermediate]);
    let certs: Vec<_> = CertificateDer::pem_slice_iter(bundle.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        certs,
        vec![pki.root.cert_der(), pki.intermediate.cert_der()]
    );

    let dir = std::env::temp_dir().join(format!(
        "mtls-testpki-test-{}-{}",
        std::process::id(),
        util::serial_hex(&util::fresh_serial())
    ));
    let files = pki.write_to_dir(&dir).unwrap();
    let expected = [
        "root.pem",
        "root.key",
        "intermediate.pem",
        "intermediate.key",
        "ca-bundle.pem",
        "unknown-root.pem",
        "unknown-root.key",
        "server.pem",
        "server.key",
        "root.crl.pem",
        "intermediate.crl.pem",
        "crl-bundle.pem",
        "root-expired.crl.pem",
    ];
    for name in expected {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    for (stem, leaf) in pki.clients() {
        let cert = std::fs::read(dir.join(format!("{stem}.pem"))).unwrap();
        let chain: Vec<_> = CertificateDer::pem_slice_iter(&cert)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(chain, leaf.chain(), "{stem}");
        assert!(
            dir.join(format!("{stem}.key")).is_file(),
            "{stem}.key missing"
        );
    }
    assert_eq!(
        files.client_intermediate.cert,
        dir.join("client-intermediate.pem")
    );
    let crls = std::fs::read(&files.crl_bundle).unwrap();
    assert_eq!(
        rustls_pki_types::CertificateRevocationListDer::pem_slice_iter(&crls).count(),
        2
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
