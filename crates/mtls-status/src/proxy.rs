//! Behind a TLS-terminating proxy: the client certificate a **trusted**
//! front proxy (nginx, ingress-nginx, HAProxy, Envoy, an RFC 9440 proxy,
//! AWS ALB) forwards in a header, as the same [`ClientAuthOutcome`] a TLS
//! handshake here would give.
//!
//! Data flows one way, as for a handshake: the request is accepted from a
//! peer address; [`TrustedProxy::outcome`] reads the forwarded chain only if
//! that peer is in the configured CIDRs, strips every identity header
//! (see [`strip_identity_headers`], trusted peer or not), and classifies the
//! chain with **this service's own classifier** ([`ClassifyChain`], which
//! mtls-status-rustls's `Classifier` implements). The judgement, answers,
//! extractors and forwarding then work unchanged: nothing downstream knows
//! where TLS ended.
//!
//! - A peer outside the CIDRs never counts: its headers are stripped as for
//!   any request, and the outcome is [`ClientAuthOutcome::None`].
//! - No certificate header from a trusted peer: [`ClientAuthOutcome::None`].
//! - The proxy's verify header (`X-SSL-Client-Verify`, HAProxy's
//!   `ssl_c_verify` code) is only a hint by default: the chain is checked
//!   again against this service's trust store, CRLs, depth and purpose.
//!   [`TrustedProxyBuilder::trust_proxy_verdict`] opts in to taking the
//!   proxy's verdict as it is (formats without a verify header then count a
//!   forwarded certificate as verified).
//! - A malformed, duplicated or oversized header (more than
//!   [`DEFAULT_MAX_HEADER_BYTES`] by default) is a [`ProxyHeaderError`],
//!   answered 400 with [`Answer::bad_proxy_header`](crate::Answer::bad_proxy_header);
//!   never a panic, never an identity.
//!
//! | [`ProxyHeaderFormat`] | certificate header (default) | encoding | verify header |
//! |---|---|---|---|
//! | `Nginx` | `X-SSL-Client-Cert` | `$ssl_client_escaped_cert`: URL-encoded PEM | `X-SSL-Client-Verify` (`$ssl_client_verify`) |
//! | `IngressNginx` | `ssl-client-cert` | URL-encoded PEM | `ssl-client-verify` |
//! | `Haproxy` | `X-SSL-Client-Cert` | `%[ssl_c_der,base64]`: base64 DER | `X-SSL-Client-Verify` (`%[ssl_c_verify]`, an OpenSSL code) |
//! | `Xfcc` | `x-forwarded-client-cert` | Envoy's `Chain=` or `Cert=` (URL-encoded PEM, quoted) of the last element | none |
//! | `Rfc9440` | `Client-Cert` + `Client-Cert-Chain` | structured-field byte sequences `:base64 DER:` | none |
//! | `Alb` | `X-Amzn-Mtls-Clientcert` | URL-encoded PEM chain, `+`, `=` and `/` left as they are | none |
//!
//! The proxy must replace, never pass on, what the client sends under these
//! names: nginx's `proxy_set_header` does; HAProxy needs `http-request
//! del-header` before a conditional `set-header`; Envoy must run with
//! `SANITIZE_SET` or `APPEND_FORWARD` (the last XFCC element is the one
//! read), never `FORWARD_ONLY`.
//!
//! URL-encoded values are decoded as percent-encoding only: a `+` is a `+`
//! (base64), never a space, as ALB documents (`+=/` are its safe
//! characters).
//!
//! ```
//! use std::net::IpAddr;
//! use std::sync::Arc;
//!
//! use http::HeaderMap;
//! use mtls_status::ClientAuthOutcome;
//! use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy};
//!
//! # let leaf = mtls_testpki::self_signed_client("client");
//! # let escaped = mtls_status::ClientIdentity::from_der(leaf.cert_der())?.escaped_pem();
//! let proxy = TrustedProxy::builder(ProxyHeaderFormat::Nginx)
//!     .trusted_peer("10.0.0.0/8".parse()?)
//!     .build()?;
//! // Here every chain verifies; a real service passes its mtls-status-rustls Classifier.
//! let classify = |chain: &[rustls_pki_types::CertificateDer<'_>]| {
//!     let chain = chain.iter().map(|c| c.clone().into_owned()).collect();
//!     Arc::new(ClientAuthOutcome::Verified(mtls_status::ClientIdentity::from_chain(chain).unwrap()))
//! };
//! let mut headers = HeaderMap::new();
//! headers.insert("x-ssl-client-cert", escaped.parse()?); // $ssl_client_escaped_cert
//! headers.insert("x-ssl-client-verify", "SUCCESS".parse()?);
//!
//! let from_proxy: IpAddr = "10.1.2.3".parse()?;
//! let outcome = proxy.outcome(Some(from_proxy), &mut headers.clone(), &classify)?;
//! assert!(outcome.is_verified());
//!
//! // The same headers from anyone else count for nothing, and are removed.
//! let elsewhere: IpAddr = "192.0.2.7".parse()?;
//! let outcome = proxy.outcome(Some(elsewhere), &mut headers, &classify)?;
//! assert!(outcome.is_none());
//! assert!(headers.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use http::{HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::allow_list::hex_value;
use crate::forward::{UpstreamXfcc, X_FORWARDED_CLIENT_CERT, strip_identity_headers};
use crate::identity::ClientIdentity;
use crate::outcome::{ClientAuthOutcome, InvalidCertificate};
use crate::reason::{InvalidReason, ReasonKind};

/// The largest certificate (or chain) header read by default: 64 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;

/// The most certificates read from one request by default (leaf included).
pub const DEFAULT_MAX_CHAIN_LEN: usize = 10;

/// Classifies a forwarded chain (leaf first) against this service's trust
/// store. mtls-status-rustls's `Classifier` implements it; so does any
/// `Fn(&[CertificateDer<'_>]) -> Arc<ClientAuthOutcome>`.
pub trait ClassifyChain: Send + Sync {
    /// The outcome for `chain` (never empty) at the current time.
    fn classify_chain(&self, chain: &[CertificateDer<'_>]) -> Arc<ClientAuthOutcome>;
}

impl<F> ClassifyChain for F
where
    F: Fn(&[CertificateDer<'_>]) -> Arc<ClientAuthOutcome> + Send + Sync,
{
    fn classify_chain(&self, chain: &[CertificateDer<'_>]) -> Arc<ClientAuthOutcome> {
        self(chain)
    }
}

/// How the front proxy forwards the client certificate; see the [module
/// docs](self) for each format's headers and encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProxyHeaderFormat {
    /// nginx: `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`
    /// and `X-SSL-Client-Verify $ssl_client_verify`.
    Nginx,
    /// ingress-nginx (`auth-tls-pass-certificate-to-upstream`):
    /// `ssl-client-cert` and `ssl-client-verify`.
    IngressNginx,
    /// HAProxy: `http-request set-header X-SSL-Client-Cert %[ssl_c_der,base64]`
    /// and `X-SSL-Client-Verify %[ssl_c_verify]`.
    Haproxy,
    /// Envoy's `x-forwarded-client-cert` with `Cert=` or `Chain=`.
    Xfcc,
    /// RFC 9440 `Client-Cert` and `Client-Cert-Chain`.
    Rfc9440,
    /// AWS Application Load Balancer: `X-Amzn-Mtls-Clientcert`
    /// (passthrough mode; in verify mode set the certificate header to
    /// `X-Amzn-Mtls-Clientcert-Leaf`).
    Alb,
}

impl ProxyHeaderFormat {
    /// Every format, in declaration order.
    pub const ALL: &'static [ProxyHeaderFormat] = &[
        Self::Nginx,
        Self::IngressNginx,
        Self::Haproxy,
        Self::Xfcc,
        Self::Rfc9440,
        Self::Alb,
    ];

    /// The name used on the command line: `nginx`, `ingress-nginx`,
    /// `haproxy`, `xfcc`, `rfc9440`, `alb`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Nginx => "nginx",
            Self::IngressNginx => "ingress-nginx",
            Self::Haproxy => "haproxy",
            Self::Xfcc => "xfcc",
            Self::Rfc9440 => "rfc9440",
            Self::Alb => "alb",
        }
    }

    /// The header carrying the certificate (or chain), by default.
    pub fn default_cert_header(self) -> HeaderName {
        HeaderName::from_static(match self {
            Self::Nginx | Self::Haproxy => "x-ssl-client-cert",
            Self::IngressNginx => "ssl-client-cert",
            Self::Xfcc => "x-forwarded-client-cert",
            Self::Rfc9440 => "client-cert",
            Self::Alb => "x-amzn-mtls-clientcert",
        })
    }

    /// The header carrying the intermediates, by default (RFC 9440's
    /// `Client-Cert-Chain`; the others carry the chain in one header).
    pub fn default_chain_header(self) -> Option<HeaderName> {
        matches!(self, Self::Rfc9440).then(|| HeaderName::from_static("client-cert-chain"))
    }

    /// The header carrying the proxy's verdict, by default.
    pub fn default_verify_header(self) -> Option<HeaderName> {
        match self {
            Self::Nginx | Self::Haproxy => Some(HeaderName::from_static("x-ssl-client-verify")),
            Self::IngressNginx => Some(HeaderName::from_static("ssl-client-verify")),
            Self::Xfcc | Self::Rfc9440 | Self::Alb => None,
        }
    }
}

impl fmt::Display for ProxyHeaderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`ProxyHeaderFormat`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown proxy header format {0:?} (expected nginx, ingress-nginx, haproxy, xfcc, rfc9440 or alb)"
)]
pub struct ParseProxyHeaderFormatError(String);

impl FromStr for ProxyHeaderFormat {
    type Err = ParseProxyHeaderFormatError;

    /// ```
    /// use mtls_status::proxy::ProxyHeaderFormat;
    /// assert_eq!("ingress-nginx".parse(), Ok(ProxyHeaderFormat::IngressNginx));
    /// assert!("apache".parse::<ProxyHeaderFormat>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|format| format.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseProxyHeaderFormatError(s.to_owned()))
    }
}

/// What the proxy said about the certificate, from its verify header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyVerdict {
    /// `SUCCESS` (nginx), `0` (HAProxy).
    Success,
    /// `NONE` (nginx): no certificate.
    NoCertificate,
    /// `FAILED:<OpenSSL string>` (nginx), a non-zero OpenSSL code (HAProxy).
    Failed(InvalidReason),
}

/// The certificate chain a trusted proxy forwarded, and its verdict if it
/// sent one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyClaim {
    chain: Vec<CertificateDer<'static>>,
    verdict: Option<ProxyVerdict>,
}

impl ProxyClaim {
    /// The forwarded chain, leaf first; never empty. Not verified.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The proxy's verdict, if its format has a verify header and it was
    /// sent.
    pub fn verdict(&self) -> Option<&ProxyVerdict> {
        self.verdict.as_ref()
    }
}

/// A forwarded header that cannot be read: the request is answered 400
/// ([`Answer::bad_proxy_header`](crate::Answer::bad_proxy_header)).
/// Messages name the header and the problem, never echo its value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyHeaderError {
    /// Longer than the configured bound.
    #[error("the {header} header is {len} bytes long, more than the {limit} accepted")]
    TooLarge {
        /// The header.
        header: HeaderName,
        /// Its length.
        len: usize,
        /// The bound.
        limit: usize,
    },
    /// Sent more than once where one value is expected.
    #[error("the {header} header is present more than once")]
    Duplicate {
        /// The header.
        header: HeaderName,
    },
    /// More certificates than the configured bound.
    #[error("the {header} header carries more than {limit} certificates")]
    ChainTooLong {
        /// The header.
        header: HeaderName,
        /// The bound.
        limit: usize,
    },
    /// Not in the configured format.
    #[error("the {header} header is not in {format} format: {why}")]
    Malformed {
        /// The header.
        header: HeaderName,
        /// The configured format.
        format: ProxyHeaderFormat,
        /// What is wrong.
        why: &'static str,
    },
}

impl ProxyHeaderError {
    /// A stable snake_case name, the `reason` of the 400 answer:
    /// `proxy_header_too_large`, `proxy_header_duplicate`,
    /// `proxy_chain_too_long` or `proxy_header_malformed`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "proxy_header_too_large",
            Self::Duplicate { .. } => "proxy_header_duplicate",
            Self::ChainTooLong { .. } => "proxy_chain_too_long",
            Self::Malformed { .. } => "proxy_header_malformed",
        }
    }
}

/// A [`TrustedProxyBuilder`] that cannot build.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustedProxyError {
    /// No trusted peer address was configured: no proxy could ever count.
    #[error("no trusted proxy address (CIDR) configured")]
    NoTrustedPeers,
    /// A bound of zero.
    #[error("{0} must be at least 1")]
    ZeroLimit(&'static str),
    /// A trusted peer that is neither a CIDR nor an IP address.
    #[error("{0:?} is not a CIDR (e.g. 10.0.0.0/8) or an IP address")]
    InvalidCidr(String),
}

/// Parses a trusted peer: a CIDR (`10.0.0.0/8`, `fd00::/8`) or a single
/// address (`127.0.0.1`, a /32 or /128).
///
/// ```
/// use mtls_status::proxy::parse_trusted_peer;
/// assert_eq!(parse_trusted_peer("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
/// assert_eq!(parse_trusted_peer("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
/// assert!(parse_trusted_peer("10.0.0.0/33").is_err());
/// ```
pub fn parse_trusted_peer(s: &str) -> Result<IpNet, TrustedProxyError> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| TrustedProxyError::InvalidCidr(s.to_owned()))
}

/// Which peers may forward a client certificate, and how they do; see the
/// [module docs](self). Cheap to clone.
#[derive(Clone, Debug)]
pub struct TrustedProxy {
    inner: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    peers: Vec<IpNet>,
    format: ProxyHeaderFormat,
    cert_header: HeaderName,
    chain_header: Option<HeaderName>,
    verify_header: Option<HeaderName>,
    trust_verdict: bool,
    max_header_bytes: usize,
    max_chain_len: usize,
    none: Arc<ClientAuthOutcome>,
}

/// Builds a [`TrustedProxy`].
#[derive(Clone, Debug)]
#[must_use]
pub struct TrustedProxyBuilder {
    config: Config,
}

impl TrustedProxy {
    /// Starts a configuration for proxies forwarding in `format`, with
    /// that format's default header names and no trusted peer yet.
    pub fn builder(format: ProxyHeaderFormat) -> TrustedProxyBuilder {
        TrustedProxyBuilder {
            config: Config {
                peers: Vec::new(),
                format,
                cert_header: format.default_cert_header(),
                chain_header: format.default_chain_header(),
                verify_header: format.default_verify_header(),
                trust_verdict: false,
                max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
                max_chain_len: DEFAULT_MAX_CHAIN_LEN,
                none: Arc::new(ClientAuthOutcome::None),
            },
        }
    }

    /// The format read.
    pub fn format(&self) -> ProxyHeaderFormat {
        self.inner.format
    }

    /// The trusted peer networks.
    pub fn trusted_peers(&self) -> &[IpNet] {
        &self.inner.peers
    }

    /// Whether the proxy's verdict is taken without re-classifying.
    pub fn trusts_proxy_verdict(&self) -> bool {
        self.inner.trust_verdict
    }

    /// Whether `peer` is in a trusted network (an IPv4-mapped IPv6 address
    /// counts as its IPv4 address).
    pub fn is_trusted_peer(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.inner.peers.iter().any(|net| net.contains(&peer))
    }

    /// Reads the forwarded certificate from `headers`, whoever sent them
    /// (pure; [`outcome`](Self::outcome) checks the peer first). `Ok(None)`
    /// when no certificate header is present (or it is empty).
    pub fn read(&self, headers: &HeaderMap) -> Result<Option<ProxyClaim>, ProxyHeaderError> {
        let config = &*self.inner;
        let Some(chain) = read_chain(config, headers)? else {
            return Ok(None);
        };
        let verdict = match &config.verify_header {
            Some(name) => read_verdict(config, name, headers)?,
            None => None,
        };
        Ok(Some(ProxyClaim { chain, verdict }))
    }

    /// The outcome of one request that arrived from `peer` (`None`: not
    /// known, which never counts as trusted). Strips every identity header
    /// from `headers` in all cases, after reading them from a trusted peer.
    ///
    /// - peer not trusted, or no certificate header: [`ClientAuthOutcome::None`];
    /// - a forwarded chain: `classify`'s verdict on it, or with
    ///   [`trust_proxy_verdict`](TrustedProxyBuilder::trust_proxy_verdict)
    ///   the proxy's;
    /// - a header that cannot be read: the error (answer it with
    ///   [`Answer::bad_proxy_header`](crate::Answer::bad_proxy_header)).
    pub fn outcome(
        &self,
        peer: Option<IpAddr>,
        headers: &mut HeaderMap,
        classify: &dyn ClassifyChain,
    ) -> Result<Arc<ClientAuthOutcome>, ProxyHeaderError> {
        let trusted = peer.is_some_and(|peer| self.is_trusted_peer(peer));
        let claim = if trusted {
            self.read(headers)
        } else {
            Ok(None)
        };
        strip_identity_headers(headers);
        let Some(claim) = claim? else {
            return Ok(Arc::clone(&self.inner.none));
        };
        if self.inner.trust_verdict {
            return self.proxy_outcome(claim);
        }
        let outcome = classify.classify_chain(&claim.chain);
        if let Some(verdict) = &claim.verdict {
            let agrees = match verdict {
                ProxyVerdict::Success => outcome.is_verified(),
                ProxyVerdict::NoCertificate => false,
                ProxyVerdict::Failed(_) => !outcome.is_verified(),
            };
            if !agrees {
                tracing::debug!(
                    proxy_verdict = ?verdict,
                    outcome = outcome.label(),
                    "the front proxy's verdict differs from this service's classification; \
                     this service's counts"
                );
            }
        }
        Ok(outcome)
    }

    /// The `x-forwarded-client-cert` a trusted Envoy sent, kept for
    /// [`XfccMode::AppendForward`](crate::forward::XfccMode::AppendForward)
    /// and [`XfccMode::ForwardOnly`](crate::forward::XfccMode::ForwardOnly):
    /// only when `peer` is trusted **and** the format is
    /// [`ProxyHeaderFormat::Xfcc`] (a proxy forwarding another format is not
    /// known to manage XFCC), within the header bound; several field lines
    /// joined with `,`. Call before [`outcome`](Self::outcome), which strips
    /// it.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy};
    ///
    /// let envoy = TrustedProxy::builder(ProxyHeaderFormat::Xfcc)
    ///     .trusted_peer("10.0.0.0/8".parse()?)
    ///     .build()?;
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-forwarded-client-cert", "Hash=ab;Subject=\"CN=c\"".parse()?);
    /// let kept = envoy.upstream_xfcc(Some("10.0.0.1".parse()?), &headers);
    /// assert_eq!(kept.unwrap().value(), "Hash=ab;Subject=\"CN=c\"");
    /// assert!(envoy.upstream_xfcc(Some("192.0.2.1".parse()?), &headers).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upstream_xfcc(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<UpstreamXfcc> {
        let config = &*self.inner;
        if config.format != ProxyHeaderFormat::Xfcc
            || !peer.is_some_and(|peer| self.is_trusted_peer(peer))
        {
            return None;
        }
        let values = values(config, &X_FORWARDED_CLIENT_CERT, headers).ok()?;
        if values.is_empty() {
            return None;
        }
        HeaderValue::from_str(&values.join(","))
            .ok()
            .map(UpstreamXfcc::new)
    }

    /// The proxy's own verdict (opt-in).
    fn proxy_outcome(&self, claim: ProxyClaim) -> Result<Arc<ClientAuthOutcome>, ProxyHeaderError> {
        let malformed = |why| ProxyHeaderError::Malformed {
            header: self.inner.cert_header.clone(),
            format: self.inner.format,
            why,
        };
        if claim.verdict.is_none()
            && let Some(verify) = &self.inner.verify_header
        {
            // The proxy sent its certificate but not its verdict: a
            // misconfigured proxy, not a verified client.
            return Err(ProxyHeaderError::Malformed {
                header: verify.clone(),
                format: self.inner.format,
                why: "missing; the proxy's verdict is trusted, so it must be sent",
            });
        }
        let outcome = match claim.verdict {
            Some(ProxyVerdict::NoCertificate) => return Ok(Arc::clone(&self.inner.none)),
            Some(ProxyVerdict::Failed(reason)) => {
                let presented = ClientIdentity::from_chain(claim.chain).ok();
                ClientAuthOutcome::Invalid(InvalidCertificate::new(reason, presented))
            }
            Some(ProxyVerdict::Success) | None => ClientAuthOutcome::Verified(
                ClientIdentity::from_chain(claim.chain)
                    .map_err(|_| malformed("the certificate cannot be parsed"))?,
            ),
        };
        Ok(Arc::new(outcome))
    }
}

impl TrustedProxyBuilder {
    /// Trusts peers in `net` (call once per network). Only requests whose
    /// TCP peer address is in one of them may carry a client certificate.
    pub fn trusted_peer(mut self, net: IpNet) -> Self {
        self.config.peers.push(net.trunc());
        self
    }

    /// The header carrying the certificate (default: the format's).
    pub fn cert_header(mut self, name: HeaderName) -> Self {
        self.config.cert_header = name;
        self
    }

    /// The header carrying the intermediates for [`ProxyHeaderFormat::Rfc9440`]
    /// (default `Client-Cert-Chain`).
    pub fn chain_header(mut self, name: HeaderName) -> Self {
        self.config.chain_header = Some(name);
        self
    }

    /// The header carrying the proxy's verdict, for the formats that have
    /// one (default: the format's).
    pub fn verify_header(mut self, name: HeaderName) -> Self {
        self.config.verify_header = Some(name);
        self
    }

    /// **Opt-in:** take the proxy's verdict as it is instead of classifying
    /// the forwarded chain against this service's trust store. The proxy's
    /// CA bundle, depth, CRLs and purpose checks then decide, and nothing
    /// here re-checks them. A format without a verify header (XFCC, RFC
    /// 9440, ALB) then counts every forwarded certificate as verified, so
    /// use this only when the proxy forwards verified certificates alone
    /// (e.g. nginx `ssl_verify_client on`, ALB in verify mode).
    pub fn trust_proxy_verdict(mut self) -> Self {
        self.config.trust_verdict = true;
        self
    }

    /// The longest certificate or chain header accepted (default
    /// [`DEFAULT_MAX_HEADER_BYTES`]).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.config.max_header_bytes = bytes;
        self
    }

    /// The most certificates read from one request, leaf included (default
    /// [`DEFAULT_MAX_CHAIN_LEN`]).
    pub fn max_chain_len(mut self, certificates: usize) -> Self {
        self.config.max_chain_len = certificates;
        self
    }

    /// The configuration; an error without a trusted peer or with a zero
    /// bound.
    pub fn build(mut self) -> Result<TrustedProxy, TrustedProxyError> {
        let config = &mut self.config;
        if config.peers.is_empty() {
            return Err(TrustedProxyError::NoTrustedPeers);
        }
        if config.max_header_bytes == 0 {
            return Err(TrustedProxyError::ZeroLimit("max_header_bytes"));
        }
        if config.max_chain_len == 0 {
            return Err(TrustedProxyError::ZeroLimit("max_chain_len"));
        }
        if config.format.default_verify_header().is_none() {
            config.verify_header = None;
        }
        if config.format.default_chain_header().is_none() {
            config.chain_header = None;
        }
        Ok(TrustedProxy {
            inner: Arc::new(self.config),
        })
    }
}

/// The values of `name` as visible-ASCII strings, each within the bound;
/// empty ones dropped.
fn values<'h>(
    config: &Config,
    name: &HeaderName,
    headers: &'h HeaderMap,
) -> Result<Vec<&'h str>, ProxyHeaderError> {
    let mut total = 0usize;
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        total = total.saturating_add(value.len());
        if total > config.max_header_bytes {
            return Err(ProxyHeaderError::TooLarge {
                header: name.clone(),
                len: total,
                limit: config.max_header_bytes,
            });
        }
        let text = visible(value).ok_or_else(|| ProxyHeaderError::Malformed {
            header: name.clone(),
            format: config.format,
            why: "the value is not visible ASCII",
        })?;
        let text = text.trim_matches([' ', '\t']);
        if !text.is_empty() {
            out.push(text);
        }
    }
    Ok(out)
}

fn visible(value: &HeaderValue) -> Option<&str> {
    value.to_str().ok()
}

/// One value at most: the single-valued formats.
fn single<'h>(
    config: &Config,
    name: &HeaderName,
    headers: &'h HeaderMap,
) -> Result<Option<&'h str>, ProxyHeaderError> {
    let mut values = values(config, name, headers)?;
    if values.len() > 1 {
        return Err(ProxyHeaderError::Duplicate {
            header: name.clone(),
        });
    }
    Ok(values.pop())
}

fn read_chain(
    config: &Config,
    headers: &HeaderMap,
) -> Result<Option<Vec<CertificateDer<'static>>>, ProxyHeaderError> {
    let name = &config.cert_header;
    let malformed = |why| ProxyHeaderError::Malformed {
        header: name.clone(),
        format: config.format,
        why,
    };
    let chain = match config.format {
        ProxyHeaderFormat::Nginx | ProxyHeaderFormat::IngressNginx | ProxyHeaderFormat::Alb => {
            let Some(value) = single(config, name, headers)? else {
                return Ok(None);
            };
            escaped_pem_chain(value, config.max_chain_len).map_err(malformed)?
        }
        ProxyHeaderFormat::Haproxy => {
            let Some(value) = single(config, name, headers)? else {
                return Ok(None);
            };
            vec![CertificateDer::from(
                STANDARD
                    .decode(value)
                    .map_err(|_| malformed("not base64 DER"))?,
            )]
        }
        ProxyHeaderFormat::Xfcc => {
            let values = values(config, name, headers)?;
            if values.is_empty() {
                return Ok(None);
            }
            // Several field lines are one comma-separated list (RFC 9110 §5.3).
            xfcc_chain(&values.join(","), config.max_chain_len).map_err(malformed)?
        }
        ProxyHeaderFormat::Rfc9440 => {
            let Some(value) = single(config, name, headers)? else {
                return Ok(None);
            };
            let leaf = sf_binary(value).map_err(malformed)?;
            let mut chain = vec![CertificateDer::from(leaf)];
            if let Some(chain_name) = &config.chain_header {
                let values = values(config, chain_name, headers)?;
                let joined = values.join(",");
                let rest = sf_binary_list(&joined, config.max_chain_len).map_err(|why| {
                    ProxyHeaderError::Malformed {
                        header: chain_name.clone(),
                        format: config.format,
                        why,
                    }
                })?;
                chain.extend(rest.into_iter().map(CertificateDer::from));
            }
            chain
        }
    };
    if chain.is_empty() {
        return Err(malformed("no certificate"));
    }
    if chain.iter().any(|cert| cert.is_empty()) {
        return Err(malformed("an empty certificate"));
    }
    if chain.len() > config.max_chain_len {
        return Err(ProxyHeaderError::ChainTooLong {
            header: name.clone(),
            limit: config.max_chain_len,
        });
    }
    Ok(Some(chain))
}

fn read_verdict(
    config: &Config,
    name: &HeaderName,
    headers: &HeaderMap,
) -> Result<Option<ProxyVerdict>, ProxyHeaderError> {
    let Some(value) = single(config, name, headers)? else {
        return Ok(None);
    };
    let verdict = match config.format {
        ProxyHeaderFormat::Haproxy => haproxy_verdict(value),
        _ => nginx_verdict(value),
    };
    match verdict {
        Some(verdict) => Ok(Some(verdict)),
        // Only a hint unless the proxy's verdict is trusted.
        None if !config.trust_verdict => Ok(None),
        None => Err(ProxyHeaderError::Malformed {
            header: name.clone(),
            format: config.format,
            why: "not a verify result (SUCCESS, NONE, FAILED:<reason> or an OpenSSL code)",
        }),
    }
}

/// nginx's `$ssl_client_verify`: `SUCCESS`, `NONE`, `FAILED:<string>`.
fn nginx_verdict(value: &str) -> Option<ProxyVerdict> {
    match value {
        "SUCCESS" => Some(ProxyVerdict::Success),
        "NONE" => Some(ProxyVerdict::NoCertificate),
        _ => {
            let text = value.strip_prefix("FAILED:")?;
            let kind = ReasonKind::ALL
                .iter()
                .copied()
                .find(|kind| kind.openssl_code() != 0 && kind.openssl_str() == text);
            Some(ProxyVerdict::Failed(proxy_reason(kind, text)))
        }
    }
}

/// HAProxy's `ssl_c_verify`: 0, or the OpenSSL `X509_V_ERR_*` code.
fn haproxy_verdict(value: &str) -> Option<ProxyVerdict> {
    if value.is_empty() || value.len() > 5 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let code: u16 = value.parse().ok()?;
    if code == 0 {
        return Some(ProxyVerdict::Success);
    }
    let kind = ReasonKind::ALL
        .iter()
        .copied()
        .find(|kind| kind.openssl_code() == code);
    Some(ProxyVerdict::Failed(proxy_reason(
        kind,
        &format!("OpenSSL verify code {code}"),
    )))
}

fn proxy_reason(kind: Option<ReasonKind>, text: &str) -> InvalidReason {
    match kind {
        Some(kind) => InvalidReason::new(kind).with_message("as reported by the front proxy"),
        None => InvalidReason::new(ReasonKind::Other).with_message(format!(
            "the front proxy reported: {}",
            text.chars().take(120).collect::<String>()
        )),
    }
}

/// Percent-decoding without `+` → space (`$ssl_client_escaped_cert`, ALB).
fn percent_decode(value: &str) -> Result<Vec<u8>, &'static str> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or("a truncated %-escape")?;
            let hi = hex_value(hex[0]).ok_or("an invalid %-escape")?;
            let lo = hex_value(hex[1]).ok_or("an invalid %-escape")?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// URL-encoded PEM: one or more `CERTIFICATE` blocks, leaf first.
fn escaped_pem_chain(
    value: &str,
    max: usize,
) -> Result<Vec<CertificateDer<'static>>, &'static str> {
    pem_chain(&percent_decode(value)?, max)
}

fn pem_chain(pem: &[u8], max: usize) -> Result<Vec<CertificateDer<'static>>, &'static str> {
    let mut chain = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|_| "not a PEM certificate")?;
        chain.push(cert);
        if chain.len() > max {
            // The caller reports the bound; stop reading here.
            break;
        }
    }
    if chain.is_empty() {
        return Err("no PEM certificate");
    }
    Ok(chain)
}

/// base64 for structured fields: padding optional (RFC 8941 §4.2.7).
const SF_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An RFC 8941 byte sequence `:base64:`, surrounding spaces allowed;
/// parameters are not.
fn sf_binary(item: &str) -> Result<Vec<u8>, &'static str> {
    let item = item.trim_matches([' ', '\t']);
    let inner = item
        .strip_prefix(':')
        .and_then(|rest| rest.strip_suffix(':'))
        .ok_or("not a byte sequence (:base64:)")?;
    if inner.contains(':') {
        return Err("not a single byte sequence");
    }
    SF_BASE64
        .decode(inner)
        .map_err(|_| "the byte sequence is not base64")
}

/// An RFC 8941 list of byte sequences (`Client-Cert-Chain`); empty is no
/// intermediates.
fn sf_binary_list(value: &str, max: usize) -> Result<Vec<Vec<u8>>, &'static str> {
    if value.trim_matches([' ', '\t']).is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for item in value.split(',') {
        if out.len() >= max {
            return Err("more certificates than accepted");
        }
        out.push(sf_binary(item)?);
    }
    Ok(out)
}

/// The chain of the **last** XFCC element (the one the nearest proxy, the
/// trusted peer, appended): `Chain=` if present, else `Cert=`.
fn xfcc_chain(value: &str, max: usize) -> Result<Vec<CertificateDer<'static>>, &'static str> {
    let elements = xfcc_parse(value)?;
    let last = elements.last().ok_or("no element")?;
    let find = |key: &str| {
        last.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    let cert = find("Cert")
        .map(|v| escaped_pem_chain(v, max))
        .transpose()?;
    let chain = find("Chain")
        .map(|v| escaped_pem_chain(v, max))
        .transpose()?;
    match (cert, chain) {
        (Some(cert), Some(chain)) => {
            if cert.len() != 1 || chain.first() != cert.first() {
                return Err("Cert= is not the first certificate of Chain=");
            }
            Ok(chain)
        }
        (None, Some(chain)) => Ok(chain),
        (Some(cert), None) if cert.len() == 1 => Ok(cert),
        (Some(_), None) => Err("Cert= holds more than one certificate"),
        (None, None) => Err("the last element has no Cert= or Chain= (forward the certificate)"),
    }
}

/// XFCC: elements separated by `,`, key=value pairs by `;`; a value may
/// be a quoted string where `\` escapes the next character (Envoy quotes
/// values containing `,` `;` `=` `"`, and always `Subject`, `Cert`,
/// `Chain`).
fn xfcc_parse(value: &str) -> Result<Vec<Vec<(String, String)>>, &'static str> {
    let mut elements = Vec::new();
    let mut element = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        // key
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ';' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let key = key.trim_matches([' ', '\t']).to_owned();
        if chars.next() != Some('=') || key.is_empty() {
            return Err("a pair without key=value");
        }
        // value
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut val = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    None => return Err("an unterminated quoted value"),
                    Some('"') => break,
                    Some('\\') => val.push(chars.next().ok_or("an unterminated quoted value")?),
                    Some(c) => val.push(c),
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        } else {
            while let Some(&c) = chars.peek() {
                if c == ';' || c == ',' {
                    break;
                }
                if c == '"' || c == '=' {
                    return Err("a quote or = inside an unquoted value");
                }
                val.push(c);
                chars.next();
            }
            val = val.trim_matches([' ', '\t']).to_owned();
        }
        element.push((key, val));
        match chars.next() {
            None => {
                elements.push(element);
                return Ok(elements);
            }
            Some(';') => {}
            Some(',') => elements.push(std::mem::take(&mut element)),
            Some(_) => return Err("text after a quoted value"),
        }
    }
}

#[cfg(test)]
mod tests;
