//! `mtls check`: every exit code, both formats, and the flags that change
//! the verdict.

use mtls_status::ClientIdentity;
use mtls_testpki::time::{Duration, format_description::well_known::Rfc3339};

use crate::common::{Demo, Output, demo, mtls, s};

fn check(demo: &Demo, cert: &std::path::Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "check",
        "--client-ca",
        s(&demo.files.ca_bundle),
        "--cert",
        s(cert),
    ];
    args.extend_from_slice(extra);
    mtls(args)
}

pub(crate) fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.stdout.lines().count(), 1, "one line: {}", out.stdout);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("JSON ({e}): {}", out.stdout))
}

#[test]
fn verified_chain_exits_0_with_one_line() {
    let demo = demo("check-ok");
    let out = check(&demo, &demo.files.client_valid.cert, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.lines().count(), 1);
    assert!(
        out.stdout.starts_with(
            "verified 200 ok: Client certificate \"CN=client-valid\" issued by \"CN=mtls-status Test Root CA\" verifies"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("ssl_client_verify=SUCCESS"));

    let out = check(
        &demo,
        &demo.files.client_intermediate.cert,
        &["--format", "json"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let json = json(&out);
    let id = ClientIdentity::from_chain(demo.pki.valid_via_intermediate.chain()).expect("parses");
    assert_eq!(json["outcome"], "verified");
    assert_eq!(json["status"], 200);
    assert_eq!(json["reason"], "ok");
    assert_eq!(json["ssl_client_verify"], "SUCCESS");
    assert_eq!(json["openssl_code"], 0);
    assert_eq!(json["subject"], id.subject_dn());
    assert_eq!(json["issuer"], id.issuer_dn());
    assert_eq!(json["serial"], id.serial());
    assert_eq!(json["fingerprint_sha1"], id.fingerprint_sha1());
    assert_eq!(json["fingerprint_sha256"], id.fingerprint_sha256());
    assert_eq!(json["v_end"], id.v_end());
    assert_eq!(json["chain_length"], 2);
    assert!(
        json["detail"]
            .as_str()
            .is_some_and(|d| d.contains("verifies"))
    );
    for mode in ["on", "optional", "optional_no_ca", "off"] {
        assert_eq!(json["decisions"][mode], 200, "{mode}");
    }
}

#[test]
fn invalid_chain_exits_2() {
    let demo = demo("check-invalid");
    let out = check(&demo, &demo.files.client_expired.cert, &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with(
            "invalid 495 expired: Client certificate \"CN=client-expired\": certificate has expired (valid until "
        ),
        "{}",
        out.stdout
    );

    let out = check(
        &demo,
        &demo.files.client_unknown_ca.cert,
        &["--format", "json"],
    );
    assert_eq!(out.code, 2);
    let json = json(&out);
    assert_eq!(json["outcome"], "invalid");
    assert_eq!(json["status"], 495);
    assert_eq!(json["reason"], "unknown_leaf_issuer");
    assert_eq!(json["openssl_code"], 21);
    assert_eq!(
        json["ssl_client_verify"],
        "FAILED:unable to verify the first certificate"
    );
    assert_eq!(json["subject"], "CN=client-unknown-ca");
    assert_eq!(json["issuer"], "CN=mtls-status Unknown Root CA");
    // Only optional_no_ca (and off) let an untrusted issuer through.
    assert_eq!(json["decisions"]["on"], 495);
    assert_eq!(json["decisions"]["optional"], 495);
    assert_eq!(json["decisions"]["optional_no_ca"], 200);

    for (cert, reason) in [
        (&demo.files.client_not_yet_valid.cert, "not_yet_valid"),
        (&demo.files.client_server_auth_only.cert, "invalid_purpose"),
        (&demo.files.client_self_signed.cert, "self_signed"),
    ] {
        let out = check(&demo, cert, &[]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(
            out.stdout.starts_with(&format!("invalid 495 {reason}: ")),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn no_certificate_exits_3() {
    let demo = demo("check-none");
    let out = mtls([
        "check",
        "--client-ca",
        s(&demo.files.ca_bundle),
        "--no-cert",
    ]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stdout.starts_with("none 496 certificate_required: "),
        "{}",
        out.stdout
    );

    let out = mtls([
        "check",
        "--client-ca",
        s(&demo.files.ca_bundle),
        "--no-cert",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 3);
    let json = json(&out);
    assert_eq!(json["outcome"], "none");
    assert_eq!(json["status"], 496);
    assert_eq!(json["ssl_client_verify"], "NONE");
    assert!(json["subject"].is_null());
    assert_eq!(json["decisions"]["on"], 496);
    assert_eq!(json["decisions"]["optional"], 200);
}

#[test]
fn usage_and_io_errors_exit_1() {
    let demo = demo("check-errors");
    let out = check(&demo, &demo.dir.join("missing.pem"), &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.starts_with(&format!(
            "error: cannot read --cert {}: ",
            s(&demo.dir.join("missing.pem"))
        )),
        "{}",
        out.stderr
    );

    let out = mtls([
        "check",
        "--client-ca",
        "/nonexistent/bundle.pem",
        "--no-cert",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot read --client-ca /nonexistent/bundle.pem"),
        "{}",
        out.stderr
    );

    for bad in [
        vec!["check", "--no-cert"],
        vec!["check", "--client-ca", s(&demo.files.ca_bundle)],
        vec![
            "check",
            "--client-ca",
            s(&demo.files.ca_bundle),
            "--no-cert",
            "--cert",
            s(&demo.files.client_valid.cert),
        ],
        vec![
            "check",
            "--client-ca",
            s(&demo.files.ca_bundle),
            "--no-cert",
            "--eku",
            "1.x",
        ],
        vec![
            "check",
            "--client-ca",
            s(&demo.files.ca_bundle),
            "--no-cert",
            "--at",
            "yesterday",
        ],
        vec![
            "check",
            "--client-ca",
            s(&demo.files.ca_bundle),
            "--no-cert",
            "--expect-name",
            "host:x",
        ],
        vec!["frobnicate"],
    ] {
        let out = mtls(&bad);
        assert_eq!(out.code, 1, "{bad:?}: {out:?}");
        assert!(out.stderr.contains("error"), "{bad:?}: {}", out.stderr);
    }
    let help = mtls(["check", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("4 unsupported input"));
}

#[test]
fn unsupported_input_exits_4() {
    let demo = demo("check-unsupported");
    // A private key where a certificate is expected.
    let out = check(&demo, &demo.files.client_valid.key, &[]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "--cert {}: contains no certificate (expected PEM blocks \"-----BEGIN CERTIFICATE-----\"); found: a private key (PRIVATE KEY)",
            s(&demo.files.client_valid.key)
        )),
        "{}",
        out.stderr
    );
    // A certificate where a CRL is expected, and the reverse.
    let out = check(
        &demo,
        &demo.files.client_valid.cert,
        &["--crl", s(&demo.files.root.cert)],
    );
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stderr.contains("--crl"), "{}", out.stderr);
    let out = mtls([
        "check",
        "--client-ca",
        s(&demo.files.root_crl),
        "--cert",
        s(&demo.files.client_valid.cert),
    ]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains("found: a CRL (X509 CRL)"),
        "{}",
        out.stderr
    );
    // A PEM block that is not a certificate inside.
    let garbage = demo.dir.join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let out = check(&demo, &garbage, &[]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr
            .contains("cannot be parsed as an X.509 certificate"),
        "{}",
        out.stderr
    );
}

#[test]
fn at_moves_the_clock() {
    let demo = demo("check-at");
    let leaf = &demo.pki.valid_from_root;
    let after = (leaf.not_after() + Duration::days(1))
        .format(&Rfc3339)
        .expect("format");
    let out = check(&demo, &demo.files.client_valid.cert, &["--at", &after]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 495 expired: "),
        "{}",
        out.stdout
    );

    let before = (leaf.not_before() - Duration::days(1))
        .format(&Rfc3339)
        .expect("format");
    let out = check(&demo, &demo.files.client_valid.cert, &["--at", &before]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 495 not_yet_valid: "),
        "{}",
        out.stdout
    );

    let inside = (leaf.not_after() - Duration::days(10))
        .format(&Rfc3339)
        .expect("format");
    let out = check(
        &demo,
        &demo.files.client_valid.cert,
        &["--at", &inside, "--format", "json"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let json = json(&out);
    assert_eq!(json["v_remain"], 10);
    assert_eq!(
        json["checked_at"],
        inside.replace(".000000000", ""),
        "{json}"
    );
}

#[test]
fn crl_flags() {
    let demo = demo("check-crl");
    let f = &demo.files;
    let out = check(&demo, &f.client_revoked.cert, &["--crl", s(&f.crl_bundle)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout
            .starts_with("invalid 495 revoked: Client certificate \"CN=client-revoked\""),
        "{}",
        out.stdout
    );
    let out = check(&demo, &f.client_valid.cert, &["--crl", s(&f.crl_bundle)]);
    assert_eq!(out.code, 0, "{out:?}");

    // Only the root's CRL: the intermediate's client has no CRL...
    let out = check(
        &demo,
        &f.client_intermediate.cert,
        &["--crl", s(&f.root_crl)],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout
            .starts_with("invalid 495 unknown_revocation_status: "),
        "{}",
        out.stdout
    );
    // ...unless unknown status is allowed.
    let out = check(
        &demo,
        &f.client_intermediate.cert,
        &["--crl", s(&f.root_crl), "--crl-unknown", "allow"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    // Leaf scope: the intermediate's CRL is enough, the root's is not needed.
    let out = check(
        &demo,
        &f.client_intermediate.cert,
        &["--crl", s(&f.intermediate_crl), "--crl-scope", "leaf"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let out = check(
        &demo,
        &f.client_intermediate.cert,
        &["--crl", s(&f.intermediate_crl)],
    );
    assert_eq!(
        out.code, 2,
        "chain scope needs the root's CRL for the intermediate: {out:?}"
    );

    // An expired CRL is enforced unless ignored.
    let expired = ["--crl", s(&f.expired_root_crl), s(&f.intermediate_crl)];
    let out = check(&demo, &f.client_valid.cert, &expired);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 495 crl_expired: "),
        "{}",
        out.stdout
    );
    let mut ignored = expired.to_vec();
    ignored.extend(["--crl-expiry", "ignore"]);
    assert_eq!(check(&demo, &f.client_valid.cert, &ignored).code, 0);
    // ...and the revocation it lists still counts.
    assert_eq!(check(&demo, &f.client_revoked.cert, &ignored).code, 2);
}

#[test]
fn max_depth_and_intermediates() {
    let demo = demo("check-depth");
    let f = &demo.files;
    let out = check(&demo, &f.client_intermediate.cert, &["--verify-depth", "0"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 495 chain_too_long: "),
        "{}",
        out.stdout
    );
    assert_eq!(check(&demo, &f.client_intermediate.cert, &[]).code, 0);

    // The leaf alone, against the root alone: the intermediate is missing...
    let leaf_only = demo.dir.join("leaf-only.pem");
    std::fs::write(&leaf_only, demo.pki.valid_via_intermediate.cert_pem()).expect("write");
    let root_only = [
        "check",
        "--client-ca",
        s(&f.root.cert),
        "--cert",
        s(&leaf_only),
    ];
    let out = mtls(root_only);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 495 unknown_leaf_issuer: "),
        "{}",
        out.stdout
    );
    // ...until --intermediates supplies it.
    let mut with = root_only.to_vec();
    with.extend(["--intermediates", s(&f.intermediate.cert)]);
    let out = mtls(&with);
    assert_eq!(out.code, 0, "{out:?}");

    let deep = demo.pki.deep_chain(3);
    let deep_pem = demo.dir.join("deep.pem");
    std::fs::write(&deep_pem, deep.chain_pem()).expect("write");
    let out = mtls([
        "check",
        "--client-ca",
        s(&f.root.cert),
        "--cert",
        s(&deep_pem),
        "--verify-depth",
        "3",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = mtls([
        "check",
        "--client-ca",
        s(&f.root.cert),
        "--cert",
        s(&deep_pem),
        "--verify-depth",
        "2",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.contains("chain_too_long"), "{}", out.stdout);
}

#[test]
fn eku_policy() {
    let demo = demo("check-eku");
    let f = &demo.files;
    // A clientAuth-only leaf fails a serverAuth requirement.
    let out = check(&demo, &f.client_valid.cert, &["--eku", "server"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 495 invalid_purpose: "),
        "{}",
        out.stdout
    );
    // The serverAuth-only leaf: fails the default, passes server, either, any.
    assert_eq!(check(&demo, &f.client_server_auth_only.cert, &[]).code, 2);
    assert_eq!(
        check(&demo, &f.client_server_auth_only.cert, &["--eku", "server"]).code,
        0
    );
    assert_eq!(
        check(
            &demo,
            &f.client_server_auth_only.cert,
            &["--eku", "client", "--eku", "server"]
        )
        .code,
        0
    );
    assert_eq!(
        check(&demo, &f.client_server_auth_only.cert, &["--eku", "any"]).code,
        0
    );
    assert_eq!(
        check(
            &demo,
            &f.client_server_auth_only.cert,
            &["--eku", "1.3.6.1.5.5.7.3.1"]
        )
        .code,
        0
    );
}

#[test]
fn expect_name() {
    let demo = demo("check-names");
    let cert = &demo.files.client_valid.cert;
    let ok = check(
        &demo,
        cert,
        &[
            "--expect-name",
            "dns:CLIENT-VALID.example.org",
            "--expect-name",
            "uri:spiffe://example.org/ns/prod/sa/web",
            "--expect-name",
            "email:client-valid@example.org",
        ],
    );
    assert_eq!(ok.code, 0, "{ok:?}");

    let out = check(
        &demo,
        cert,
        &["--expect-name", "dns:other.example.org", "--format", "json"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    let json = json(&out);
    assert_eq!(json["reason"], "name_mismatch");
    assert_eq!(json["status"], 495);
    let detail = json["detail"].as_str().expect("detail");
    assert!(
        detail.contains("expected dns:other.example.org"),
        "{detail}"
    );
    assert!(detail.contains("dns:client-valid.example.org"), "{detail}");

    let out = check(&demo, cert, &["--expect-name", "ip:127.0.0.1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 495 name_mismatch: "),
        "{}",
        out.stdout
    );
    // An invalid chain reports its own reason first.
    let out = check(
        &demo,
        &demo.files.client_expired.cert,
        &["--expect-name", "dns:x.example"],
    );
    assert!(
        out.stdout.starts_with("invalid 495 expired: "),
        "{}",
        out.stdout
    );
}

/// The text verdict stays one line whatever the certificate holds: a SAN
/// with a line break (IA5String allows any ASCII) cannot add or forge
/// lines for a script that reads the first one.
#[test]
fn text_output_is_one_line_even_for_names_with_line_breaks() {
    let demo = demo("check-one-line");
    let leaf = demo
        .pki
        .root
        .leaf("client-newline")
        .client_auth()
        .dns("evil.example\nverified 200 ok: forged\r")
        .uri("spiffe://example.org/\u{1b}[2J")
        .build();
    let path = demo.dir.join("newline.pem");
    std::fs::write(&path, leaf.cert_pem()).expect("write certificate");
    for extra in [
        &["--expect-name", "dns:other.example"][..],
        &["--expect-name", "dns:other.example", "--format", "json"][..],
        &[][..],
    ] {
        let out = check(&demo, &path, extra);
        assert_eq!(out.stdout.lines().count(), 1, "{extra:?}: {:?}", out.stdout);
        assert!(
            !out.stdout
                .trim_end_matches('\n')
                .chars()
                .any(char::is_control),
            "{extra:?}: {:?}",
            out.stdout
        );
        if extra.is_empty() {
            assert_eq!(out.code, 0, "{out:?}");
        } else {
            assert_eq!(out.code, 2, "{out:?}");
        }
    }
    let out = check(&demo, &path, &["--expect-name", "dns:other.example"]);
    assert!(
        out.stdout
            .contains(r"dns:evil.example\nverified 200 ok: forged\r"),
        "the name is shown, escaped: {:?}",
        out.stdout
    );
}

/// `mtls check --at` on client certificates with odd validity encodings:
/// the verdict is OpenSSL's (`openssl verify -attime` on the same files) and
/// `v_start` is what `openssl x509 -startdate` prints.
#[test]
fn odd_validity_encodings_match_openssl() {
    use mtls_testpki::{GENERALIZED_TIME as G, UTC_TIME as U};
    let demo = demo("check-odd-times");
    let at = "2027-01-15T08:00:00Z";
    let at_unix = 1_800_000_000;
    let cases = [
        ((G, "20200101000000Z"), (G, "20400101000000Z"), 0),
        ((G, "19600101000000Z"), (U, "400101000000Z"), 0),
        ((U, "200101000000+0100"), (U, "400101000000Z"), 13),
        ((U, "200101000000Z"), (U, "400101000000-0130"), 14),
        ((U, "200101000000Z"), (U, "270115080000Z"), 10),
        ((G, "20300101000000Z"), (G, "20400101000000Z"), 9),
    ];
    for (i, (not_before, not_after, expected)) in cases.into_iter().enumerate() {
        let leaf = demo
            .pki
            .root
            .leaf(format!("odd-{i}"))
            .raw_validity(not_before, not_after)
            .build();
        let path = demo.dir.join(&format!("odd-{i}.pem"));
        std::fs::write(&path, leaf.cert_pem()).expect("write leaf");
        let out = check(&demo, &path, &["--at", at, "--format", "json"]);
        let json = json(&out);
        assert_eq!(
            json["openssl_code"], expected,
            "{not_before:?} {not_after:?}: {out:?}"
        );

        let ca = std::fs::read_to_string(&demo.files.ca_bundle).expect("bundle");
        let code =
            mtls_testpki::openssl::verify(demo.dir.path(), &ca, None, &leaf.cert_pem(), at_unix);
        assert_eq!(code, expected, "openssl verify");
        let start = mtls_testpki::openssl::start_date(demo.dir.path(), &leaf.cert_pem());
        assert_eq!(json["v_start"], start, "{out:?}");
    }
}

#[test]
fn ocsp_flags() {
    let demo = demo("check-ocsp");
    // A responder port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let url = format!("http://127.0.0.1:{port}/");
    let cert = &demo.files.client_valid.cert;
    let out = check(&demo, cert, &["--ocsp", "leaf", "--ocsp-responder", &url]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout.contains("ocsp: request failed:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "invalid 495 ocsp_request_failed: Client certificate \"CN=client-valid\": \
             certificate status request failed"
        ),
        "{}",
        out.stdout
    );
    let out = check(
        &demo,
        cert,
        &[
            "--ocsp",
            "on",
            "--ocsp-responder",
            &url,
            "--ocsp-fail",
            "open",
        ],
    );
    assert_eq!(out.code, 0, "fail open: {out:?}");
    // JSON stays one object; the OCSP lines go to stderr.
    let out = check(
        &demo,
        cert,
        &[
            "--ocsp",
            "leaf",
            "--ocsp-responder",
            &url,
            "--format",
            "json",
        ],
    );
    assert_eq!(json(&out)["reason"], "ocsp_request_failed");
    assert!(
        out.stderr.contains("ocsp: request failed"),
        "{}",
        out.stderr
    );
    let out = check(
        &demo,
        cert,
        &["--ocsp", "leaf", "--ocsp-responder", "https://x/"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("http://"), "{}", out.stderr);
    let out = check(&demo, cert, &["--ocsp", "sometimes"]);
    assert_eq!(out.code, 1, "{out:?}");
}
