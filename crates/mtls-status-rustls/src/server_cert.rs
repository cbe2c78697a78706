//! The server's certificate and key, swapped while the server runs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::reload_report;

/// The server certificate chain and private key every new handshake
/// presents, replaced atomically (a rustls [`ResolvesServerCert`]).
///
/// A replacement is installed only whole: the chain must parse, the key must
/// load with the provider and match the chain's first certificate. Anything
/// else leaves the pair in force, so a certificate renewed before its key
/// (cert-manager writes `tls.crt` and `tls.key` separately) is not installed
/// until the matching key is there. Handshakes in progress and established
/// connections keep the pair they started with.
///
/// ```
/// use std::sync::Arc;
/// use mtls_status_rustls::ServerCertificate;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let pki = mtls_testpki::Pki::generate();
/// # let other = mtls_testpki::Pki::generate();
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let cert = ServerCertificate::new(provider, pki.server.chain(), pki.server.key_der())?;
/// let before = cert.current();
/// // A new certificate with the old key: refused, the old pair stays.
/// assert!(cert.replace(other.server.chain(), pki.server.key_der()).is_err());
/// assert!(Arc::ptr_eq(&before, &cert.current()));
/// cert.replace(other.server.chain(), other.server.key_der())?;
/// assert_eq!(cert.current().cert, other.server.chain());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerCertificate {
    shared: Arc<Shared>,
}

struct Shared {
    current: ArcSwap<CertifiedKey>,
    provider: Arc<CryptoProvider>,
    files: Option<ServerCertFiles>,
    /// Serialises writers.
    writer: Mutex<()>,
}

/// Where [`ServerCertificate::reload`] reads the chain and the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerCertFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why a server certificate was not installed. The pair in force stays.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerCertError {
    /// A file could not be read or holds no usable PEM.
    #[error("{path}: {message}")]
    File {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The key does not load, or does not match the certificate (for
    /// instance a renewed certificate next to the previous key).
    #[error("certificate and key do not make a usable pair: {0}")]
    Pair(#[source] rustls::Error),
    /// The certificate was not loaded from files: nothing to re-read.
    #[error("the server certificate was not loaded from files")]
    NotFileBacked,
}

impl ServerCertificate {
    /// The pair `chain` / `key`, loaded with `provider`.
    ///
    /// # Errors
    ///
    /// The rustls error when the chain is empty, the key does not load with
    /// `provider`, or it does not match the chain's first certificate.
    pub fn new(
        provider: Arc<CryptoProvider>,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, rustls::Error> {
        let current = certified_key(&provider, chain, key)?;
        Ok(Self::with(provider, current, None))
    }

    /// The pair read from the PEM files `cert` and `key`;
    /// [`reload`](Self::reload) reads them again.
    ///
    /// # Errors
    ///
    /// 1. [`ServerCertError::File`] when a file cannot be read or holds no
    ///    certificate / key;
    /// 2. [`ServerCertError::Pair`] when the key does not match.
    pub fn from_files(
        provider: Arc<CryptoProvider>,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Result<Self, ServerCertError> {
        let files = ServerCertFiles {
            cert: cert.into(),
            key: key.into(),
        };
        let current = files.load(&provider)?;
        Ok(Self::with(provider, current, Some(files)))
    }

    fn with(
        provider: Arc<CryptoProvider>,
        current: CertifiedKey,
        files: Option<ServerCertFiles>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(current),
                provider,
                files,
                writer: Mutex::new(()),
            }),
        }
    }

    /// The pair new handshakes present.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.shared.current.load_full()
    }

    /// The files [`reload`](Self::reload) reads, if any.
    pub fn files(&self) -> Option<&ServerCertFiles> {
        self.shared.files.as_ref()
    }

    /// The provider keys are loaded with.
    #[cfg(feature = "tokio")]
    pub(crate) fn provider(&self) -> &Arc<CryptoProvider> {
        &self.shared.provider
    }

    /// Installs `chain` / `key` for the handshakes that start from now on.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new); the pair in force stays.
    pub fn replace(
        &self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<(), rustls::Error> {
        let pair = match certified_key(&self.shared.provider, chain, key) {
            Ok(pair) => pair,
            Err(error) => {
                reload_report::server_cert_refused(&error);
                return Err(error);
            }
        };
        self.install(pair);
        Ok(())
    }

    /// Reads the files again and installs the pair if it is whole.
    ///
    /// Returns whether anything changed (the same chain read again installs
    /// nothing).
    ///
    /// # Errors
    ///
    /// As [`from_files`](Self::from_files), or
    /// [`ServerCertError::NotFileBacked`]; the pair in force stays.
    pub fn reload(&self) -> Result<bool, ServerCertError> {
        let loaded = self
            .files()
            .ok_or(ServerCertError::NotFileBacked)
            .and_then(|files| files.load(&self.shared.provider));
        let pair = match loaded {
            Ok(pair) => pair,
            Err(error) => {
                reload_report::server_cert_refused(&error);
                return Err(error);
            }
        };
        if pair.cert == self.shared.current.load().cert {
            if let Ok(leaf) = pair.end_entity_cert() {
                reload_report::server_cert_reloaded(leaf, leaf);
            }
            return Ok(false);
        }
        self.install(pair);
        Ok(true)
    }

    /// Installs `pair` and reports it (see the `reload_report` module).
    fn install(&self, pair: CertifiedKey) {
        let _writer = self
            .shared
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = self.shared.current.swap(Arc::new(pair));
        let new = self.shared.current.load();
        if let (Ok(old), Ok(new)) = (old.end_entity_cert(), new.end_entity_cert()) {
            reload_report::server_cert_reloaded(old, new);
        }
    }
}

impl ServerCertFiles {
    fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, ServerCertError> {
        let chain = read_chain(&self.cert)?;
        let key =
            PrivateKeyDer::from_pem_file(&self.key).map_err(|error| ServerCertError::File {
                path: self.key.clone(),
                message: error.to_string(),
            })?;
        certified_key(provider, chain, key).map_err(ServerCertError::Pair)
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, ServerCertError> {
    let file_error = |message: String| ServerCertError::File {
        path: path.to_owned(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|error| file_error(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error(error.to_string()))?;
    if chain.is_empty() {
        return Err(file_error("no CERTIFICATE in the file".to_owned()));
    }
    Ok(chain)
}

/// A pair whose key loads and matches the chain's first certificate.
fn certified_key(
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, rustls::Error> {
    if chain.is_empty() {
        return Err(rustls::Error::General(
            "empty server certificate chain".to_owned(),
        ));
    }
    let pair = CertifiedKey::from_der(chain, key, provider)?;
    // `from_der` lets "cannot tell" through; all-or-nothing wants a match.
    pair.keys_match()?;
    Ok(pair)
}

impl ResolvesServerCert for ServerCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl fmt::Debug for ServerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCertificate")
            .field("chain_len", &self.shared.current.load().cert.len())
            .field("files", &self.shared.files)
            .finish_non_exhaustive()
    }
}
