//! Identity headers for the inner service: stripping incoming copies, and
//! setting nginx-style `X-SSL-Client-*` headers, Envoy's
//! `x-forwarded-client-cert` (`Cert=` and `Chain=`, in Envoy's
//! [`XfccMode`]s) or RFC 9440's `Client-Cert` / `Client-Cert-Chain`.
//!
//! | [`ForwardHeaders`] | headers set (verified client) | read back by [`TrustedProxy`](crate::proxy::TrustedProxy) as |
//! |---|---|---|
//! | [`nginx`](ForwardHeaders::nginx) (+ [`with_cert`](ForwardHeaders::with_cert)) | `X-SSL-Client-Verify`, `-S-DN`, `-I-DN`, `-Serial`, `-Fingerprint` (+ `-Cert`: URL-encoded PEM of the leaf) | `Nginx` |
//! | [`xfcc`](ForwardHeaders::xfcc) (+ `with_cert`, [`with_chain`](ForwardHeaders::with_chain)) | `x-forwarded-client-cert: Hash=…;Cert="…";Chain="…";Subject="…";URI=…;DNS=…` | `Xfcc` |
//! | [`rfc9440`](ForwardHeaders::rfc9440) | `Client-Cert: :base64(DER):`, `Client-Cert-Chain: :base64:, :base64:` (intermediates as presented, if any) | `Rfc9440` |
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

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::identity::{ClientIdentity, format};
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
/// RFC 9440 `Client-Cert`: the leaf, a structured-field byte sequence.
pub const CLIENT_CERT: HeaderName = HeaderName::from_static("client-cert");
/// RFC 9440 `Client-Cert-Chain`: the intermediates, a list of byte sequences.
pub const CLIENT_CERT_CHAIN: HeaderName = HeaderName::from_static("client-cert-chain");

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

/// What happens to `x-forwarded-client-cert`, as Envoy's
/// `forward_client_cert_details`. Incoming XFCC is stripped on entry from
/// every peer; only a trusted front proxy's (read with
/// [`ProxyHeaderFormat::Xfcc`](crate::proxy::ProxyHeaderFormat::Xfcc)) is
/// kept, as an [`UpstreamXfcc`] in the request's extensions, for
/// `AppendForward` and `ForwardOnly` to use.
///
/// | mode | from a TLS client or an untrusted peer | from a trusted XFCC proxy |
/// |---|---|---|
/// | `Sanitize` | none | none |
/// | `SanitizeSet` (default) | ours | ours |
/// | `AppendForward` | ours | theirs, then ours (`theirs,ours`) |
/// | `ForwardOnly` | none | theirs, unchanged |
///
/// "Ours" is the element of a verified client only, as Envoy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XfccMode {
    /// Strip, set nothing (Envoy's `SANITIZE`).
    Sanitize,
    /// Strip, then set our element (Envoy's `SANITIZE_SET`).
    #[default]
    SanitizeSet,
    /// A trusted proxy's XFCC with our element appended (Envoy's
    /// `APPEND_FORWARD`); from anyone else, as `SanitizeSet`.
    AppendForward,
    /// A trusted proxy's XFCC unchanged (Envoy's `FORWARD_ONLY`); from
    /// anyone else, nothing: a client's own XFCC is never forwarded.
    ForwardOnly,
}

/// The `x-forwarded-client-cert` a **trusted** front proxy sent, kept in
/// the request's extensions by the trusted-proxy glue (mtls-status-tower's
/// `TrustedProxyLayer`, from [`TrustedProxy::upstream_xfcc`](crate::proxy::TrustedProxy::upstream_xfcc))
/// for [`XfccMode::AppendForward`] and [`XfccMode::ForwardOnly`]. Only
/// made from a trusted peer's headers: there is no public constructor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamXfcc(HeaderValue);

impl UpstreamXfcc {
    pub(crate) fn new(value: HeaderValue) -> Self {
        Self(value)
    }

    /// The header value, several field lines joined with `,`.
    pub fn value(&self) -> &HeaderValue {
        &self.0
    }
}

/// Which identity headers the inner service receives. Incoming copies are
/// always stripped by [`apply`](Self::apply), whatever is chosen here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardHeaders {
    nginx: bool,
    cert: bool,
    chain: bool,
    xfcc: bool,
    xfcc_mode: XfccMode,
    rfc9440: bool,
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
    /// `DNS` for a verified client (and `Cert` with [`with_cert`](Self::with_cert),
    /// `Chain` with [`with_chain`](Self::with_chain)), in
    /// [`XfccMode::SanitizeSet`] unless [`xfcc_mode`](Self::xfcc_mode) says
    /// otherwise.
    pub fn xfcc() -> Self {
        Self {
            xfcc: true,
            ..Self::default()
        }
    }

    /// RFC 9440 for a verified client: `Client-Cert` (the leaf's DER as a
    /// structured-field byte sequence, `:base64:`) and, when the client
    /// sent intermediates, `Client-Cert-Chain` (a list of byte sequences,
    /// in the order presented).
    ///
    /// ```
    /// use http::HeaderMap;
    /// use mtls_status::{ClientAuthOutcome, ClientIdentity, ForwardHeaders};
    /// use mtls_status::forward::{CLIENT_CERT, CLIENT_CERT_CHAIN};
    ///
    /// # let pki = mtls_testpki::Pki::generate();
    /// let identity = ClientIdentity::from_chain(pki.valid_via_intermediate.chain())?;
    /// let mut headers = HeaderMap::new();
    /// ForwardHeaders::rfc9440().apply(&mut headers, &ClientAuthOutcome::Verified(identity));
    /// assert!(headers[CLIENT_CERT].to_str()?.starts_with(":MII"));
    /// assert_eq!(headers[CLIENT_CERT_CHAIN].to_str()?.matches(':').count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rfc9440() -> Self {
        Self {
            rfc9440: true,
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

    /// Also forward the whole chain the client presented: XFCC `Chain=`
    /// (URL-encoded PEM of every certificate, leaf first, as Envoy).
    #[must_use]
    pub fn with_chain(mut self) -> Self {
        self.chain = true;
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

    /// Also set RFC 9440's `Client-Cert` / `Client-Cert-Chain`.
    #[must_use]
    pub fn with_rfc9440(mut self) -> Self {
        self.rfc9440 = true;
        self
    }

    /// What happens to `x-forwarded-client-cert` (default
    /// [`XfccMode::SanitizeSet`]); see [`XfccMode`].
    #[must_use]
    pub fn xfcc_mode(mut self, mode: XfccMode) -> Self {
        self.xfcc = true;
        self.xfcc_mode = mode;
        self
    }

    /// Whether [`apply_with_upstream`](Self::apply_with_upstream) uses a
    /// trusted proxy's XFCC (modes `AppendForward` and `ForwardOnly`), so
    /// that the glue looks it up only then.
    pub fn uses_upstream_xfcc(&self) -> bool {
        self.xfcc
            && matches!(
                self.xfcc_mode,
                XfccMode::AppendForward | XfccMode::ForwardOnly
            )
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
    /// and RFC 9440 only for a verified client, as Envoy and RFC 9440 §2.4.
    ///
    /// All or nothing: if one of the chosen values cannot be a header value
    /// (a URI or DNS SAN with a control character such as CR or LF, which
    /// XFCC cannot quote), **no** identity header is set for the request,
    /// and a `tracing` warning says which one failed. A backend then sees
    /// an unauthenticated request rather than `X-SSL-Client-Verify: SUCCESS`
    /// without the identity that goes with it.
    pub fn apply(&self, headers: &mut HeaderMap, outcome: &ClientAuthOutcome) {
        self.apply_with_upstream(headers, outcome, None);
    }

    /// [`apply`](Self::apply), with the XFCC a trusted front proxy sent
    /// (the request's [`UpstreamXfcc`] extension, if any) for
    /// [`XfccMode::AppendForward`] and [`XfccMode::ForwardOnly`].
    pub fn apply_with_upstream(
        &self,
        headers: &mut HeaderMap,
        outcome: &ClientAuthOutcome,
        upstream: Option<&UpstreamXfcc>,
    ) {
        strip_identity_headers(headers);
        if let Err(name) = self.set(headers, outcome, upstream) {
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
    fn set(
        &self,
        headers: &mut HeaderMap,
        outcome: &ClientAuthOutcome,
        upstream: Option<&UpstreamXfcc>,
    ) -> Result<(), HeaderName> {
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
        if self.xfcc {
            self.set_xfcc(headers, outcome.identity(), upstream)?;
        }
        if let (true, Some(identity)) = (self.rfc9440, outcome.identity()) {
            let (cert, chain) = identity.header_cache().rfc9440(identity);
            insert(headers, CLIENT_CERT, cert.as_ref())?;
            if let Some(chain) = chain {
                insert(headers, CLIENT_CERT_CHAIN, chain.as_ref())?;
            }
        }
        Ok(())
    }

    fn set_xfcc(
        &self,
        headers: &mut HeaderMap,
        identity: Option<&ClientIdentity>,
        upstream: Option<&UpstreamXfcc>,
    ) -> Result<(), HeaderName> {
        let ours = || {
            identity.map(|identity| {
                xfcc_element_with(identity, self.xfcc_by.as_deref(), self.cert, self.chain)
            })
        };
        let value = match (self.xfcc_mode, upstream) {
            (XfccMode::Sanitize, _) | (XfccMode::ForwardOnly, None) => return Ok(()),
            (XfccMode::ForwardOnly, Some(theirs)) => Some(theirs.value().clone()),
            (XfccMode::AppendForward, Some(theirs)) => match ours() {
                None => Some(theirs.value().clone()),
                Some(ours) => {
                    let mut joined = theirs.value().as_bytes().to_vec();
                    joined.push(b',');
                    joined.extend_from_slice(ours.as_bytes());
                    Some(HeaderValue::from_bytes(&joined).map_err(|_| X_FORWARDED_CLIENT_CERT)?)
                }
            },
            (XfccMode::SanitizeSet, _) | (XfccMode::AppendForward, None) => {
                let Some(ours) = ours() else {
                    return Ok(());
                };
                Some(header_value(ours).ok_or(X_FORWARDED_CLIENT_CERT)?)
            }
        };
        insert(headers, X_FORWARDED_CLIENT_CERT, value.as_ref())
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
    rfc9440: OnceLock<Rfc9440Values>,
}

/// `Client-Cert`, and `Client-Cert-Chain` (`None` without intermediates).
type Rfc9440Values = (Option<HeaderValue>, Option<Option<HeaderValue>>);

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

    fn rfc9440(
        &self,
        identity: &ClientIdentity,
    ) -> (&Option<HeaderValue>, Option<&Option<HeaderValue>>) {
        let (cert, chain) = self.rfc9440.get_or_init(|| {
            let cert = header_value(sf_binary(identity.leaf()));
            let rest = identity.chain().get(1..).unwrap_or_default();
            let chain = (!rest.is_empty()).then(|| {
                header_value(
                    rest.iter()
                        .map(|c| sf_binary(c))
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            });
            (cert, chain)
        });
        (cert, chain.as_ref())
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
    xfcc_element_with(identity, by, with_cert, false)
}

/// [`xfcc_element`], with `Chain=` (the URL-encoded PEM of every
/// certificate the client presented, leaf first, as Envoy) when
/// `with_chain`.
///
/// ```
/// # let pki = mtls_testpki::Pki::generate();
/// # let identity = mtls_status::ClientIdentity::from_chain(pki.valid_via_intermediate.chain()).unwrap();
/// let element = mtls_status::forward::xfcc_element_with(&identity, None, false, true);
/// let chain = element.split(";Chain=").nth(1).unwrap();
/// // Two certificates, URL-encoded (LF is %0A), quoted.
/// assert_eq!(chain.matches("-----BEGIN%20CERTIFICATE-----%0A").count(), 2);
/// assert!(chain.starts_with('"'));
/// ```
pub fn xfcc_element_with(
    identity: &ClientIdentity,
    by: Option<&str>,
    with_cert: bool,
    with_chain: bool,
) -> String {
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
    if with_chain {
        let pem: String = identity.chain().iter().map(|c| format::pem(c)).collect();
        parts.push(format!(
            "Chain={}",
            xfcc_value(&format::escape_uri_component(&pem), true)
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

/// An RFC 8941 byte sequence: `:` base64 (with padding) `:`.
fn sf_binary(der: &[u8]) -> String {
    format!(":{}:", STANDARD.encode(der))
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
    use std::net::IpAddr;

    use super::*;
    use crate::proxy::{ProxyHeaderFormat, TrustedProxy};

    const PROXY: &str = "127.0.0.1";

    fn verified(chain: Vec<rustls_pki_types::CertificateDer<'static>>) -> ClientAuthOutcome {
        ClientAuthOutcome::Verified(ClientIdentity::from_chain(chain).expect("identity"))
    }

    fn reader(format: ProxyHeaderFormat) -> TrustedProxy {
        TrustedProxy::builder(format)
            .trusted_peer(crate::proxy::parse_trusted_peer(PROXY).expect("cidr"))
            .build()
            .expect("proxy")
    }

    /// What each format emits is what the trusted-proxy reader of that
    /// format reads back: the same chain (the leaf alone where the format
    /// carries only the leaf), and the verdict where it has one.
    #[test]
    fn emitted_formats_round_trip_through_the_proxy_readers() {
        let pki = mtls_testpki::Pki::generate();
        for leaf in [&pki.valid_from_root, &pki.valid_via_intermediate] {
            let chain = leaf.chain();
            let outcome = verified(chain.clone());
            for (forward, format, expected) in [
                (
                    ForwardHeaders::rfc9440(),
                    ProxyHeaderFormat::Rfc9440,
                    &chain[..],
                ),
                (
                    ForwardHeaders::xfcc().with_chain(),
                    ProxyHeaderFormat::Xfcc,
                    &chain[..],
                ),
                (
                    ForwardHeaders::xfcc().with_cert().with_chain(),
                    ProxyHeaderFormat::Xfcc,
                    &chain[..],
                ),
                (
                    ForwardHeaders::xfcc().with_cert(),
                    ProxyHeaderFormat::Xfcc,
                    &chain[..1],
                ),
                (
                    ForwardHeaders::nginx().with_cert(),
                    ProxyHeaderFormat::Nginx,
                    &chain[..1],
                ),
            ] {
                let mut headers = HeaderMap::new();
                forward.apply(&mut headers, &outcome);
                let claim = reader(format)
                    .read(&headers)
                    .unwrap_or_else(|e| panic!("{format}: {e} in {headers:?}"))
                    .unwrap_or_else(|| panic!("{format}: nothing read from {headers:?}"));
                assert_eq!(claim.chain(), expected, "{format} {forward:?}");
                let expected_verdict = matches!(format, ProxyHeaderFormat::Nginx)
                    .then_some(crate::proxy::ProxyVerdict::Success);
                assert_eq!(claim.verdict(), expected_verdict.as_ref(), "{format}");
            }
        }
    }

    #[test]
    fn rfc9440_chain_header_only_with_intermediates() {
        let pki = mtls_testpki::Pki::generate();
        let mut headers = HeaderMap::new();
        let forward = ForwardHeaders::rfc9440();
        forward.apply(&mut headers, &verified(pki.valid_from_root.chain()));
        assert!(headers.contains_key(CLIENT_CERT));
        assert!(!headers.contains_key(CLIENT_CERT_CHAIN));
        // Not verified: nothing, and a client's own copies are gone.
        headers.insert(CLIENT_CERT_CHAIN, HeaderValue::from_static(":AAAA:"));
        forward.apply(&mut headers, &ClientAuthOutcome::None);
        assert!(headers.is_empty(), "{headers:?}");
    }

    /// Envoy's modes, with and without a trusted proxy's XFCC.
    #[test]
    fn xfcc_modes() {
        let pki = mtls_testpki::Pki::generate();
        let outcome = verified(pki.valid_from_root.chain());
        let envoy = reader(ProxyHeaderFormat::Xfcc);
        let mut incoming = HeaderMap::new();
        incoming.insert(
            X_FORWARDED_CLIENT_CERT,
            HeaderValue::from_static("Hash=aa;By=spiffe://front"),
        );
        let peer: IpAddr = PROXY.parse().expect("ip");
        let theirs = envoy.upstream_xfcc(Some(peer), &incoming).expect("trusted");
        let elsewhere: IpAddr = "192.0.2.1".parse().expect("ip");
        assert_eq!(envoy.upstream_xfcc(Some(elsewhere), &incoming), None);
        assert_eq!(envoy.upstream_xfcc(None, &incoming), None);
        assert_eq!(
            reader(ProxyHeaderFormat::Nginx).upstream_xfcc(Some(peer), &incoming),
            None
        );

        let ours = match &outcome {
            ClientAuthOutcome::Verified(identity) => xfcc_element(identity, None, false),
            _ => unreachable!(),
        };
        let run = |mode: XfccMode, upstream: Option<&UpstreamXfcc>, outcome: &ClientAuthOutcome| {
            let forward = ForwardHeaders::xfcc().xfcc_mode(mode);
            let mut headers = incoming.clone();
            forward.apply_with_upstream(&mut headers, outcome, upstream);
            headers
                .get(X_FORWARDED_CLIENT_CERT)
                .map(|v| v.to_str().expect("ascii").to_owned())
        };
        let both = format!("Hash=aa;By=spiffe://front,{ours}");
        let none = ClientAuthOutcome::None;
        for (mode, upstream, outcome, expected) in [
            (XfccMode::Sanitize, Some(&theirs), &outcome, None),
            (XfccMode::Sanitize, None, &outcome, None),
            (
                XfccMode::SanitizeSet,
                Some(&theirs),
                &outcome,
                Some(ours.as_str()),
            ),
            (XfccMode::SanitizeSet, None, &none, None),
            (
                XfccMode::AppendForward,
                Some(&theirs),
                &outcome,
                Some(both.as_str()),
            ),
            (
                XfccMode::AppendForward,
                Some(&theirs),
                &none,
                Some("Hash=aa;By=spiffe://front"),
            ),
            (XfccMode::AppendForward, None, &outcome, Some(ours.as_str())),
            (
                XfccMode::ForwardOnly,
                Some(&theirs),
                &outcome,
                Some("Hash=aa;By=spiffe://front"),
            ),
            // A client's own XFCC is never forwarded.
            (XfccMode::ForwardOnly, None, &outcome, None),
        ] {
            assert_eq!(
                run(mode, upstream, outcome).as_deref(),
                expected,
                "{mode:?} {upstream:?}"
            );
        }
        assert!(
            ForwardHeaders::xfcc()
                .xfcc_mode(XfccMode::ForwardOnly)
                .uses_upstream_xfcc()
        );
        assert!(!ForwardHeaders::xfcc().uses_upstream_xfcc());
    }

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
