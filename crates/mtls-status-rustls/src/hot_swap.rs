//! The acceptor's rustls configuration, swapped while it serves.
//!
//! rustls asks the verifier for the CA names as a borrow
//! (`ClientCertVerifier::root_hint_subjects(&self) -> &[DistinguishedName]`),
//! so a verifier cannot hand out names from a store swapped under it
//! without keeping every generation alive, and a `ServerConfig`'s verifier
//! cannot be replaced. The acceptor therefore swaps whole configurations
//! (an `ArcSwap`), each with a verifier that owns its names, rebuilt by the
//! first handshake after the trust store's generation changed. Each rebuilt
//! configuration keeps the session cache and ticketer of the one it
//! replaces, so sessions resume across reloads.
//!
//! The server certificate does not need a rebuild: the configurations built
//! by [`MtlsAcceptor::new`](crate::MtlsAcceptor::new) resolve it through a
//! [`ServerCertificate`](crate::ServerCertificate), which swaps on its own.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;
use mtls_status::VerifyMode;
use rustls::ServerConfig;
use rustls::server::danger::ClientCertVerifier;

use crate::Classifier;

/// The configuration new handshakes use, shared by every clone of an
/// acceptor and by the listener built from it.
pub(crate) struct ConfigSlot {
    installed: ArcSwap<Installed>,
    /// Rebuilds the configuration when the trust store changes; `None` for
    /// a fixed configuration.
    factory: Option<Factory>,
}

struct Installed {
    config: Arc<ServerConfig>,
    /// The trust-store generation in force when the verifier was built: its
    /// CA names are of this generation or a later one.
    generation: u64,
}

/// Turns a verifier into a configuration.
pub(crate) type MakeConfig =
    dyn Fn(Arc<dyn ClientCertVerifier>) -> Result<ServerConfig, rustls::Error> + Send + Sync;

struct Factory {
    mode: VerifyMode,
    make: Box<MakeConfig>,
    /// One rebuild at a time; also keeps generations installed in order.
    rebuild: Mutex<()>,
}

impl Factory {
    /// A configuration with a fresh verifier (CA names of the store in force
    /// now), keeping `previous`'s session cache and ticketer.
    fn build(
        &self,
        classifier: &Classifier,
        previous: Option<&ServerConfig>,
    ) -> Result<Arc<ServerConfig>, rustls::Error> {
        let mut config = (self.make)(classifier.verifier(self.mode))?;
        if let Some(previous) = previous {
            config.session_storage = Arc::clone(&previous.session_storage);
            config.ticketer = Arc::clone(&previous.ticketer);
        }
        Ok(Arc::new(config))
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.rebuild.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ConfigSlot {
    /// `config` as given, until [`set`](Self::set) replaces it.
    pub(crate) fn fixed(config: Arc<ServerConfig>, classifier: &Classifier) -> Self {
        let generation = classifier.trust_store().generation();
        Self {
            installed: ArcSwap::from_pointee(Installed { config, generation }),
            factory: None,
        }
    }

    /// A configuration made by `make` now and after every trust-store change.
    pub(crate) fn following(
        classifier: &Classifier,
        mode: VerifyMode,
        make: Box<MakeConfig>,
    ) -> Result<Self, rustls::Error> {
        let factory = Factory {
            mode,
            make,
            rebuild: Mutex::new(()),
        };
        // Read before the verifier is built: its names are of this
        // generation or a later one, never an earlier one.
        let generation = classifier.trust_store().generation();
        let config = factory.build(classifier, None)?;
        Ok(Self {
            installed: ArcSwap::from_pointee(Installed { config, generation }),
            factory: Some(factory),
        })
    }

    pub(crate) fn follows_trust_store(&self) -> bool {
        self.factory.is_some()
    }

    /// Installs `config` until the trust store changes (or for good, for a
    /// fixed slot).
    pub(crate) fn set(&self, config: Arc<ServerConfig>, classifier: &Classifier) {
        let _rebuild = self.factory.as_ref().map(Factory::lock);
        let generation = classifier.trust_store().generation();
        self.installed
            .store(Arc::new(Installed { config, generation }));
    }

    /// The configuration in force, rebuilt first if it was made for an older
    /// trust-store generation.
    pub(crate) fn current(&self, classifier: &Classifier) -> Arc<ServerConfig> {
        let installed = self.installed.load();
        match &self.factory {
            Some(factory) if installed.generation != classifier.trust_store().generation() => {
                self.rebuild(factory, classifier)
            }
            _ => Arc::clone(&installed.config),
        }
    }

    /// Rebuilds the configuration for the store in force, unless another
    /// handshake just did.
    fn rebuild(&self, factory: &Factory, classifier: &Classifier) -> Arc<ServerConfig> {
        let _rebuild = factory.lock();
        let installed = self.installed.load_full();
        // Read before the verifier is built (see `following`).
        let generation = classifier.trust_store().generation();
        if installed.generation == generation {
            return Arc::clone(&installed.config);
        }
        let config = match factory.build(classifier, Some(&installed.config)) {
            Ok(config) => {
                tracing::info!(
                    generation,
                    "TLS configuration rebuilt: new handshakes advertise the CA names of \
                     trust store generation {generation}"
                );
                config
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    generation,
                    previous_generation = installed.generation,
                    "rebuilding the TLS configuration for the reloaded trust store failed; \
                     handshakes keep advertising the previous CA names (classification \
                     uses the reloaded store)"
                );
                Arc::clone(&installed.config)
            }
        };
        self.installed.store(Arc::new(Installed {
            config: Arc::clone(&config),
            generation,
        }));
        config
    }
}
