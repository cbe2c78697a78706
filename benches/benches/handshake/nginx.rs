//! nginx 1.22 as the comparison: one worker, `ssl_verify_client on`, no
//! session cache nor tickets, `return 200`; everything in a temporary
//! directory, stopped and removed on drop.

use std::ffi::OsString;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use mtls_testpki::Pki;

use crate::BoxError;

/// What nginx serves and trusts, as files.
pub(crate) struct NginxFiles {
    pub(crate) server_cert: PathBuf,
    pub(crate) server_key: PathBuf,
    /// `ssl_client_certificate`.
    pub(crate) client_ca: PathBuf,
    /// `ssl_crl`, if any.
    pub(crate) crl: Option<PathBuf>,
    /// `worker_processes`.
    pub(crate) workers: u32,
    /// `worker_connections`.
    pub(crate) connections: u32,
}

/// A running nginx: its master process is our child, its worker(s) do
/// the work.
pub(crate) struct Nginx {
    binary: PathBuf,
    dir: PathBuf,
    child: Child,
    addr: SocketAddr,
    worker: u32,
}

impl Nginx {
    /// Writes the configuration and certificates into `dir`, starts nginx
    /// and waits until it accepts connections. `Ok(None)` if `binary` is
    /// not there.
    pub(crate) fn start(binary: &Path, dir: &Path, pki: &Pki) -> Result<Option<Self>, BoxError> {
        if !binary.exists() {
            return Ok(None);
        }
        let files = pki.write_to_dir(dir)?;
        let files = NginxFiles {
            server_cert: files.server.cert,
            server_key: files.server.key,
            client_ca: files.root.cert,
            crl: None,
            workers: 1,
            connections: 1024,
        };
        Self::start_files(binary, dir, &files)
    }

    /// Like [`start`](Self::start), serving and trusting `files`.
    pub(crate) fn start_files(
        binary: &Path,
        dir: &Path,
        files: &NginxFiles,
    ) -> Result<Option<Self>, BoxError> {
        if !binary.exists() {
            return Ok(None);
        }
        let started = Self::start_in(binary, dir, files);
        if started.is_err() {
            let _ = fs::remove_dir_all(dir);
        }
        started.map(Some)
    }

    fn start_in(binary: &Path, dir: &Path, files: &NginxFiles) -> Result<Self, BoxError> {
        fs::create_dir_all(dir.join("tmp"))?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let d = dir.display();
        let conf = format!(
            "worker_processes {workers};\n\
             daemon off;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\n\
             events {{ worker_connections {connections}; }}\n\
             http {{\n\
               access_log off;\n\
               client_body_temp_path {d}/tmp/body;\n\
               proxy_temp_path {d}/tmp/proxy;\n\
               fastcgi_temp_path {d}/tmp/fastcgi;\n\
               uwsgi_temp_path {d}/tmp/uwsgi;\n\
               scgi_temp_path {d}/tmp/scgi;\n\
               server {{\n\
                 listen {addr} ssl;\n\
                 ssl_protocols TLSv1.3;\n\
                 ssl_certificate {server};\n\
                 ssl_certificate_key {key};\n\
                 ssl_client_certificate {root};\n\
                 ssl_verify_client on;\n\
                 ssl_verify_depth 1;\n\
                 {crl}\
                 ssl_session_cache off;\n\
                 ssl_session_tickets off;\n\
                 location / {{ return 200; }}\n\
               }}\n\
             }}\n",
            workers = files.workers,
            connections = files.connections,
            server = files.server_cert.display(),
            key = files.server_key.display(),
            root = files.client_ca.display(),
            crl = match &files.crl {
                Some(crl) => format!("ssl_crl {};\n", crl.display()),
                None => String::new(),
            },
        );
        fs::write(dir.join("nginx.conf"), conf)?;
        let stderr = fs::File::create(dir.join("stderr.log"))?;
        let child = Command::new(binary)
            .args(Self::args(dir))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()?;
        let mut nginx = Self {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            child,
            addr,
            worker: 0,
        };
        // nginx takes seconds to load a bundle of 10k CAs (the scale bench).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = nginx.child.try_wait()? {
                let log = fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                    + &fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                return Err(format!("exited with {status}: {}", log.trim()).into());
            }
            let workers = children_of(nginx.child.id());
            if workers.len() == files.workers as usize && std::net::TcpStream::connect(addr).is_ok()
            {
                nginx.worker = workers[0];
                return Ok(nginx);
            }
            if Instant::now() > deadline {
                return Err("not listening after 60 s".into());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn args(dir: &Path) -> Vec<OsString> {
        vec![
            "-p".into(),
            dir.into(),
            "-c".into(),
            dir.join("nginx.conf").into(),
            "-e".into(),
            dir.join("error.log").into(),
        ]
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The (first) worker's pid.
    pub(crate) fn worker(&self) -> u32 {
        self.worker
    }

    /// The master's pid.
    pub(crate) fn master(&self) -> u32 {
        self.child.id()
    }

    /// The workers' pids.
    pub(crate) fn workers(&self) -> Vec<u32> {
        children_of(self.child.id())
    }

    /// `nginx/1.22.1`, from `nginx -v`.
    pub(crate) fn version(&self) -> String {
        Command::new(&self.binary)
            .arg("-v")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stderr).ok())
            .and_then(|v| v.trim().strip_prefix("nginx version: ").map(str::to_owned))
            .unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new(&self.binary)
            .args(Self::args(&self.dir))
            .args(["-s", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The pids of the child processes of `parent` (nginx's workers), from
/// `/proc`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // pid (comm) state ppid ...; comm may contain spaces and parentheses.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid: u32 = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}
