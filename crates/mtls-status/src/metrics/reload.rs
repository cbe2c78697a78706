//! Reload results: `mtls_reloads_total` and
//! `mtls_last_reload_success_timestamp_seconds`; CRL refreshes:
//! `mtls_crl_refresh_total`, `mtls_crl_next_refresh_timestamp_seconds` and
//! `mtls_crl_last_refresh_success_timestamp_seconds` (see the module table).

/// What a reload attempt was about: the `material` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReloadMaterial {
    /// The trust store: CA bundle, trusted-only certificates, CRLs.
    TrustStore,
    /// The server's certificate chain and private key.
    ServerCertificate,
    /// An update of the SPIFFE Workload API stream (SVID and bundles), or
    /// the stream failing (mtls-status-rustls feature `workload-api`). The
    /// SVID and bundles it installs are also counted as
    /// `server_certificate` and `trust_store`.
    WorkloadApi,
}

impl ReloadMaterial {
    /// The label value: `trust_store`, `server_certificate` or
    /// `workload_api`.
    ///
    /// ```
    /// use mtls_status::metrics::ReloadMaterial;
    /// assert_eq!(ReloadMaterial::ServerCertificate.label(), "server_certificate");
    /// ```
    pub const fn label(self) -> &'static str {
        match self {
            Self::TrustStore => "trust_store",
            Self::ServerCertificate => "server_certificate",
            Self::WorkloadApi => "workload_api",
        }
    }
}

/// How a reload attempt ended: the `result` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReloadResult {
    /// The files were read and are in force now (also when they had not
    /// changed).
    Success,
    /// Something was wrong (unreadable or bad file, a key that does not
    /// match its certificate, a Workload API stream that broke or sent
    /// something unusable): the material in force stays.
    Refused,
}

impl ReloadResult {
    /// The label value: `success` or `refused`.
    ///
    /// ```
    /// use mtls_status::metrics::ReloadResult;
    /// assert_eq!(ReloadResult::Refused.label(), "refused");
    /// ```
    pub const fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Refused => "refused",
        }
    }
}

/// Counts one reload attempt into `mtls_reloads_total` and, for a success,
/// sets `mtls_last_reload_success_timestamp_seconds` to now.
/// mtls-status-rustls calls it on every reload (feature `metrics`).
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn record_reload(material: ReloadMaterial, result: ReloadResult) {
    metrics::counter!(
        "mtls_reloads_total",
        "material" => material.label(),
        "result" => result.label()
    )
    .increment(1);
    if result == ReloadResult::Success {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        metrics::gauge!(
            "mtls_last_reload_success_timestamp_seconds",
            "material" => material.label()
        )
        .set(now);
    }
}

/// How one CRL refresh (a fetch of one CRL URL) ended: the `result` label
/// of `mtls_crl_refresh_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrlRefreshResult {
    /// A newer CRL was fetched, verified and is in force now.
    Updated,
    /// The server sent the CRL already in force.
    Unchanged,
    /// The fetch failed (server down, timeout, not 200, over the size
    /// cap): the CRL in force stays.
    Failed,
    /// A CRL arrived but was refused (not a CRL, bad signature, issuer not
    /// in the trust store, older than the CRL in force): the CRL in force
    /// stays.
    Refused,
}

impl CrlRefreshResult {
    /// The label value: `updated`, `unchanged`, `failed` or `refused`.
    ///
    /// ```
    /// use mtls_status::metrics::CrlRefreshResult;
    /// assert_eq!(CrlRefreshResult::Refused.label(), "refused");
    /// ```
    pub const fn label(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Failed => "failed",
            Self::Refused => "refused",
        }
    }

    /// Whether the CRL in force is current after this refresh (`Updated`
    /// or `Unchanged`).
    pub const fn is_success(self) -> bool {
        matches!(self, Self::Updated | Self::Unchanged)
    }
}

/// Counts one CRL refresh of `url` into `mtls_crl_refresh_total`, sets
/// `mtls_crl_next_refresh_timestamp_seconds{url}` to `next_refresh` (Unix
/// seconds) and, on success, `mtls_crl_last_refresh_success_timestamp_seconds{url}`
/// to now. mtls-status-rustls calls it on every refresh (features
/// `crl-refresh` and `metrics`).
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn record_crl_refresh(url: &str, result: CrlRefreshResult, next_refresh: u64) {
    metrics::counter!("mtls_crl_refresh_total", "result" => result.label()).increment(1);
    let label = [("url", url.to_owned())];
    // Unix seconds fit an f64's 53-bit mantissa exactly.
    #[allow(clippy::cast_precision_loss)]
    metrics::gauge!("mtls_crl_next_refresh_timestamp_seconds", &label).set(next_refresh as f64);
    if result.is_success() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        metrics::gauge!("mtls_crl_last_refresh_success_timestamp_seconds", &label).set(now);
    }
}
