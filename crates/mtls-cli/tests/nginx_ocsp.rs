//! nginx `ssl_ocsp` vs `mtls serve --ocsp`: the same PKI, the same real
//! `openssl ocsp` responders on 127.0.0.1, real handshakes, cell by cell.
//!
//! Servers (one nginx `server` block and one `mtls serve` process each,
//! `ssl_verify_client on` / `--verify-client on`, trusting the root only):
//!
//! | server | nginx | mtls serve |
//! |---|---|---|
//! | `on, responder` | `ssl_ocsp on; ssl_ocsp_responder R;` | `--ocsp on --ocsp-responder R` |
//! | `leaf, responder` | `ssl_ocsp leaf; ssl_ocsp_responder R;` | `--ocsp leaf --ocsp-responder R` |
//! | `on, responder down` | `ssl_ocsp on; ssl_ocsp_responder DOWN;` | `--ocsp on --ocsp-responder DOWN` |
//! | `on, AIA` | `ssl_ocsp on;` | `--ocsp on` |
//! | `leaf, AIA` | `ssl_ocsp leaf;` | `--ocsp leaf` |
//!
//! R is `openssl ocsp` for the root (signed by the root: good, revoked, the
//! intermediate revoked, anything else unknown); the intermediate's
//! responder (signed by the intermediate) says its leaf is good; DOWN is a
//! port nothing listens on. Clients: leaves of the root that are good,
//! revoked and unknown, and a leaf of the revoked intermediate (sent with
//! it), whose certificates name their responders in authorityInfoAccess.
//!
//! Every cell must give the same status (200 / 495) and the same
//! `$ssl_client_verify` on both sides (nginx: `return 200
//! "$ssl_client_verify"` and `error_page 495`; ours: the JSON body, and on
//! 495 the problem+json `ssl_client_verify` and the stable `reason`).
//! nginx's answers are also checked against the expected table, so that a
//! broken set-up cannot make both sides agree on nonsense. The differences
//! by design (README, OCSP section) are outside this matrix: `mtls serve`
//! caches answers by default (nginx only with `ssl_ocsp_cache`), offers
//! `--ocsp-fail open`, and refuses `--ocsp` with `optional_no_ca` at start.
//!
//! Skipped (with a message) when nginx or openssl is not installed, unless
//! `MTLS_REQUIRE_NGINX=1`.

// The shared nginx support of `nginx_compare.rs`; this test uses part of it.
#[allow(dead_code)]
mod nginx;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use mtls_testpki::Ca;
use mtls_testpki::ocsp::{Entry, OpensslOcsp, free_port, write_index};
use nginx::ScratchDir;
use nginx::answer::{Answer, from_mtls_serve, from_nginx};
use nginx::client;
use nginx::mtls_serve::MtlsServe;
use nginx::nginx_server::{Nginx, find_nginx, nginx_version, preamble, server_block};
use nginx::situations::Presented;
use rustls::RootCertStore;

/// One server configuration, on both sides.
struct Server {
    name: &'static str,
    /// `on` or `leaf`.
    mode: &'static str,
    /// `ssl_ocsp_responder` / `--ocsp-responder`; `None`: each
    /// certificate's authorityInfoAccess.
    responder: Option<String>,
}

/// One row: a server, a client, and what both must answer.
struct Row {
    server: usize,
    client: &'static str,
    status: u16,
    verify: &'static str,
    /// Our stable reason name on a 495.
    reason: Option<&'static str>,
}

const REVOKED: &str = "FAILED:certificate revoked";
const UNKNOWN: &str = "FAILED:certificate status unknown";
const REQUEST_FAILED: &str = "FAILED:certificate status request failed";

fn openssl_installed() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(why: &str) {
    assert!(
        std::env::var_os("MTLS_REQUIRE_NGINX").is_none(),
        "MTLS_REQUIRE_NGINX is set but {why}"
    );
    // Straight to stderr: the harness swallows `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr().lock(),
        "nginx_ocsp: SKIPPED, {why} (apt-get install nginx openssl, or set NGINX=/path/to/nginx; \
         MTLS_REQUIRE_NGINX=1 makes this a failure)"
    );
}

#[test]
fn nginx_and_mtls_serve_agree_on_ocsp() {
    let Some(nginx_bin) = find_nginx() else {
        return skip("nginx is not installed");
    };
    if !openssl_installed() {
        return skip("openssl is not installed");
    }
    let scratch = ScratchDir::new("nginx-ocsp");
    let dir = scratch.path();

    // The PKI: a root with its responder, an intermediate (revoked by the
    // root's responder) with its own, and the clients.
    let (root_port, int_port, down_port) = (free_port(), free_port(), free_port());
    let url = |port: u16| format!("http://127.0.0.1:{port}/");
    let root = Ca::root("OCSP Compare Root").build();
    let intermediate = root
        .intermediate("OCSP Compare Intermediate")
        .ocsp_url(url(root_port))
        .build();
    let server_cert = root.leaf("localhost").server(["localhost"]).build();
    let leaf = |name: &str| root.leaf(name).ocsp_url(url(root_port)).build();
    let good = leaf("good");
    let revoked = leaf("revoked");
    let unknown = leaf("unknown");
    let under_revoked = intermediate
        .leaf("under-revoked-intermediate")
        .ocsp_url(url(int_port))
        .build();
    let no_aia = root.leaf("no-aia").build();
    let clients: [(&str, Presented); 5] = [
        ("good", presented(&good)),
        ("no AIA", presented(&no_aia)),
        ("revoked", presented(&revoked)),
        ("unknown", presented(&unknown)),
        ("leaf good, int. revoked", presented(&under_revoked)),
    ];

    let root_index = write_index(
        dir,
        "root-index.txt",
        &[
            (good.serial_hex(), Entry::Valid),
            (revoked.serial_hex(), Entry::Revoked),
            (intermediate.serial_hex(), Entry::Revoked),
        ],
    );
    let int_index = write_index(
        dir,
        "int-index.txt",
        &[(under_revoked.serial_hex(), Entry::Valid)],
    );
    let (root_cert, root_key) = (root.cert_pem(), root.key_pem());
    let (int_cert, int_key) = (intermediate.cert_pem(), intermediate.key_pem());
    let root_responder = OpensslOcsp::start(
        dir,
        "root",
        root_port,
        &root,
        (&root_cert, &root_key),
        &root_index,
        &[],
    );
    let _int_responder = OpensslOcsp::start(
        dir,
        "int",
        int_port,
        &intermediate,
        (&int_cert, &int_key),
        &int_index,
        &[],
    );

    let write = |name: &str, contents: String| {
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write a PEM file");
        path
    };
    let cert = write("server.pem", server_cert.chain_pem());
    let key = write("server.key", server_cert.key_pem());
    let ca = write("ca.pem", root.cert_pem());

    let servers = [
        Server {
            name: "on, responder",
            mode: "on",
            responder: Some(url(root_port)),
        },
        Server {
            name: "leaf, responder",
            mode: "leaf",
            responder: Some(url(root_port)),
        },
        Server {
            name: "on, responder down",
            mode: "on",
            responder: Some(url(down_port)),
        },
        Server {
            name: "on, AIA",
            mode: "on",
            responder: None,
        },
        Server {
            name: "leaf, AIA",
            mode: "leaf",
            responder: None,
        },
    ];
    let row = |server, client, status, verify, reason| Row {
        server,
        client,
        status,
        verify,
        reason,
    };
    let rows = [
        row(0, "good", 200, "SUCCESS", None),
        row(0, "revoked", 495, REVOKED, Some("ocsp_revoked")),
        row(0, "unknown", 495, UNKNOWN, Some("ocsp_unknown")),
        row(1, "good", 200, "SUCCESS", None),
        row(1, "revoked", 495, REVOKED, Some("ocsp_revoked")),
        row(1, "unknown", 495, UNKNOWN, Some("ocsp_unknown")),
        row(2, "good", 495, REQUEST_FAILED, Some("ocsp_request_failed")),
        row(3, "good", 200, "SUCCESS", None),
        row(3, "revoked", 495, REVOKED, Some("ocsp_revoked")),
        row(
            3,
            "leaf good, int. revoked",
            495,
            REVOKED,
            Some("ocsp_revoked"),
        ),
        row(
            3,
            "no AIA",
            495,
            REQUEST_FAILED,
            Some("ocsp_request_failed"),
        ),
        row(4, "leaf good, int. revoked", 200, "SUCCESS", None),
    ];

    // nginx: one server block per configuration.
    let nginx_addrs: Vec<SocketAddr> = nginx::free_ports(servers.len())
        .into_iter()
        .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
        .collect();
    let nginx_dir = dir.join("nginx");
    let conf = nginx_config(&nginx_dir, &servers, &nginx_addrs, [&cert, &key, &ca]);
    let nginx = Nginx::start_with_config(&nginx_bin, &nginx_dir, &conf, &nginx_addrs);

    // mtls serve: one process per configuration.
    let ours: Vec<MtlsServe> = servers
        .iter()
        .enumerate()
        .map(|(i, server)| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_mtls"));
            command
                .arg("serve")
                .args(["--listen", "127.0.0.1:0"])
                .arg("--cert")
                .arg(&cert)
                .arg("--key")
                .arg(&key)
                .arg("--client-ca")
                .arg(&ca)
                .args(["--verify-client", "on", "--verify-depth", "2"])
                .args(["--ocsp", server.mode]);
            if let Some(responder) = &server.responder {
                command.args(["--ocsp-responder", responder]);
            }
            MtlsServe::start_command(dir, &format!("ocsp-{i}"), command)
        })
        .collect();

    let mut roots = RootCertStore::empty();
    roots.add(root.cert_der()).expect("trust the test root");
    let mut table = format!(
        "\nnginx_ocsp: {} vs mtls serve, ssl_verify_client on, TLS 1.3\n{:<20}| {:<24}| {:<46}| {}\n",
        nginx_version(&nginx_bin),
        "server",
        "client",
        "nginx",
        "mtls serve"
    );
    let mut failures = Vec::new();
    for row in &rows {
        let server = &servers[row.server];
        let presented = clients
            .iter()
            .find(|(name, _)| *name == row.client)
            .map(|(_, p)| p)
            .expect("a client of the table");
        let tls13 = &rustls::version::TLS13;
        let theirs = client::get(nginx_addrs[row.server], tls13, &roots, Some(presented))
            .and_then(|r| from_nginx(&r));
        let mine = client::get(ours[row.server].addr(), tls13, &roots, Some(presented))
            .and_then(|r| from_mtls_serve(&r));
        let _ = writeln!(
            table,
            "{:<20}| {:<24}| {:<46}| {}",
            server.name,
            row.client,
            cell(&theirs),
            cell(&mine)
        );
        let cell_name = format!("{} / {}", server.name, row.client);
        match (&theirs, &mine) {
            (Ok(n), Ok(o)) => {
                if (n.status, n.verify()) != (row.status, row.verify) {
                    failures.push(format!(
                        "{cell_name}: nginx answered {} {:?}, expected {} {:?}",
                        n.status,
                        n.verify(),
                        row.status,
                        row.verify
                    ));
                }
                if (o.status, o.verify()) != (n.status, n.verify()) {
                    failures.push(format!(
                        "{cell_name}: mtls serve answered {} {:?}, nginx {} {:?}",
                        o.status,
                        o.verify(),
                        n.status,
                        n.verify()
                    ));
                }
                if o.reason.as_deref() != row.reason {
                    failures.push(format!(
                        "{cell_name}: mtls serve reason {:?}, expected {:?}",
                        o.reason, row.reason
                    ));
                }
                // A 200 names the same certificate on both sides.
                if n.status == 200 && o.status == 200 {
                    for name in ["ssl_client_s_dn", "ssl_client_serial"] {
                        if n.vars[name] != o.vars[name] {
                            failures.push(format!(
                                "{cell_name}: {name}: nginx {:?}, mtls serve {:?}",
                                n.vars[name], o.vars[name]
                            ));
                        }
                    }
                }
            }
            (n, o) => {
                if let Err(e) = n {
                    failures.push(format!("{cell_name}: nginx: {e}"));
                }
                if let Err(e) = o {
                    failures.push(format!("{cell_name}: mtls serve: {e}"));
                }
            }
        }
    }

    // Differences by design (README, OCSP section), asserted.
    // 1. mtls serve caches answers until nextUpdate (at most an hour);
    //    nginx without `ssl_ocsp_cache` asks the responder on every
    //    handshake. With the root's responder gone, nginx fails closed and
    //    mtls serve still serves the good answer it has.
    drop(root_responder);
    let tls13 = &rustls::version::TLS13;
    let good_client = presented(&good);
    let theirs =
        client::get(nginx_addrs[0], tls13, &roots, Some(&good_client)).and_then(|r| from_nginx(&r));
    let mine = client::get(ours[0].addr(), tls13, &roots, Some(&good_client))
        .and_then(|r| from_mtls_serve(&r));
    let _ = writeln!(
        table,
        "{:<20}| {:<24}| {:<46}| {} (by design: cached)",
        "on, responder gone",
        "good, asked before",
        cell(&theirs),
        cell(&mine)
    );
    match (&theirs, &mine) {
        (Ok(n), Ok(o)) => {
            if (n.status, n.verify()) != (495, REQUEST_FAILED) {
                failures.push(format!(
                    "responder gone: nginx answered {} {:?}",
                    n.status,
                    n.verify()
                ));
            }
            if (o.status, o.verify()) != (200, "SUCCESS") {
                failures.push(format!(
                    "responder gone: mtls serve answered {} {:?}, expected its cached good answer",
                    o.status,
                    o.verify()
                ));
            }
        }
        (n, o) => failures.push(format!("responder gone: nginx {n:?}, mtls serve {o:?}")),
    }
    // 2. Both refuse OCSP with optional_no_ca at start-up.
    if let Some(problem) = both_refuse_optional_no_ca(&nginx_bin, dir, [&cert, &key, &ca]) {
        failures.push(problem);
    }

    let _ = std::io::stderr().lock().write_all(table.as_bytes());
    if !failures.is_empty() {
        let logs: String = ours
            .iter()
            .enumerate()
            .map(|(i, s)| format!("\nmtls serve {}:\n{}", servers[i].name, s.logs()))
            .collect();
        panic!(
            "{} discrepancies (nginx's logs: {}):\n{}\n{logs}",
            failures.len(),
            nginx.dir().display(),
            failures.join("\n")
        );
    }
}

/// `nginx -t` and `mtls serve` with OCSP under `optional_no_ca`: both must
/// refuse the configuration. Returns what went wrong, if anything.
fn both_refuse_optional_no_ca(nginx: &Path, dir: &Path, files: [&Path; 3]) -> Option<String> {
    let nginx_dir = dir.join("nginx-optional-no-ca");
    std::fs::create_dir_all(nginx_dir.join("tmp")).expect("create nginx directory");
    let server = Server {
        name: "optional_no_ca",
        mode: "on",
        responder: None,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let conf = nginx_config(&nginx_dir, &[server], &[addr], files)
        .replace("ssl_verify_client on;", "ssl_verify_client optional_no_ca;");
    let conf_path = nginx_dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write nginx.conf");
    let test = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(&nginx_dir)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(nginx_dir.join("error.log"))
        .output()
        .expect("run nginx -t");
    let nginx_says = String::from_utf8_lossy(&test.stderr).into_owned();
    if test.status.success() || !nginx_says.contains("optional_no_ca") {
        return Some(format!(
            "nginx -t accepted ssl_ocsp with optional_no_ca: {nginx_says}"
        ));
    }
    let [cert, key, ca] = files;
    let ours = Command::new(env!("CARGO_BIN_EXE_mtls"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg("--client-ca")
        .arg(ca)
        .args(["--verify-client", "optional_no_ca", "--ocsp", "on"])
        .output()
        .expect("run mtls serve");
    let we_say = String::from_utf8_lossy(&ours.stderr).into_owned();
    if ours.status.success() || !we_say.contains("optional_no_ca") {
        return Some(format!(
            "mtls serve accepted --ocsp with optional_no_ca ({}): {we_say}",
            ours.status
        ));
    }
    None
}

/// The leaf and its chain as the client sends them.
fn presented(leaf: &mtls_testpki::Leaf) -> Presented {
    Presented {
        leaf: leaf.clone(),
        chain: leaf.chain(),
    }
}

/// `200 SUCCESS`, `495 FAILED:certificate revoked (ocsp_revoked)`, `ERR ...`.
fn cell(answer: &Result<Answer, String>) -> String {
    match answer {
        Ok(a) => match &a.reason {
            Some(reason) => format!("{} {} ({reason})", a.status, a.verify()),
            None => format!("{} {}", a.status, a.verify()),
        },
        Err(e) => format!("ERR {e}"),
    }
}

/// One server block per configuration.
fn nginx_config(dir: &Path, servers: &[Server], addrs: &[SocketAddr], files: [&Path; 3]) -> String {
    let mut conf = preamble(dir);
    for (server, addr) in servers.iter().zip(addrs) {
        let responder = server
            .responder
            .as_ref()
            .map_or_else(String::new, |url| format!("ssl_ocsp_responder {url};"));
        let directives = format!(
            "ssl_verify_client on; ssl_verify_depth 2; ssl_ocsp {}; {responder}",
            server.mode
        );
        conf.push_str(&server_block(*addr, files, &directives));
    }
    conf.push_str("}\n");
    conf
}
