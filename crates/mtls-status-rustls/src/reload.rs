//! A trust store that can be swapped atomically at run time.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::reload_report::{self, LintContext};
use crate::trust_store::{FetchedCrl, LoadPolicy, TrustStore, TrustStoreBuilder, TrustStoreError};

/// The files a [`ReloadableTrustStore`] reads on every
/// [`reload`](ReloadableTrustStore::reload).
///
/// ```
/// use mtls_status_rustls::TrustStoreFiles;
///
/// let files = TrustStoreFiles::new()
///     .ca_file("/etc/mtls/clients-ca.pem")
///     .crl_file("/etc/mtls/clients.crl");
/// assert_eq!(files.ca_files().len(), 1);
/// assert!(files.trusted_files().is_empty());
/// assert_eq!(files.crl_files().len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct TrustStoreFiles {
    ca: Vec<PathBuf>,
    trusted: Vec<PathBuf>,
    crls: Vec<PathBuf>,
    policy: LoadPolicy,
}

impl TrustStoreFiles {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a CA bundle (advertised), see [`TrustStoreBuilder::ca_file`].
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca.push(path.into());
        self
    }

    /// Adds trusted-only certificates, see [`TrustStoreBuilder::trusted_file`].
    pub fn trusted_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trusted.push(path.into());
        self
    }

    /// Adds a CRL file, see [`TrustStoreBuilder::crl_file`].
    pub fn crl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.crls.push(path.into());
        self
    }

    /// See [`TrustStoreBuilder::max_file_size`]; applies to every reload.
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.policy.max_file_size = bytes;
        self
    }

    /// See [`TrustStoreBuilder::refuse_unusable_certificates`]; applies to
    /// every reload.
    pub fn refuse_unusable_certificates(mut self) -> Self {
        self.policy.refuse_unusable = true;
        self
    }

    /// The CA bundle files.
    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca
    }

    /// The trusted-only certificate files.
    pub fn trusted_files(&self) -> &[PathBuf] {
        &self.trusted
    }

    /// The CRL files.
    pub fn crl_files(&self) -> &[PathBuf] {
        &self.crls
    }

    /// A builder that reads these files.
    pub fn builder(&self) -> TrustStoreBuilder {
        let mut builder = TrustStore::builder().with_policy(self.policy);
        for path in &self.ca {
            builder = builder.ca_file(path);
        }
        for path in &self.trusted {
            builder = builder.trusted_file(path);
        }
        for path in &self.crls {
            builder = builder.crl_file(path);
        }
        builder
    }

    pub(crate) fn describe(&self) -> String {
        let all: Vec<String> = self
            .ca
            .iter()
            .chain(&self.trusted)
            .chain(&self.crls)
            .map(|p: &PathBuf| Path::display(p).to_string())
            .collect();
        all.join(", ")
    }
}

/// A [`TrustStore`] shared by every connection and swapped atomically, as
/// `Arc<ArcSwap<TrustStore>>`. Cloning shares the same store.
///
/// Readers ([`current`](Self::current)) never block. A
/// [`reload`](Self::reload) that fails (unreadable file, bad PEM, bad CRL)
/// leaves the store in force untouched and logs the error with
/// `tracing::error!`. Each successful reload or replace increments the
/// [generation](TrustStore::generation), which invalidates cached verdicts.
///
/// CRLs fetched by a `CrlRefresher` (feature `crl-refresh`) are kept apart
/// from the loaded material and merged into every store installed, so a
/// [`reload`](Self::reload) or [`replace`](Self::replace) keeps them: per
/// CRL issuer the most recent CRL (by cRLNumber, else thisUpdate) is in
/// force, whether it came from a file or was fetched. A file CRL more
/// recent than the fetched one of its issuer wins until a still more
/// recent one is fetched.
///
/// ```
/// use mtls_status_rustls::{ReloadableTrustStore, TrustStore};
///
/// let store = ReloadableTrustStore::new(TrustStore::empty());
/// assert_eq!(store.current().generation(), 1);
/// assert_eq!(store.replace(TrustStore::empty()), 2);
/// // Not built from files: nothing to re-read, the store stays as it is.
/// assert!(store.reload().is_err());
/// assert_eq!(store.current().generation(), 2);
/// ```
#[derive(Clone)]
pub struct ReloadableTrustStore {
    shared: Arc<Shared>,
}

struct Shared {
    current: ArcSwap<TrustStore>,
    files: Option<TrustStoreFiles>,
    /// Serialises writers so generations stay strictly increasing; holds
    /// what every installed store is made of.
    writer: Mutex<Material>,
    /// What the reload lints assume (feature `lint`).
    lint_context: Mutex<Option<LintContext>>,
}

/// The store as loaded or replaced, and the CRLs fetched since, merged
/// into it on every install.
struct Material {
    base: TrustStore,
    fetched: Vec<FetchedCrl>,
}

impl ReloadableTrustStore {
    /// Shares `store`; [`reload`](Self::reload) is not available (use
    /// [`replace`](Self::replace)).
    pub fn new(store: TrustStore) -> Self {
        Self::with_files(store, None)
    }

    /// Loads the store from `files`; [`reload`](Self::reload) reads them
    /// again.
    ///
    /// # Errors
    ///
    /// As [`TrustStoreBuilder::build`].
    pub fn from_files(files: TrustStoreFiles) -> Result<Self, TrustStoreError> {
        let store = files.builder().build()?;
        Ok(Self::with_files(store, Some(files)))
    }

    fn with_files(store: TrustStore, files: Option<TrustStoreFiles>) -> Self {
        #[cfg(feature = "metrics")]
        crate::metrics::trust_store_installed(&store);
        Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(store.clone()),
                files,
                writer: Mutex::new(Material {
                    base: store,
                    fetched: Vec::new(),
                }),
                lint_context: Mutex::new(None),
            }),
        }
    }

    /// The store in force now. Cheap; never blocks.
    pub fn current(&self) -> Arc<TrustStore> {
        self.shared.current.load_full()
    }

    /// The generation in force now, without cloning the `Arc`.
    pub fn generation(&self) -> u64 {
        self.shared.current.load().generation()
    }

    /// The files [`reload`](Self::reload) reads, if any.
    pub fn files(&self) -> Option<&TrustStoreFiles> {
        self.shared.files.as_ref()
    }

    /// The verify mode and depth the store serves, for the lints run on
    /// every newly installed store (feature `lint`: a CA that expired, a
    /// CRL past nextUpdate, a depth too small for the bundle's chains, ...
    /// are logged with `tracing`, errors as `error!`). Without it the lints
    /// assume nginx's defaults (`on`, depth 1).
    pub fn lint_with(&self, mode: mtls_status::VerifyMode, verify_depth: usize) {
        *self
            .shared
            .lint_context
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(LintContext { mode, verify_depth });
    }

    /// Reads the files again and, if everything parses, swaps the new store
    /// in. Connections classified from now on use it; cached verdicts of the
    /// old generation are no longer served.
    ///
    /// # Errors
    ///
    /// [`TrustStoreError::NotFileBacked`] for a store made with
    /// [`new`](Self::new); otherwise the build error, naming the file at
    /// fault. On error the old store stays in force.
    pub fn reload(&self) -> Result<u64, TrustStoreError> {
        let Some(files) = &self.shared.files else {
            let error = TrustStoreError::NotFileBacked;
            reload_report::trust_store_refused(&error, "", self.generation());
            return Err(error);
        };
        let mut material = self
            .shared
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match files.builder().build() {
            Ok(store) => {
                material.base = store;
                Ok(self.install(&material))
            }
            Err(error) => {
                reload_report::trust_store_refused(&error, &files.describe(), self.generation());
                Err(error)
            }
        }
    }

    /// Swaps `store` in and returns its generation (the previous one plus
    /// one; the generation `store` was built with is ignored).
    pub fn replace(&self, store: TrustStore) -> u64 {
        let mut material = self
            .shared
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        material.base = store;
        self.install(&material)
    }

    /// Merges `crl` (replacing the one fetched earlier from the same
    /// source) into the store in force and installs the result.
    ///
    /// # Errors
    ///
    /// When `crl` cannot be used ([`TrustStoreError::BadCrl`]); nothing
    /// changes then.
    #[cfg(feature = "crl-refresh")]
    pub(crate) fn install_fetched_crl(&self, crl: FetchedCrl) -> Result<u64, TrustStoreError> {
        let mut material = self
            .shared
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut fetched = material.fetched.clone();
        fetched.retain(|have| have.source != crl.source);
        fetched.push(crl);
        // Refuse before anything changes.
        material.base.with_fetched_crls(&fetched)?;
        material.fetched = fetched;
        Ok(self.install(&material))
    }

    /// Installs the merge of `material`; the caller holds the writer lock.
    fn install(&self, material: &Material) -> u64 {
        let store = match material.base.with_fetched_crls(&material.fetched) {
            Ok(store) => store,
            Err(error) => {
                // Unreachable: fetched CRLs were merged once before.
                tracing::error!(%error, "fetched CRLs left out of the trust store");
                material.base.clone()
            }
        };
        let old = self.current();
        let generation = old.generation().saturating_add(1);
        #[cfg(feature = "metrics")]
        crate::metrics::trust_store_installed(&store);
        let new = Arc::new(store.with_generation(generation));
        self.shared.current.store(Arc::clone(&new));
        let lint_context = *self
            .shared
            .lint_context
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        reload_report::trust_store_installed(&old, &new, lint_context.as_ref());
        generation
    }
}

impl fmt::Debug for ReloadableTrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadableTrustStore")
            .field("current", &*self.shared.current.load())
            .field("files", &self.shared.files)
            .finish()
    }
}

impl From<TrustStore> for ReloadableTrustStore {
    fn from(store: TrustStore) -> Self {
        Self::new(store)
    }
}
