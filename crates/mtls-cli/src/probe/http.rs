//! The probe's HTTP/1.1 side: the request, when a response is complete, and
//! what a response says (mtls-status problem+json, nginx's 495/496/497
//! pages, `mtls serve`'s echo of nginx variables).

/// The most response bytes read (head and body).
pub(super) const MAX_RESPONSE: usize = 64 * 1024;

/// The most characters of the body shown.
const EXCERPT_CHARS: usize = 160;

/// `GET {path} HTTP/1.1` with `Host` and `Connection: close`.
pub(super) fn request(path: &str, host: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mtls-probe/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// A response (possibly cut short).
#[derive(Clone, Debug)]
pub(super) struct Response {
    /// The status code.
    pub(super) status: u16,
    /// The status line as received, e.g. `HTTP/1.1 496 SSL Certificate Required`.
    pub(super) status_line: String,
    /// The `Content-Type` header.
    pub(super) content_type: Option<String>,
    /// The body (de-chunked), as far as it was read.
    pub(super) body: Vec<u8>,
    /// Whether the whole body was read (by `Content-Length`, the last
    /// chunk, or the end of the connection).
    pub(super) complete: bool,
    /// Whether reading stopped at [`MAX_RESPONSE`].
    pub(super) truncated: bool,
}

/// What a response is recognisably.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Recognised {
    /// An RFC 9457 problem+json body with the mtls-status `reason` field.
    Problem {
        reason: String,
        title: Option<String>,
        detail: Option<String>,
    },
    /// One of nginx's default pages for its internal codes 495, 496, 497
    /// (sent as 400).
    Nginx { code: u16, text: &'static str },
    /// `mtls serve`'s 200 body: nginx's `$ssl_client_*` variables as JSON.
    Echo { verify: String, subject: String },
}

/// nginx's page texts (reference §1) and the internal code each stands for.
const NGINX_PAGES: [(&str, u16); 3] = [
    ("The SSL certificate error", 495),
    ("No required SSL certificate was sent", 496),
    ("The plain HTTP request was sent to HTTPS port", 497),
];

impl Response {
    /// What the response is, if it is one the probe knows.
    pub(super) fn recognise(&self) -> Option<Recognised> {
        let is_json = self.content_type.as_deref().is_some_and(|ct| {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("application/problem+json") || ct.starts_with("application/json")
        });
        if is_json
            && let Ok(serde_json::Value::Object(object)) =
                serde_json::from_slice::<serde_json::Value>(&self.body)
        {
            let text = |key: &str| object.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            if let Some(reason) = text("reason") {
                return Some(Recognised::Problem {
                    reason,
                    title: text("title"),
                    detail: text("detail"),
                });
            }
            if let Some(verify) = text("ssl_client_verify") {
                return Some(Recognised::Echo {
                    verify,
                    subject: text("ssl_client_s_dn").unwrap_or_default(),
                });
            }
        }
        let body = String::from_utf8_lossy(&self.body);
        NGINX_PAGES
            .iter()
            .find(|(text, _)| body.contains(&format!("<center>{text}</center>")))
            .map(|&(text, code)| Recognised::Nginx { code, text })
    }

    /// The start of the body on one line: whitespace runs become one space,
    /// control characters are dropped.
    pub(super) fn excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let mut out = String::new();
        let mut chars = 0;
        let mut space = false;
        for c in text.chars() {
            if c.is_whitespace() {
                space = !out.is_empty();
                continue;
            }
            if c.is_control() {
                continue;
            }
            if chars >= EXCERPT_CHARS {
                out.push_str("...");
                return out;
            }
            if space {
                out.push(' ');
                chars += 1;
                space = false;
            }
            out.push(c);
            chars += 1;
        }
        out
    }
}

/// The head of a response: where the body starts, status, headers.
struct Head {
    body_start: usize,
    status: u16,
    status_line: String,
    content_type: Option<String>,
    content_length: Option<usize>,
    chunked: bool,
}

fn head(raw: &[u8]) -> Option<Head> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = String::from_utf8_lossy(&raw[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?.trim().to_owned();
    let mut parts = status_line.split(' ');
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = parts.next()?.parse::<u16>().ok()?;
    let mut head = Head {
        body_start: end + 4,
        status,
        status_line: status_line.clone(),
        content_type: None,
        content_length: None,
        chunked: false,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Some(head)
}

/// Whether `raw` holds a whole response, so that reading can stop before
/// the server closes the connection.
pub(super) fn is_complete(raw: &[u8]) -> bool {
    let Some(head) = head(raw) else {
        return false;
    };
    let body = &raw[head.body_start..];
    if head.chunked {
        dechunk(body).1
    } else if let Some(length) = head.content_length {
        body.len() >= length
    } else {
        // No length: the body ends with the connection (or the status has
        // no body).
        matches!(head.status, 100..=199 | 204 | 304)
    }
}

/// Parses what was read; `None` if it is not an HTTP/1 response head.
/// `ended`: the connection ended after `raw` (so a body without a length
/// is complete).
pub(super) fn parse(raw: &[u8], ended: bool, truncated: bool) -> Option<Response> {
    let head = head(raw)?;
    let body = &raw[head.body_start..];
    let (body, complete) = if head.chunked {
        dechunk(body)
    } else if let Some(length) = head.content_length {
        (
            body[..body.len().min(length)].to_vec(),
            body.len() >= length,
        )
    } else {
        (body.to_vec(), ended)
    };
    Some(Response {
        status: head.status,
        status_line: head.status_line,
        content_type: head.content_type,
        body,
        complete: complete && !truncated,
        truncated,
    })
}

/// The data of a chunked body, and whether its last chunk was seen.
fn dechunk(mut body: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return (out, false);
        };
        body = &body[line_end + 2..];
        if size == 0 {
            return (out, true);
        }
        let take = size.min(body.len());
        out.extend_from_slice(&body[..take]);
        if take < size || body.len() < size + 2 {
            return (out, false);
        }
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_problem_json() {
        let body =
            r#"{"status":496,"title":"SSL Certificate Required","reason":"certificate_required"}"#;
        let raw = format!(
            "HTTP/1.1 496 SSL Certificate Required\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        assert!(is_complete(raw.as_bytes()));
        assert!(!is_complete(&raw.as_bytes()[..raw.len() - 1]));
        let response = parse(raw.as_bytes(), false, false).expect("a response");
        assert_eq!(response.status, 496);
        assert_eq!(
            response.status_line,
            "HTTP/1.1 496 SSL Certificate Required"
        );
        assert!(response.complete);
        assert_eq!(
            response.recognise(),
            Some(Recognised::Problem {
                reason: "certificate_required".to_owned(),
                title: Some("SSL Certificate Required".to_owned()),
                detail: None,
            })
        );
    }

    #[test]
    fn chunked_nginx_page() {
        let raw = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n10\r\n<center>No requi\r\n1c\r\nred SSL certificate was sent\r\n9\r\n</center>\r\n0\r\n\r\n";
        assert!(is_complete(raw));
        assert!(!is_complete(&raw[..raw.len() - 3]));
        let response = parse(raw, false, false).expect("a response");
        assert_eq!(
            String::from_utf8_lossy(&response.body),
            "<center>No required SSL certificate was sent</center>"
        );
        assert_eq!(
            response.recognise(),
            Some(Recognised::Nginx {
                code: 496,
                text: "No required SSL certificate was sent"
            })
        );
    }

    #[test]
    fn not_http_and_excerpt() {
        assert!(parse(b"SSH-2.0-OpenSSH\r\n\r\n", true, false).is_none());
        let raw = b"HTTP/1.0 200 OK\r\n\r\n  hello \r\n\t world\x07  ";
        assert!(!is_complete(raw));
        let response = parse(raw, true, false).expect("a response");
        assert!(response.complete);
        assert_eq!(response.excerpt(), "hello world");
        let long = format!("HTTP/1.1 200 OK\r\n\r\n{}", "x".repeat(500));
        let response = parse(long.as_bytes(), false, true).expect("a response");
        assert!(response.truncated && !response.complete);
        assert_eq!(response.excerpt().len(), EXCERPT_CHARS + 3);
    }
}
