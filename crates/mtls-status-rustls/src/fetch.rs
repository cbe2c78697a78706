//! The one HTTP client: `http://` only (as nginx's OCSP and CRL clients),
//! HTTP/1.0 GET or POST, a connect timeout, a total timeout and a cap on
//! the answer's size, so nothing a remote server does can make us wait or
//! allocate without bound.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest response head (status line and headers) read.
const MAX_HEAD: usize = 16 * 1024;

/// Limits of one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Resolving the host and connecting.
    pub(crate) connect_timeout: Duration,
    /// The whole exchange, connecting included.
    pub(crate) total_timeout: Duration,
    /// The most body bytes accepted.
    pub(crate) max_body: usize,
}

/// An `http://host[:port][/path]` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    host: String,
    port: u16,
    /// Starts with `/`.
    path: String,
}

impl HttpUrl {
    /// Parses an `http://` URL; any other scheme, userinfo or a fragment is
    /// refused (nginx's OCSP client speaks plain HTTP only).
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?} is not an http:// URL (only http:// is supported)"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') || path.contains('#') {
            return Err(format!(
                "{url:?} is not a plain http://host[:port]/path URL"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (
                host,
                port.parse::<u16>()
                    .map_err(|_| format!("{url:?} has an invalid port"))?,
            ),
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The same server with `path` (which starts with `/`).
    #[cfg_attr(not(feature = "ocsp"), allow(dead_code))]
    pub(crate) fn with_path(&self, path: String) -> Self {
        Self {
            path,
            ..self.clone()
        }
    }

    /// The path, starting with `/`.
    #[cfg_attr(not(feature = "ocsp"), allow(dead_code))]
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.path)
    }
}

/// Why a request failed; the text names the server and what went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct FetchError(pub(crate) String);

/// `GET url`; the body of a 200 answer.
pub(crate) async fn get(url: &HttpUrl, limits: Limits) -> Result<Vec<u8>, FetchError> {
    exchange(url, None, limits).await
}

/// `POST url` with `body` of `content_type`; the body of a 200 answer.
#[cfg_attr(not(feature = "ocsp"), allow(dead_code))]
pub(crate) async fn post(
    url: &HttpUrl,
    content_type: &str,
    body: &[u8],
    limits: Limits,
) -> Result<Vec<u8>, FetchError> {
    exchange(url, Some((content_type, body)), limits).await
}

async fn exchange(
    url: &HttpUrl,
    body: Option<(&str, &[u8])>,
    limits: Limits,
) -> Result<Vec<u8>, FetchError> {
    match tokio::time::timeout(limits.total_timeout, exchange_untimed(url, body, limits)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError(format!(
            "{url} did not answer within {:?}",
            limits.total_timeout
        ))),
    }
}

async fn exchange_untimed(
    url: &HttpUrl,
    body: Option<(&str, &[u8])>,
    limits: Limits,
) -> Result<Vec<u8>, FetchError> {
    let connect = TcpStream::connect((url.host.as_str(), url.port));
    let mut tcp = match tokio::time::timeout(limits.connect_timeout, connect).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(error)) => return Err(FetchError(format!("cannot connect to {url}: {error}"))),
        Err(_) => {
            return Err(FetchError(format!(
                "cannot connect to {url} within {:?}",
                limits.connect_timeout
            )));
        }
    };
    let mut request = match body {
        None => format!("GET {} HTTP/1.0\r\nHost: {}\r\n\r\n", url.path, url.host_header()),
        Some((content_type, body)) => format!(
            "POST {} HTTP/1.0\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            url.path,
            url.host_header(),
            body.len()
        ),
    }
    .into_bytes();
    if let Some((_, body)) = body {
        request.extend_from_slice(body);
    }
    tcp.write_all(&request)
        .await
        .map_err(|error| FetchError(format!("cannot send the request to {url}: {error}")))?;

    // HTTP/1.0: the server closes the connection after the answer.
    let cap = MAX_HEAD + limits.max_body;
    let mut answer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let n = tcp
            .read(&mut chunk)
            .await
            .map_err(|error| FetchError(format!("reading the answer of {url} failed: {error}")))?;
        if n == 0 {
            break;
        }
        if answer.len() + n > cap {
            return Err(FetchError(format!(
                "the answer of {url} is larger than {} bytes",
                limits.max_body
            )));
        }
        answer.extend_from_slice(&chunk[..n]);
        if let Some(done) = complete_length(&answer) {
            answer.truncate(done);
            break;
        }
    }
    parse_answer(url, &answer, limits.max_body)
}

/// The end of a complete answer with a Content-Length, once it is in.
fn complete_length(answer: &[u8]) -> Option<usize> {
    let head_end = find_head_end(answer)?;
    let length = content_length(&answer[..head_end])?;
    let end = head_end.checked_add(length)?;
    (answer.len() >= end).then_some(end)
}

fn find_head_end(answer: &[u8]) -> Option<usize> {
    answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

fn parse_answer(url: &HttpUrl, answer: &[u8], max_body: usize) -> Result<Vec<u8>, FetchError> {
    let head_end = find_head_end(answer).ok_or_else(|| {
        FetchError(if answer.is_empty() {
            format!("{url} closed the connection without answering")
        } else {
            format!("{url} sent an incomplete or oversized HTTP response head")
        })
    })?;
    if head_end > MAX_HEAD {
        return Err(FetchError(format!(
            "{url} sent an oversized HTTP response head"
        )));
    }
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let (version, status) = (parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(FetchError(format!(
            "{url} did not answer HTTP/1.x: {status_line:?}"
        )));
    }
    if status != Some("200") {
        return Err(FetchError(format!(
            "{url} answered {status_line:?}, expected 200"
        )));
    }
    if head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:"))
    {
        return Err(FetchError(format!(
            "{url} sent a Transfer-Encoding to an HTTP/1.0 request"
        )));
    }
    let body = &answer[head_end..];
    if body.len() > max_body {
        return Err(FetchError(format!(
            "the answer of {url} is larger than {max_body} bytes"
        )));
    }
    if let Some(length) = content_length(&answer[..head_end])
        && body.len() < length
    {
        return Err(FetchError(format!(
            "{url} closed the connection after {} of {length} body bytes",
            body.len()
        )));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = HttpUrl::parse("http://127.0.0.1:8888").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path()),
            ("127.0.0.1", 8888, "/")
        );
        assert_eq!(url.to_string(), "http://127.0.0.1:8888/");
        let url = HttpUrl::parse("http://ocsp.example/a/b").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path()),
            ("ocsp.example", 80, "/a/b")
        );
        let url = HttpUrl::parse("http://[::1]:81/").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 81));
        assert_eq!(url.host_header(), "[::1]:81");
        for bad in [
            "https://x/",
            "ftp://x",
            "http://",
            "http://u@x/",
            "http://x:99999/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers() {
        let url = HttpUrl::parse("http://x/").unwrap();
        let ok = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(parse_answer(&url, ok, 10).unwrap(), b"abc");
        assert_eq!(complete_length(ok), Some(ok.len()));
        assert!(parse_answer(&url, ok, 2).is_err());
        let short = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nabc";
        assert!(parse_answer(&url, short, 10).is_err());
        let missing = b"HTTP/1.1 404 Not Found\r\n\r\n";
        assert!(
            parse_answer(&url, missing, 10)
                .unwrap_err()
                .0
                .contains("404")
        );
        assert!(
            parse_answer(&url, b"", 10)
                .unwrap_err()
                .0
                .contains("without answering")
        );
    }
}
