//! The CRL refresh flags of `serve`: `--crl-url URL` (repeatable),
//! `--crl-from-dp`, `--crl-refresh-interval`, `--crl-timeout`; the fetching
//! is the library's `CrlRefresher`.

use std::time::Duration;

use mtls_status_rustls::{Classifier, CrlRefresher, DEFAULT_CRL_MIN_INTERVAL};

use crate::error::CliError;

/// Fetch CRLs over HTTP and keep them fresh.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct CrlRefreshArgs {
    /// Fetch the CRL at this http:// URL at start and refresh it before its
    /// nextUpdate (repeatable). Each CRL must be signed by a CA of
    /// --client-ca; a failed fetch or a bad CRL keeps the last good one.
    #[arg(long = "crl-url", value_name = "URL")]
    crl_url: Vec<String>,

    /// Also fetch the http:// CRL distribution points of the --client-ca
    /// certificates and of the client certificates seen.
    #[arg(long = "crl-from-dp")]
    crl_from_dp: bool,

    /// The longest wait, in seconds, between two fetches of one CRL (it is
    /// fetched sooner as its nextUpdate nears).
    #[arg(
        long = "crl-refresh-interval",
        value_name = "SECS",
        default_value_t = 3600
    )]
    crl_refresh_interval: u64,

    /// Seconds one CRL fetch may take.
    #[arg(long = "crl-timeout", value_name = "SECS", default_value_t = 10)]
    crl_timeout: u64,
}

impl CrlRefreshArgs {
    /// Whether any CRL is to be fetched.
    pub(crate) fn enabled(&self) -> bool {
        !self.crl_url.is_empty() || self.crl_from_dp
    }

    /// The refresher, if `--crl-url` or `--crl-from-dp` is given.
    ///
    /// # Errors
    ///
    /// 1. [`CliError::Usage`] for a URL that is not http://, or zero
    ///    intervals.
    pub(crate) fn refresher(
        &self,
        classifier: &Classifier,
    ) -> Result<Option<CrlRefresher>, CliError> {
        if !self.enabled() {
            return Ok(None);
        }
        let max = Duration::from_secs(self.crl_refresh_interval);
        let mut builder = CrlRefresher::builder(classifier)
            .timeout(Duration::from_secs(self.crl_timeout))
            .max_interval(max)
            .min_interval(DEFAULT_CRL_MIN_INTERVAL.min(max))
            .retry_interval(Duration::from_secs(30).min(max));
        for url in &self.crl_url {
            builder = builder.url(url);
        }
        if self.crl_from_dp {
            builder = builder.from_distribution_points();
        }
        builder
            .build()
            .map(Some)
            .map_err(|error| CliError::Usage(format!("--crl-url: {error}")))
    }
}
