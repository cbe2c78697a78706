//! Lints on a trust configuration: what an operator should hear about a CA
//! bundle, its CRLs and the verify settings before the server starts.
//!
//! [`lint_trust_config`] looks at the CA bundle (the certificates that
//! `ssl_client_certificate` would hold), the CRLs (`ssl_crl`) and the
//! [`LintSettings`] (mode, verify depth, the current time) and returns one
//! [`Lint`] per problem, errors first. Every lint has a stable
//! [`LintKind`] name, a [`Severity`], the subject of the certificate concerned
//! when there is one, and a message saying what is wrong, what clients will
//! see, and how to fix it. A server (or `mtls lint`) refuses to start, or
//! exits non-zero, when [`has_errors`] is true.
//!
//! The lints follow nginx with OpenSSL 1.1+: the verify depth counts
//! intermediates only, a chain must end in a self-signed root present in the
//! bundle, and once CRLs are configured every CA in a chain needs one.
//!
//! ```
//! use std::time::Duration;
//!
//! use mtls_status::VerifyMode;
//! use mtls_status::lint::{LintKind, LintSettings, Severity, has_errors, lint_trust_config};
//! use rustls_pki_types::UnixTime;
//!
//! let now = UnixTime::since_unix_epoch(Duration::from_secs(1_750_000_000));
//! let settings = LintSettings::new(now).with_mode(VerifyMode::Optional);
//!
//! let lints = lint_trust_config(&[], &[], &settings);
//! assert!(has_errors(&lints));
//! assert_eq!(lints[0].kind(), LintKind::EmptyBundle);
//! assert_eq!(lints[0].severity(), Severity::Error);
//! assert_eq!(lints[1].kind(), LintKind::OptionalMode);
//! assert_eq!(lints[1].severity(), Severity::Info);
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::der::{Certificate, Crl};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};

/// A Name as its DER content (compared byte for byte, as rustls-webpki
/// compares names).
type Name = Vec<u8>;

use crate::identity::{self, ClientIdentity};
use crate::mode::VerifyMode;

/// How serious a [`Lint`] is.
///
/// ```
/// use mtls_status::lint::Severity;
///
/// assert_eq!(Severity::Error.name(), "error");
/// assert!(Severity::Error.is_error());
/// assert!(!Severity::Warning.is_error());
/// assert_eq!(Severity::Info.to_string(), "info");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Clients will be rejected that the operator surely meant to accept
    /// (or the configuration cannot be used at all): fix before starting.
    Error,
    /// Probably not what was meant, or about to break.
    Warning,
    /// Worth knowing; often deliberate.
    Info,
}

impl Severity {
    /// The lowercase name: `error`, `warning` or `info`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }

    /// Whether this is [`Error`](Self::Error).
    pub const fn is_error(self) -> bool {
        matches!(self, Self::Error)
    }

    /// Sort key: errors first.
    const fn rank(self) -> u8 {
        match self {
            Self::Error => 0,
            Self::Warning => 1,
            Self::Info => 2,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Declares [`LintKind`]: one entry per lint with its stable name. Adding a
/// lint is one entry here.
macro_rules! define_lint_kinds {
    (
        $(#[$meta:meta])*
        pub enum LintKind {
            $(
                $(#[doc = $doc:literal])*
                $variant:ident { name: $name:literal }
            )*
        }
    ) => {
        $(#[$meta])*
        pub enum LintKind {
            $(
                $(#[doc = $doc])*
                $variant,
            )*
        }

        impl LintKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [LintKind] = &[$(Self::$variant),*];

            /// The stable snake_case name, e.g. `"ca_expiring_soon"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

define_lint_kinds! {
    /// What a [`Lint`] is about, with a stable snake_case [`name`](Self::name)
    /// (for CLI output, logs and metrics labels).
    ///
    /// ```
    /// use mtls_status::lint::LintKind;
    ///
    /// assert_eq!(LintKind::LeafInBundle.name(), "leaf_in_bundle");
    /// assert_eq!(LintKind::from_name("crl_expired"), Some(LintKind::CrlExpired));
    /// assert_eq!(LintKind::from_name("nope"), None);
    /// assert!(LintKind::ALL.iter().all(|k| LintKind::from_name(k.name()) == Some(*k)));
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum LintKind {
        /// The CA bundle holds no CA certificate while the mode requests one,
        /// so no client certificate can ever verify.
        EmptyBundle { name: "empty_bundle" }
        /// A certificate in the CA bundle is not a CA certificate
        /// (basicConstraints `cA` false or absent).
        LeafInBundle { name: "leaf_in_bundle" }
        /// A CA certificate in the bundle has expired.
        CaExpired { name: "ca_expired" }
        /// A CA certificate in the bundle expires within the warning window.
        CaExpiringSoon { name: "ca_expiring_soon" }
        /// A CA certificate in the bundle is not valid yet.
        CaNotYetValid { name: "ca_not_yet_valid" }
        /// A CA certificate's notBefore or notAfter is not in RFC 5280's
        /// exact form (a zone offset, no seconds): OpenSSL, and so nginx,
        /// cannot compare it and rejects every chain through it (13, 14).
        CaTimeFormat { name: "ca_time_format" }
        /// A CRL is past its nextUpdate.
        CrlExpired { name: "crl_expired" }
        /// A CRL's thisUpdate is in the future.
        CrlNotYetValid { name: "crl_not_yet_valid" }
        /// CRLs are configured but a CA in the bundle has none.
        CrlMissingForCa { name: "crl_missing_for_ca" }
        /// A CRL's issuer is not a CA in the bundle: it can only apply to
        /// intermediates that clients send.
        CrlIssuerUnknown { name: "crl_issuer_unknown" }
        /// Client certificates issued by an intermediate in the bundle need a
        /// larger verify depth than configured.
        DepthBelowBundleChain { name: "depth_below_bundle_chain" }
        /// A CA certificate in the bundle does not lead to a self-signed root in
        /// the bundle.
        IntermediateWithoutRoot { name: "intermediate_without_root" }
        /// The mode is `optional`: clients without a certificate pass.
        OptionalMode { name: "optional_mode" }
        /// The mode is `off`: no client certificate is requested.
        OffMode { name: "off_mode" }
        /// The mode is `optional_no_ca`: certificates from untrusted issuers
        /// pass to the handler.
        OptionalNoCaMode { name: "optional_no_ca_mode" }
        /// A certificate in the CA bundle cannot be parsed.
        UnparseableCertificate { name: "unparseable_certificate" }
        /// A CRL cannot be parsed.
        UnparseableCrl { name: "unparseable_crl" }
        /// A server configured with a client CA bundle does not enforce
        /// client certificates (`ssl_verify_client` off, optional or
        /// optional_no_ca): it looks protected but lets clients through.
        VerifyClientNotEnforced { name: "verify_client_not_enforced" }
        /// `ssl_verify_client optional` or `optional_no_ca`, and nothing
        /// reads `$ssl_client_verify`: clients without a valid certificate
        /// reach the application unchecked.
        SslClientVerifyUnchecked { name: "ssl_client_verify_unchecked" }
        /// `ssl_verify_client on` or `optional` without a CA bundle
        /// (`ssl_client_certificate`): nginx refuses the configuration.
        MissingCaBundle { name: "missing_ca_bundle" }
        /// The CA bundle's subjects take more than
        /// [`MAX_ADVERTISED_CA_NAMES_BYTES`](crate::ca_names::MAX_ADVERTISED_CA_NAMES_BYTES)
        /// in the CertificateRequest: clients would refuse it, so
        /// mtls-status advertises no CA names (nginx sends them all and its
        /// handshakes fail).
        CaNamesTooLarge { name: "ca_names_too_large" }
        /// A file the configuration names (CA bundle, trusted CAs, CRLs)
        /// cannot be read or holds nothing of the expected kind.
        UnreadableFile { name: "unreadable_file" }
        /// `ssl_ocsp` together with `ssl_verify_client optional_no_ca`,
        /// which nginx refuses.
        OcspWithOptionalNoCa { name: "ocsp_with_optional_no_ca" }
        /// An ingress-nginx annotation (`nginx.ingress.kubernetes.io/auth-tls-*`)
        /// with a value ingress-nginx does not accept: it silently uses its
        /// default instead, or denies the Ingress's paths.
        InvalidAnnotation { name: "invalid_annotation" }
        /// Two Kubernetes Ingresses for the same host ask for different
        /// client-certificate settings: ingress-nginx applies one of them
        /// (the oldest Ingress's) to the whole host.
        HostSettingsConflict { name: "host_settings_conflict" }
    }
}

impl LintKind {
    /// Looks a kind up by its stable [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl fmt::Display for LintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding about a trust configuration.
///
/// Displays as `severity[kind]: subject: message`, or `severity[kind]:
/// message` when no certificate is concerned.
///
/// ```
/// use mtls_status::lint::{Lint, LintKind, Severity};
///
/// let lint = Lint::new(LintKind::LeafInBundle, Severity::Error, "not a CA certificate")
///     .with_subject("CN=client");
/// assert_eq!(lint.kind(), LintKind::LeafInBundle);
/// assert_eq!(lint.subject(), Some("CN=client"));
/// assert_eq!(lint.to_string(), "error[leaf_in_bundle]: CN=client: not a CA certificate");
///
/// let lint = Lint::new(LintKind::OffMode, Severity::Warning, "no client certificate is requested");
/// assert_eq!(lint.to_string(), "warning[off_mode]: no client certificate is requested");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lint {
    kind: LintKind,
    severity: Severity,
    subject: Option<String>,
    message: String,
}

impl Lint {
    /// A lint without a subject (callers such as a file loader can report
    /// their own findings in the same form).
    pub fn new(kind: LintKind, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            kind,
            severity,
            subject: None,
            message: message.into(),
        }
    }

    /// Names the certificate (or CRL issuer) concerned, as an RFC 2253 DN.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// What the lint is about.
    pub fn kind(&self) -> LintKind {
        self.kind
    }

    /// How serious it is.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The RFC 2253 subject of the certificate concerned (for CRL lints, the
    /// CRL's issuer), if any.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// What is wrong, what clients will see, and how to fix it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]: ", self.severity, self.kind)?;
        if let Some(subject) = &self.subject {
            write!(f, "{subject}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Whether any lint is an [`Error`](Severity::Error).
///
/// ```
/// use mtls_status::lint::{Lint, LintKind, Severity, has_errors};
///
/// let info = Lint::new(LintKind::OptionalMode, Severity::Info, "optional");
/// assert!(!has_errors(&[info.clone()]));
/// let error = Lint::new(LintKind::EmptyBundle, Severity::Error, "empty");
/// assert!(has_errors(&[info, error]));
/// assert!(!has_errors(&[]));
/// ```
pub fn has_errors(lints: &[Lint]) -> bool {
    lints.iter().any(|l| l.severity.is_error())
}

/// The settings the trust configuration is used with.
///
/// Defaults follow nginx: mode [`On`](VerifyMode::On), verify depth 1 (one
/// intermediate), and a warning 30 days before a CA expires. The current time
/// is explicit so that lints are reproducible.
///
/// ```
/// use std::time::Duration;
///
/// use mtls_status::VerifyMode;
/// use mtls_status::lint::LintSettings;
/// use rustls_pki_types::UnixTime;
///
/// let now = UnixTime::since_unix_epoch(Duration::from_secs(1_750_000_000));
/// let settings = LintSettings::new(now);
/// assert_eq!(settings.mode(), VerifyMode::On);
/// assert_eq!(settings.verify_depth(), 1);
/// assert_eq!(settings.expiry_warning(), Duration::from_secs(30 * 86_400));
///
/// let settings = settings
///     .with_mode(VerifyMode::Optional)
///     .with_verify_depth(2)
///     .with_expiry_warning(Duration::from_secs(7 * 86_400));
/// assert_eq!(settings.mode(), VerifyMode::Optional);
/// assert_eq!(settings.verify_depth(), 2);
/// assert_eq!(settings.now(), now);
/// ```
#[derive(Clone, Debug)]
pub struct LintSettings {
    mode: VerifyMode,
    verify_depth: usize,
    expiry_warning: Duration,
    now: UnixTime,
}

impl LintSettings {
    /// The default warning window before a CA certificate expires: 30 days.
    pub const DEFAULT_EXPIRY_WARNING: Duration = Duration::from_secs(30 * DAY);

    /// nginx's defaults (mode `on`, depth 1, 30 days' warning) at time `now`.
    pub fn new(now: UnixTime) -> Self {
        Self {
            mode: VerifyMode::On,
            verify_depth: 1,
            expiry_warning: Self::DEFAULT_EXPIRY_WARNING,
            now,
        }
    }

    /// The `ssl_verify_client` mode the bundle is used with.
    pub fn with_mode(mut self, mode: VerifyMode) -> Self {
        self.mode = mode;
        self
    }

    /// The maximum number of intermediates between a client certificate and
    /// a root (nginx's `ssl_verify_depth`, default 1).
    pub fn with_verify_depth(mut self, depth: usize) -> Self {
        self.verify_depth = depth;
        self
    }

    /// How long before a CA certificate expires to warn about it
    /// (default 30 days; zero disables the warning).
    pub fn with_expiry_warning(mut self, window: Duration) -> Self {
        self.expiry_warning = window;
        self
    }

    /// The mode.
    pub fn mode(&self) -> VerifyMode {
        self.mode
    }

    /// The verify depth.
    pub fn verify_depth(&self) -> usize {
        self.verify_depth
    }

    /// The expiry warning window.
    pub fn expiry_warning(&self) -> Duration {
        self.expiry_warning
    }

    /// The time the lints are computed for.
    pub fn now(&self) -> UnixTime {
        self.now
    }
}

/// Lints a CA bundle and its CRLs for the given settings.
///
/// Returns every finding, errors first, then warnings, then information;
/// within a severity, in the order of the mode, the bundle's certificates and
/// the CRLs. Never panics, whatever the input: a certificate or CRL that
/// cannot be parsed is itself a lint.
///
/// What is checked:
///
/// - the mode: `optional` (info), `off` and `optional_no_ca` (warnings);
///   an `on` or `optional` mode with no CA certificate is an error;
/// - each certificate: unparseable (error), not a CA (error; a version 1
///   self-signed certificate counts as a CA, as in OpenSSL), expired (error),
///   expiring within the warning window (warning, with whole days left), not
///   yet valid (warning);
/// - the chains within the bundle (issuer matched to subject, and the
///   authority key identifier to the subject key identifier when both are
///   present): every CA must lead to a self-signed root in the bundle
///   (error), and a client certificate issued by an intermediate `k` levels
///   below its root needs verify depth `k` (error if the depth is smaller);
/// - each CRL: unparseable (error), past nextUpdate (error), thisUpdate in
///   the future (error), issuer not a CA in the bundle (warning); and when
///   any CRL is given, each CA of the bundle without a CRL (error).
///
/// ```
/// use std::time::Duration;
///
/// use mtls_status::lint::{LintKind, LintSettings, Severity, lint_trust_config};
/// use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
///
/// let now = UnixTime::since_unix_epoch(Duration::from_secs(1_750_000_000));
/// let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01]);
/// let crl = CertificateRevocationListDer::from(vec![0xff; 4]);
///
/// let lints = lint_trust_config(&[garbage], &[crl], &LintSettings::new(now));
/// let kinds: Vec<LintKind> = lints.iter().map(|l| l.kind()).collect();
/// assert!(kinds.contains(&LintKind::UnparseableCertificate));
/// assert!(kinds.contains(&LintKind::UnparseableCrl));
/// assert!(kinds.contains(&LintKind::EmptyBundle));
/// assert!(lints.iter().all(|l| l.severity() == Severity::Error));
/// ```
pub fn lint_trust_config(
    ca_bundle: &[CertificateDer<'_>],
    crls: &[CertificateRevocationListDer<'_>],
    settings: &LintSettings,
) -> Vec<Lint> {
    let mut lints = Vec::new();
    mode_lints(settings, &mut lints);

    let mut certs = Vec::with_capacity(ca_bundle.len());
    let mut seen = HashSet::with_capacity(ca_bundle.len());
    for (index, der) in ca_bundle.iter().enumerate() {
        // A certificate listed twice is harmless: look at it once.
        if !seen.insert(der.as_ref()) {
            continue;
        }
        match BundleCert::parse(der) {
            Ok(cert) => certs.push(cert),
            Err(error) => lints.push(Lint::new(
                LintKind::UnparseableCertificate,
                Severity::Error,
                format!(
                    "certificate #{} in the CA bundle cannot be parsed ({error}); the bundle would be \
                     refused: remove it or replace it with a PEM or DER X.509 CA certificate",
                    index + 1
                ),
            )),
        }
    }

    let has_ca = certs.iter().any(|c| c.is_ca);
    if !has_ca && matches!(settings.mode, VerifyMode::On | VerifyMode::Optional) {
        let what = if ca_bundle.is_empty() {
            "the CA bundle is empty".to_owned()
        } else {
            format!(
                "the CA bundle holds no usable CA certificate (none of its {} entries is a \
                 parseable CA certificate)",
                ca_bundle.len()
            )
        };
        lints.push(Lint::new(
            LintKind::EmptyBundle,
            Severity::Error,
            format!(
                "{what}, so no client certificate can verify (mode {}): add the CA certificates \
                 that issue your client certificates",
                settings.mode
            ),
        ));
    }

    for cert in &certs {
        cert_lints(cert, settings, &mut lints);
    }

    ca_names_lint(&certs, &mut lints);
    let graph = Graph::new(&certs);
    chain_lints(&certs, &graph, settings, &mut lints);
    crl_lints(&certs, crls, settings, &mut lints);

    lints.sort_by_key(|l| l.severity.rank());
    lints
}

const DAY: u64 = 86_400;

fn mode_lints(settings: &LintSettings, lints: &mut Vec<Lint>) {
    match settings.mode {
        VerifyMode::Optional => lints.push(Lint::new(
            LintKind::OptionalMode,
            Severity::Info,
            "mode optional: clients without a certificate are let through (the handler sees no \
             client identity); use `on` if a certificate is required",
        )),
        VerifyMode::Off => lints.push(Lint::new(
            LintKind::OffMode,
            Severity::Warning,
            "mode off: no client certificate is requested, so no client is authenticated; use `on` \
             if a certificate is required",
        )),
        VerifyMode::OptionalNoCa => lints.push(Lint::new(
            LintKind::OptionalNoCaMode,
            Severity::Warning,
            "mode optional_no_ca: certificates from untrusted or unknown issuers (and self-signed \
             ones) pass to the handler unverified, which must then authorize them itself (e.g. by \
             fingerprint); use `on` (or `optional`) if clients must hold a certificate from the \
             bundle's CAs",
        )),
        _ => {}
    }
}

/// One parsed certificate of the bundle.
struct BundleCert {
    subject: Name,
    issuer: Name,
    subject_dn: String,
    issuer_dn: String,
    not_before: UnixTime,
    not_after: UnixTime,
    /// Whether each time is in RFC 5280's exact form, the only one
    /// OpenSSL's `X509_cmp_time` compares.
    not_before_rfc5280: bool,
    not_after_rfc5280: bool,
    /// notBefore and notAfter as `$ssl_client_v_start` / `_v_end` print
    /// them (exact also before 1970, where the `UnixTime`s clamp).
    v_start: String,
    v_end: String,
    is_ca: bool,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
}

impl BundleCert {
    fn parse(der: &CertificateDer<'_>) -> Result<Self, String> {
        let cert = Certificate::parse(der.as_ref()).map_err(|e| format!("not X.509 DER: {e}"))?;
        let identity =
            ClientIdentity::from_der(der.clone().into_owned()).map_err(|e| e.to_string())?;
        // OpenSSL (X509_check_ca) and webpki both accept a version 1
        // self-signed certificate as a trust anchor.
        let v1 = cert.version.is_none_or(|v| v == [0]);
        let is_ca = match cert.basic_constraints() {
            Some((ca, _)) => ca,
            None => v1 && cert.is_self_issued(),
        };
        let subject_key_id = cert.subject_key_id().map(<[u8]>::to_vec);
        let authority_key_id = cert.authority_key_id().map(<[u8]>::to_vec);

        Ok(Self {
            subject: cert.subject.to_vec(),
            issuer: cert.issuer.to_vec(),
            subject_dn: identity.subject_dn().to_string(),
            issuer_dn: identity.issuer_dn().to_string(),
            not_before: identity.not_before(),
            not_after: identity.not_after(),
            not_before_rfc5280: cert.not_before().is_rfc5280(),
            not_after_rfc5280: cert.not_after().is_rfc5280(),
            v_start: identity.v_start(),
            v_end: identity.v_end(),
            is_ca,
            subject_key_id,
            authority_key_id,
        })
    }

    /// Whether `issuer` may have issued `self`: names match, and key
    /// identifiers too when both are present.
    fn issued_by(&self, issuer: &BundleCert) -> bool {
        self.issuer == issuer.subject
            && key_ids_match(
                self.authority_key_id.as_deref(),
                issuer.subject_key_id.as_deref(),
            )
    }

    fn is_self_signed_root(&self) -> bool {
        self.is_ca && self.issued_by(self)
    }
}

fn key_ids_match(authority: Option<&[u8]>, subject: Option<&[u8]>) -> bool {
    match (authority, subject) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

fn cert_lints(cert: &BundleCert, settings: &LintSettings, lints: &mut Vec<Lint>) {
    let now = settings.now.as_secs();
    if !cert.is_ca {
        lints.push(
            Lint::new(
                LintKind::LeafInBundle,
                Severity::Error,
                "not a CA certificate (basicConstraints cA is false or absent): it cannot issue \
                 client certificates (and in the CA bundle it is even advertised to clients as an \
                 accepted CA); remove it from the CA bundle or trusted certificates (to accept \
                 exactly this client, trust its issuing CA and authorize the client by subject or \
                 fingerprint)",
            )
            .with_subject(&cert.subject_dn),
        );
        return;
    }

    let not_after = cert.not_after.as_secs();
    let not_before = cert.not_before.as_secs();
    let format_lint = |field: &str, printed: &str, code: u8| {
        Lint::new(
            LintKind::CaTimeFormat,
            Severity::Error,
            format!(
                "CA certificate's {field} ({printed}) is not encoded as RFC 5280 requires \
                 (YYMMDDHHMMSSZ, or YYYYMMDDHHMMSSZ from 2050): OpenSSL, and so nginx, cannot \
                 compare it and rejects every client certificate through this CA with \
                 \"format error in certificate's {field} field\" ({code}); reissue the CA \
                 certificate with UTC times that include seconds"
            ),
        )
        .with_subject(&cert.subject_dn)
    };
    // A time OpenSSL cannot compare is that error only: it is never
    // judged expired or not yet valid.
    if !cert.not_after_rfc5280 {
        lints.push(format_lint("notAfter", &cert.v_end, 14));
    } else if now >= not_after {
        // As OpenSSL's X509_cmp_time: expired from the notAfter second on.
        lints.push(
            Lint::new(
                LintKind::CaExpired,
                Severity::Error,
                format!(
                    "CA certificate expired on {} ({}): every client certificate it issued is \
                     rejected with \"certificate has expired\"; replace it with its renewed \
                     certificate",
                    cert.v_end,
                    days_ago(now - not_after),
                ),
            )
            .with_subject(&cert.subject_dn),
        );
    } else if not_after - now <= settings.expiry_warning.as_secs() {
        lints.push(
            Lint::new(
                LintKind::CaExpiringSoon,
                Severity::Warning,
                format!(
                    "CA certificate expires {}, on {}: from then on every client certificate it \
                     issued is rejected; add its renewed certificate to the bundle now (old and \
                     new can be listed together)",
                    in_days(not_after - now),
                    cert.v_end,
                ),
            )
            .with_subject(&cert.subject_dn),
        );
    }

    if !cert.not_before_rfc5280 {
        lints.push(format_lint("notBefore", &cert.v_start, 13));
    } else if now < not_before {
        lints.push(
            Lint::new(
                LintKind::CaNotYetValid,
                Severity::Warning,
                format!(
                    "CA certificate is not valid until {} ({}): until then every client \
                     certificate it issued is rejected with \"certificate is not yet valid\"; check \
                     the server's clock, or keep the previous CA certificate in the bundle meanwhile",
                    cert.v_start,
                    in_days(not_before - now),
                ),
            )
            .with_subject(&cert.subject_dn),
        );
    }
}

/// Issuer links between the CA certificates of the bundle, and each CA's
/// distance from a self-signed root in the bundle.
struct Graph {
    /// For each certificate, the CA certificates (other than itself) that may
    /// have issued it.
    issuers: Vec<Vec<usize>>,
    /// For each CA certificate reachable from a root: its level (0 for a
    /// root, 1 for an intermediate issued by a root, ...) and the issuer on
    /// its shortest path to a root.
    level: Vec<Option<(usize, Option<usize>)>>,
}

impl Graph {
    fn new(certs: &[BundleCert]) -> Self {
        let mut by_subject: HashMap<&Name, Vec<usize>> = HashMap::new();
        for (i, cert) in certs.iter().enumerate().filter(|(_, c)| c.is_ca) {
            by_subject.entry(&cert.subject).or_default().push(i);
        }

        let mut issuers = vec![Vec::new(); certs.len()];
        let mut issued = vec![Vec::new(); certs.len()];
        for (i, cert) in certs.iter().enumerate().filter(|(_, c)| c.is_ca) {
            for &j in by_subject
                .get(&cert.issuer)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if j != i && cert.issued_by(&certs[j]) {
                    issuers[i].push(j);
                    issued[j].push(i);
                }
            }
        }

        // Breadth-first from the roots: the first visit is the shortest path.
        let mut level = vec![None; certs.len()];
        let mut queue = VecDeque::new();
        for (i, cert) in certs.iter().enumerate() {
            if cert.is_self_signed_root() {
                level[i] = Some((0, None));
                queue.push_back(i);
            }
        }
        while let Some(parent) = queue.pop_front() {
            let Some((parent_level, _)) = level[parent] else {
                continue;
            };
            for &child in &issued[parent] {
                if level[child].is_none() {
                    level[child] = Some((parent_level + 1, Some(parent)));
                    queue.push_back(child);
                }
            }
        }

        Self { issuers, level }
    }

    /// `CN=I2 <- CN=I1 <- CN=Root`: the shortest path from `i` to its root.
    fn path(&self, certs: &[BundleCert], i: usize) -> String {
        let mut names = vec![certs[i].subject_dn.as_str()];
        let mut current = i;
        while let Some((_, Some(parent))) = self.level[current] {
            if names.len() > certs.len() {
                break;
            }
            names.push(certs[parent].subject_dn.as_str());
            current = parent;
        }
        names.join(" <- ")
    }
}

/// The CA names advertised for `certs` would be refused by clients.
fn ca_names_lint(certs: &[BundleCert], lints: &mut Vec<Lint>) {
    let mut subjects: Vec<&[u8]> = certs.iter().map(|c| c.subject.as_slice()).collect();
    subjects.sort_unstable();
    subjects.dedup();
    let size = crate::ca_names::advertised_size(subjects.iter().copied());
    if size > crate::ca_names::MAX_ADVERTISED_CA_NAMES_BYTES {
        lints.push(Lint::new(
            LintKind::CaNamesTooLarge,
            Severity::Warning,
            format!(
                "the {} CA names of the bundle take {} KiB in the CertificateRequest, more than \
                 the {} KiB clients accept (rustls: 64 KiB, OpenSSL: 100 KiB): mtls-status \
                 advertises none, nginx sends them and its handshakes fail; put the CAs clients \
                 chain to in ssl_client_certificate and the rest in ssl_trusted_certificate \
                 (--trusted)",
                subjects.len(),
                size / 1024,
                crate::ca_names::MAX_ADVERTISED_CA_NAMES_BYTES / 1024
            ),
        ));
    }
}

fn chain_lints(
    certs: &[BundleCert],
    graph: &Graph,
    settings: &LintSettings,
    lints: &mut Vec<Lint>,
) {
    // Certificates with the same subject and key (a CA cross-signed or
    // re-issued) are interchangeable for the clients they issued: those
    // clients need the depth of the shortest of their chains, and are fine
    // as long as one of them reaches a root.
    let mut same_ca: HashMap<(&Name, Option<&[u8]>), Vec<usize>> = HashMap::new();
    for (i, cert) in certs.iter().enumerate().filter(|(_, c)| c.is_ca) {
        same_ca
            .entry((&cert.subject, cert.subject_key_id.as_deref()))
            .or_default()
            .push(i);
    }

    for (i, cert) in certs.iter().enumerate().filter(|(_, c)| c.is_ca) {
        let group = same_ca
            .get(&(&cert.subject, cert.subject_key_id.as_deref()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let shortest = group
            .iter()
            .filter_map(|&j| graph.level[j].map(|(level, _)| (level, j)))
            .min();
        match shortest {
            // Reported once per CA, on its shortest chain.
            Some((level, best)) if level > settings.verify_depth && best == i => lints.push(
                Lint::new(
                    LintKind::DepthBelowBundleChain,
                    Severity::Error,
                    format!(
                        "client certificates issued by this intermediate need verify depth {level} \
                         (client <- {}), but the verify depth is {}: every one of them is rejected \
                         with \"certificate chain too long\"; set the verify depth to at least \
                         {level}",
                        graph.path(certs, i),
                        settings.verify_depth,
                    ),
                )
                .with_subject(&cert.subject_dn),
            ),
            Some(_) => {}
            None => lints.push(
                Lint::new(
                    LintKind::IntermediateWithoutRoot,
                    Severity::Error,
                    unanchored_message(certs, graph, i),
                )
                .with_subject(&cert.subject_dn),
            ),
        }
    }
}

fn unanchored_message(certs: &[BundleCert], graph: &Graph, i: usize) -> String {
    // Walk up the issuers within the bundle to where the chain breaks off.
    let mut visited = vec![false; certs.len()];
    let mut top = i;
    visited[top] = true;
    let looped = loop {
        let issuers = &graph.issuers[top];
        match issuers.iter().copied().find(|&j| !visited[j]) {
            Some(next) => {
                visited[next] = true;
                top = next;
            }
            None => break !issuers.is_empty(),
        }
    };
    let cause = if looped {
        "its issuers in the bundle form a loop without a self-signed root".to_owned()
    } else if top == i {
        format!("its issuer {} is not in the bundle", certs[i].issuer_dn)
    } else {
        format!(
            "its chain in the bundle ends at {}, whose issuer {} is not in the bundle",
            certs[top].subject_dn, certs[top].issuer_dn
        )
    };
    format!(
        "CA certificate does not lead to a self-signed root in the bundle: {cause}; nginx \
         (OpenSSL) rejects every client certificate it issued with \"unable to get issuer \
         certificate\"; add the root CA certificate (and any intermediates up to it) to the bundle"
    )
}

/// One parsed CRL.
struct ParsedCrl {
    issuer: Name,
    authority_key_id: Option<Vec<u8>>,
    this_update: UnixTime,
    next_update: Option<UnixTime>,
}

impl ParsedCrl {
    fn parse(der: &CertificateRevocationListDer<'_>) -> Result<Self, String> {
        let crl = Crl::parse(der.as_ref()).ok_or("malformed CRL structure")?;
        Ok(Self {
            issuer: crl.issuer.to_vec(),
            authority_key_id: crl.authority_key_id().map(<[u8]>::to_vec),
            this_update: crl.this_update.unix_time(),
            next_update: crl.next_update.map(|t| t.unix_time()),
        })
    }

    fn issued_by(&self, ca: &BundleCert) -> bool {
        ca.is_ca
            && self.issuer == ca.subject
            && key_ids_match(
                self.authority_key_id.as_deref(),
                ca.subject_key_id.as_deref(),
            )
    }
}

fn crl_lints(
    certs: &[BundleCert],
    crls: &[CertificateRevocationListDer<'_>],
    settings: &LintSettings,
    lints: &mut Vec<Lint>,
) {
    let now = settings.now.as_secs();
    let mut has_crl = vec![false; certs.len()];

    for (index, der) in crls.iter().enumerate() {
        let number = index + 1;
        let crl = match ParsedCrl::parse(der) {
            Ok(crl) => crl,
            Err(error) => {
                lints.push(Lint::new(
                    LintKind::UnparseableCrl,
                    Severity::Error,
                    format!(
                        "CRL #{number} cannot be parsed ({error}); it would be refused: remove it \
                         or replace it with a PEM or DER version 2 CRL"
                    ),
                ));
                continue;
            }
        };

        let issuers: Vec<usize> = (0..certs.len())
            .filter(|&i| crl.issued_by(&certs[i]))
            .collect();
        for &i in &issuers {
            has_crl[i] = true;
        }
        let issuer_dn = match issuers.first() {
            Some(&i) => certs[i].subject_dn.clone(),
            None => identity::format_name(&crl.issuer),
        };

        if let Some(next_update) = crl.next_update
            && now > next_update.as_secs()
        {
            lints.push(
                Lint::new(
                    LintKind::CrlExpired,
                    Severity::Error,
                    format!(
                        "CRL #{number} expired on {} (its nextUpdate, {}): nginx rejects every \
                         client of this CA, valid ones included, with \"CRL has expired\"; publish \
                         a fresh CRL and reload",
                        identity::format_time(next_update),
                        days_ago(now - next_update.as_secs()),
                    ),
                )
                .with_subject(&issuer_dn),
            );
        }
        if now < crl.this_update.as_secs() {
            lints.push(
                Lint::new(
                    LintKind::CrlNotYetValid,
                    Severity::Error,
                    format!(
                        "CRL #{number} is not valid until {} (its thisUpdate, {}): until then \
                         every client of this CA is rejected with \"CRL is not yet valid\"; check \
                         the server's clock or the CRL issuer's",
                        identity::format_time(crl.this_update),
                        in_days(crl.this_update.as_secs() - now),
                    ),
                )
                .with_subject(&issuer_dn),
            );
        }
        if issuers.is_empty() {
            lints.push(
                Lint::new(
                    LintKind::CrlIssuerUnknown,
                    Severity::Info,
                    format!(
                        "CRL #{number} was issued by a CA that is not in the CA bundle: it applies \
                         only if clients send that CA as an intermediate (then keep it: without it \
                         those clients get \"unable to get certificate CRL\"); otherwise it is \
                         never used and can be removed"
                    ),
                )
                .with_subject(&issuer_dn),
            );
        }
    }

    if crls.is_empty() {
        return;
    }
    for (i, cert) in certs.iter().enumerate() {
        if cert.is_ca && !has_crl[i] {
            lints.push(
                Lint::new(
                    LintKind::CrlMissingForCa,
                    Severity::Error,
                    "CRLs are configured but none was issued by this CA; nginx checks a CRL for \
                     every CA in a client's chain, so every client certificate under this CA is \
                     rejected with \"unable to get certificate CRL\"; add this CA's CRL",
                )
                .with_subject(&cert.subject_dn),
            );
        }
    }
}

/// `in 12 days`, `in 1 day`, `in less than a day` (whole days, rounded
/// down, as `$ssl_client_v_remain`).
fn in_days(secs: u64) -> String {
    match secs / DAY {
        0 => "in less than a day".to_owned(),
        1 => "in 1 day".to_owned(),
        days => format!("in {days} days"),
    }
}

/// `12 days ago`, `1 day ago`, `less than a day ago`.
fn days_ago(secs: u64) -> String {
    match secs / DAY {
        0 => "less than a day ago".to_owned(),
        1 => "1 day ago".to_owned(),
        days => format!("{days} days ago"),
    }
}
