//! `mtls serve --crl-url`: the CRL comes from a real HTTP server
//! (`python3 -m http.server` on 127.0.0.1, started and stopped by PID) whose
//! file the test swaps; the server refreshes it on its own, a revocation
//! becomes 495 `certificate revoked`, and with the HTTP server gone the last
//! good CRL stays in force.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TempDir, demo, have, https_get, mtls, s};

/// `python3 -m http.server` serving `dir` on a free port of 127.0.0.1.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn python3 -m http.server");
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let _ = stdout.read_line(&mut line);
        std::thread::spawn(move || {
            let mut rest = String::new();
            while stdout.read_line(&mut rest).is_ok_and(|n| n > 0) {
                rest.clear();
            }
        });
        let port = line
            .split_whitespace()
            .skip_while(|word| *word != "port")
            .nth(1)
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("http.server did not say its port: {line:?}"));
        Self { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Replaces `path` atomically (the HTTP server never serves half a file).
fn swap(dir: &TempDir, name: &str, contents: &str) {
    let staged = dir.join(&format!(".{name}.new"));
    std::fs::write(&staged, contents).expect("write CRL");
    std::fs::rename(&staged, dir.join(name)).expect("swap CRL");
}

#[test]
fn crl_url_is_refreshed_and_the_last_good_crl_survives_the_server() {
    if !have("python3", "--version") {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let demo = demo("serve-crl-url");
    let pki = &demo.pki;
    let www = TempDir::new("crl-www");
    swap(&www, "root.crl", &pki.root.crl().build().pem());
    let mut http = HttpServer::start(www.path());
    let url = format!("http://127.0.0.1:{}/root.crl", http.port);

    let server = demo.serve(&["--crl-url", &url, "--crl-refresh-interval", "1"]);
    // Fetched before "listening on".
    assert!(
        server.stderr().contains("CRL refreshed"),
        "{}",
        server.stderr()
    );
    let client = &pki.valid_from_root;
    assert_eq!(https_get(&server, &demo, Some(client)).status, 200);

    // The CA revokes the client and publishes a new CRL.
    swap(
        &www,
        "root.crl",
        &pki.root.crl().revoke(client).build().pem(),
    );
    let start = Instant::now();
    let reply = loop {
        let reply = https_get(&server, &demo, Some(client));
        if reply.status != 200 {
            break reply;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the revocation was never picked up; log:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(reply.status, 495);
    assert_eq!(reply.json()["reason"], "revoked");
    assert_eq!(
        reply.json()["ssl_client_verify"],
        "FAILED:certificate revoked"
    );

    // The HTTP server goes away: the failure is logged, the CRL stays.
    http.stop();
    server.wait_for_log("CRL refresh failed; keeping the last good CRL");
    let reply = https_get(&server, &demo, Some(client));
    assert_eq!(reply.status, 495);
    assert_eq!(reply.json()["reason"], "revoked");
    let log = server.stderr();
    assert!(log.contains("kept_issuer"), "{log}");
    assert!(log.contains(&url), "{log}");
    drop(www);
}

#[test]
fn crl_url_is_checked_at_start() {
    let demo = demo("serve-crl-url-usage");
    let f = &demo.files;
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cert",
            s(&f.server.cert),
            "--key",
            s(&f.server.key),
        ];
        args.extend_from_slice(extra);
        mtls(args)
    };
    let out = serve(&[
        "--client-ca",
        s(&f.ca_bundle),
        "--crl-url",
        "https://crl.example/root.crl",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("only http://"), "{}", out.stderr);

    let out = serve(&[
        "--verify-client",
        "off",
        "--crl-url",
        "http://127.0.0.1:9/root.crl",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("need --client-ca"), "{}", out.stderr);
}
