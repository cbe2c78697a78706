//! A rustls `ServerConfig` wired to the deferred verifier.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The ALPN protocols [`server_config`] offers: HTTP/2, then HTTP/1.1.
pub const DEFAULT_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A `ServerConfig` for `provider`'s safe default protocol versions
/// (TLS 1.2 and 1.3), the server certificate `cert_chain` / `key`, the
/// client-certificate `verifier` (usually
/// [`Classifier::verifier`](crate::Classifier::verifier)) and ALPN
/// `h2`, `http/1.1` (tonic needs `h2`).
///
/// The verifier advertises the CA names of the trust store as it is when the
/// verifier is made; to advertise those of each reloaded store, call this
/// from [`MtlsAcceptor::from_config_fn`](crate::MtlsAcceptor::from_config_fn).
///
/// # Errors
///
/// The rustls error if the key does not match the certificate or the
/// provider is inconsistent.
///
/// ```
/// use std::sync::Arc;
/// use mtls_status::VerifyMode;
/// use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStore, server_config};
///
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let server = mtls_testpki::Ca::root("Server CA").build().leaf("localhost").server(["localhost"]).build();
/// let store = ReloadableTrustStore::new(TrustStore::empty());
/// let classifier = Classifier::builder(store, provider.clone()).build()?;
///
/// let verifier = classifier.verifier(VerifyMode::On);
/// let config = server_config(provider, server.chain(), server.key_der(), verifier)?;
/// assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_config(
    provider: Arc<CryptoProvider>,
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    verifier: Arc<dyn ClientCertVerifier>,
) -> Result<ServerConfig, rustls::Error> {
    server_config_with_alpn(
        provider,
        cert_chain,
        key,
        verifier,
        DEFAULT_ALPN.iter().map(|p| p.to_vec()).collect(),
    )
}

/// Like [`server_config`], with the given ALPN protocols (most preferred
/// first; empty = no ALPN).
///
/// # Errors
///
/// As [`server_config`].
pub fn server_config_with_alpn(
    provider: Arc<CryptoProvider>,
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    verifier: Arc<dyn ClientCertVerifier>,
    alpn_protocols: Vec<Vec<u8>>,
) -> Result<ServerConfig, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(cert_chain, key)?;
    config.alpn_protocols = alpn_protocols;
    Ok(config)
}
