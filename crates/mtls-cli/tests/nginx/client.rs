//! A real rustls client (ring provider, blocking I/O over 127.0.0.1): one
//! handshake, one `GET /`, the whole response.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::pki_types::ServerName;
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, StreamOwned, SupportedProtocolVersion,
};

use super::BOUND;
use super::situations::Presented;

/// Responses are small; anything bigger is a bug, not something to buffer.
const MAX_RESPONSE: usize = 256 * 1024;

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Connects to `addr` with TLS `version`, trusting `roots` for the server
/// (`localhost`), presenting `presented` (or nothing), and sends
/// `GET / HTTP/1.1` with `Connection: close`. No session resumption: every
/// connection is a full handshake.
pub(crate) fn get(
    addr: SocketAddr,
    version: &'static SupportedProtocolVersion,
    roots: &RootCertStore,
    presented: Option<&Presented>,
) -> Result<Response, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .map_err(|e| format!("client config: {e}"))?
        .with_root_certificates(roots.clone());
    let mut config = match presented {
        Some(p) => builder
            .with_client_auth_cert(p.chain.clone(), p.key())
            .map_err(|e| format!("client certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    config.resumption = Resumption::disabled();
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn = ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;

    let sock = TcpStream::connect_timeout(&addr, BOUND).map_err(|e| format!("connect: {e}"))?;
    sock.set_read_timeout(Some(BOUND))
        .map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(BOUND))
        .map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("TLS handshake or write: {e}"))?;
    tls.flush().map_err(|e| format!("flush: {e}"))?;

    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() > MAX_RESPONSE {
                    return Err(format!("response larger than {MAX_RESPONSE} bytes"));
                }
            }
            // A peer that closes TCP without close_notify: fine once the
            // response is complete.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && complete(&raw) => break,
            Err(e) => return Err(format!("read after {} bytes: {e}", raw.len())),
        }
    }
    parse(&raw)
}

/// Whether `raw` holds a full response with a `Content-Length` body.
fn complete(raw: &[u8]) -> bool {
    parse(raw).is_ok_and(|r| {
        r.header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .is_some_and(|len| r.body.len() == len)
    })
}

/// Parses a response read to the end: status line, headers, body
/// (`Content-Length` or chunked).
pub(crate) fn parse(raw: &[u8]) -> Result<Response, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_owned()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest
            .split_once("\r\n")
            .ok_or_else(|| "truncated chunk size".to_owned())?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("bad chunk size {size:?}: {e}"))?;
        if size == 0 {
            return Ok(body);
        }
        let chunk = after
            .get(..size)
            .ok_or_else(|| "truncated chunk".to_owned())?;
        body.push_str(chunk);
        rest = after
            .get(size..)
            .and_then(|r| r.strip_prefix("\r\n"))
            .ok_or_else(|| "missing CRLF after chunk".to_owned())?;
    }
}
