//! `mtls serve`: the DESIGN.md §4 contract, with real TLS clients.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mtls_status::ClientIdentity;
use mtls_testpki::Leaf;
use rustls::pki_types::UnixTime;

use crate::common::{
    Demo, Server, demo, have, https_get, mtls, plain_http_get, runtime, s, tls_client,
};

/// nginx's variable names without `$`, as the contract lists them.
const KEYS: [&str; 11] = [
    "ssl_client_verify",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_s_dn_legacy",
    "ssl_client_i_dn_legacy",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
    "ssl_client_escaped_cert",
];

/// nginx's pages with `server_tokens off` (reference §1), byte for byte.
const NGINX_495: &str = "<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The SSL certificate error</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const NGINX_496: &str = "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const NGINX_497: &str = "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

fn start(demo: &Demo, extra: &[&str]) -> Server {
    demo.serve(extra)
}

fn now() -> UnixTime {
    UnixTime::since_unix_epoch(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970"),
    )
}

/// `ssl_client_escaped_cert` computed here, independently of the library:
/// the leaf PEM as curl/openssl write it, percent-encoded like
/// ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT).
fn escaped(pem: &str) -> String {
    let mut out = String::new();
    for byte in pem.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The object has exactly the contract's keys, all strings.
fn assert_keys(json: &serde_json::Value) {
    let object = json.as_object().expect("a JSON object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys, KEYS.into_iter().collect::<BTreeSet<_>>());
    assert!(object.values().all(serde_json::Value::is_string), "{json}");
}

fn assert_empty_but_verify(json: &serde_json::Value, verify: &str) {
    assert_keys(json);
    assert_eq!(json["ssl_client_verify"], verify);
    for key in &KEYS[1..] {
        assert_eq!(json[*key], "", "{key} must be empty: {json}");
    }
}

/// Every variable of a presented certificate, against `ClientIdentity`
/// computed here and an independent percent-encoding of the leaf.
fn assert_identity(json: &serde_json::Value, leaf: &Leaf, verify: &str, before: UnixTime) {
    assert_keys(json);
    let id = ClientIdentity::from_chain(leaf.chain()).expect("the leaf parses");
    assert_eq!(json["ssl_client_verify"], verify);
    assert_eq!(json["ssl_client_s_dn"], id.subject_dn());
    assert_eq!(json["ssl_client_i_dn"], id.issuer_dn());
    assert_eq!(json["ssl_client_s_dn_legacy"], id.subject_dn_legacy());
    assert_eq!(json["ssl_client_i_dn_legacy"], id.issuer_dn_legacy());
    assert_eq!(json["ssl_client_serial"], id.serial());
    assert_eq!(json["ssl_client_fingerprint"], id.fingerprint_sha1());
    assert_eq!(json["ssl_client_v_start"], id.v_start());
    assert_eq!(json["ssl_client_v_end"], id.v_end());
    let remain = [
        id.v_remain(before).to_string(),
        id.v_remain(now()).to_string(),
    ];
    assert!(
        remain
            .iter()
            .any(|r| json["ssl_client_v_remain"] == r.as_str()),
        "v_remain {} not in {remain:?}",
        json["ssl_client_v_remain"]
    );
    assert_eq!(json["ssl_client_escaped_cert"], escaped(&leaf.cert_pem()));
    assert_eq!(json["ssl_client_escaped_cert"], id.escaped_pem());
}

#[test]
fn valid_client_gets_200_with_every_variable_as_nginx_prints_it() {
    let demo = demo("serve-valid");
    let server = start(&demo, &[]);
    for leaf in [&demo.pki.valid_from_root, &demo.pki.valid_via_intermediate] {
        let before = now();
        let reply = https_get(&server, &demo, Some(leaf));
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_identity(&reply.json(), leaf, "SUCCESS", before);
    }
    let json = https_get(&server, &demo, Some(&demo.pki.valid_from_root)).json();
    assert_eq!(json["ssl_client_s_dn"], "CN=client-valid");
    assert_eq!(json["ssl_client_i_dn"], "CN=mtls-status Test Root CA");
    assert_eq!(json["ssl_client_s_dn_legacy"], "/CN=client-valid");

    // Cross-check with OpenSSL, which nginx uses to print these.
    if !have("openssl", "version") {
        return;
    }
    let cert = &demo.files.client_valid.cert;
    let x509 = |nameopt: &str| -> String {
        let output = Command::new("openssl")
            .args([
                "x509",
                "-in",
                s(cert),
                "-noout",
                "-subject",
                "-issuer",
                "-serial",
            ])
            .args([
                "-fingerprint",
                "-sha1",
                "-startdate",
                "-enddate",
                "-nameopt",
                nameopt,
            ])
            .output()
            .expect("run openssl");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let field = |text: &str, prefix: &str| -> String {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .to_owned()
    };
    let rfc2253 = x509("RFC2253");
    assert_eq!(json["ssl_client_s_dn"], field(&rfc2253, "subject="));
    assert_eq!(json["ssl_client_i_dn"], field(&rfc2253, "issuer="));
    assert_eq!(json["ssl_client_serial"], field(&rfc2253, "serial="));
    let fingerprint = field(&rfc2253, "sha1 Fingerprint=")
        .replace(':', "")
        .to_lowercase();
    assert_eq!(json["ssl_client_fingerprint"], fingerprint);
    assert_eq!(json["ssl_client_v_start"], field(&rfc2253, "notBefore="));
    assert_eq!(json["ssl_client_v_end"], field(&rfc2253, "notAfter="));
    let compat = x509("compat");
    assert_eq!(json["ssl_client_s_dn_legacy"], field(&compat, "subject="));
    assert_eq!(json["ssl_client_i_dn_legacy"], field(&compat, "issuer="));
    let pem = Command::new("openssl")
        .args(["x509", "-in", s(cert)])
        .output()
        .expect("run openssl");
    let pem = String::from_utf8(pem.stdout).expect("UTF-8");
    assert_eq!(json["ssl_client_escaped_cert"], escaped(&pem));
}

/// What one client gets from one mode.
#[derive(Debug)]
enum Expect {
    /// 200 with this `ssl_client_verify`; `true` if the variables are filled.
    Pass(&'static str, bool),
    /// A rejection: status and problem+json reason.
    Reject(u16, &'static str),
}

#[test]
fn every_mode_answers_every_client_as_the_design_matrix() {
    use Expect::{Pass, Reject};
    let demo = demo("serve-matrix");
    let unknown = "FAILED:unable to verify the first certificate";
    let expired = "FAILED:certificate has expired";
    let cases: [(&str, [Expect; 4]); 4] = [
        (
            "on",
            [
                Reject(496, "certificate_required"),
                Pass("SUCCESS", true),
                Reject(495, "unknown_leaf_issuer"),
                Reject(495, "expired"),
            ],
        ),
        (
            "optional",
            [
                Pass("NONE", false),
                Pass("SUCCESS", true),
                Reject(495, "unknown_leaf_issuer"),
                Reject(495, "expired"),
            ],
        ),
        (
            "optional_no_ca",
            [
                Pass("NONE", false),
                Pass("SUCCESS", true),
                Pass(unknown, true),
                Reject(495, "expired"),
            ],
        ),
        (
            "off",
            [
                Pass("NONE", false),
                Pass("NONE", false),
                Pass("NONE", false),
                Pass("NONE", false),
            ],
        ),
    ];
    let pki = &demo.pki;
    let clients = [
        None,
        Some(&pki.valid_from_root),
        Some(&pki.unknown_ca),
        Some(&pki.expired),
    ];
    for (mode, expectations) in cases {
        let server = start(&demo, &["--verify-client", mode]);
        for (client, expect) in clients.iter().zip(expectations) {
            let before = now();
            let reply = https_get(&server, &demo, *client);
            let what = format!("mode {mode}, client {:?}", client.map(Leaf::common_name));
            match expect {
                Pass(verify, filled) => {
                    assert_eq!(reply.status, 200, "{what}: {}", reply.text());
                    let json = reply.json();
                    match (filled, client) {
                        (true, Some(leaf)) => assert_identity(&json, leaf, verify, before),
                        _ => assert_empty_but_verify(&json, verify),
                    }
                }
                Reject(status, reason) => {
                    assert_eq!(reply.status, status, "{what}: {}", reply.text());
                    let phrase = if status == 495 {
                        "SSL Certificate Error"
                    } else {
                        "SSL Certificate Required"
                    };
                    assert_eq!(reply.reason_phrase, phrase, "{what}");
                    assert_eq!(
                        reply.header("content-type"),
                        Some("application/problem+json")
                    );
                    assert_eq!(reply.header("connection"), Some("close"));
                    let json = reply.json();
                    assert_eq!(json["status"], status, "{what}");
                    assert_eq!(json["reason"], reason, "{what}: {json}");
                    if reason == "expired" {
                        assert_eq!(json["ssl_client_verify"], expired);
                    }
                }
            }
        }
        if mode == "on" {
            server.wait_for_log("client sent no required SSL certificate");
            server
                .wait_for_log("client SSL certificate verify error: (10:certificate has expired)");
            server.wait_for_log(
                "client SSL certificate verify error: (21:unable to verify the first certificate)",
            );
        }
    }
}

#[test]
fn nginx_style_answers_400_with_nginx_pages() {
    let demo = demo("serve-nginx");
    let server = start(&demo, &["--style", "nginx"]);
    let cases = [
        (None, NGINX_496),
        (Some(&demo.pki.expired), NGINX_495),
        (Some(&demo.pki.unknown_ca), NGINX_495),
    ];
    for (client, page) in cases {
        let reply = https_get(&server, &demo, client);
        assert_eq!(reply.status, 400);
        assert_eq!(reply.reason_phrase, "Bad Request");
        assert_eq!(reply.header("content-type"), Some("text/html"));
        assert_eq!(reply.text(), page);
    }
    let plain = plain_http_get(&server);
    assert_eq!(plain.status, 400);
    assert_eq!(plain.text(), NGINX_497);
    assert_eq!(plain.header("content-length"), Some("248"));
    // A valid client is unaffected by the style.
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_from_root));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["ssl_client_verify"], "SUCCESS");
}

#[test]
fn plain_http_gets_497() {
    let demo = demo("serve-497");
    let server = start(&demo, &[]);
    let reply = plain_http_get(&server);
    assert_eq!(reply.status, 497);
    assert_eq!(reply.reason_phrase, "HTTP Request Sent to HTTPS Port");
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(reply.json()["reason"], "plain_http");
    server.wait_for_log("client sent plain HTTP request to HTTPS port");
}

#[test]
fn crls_follow_nginx_semantics() {
    let demo = demo("serve-crl");
    let f = &demo.files;
    let pki = &demo.pki;

    // A CRL for every CA: the revoked client is refused, the others pass.
    let server = start(&demo, &["--crl", s(&f.crl_bundle)]);
    let revoked = https_get(&server, &demo, Some(&pki.revoked));
    assert_eq!(revoked.status, 495);
    assert_eq!(revoked.json()["reason"], "revoked");
    assert_eq!(
        revoked.json()["ssl_client_verify"],
        "FAILED:certificate revoked"
    );
    for leaf in [&pki.valid_from_root, &pki.valid_via_intermediate] {
        assert_eq!(https_get(&server, &demo, Some(leaf)).status, 200);
    }
    drop(server);

    // Only the root's CRL: the intermediate has none, so its clients fail
    // ("unable to get certificate CRL"), as with nginx's CRL_CHECK_ALL.
    let server = start(&demo, &["--crl", s(&f.root_crl)]);
    assert_eq!(
        https_get(&server, &demo, Some(&pki.valid_from_root)).status,
        200
    );
    let reply = https_get(&server, &demo, Some(&pki.valid_via_intermediate));
    assert_eq!(reply.status, 495);
    assert_eq!(reply.json()["reason"], "unknown_revocation_status");
    assert_eq!(
        reply.json()["ssl_client_verify"],
        "FAILED:unable to get certificate CRL"
    );
    drop(server);

    // An expired CRL is enforced: every client of that CA fails.
    let server = start(
        &demo,
        &[
            "--crl",
            s(&f.expired_root_crl),
            "--crl",
            s(&f.intermediate_crl),
        ],
    );
    let reply = https_get(&server, &demo, Some(&pki.valid_from_root));
    assert_eq!(reply.status, 495);
    assert_eq!(reply.json()["ssl_client_verify"], "FAILED:CRL has expired");
}

#[test]
fn verify_depth_counts_intermediates() {
    let demo = demo("serve-depth");
    let server = start(&demo, &["--verify-depth", "0"]);
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_via_intermediate));
    assert_eq!(reply.status, 495);
    assert_eq!(reply.json()["reason"], "chain_too_long");
    assert_eq!(
        https_get(&server, &demo, Some(&demo.pki.valid_from_root)).status,
        200
    );
}

#[test]
fn http2_is_served_when_negotiated() {
    let demo = demo("serve-h2");
    let server = start(&demo, &[]);
    let get = |client: Option<&Leaf>| -> (u16, Bytes) {
        let client = tls_client(&demo, client, &[b"h2"]);
        let addr = server.addr;
        runtime().block_on(async move {
            tokio::time::timeout(Duration::from_secs(30), async move {
                let tls = client.connect(addr).await.expect("handshake");
                assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
                let (mut sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                        .await
                        .expect("h2 handshake");
                tokio::spawn(connection);
                let request = http::Request::get("https://localhost/")
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                let response = sender.send_request(request).await.expect("response");
                let status = response.status().as_u16();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                (status, body)
            })
            .await
            .expect("h2 request finished in time")
        })
    };
    let (status, body) = get(Some(&demo.pki.valid_from_root));
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(json["ssl_client_verify"], "SUCCESS");
    assert_eq!(json["ssl_client_s_dn"], "CN=client-valid");
    let (status, body) = get(None);
    assert_eq!(status, 496);
    let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(json["reason"], "certificate_required");
}

#[test]
fn curl_sees_the_same_answers() {
    if !have("curl", "--version") {
        return;
    }
    let demo = demo("serve-curl");
    let f = &demo.files;
    let server = start(&demo, &[]);
    let url = format!("https://localhost:{}/", server.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", server.addr.port());
    let curl = |extra: &[&str]| -> (String, String) {
        let output = Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "30",
                "--resolve",
                &resolve,
                "--cacert",
                s(&f.root.cert),
            ])
            .args(["-w", "\n%{http_code}"])
            .args(extra)
            .arg(&url)
            .output()
            .expect("run curl");
        assert!(output.status.success(), "curl failed: {output:?}");
        let text = String::from_utf8(output.stdout).expect("UTF-8");
        let (body, code) = text.rsplit_once('\n').expect("status line");
        (code.to_owned(), body.to_owned())
    };
    let client = |pair: &mtls_testpki::PemPair| -> Vec<String> {
        vec![
            "--cert".into(),
            s(&pair.cert).into(),
            "--key".into(),
            s(&pair.key).into(),
        ]
    };
    let valid = client(&f.client_valid);
    let valid: Vec<&str> = valid.iter().map(String::as_str).collect();
    let (code, body) = curl(&valid);
    assert_eq!(code, "200", "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["ssl_client_verify"], "SUCCESS");
    assert_eq!(json["ssl_client_s_dn"], "CN=client-valid");

    let (code, body) = curl(&[]);
    assert_eq!(code, "496", "{body}");

    let expired = client(&f.client_expired);
    let mut expired: Vec<&str> = expired.iter().map(String::as_str).collect();
    expired.extend(["--http1.1", "-i"]);
    let (code, body) = curl(&expired);
    assert_eq!(code, "495");
    assert!(
        body.starts_with("HTTP/1.1 495 SSL Certificate Error\r\n"),
        "{body}"
    );
    assert!(body.contains("\"reason\":\"expired\""), "{body}");
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_trust_store() {
    if !have("kill", "-l") {
        return;
    }
    let demo = demo("serve-sighup");
    let f = &demo.files;
    let bundle = demo.dir.join("reloadable-ca.pem");
    std::fs::copy(&f.unknown_root.cert, &bundle).expect("copy");
    let server = demo.serve_trusting(&bundle, &["--no-watch"]);
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_from_root));
    assert_eq!(reply.status, 495, "{}", reply.text());

    std::fs::copy(&f.ca_bundle, &bundle).expect("copy");
    crate::common::hangup(&server);
    server.wait_for_log("trust store installed");
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_from_root));
    assert_eq!(reply.status, 200, "{}", reply.text());

    // A bundle that no longer parses keeps the store in force.
    std::fs::write(&bundle, "not a certificate").expect("write");
    crate::common::hangup(&server);
    server.wait_for_log("trust store reload refused; keeping the trust store in force");
    assert_eq!(
        https_get(&server, &demo, Some(&demo.pki.valid_from_root)).status,
        200
    );
}

#[test]
fn bad_configuration_is_a_clear_error_at_start() {
    let demo = demo("serve-errors");
    let f = &demo.files;
    let base = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        s(&f.server.cert),
        "--key",
        s(&f.server.key),
    ];

    let out = mtls(base);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("--verify-client on needs --client-ca"),
        "{}",
        out.stderr
    );

    let mut args = base.to_vec();
    args.extend(["--client-ca", "/nonexistent/ca.pem"]);
    let out = mtls(&args);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("cannot read --client-ca /nonexistent/ca.pem"),
        "{}",
        out.stderr
    );

    let out = mtls([
        "serve",
        "--cert",
        s(&f.server.key),
        "--key",
        s(&f.server.key),
        "--client-ca",
        s(&f.ca_bundle),
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--cert"), "{}", out.stderr);
    assert!(
        out.stderr.contains("contains no certificate"),
        "{}",
        out.stderr
    );

    let out = mtls([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        s(&f.server.cert),
        "--key",
        s(&f.client_valid.key),
        "--client-ca",
        s(&f.ca_bundle),
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot use --cert"), "{}", out.stderr);

    let out = mtls(["serve", "--verify-client", "sometimes"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("optional_no_ca"), "{}", out.stderr);

    // nginx accepts any ssl_verify_depth; so does mtls (chains of more than
    // 6 intermediates are still refused, as chain_too_long).
    for depth in ["7", "100", "255"] {
        let out = mtls([
            "check",
            "--client-ca",
            s(&f.ca_bundle),
            "--cert",
            s(&f.client_valid.cert),
            "--verify-depth",
            depth,
        ]);
        assert_eq!(out.code, 0, "--verify-depth {depth}: {out:?}");
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }

    // optional_no_ca needs no CA bundle: every certificate is untrusted.
    let server = Server::start([
        "--cert",
        s(&f.server.cert),
        "--key",
        s(&f.server.key),
        "--verify-client",
        "optional_no_ca",
    ]);
    let reply = https_get(&server, &demo, Some(&demo.pki.valid_from_root));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()["ssl_client_verify"],
        "FAILED:unable to verify the first certificate"
    );
}
