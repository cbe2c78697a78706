//! The reference verdict: `openssl verify` and `openssl x509` on PEM files.

use std::path::Path;
use std::process::Command;

/// What `openssl verify -attime at -CAfile ca [-untrusted untrusted] leaf`
/// says (PEM files written into `dir`): the code of the last error it
/// prints (nginx keeps OpenSSL's last error; `openssl verify` goes on past
/// some), 0 for OK.
///
/// # Panics
///
/// If `openssl` cannot be run or fails without naming an error.
pub fn verify(dir: &Path, ca: &str, untrusted: Option<&str>, leaf: &str, at: u64) -> u16 {
    let write = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("mtls-testpki: write PEM");
        path
    };
    let mut cmd = Command::new("openssl");
    cmd.arg("verify")
        .arg("-attime")
        .arg(at.to_string())
        .arg("-CAfile")
        .arg(write("openssl-ca.pem", ca));
    if let Some(untrusted) = untrusted {
        cmd.arg("-untrusted")
            .arg(write("openssl-untrusted.pem", untrusted));
    }
    let out = cmd
        .arg(write("openssl-leaf.pem", leaf))
        .output()
        .expect("mtls-testpki: openssl is installed");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter_map(|l| l.strip_prefix("error ")?.split(' ').next()?.parse().ok())
        .next_back()
        .unwrap_or_else(|| {
            assert!(out.status.success(), "openssl verify: {text}");
            0
        })
}

/// `openssl x509 -noout -startdate` of a PEM certificate, without
/// `notBefore=`: what nginx puts in `$ssl_client_v_start`.
///
/// # Panics
///
/// If `openssl` cannot be run.
pub fn start_date(dir: &Path, cert: &str) -> String {
    let path = dir.join("openssl-x509.pem");
    std::fs::write(&path, cert).expect("mtls-testpki: write PEM");
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-startdate", "-in"])
        .arg(&path)
        .output()
        .expect("mtls-testpki: openssl is installed");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("notBefore=")
        .to_owned()
}
