//! Identity headers for the inner service: stripping incoming copies, and
//! setting nginx-style `X-SSL-Client-*` headers or Envoy's
//! `x-forwarded-client-cert`.
//!
//! A client must never be able to choose its own identity: every header this
//! module could set, and the spellings other proxies use, are removed from the
//! request first, whether or not forwarding is on.
//!
//! Where requests are stripped, with [`strip_identity_headers`]:
//! - HTTP: on entry, by the connection glue that puts the outcome into each
//!   request (mtls-status-tower's `AddClientAuthLayer`, which
//!   mtls-status-axum's make-service uses), on every route; again by
//!   [`ForwardHeaders::apply`] in `VerifyClientLayer`, just before it sets
//!   the headers the route forwards.
//! - gRPC: by mtls-status-tonic's check, on the request metadata of the
//!   services it guards.
//!
//! ```
//! use http::HeaderMap;
//! use mtls_status::{ClientAuthOutcome, forward::{ForwardHeaders, X_SSL_CLIENT_VERIFY}};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-ssl-client-verify", "SUCCESS".parse().unwrap()); // a spoofing attempt
//! headers.insert("x-forwarded-client-cert", "Hash=abc".parse().unwrap());
//!
//! ForwardHeaders::nginx().apply(&mut headers, &ClientAuthOutcome::None);
//! assert_eq!(headers[X_SSL_CLIENT_VERIFY], "NONE");
//! assert!(headers.get("x-forwarded-client-cert").is_none());
//! ```

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::identity::ClientIdentity;
use crate::outcome::ClientAuthOutcome;

/// `X-SSL-Client-Verify`: `$ssl_client_verify`.
pub const X_SSL_CLIENT_VERIFY: HeaderName = HeaderName::from_static("x-ssl-client-verify");
/// `X-SSL-Client-S-DN`: `$ssl_client_s_dn`.
pub const X_SSL_CLIENT_S_DN: HeaderName = HeaderName::from_static("x-ssl-client-s-dn");
/// `X-SSL-Client-I-DN`: `$ssl_client_i_dn`.
pub const X_SSL_CLIENT_I_DN: HeaderName = HeaderName::from_static("x-ssl-client-i-dn");
/// `X-SSL-Client-Serial`: `$ssl_client_serial`.
pub const X_SSL_CLIENT_SERIAL: HeaderName = HeaderName::from_static("x-ssl-client-serial");
/// `X-SSL-Client-Fingerprint`: `$ssl_client_fingerprint` (SHA-1).
pub const X_SSL_CLIENT_FINGERPRINT: HeaderName =
    HeaderName::from_static("x-ssl-client-fingerprint");
/// `X-SSL-Client-Cert`: `$ssl_client_escaped_cert`.
pub const X_SSL_CLIENT_CERT: HeaderName = HeaderName::from_static("x-ssl-client-cert");
/// Envoy's `x-forwarded-client-cert`.
pub const X_FORWARDED_CLIENT_CERT: HeaderName = HeaderName::from_static("x-forwarded-client-cert");

/// Exact names removed from every request, besides the prefixes in
/// [`STRIPPED_PREFIXES`] (and the same with `_` for `-`, see
/// [`is_identity_header`]): Envoy's and ingress-nginx's spellings, RFC 9440's
/// `Client-Cert` and `Client-Cert-Chain`, and the `X-Client-Cert` /
/// `X-Client-Verify` pair many reverse-proxy setups use.
pub const STRIPPED_NAMES: &[&str] = &[
    "x-forwarded-client-cert",
    "ssl-client-verify",
    "ssl-client-subject-dn",
    "ssl-client-issuer-dn",
    "ssl-client-cert",
    "client-cert",
    "client-cert-chain",
    "x-client-cert",
    "x-client-verify",
];

/// Name prefixes removed from every request (and the same with `_` for `-`,
/// see [`is_identity_header`]): nginx-style `x-ssl-client-*`,
/// `ssl-client-*`, Traefik's `x-forwarded-tls-client-cert*`, AWS ALB's
/// `x-amzn-mtls-clientcert*` (`-serial-number`, `-issuer`, `-subject`,
/// `-validity`, `-leaf`) and IIS ARR's `x-arr-clientcert*`.
pub const STRIPPED_PREFIXES: &[&str] = &[
    "x-ssl-client-",
    "ssl-client-",
    "x-forwarded-tls-client-cert",
    "x-amzn-mtls-clientcert",
    "x-arr-clientcert",
];

/// Whether `name` is an identity header a client must not be able to send.
///
/// An `_` in `name` counts as a `-`: CGI, PHP, WSGI, Rack and many proxies
/// turn both `X-SSL-Client-Verify` and `X_SSL_CLIENT_VERIFY` into
/// `HTTP_X_SSL_CLIENT_VERIFY`, so a backend could take the underscore
/// spelling for the real header (nginx drops such headers for the same
/// reason, `underscores_in_headers off`).
///
/// ```
/// use mtls_status::forward::is_identity_header;
/// assert!(is_identity_header(&http::HeaderName::from_static("x-ssl-client-s-dn")));
/// assert!(is_identity_header(&http::HeaderName::from_static("x_ssl_client_verify")));
/// assert!(is_identity_header(&http::HeaderName::from_static("x-forwarded-client-cert")));
/// assert!(!is_identity_header(&http::HeaderName::from_static("x-request-id")));
/// ```
pub fn is_identity_header(name: &HeaderName) -> bool {
    let name = name.as_str().as_bytes();
    // Every stripped name starts with `x`, `s` or `c` (header names are
    // lowercase): most headers are ruled out by their first byte.
    if !matches!(name.first(), Some(b'x' | b's' | b'c')) {
        return false;
    }
    STRIPPED_NAMES
        .iter()
        .any(|stripped| name.len() == stripped.len() && starts_like(name, stripped))
        || STRIPPED_PREFIXES
            .iter()
            .any(|prefix| starts_like(name, prefix))
}

/// Whether `name` starts with `pattern` (lowercase, `-` separated), an `_`
/// in `name` matching a `-` in `pattern`.
fn starts_like(name: &[u8], pattern: &str) -> bool {
    name.len() >= pattern.len()
        && name
            .iter()
            .zip(pattern.as_bytes())
            .all(|(&n, &p)| n == p || (n == b'_' && p == b'-'))
}

/// Removes every identity header (see [`is_identity_header`]), all values
/// of each; returns how many names were removed.
pub fn strip_identity_headers(headers: &mut HeaderMap) -> usize {
    // Most requests carry none: look before allocating.
    if !headers.keys().any(is_identity_header) {
        return 0;
    }
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| is_identity_header(name))
        .cloned()
        .collect();
    for name in &names {
        headers.remove(name);
    }
    names.len()
}

/// Which identity headers the inner service receives. Incoming copies are
/// always stripped by [`apply`](Self::apply), whatever is chosen here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardHeaders {
    nginx: bool,
    cert: bool,
    xfcc: bool,
    xfcc_by: Option<String>,
}

impl ForwardHeaders {
    /// Strip incoming identity headers and set none (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// nginx-style headers: `X-SSL-Client-Verify`, `-S-DN`, `-I-DN`,
    /// `-Serial`, `-Fingerprint`, with nginx's variable formats.
    pub fn nginx() -> Self {
        Self {
            nginx: true,
            ..Self::default()
        }
    }

    /// Envoy's `x-forwarded-client-cert` with `Hash`, `Subject`, `URI` and
    /// `DNS` for a verified client (and `Cert` with [`with_cert`](Self::with_cert)).
    pub fn xfcc() -> Self {
        Self {
            xfcc: true,
            ..Self::default()
        }
    }

    /// Also forward the certificate itself: `X-SSL-Client-Cert` (escaped
    /// PEM) for nginx style, `Cert=` for XFCC.
    #[must_use]
    pub fn with_cert(mut self) -> Self {
        self.cert = true;
        self
    }

    /// Also set nginx-style headers.
    #[must_use]
    pub fn with_nginx(mut self) -> Self {
        self.nginx = true;
        self
    }

    /// Also set `x-forwarded-client-cert`.
    #[must_use]
    pub fn with_xfcc(mut self) -> Self {
        self.xfcc = true;
        self
    }

    /// The XFCC `By=` element: this server's own URI SAN, as Envoy does.
    #[must_use]
    pub fn xfcc_by(mut self, uri: impl Into<String>) -> Self {
        self.xfcc_by = Some(uri.into());
        self
    }

    /// Strips every incoming identity header, then sets the chosen ones for
    /// `outcome`. nginx-style headers are set for every outcome (`NONE`,
    /// `FAILED:…` with the presented certificate's names, `SUCCESS`); XFCC
    /// only for a verified client, as Envoy.
    ///
    /// All or nothing: if one of the chosen values cannot be a header value
    /// (a URI or DNS SAN with a control character such as CR or LF, which
    /// XFCC cannot quote), **no** identity header is set for the request,
    /// and a `tracing` warning says which one failed. A backend then sees
    /// an unauthenticated request rather than `X-SSL-Client-Verify: SUCCESS`
    /// without the identity that goes with it.
    pub fn apply(&self, headers: &mut HeaderMap, outcome: &ClientAuthOutcome) {
        strip_identity_headers(headers);
        if let Err(name) = self.set(headers, outcome) {
            // Only identity headers were set: stripping again removes them.
            strip_identity_headers(headers);
            tracing::warn!(
                header = %name,
                outcome = outcome.label(),
                "a client-certificate value cannot be sent as a header value; \
                 no identity headers are forwarded for this request"
            );
        }
    }

    /// Sets the chosen headers; the name of the first whose value cannot be
    /// a header value stops it.
    fn set(&self, headers: &mut HeaderMap, outcome: &ClientAuthOutcome) -> Result<(), HeaderName> {
        if self.nginx {
            let verify = match outcome {
                ClientAuthOutcome::None => Some(HeaderValue::from_static("NONE")),
                ClientAuthOutcome::Verified(_) => Some(HeaderValue::from_static("SUCCESS")),
                _ => header_value(outcome.ssl_client_verify().into_owned()),
            };
            insert(headers, X_SSL_CLIENT_VERIFY, verify.as_ref())?;
            if let Some(identity) = outcome.presented_identity() {
                // Built once per connection, cloned (a reference count) per request.
                let cached = identity.header_cache().nginx(identity);
                insert(headers, X_SSL_CLIENT_S_DN, cached.s_dn.as_ref())?;
                insert(headers, X_SSL_CLIENT_I_DN, cached.i_dn.as_ref())?;
                insert(headers, X_SSL_CLIENT_SERIAL, cached.serial.as_ref())?;
                insert(
                    headers,
                    X_SSL_CLIENT_FINGERPRINT,
                    cached.fingerprint.as_ref(),
                )?;
                if self.cert {
                    let cert = identity.header_cache().escaped_pem(identity);
                    insert(headers, X_SSL_CLIENT_CERT, cert.as_ref())?;
                }
            }
        }
        if let (true, Some(identity)) = (self.xfcc, outcome.identity()) {
            let element = xfcc_element(identity, self.xfcc_by.as_deref(), self.cert);
            insert(
                headers,
                X_FORWARDED_CLIENT_CERT,
                header_value(element).as_ref(),
            )?;
        }
        Ok(())
    }
}

fn header_value(value: String) -> Option<HeaderValue> {
    // DNs escape control and non-ASCII bytes, so nginx-style values always
    // pass; XFCC carries URI and DNS SANs as they are, and one with a
    // control character fails here (never panics).
    HeaderValue::try_from(value).ok()
}

/// Sets `name` to `value`; `Err(name)` if there is no value.
fn insert(
    headers: &mut HeaderMap,
    name: HeaderName,
    value: Option<&HeaderValue>,
) -> Result<(), HeaderName> {
    let value = value.ok_or_else(|| name.clone())?;
    headers.insert(name, value.clone());
    Ok(())
}

/// nginx-style header values of one identity, computed on first use.
#[derive(Clone, Debug, Default)]
pub(crate) struct HeaderCache {
    nginx: OnceLock<NginxValues>,
    escaped_pem: OnceLock<Option<HeaderValue>>,
}

#[derive(Clone, Debug)]
pub(crate) struct NginxValues {
    s_dn: Option<HeaderValue>,
    i_dn: Option<HeaderValue>,
    serial: Option<HeaderValue>,
    fingerprint: Option<HeaderValue>,
}

impl HeaderCache {
    fn nginx(&self, identity: &ClientIdentity) -> &NginxValues {
        self.nginx.get_or_init(|| NginxValues {
            s_dn: header_value(identity.subject_dn().to_owned()),
            i_dn: header_value(identity.issuer_dn().to_owned()),
            serial: header_value(identity.serial().to_owned()),
            fingerprint: header_value(identity.fingerprint_sha1().to_owned()),
        })
    }

    fn escaped_pem(&self, identity: &ClientIdentity) -> &Option<HeaderValue> {
        self.escaped_pem
            .get_or_init(|| header_value(identity.escaped_pem()))
    }
}

// A cache is derived data: two identities are equal whether or not theirs
// has been filled yet.
impl PartialEq for HeaderCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for HeaderCache {}

/// One `x-forwarded-client-cert` element for a verified client, in Envoy's
/// format: `By=…;Hash=<sha256>;Cert="…";Subject="<RFC 2253>";URI=…;DNS=…`.
///
/// Keys are separated by `;`. A value is written as an RFC 9110
/// quoted-string (`\` escaped as `\\`, then `"` as `\"`) when it is empty or
/// contains `,`, `;`, `=`, `"`, `\` or whitespace, and always for `Subject`
/// and `Cert`; otherwise bare. A parser following Envoy's rules reads back
/// exactly the certificate's values: a SAN such as
/// `x\";URI=spiffe://evil.org/admin;DNS="y` stays one `DNS` value.
///
/// ```
/// # let pki = mtls_testpki::Pki::generate();
/// # let leaf = pki.root.leaf("client").dns(r#"x\";URI=spiffe://evil.org/admin;DNS="y"#).build();
/// # let identity = mtls_status::ClientIdentity::from_chain(leaf.chain()).unwrap();
/// // A client certificate with the DNS SAN  x\";URI=spiffe://evil.org/admin;DNS="y
/// let element = mtls_status::forward::xfcc_element(&identity, None, false);
/// assert!(element.ends_with(r#";DNS="x\\\";URI=spiffe://evil.org/admin;DNS=\"y""#));
/// ```
pub fn xfcc_element(identity: &ClientIdentity, by: Option<&str>, with_cert: bool) -> String {
    let mut parts = Vec::new();
    if let Some(by) = by {
        parts.push(format!("By={}", xfcc_value(by, false)));
    }
    parts.push(format!("Hash={}", identity.fingerprint_sha256()));
    if with_cert {
        parts.push(format!(
            "Cert={}",
            xfcc_value(&identity.escaped_pem(), true)
        ));
    }
    parts.push(format!(
        "Subject={}",
        xfcc_value(identity.subject_dn(), true)
    ));
    for uri in identity.uris() {
        parts.push(format!("URI={}", xfcc_value(uri, false)));
    }
    for dns in identity.dns_names() {
        parts.push(format!("DNS={}", xfcc_value(dns, false)));
    }
    parts.join(";")
}

pub(crate) fn xfcc_value(value: &str, always_quote: bool) -> String {
    let special = |c: char| matches!(c, ',' | ';' | '=' | '"' | '\\') || c.is_ascii_whitespace();
    if !always_quote && !value.is_empty() && !value.contains(special) {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_every_spelling_and_keeps_others() {
        let mut headers = HeaderMap::new();
        for name in [
            "x-ssl-client-verify",
            "X-SSL-Client-S-DN",
            "x-ssl-client-anything",
            "x-forwarded-client-cert",
            "ssl-client-subject-dn",
            "x-forwarded-tls-client-cert-info",
            "x_ssl_client_verify",
            "ssl_client-cert",
            "x-forwarded_client_cert",
            "x-request-id",
            "x_request_id",
            "x-forwarded-client-certificate",
            "client-cert",
            "Client-Cert-Chain",
            "x-client-cert",
            "x_client_verify",
            "x-amzn-mtls-clientcert",
            "x-amzn-mtls-clientcert-serial-number",
            "x-arr-clientcert",
            "client-certificate-policy",
            "cache-control",
        ] {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
                HeaderValue::from_static("spoofed"),
            );
        }
        headers.append("x-ssl-client-verify", HeaderValue::from_static("SUCCESS"));
        assert_eq!(strip_identity_headers(&mut headers), 16);
        assert_eq!(headers.len(), 5, "{headers:?}");
        assert!(headers.contains_key("client-certificate-policy"));
        assert!(headers.contains_key("cache-control"));
        assert!(headers.contains_key("x-request-id"));
        assert!(headers.contains_key("x_request_id"));
        // An exact name is not a prefix.
        assert!(headers.contains_key("x-forwarded-client-certificate"));
    }

    #[test]
    fn none_forwarding_still_strips() {
        let mut headers = HeaderMap::new();
        headers.insert(X_SSL_CLIENT_VERIFY, HeaderValue::from_static("SUCCESS"));
        ForwardHeaders::none().apply(&mut headers, &ClientAuthOutcome::None);
        assert!(headers.is_empty());
    }

    #[test]
    fn xfcc_quoting() {
        assert_eq!(xfcc_value("spiffe://a/b", false), "spiffe://a/b");
        assert_eq!(xfcc_value("a,b", false), "\"a,b\"");
        assert_eq!(xfcc_value("CN=\"x\"", true), "\"CN=\\\"x\\\"\"");
        // `\` first: `\"` must not become `\\"`, an escaped `\` and a bare `"`.
        assert_eq!(xfcc_value(r#"x\";y"#, false), r#""x\\\";y""#);
        assert_eq!(xfcc_value(r"a\b", false), r#""a\\b""#);
        assert_eq!(xfcc_value("a b", false), "\"a b\"");
        assert_eq!(xfcc_value("", false), "\"\"");
    }
}
