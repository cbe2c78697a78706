//! `mtls serve --trusted-proxy CIDR --proxy-header FORMAT --proxy-listen`:
//! what a trusted proxy forwards on the plain-HTTP listener is answered
//! exactly as the same client on the TLS listener; from anyone else, it is
//! a client without a certificate.

use std::net::SocketAddr;

use base64::Engine as _;
use mtls_testpki::tls;
use tokio::net::TcpStream;

use crate::common::{Demo, Reply, Server, demo, https_get, parse_http1, runtime};

const READY: &str = "listening for the trusted proxy on http://";

/// The proxy listener's address, from the server's log.
fn proxy_addr(server: &Server) -> SocketAddr {
    server.wait_for_log(READY);
    let log = server.stderr();
    let rest = &log[log.find(READY).expect("logged") + READY.len()..];
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    addr.parse().expect("a socket address")
}

/// `GET /` in plain HTTP to `addr` with `headers`, as HAProxy would send it.
fn proxied_get(addr: SocketAddr, headers: &[(&str, String)]) -> Reply {
    let mut request = String::from("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    runtime().block_on(async move {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let raw = tls::request(&mut tcp, request.as_bytes())
            .await
            .expect("plain HTTP request");
        parse_http1(&raw)
    })
}

fn haproxy_headers(leaf: Option<&mtls_testpki::Leaf>) -> Vec<(&'static str, String)> {
    leaf.map(|leaf| {
        vec![
            (
                "X-SSL-Client-Cert",
                base64::engine::general_purpose::STANDARD.encode(leaf.cert_der()),
            ),
            ("X-SSL-Client-Verify", "0".to_owned()),
        ]
    })
    .unwrap_or_default()
}

fn serve(demo: &Demo, trusted: &str) -> Server {
    demo.serve(&[
        "--verify-client",
        "on",
        "--trusted-proxy",
        trusted,
        "--proxy-header",
        "haproxy",
        "--proxy-listen",
        "127.0.0.1:0",
    ])
}

#[test]
fn serve_trusted_proxy_answers_as_the_tls_listener() {
    let demo = demo("serve-trusted-proxy");
    let server = serve(&demo, "127.0.0.1");
    let proxy = proxy_addr(&server);
    let pki = &demo.pki;
    for (what, leaf, status) in [
        ("valid", Some(&pki.valid_from_root), 200),
        ("expired", Some(&pki.expired), 495),
        ("unknown CA", Some(&pki.unknown_ca), 495),
        ("no certificate", None, 496),
    ] {
        let direct = https_get(&server, &demo, leaf);
        assert_eq!(direct.status, status, "{what} over TLS: {}", direct.text());
        let proxied = proxied_get(proxy, &haproxy_headers(leaf));
        assert_eq!(
            proxied.status,
            status,
            "{what} via the proxy: {}",
            proxied.text()
        );
        assert_eq!(
            proxied.json(),
            direct.json(),
            "{what}: via the proxy vs TLS"
        );
    }
    // A malformed header from the trusted proxy is a 400 with its reason.
    let bad = proxied_get(proxy, &[("X-SSL-Client-Cert", "!!".to_owned())]);
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(bad.json()["reason"], "proxy_header_malformed");
}

#[test]
fn serve_untrusted_proxy_counts_for_nothing() {
    let demo = demo("serve-untrusted-proxy");
    // TEST-NET-1: the requests come from 127.0.0.1, which is not trusted.
    let server = serve(&demo, "192.0.2.0/24");
    let proxy = proxy_addr(&server);
    let reply = proxied_get(proxy, &haproxy_headers(Some(&demo.pki.valid_from_root)));
    assert_eq!(reply.status, 496, "{}", reply.text());
    assert_eq!(reply.json()["ssl_client_verify"], "NONE");
}
