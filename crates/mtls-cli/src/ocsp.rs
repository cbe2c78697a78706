//! The OCSP flags of `serve` and `check` (nginx `ssl_ocsp`,
//! `ssl_ocsp_responder`); the lookups are the library's `OcspChecker`.

use std::time::Duration;

use mtls_status::VerifyMode;
use mtls_status_rustls::{Classifier, OcspChecker, OcspFailPolicy, OcspMode};

use crate::error::CliError;

/// `--ocsp on|leaf`, `--ocsp-responder URL`, `--ocsp-fail open|closed`,
/// `--ocsp-timeout SECS`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OcspArgs {
    /// Check client certificates by OCSP after the handshake (nginx
    /// `ssl_ocsp`): on = every certificate of the verified chain but the
    /// root, leaf = the client certificate only.
    #[arg(long, value_name = "on|leaf", value_parser = parse_mode)]
    ocsp: Option<OcspMode>,

    /// Ask this OCSP responder (http:// only) instead of each
    /// certificate's authorityInfoAccess URL (nginx `ssl_ocsp_responder`).
    #[arg(long = "ocsp-responder", value_name = "URL", requires = "ocsp")]
    ocsp_responder: Option<String>,

    /// When no status can be obtained (responder down, slow, bad answer):
    /// closed = 495 `certificate status request failed` (nginx), open =
    /// accept and log the reason.
    #[arg(
        long = "ocsp-fail",
        value_name = "open|closed",
        default_value = "closed",
        value_parser = parse_fail,
        requires = "ocsp"
    )]
    ocsp_fail: OcspFailPolicy,

    /// Seconds one exchange with a responder may take.
    #[arg(
        long = "ocsp-timeout",
        value_name = "SECS",
        default_value_t = 5,
        requires = "ocsp"
    )]
    ocsp_timeout: u64,
}

fn parse_mode(value: &str) -> Result<OcspMode, String> {
    match value {
        "on" => Ok(OcspMode::Chain),
        "leaf" => Ok(OcspMode::Leaf),
        _ => Err(format!(
            "{value:?} is not an OCSP mode: use on (whole chain) or leaf"
        )),
    }
}

fn parse_fail(value: &str) -> Result<OcspFailPolicy, String> {
    match value {
        "closed" => Ok(OcspFailPolicy::Closed),
        "open" => Ok(OcspFailPolicy::Open),
        _ => Err(format!(
            "{value:?} is not an OCSP fail policy: use closed or open"
        )),
    }
}

impl OcspArgs {
    /// The checker, if `--ocsp` is given.
    ///
    /// # Errors
    ///
    /// 1. [`CliError::Usage`] with `--verify-client optional_no_ca` (as
    ///    nginx refuses `ssl_ocsp` there) or a responder URL that is not
    ///    `http://`.
    pub(crate) fn checker(
        &self,
        classifier: &Classifier,
        mode: Option<VerifyMode>,
    ) -> Result<Option<OcspChecker>, CliError> {
        let Some(ocsp) = self.ocsp else {
            return Ok(None);
        };
        if mode == Some(VerifyMode::OptionalNoCa) {
            return Err(CliError::Usage(
                "--ocsp is incompatible with --verify-client optional_no_ca (nginx: \"ssl_ocsp\" \
                 is incompatible with \"ssl_verify_client optional_no_ca\")"
                    .to_owned(),
            ));
        }
        let mut builder = OcspChecker::builder(classifier)
            .mode(ocsp)
            .fail_policy(self.ocsp_fail)
            .timeout(Duration::from_secs(self.ocsp_timeout.max(1)));
        if let Some(url) = &self.ocsp_responder {
            builder = builder.responder(url.clone());
        }
        builder
            .build()
            .map(Some)
            .map_err(|error| CliError::Usage(format!("--ocsp-responder: {error}")))
    }
}
