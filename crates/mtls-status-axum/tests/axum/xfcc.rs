//! `x-forwarded-client-cert` as a strict XFCC parser reads it (Envoy's
//! format, RFC 9110 quoted-strings): what we write parses back to exactly
//! the certificate's values, even for names crafted to inject an element
//! (#16 items 2 and 4). Certificates from the trusted root, real handshakes.

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use mtls_status::{ForwardHeaders, VerifyMode};
use mtls_status_axum::VerifiedClient;
use mtls_status_tower::VerifyClientLayer;
use mtls_testpki::rcgen::{DistinguishedName, DnType};
use serde_json::{Value, json};

use crate::support::{Proto, Server, Session, serve_router};

/// One XFCC element as `(key, value)` pairs, in order.
type Element = Vec<(String, String)>;

/// Parses an `x-forwarded-client-cert` value strictly: elements separated
/// by `,`, pairs by `;`, `key=value`; a value is either a quoted-string
/// (RFC 9110 §5.6.4: `\` escapes the next character, an unescaped `"` ends
/// it) or a bare run without `"`, `\`, `,`, `;`, `=`. Anything else is an
/// error, as a strict proxy would refuse it.
fn parse_xfcc(header: &str) -> Result<Vec<Element>, String> {
    let mut elements = vec![Vec::new()];
    let mut chars = header.chars().peekable();
    loop {
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(format!("bad key character {c:?} after {key:?}"));
            }
            key.push(c);
            chars.next();
        }
        if chars.next() != Some('=') || key.is_empty() {
            return Err(format!("expected key= at {key:?}"));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) if c == '\t' || (' '..='~').contains(&c) => value.push(c),
                        other => return Err(format!("bad quoted-pair {other:?}")),
                    },
                    Some(c) if c == '\t' || (' '..='~').contains(&c) => value.push(c),
                    other => return Err(format!("bad quoted character {other:?}")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ';' || c == ',' {
                    break;
                }
                if matches!(c, '"' | '\\' | '=') || !(' '..='~').contains(&c) {
                    return Err(format!("bad bare character {c:?} in {value:?}"));
                }
                value.push(c);
                chars.next();
            }
        }
        elements.last_mut().expect("one element").push((key, value));
        match chars.next() {
            None => return Ok(elements),
            Some(';') => {}
            Some(',') => elements.push(Vec::new()),
            Some(c) => return Err(format!("expected ; or , not {c:?}")),
        }
    }
}

/// What the handler saw: the header, and the identity it stands for.
async fn xfcc(client: VerifiedClient, headers: HeaderMap) -> String {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().ok());
    json!({
        "xfcc": header("x-forwarded-client-cert"),
        "verify": header("x-ssl-client-verify"),
        "subject": client.subject_dn(),
        "uris": client.uris(),
        "dns": client.dns_names(),
        "hash": client.fingerprint_sha256(),
    })
    .to_string()
}

async fn server() -> Server {
    let router = Router::new().route(
        "/xfcc",
        get(xfcc).route_layer(
            VerifyClientLayer::new()
                .mode(VerifyMode::On)
                .forward(ForwardHeaders::xfcc().with_nginx()),
        ),
    );
    serve_router(router).await
}

async fn fetch(server: &Server, leaf: &mtls_testpki::Leaf) -> Value {
    let mut session = Session::open(server, Some(leaf), Proto::Http1).await;
    let reply = session.get("/xfcc").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.json()
}

const INJECTION: &str = r#"x\";URI=spiffe://evil.org/admin;DNS="y"#;

#[tokio::test]
async fn xfcc_parses_back_to_exactly_the_certificates_names() {
    let server = server().await;
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, r#"a\"b;URI=spiffe://evil.org/admin"#);
    subject.push(DnType::OrganizationName, r#"back\slash "quoted", x=y"#);
    let leaf = server
        .pki
        .root
        .leaf("ignored")
        .subject(subject)
        .dns(INJECTION)
        .dns("plain.example.org")
        .uri("spiffe://example.org/ns/web/sa/client")
        .uri(r"spiffe://example.org/a\b")
        .build();
    let seen = fetch(&server, &leaf).await;
    let header = seen["xfcc"].as_str().expect("xfcc forwarded");
    let elements = parse_xfcc(header).unwrap_or_else(|e| panic!("{e}: {header}"));
    assert_eq!(elements.len(), 1, "{header}");
    let values = |key: &str| -> Vec<&str> {
        elements[0]
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(values("Hash"), [seen["hash"].as_str().unwrap()], "{header}");
    assert_eq!(
        values("Subject"),
        [seen["subject"].as_str().unwrap()],
        "{header}"
    );
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(values("URI"), strings(&seen["uris"]), "{header}");
    assert_eq!(values("DNS"), strings(&seen["dns"]), "{header}");
    // The certificate's own names, as issued: nothing injected.
    assert_eq!(values("DNS"), [INJECTION, "plain.example.org"], "{header}");
    assert!(
        !values("URI").contains(&"spiffe://evil.org/admin"),
        "{header}"
    );
    assert_eq!(seen["verify"], "SUCCESS");
}

/// A URI SAN with CR/LF cannot be a header value. Before, XFCC silently
/// disappeared while `X-SSL-Client-Verify: SUCCESS` was still set: now
/// either every identity header is there, or none is.
#[tokio::test]
async fn a_name_that_cannot_be_a_header_value_forwards_no_identity_at_all() {
    let server = server().await;
    let leaf = server
        .pki
        .root
        .leaf("crlf")
        .uri("spiffe://example.org/x\r\nx-ssl-client-verify: SUCCESS")
        .build();
    let seen = fetch(&server, &leaf).await;
    assert!(seen["xfcc"].is_null(), "{seen}");
    assert!(seen["verify"].is_null(), "{seen}");
    // The handler still has the real identity from the extension.
    assert_eq!(seen["subject"], "CN=crlf");
}
