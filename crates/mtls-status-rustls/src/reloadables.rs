//! A set of file-backed materials reloaded together, by a file watcher
//! (feature `watch`), on SIGHUP (feature `sighup`) or by a call.

use std::path::PathBuf;

use crate::reload::ReloadableTrustStore;
use crate::server_cert::ServerCertificate;

/// The trust stores and server certificates to reload together: on file
/// changes ([`watch`](Self::watch), feature `watch`), on SIGHUP
/// ([`reload_on_sighup`](Self::reload_on_sighup), feature `sighup`, unix),
/// or when [`reload`](Self::reload) is called. Each handle is shared: the
/// connections using it see every reload.
///
/// Every attempt is reported by the material itself (see
/// [`ReloadableTrustStore::reload`] and [`ServerCertificate::reload`]): a
/// tracing event saying what changed or why it was refused, and with the
/// feature `metrics` the `mtls_reloads_total{material,result}` counter and
/// the `mtls_last_reload_success_timestamp_seconds{material}` gauge.
/// Materials not loaded from files are skipped.
///
/// ```
/// use mtls_status_rustls::{Reloadables, ReloadableTrustStore, TrustStore};
///
/// let in_memory = ReloadableTrustStore::new(TrustStore::empty());
/// let set = Reloadables::new().trust_store(&in_memory);
/// // Nothing file-backed: nothing to read again.
/// assert_eq!(set.reload().succeeded, 0);
/// assert_eq!(set.reload().refused, 0);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Reloadables {
    trust_stores: Vec<ReloadableTrustStore>,
    server_certificates: Vec<ServerCertificate>,
}

/// What [`Reloadables::reload`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadSummary {
    /// Materials read again and in force (changed or not).
    pub succeeded: usize,
    /// Materials whose new files were refused (the old ones stay).
    pub refused: usize,
}

impl Reloadables {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trust store (shared with `store`).
    pub fn trust_store(mut self, store: &ReloadableTrustStore) -> Self {
        self.trust_stores.push(store.clone());
        self
    }

    /// Adds a server certificate (shared with `certificate`).
    pub fn server_certificate(mut self, certificate: &ServerCertificate) -> Self {
        self.server_certificates.push(certificate.clone());
        self
    }

    /// Reads every file-backed material again; each one is installed only
    /// if whole, else the old one stays.
    pub fn reload(&self) -> ReloadSummary {
        let mut summary = ReloadSummary::default();
        for target in self.targets() {
            if target.reload() {
                summary.succeeded += 1;
            } else {
                summary.refused += 1;
            }
        }
        summary
    }

    /// The file-backed materials.
    pub(crate) fn targets(&self) -> Vec<Target> {
        let stores = self
            .trust_stores
            .iter()
            .filter(|store| store.files().is_some())
            .cloned()
            .map(Target::TrustStore);
        let certificates = self
            .server_certificates
            .iter()
            .filter(|certificate| certificate.files().is_some())
            .cloned()
            .map(Target::ServerCertificate);
        stores.chain(certificates).collect()
    }
}

/// One file-backed material.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    TrustStore(ReloadableTrustStore),
    ServerCertificate(ServerCertificate),
}

impl Target {
    /// Reloads (which reports itself); whether the files are in force now.
    pub(crate) fn reload(&self) -> bool {
        match self {
            Self::TrustStore(store) => store.reload().is_ok(),
            Self::ServerCertificate(certificate) => certificate.reload().is_ok(),
        }
    }

    /// The files read by [`reload`](Self::reload).
    #[cfg_attr(not(feature = "watch"), allow(dead_code))]
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        match self {
            Self::TrustStore(store) => store.files().map_or_else(Vec::new, |files| {
                files
                    .ca_files()
                    .iter()
                    .chain(files.trusted_files())
                    .chain(files.crl_files())
                    .cloned()
                    .collect()
            }),
            Self::ServerCertificate(certificate) => {
                certificate.files().map_or_else(Vec::new, |files| {
                    vec![files.cert.clone(), files.key.clone()]
                })
            }
        }
    }

    /// Reports a refusal found before reading (a path that is not a
    /// regular file).
    #[cfg_attr(not(feature = "watch"), allow(dead_code))]
    pub(crate) fn refuse(&self, why: &str) {
        match self {
            Self::TrustStore(store) => crate::reload_report::trust_store_refused(
                &why,
                &store.files().map(|f| f.describe()).unwrap_or_default(),
                store.generation(),
            ),
            Self::ServerCertificate(_) => crate::reload_report::server_cert_refused(&why),
        }
    }
}
