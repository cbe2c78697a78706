//! `mtls serve --metrics-listen`: /metrics in Prometheus text format after
//! real mTLS requests, and a real Prometheus server scraping it.
//!
//! The Prometheus part is skipped (with a message) when `prometheus` is not
//! installed, unless `MTLS_REQUIRE_PROMETHEUS` is set (CI sets it).
//! `PROMETHEUS=path` picks another binary.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Demo, Server, TempDir, demo, https_get, plain_http_get, s};

/// Bound of every wait on Prometheus (start, first scrape).
const PROMETHEUS_LIMIT: Duration = Duration::from_secs(30);

/// `mtls serve --metrics-listen 127.0.0.1:0` trusting the demo's bundle and
/// its root's CRL; the metrics address it logged.
fn serve_with_metrics(demo: &Demo) -> (Server, SocketAddr) {
    let server = demo.serve(&[
        "--crl",
        s(&demo.files.root_crl),
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let needle = "serving metrics at http://";
    server.wait_for_log(needle);
    let log = server.stderr();
    let rest = &log[log.find(needle).expect("logged") + needle.len()..];
    let addr = rest
        .split("/metrics")
        .next()
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no metrics address in the log:\n{log}"));
    (server, addr)
}

/// A blocking HTTP/1.1 GET; the whole response (head and body).
fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut response = String::new();
    tcp.read_to_string(&mut response).expect("read response");
    response
}

/// The value of the sample `name{...}` whose labels include every one of
/// `labels`, in Prometheus text format.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let label_text = match series.strip_prefix(name)? {
                "" => "",
                rest => rest.strip_prefix('{')?.strip_suffix('}')?,
            };
            labels
                .iter()
                .all(|(k, v)| {
                    label_text
                        .split(',')
                        .any(|pair| pair == format!("{k}=\"{v}\""))
                })
                .then(|| value.parse().ok())
                .flatten()
        })
}

fn unix(time: time::OffsetDateTime) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let seconds = time.unix_timestamp() as f64;
    seconds
}

/// The trust store's earliest CA notAfter, as the gauge should read it.
fn earliest_ca_not_after(demo: &Demo) -> f64 {
    unix(
        demo.pki
            .root
            .not_after()
            .min(demo.pki.intermediate.not_after()),
    )
}

#[test]
fn metrics_listen_serves_the_documented_names_with_the_values_of_the_requests_sent() {
    let demo = demo("metrics-listen");
    let (server, metrics) = serve_with_metrics(&demo);

    assert_eq!(
        https_get(&server, &demo, Some(&demo.pki.valid_from_root)).status,
        200
    );
    assert_eq!(
        https_get(&server, &demo, Some(&demo.pki.valid_from_root)).status,
        200
    );
    assert_eq!(
        https_get(&server, &demo, Some(&demo.pki.revoked)).status,
        495
    );
    assert_eq!(https_get(&server, &demo, None).status, 496);
    assert_eq!(plain_http_get(&server).status, 497);

    let response = http_get(metrics, "/metrics");
    let (head, text) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    let at = |name: &str, labels: &[(&str, &str)]| {
        sample(text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
    };
    assert_eq!(
        at("mtls_trust_store_earliest_not_after_timestamp_seconds", &[]),
        earliest_ca_not_after(&demo)
    );
    assert_eq!(
        at("mtls_trust_store_ca_certificates", &[("role", "anchor")]),
        1.0
    );
    assert_eq!(
        at(
            "mtls_trust_store_ca_certificates",
            &[("role", "intermediate")]
        ),
        1.0
    );
    let root_crl = &demo.pki.root_crl;
    let issuer = format!("CN={}", root_crl.issuer_common_name());
    let crl_line = text
        .lines()
        .find(|line| line.starts_with("mtls_crl_next_update_timestamp_seconds{"))
        .unwrap_or_else(|| panic!("no CRL gauge in:\n{text}"));
    assert!(crl_line.contains(&issuer), "{crl_line}");
    assert_eq!(
        crl_line
            .rsplit_once(' ')
            .and_then(|(_, v)| v.parse::<f64>().ok()),
        Some(unix(root_crl.next_update()))
    );
    let revoked_line = text
        .lines()
        .find(|line| line.starts_with("mtls_crl_revoked_certificates{"))
        .unwrap_or_else(|| panic!("no CRL entries gauge in:\n{text}"));
    assert!(revoked_line.ends_with(" 1"), "{revoked_line}");

    let requests = |outcome, verdict, reason| {
        at(
            "mtls_client_auth_requests_total",
            &[
                ("outcome", outcome),
                ("verdict", verdict),
                ("reason", reason),
            ],
        )
    };
    assert_eq!(requests("verified", "passed", ""), 2.0);
    assert_eq!(requests("invalid", "rejected", "revoked"), 1.0);
    assert_eq!(requests("none", "rejected", "certificate_required"), 1.0);
    assert_eq!(
        at("mtls_handshake_failures_total", &[("cause", "plain_http")]),
        1.0
    );
    // Verified clients seen: the soonest notAfter among them.
    assert_eq!(
        at("mtls_client_cert_soonest_not_after_timestamp_seconds", &[]),
        unix(demo.pki.valid_from_root.not_after())
    );

    let other = http_get(metrics, "/");
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
}

fn find_prometheus() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMETHEUS") {
        return Some(PathBuf::from(path));
    }
    let found = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    found.then(|| PathBuf::from("prometheus"))
}

/// A free port on 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A Prometheus server started by the test, killed by PID when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_mtls_serve_and_its_api_returns_the_gauge() {
    let Some(bin) = find_prometheus() else {
        assert!(
            std::env::var_os("MTLS_REQUIRE_PROMETHEUS").is_none(),
            "MTLS_REQUIRE_PROMETHEUS is set but prometheus is not installed"
        );
        eprintln!(
            "prometheus scrape: SKIPPED, prometheus is not installed (apt-get install prometheus; \
             MTLS_REQUIRE_PROMETHEUS=1 makes this a failure)"
        );
        return;
    };
    let demo = demo("metrics-prometheus");
    let (server, metrics) = serve_with_metrics(&demo);
    assert_eq!(
        https_get(&server, &demo, Some(&demo.pki.valid_from_root)).status,
        200
    );

    let dir = TempDir::new("prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: mtls\n    static_configs:\n      \
             - targets: ['{metrics}']\n"
        ),
    )
    .expect("write prometheus.yml");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log file");
    let child = Command::new(&bin)
        .arg(format!("--config.file={}", s(&config)))
        .arg(format!("--storage.tsdb.path={}", s(&dir.join("data"))))
        .arg(format!("--web.listen-address={addr}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let prometheus = Prometheus { child, addr };

    let query = "/api/v1/query?query=mtls_trust_store_earliest_not_after_timestamp_seconds";
    let start = Instant::now();
    let body = loop {
        let body = TcpStream::connect_timeout(&prometheus.addr, Duration::from_secs(1))
            .ok()
            .map(|_| http_get(prometheus.addr, query))
            .and_then(|response| response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()));
        if let Some(body) = body.filter(|body| body.contains("\"value\"")) {
            break body;
        }
        assert!(
            start.elapsed() < PROMETHEUS_LIMIT,
            "Prometheus did not return the gauge within {PROMETHEUS_LIMIT:?}; log:\n{}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    // Chunked or not, the JSON object is the one line that starts with `{`.
    let json = body
        .lines()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {body:?}"));
    let answer: serde_json::Value = serde_json::from_str(json).expect("Prometheus API JSON");
    assert_eq!(answer["status"], "success", "{answer}");
    let result = &answer["data"]["result"][0];
    assert_eq!(result["metric"]["job"], "mtls", "{answer}");
    let value: f64 = result["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no value in {answer}"));
    assert_eq!(value, earliest_ca_not_after(&demo));
    drop(prometheus);
    drop(server);
}
