//! `mtls serve` watches its --client-ca, --cert and --key files: a bundle
//! renamed into place, Kubernetes' `..data` symlink swap of a mounted
//! secret or ConfigMap, and bad files dropped in; `--no-watch` leaves
//! reloads to SIGHUP. Real processes, real handshakes; waits are bounded
//! polls for the server's own reload, never timed assertions.
#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use mtls_testpki::{Leaf, Pki, tls};

use crate::common::{
    Demo, Server, demo, eventually, hangup, https_get, parse_http1, presented_certificate, runtime,
    s, tls_client,
};

/// Replaces `path` the way editors and config tools do: a temporary file
/// in the same directory, renamed over it.
fn replace_by_rename(path: &Path, contents: &[u8]) {
    let tmp = path.with_extension("tmp-new");
    std::fs::write(&tmp, contents).expect("write temp file");
    std::fs::rename(&tmp, path).expect("rename over");
}

/// A Kubernetes-style mounted volume: `..<version>/` directories, a
/// `..data` symlink to the current one and, for each file, a symlink
/// `NAME -> ..data/NAME`.
struct Mounted {
    dir: PathBuf,
    version: usize,
}

impl Mounted {
    fn new(dir: PathBuf, files: &[(&str, &[u8])]) -> Self {
        std::fs::create_dir_all(&dir).expect("create volume dir");
        let mut mounted = Self { dir, version: 0 };
        mounted.swap(files);
        for (name, _) in files {
            symlink(Path::new("..data").join(name), mounted.dir.join(name)).expect("symlink");
        }
        mounted
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// What the kubelet does on an update: write a new version directory,
    /// point `..data_tmp` at it, rename that over `..data` (atomic), remove
    /// the old version.
    fn swap(&mut self, files: &[(&str, &[u8])]) {
        let old = self.version_dir();
        self.version += 1;
        let new = self.version_dir();
        std::fs::create_dir(&new).expect("create version dir");
        for (name, contents) in files {
            std::fs::write(new.join(name), contents).expect("write version file");
        }
        let tmp = self.dir.join("..data_tmp");
        symlink(new.file_name().expect("name"), &tmp).expect("symlink ..data_tmp");
        std::fs::rename(&tmp, self.dir.join("..data")).expect("rename over ..data");
        if self.version > 1 {
            std::fs::remove_dir_all(old).expect("remove old version");
        }
    }

    fn version_dir(&self) -> PathBuf {
        self.dir.join(format!("..2026_12_03_{:02}", self.version))
    }
}

fn status(server: &Server, demo: &Demo, leaf: &Leaf) -> u16 {
    https_get(server, demo, Some(leaf)).status
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read PKI file")
}

/// `mtls serve` on these files with `--verify-client optional` (so a
/// client trusting another root can still see the server certificate).
fn serve(client_ca: &Path, cert: &Path, key: &Path, extra: &[&str]) -> Server {
    let mut args = vec![
        "--cert",
        s(cert),
        "--key",
        s(key),
        "--client-ca",
        s(client_ca),
        "--verify-client",
        "optional",
    ];
    args.extend_from_slice(extra);
    Server::start(args)
}

fn renamed_bundle_is_used_without_a_signal(name: &str, extra: &[&str]) {
    let demo = demo(name);
    let f = &demo.files;
    let bundle = demo.dir.join("client-ca.pem");
    std::fs::copy(&f.unknown_root.cert, &bundle).expect("copy");
    let server = serve(&bundle, &f.server.cert, &f.server.key, extra);
    server.wait_for_log("watching trust material files");
    assert_eq!(status(&server, &demo, &demo.pki.valid_from_root), 495);
    assert_eq!(status(&server, &demo, &demo.pki.unknown_ca), 200);

    replace_by_rename(&bundle, &read(&f.ca_bundle));
    eventually(&server, "a client of the new CA accepted", || {
        status(&server, &demo, &demo.pki.valid_from_root) == 200
    });
    assert_eq!(status(&server, &demo, &demo.pki.unknown_ca), 495);
    assert_eq!(server.log_count("trust store installed"), 1);
    assert_eq!(server.log_count("SIGHUP"), 0);
}

#[test]
fn a_ca_bundle_renamed_into_place_is_used_without_a_signal() {
    renamed_bundle_is_used_without_a_signal("watch-rename", &[]);
}

#[test]
fn watch_poll_sees_a_renamed_ca_bundle_too() {
    renamed_bundle_is_used_without_a_signal("watch-poll", &["--watch-poll", "1"]);
    // The flag is honoured (not native notifications).
    let demo = demo("watch-poll-log");
    let server = demo.serve(&["--watch-poll", "1"]);
    server.wait_for_log("polling=true");
}

/// One keep-alive connection presenting `leaf`; the first response's status.
struct KeptOpen {
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    runtime: tokio::runtime::Runtime,
}

impl KeptOpen {
    fn open(server: &Server, demo: &Demo, leaf: &Leaf) -> (Self, u16) {
        let runtime = runtime();
        let client = tls_client(demo, Some(leaf), &[b"http/1.1"]);
        let tls = runtime
            .block_on(client.connect(server.addr))
            .expect("TLS handshake");
        let mut open = Self { tls, runtime };
        let status = open.get();
        (open, status)
    }

    /// One more request on the same connection.
    fn get(&mut self) -> u16 {
        let tls = &mut self.tls;
        self.runtime.block_on(async {
            use tokio::io::AsyncWriteExt;
            tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .expect("send request");
            parse_http1(&tls::read_one_response(tls).await).status
        })
    }
}

#[test]
fn kubernetes_data_symlink_swaps_rotate_the_server_certificate_and_the_ca_bundle() {
    let demo = demo("watch-k8s");
    let f = &demo.files;
    let next = Pki::generate();
    let next_files = next.write_to_dir(demo.dir.join("next")).expect("write PKI");
    let mut secret = Mounted::new(
        demo.dir.join("secret"),
        &[
            ("tls.crt", &read(&f.server.cert)),
            ("tls.key", &read(&f.server.key)),
        ],
    );
    let mut config_map = Mounted::new(
        demo.dir.join("configmap"),
        &[("ca.crt", &read(&f.unknown_root.cert))],
    );
    let server = serve(
        &config_map.path("ca.crt"),
        &secret.path("tls.crt"),
        &secret.path("tls.key"),
        &[],
    );
    server.wait_for_log("watching trust material files");
    let roots = [&demo.pki, &next];
    let old_cert = demo.pki.server.chain()[0].to_vec();
    assert_eq!(presented_certificate(&server, &roots), old_cert);
    assert_eq!(status(&server, &demo, &demo.pki.valid_from_root), 495);
    let (mut open, first) = KeptOpen::open(&server, &demo, &demo.pki.unknown_ca);
    assert_eq!(first, 200);

    config_map.swap(&[("ca.crt", &read(&f.ca_bundle))]);
    eventually(&server, "a client of the new CA accepted", || {
        status(&server, &demo, &demo.pki.valid_from_root) == 200
    });
    assert_eq!(status(&server, &demo, &demo.pki.unknown_ca), 495);

    secret.swap(&[
        ("tls.crt", &read(&next_files.server.cert)),
        ("tls.key", &read(&next_files.server.key)),
    ]);
    let new_cert = next.server.chain()[0].to_vec();
    eventually(&server, "the new server certificate presented", || {
        presented_certificate(&server, &roots) == new_cert
    });

    // The connection opened before both swaps is still served, with the
    // verdict of its handshake (nginx keeps established connections too).
    assert_eq!(open.get(), 200);

    // A second swap: the watch follows ..data into the new version directory.
    secret.swap(&[
        ("tls.crt", &read(&f.server.cert)),
        ("tls.key", &read(&f.server.key)),
    ]);
    eventually(
        &server,
        "the first server certificate presented again",
        || presented_certificate(&server, &roots) == old_cert,
    );
}

#[test]
fn bad_files_keep_the_material_in_force_and_the_refusal_is_logged() {
    let demo = demo("watch-bad");
    let f = &demo.files;
    let next = Pki::generate();
    let next_files = next.write_to_dir(demo.dir.join("next")).expect("write PKI");
    let (bundle, cert, key) = (
        demo.dir.join("client-ca.pem"),
        demo.dir.join("tls.crt"),
        demo.dir.join("tls.key"),
    );
    std::fs::copy(&f.ca_bundle, &bundle).expect("copy");
    std::fs::copy(&f.server.cert, &cert).expect("copy");
    std::fs::copy(&f.server.key, &key).expect("copy");
    let server = serve(&bundle, &cert, &key, &[]);
    server.wait_for_log("watching trust material files");
    let roots = [&demo.pki, &next];
    let old_cert = demo.pki.server.chain()[0].to_vec();

    replace_by_rename(&bundle, b"not a certificate");
    server.wait_for_log("trust store reload refused; keeping the trust store in force");
    assert_eq!(status(&server, &demo, &demo.pki.valid_from_root), 200);
    assert_eq!(server.log_count("trust store installed"), 0);

    // A good bundle again is installed.
    replace_by_rename(&bundle, &read(&f.unknown_root.cert));
    server.wait_for_log("trust store installed");
    assert_eq!(status(&server, &demo, &demo.pki.unknown_ca), 200);

    // A renewed certificate whose key is not there yet: refused, the old
    // pair stays; the key arriving completes the pair.
    replace_by_rename(&cert, &read(&next_files.server.cert));
    server.wait_for_log("server certificate reload refused");
    assert_eq!(presented_certificate(&server, &roots), old_cert);
    replace_by_rename(&key, &read(&next_files.server.key));
    let new_cert = next.server.chain()[0].to_vec();
    eventually(&server, "the renewed pair presented", || {
        presented_certificate(&server, &roots) == new_cert
    });
}

#[test]
fn no_watch_changes_nothing_until_sighup() {
    let demo = demo("watch-off");
    let f = &demo.files;
    let bundle = demo.dir.join("client-ca.pem");
    std::fs::copy(&f.unknown_root.cert, &bundle).expect("copy");
    // Two servers on the same bundle: the watching one shows when the
    // change has been seen.
    let watching = serve(&bundle, &f.server.cert, &f.server.key, &[]);
    let unwatched = serve(&bundle, &f.server.cert, &f.server.key, &["--no-watch"]);
    watching.wait_for_log("watching trust material files");
    assert_eq!(status(&unwatched, &demo, &demo.pki.valid_from_root), 495);

    replace_by_rename(&bundle, &read(&f.ca_bundle));
    eventually(&watching, "the watching server reloads", || {
        status(&watching, &demo, &demo.pki.valid_from_root) == 200
    });
    assert_eq!(status(&unwatched, &demo, &demo.pki.valid_from_root), 495);
    let log = unwatched.stderr();
    assert!(!log.contains("watching trust material files"), "{log}");
    assert!(!log.contains("trust store installed"), "{log}");

    hangup(&unwatched);
    unwatched.wait_for_log("trust store installed");
    assert_eq!(status(&unwatched, &demo, &demo.pki.valid_from_root), 200);
    // Each reload is logged once, by the library (not again by the CLI).
    unwatched.wait_for_log("server certificate unchanged");
    assert_eq!(unwatched.log_count("server certificate unchanged"), 1);
    assert_eq!(unwatched.log_count("trust store installed"), 1);
}
