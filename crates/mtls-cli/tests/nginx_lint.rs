//! `mtls lint --nginx`: the configurations in `tests/nginx_lint/`, each
//! first checked with the real `nginx -t`, then linted; every finding must
//! be one the configuration announces with a `# expect: SEVERITY KIND`
//! comment on the directive's line, and every announced one must be found.
//!
//! A case whose first line is `# nginx-t: fails: TEXT` is one nginx refuses
//! (with TEXT in its message); the lint must say why, at the directive.
//!
//! The `nginx -t` half is skipped (with a message) when nginx is not
//! installed, unless `MTLS_REQUIRE_NGINX=1`.

// The shared nginx support of `nginx_compare.rs`; this test uses part of it.
#[allow(dead_code)]
mod nginx;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use mtls_testpki::{Leaf, Pki, PkiFiles};
use nginx::answer::from_nginx;
use nginx::client;
use nginx::nginx_server::{Nginx, find_nginx, preamble, server_block};
use nginx::situations::Presented;
use nginx::{ScratchDir, fixture_cases, free_ports};

const MTLS: &str = env!("CARGO_BIN_EXE_mtls");

/// (file relative to the case directory, line, severity, kind).
type Expected = BTreeSet<(String, usize, String, String)>;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nginx_lint")
}

/// The fixtures and a fresh demo PKI (`ca-bundle.pem`, `server.pem`, ...)
/// in one scratch directory, the prefix of every case.
fn setup() -> ScratchDir {
    setup_with_pki().0
}

fn setup_with_pki() -> (ScratchDir, Pki, PkiFiles) {
    let scratch = ScratchDir::new("nginx-lint");
    copy_dir(&fixtures(), scratch.path());
    let pki = Pki::generate();
    let files = pki.write_to_dir(scratch.path()).expect("write PKI");
    (scratch, pki, files)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture");
        }
    }
}

/// `nginx -t` on `conf` with prefix `dir`: whether it passed, and its output.
fn nginx_t(nginx: &Path, dir: &Path, conf: &Path) -> (bool, String) {
    let out = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(dir.join("error.log"))
        .output()
        .expect("run nginx -t");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), text)
}

fn lint(conf: &Path, format: &str) -> (i32, String, String) {
    let out = Command::new(MTLS)
        .args(["lint", "--nginx"])
        .arg(conf)
        .args(["--format", format])
        .output()
        .expect("run mtls lint");
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `# expect:` comments of `file` (relative to `dir`).
fn expected_in(dir: &Path, file: &str, into: &mut Expected) {
    let text = std::fs::read_to_string(dir.join(file)).expect("read case file");
    for (index, line) in text.lines().enumerate() {
        let Some((_, spec)) = line.split_once("# expect: ") else {
            continue;
        };
        for item in spec.split(',') {
            let (severity, kind) = item.trim().split_once(' ').expect("SEVERITY KIND");
            into.insert((file.to_owned(), index + 1, severity.into(), kind.into()));
        }
    }
}

fn relative(dir: &Path, path: &str) -> String {
    Path::new(path)
        .strip_prefix(dir)
        .unwrap_or_else(|_| panic!("{path} outside {}", dir.display()))
        .display()
        .to_string()
}

fn skip_nginx() {
    assert!(
        std::env::var_os("MTLS_REQUIRE_NGINX").is_none(),
        "MTLS_REQUIRE_NGINX is set but nginx is not installed"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "nginx_lint: nginx -t SKIPPED, nginx is not installed (set NGINX=/path/to/nginx; \
         MTLS_REQUIRE_NGINX=1 makes this a failure)"
    );
}

#[test]
fn every_case_is_checked_by_nginx_and_gives_the_announced_findings() {
    let scratch = setup();
    let dir = scratch.path();
    let nginx = find_nginx();
    if nginx.is_none() {
        skip_nginx();
    }
    let cases = fixture_cases(&fixtures(), ".conf");
    assert!(cases.len() >= 10, "{cases:?}");
    let mut kinds_met = BTreeSet::new();
    for case in &cases {
        let conf = dir.join(case);
        let text = std::fs::read_to_string(&conf).expect("read case");
        let refused = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# nginx-t: fails: "));
        if let Some(nginx) = &nginx {
            let (passed, output) = nginx_t(nginx, dir, &conf);
            match refused {
                None => assert!(passed, "{case}: nginx -t refuses it:\n{output}"),
                Some(why) => {
                    assert!(!passed, "{case}: nginx -t accepts it");
                    assert!(output.contains(why), "{case}: {output}");
                }
            }
        }

        let (code, stdout, stderr) = lint(&conf, "json");
        let report: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{case}: JSON ({e}): {stdout}\n{stderr}"));
        let mut expected = Expected::new();
        let files = report["summary"]["files"].as_array().expect("files");
        for file in files {
            let file = relative(dir, file.as_str().expect("path"));
            expected_in(dir, &file, &mut expected);
        }
        let found: Expected = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    relative(dir, f["file"].as_str().expect("file")),
                    f["line"].as_u64().expect("line") as usize,
                    f["severity"].as_str().expect("severity").to_owned(),
                    f["kind"].as_str().expect("kind").to_owned(),
                )
            })
            .collect();
        assert_eq!(found, expected, "{case}: {stdout}");
        let errors = expected
            .iter()
            .any(|(_, _, severity, _)| severity == "error");
        assert_eq!(code, i32::from(errors), "{case}: exit code; {stderr}");
        assert_eq!(
            report["summary"]["errors"],
            expected.iter().filter(|e| e.2 == "error").count(),
            "{case}"
        );
        for finding in report["findings"].as_array().expect("findings") {
            let message = finding["message"].as_str().expect("message");
            assert!(!message.is_empty(), "{case}: {finding}");
            assert!(
                finding["server"]
                    .as_str()
                    .is_some_and(|s| s.contains(" at ")),
                "{case}: {finding}"
            );
        }
        kinds_met.extend(expected.into_iter().map(|e| e.3));
    }
    // Every nginx-level rule has a case.
    for kind in [
        "verify_client_not_enforced",
        "ssl_client_verify_unchecked",
        "missing_ca_bundle",
        "unreadable_file",
        "depth_below_bundle_chain",
        "leaf_in_bundle",
        "crl_expired",
        "crl_missing_for_ca",
        "ocsp_with_optional_no_ca",
    ] {
        assert!(kinds_met.contains(kind), "no case for {kind}");
    }
}

#[test]
fn a_chain_over_the_depth_is_told_in_nginx_terms() {
    let scratch = setup();
    let (_, stdout, _) = lint(&scratch.path().join("depth.conf"), "json");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let message = report["findings"][0]["message"].as_str().expect("message");
    assert!(
        message.contains("rejected by nginx with \"unable to get local issuer certificate\""),
        "{message}"
    );
    assert!(
        message.ends_with("set ssl_verify_depth to at least 1"),
        "{message}"
    );
    assert_eq!(
        report["findings"][0]["subject"],
        "CN=mtls-status Test Intermediate CA"
    );
}

#[test]
fn includes_are_read_and_reported_in_their_own_file() {
    let scratch = setup();
    let dir = scratch.path();
    let (code, stdout, _) = lint(&dir.join("includes.conf"), "json");
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let files: Vec<String> = report["summary"]["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| relative(dir, f.as_str().expect("path")))
        .collect();
    assert_eq!(
        files,
        [
            "includes.conf",
            "common.inc",
            "servers/a.conf",
            "servers/b.conf"
        ]
    );
    assert_eq!(report["summary"]["servers"], 2);
    assert_eq!(
        report["findings"][0]["server"],
        format!(
            "a.example.org (listen 127.0.0.1:8443 ssl) at {}:1",
            dir.join("servers/a.conf").display()
        )
    );
}

#[test]
fn text_and_sarif_name_the_place_and_the_fix() {
    let scratch = setup();
    let dir = scratch.path();
    let conf = dir.join("optional-unchecked.conf");
    let (code, stdout, _) = lint(&conf, "text");
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(&format!(
            "{}:13: error[ssl_client_verify_unchecked]: ssl_verify_client optional lets clients \
             without a certificate reach the application",
            conf.display()
        )),
        "{stdout}"
    );
    assert!(lines[0].contains("set `ssl_verify_client on;`"), "{stdout}");
    assert!(lines[1].starts_with("failed: 1 error(s), 0 warning(s), 0 info (1 server(s)"));

    let (code, stdout, _) = lint(&conf, "sarif");
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).expect("SARIF JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "mtls");
    assert_eq!(
        run["tool"]["driver"]["rules"][0]["id"],
        "ssl_client_verify_unchecked"
    );
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "ssl_client_verify_unchecked");
    assert_eq!(result["level"], "error");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        format!("file://{}", conf.display())
    );
    assert_eq!(location["region"]["startLine"], 13);

    // Run where the configuration is, as CI does: the URI stays relative.
    let out = Command::new(MTLS)
        .current_dir(dir)
        .args([
            "lint",
            "--nginx",
            "optional-unchecked.conf",
            "--format",
            "sarif",
        ])
        .output()
        .expect("run");
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF JSON");
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "optional-unchecked.conf"
    );

    let (code, stdout, _) = lint(&dir.join("optional-checked.conf"), "sarif");
    assert_eq!(code, 0);
    let sarif: serde_json::Value = serde_json::from_str(&stdout).expect("SARIF JSON");
    assert_eq!(sarif["runs"][0]["results"][0]["level"], "note");
}

#[test]
fn a_broken_configuration_is_a_clear_error() {
    let scratch = setup();
    let dir = scratch.path();
    for (text, needle) in [
        (
            "http {\n  server {\n",
            "unexpected end of file, expecting \"}\"",
        ),
        ("http { include missing/file.conf; }", ":1: cannot open"),
        ("include loop.conf;", "include loop"),
        (
            "http { server { listen 443 ssl; ssl_verify_client sometimes; } }",
            ":1: invalid value \"sometimes\" in \"ssl_verify_client\"",
        ),
    ] {
        let conf = dir.join("loop.conf");
        std::fs::write(&conf, text).expect("write");
        let (code, stdout, stderr) = lint(&conf, "text");
        assert_eq!(code, 1, "{text}: {stdout}");
        assert!(stdout.is_empty(), "{text}: {stdout}");
        assert!(stderr.contains(needle), "{text}: {stderr}");
    }
    // --nginx takes no trust flags, and --format json needs --nginx.
    let out = Command::new(MTLS)
        .args(["lint", "--nginx", "x.conf", "--client-ca", "ca.pem"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let out = Command::new(MTLS)
        .args(["lint", "--client-ca"])
        .arg(dir.join("ca-bundle.pem"))
        .args(["--format", "json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need --nginx"));
}

/// `mtls check --nginx` predicts, cell by cell, the status and
/// `$ssl_client_verify` the real nginx then answers with that configuration.
#[test]
fn check_nginx_predicts_what_nginx_answers() {
    let Some(nginx_bin) = find_nginx() else {
        return skip_nginx();
    };
    let (scratch, pki, files) = setup_with_pki();
    let dir = scratch.path();
    let ports = free_ports(5);
    let addrs: Vec<std::net::SocketAddr> = ports
        .iter()
        .map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], *port)))
        .collect();
    // Per server: its ssl_client_certificate and other directives.
    let bundle = files.ca_bundle.as_path();
    let intermediate = files.intermediate.cert.as_path();
    let servers = [
        (bundle, "ssl_verify_client on; ssl_crl crl-bundle.pem;"),
        (bundle, "ssl_verify_client optional_no_ca;"),
        // The advertised intermediate, and the root only trusted.
        (
            intermediate,
            "ssl_verify_client on; ssl_trusted_certificate root.pem;",
        ),
        // A bundle with the intermediate but not its root.
        (intermediate, "ssl_verify_client on;"),
        (intermediate, "ssl_verify_client optional_no_ca;"),
    ];
    let mut conf = preamble(dir);
    for (addr, (client_ca, directives)) in addrs.iter().zip(servers) {
        let server_files = [
            files.server.cert.as_path(),
            files.server.key.as_path(),
            client_ca,
        ];
        conf.push_str(&server_block(*addr, server_files, directives));
    }
    conf.push_str("}\n");
    let nginx = Nginx::start_with_config(&nginx_bin, dir, &conf, &addrs);
    let conf_path = nginx.dir().join("nginx.conf");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.root.cert_der()).expect("root");
    let on: [(Option<(&Leaf, &Path)>, u16); 5] = [
        (None, 496),
        (Some((&pki.valid_from_root, &files.client_valid.cert)), 200),
        (
            Some((&pki.valid_via_intermediate, &files.client_intermediate.cert)),
            200,
        ),
        (Some((&pki.expired, &files.client_expired.cert)), 495),
        (Some((&pki.revoked, &files.client_revoked.cert)), 495),
    ];
    let optional_no_ca: [(Option<(&Leaf, &Path)>, u16); 5] = [
        (None, 200),
        (Some((&pki.valid_from_root, &files.client_valid.cert)), 200),
        (Some((&pki.unknown_ca, &files.client_unknown_ca.cert)), 200),
        (
            Some((&pki.self_signed, &files.client_self_signed.cert)),
            200,
        ),
        (Some((&pki.expired, &files.client_expired.cert)), 495),
    ];
    let trusted: [(Option<(&Leaf, &Path)>, u16); 5] = [
        (None, 496),
        (Some((&pki.valid_from_root, &files.client_valid.cert)), 200),
        (
            Some((&pki.valid_via_intermediate, &files.client_intermediate.cert)),
            200,
        ),
        (Some((&pki.unknown_ca, &files.client_unknown_ca.cert)), 495),
        (Some((&pki.expired, &files.client_expired.cert)), 495),
    ];
    // OpenSSL 2 (unable to get issuer certificate) for chains through the
    // bundle's intermediate, 21 for the others.
    let no_root: [(Option<(&Leaf, &Path)>, u16); 5] = [
        (None, 496),
        (
            Some((&pki.valid_via_intermediate, &files.client_intermediate.cert)),
            495,
        ),
        (Some((&pki.valid_from_root, &files.client_valid.cert)), 495),
        (Some((&pki.unknown_ca, &files.client_unknown_ca.cert)), 495),
        (Some((&pki.expired, &files.client_expired.cert)), 495),
    ];
    // optional_no_ca lets 21 through, not 2 (nginx's
    // ngx_ssl_verify_error_optional).
    let no_root_optional_no_ca: [(Option<(&Leaf, &Path)>, u16); 5] = [
        (None, 200),
        (
            Some((&pki.valid_via_intermediate, &files.client_intermediate.cert)),
            495,
        ),
        (Some((&pki.valid_from_root, &files.client_valid.cert)), 200),
        (Some((&pki.unknown_ca, &files.client_unknown_ca.cert)), 200),
        (Some((&pki.expired, &files.client_expired.cert)), 495),
    ];
    for (port, cells) in [
        (ports[0], on),
        (ports[1], optional_no_ca),
        (ports[2], trusted),
        (ports[3], no_root),
        (ports[4], no_root_optional_no_ca),
    ] {
        for (client, status) in cells {
            let what = format!("port {port}, {:?}", client.map(|c| c.0.common_name()));
            let mut args = vec![
                "check".to_owned(),
                "--nginx".to_owned(),
                conf_path.display().to_string(),
                "--listen".to_owned(),
                port.to_string(),
                "--format".to_owned(),
                "json".to_owned(),
            ];
            match client {
                Some((_, cert)) => args.extend(["--cert".to_owned(), cert.display().to_string()]),
                None => args.push("--no-cert".to_owned()),
            }
            let out = Command::new(MTLS).args(&args).output().expect("run mtls");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let verdict: serde_json::Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{what}: JSON ({e}): {stdout}"));
            let logged_before = verdict["nginx_log"]
                .as_str()
                .map_or(0, |line| log_count(nginx.dir(), line));
            let presented = client.map(|(leaf, _)| Presented {
                leaf: leaf.clone(),
                chain: leaf.chain(),
            });
            let response = client::get(
                std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                &rustls::version::TLS13,
                &roots,
                presented.as_ref(),
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            let answer = from_nginx(&response).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(answer.status, status, "{what}: nginx itself");
            assert_eq!(verdict["status"], answer.status, "{what}: {verdict}");
            assert_eq!(verdict["ssl_client_verify"], answer.verify_3_0(), "{what}");
            // The line nginx logged for this rejection (error_log ... info).
            match verdict["nginx_log"].as_str() {
                Some(line) => assert_eq!(
                    log_count(nginx.dir(), line),
                    logged_before + 1,
                    "{what}: nginx logs {line:?} once for this request"
                ),
                None => assert_eq!(status, 200, "{what}: {verdict}"),
            }
            let exit = match status {
                200 => 0,
                495 => 2,
                _ => 3,
            };
            assert_eq!(out.status.code(), Some(exit), "{what}");
            assert!(
                String::from_utf8_lossy(&out.stderr).contains(&format!(
                    "as nginx server localhost (listen 127.0.0.1:{port} ssl)"
                )),
                "{what}"
            );
        }
    }
}

#[test]
fn check_nginx_picks_the_server_as_nginx_does() {
    let scratch = setup();
    let dir = scratch.path();
    let conf = dir.join("pick.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp {\n\
         server { listen 8443 ssl; server_name a.example.org; ssl_verify_client on; \
         ssl_client_certificate ca-bundle.pem; }\n\
         server { listen 127.0.0.1:8443 ssl default_server; server_name *.example.org; \
         ssl_verify_client optional_no_ca; }\n\
         server { listen 8444 ssl; server_name www.example.*; ssl_verify_client off; }\n\
         server { listen 8080; ssl_verify_client on; }\n}\n",
    )
    .expect("write");
    let pick = |extra: &[&str]| {
        let out = Command::new(MTLS)
            .args(["check", "--nginx"])
            .arg(&conf)
            .args(extra)
            .arg("--cert")
            .arg(dir.join("client-unknown-ca.pem"))
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().expect("exited"), stderr)
    };
    let (code, stderr) = pick(&[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("3 TLS servers; pick one"), "{stderr}");
    for (extra, line, exit) in [
        (&["--server-name", "A.example.org"][..], 3, 2),
        (&["--server-name", "b.example.org"][..], 4, 0),
        (
            &["--server-name", "nomatch.test", "--listen", "8443"][..],
            4,
            0,
        ),
        (&["--listen", "8443"][..], 4, 0),
        (&["--server-name", "www.example.net"][..], 5, 0),
    ] {
        let (code, stderr) = pick(extra);
        assert_eq!(code, exit, "{extra:?}: {stderr}");
        assert!(
            stderr.contains(&format!("pick.conf:{line}\n")),
            "{extra:?}: {stderr}"
        );
    }
    let (code, stderr) = pick(&["--listen", "8080"]);
    assert_eq!(code, 1, "a plain server is no TLS server: {stderr}");
    assert!(stderr.contains("no TLS server"), "{stderr}");
}

/// How many lines of nginx's error.log contain `line` (nginx writes it
/// before it answers, so it is there once the response is read).
fn log_count(dir: &Path, line: &str) -> usize {
    std::fs::read_to_string(dir.join("error.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(line))
        .count()
}
