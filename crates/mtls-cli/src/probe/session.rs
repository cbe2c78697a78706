//! One attempt: connect, handshake, send `GET`, read the answer, each step
//! under a deadline. Blocking sockets with timeouts recomputed before every
//! read and write, so a server that stalls or drips bytes cannot hold the
//! probe past the deadline.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use rustls::{ClientConnection, RootCertStore, SupportedProtocolVersion};

use super::failure::Failure;
use super::http::{self, MAX_RESPONSE, Response};
use super::tls::{self, CertRequest};
use crate::error::CliError;

/// How long to wait for the TCP connection.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the TLS handshake may take.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long sending the request and reading the response may take.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to connect; the same for every attempt.
#[derive(Debug)]
pub(super) struct Settings {
    pub(super) target: String,
    pub(super) addr: SocketAddr,
    pub(super) server_name: ServerName<'static>,
    pub(super) host_header: String,
    pub(super) path: String,
    pub(super) versions: Vec<&'static SupportedProtocolVersion>,
    pub(super) provider: Arc<CryptoProvider>,
    pub(super) roots: Option<Arc<RootCertStore>>,
}

/// What was negotiated.
#[derive(Clone, Debug)]
pub(super) struct Negotiated {
    /// `TLSv1.2` or `TLSv1.3`.
    pub(super) protocol: String,
    /// E.g. `TLS13_AES_256_GCM_SHA384`.
    pub(super) cipher_suite: String,
    /// The ALPN protocol the server picked.
    pub(super) alpn: Option<String>,
}

/// Everything one attempt learnt.
#[derive(Debug)]
pub(super) struct Attempt {
    /// The CertificateRequest, if the server sent one.
    pub(super) request: Option<CertRequest>,
    /// Whether a certificate went out in answer.
    pub(super) sent_certificate: bool,
    /// The server's certificate, if it was received.
    pub(super) server_certificate: Option<rustls::pki_types::CertificateDer<'static>>,
    /// The handshake's result.
    pub(super) handshake: Result<Negotiated, Failure>,
    /// The HTTP exchange's result; `None` when the handshake failed.
    pub(super) http: Option<Result<Response, Failure>>,
}

impl Attempt {
    /// Whether the server asked for a certificate: `Some(false)` only when
    /// the handshake completed without a CertificateRequest.
    pub(super) fn requested(&self) -> Option<bool> {
        match (&self.request, &self.handshake) {
            (Some(_), _) => Some(true),
            (None, Ok(_)) => Some(false),
            (None, Err(_)) => None,
        }
    }

    /// Whether the client (not the server) ended the handshake.
    pub(super) fn client_aborted(&self) -> bool {
        matches!(&self.handshake, Err(failure) if failure.is_client_side())
    }
}

/// Connects to `addrs` in turn; the first that answers, and its connection.
pub(super) fn connect_any(
    target: &str,
    addrs: &[SocketAddr],
) -> Result<(SocketAddr, TcpStream), CliError> {
    let mut errors = Vec::new();
    for addr in addrs {
        match connect(*addr) {
            Ok(tcp) => return Ok((*addr, tcp)),
            // The address, unless the target is just that.
            Err(error) if addr.to_string() == target => errors.push(error),
            Err(error) => errors.push(format!("{addr}: {error}")),
        }
    }
    if errors.is_empty() {
        errors.push("the name resolves to no address".to_owned());
    }
    Err(CliError::Io(format!(
        "cannot connect to {target}: {}",
        errors.join("; ")
    )))
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|error| {
        if matches!(
            error.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            format!("no answer within {} s ({error})", CONNECT_TIMEOUT.as_secs())
        } else {
            error.to_string()
        }
    })?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// Runs one attempt on `tcp` (or a new connection), presenting `identity`
/// if the server asks for a certificate. Fails only if the TCP connection
/// cannot be made.
pub(super) fn attempt(
    settings: &Settings,
    tcp: Option<TcpStream>,
    identity: Option<Arc<CertifiedKey>>,
) -> Result<Attempt, CliError> {
    let (config, observed) = tls::client_config(
        &settings.provider,
        &settings.versions,
        settings.roots.as_ref(),
        identity,
    )
    .map_err(|error| CliError::Usage(format!("cannot configure the TLS client: {error}")))?;
    let mut conn =
        ClientConnection::new(config, settings.server_name.clone()).map_err(|error| {
            CliError::Usage(format!(
                "cannot start a TLS client for {}: {error}",
                settings.target
            ))
        })?;
    let mut tcp = match tcp {
        Some(tcp) => tcp,
        None => connect(settings.addr).map_err(|error| {
            CliError::Io(format!(
                "cannot connect to {} ({}) again: {error}",
                settings.target, settings.addr
            ))
        })?,
    };

    let handshake = handshake(&mut conn, &mut tcp, Instant::now() + HANDSHAKE_TIMEOUT)
        .map(|()| negotiated(&conn));
    let http = handshake.is_ok().then(|| {
        let request = http::request(&settings.path, &settings.host_header);
        exchange(&mut conn, &mut tcp, &request, Instant::now() + READ_TIMEOUT)
    });
    if http.is_some() {
        conn.send_close_notify();
        let _ = flush(&mut conn, &mut tcp, Instant::now() + Duration::from_secs(1));
    }
    // The client's Certificate goes out after it has checked the server's
    // flight: a handshake the client itself aborted sent none.
    let aborted_by_client = matches!(handshake, Err(ref failure) if failure.is_client_side());
    Ok(Attempt {
        request: observed.request(),
        sent_certificate: observed.sent_certificate() && !aborted_by_client,
        server_certificate: observed.server_certificate(),
        handshake,
        http,
    })
}

fn negotiated(conn: &ClientConnection) -> Negotiated {
    let protocol = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_owned(),
    };
    Negotiated {
        protocol,
        cipher_suite: conn.negotiated_cipher_suite().map_or_else(
            || "unknown".to_owned(),
            |suite| format!("{:?}", suite.suite()),
        ),
        alpn: conn
            .alpn_protocol()
            .map(|alpn| String::from_utf8_lossy(alpn).into_owned()),
    }
}

/// The time left before `deadline`, or `None` if it has passed.
fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
}

/// Writes everything rustls has queued.
fn flush(conn: &mut ClientConnection, tcp: &mut TcpStream, deadline: Instant) -> io::Result<()> {
    while conn.wants_write() {
        tcp.set_write_timeout(Some(remaining(deadline).ok_or_else(timed_out)?))?;
        conn.write_tls(tcp)?;
    }
    tcp.flush()
}

/// Reads what the socket has (waiting at most until `deadline`) and lets
/// rustls process it. `Ok(false)`: the server closed the connection.
fn receive(
    conn: &mut ClientConnection,
    tcp: &mut TcpStream,
    deadline: Instant,
    limit: Duration,
) -> Result<bool, Failure> {
    let left = remaining(deadline).ok_or(Failure::Timeout(limit))?;
    tcp.set_read_timeout(Some(left))
        .map_err(|error| Failure::from_io(error, limit))?;
    let open = match conn.read_tls(tcp) {
        Ok(0) => false,
        Ok(_) => true,
        Err(error) if error.kind() == io::ErrorKind::Interrupted => true,
        Err(error) => return Err(Failure::from_io(error, limit)),
    };
    if let Err(error) = conn.process_new_packets() {
        // An alert for our own error, if rustls has one to send.
        let _ = conn.write_tls(tcp);
        return Err(Failure::from_tls(error));
    }
    Ok(open)
}

/// After a failed write: the server may have sent an alert and closed;
/// reading what it sent turns "broken pipe" into the alert.
fn salvage(
    conn: &mut ClientConnection,
    tcp: &mut TcpStream,
    deadline: Instant,
    limit: Duration,
    error: io::Error,
) -> Failure {
    loop {
        match receive(conn, tcp, deadline, limit) {
            Ok(true) => continue,
            Err(failure @ (Failure::Alert(_) | Failure::Tls(_))) => return failure,
            Ok(false) | Err(_) => return Failure::from_io(error, limit),
        }
    }
}

/// Drives the handshake to its end (or the first failure).
fn handshake(
    conn: &mut ClientConnection,
    tcp: &mut TcpStream,
    deadline: Instant,
) -> Result<(), Failure> {
    let limit = HANDSHAKE_TIMEOUT;
    loop {
        if let Err(error) = flush(conn, tcp, deadline) {
            return Err(salvage(conn, tcp, deadline, limit, error));
        }
        if !conn.is_handshaking() {
            return Ok(());
        }
        if !receive(conn, tcp, deadline, limit)? {
            return Err(Failure::Closed);
        }
    }
}

/// Sends `request` and reads the response until it is complete, the server
/// closes, [`MAX_RESPONSE`] bytes were read, or the deadline passes.
fn exchange(
    conn: &mut ClientConnection,
    tcp: &mut TcpStream,
    request: &[u8],
    deadline: Instant,
) -> Result<Response, Failure> {
    let limit = READ_TIMEOUT;
    if let Err(error) = conn.writer().write_all(request) {
        return Err(Failure::Io(error));
    }
    if let Err(error) = flush(conn, tcp, deadline) {
        return Err(salvage(conn, tcp, deadline, limit, error));
    }
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        loop {
            match conn.reader().read(&mut buf) {
                // close_notify: a clean end.
                Ok(0) => return finish(&raw, true, None),
                Ok(n) => {
                    let room = MAX_RESPONSE - raw.len();
                    raw.extend_from_slice(&buf[..n.min(room)]);
                    if n >= room {
                        return finish(&raw, false, None).map(|mut response| {
                            response.truncated = true;
                            response.complete = false;
                            response
                        });
                    }
                    if http::is_complete(&raw) {
                        return finish(&raw, false, None);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                // The connection ended without close_notify.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                    return finish(&raw, true, None);
                }
                Err(error) => return finish(&raw, false, Some(Failure::from_io(error, limit))),
            }
        }
        if let Err(failure) = receive(conn, tcp, deadline, limit) {
            return finish(&raw, false, Some(failure));
        }
        if let Err(error) = flush(conn, tcp, deadline) {
            return finish(&raw, false, Some(Failure::from_io(error, limit)));
        }
    }
}

/// The response in `raw`; if there is none, why (`failure`, or the
/// connection's end).
fn finish(raw: &[u8], ended: bool, failure: Option<Failure>) -> Result<Response, Failure> {
    if let Some(response) = http::parse(raw, ended, false) {
        return Ok(response);
    }
    Err(match failure {
        Some(failure) => failure,
        None if raw.is_empty() => Failure::Closed,
        None => {
            let excerpt: String = String::from_utf8_lossy(raw)
                .chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect();
            Failure::NotHttp(excerpt)
        }
    })
}
