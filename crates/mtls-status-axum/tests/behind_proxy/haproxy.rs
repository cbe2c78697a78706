//! HAProxy 2.6 (Debian) in front: `verify optional` with every verification
//! error ignored (`crt-ignore-err all`, `ca-ignore-err all`) so that the
//! service judges, and `http-request set-header X-SSL-Client-Cert
//! %[ssl_c_der,base64]`.

use std::net::SocketAddr;
use std::path::Path;

use mtls_status::proxy::ProxyHeaderFormat;
use mtls_testpki::Pki;

use crate::process::{Proxy, ScratchDir, find_or_skip, free_ports};
use crate::support::{classifier, same_outcomes, serve_behind_proxy, serve_tls};

fn config(crt: &Path, ca: &Path, servers: &[(SocketAddr, SocketAddr)]) -> String {
    let mut conf = String::from(
        "global\n  maxconn 64\ndefaults\n  mode http\n  timeout connect 5s\n  \
         timeout client 20s\n  timeout server 20s\n",
    );
    for (i, (listen, backend)) in servers.iter().enumerate() {
        conf.push_str(&format!(
            "frontend fe{i}\n  bind {listen} ssl crt {crt} ca-file {ca} verify optional \
             crt-ignore-err all ca-ignore-err all\n  \
             http-request del-header X-SSL-Client-Cert\n  \
             http-request del-header X-SSL-Client-Verify\n  \
             http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64] if {{ ssl_c_used }}\n  \
             http-request set-header X-SSL-Client-Verify %[ssl_c_verify] if {{ ssl_c_used }}\n  \
             default_backend be{i}\nbackend be{i}\n  server s {backend}\n",
            crt = crt.display(),
            ca = ca.display(),
        ));
    }
    conf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_haproxy_the_service_sees_what_it_sees_terminating_tls() {
    let Some(haproxy) = find_or_skip("haproxy", "HAPROXY", "MTLS_REQUIRE_HAPROXY") else {
        return;
    };
    let pki = Pki::generate();
    let scratch = ScratchDir::new("behind-haproxy");
    let files = pki
        .write_to_dir(scratch.path().join("pki"))
        .expect("write PKI");
    // HAProxy wants the certificate chain and its key in one file.
    let crt = scratch.path().join("server-and-key.pem");
    std::fs::write(
        &crt,
        format!("{}{}", pki.server.chain_pem(), pki.server.key_pem()),
    )
    .expect("write server-and-key.pem");

    let direct = serve_tls(&pki, classifier(&pki)).await;
    let trusted =
        serve_behind_proxy(ProxyHeaderFormat::Haproxy, "127.0.0.0/8", classifier(&pki)).await;
    let untrusted =
        serve_behind_proxy(ProxyHeaderFormat::Haproxy, "192.0.2.0/24", classifier(&pki)).await;

    let ports = free_ports(2);
    let front = SocketAddr::from(([127, 0, 0, 1], ports[0]));
    let front_untrusted = SocketAddr::from(([127, 0, 0, 1], ports[1]));
    let conf_path = scratch.path().join("haproxy.cfg");
    std::fs::write(
        &conf_path,
        config(
            &crt,
            &files.ca_bundle,
            &[(front, trusted.addr), (front_untrusted, untrusted.addr)],
        ),
    )
    .expect("write haproxy.cfg");
    // -db: foreground, no daemon; stopped by PID on drop.
    let proxy = Proxy::start(
        &haproxy,
        &["-db", "-f", conf_path.to_str().expect("UTF-8 path")],
        scratch.path(),
        &[front, front_untrusted],
    );
    same_outcomes(&pki, direct.addr, front, front_untrusted, &|| proxy.logs()).await;
    drop(proxy);
}
