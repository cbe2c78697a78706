//! curl, a real-world client with OpenSSL, against the axum server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mtls_testpki::PemPair;

use crate::support::{LIMIT, serve};

/// Whether `curl` can be run; tests print why they skip when not.
fn curl_available() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `curl -sk [--cert --key] https://127.0.0.1:PORT/path -w '%{http_code}'`:
/// (status, body).
async fn curl(port: u16, path: &str, cert: Option<&PemPair>) -> (u16, String) {
    let mut command = Command::new("curl");
    command
        .args(["-sk", "--max-time"])
        .arg(LIMIT.as_secs().to_string());
    if let Some(pair) = cert {
        command
            .arg("--cert")
            .arg(&pair.cert)
            .arg("--key")
            .arg(&pair.key);
    }
    command
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .args(["-w", "%{http_code}"]);
    let output = tokio::time::timeout(
        LIMIT + Duration::from_secs(5),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("curl finishes within the limit")
    .expect("curl task")
    .expect("curl runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "curl failed ({}): {stdout} {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let split = stdout.len().saturating_sub(3);
    let code = stdout[split..]
        .parse()
        .unwrap_or_else(|_| panic!("no status code at the end of {stdout:?}"));
    (code, stdout[..split].to_owned())
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn curl_no_certificate_valid_expired() {
    if !curl_available() {
        eprintln!("SKIPPED curl_no_certificate_valid_expired: `curl` is not on PATH");
        return;
    }
    let server = serve().await;
    let dir = TempDir::new("mtls-status-axum-curl");
    let files = server.pki.write_to_dir(dir.path()).expect("write PKI");
    let port = server.addr.port();

    let (status, body) = curl(port, "/admin", None).await;
    assert_eq!(status, 496, "{body}");
    assert!(
        body.contains(r#""reason":"certificate_required""#),
        "{body}"
    );

    let (status, body) = curl(port, "/health", None).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = curl(port, "/admin", Some(&files.client_valid)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""subject":"CN=client-valid""#), "{body}");

    let (status, body) = curl(port, "/admin", Some(&files.client_expired)).await;
    assert_eq!(status, 495, "{body}");
    assert!(body.contains(r#""reason":"expired""#), "{body}");
    assert!(
        body.contains(r#""ssl_client_verify":"FAILED:certificate has expired""#),
        "{body}"
    );
}
