//! `mtls pki`: the files it writes and what `mtls check` says about them.

use crate::common::{TempDir, mtls, s};

const FILES: [&str; 27] = [
    "root.pem",
    "root.key",
    "intermediate.pem",
    "intermediate.key",
    "ca-bundle.pem",
    "unknown-root.pem",
    "unknown-root.key",
    "server.pem",
    "server.key",
    "client-valid.pem",
    "client-valid.key",
    "client-intermediate.pem",
    "client-intermediate.key",
    "client-expired.pem",
    "client-expired.key",
    "client-not-yet-valid.pem",
    "client-not-yet-valid.key",
    "client-server-auth-only.pem",
    "client-server-auth-only.key",
    "client-self-signed.pem",
    "client-self-signed.key",
    "client-unknown-ca.pem",
    "client-unknown-ca.key",
    "client-revoked.pem",
    "client-revoked.key",
    "crl-bundle.pem",
    "root-expired.crl.pem",
];

#[test]
fn writes_the_files_and_check_gives_the_documented_results() {
    let dir = TempDir::new("pki");
    let out_dir = dir.join("demo");
    let out = mtls(["pki", s(&out_dir)]);
    assert_eq!(out.code, 0, "{out:?}");
    for file in FILES {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
    assert!(
        out.stdout.contains("mtls serve --listen 127.0.0.1:8443"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("curl --cacert"), "{}", out.stdout);

    let expected = [
        ("client-valid.pem", 0, "verified 200 ok"),
        ("client-intermediate.pem", 0, "verified 200 ok"),
        ("client-expired.pem", 2, "invalid 495 expired"),
        ("client-not-yet-valid.pem", 2, "invalid 495 not_yet_valid"),
        (
            "client-server-auth-only.pem",
            2,
            "invalid 495 invalid_purpose",
        ),
        ("client-self-signed.pem", 2, "invalid 495 self_signed"),
        (
            "client-unknown-ca.pem",
            2,
            "invalid 495 unknown_leaf_issuer",
        ),
        ("client-revoked.pem", 2, "invalid 495 revoked"),
    ];
    let bundle = out_dir.join("ca-bundle.pem");
    let crls = out_dir.join("crl-bundle.pem");
    for (file, code, summary) in expected {
        // What `mtls pki` printed...
        let printed = out
            .stdout
            .lines()
            .find(|line| line.trim_start().starts_with(file))
            .unwrap_or_else(|| panic!("{file} not listed: {}", out.stdout));
        assert!(
            printed.ends_with(&format!("{summary} (exit {code})")),
            "{printed}"
        );
        // ...is what `mtls check` gives.
        let cert = out_dir.join(file);
        let check = mtls([
            "check",
            "--client-ca",
            s(&bundle),
            "--crl",
            s(&crls),
            "--cert",
            s(&cert),
        ]);
        assert_eq!(check.code, code, "{file}: {check:?}");
        assert!(
            check.stdout.starts_with(&format!("{summary}: ")),
            "{file}: {}",
            check.stdout
        );
    }

    let lint = mtls(["lint", "--client-ca", s(&bundle), "--crl", s(&crls)]);
    assert_eq!(lint.code, 0, "{lint:?}");
}

#[test]
fn unwritable_directory_is_an_error() {
    let dir = TempDir::new("pki-unwritable");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").expect("write");
    let out = mtls(["pki", s(&file.join("sub"))]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("cannot write the demo PKI to"),
        "{}",
        out.stderr
    );
}
