//! `mtls serve --no-watch`: after SIGHUP with a changed --client-ca file, the
//! CertificateRequest names the new CAs (nginx re-reads
//! `ssl_client_certificate` on reload).
#![cfg(unix)]

use crate::common::{Server, advertised_and_status, demo, hangup, have, presented_certificate};

#[test]
fn sighup_changes_the_advertised_ca_names() {
    if !have("kill", "-l") {
        return;
    }
    let demo = demo("serve-sighup-hints");
    let f = &demo.files;
    let pki = &demo.pki;
    let bundle = demo.dir.join("reloadable-ca.pem");
    std::fs::copy(&f.unknown_root.cert, &bundle).expect("copy");
    let server = demo.serve_trusting(&bundle, &["--no-watch"]);

    let (names, status) = advertised_and_status(&server, &demo, &pki.valid_from_root);
    assert_eq!(names, [pki.unknown_root.subject_der()]);
    assert_eq!(status, 495);
    let (names, status) = advertised_and_status(&server, &demo, &pki.unknown_ca);
    assert_eq!(names, [pki.unknown_root.subject_der()]);
    assert_eq!(status, 200);

    // The bundle now holds the root and the intermediate (ca-bundle.pem).
    std::fs::copy(&f.ca_bundle, &bundle).expect("copy");
    hangup(&server);
    server.wait_for_log("trust store installed");
    let expected = [pki.root.subject_der(), pki.intermediate.subject_der()];
    let (names, status) = advertised_and_status(&server, &demo, &pki.valid_from_root);
    assert_eq!(names, expected);
    assert_eq!(status, 200);
    let (names, status) = advertised_and_status(&server, &demo, &pki.unknown_ca);
    assert_eq!(names, expected);
    assert_eq!(status, 495);

    // A bundle that no longer parses keeps the names in force.
    std::fs::write(&bundle, "not a certificate").expect("write");
    hangup(&server);
    server.wait_for_log("trust store reload refused; keeping the trust store in force");
    let (names, status) = advertised_and_status(&server, &demo, &pki.valid_from_root);
    assert_eq!(names, expected);
    assert_eq!(status, 200);
}

#[test]
fn sighup_rotates_the_server_certificate_only_as_a_matching_pair() {
    if !have("kill", "-l") {
        return;
    }
    let demo = demo("serve-sighup-cert");
    let next = mtls_testpki::Pki::generate();
    let next_files = next.write_to_dir(demo.dir.join("next")).expect("write PKI");
    let f = &demo.files;
    let (cert, key) = (demo.dir.join("tls.crt"), demo.dir.join("tls.key"));
    std::fs::copy(&f.server.cert, &cert).expect("copy");
    std::fs::copy(&f.server.key, &key).expect("copy");
    let arg = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_owned();
    let server = Server::start([
        "--cert".to_owned(),
        arg(&cert),
        "--key".to_owned(),
        arg(&key),
        "--client-ca".to_owned(),
        arg(&f.ca_bundle),
        "--verify-client".to_owned(),
        "optional".to_owned(),
        "--no-watch".to_owned(),
    ]);
    let roots = [&demo.pki, &next];
    let old = demo.pki.server.chain()[0].to_vec();
    assert_eq!(presented_certificate(&server, &roots), old);

    // The renewed certificate first, its key not yet: refused.
    std::fs::copy(&next_files.server.cert, &cert).expect("copy");
    hangup(&server);
    server.wait_for_log("server certificate reload refused");
    assert_eq!(presented_certificate(&server, &roots), old);

    std::fs::copy(&next_files.server.key, &key).expect("copy");
    hangup(&server);
    server.wait_for_log("server certificate installed");
    assert_eq!(
        presented_certificate(&server, &roots),
        next.server.chain()[0].to_vec()
    );
}
