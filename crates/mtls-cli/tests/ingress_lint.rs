//! `mtls lint --ingress`: the manifests in `tests/ingress_lint/`, linted
//! with the CA and CRL files their `# ca-file: [NAMESPACE/NAME=]FILE` and
//! `# crl-file: ...` header lines name (files of a fresh demo PKI); every finding must be one the manifest
//! announces with a `# expect: SEVERITY KIND` comment on the annotation's
//! line, and every announced one must be found.

// The shared support of `nginx_compare.rs`; this test uses its scratch
// directory and fixture listing.
#[allow(dead_code)]
mod nginx;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use mtls_testpki::{Ca, Pki, bundle_pem};
use nginx::{ScratchDir, fixture_cases};

const MTLS: &str = env!("CARGO_BIN_EXE_mtls");

/// (line, severity, kind).
type Expected = BTreeSet<(usize, String, String)>;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ingress_lint")
}

/// The manifests and the CA files they name in one scratch directory:
/// the demo PKI (`ca-bundle.pem`, `client-valid.pem`, ...), `deep-bundle.pem`
/// (a root and two chained intermediates) and `expired-ca.pem`.
fn setup() -> (ScratchDir, Pki) {
    let scratch = ScratchDir::new("ingress-lint");
    let dir = scratch.path();
    for entry in std::fs::read_dir(fixtures()).expect("fixtures") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy fixture");
    }
    let pki = Pki::generate();
    pki.write_to_dir(dir).expect("write PKI");
    let deep = Ca::root("Deep Root").build();
    let chain = deep.chain_of_intermediates(2);
    let bundle = bundle_pem(&[&deep, &chain[0], &chain[1]]);
    std::fs::write(dir.join("deep-bundle.pem"), bundle).expect("write deep bundle");
    let expired = Ca::root("Expired Root").expired().build();
    std::fs::write(dir.join("expired-ca.pem"), expired.cert_pem()).expect("write expired CA");
    (scratch, pki)
}

/// `mtls lint --ingress FILE` with `args` in `dir`: exit code, stdout, stderr.
fn lint(dir: &Path, manifest: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(MTLS)
        .current_dir(dir)
        .args(["lint", "--ingress", manifest])
        .args(args)
        .output()
        .expect("run mtls lint");
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `--ca-file` / `--crl-file` flags of the `# ca-file:` / `# crl-file:`
/// lines and the `# expect:`
/// comments of a manifest.
fn announced(text: &str) -> (Vec<String>, Expected) {
    let mut ca_files = Vec::new();
    let mut expected = Expected::new();
    for (index, line) in text.lines().enumerate() {
        for flag in ["ca-file", "crl-file"] {
            if let Some(file) = line.strip_prefix(&format!("# {flag}: ")) {
                ca_files.push(format!("--{flag}={file}"));
            }
        }
        let Some((_, spec)) = line.split_once("# expect: ") else {
            continue;
        };
        for item in spec.split(',') {
            let (severity, kind) = item.trim().split_once(' ').expect("SEVERITY KIND");
            expected.insert((index + 1, severity.into(), kind.into()));
        }
    }
    (ca_files, expected)
}

fn json(stdout: &str, stderr: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("JSON ({e}): {stdout}\n{stderr}"))
}

#[test]
fn every_manifest_gives_the_announced_findings() {
    let (scratch, _) = setup();
    let dir = scratch.path();
    let cases = fixture_cases(&fixtures(), ".yaml");
    assert!(cases.len() >= 12, "{cases:?}");
    let mut kinds_met = BTreeSet::new();
    for case in &cases {
        let text = std::fs::read_to_string(dir.join(case)).expect("read case");
        let (ca_files, expected) = announced(&text);
        let mut args: Vec<&str> = ca_files.iter().map(String::as_str).collect();
        args.extend(["--format", "json"]);
        let (code, stdout, stderr) = lint(dir, case, &args);
        let report = json(&stdout, &stderr);
        let findings = report["findings"].as_array().expect("findings");
        let found: Expected = findings
            .iter()
            .map(|f| {
                assert_eq!(f["file"], *case, "{case}: {f}");
                (
                    f["line"].as_u64().expect("line") as usize,
                    f["severity"].as_str().expect("severity").to_owned(),
                    f["kind"].as_str().expect("kind").to_owned(),
                )
            })
            .collect();
        assert_eq!(found, expected, "{case}: {stdout}\n{stderr}");
        let errors = expected.iter().filter(|e| e.1 == "error").count();
        assert_eq!(code, i32::from(errors > 0), "{case}: exit code; {stderr}");
        assert_eq!(report["summary"]["errors"], errors, "{case}");
        assert_eq!(report["summary"]["files"][0], *case, "{case}");
        for finding in findings {
            let message = finding["message"].as_str().expect("message");
            assert!(!message.is_empty(), "{case}: {finding}");
            // Every finding names its Ingress and document.
            let ingress = finding["ingress"].as_str().expect("ingress");
            assert!(ingress.contains('/'), "{case}: {finding}");
            assert!(finding["document"].as_u64().is_some_and(|d| d >= 1));
        }
        kinds_met.extend(expected.into_iter().map(|e| e.2));
    }
    for kind in [
        "verify_client_not_enforced",
        "ssl_client_verify_unchecked",
        "missing_ca_bundle",
        "unreadable_file",
        "depth_below_bundle_chain",
        "leaf_in_bundle",
        "ca_expired",
        "crl_expired",
        "crl_missing_for_ca",
        "invalid_annotation",
        "host_settings_conflict",
    ] {
        assert!(kinds_met.contains(kind), "no case for {kind}");
    }
}

#[test]
fn other_objects_are_skipped_and_documents_counted() {
    let (scratch, _) = setup();
    let (code, stdout, stderr) = lint(
        scratch.path(),
        "good.yaml",
        &[
            "--ca-file",
            "prod/client-ca=ca-bundle.pem",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report = json(&stdout, &stderr);
    assert_eq!(report["findings"], serde_json::json!([]));
    let summary = &report["summary"];
    assert_eq!(summary["documents"], 4);
    assert_eq!(summary["ingresses"], 2);
    assert_eq!(summary["protected"], 1);
    assert_eq!(summary["skipped"], 2);
    // The List's items count as objects of their own.
    let (_, stdout, stderr) = lint(
        scratch.path(),
        "list.yaml",
        &["--ca-file", "ca-bundle.pem", "--format", "json"],
    );
    let report = json(&stdout, &stderr);
    assert_eq!(report["summary"]["ingresses"], 2);
    assert_eq!(report["summary"]["skipped"], 1);
    assert_eq!(report["findings"][0]["ingress"], "team-b/b");
}

#[test]
fn text_and_sarif_name_the_manifest_line_the_ingress_and_the_fix() {
    let (scratch, _) = setup();
    let dir = scratch.path();
    let ca = ["--ca-file", "prod/deep-ca=deep-bundle.pem"];
    let (code, stdout, _) = lint(dir, "depth.yaml", &ca);
    assert_eq!(code, 1);
    let first = stdout.lines().next().expect("a finding");
    assert!(
        first.starts_with("depth.yaml:10: error[depth_below_bundle_chain]: "),
        "{stdout}"
    );
    assert!(
        first.contains("rejected by nginx with \"unable to get local issuer certificate\""),
        "{first}"
    );
    assert!(
        first.contains(
            "set nginx.ingress.kubernetes.io/auth-tls-verify-depth to at least 2 \
             [ingress prod/default-depth, document 1, hosts a.example.org]"
        ),
        "{first}"
    );
    let summary = stdout.lines().last().expect("summary");
    assert!(
        summary.starts_with(
            "failed: 3 error(s), 1 warning(s), 0 info (4 Ingress(es) with client certificates \
             of 4; 4 document(s)"
        ),
        "{summary}"
    );

    let mut args = ca.to_vec();
    args.extend(["--format", "sarif"]);
    let (_, stdout, _) = lint(dir, "depth.yaml", &args);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).expect("SARIF JSON");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "depth_below_bundle_chain");
    assert_eq!(result["level"], "error");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "depth.yaml");
    assert_eq!(location["region"]["startLine"], 10);
    assert!(
        result["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("[ingress prod/default-depth, document 1")),
        "{result}"
    );
}

#[test]
fn a_ca_about_to_expire_is_reported_before_it_does() {
    let (scratch, pki) = setup();
    // Ten days before the demo root expires.
    let at = pki.root.not_after() - time::Duration::days(10);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (code, stdout, stderr) = lint(
        scratch.path(),
        "good.yaml",
        &["--ca-file", "prod/client-ca=ca-bundle.pem", "--at", &at],
    );
    assert_eq!(code, 0, "a warning is no error: {stdout}{stderr}");
    assert!(
        stdout.lines().any(
            |l| l.starts_with("good.yaml:19: warning[ca_expiring_soon]: ")
                && l.contains("[ingress prod/web, document 2, hosts web.example.org]")
        ),
        "{stdout}"
    );
}

#[test]
fn malformed_yaml_and_hostile_input_are_clear_errors() {
    let (scratch, _) = setup();
    let dir = scratch.path();
    std::fs::write(
        dir.join("broken.yaml"),
        "kind: Ingress\nmetadata:\n  annotations: {a: [1, 2}\n",
    )
    .expect("write");
    let (code, stdout, stderr) = lint(dir, "broken.yaml", &["--ca-file", "ca-bundle.pem"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("error: broken.yaml: not valid YAML: ") && stderr.contains("line 3"),
        "{stderr}"
    );

    // A "billion laughs": nine levels of ten aliases each.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let items = vec![format!("*a{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    std::fs::write(dir.join("bomb.yaml"), bomb).expect("write");
    let (code, _, stderr) = lint(dir, "bomb.yaml", &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("aliases expanded"), "{stderr}");

    std::fs::write(dir.join("deep.yaml"), "[".repeat(100_000)).expect("write");
    let (code, _, stderr) = lint(dir, "deep.yaml", &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("error: deep.yaml: "), "{stderr}");

    let big = "# padding\n".repeat(500_000);
    std::fs::write(dir.join("big.yaml"), big).expect("write");
    let (code, _, stderr) = lint(dir, "big.yaml", &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("larger than"), "{stderr}");

    let (code, _, stderr) = lint(dir, "no-such.yaml", &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("no-such.yaml"), "{stderr}");
}

#[test]
fn ca_and_crl_files_need_ingress() {
    let out = Command::new(MTLS)
        .args(["lint", "--crl-file", "ca.crl", "--client-ca", "ca.pem"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ingress"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
