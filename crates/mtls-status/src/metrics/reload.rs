//! Reload results: `mtls_reloads_total` and
//! `mtls_last_reload_success_timestamp_seconds` (see the module table).

/// What a reload attempt was about: the `material` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReloadMaterial {
    /// The trust store: CA bundle, trusted-only certificates, CRLs.
    TrustStore,
    /// The server's certificate chain and private key.
    ServerCertificate,
}

impl ReloadMaterial {
    /// The label value: `trust_store` or `server_certificate`.
    ///
    /// ```
    /// use mtls_status::metrics::ReloadMaterial;
    /// assert_eq!(ReloadMaterial::ServerCertificate.label(), "server_certificate");
    /// ```
    pub const fn label(self) -> &'static str {
        match self {
            Self::TrustStore => "trust_store",
            Self::ServerCertificate => "server_certificate",
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
    /// match its certificate): the material in force stays.
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
