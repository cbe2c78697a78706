//! `mtls lint`.

use crate::common::{demo, mtls, s};

#[test]
fn clean_bundle_exits_0() {
    let demo = demo("lint-clean");
    let f = &demo.files;
    let out = mtls([
        "lint",
        "--client-ca",
        s(&f.ca_bundle),
        "--crl",
        s(&f.crl_bundle),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "ok: 0 errors, 0 warnings, 0 info (2 certificates, 2 CRLs; verify-client on, verify-depth 1)\n"
    );
}

#[test]
fn bundle_with_a_leaf_exits_1_and_names_it() {
    let demo = demo("lint-leaf");
    let f = &demo.files;
    let bundle = demo.dir.join("bundle-with-leaf.pem");
    let contents =
        std::fs::read_to_string(&f.ca_bundle).expect("read") + &demo.pki.valid_from_root.cert_pem();
    std::fs::write(&bundle, contents).expect("write");
    let out = mtls(["lint", "--client-ca", s(&bundle)]);
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("error[leaf_in_bundle]: CN=client-valid: ")),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("failed: 1 error, 0 warnings, 0 info")),
        "{}",
        out.stdout
    );
}

#[test]
fn settings_and_crls_are_linted() {
    let demo = demo("lint-settings");
    let f = &demo.files;
    // Depth 0 cannot accept the intermediate's clients; an expired CRL;
    // optional mode is worth a note.
    let out = mtls([
        "lint",
        "--client-ca",
        s(&f.ca_bundle),
        "--crl",
        s(&f.expired_root_crl),
        s(&f.intermediate_crl),
        "--verify-depth",
        "0",
        "--verify-client",
        "optional",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    for kind in [
        "error[depth_below_bundle_chain]",
        "error[crl_expired]",
        "info[optional_mode]",
    ] {
        assert!(out.stdout.contains(kind), "{kind}: {}", out.stdout);
    }
    // Warnings and notes alone do not fail.
    let out = mtls([
        "lint",
        "--client-ca",
        s(&f.ca_bundle),
        "--verify-client",
        "optional",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("info[optional_mode]"));

    let out = mtls(["lint", "--client-ca", "/nonexistent/ca.pem"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot read --client-ca /nonexistent/ca.pem"),
        "{}",
        out.stderr
    );
}
