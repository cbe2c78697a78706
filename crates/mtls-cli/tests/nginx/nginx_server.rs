//! An nginx instance on the scenario PKI: one `server` block per
//! [`ServerKind`], each on its own port, answering every request with the
//! client-certificate variables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::situations::ServerFiles;
use super::{ServerKind, free_ports, wait_until_listening};

/// The variables every answer carries, in the order `mtls serve` documents
/// them (DESIGN.md §4).
pub(crate) const VARIABLES: [&str; 11] = [
    "ssl_client_verify",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_s_dn_legacy",
    "ssl_client_i_dn_legacy",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
    "ssl_client_escaped_cert",
];

/// Finds the nginx binary: `$NGINX` if set, else `nginx` on `PATH`, else
/// `/usr/sbin/nginx` (Debian's place, often not on a user's `PATH`).
pub(crate) fn find_nginx() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NGINX") {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let debian = PathBuf::from("/usr/sbin/nginx");
        debian.is_file().then_some(debian)
    })
}

/// `nginx -v`, e.g. `nginx/1.22.1`.
pub(crate) fn nginx_version(nginx: &Path) -> String {
    let out = Command::new(nginx)
        .arg("-v")
        .output()
        .expect("run nginx -v");
    String::from_utf8_lossy(&out.stderr)
        .trim()
        .trim_start_matches("nginx version: ")
        .to_owned()
}

/// A running nginx (one process: `master_process off`), killed on drop.
pub(crate) struct Nginx {
    child: Child,
    dir: PathBuf,
    addrs: BTreeMap<ServerKind, SocketAddr>,
}

impl Nginx {
    /// Writes `dir/nginx.conf` with one server block per kind and starts
    /// nginx with `-p dir`; returns once every port accepts connections.
    pub(crate) fn start(
        nginx: &Path,
        dir: &Path,
        files: &ServerFiles,
        kinds: &[ServerKind],
    ) -> Self {
        let ports = free_ports(kinds.len());
        let addrs: BTreeMap<ServerKind, SocketAddr> = kinds
            .iter()
            .zip(ports)
            .map(|(kind, port)| (*kind, SocketAddr::from(([127, 0, 0, 1], port))))
            .collect();
        let listening: Vec<SocketAddr> = addrs.values().copied().collect();
        let mut nginx =
            Self::start_with_config(nginx, dir, &config(dir, files, &addrs), &listening);
        nginx.addrs = addrs;
        nginx
    }

    /// Writes `conf` to `dir/nginx.conf` and starts nginx with `-p dir`;
    /// returns once every address of `listening` accepts connections.
    pub(crate) fn start_with_config(
        nginx: &Path,
        dir: &Path,
        conf: &str,
        listening: &[SocketAddr],
    ) -> Self {
        std::fs::create_dir_all(dir.join("tmp")).expect("create nginx temp directory");
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");

        let error_log = dir.join("error.log");
        let mut child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            // The log used before the configuration is read.
            .arg("-e")
            .arg(&error_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("stderr.log")).expect("create nginx stderr.log"),
            ))
            .spawn()
            .expect("start nginx");
        for addr in listening {
            wait_until_listening(&mut child, *addr, &|| logs(dir));
        }
        Self {
            child,
            dir: dir.to_path_buf(),
            addrs: BTreeMap::new(),
        }
    }

    /// The address of the server block for `kind`.
    pub(crate) fn addr(&self, kind: ServerKind) -> SocketAddr {
        self.addrs[&kind]
    }

    /// The directory with nginx's configuration and logs.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn logs(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!(
        "nginx stderr:\n{}\nnginx error.log:\n{}",
        read("stderr.log"),
        read("error.log")
    )
}

/// The body nginx returns: one `name=value` line per variable. Values
/// never contain a line feed (DNs escape control bytes, the certificate is
/// percent-encoded), and this needs no escaping, whatever the subject.
pub(crate) fn body() -> String {
    VARIABLES.iter().fold(String::new(), |mut out, name| {
        let _ = write!(out, "{name}=${name}\\n");
        out
    })
}

fn config(dir: &Path, files: &ServerFiles, addrs: &BTreeMap<ServerKind, SocketAddr>) -> String {
    let mut conf = preamble(dir);
    for (kind, addr) in addrs {
        let crl = if kind.crl {
            format!("ssl_crl {};", files.crl_bundle.display())
        } else {
            String::new()
        };
        let directives = format!(
            "ssl_verify_client {mode}; ssl_verify_depth 1; {crl}",
            mode = kind.mode.as_str()
        );
        conf.push_str(&server_block(
            *addr,
            [&files.cert, &files.key, &files.ca_bundle],
            &directives,
        ));
    }
    conf.push_str("}\n");
    conf
}

/// One `server` block on `addr` with the server certificate, its key and
/// the client CA bundle (`files`), the client-verification `directives`
/// (`ssl_verify_client ...;` and the like), answering every request and
/// the 495 / 496 pages with [`body`].
pub(crate) fn server_block(addr: SocketAddr, files: [&Path; 3], directives: &str) -> String {
    let [cert, key, ca] = files.map(Path::display);
    let body = body();
    format!(
        "    server {{\n\
         \x20       listen {addr} ssl;\n\
         \x20       server_name localhost;\n\
         \x20       ssl_certificate {cert};\n\
         \x20       ssl_certificate_key {key};\n\
         \x20       ssl_protocols TLSv1.2 TLSv1.3;\n\
         \x20       ssl_session_tickets off;\n\
         \x20       ssl_client_certificate {ca};\n\
         \x20       {directives}\n\
         \x20       error_page 495 =495 /err495;\n\
         \x20       error_page 496 =496 /err496;\n\
         \x20       location = /err495 {{ internal; return 200 \"{body}\"; }}\n\
         \x20       location = /err496 {{ internal; return 200 \"{body}\"; }}\n\
         \x20       location / {{ return 200 \"{body}\"; }}\n\
         \x20   }}\n"
    )
}

/// The configuration up to the `server` blocks: one process, logs and
/// temporary files under `dir`, an open `http {` block (close it with `}`).
pub(crate) fn preamble(dir: &Path) -> String {
    let d = dir.display();
    let tmp = dir.join("tmp");
    let t = tmp.display();
    format!(
        "daemon off;\n\
         master_process off;\n\
         worker_processes 1;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         \x20   access_log {d}/access.log;\n\
         \x20   client_body_temp_path {t}/client_body;\n\
         \x20   proxy_temp_path {t}/proxy;\n\
         \x20   fastcgi_temp_path {t}/fastcgi;\n\
         \x20   uwsgi_temp_path {t}/uwsgi;\n\
         \x20   scgi_temp_path {t}/scgi;\n\
         \x20   default_type text/plain;\n",
    )
}
