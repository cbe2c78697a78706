//! nginx 1.22 (Debian) in front: `ssl_verify_client optional_no_ca` and
//! `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`.

use std::net::SocketAddr;
use std::path::Path;

use mtls_status::proxy::ProxyHeaderFormat;
use mtls_testpki::Pki;
use mtls_testpki::tls::{self, TlsClient};
use serde_json::Value;

use crate::process::{Proxy, ScratchDir, find_or_skip, free_ports};
use crate::support::{classifier, fetch_plain, same_outcomes, serve_behind_proxy, serve_tls};

/// One TLS `server` per backend. nginx answers a failed verification
/// itself (400) before proxying, even under `optional_no_ca` (only unknown
/// issuers pass); `error_page 495 = @forward` hands those requests to the
/// backend too, so that the service judges every certificate, as when it
/// terminates TLS itself.
fn config(
    dir: &Path,
    files: &mtls_testpki::PkiFiles,
    servers: &[(SocketAddr, SocketAddr)],
) -> String {
    let d = dir.display();
    let mut conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\nhttp {{\n\
         access_log off;\nclient_body_temp_path {d}/tmp;\nproxy_temp_path {d}/tmp;\n\
         fastcgi_temp_path {d}/tmp;\nuwsgi_temp_path {d}/tmp;\nscgi_temp_path {d}/tmp;\n"
    );
    for (listen, backend) in servers {
        let forward = format!(
            "proxy_pass http://{backend};\n\
             proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;\n\
             proxy_set_header X-SSL-Client-Verify $ssl_client_verify;\n"
        );
        conf.push_str(&format!(
            "server {{\nlisten {listen} ssl;\nssl_certificate {cert};\nssl_certificate_key {key};\n\
             ssl_client_certificate {ca};\nssl_verify_client optional_no_ca;\nssl_verify_depth 1;\n\
             error_page 495 = @forward;\nlocation / {{\n{forward}}}\nlocation @forward {{\n{forward}}}\n}}\n",
            cert = files.server.cert.display(),
            key = files.server.key.display(),
            ca = files.ca_bundle.display(),
        ));
    }
    conf.push_str("}\n");
    conf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_the_service_sees_what_it_sees_terminating_tls() {
    let Some(nginx) = find_or_skip("nginx", "NGINX", "MTLS_REQUIRE_NGINX") else {
        return;
    };
    let pki = Pki::generate();
    let scratch = ScratchDir::new("behind-nginx");
    let files = pki
        .write_to_dir(scratch.path().join("pki"))
        .expect("write PKI");

    let direct = serve_tls(&pki, classifier(&pki)).await;
    let trusted =
        serve_behind_proxy(ProxyHeaderFormat::Nginx, "127.0.0.0/8", classifier(&pki)).await;
    // Trusts only a network nginx is not in (TEST-NET-1; no traffic goes there).
    let untrusted =
        serve_behind_proxy(ProxyHeaderFormat::Nginx, "192.0.2.0/24", classifier(&pki)).await;

    let ports = free_ports(2);
    let front = SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let front_untrusted = SocketAddr::from(([127, 0, 0, 1], ports[1]));
    let conf = config(
        scratch.path(),
        &files,
        &[(front, trusted.addr), (front_untrusted, untrusted.addr)],
    );
    let conf_path = scratch.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let conf_arg = conf_path.to_str().expect("UTF-8 path");
    let dir_arg = scratch.path().to_str().expect("UTF-8 path");
    let error_log = format!("{dir_arg}/error.log");
    let proxy = Proxy::start(
        &nginx,
        &["-p", dir_arg, "-c", conf_arg, "-e", &error_log],
        scratch.path(),
        &[front, front_untrusted],
    );

    same_outcomes(&pki, direct.addr, front, front_untrusted, &|| proxy.logs()).await;

    // The client cannot send its own certificate header through nginx:
    // proxy_set_header replaces it (and sends none without a certificate).
    let leaf =
        mtls_status::ClientIdentity::from_chain(pki.valid_from_root.chain()).expect("identity");
    let spoof = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-SSL-Client-Cert: {}\r\nX-SSL-Client-Verify: SUCCESS\r\n\r\n",
        leaf.escaped_pem()
    );
    let mut io = TlsClient::builder(&pki)
        .build()
        .connect(front)
        .await
        .expect("TLS");
    let response = String::from_utf8_lossy(
        &tls::request(&mut io, spoof.as_bytes())
            .await
            .expect("response"),
    )
    .into_owned();
    assert!(
        tls::body(&response).contains(r#""outcome":"none""#),
        "{response}"
    );

    // The same headers sent straight to the backend that trusts only
    // 192.0.2.0/24 count for nothing.
    let headers = [
        ("X-SSL-Client-Cert", leaf.escaped_pem()),
        ("X-SSL-Client-Verify", "SUCCESS".to_owned()),
    ];
    let (status, ignored) = fetch_plain(untrusted.addr, &headers).await;
    assert!(status.contains(" 200 "), "{status}");
    assert_eq!(ignored["outcome"], "none", "{ignored}");
    assert_eq!(ignored["s_dn"], Value::Null, "{ignored}");

    // A malformed header from the trusted address is a 400 with its reason.
    let (status, problem) = fetch_plain(
        trusted.addr,
        &[("X-SSL-Client-Cert", "%ZZ-----BEGIN".to_owned())],
    )
    .await;
    assert!(status.contains(" 400 "), "{status}");
    assert_eq!(problem["reason"], "proxy_header_malformed", "{problem}");
    drop(proxy);
}
