//! One vocabulary for the trust flags of `serve`, `check` and `lint`
//! (`--client-ca`, `--verify-depth`, `--crl`, `--crl-scope`, `--crl-unknown`,
//! `--crl-expiry`, `--eku`); the old spellings `--ca` and `--max-depth` keep
//! working as hidden aliases.

use crate::common::{demo, https_get, mtls, s};

/// The shared flags, as every command's help lists them.
const SHARED: [&str; 7] = [
    "--client-ca <BUNDLE.pem>",
    "--verify-depth <N>",
    "--crl <CRL.pem>",
    "--crl-scope <SCOPE>",
    "--crl-unknown <POLICY>",
    "--crl-expiry <POLICY>",
    "--eku <client|server|any|OID>",
];

#[test]
fn help_lists_the_shared_flags_and_hides_the_old_spellings() {
    for command in ["serve", "check", "lint"] {
        let out = mtls([command, "--help"]);
        assert_eq!(out.code, 0, "{out:?}");
        for flag in SHARED {
            assert!(
                out.stdout.contains(flag),
                "{command}: {flag} missing:\n{}",
                out.stdout
            );
        }
        for old in ["--ca ", "--ca <", "--max-depth"] {
            assert!(
                !out.stdout.contains(old),
                "{command}: {old} shown:\n{}",
                out.stdout
            );
        }
    }
}

#[test]
fn check_takes_both_spellings() {
    let demo = demo("vocabulary-check");
    let f = &demo.files;
    let cert = s(&f.client_intermediate.cert);
    let bundle = s(&f.ca_bundle);
    // Depth 0 rejects a chain through the intermediate, so the depth flag
    // must really be applied under either name.
    let new = mtls([
        "check",
        "--client-ca",
        bundle,
        "--verify-depth",
        "0",
        "--cert",
        cert,
    ]);
    let old = mtls(["check", "--ca", bundle, "--max-depth", "0", "--cert", cert]);
    assert_eq!(new.code, 2, "{new:?}");
    assert!(
        new.stdout.starts_with("invalid 495 chain_too_long: "),
        "{}",
        new.stdout
    );
    assert_eq!((old.code, &old.stdout), (new.code, &new.stdout));
    // Mixed spellings are one command line too.
    let mixed = mtls([
        "check",
        "--ca",
        bundle,
        "--verify-depth",
        "0",
        "--cert",
        cert,
    ]);
    assert_eq!((mixed.code, &mixed.stdout), (new.code, &new.stdout));
    // The depth is given once: both names are the same flag.
    let twice = mtls([
        "check",
        "--ca",
        bundle,
        "--max-depth",
        "0",
        "--verify-depth",
        "1",
        "--cert",
        cert,
    ]);
    assert_eq!(twice.code, 1, "{twice:?}");
}

#[test]
fn lint_takes_both_spellings() {
    let demo = demo("vocabulary-lint");
    let f = &demo.files;
    let (bundle, crls) = (s(&f.ca_bundle), s(&f.crl_bundle));
    let new = mtls([
        "lint",
        "--client-ca",
        bundle,
        "--crl",
        crls,
        "--verify-depth",
        "0",
    ]);
    let old = mtls(["lint", "--ca", bundle, "--crl", crls, "--max-depth", "0"]);
    assert!(new.stdout.contains("verify-depth 0)"), "{}", new.stdout);
    assert_eq!((old.code, &old.stdout), (new.code, &new.stdout));
    // Without a bundle: a usage error that names the new spelling.
    let none = mtls(["lint", "--crl", crls]);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(
        none.stderr.contains("--client-ca BUNDLE.pem is required"),
        "{}",
        none.stderr
    );
}

#[test]
fn serve_takes_the_flags_check_had() {
    let demo = demo("vocabulary-serve");
    // --max-depth (check's old spelling) works on serve: depth 0 refuses a
    // client behind the intermediate.
    let server = demo.serve(&["--max-depth", "0"]);
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_via_intermediate));
    assert_eq!(reply.status, 495, "{}", reply.text());
    assert_eq!(reply.json()["reason"], "chain_too_long");
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_from_root));
    assert_eq!(reply.status, 200, "{}", reply.text());

    // --eku, once check's alone, applies to serve: a client certificate
    // without serverAuth fails a server-purpose policy.
    let server = demo.serve(&["--eku", "server"]);
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_from_root));
    assert_eq!(reply.status, 495, "{}", reply.text());
    assert_eq!(reply.json()["reason"], "invalid_purpose");
}
