//! The trust store and classifier both `serve` and `check` build from their
//! flags: the same code path as a server, so that `check` decides a chain
//! exactly as `serve` would.

use std::path::PathBuf;
use std::sync::Arc;

use mtls_status_rustls::{
    Classifier, ClassifierBuilder, ClassifierError, ReloadableTrustStore, TrustStoreError,
    TrustStoreFiles,
};
use rustls::crypto::CryptoProvider;

use crate::error::CliError;
use crate::load;

/// The crypto provider of the command: ring.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A reloadable trust store from CA bundles (`ca_flag`) and CRL files
/// (`--crl`). Each file is read and checked first, so that a missing or
/// wrong file is reported with the flag it was given with.
pub(crate) fn load_store(
    cas: &[PathBuf],
    ca_flag: &str,
    crls: &[PathBuf],
) -> Result<ReloadableTrustStore, CliError> {
    let mut files = TrustStoreFiles::new();
    for path in cas {
        load::certificates(path, ca_flag)?;
        files = files.ca_file(path);
    }
    for path in crls {
        load::crls(path, "--crl")?;
        files = files.crl_file(path);
    }
    ReloadableTrustStore::from_files(files).map_err(|error| store_error(&error, cas, ca_flag))
}

fn store_error(error: &TrustStoreError, cas: &[PathBuf], ca_flag: &str) -> CliError {
    match error {
        TrustStoreError::Io { path, .. } => {
            let flag = if cas.iter().any(|ca| ca == path) {
                ca_flag
            } else {
                "--crl"
            };
            CliError::Io(format!("{flag}: {error}"))
        }
        TrustStoreError::NoCaConfigured => CliError::Usage(format!(
            "no CA certificates: give the CA bundle that issued the client certificates with {ca_flag}"
        )),
        TrustStoreError::NoCrls { .. } | TrustStoreError::BadCrl { .. } => {
            CliError::Unsupported(format!("--crl {error}"))
        }
        _ => CliError::Unsupported(format!("{ca_flag} {error}")),
    }
}

/// Builds `builder`, reporting a depth that is too large against `depth_flag`.
pub(crate) fn build_classifier(
    builder: ClassifierBuilder,
    depth_flag: &str,
) -> Result<Classifier, CliError> {
    builder.build().map_err(|error| match error {
        ClassifierError::DepthTooLarge { requested, .. } => {
            CliError::Usage(format!("{depth_flag} {requested}: {error}"))
        }
        other => CliError::Usage(other.to_string()),
    })
}
