//! `mtls check --verify-client MODE` answers what `mtls serve` in that mode
//! answers, and `--trusted` (nginx `ssl_trusted_certificate`) verifies
//! chains on `check` and `serve` without being advertised.

use std::path::Path;

use mtls_testpki::Leaf;

use crate::check::json;
use crate::common::{Demo, Output, Server, advertised_and_status, demo, https_get, mtls, s};

const MODES: [&str; 4] = ["on", "optional", "optional_no_ca", "off"];
const UNKNOWN: &str = "FAILED:unable to verify the first certificate";

/// `mtls check --verify-client MODE --client-ca <demo bundle> ...`.
fn check_in(demo: &Demo, mode: &str, client: Option<&Path>, extra: &[&str]) -> Output {
    let mut args = vec![
        "check",
        "--verify-client",
        mode,
        "--client-ca",
        s(&demo.files.ca_bundle),
    ];
    match client {
        Some(cert) => args.extend(["--cert", s(cert)]),
        None => args.push("--no-cert"),
    }
    args.extend_from_slice(extra);
    mtls(args)
}

#[test]
fn check_answers_what_serve_answers_in_every_mode() {
    let demo = demo("check-modes-vs-serve");
    let (pki, f) = (&demo.pki, &demo.files);
    let clients: [Option<(&Leaf, &Path)>; 6] = [
        None,
        Some((&pki.valid_from_root, &f.client_valid.cert)),
        Some((&pki.unknown_ca, &f.client_unknown_ca.cert)),
        Some((&pki.self_signed, &f.client_self_signed.cert)),
        Some((&pki.expired, &f.client_expired.cert)),
        Some((&pki.server_auth_only, &f.client_server_auth_only.cert)),
    ];
    let mut passes = 0;
    for mode in MODES {
        let server = demo.serve(&["--verify-client", mode]);
        for client in clients {
            let what = format!(
                "mode {mode}, client {:?}",
                client.map(|c| c.0.common_name())
            );
            let reply = https_get(&server, &demo, client.map(|c| c.0));
            let out = check_in(&demo, mode, client.map(|c| c.1), &["--format", "json"]);
            let verdict = json(&out);
            assert_eq!(verdict["verify_client"], mode, "{what}");
            assert_eq!(verdict["status"], reply.status, "{what}: {verdict}");
            let exit = match reply.status {
                200 => 0,
                495 => 2,
                496 => 3,
                other => panic!("{what}: unexpected status {other}"),
            };
            assert_eq!(out.code, exit, "{what}: {out:?}");
            assert_eq!(verdict["passes"], reply.status == 200, "{what}");
            // The line nginx (and `mtls serve`) logs for a rejection.
            match verdict["nginx_log"].as_str() {
                Some(line) => server.wait_for_log(line),
                None => assert_eq!(reply.status, 200, "{what}: {verdict}"),
            }
            if reply.status == 200 {
                passes += 1;
                // What the handler sees, as nginx's $ssl_client_verify.
                assert_eq!(
                    verdict["ssl_client_verify"],
                    reply.json()["ssl_client_verify"],
                    "{what}"
                );
            }
            let text = check_in(&demo, mode, client.map(|c| c.1), &[]);
            assert_eq!(text.code, exit, "{what}: {text:?}");
            assert!(
                text.stdout
                    .split(' ')
                    .nth(1)
                    .is_some_and(|status| status == reply.status.to_string()),
                "{what}: {}",
                text.stdout
            );
        }
    }
    // on: 1 (valid); optional: 2 (+ none); optional_no_ca: 4 (+ unknown CA,
    // self-signed); off: all 6.
    assert_eq!(passes, 1 + 2 + 4 + 6);
}

#[test]
fn the_text_says_what_the_mode_changes() {
    let demo = demo("check-modes-text");
    let f = &demo.files;

    let out = check_in(
        &demo,
        "optional_no_ca",
        Some(&f.client_unknown_ca.cert),
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("invalid 200 unknown_leaf_issuer: "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with(&format!(
            "With --verify-client optional_no_ca the request passes: the handler runs with \
             ssl_client_verify={UNKNOWN}.\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("would let it through"),
        "no hint to use the mode already judged: {}",
        out.stdout
    );

    // The default mode is on, and its text suggests optional_no_ca.
    let out = check_in(&demo, "on", Some(&f.client_unknown_ca.cert), &[]);
    let default = mtls([
        "check",
        "--client-ca",
        s(&f.ca_bundle),
        "--cert",
        s(&f.client_unknown_ca.cert),
    ]);
    assert_eq!(default.stdout, out.stdout);
    assert_eq!((default.code, out.code), (2, 2));
    assert!(out.stdout.starts_with("invalid 495 unknown_leaf_issuer: "));
    assert!(out.stdout.contains(&format!(
        "(--verify-client optional_no_ca would let it through with ssl_client_verify={UNKNOWN}.)"
    )));

    let out = check_in(&demo, "optional", Some(&f.client_unknown_ca.cert), &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout
            .ends_with("With --verify-client optional the server answers 495.\n"),
        "{}",
        out.stdout
    );

    // optional_no_ca tolerates only an untrusted issuer.
    let out = check_in(&demo, "optional_no_ca", Some(&f.client_expired.cert), &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stdout.starts_with("invalid 495 expired: "));

    let out = check_in(&demo, "optional", None, &["--format", "json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let verdict = json(&out);
    assert_eq!(verdict["status"], 200);
    assert_eq!(verdict["ssl_client_verify"], "NONE");
    // The other modes' answers stay in the JSON.
    assert_eq!(verdict["decisions"]["on"], 496);

    let out = check_in(
        &demo,
        "off",
        Some(&f.client_expired.cert),
        &["--format", "json"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let verdict = json(&out);
    assert_eq!(verdict["outcome"], "invalid");
    assert_eq!(verdict["status"], 200);
    assert_eq!(
        verdict["ssl_client_verify"], "NONE",
        "off requests no certificate"
    );
    assert!(
        verdict["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no certificate is requested")),
        "{verdict}"
    );

    let out = mtls(["check", "--verify-client", "sometimes", "--no-cert"]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn optional_no_ca_and_off_need_no_bundle() {
    let demo = demo("check-modes-no-bundle");
    let f = &demo.files;
    let without = |mode: &str, cert: &Path| {
        mtls([
            "check",
            "--verify-client",
            mode,
            "--cert",
            s(cert),
            "--format",
            "json",
        ])
    };
    // Without CAs every chain is from an untrusted issuer.
    let out = without("optional_no_ca", &f.client_valid.cert);
    assert_eq!(out.code, 0, "{out:?}");
    let verdict = json(&out);
    assert_eq!(verdict["reason"], "unknown_leaf_issuer");
    assert_eq!(verdict["ssl_client_verify"], UNKNOWN);
    let out = without("optional_no_ca", &f.client_expired.cert);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(json(&out)["reason"], "expired");
    assert_eq!(without("off", &f.client_valid.cert).code, 0);

    for mode in ["on", "optional"] {
        let out = without(mode, &f.client_valid.cert);
        assert_eq!(out.code, 1, "{mode}: {out:?}");
        assert!(
            out.stderr
                .contains("--client-ca BUNDLE.pem is required (or --trusted FILE.pem)"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn trusted_cas_verify_on_check() {
    let demo = demo("check-trusted");
    let f = &demo.files;
    let check = |args: &[&str]| {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        mtls(all)
    };
    let (intermediate, root) = (s(&f.intermediate.cert), s(&f.root.cert));
    let via = s(&f.client_intermediate.cert);

    // The advertised intermediate alone does not reach a root.
    let out = check(&["--client-ca", intermediate, "--cert", via]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = check(&[
        "--client-ca",
        intermediate,
        "--trusted",
        root,
        "--cert",
        via,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("verified 200 ok: "),
        "{}",
        out.stdout
    );

    // --trusted alone stands in for --client-ca (nginx 1.27.2+).
    let out = check(&["--trusted", root, "--cert", s(&f.client_valid.cert)]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = check(&["--trusted", root, "--cert", s(&f.client_unknown_ca.cert)]);
    assert_eq!(out.code, 2, "{out:?}");

    let missing = demo.dir.join("missing.pem");
    let out = check(&["--trusted", s(&missing), "--no-cert"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("cannot read --trusted {}", s(&missing))),
        "{}",
        out.stderr
    );
    let out = check(&["--trusted", s(&f.client_valid.key), "--no-cert"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains("--trusted") && out.stderr.contains("contains no certificate"),
        "{}",
        out.stderr
    );
}

/// `mtls serve` with the demo's server certificate and only `trust` flags.
fn serve_with(demo: &Demo, trust: &[&str]) -> Server {
    let f = &demo.files;
    let mut args = vec!["--cert", s(&f.server.cert), "--key", s(&f.server.key)];
    args.extend_from_slice(trust);
    Server::start(args)
}

#[test]
fn trusted_cas_verify_on_serve_without_being_advertised() {
    let demo = demo("serve-trusted");
    let (pki, f) = (&demo.pki, &demo.files);
    let server = serve_with(
        &demo,
        &[
            "--client-ca",
            s(&f.intermediate.cert),
            "--trusted",
            s(&f.root.cert),
        ],
    );
    let advertised = [pki.intermediate.subject_der()];
    for (leaf, status) in [
        (&pki.valid_via_intermediate, 200),
        // The root verifies root-issued clients too, though not advertised.
        (&pki.valid_from_root, 200),
        (&pki.unknown_ca, 495),
    ] {
        let (names, got) = advertised_and_status(&server, &demo, leaf);
        assert_eq!(names, advertised, "{}", leaf.common_name());
        assert_eq!(got, status, "{}", leaf.common_name());
    }
    let reply = https_get(&server, &demo, Some(&pki.valid_via_intermediate));
    assert_eq!(reply.json()["ssl_client_verify"], "SUCCESS");
    drop(server);

    // --trusted alone: mode on starts, advertises no CA and verifies.
    let server = serve_with(&demo, &["--trusted", s(&f.root.cert)]);
    let (names, status) = advertised_and_status(&server, &demo, &pki.valid_from_root);
    assert!(names.is_empty(), "{names:?}");
    assert_eq!(status, 200);
    assert_eq!(https_get(&server, &demo, None).status, 496);
}
