//! SPIFFE on the command line: `mtls pki --spiffe` writes a two-trust-domain
//! demo, `mtls check --trust-domain` decides its SVIDs, and `mtls serve
//! --trust-domain ... --spiffe-*` answers real TLS clients (200 / 403 / 495),
//! following a trust domain's bundle file when it is replaced.

use std::path::PathBuf;

use mtls_testpki::rustls_pki_types::pem::PemObject;
use mtls_testpki::rustls_pki_types::{CertificateDer, PrivateKeyDer};
use mtls_testpki::tls::{self, TlsClient};
use mtls_testpki::{Ca, SpiffePki};

use crate::common::{Reply, Server, TempDir, eventually, mtls, parse_http1, runtime, s};

const A: &str = SpiffePki::TRUST_DOMAIN_A;
const B: &str = SpiffePki::TRUST_DOMAIN_B;

/// The demo as `mtls pki --spiffe` wrote it, and what it printed.
struct Demo {
    dir: TempDir,
    stdout: String,
}

impl Demo {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join("spiffe").join(name)
    }

    fn arg(&self, name: &str) -> String {
        s(&self.file(name)).to_owned()
    }

    /// `--trust-domain TD=FILE` for `file` of the demo.
    fn trust_domain(&self, td: &str, file: &str) -> [String; 2] {
        [
            "--trust-domain".to_owned(),
            format!("{td}={}", self.arg(file)),
        ]
    }

    /// `mtls check` with `trust` on the demo's `cert`.
    fn check(&self, trust: &[[String; 2]], cert: &str) -> crate::common::Output {
        let mut args = vec!["check".to_owned()];
        args.extend(trust.iter().flatten().cloned());
        args.extend(["--cert".to_owned(), self.arg(cert)]);
        mtls(args)
    }

    /// `mtls serve` with the demo's server certificate and `extra`.
    fn serve(&self, extra: &[String]) -> Server {
        let mut args = vec![
            "--cert".to_owned(),
            self.arg("spiffe-server.pem"),
            "--key".to_owned(),
            self.arg("spiffe-server.key"),
        ];
        args.extend_from_slice(extra);
        Server::start(args)
    }

    /// `GET /` over TLS trusting the server's issuer (A's CA), presenting
    /// the demo's `name`.pem / `name`.key.
    fn get(&self, server: &Server, name: &str) -> Reply {
        let chain = CertificateDer::pem_file_iter(self.file(&format!("{name}.pem")))
            .expect("chain file")
            .collect::<Result<Vec<_>, _>>()
            .expect("chain PEM");
        let key = PrivateKeyDer::from_pem_file(self.file(&format!("{name}.key"))).expect("key");
        self.get_presenting(server, Some((chain, key)))
    }

    /// `GET /` over TLS trusting A's CA (the server's issuer), presenting
    /// `client` (chain and key) if any.
    fn get_presenting(
        &self,
        server: &Server,
        client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> Reply {
        let root = CertificateDer::from_pem_file(self.file("spiffe-a-ca.pem")).expect("A's CA");
        let builder = TlsClient::trusting(root).alpn(&[b"http/1.1"]);
        let client = match client {
            Some((chain, key)) => builder.present_chain(chain, key),
            None => builder,
        }
        .build();
        let addr = server.addr;
        runtime().block_on(async move {
            let mut tls = client.connect(addr).await.expect("TLS handshake");
            let raw = tls::request(&mut tls, tls::GET.as_bytes())
                .await
                .expect("HTTPS request");
            parse_http1(&raw)
        })
    }
}

fn pki(name: &str) -> Demo {
    let dir = TempDir::new(name);
    let out = mtls(["pki", "--spiffe", s(&dir.join("spiffe"))]);
    assert_eq!(out.code, 0, "{out:?}");
    Demo {
        dir,
        stdout: out.stdout,
    }
}

/// `mtls check` with `trust` on `file` exits `code` and prints `summary`
/// first.
fn checked(demo: &Demo, trust: &[[String; 2]], file: &str, code: i32, summary: &str) {
    let out = demo.check(trust, file);
    assert_eq!(out.code, code, "{file}: {out:?}");
    assert!(out.stdout.starts_with(summary), "{file}: {}", out.stdout);
}

/// The line `mtls pki --spiffe` printed for `file`, and what `mtls check`
/// says about `file`: the same verdict, and the exit code it announced.
fn printed_and_checked(demo: &Demo, trust: &[[String; 2]], file: &str, code: i32, summary: &str) {
    let printed = demo
        .stdout
        .lines()
        .find(|line| line.trim_start().starts_with(file))
        .unwrap_or_else(|| panic!("{file} not listed: {}", demo.stdout));
    assert!(
        printed.ends_with(&format!("{summary} (exit {code})")),
        "{printed}"
    );
    checked(demo, trust, file, code, summary);
}

#[test]
fn pki_spiffe_writes_the_demo_and_check_decides_it_per_trust_domain() {
    let demo = pki("spiffe-pki");
    for file in [
        "spiffe-a-ca.pem",
        "spiffe-a-ca.key",
        "spiffe-b-ca.pem",
        "spiffe-b-ca.key",
        "spiffe-a-bundle.pem",
        "spiffe-a-bundle.json",
        "spiffe-b-bundle.pem",
        "spiffe-b-bundle.json",
        "spiffe-server.pem",
        "spiffe-server.key",
        "svid-a.pem",
        "svid-a.key",
        "svid-b.pem",
        "svid-b.key",
        "svid-a-signed-by-b.pem",
        "svid-a-signed-by-b.key",
        "svid-two-uris.pem",
        "svid-two-uris.key",
    ] {
        assert!(demo.file(file).is_file(), "{file} missing");
    }
    assert!(
        std::fs::read_to_string(demo.file("spiffe-a-bundle.json"))
            .expect("bundle")
            .contains("\"use\": \"x509-svid\""),
        "SPIFFE bundle JSON"
    );
    assert!(
        demo.stdout.contains("mtls serve --listen"),
        "{}",
        demo.stdout
    );

    // Federation, as printed: A from its SPIFFE bundle JSON, B from PEM.
    let federation = [
        demo.trust_domain(A, "spiffe-a-bundle.json"),
        demo.trust_domain(B, "spiffe-b-bundle.pem"),
    ];
    printed_and_checked(&demo, &federation, "svid-a.pem", 0, "verified 200 ok");
    printed_and_checked(&demo, &federation, "svid-b.pem", 0, "verified 200 ok");
    printed_and_checked(
        &demo,
        &federation,
        "svid-a-signed-by-b.pem",
        2,
        "invalid 495 unknown_leaf_issuer",
    );
    printed_and_checked(
        &demo,
        &federation,
        "svid-two-uris.pem",
        2,
        "invalid 495 svid_multiple_uri_sans",
    );

    // The forgery is refused because B's CA does not vouch for A's IDs,
    // and the detail says which bundle was asked.
    let out = demo.check(&federation, "svid-a-signed-by-b.pem");
    assert!(
        out.stdout.contains(&format!(
            "checked against the bundle of trust domain {A} only"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn check_with_one_trust_domain_in_either_format() {
    let demo = pki("spiffe-check");
    for bundle in ["spiffe-a-bundle.json", "spiffe-a-bundle.pem"] {
        let only_a = [demo.trust_domain(A, bundle)];
        checked(&demo, &only_a, "svid-a.pem", 0, "verified 200 ok");
        checked(
            &demo,
            &only_a,
            "svid-a-signed-by-b.pem",
            2,
            "invalid 495 unknown_leaf_issuer",
        );
        // B is not federated here.
        checked(
            &demo,
            &only_a,
            "svid-b.pem",
            2,
            "invalid 495 svid_unknown_trust_domain",
        );
    }
    // The bundle named for a trust domain is the one that decides: with
    // the files swapped, A's own SVIDs fail and B's CA vouches for A.
    let swapped = [
        demo.trust_domain(A, "spiffe-b-bundle.json"),
        demo.trust_domain(B, "spiffe-a-bundle.pem"),
    ];
    assert_eq!(demo.check(&swapped, "svid-a.pem").code, 2);
    assert_eq!(demo.check(&swapped, "svid-b.pem").code, 2);
    assert_eq!(demo.check(&swapped, "svid-a-signed-by-b.pem").code, 0);
}

#[test]
fn bad_trust_domain_arguments_are_usage_errors() {
    let demo = pki("spiffe-usage");
    let cert = demo.arg("svid-a.pem");
    let bundle = demo.arg("spiffe-a-bundle.pem");
    let cases = [
        (bundle.clone(), vec![], 1, "expected TD=FILE"),
        (
            format!("Prod Example={bundle}"),
            vec![],
            1,
            "is not a SPIFFE trust domain name",
        ),
        (
            format!("{A}={bundle}"),
            vec!["--client-ca".to_owned(), demo.arg("spiffe-a-ca.pem")],
            1,
            "cannot be used with",
        ),
        (
            format!("{A}={}", demo.arg("missing.json")),
            vec![],
            1,
            "--trust-domain prod.example.org: cannot read",
        ),
        (
            format!("{A}={}", demo.arg("svid-a.key")),
            vec![],
            4, // unsupported input
            "contains no certificates",
        ),
    ];
    for (trust_domain, extra, code, message) in cases {
        let mut args = vec![
            "check".to_owned(),
            "--trust-domain".to_owned(),
            trust_domain,
        ];
        args.extend(extra);
        args.extend(["--cert".to_owned(), cert.clone()]);
        let out = mtls(&args);
        assert_eq!(out.code, code, "{args:?}: {out:?}");
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    // Without any trust, check says what it needs.
    let out = mtls(["check", "--cert", &cert]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("--client-ca"), "{}", out.stderr);
}

#[test]
fn serve_federates_two_trust_domains_and_authorizes_by_trust_domain() {
    let demo = pki("spiffe-serve");
    let mut args: Vec<String> = [
        demo.trust_domain(A, "spiffe-a-bundle.json"),
        demo.trust_domain(B, "spiffe-b-bundle.pem"),
    ]
    .concat();
    args.extend(["--spiffe-trust-domain".to_owned(), A.to_owned()]);
    let server = demo.serve(&args);

    let ok = demo.get(&server, "svid-a");
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["ssl_client_verify"], "SUCCESS");

    // Verified (B is federated), but not of trust domain A.
    let other = demo.get(&server, "svid-b");
    assert_eq!(other.status, 403, "{}", other.text());
    assert_eq!(other.json()["reason"], "not_authorized");
    let detail = other.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains(&format!("is not in trust domain {A}")),
        "{detail}"
    );

    let forged = demo.get(&server, "svid-a-signed-by-b");
    assert_eq!(forged.status, 495, "{}", forged.text());
    assert_eq!(forged.json()["reason"], "unknown_leaf_issuer");

    let two = demo.get(&server, "svid-two-uris");
    assert_eq!(two.status, 495, "{}", two.text());
    assert_eq!(two.json()["reason"], "svid_multiple_uri_sans");

    assert_eq!(demo.get_presenting(&server, None).status, 496);
}

#[test]
fn serve_authorizes_by_id_or_path_prefix() {
    let demo = pki("spiffe-serve-ids");
    let mut args: Vec<String> = [
        demo.trust_domain(A, "spiffe-a-bundle.pem"),
        demo.trust_domain(B, "spiffe-b-bundle.json"),
    ]
    .concat();
    args.extend(
        [
            "--spiffe-id",
            "spiffe://partner.example.net/other",
            "--spiffe-id",
            SpiffePki::ID_B,
            "--spiffe-path-prefix",
            "spiffe://prod.example.org/ns/db",
        ]
        .map(str::to_owned),
    );
    let server = demo.serve(&args);
    // One of the --spiffe-id set.
    assert_eq!(demo.get(&server, "svid-b").status, 200);
    // /ns/web is not below /ns/db: refused by every rule, and the 403 says
    // why for each.
    let refused = demo.get(&server, "svid-a");
    assert_eq!(refused.status, 403, "{}", refused.text());
    let detail = refused.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("is not one of the 2 SPIFFE IDs"),
        "{detail}"
    );
    assert!(
        detail.contains("is not spiffe://prod.example.org/ns/db or below it"),
        "{detail}"
    );

    // A prefix in A's trust domain that covers it.
    let mut args: Vec<String> = demo.trust_domain(A, "spiffe-a-bundle.pem").to_vec();
    args.extend(["--spiffe-path-prefix", "spiffe://prod.example.org/ns/web"].map(str::to_owned));
    let server = demo.serve(&args);
    assert_eq!(demo.get(&server, "svid-a").status, 200);
}

#[test]
fn serve_rejects_bad_spiffe_flags() {
    let demo = pki("spiffe-serve-usage");
    let serve = |flag: &str, value: &str| {
        mtls([
            "serve",
            "--cert",
            &demo.arg("spiffe-server.pem"),
            "--key",
            &demo.arg("spiffe-server.key"),
            "--trust-domain",
            &format!("{A}={}", demo.arg("spiffe-a-bundle.pem")),
            flag,
            value,
        ])
    };
    for (flag, value) in [
        ("--spiffe-id", "https://prod.example.org/x"),
        ("--spiffe-trust-domain", "prod.example.org/ns"),
        ("--spiffe-path-prefix", "spiffe://Prod Example/x"),
    ] {
        let out = serve(flag, value);
        assert_eq!(out.code, 1, "{flag} {value}: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("invalid value '{value}' for '{flag}")),
            "{}",
            out.stderr
        );
    }
    // Trust flags that have no meaning next to per-trust-domain bundles.
    for (flag, value, message) in [
        (
            "--trusted",
            demo.arg("spiffe-b-ca.pem"),
            "cannot be used with",
        ),
        (
            "--crl-url",
            "http://127.0.0.1:9/x.crl".to_owned(),
            "not supported with --trust-domain",
        ),
    ] {
        let out = serve(flag, &value);
        assert_eq!(out.code, 1, "{flag}: {out:?}");
        assert!(out.stderr.contains(message), "{flag}: {}", out.stderr);
    }
}

/// A trust domain's bundle file replaced (renamed into place, as SPIRE's
/// helpers and config tools write it) is followed without a signal.
#[cfg(unix)]
#[test]
fn serve_reloads_a_trust_domain_bundle_when_its_file_changes() {
    let demo = pki("spiffe-serve-reload");
    let bundle_b = demo.file("spiffe-b-bundle.json");
    let server = demo.serve(
        &[
            demo.trust_domain(A, "spiffe-a-bundle.json"),
            demo.trust_domain(B, "spiffe-b-bundle.json"),
        ]
        .concat(),
    );
    server.wait_for_log("watching trust material files");
    // B's CA rotates: an SVID of the new CA is refused until the bundle
    // that carries it is installed.
    let rotated = Ca::root("partner.example.net SPIFFE CA 2").build();
    let svid = rotated.leaf("billing-2").uri(SpiffePki::ID_B).build();
    let present = || Some((svid.chain(), svid.key_der()));
    assert_eq!(demo.get_presenting(&server, present()).status, 495);
    assert_eq!(demo.get(&server, "svid-b").status, 200);

    let tmp = bundle_b.with_extension("tmp-new");
    std::fs::write(&tmp, mtls_testpki::spiffe_bundle_json(&[&rotated], 2, 300)).expect("write");
    std::fs::rename(&tmp, &bundle_b).expect("rename over");
    eventually(&server, "the rotated bundle of B installed", || {
        demo.get_presenting(&server, present()).status == 200
    });
    assert_eq!(
        demo.get(&server, "svid-b").status,
        495,
        "the old CA of B is gone"
    );
    assert_eq!(demo.get(&server, "svid-a").status, 200, "A is untouched");
}
