//! The probe's rustls client: a client-certificate resolver that records
//! the server's CertificateRequest, and a server-certificate verifier that
//! records the server's certificate (and verifies it only with `--ca`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rustls::client::ResolvesClientCert;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
    SupportedProtocolVersion,
};

/// What the server's CertificateRequest said.
#[derive(Clone, Debug)]
pub(super) struct CertRequest {
    /// The CA names the server advertises (`certificate_authorities`), as
    /// received: DER.
    pub(super) ca_names: Vec<Vec<u8>>,
    /// The signature schemes the server accepts for the client's
    /// CertificateVerify (those rustls can use with this TLS version).
    pub(super) signature_schemes: Vec<SignatureScheme>,
}

/// What one handshake revealed besides its result.
#[derive(Debug, Default)]
pub(super) struct Observed {
    request: Mutex<Option<CertRequest>>,
    sent_certificate: Mutex<bool>,
    server_leaf: Mutex<Option<CertificateDer<'static>>>,
}

impl Observed {
    /// The CertificateRequest, if the server sent one.
    pub(super) fn request(&self) -> Option<CertRequest> {
        lock(&self.request).clone()
    }

    /// Whether the client answered the CertificateRequest with a
    /// certificate (it had one, and its key can sign with a scheme the
    /// server accepts).
    pub(super) fn sent_certificate(&self) -> bool {
        *lock(&self.sent_certificate)
    }

    /// The server's end-entity certificate, if it got that far.
    pub(super) fn server_certificate(&self) -> Option<CertificateDer<'static>> {
        lock(&self.server_leaf).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Answers a CertificateRequest with `identity` (or nothing), noting what
/// the server asked for.
#[derive(Debug)]
struct RecordingResolver {
    identity: Option<Arc<CertifiedKey>>,
    observed: Arc<Observed>,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        *lock(&self.observed.request) = Some(CertRequest {
            ca_names: root_hint_subjects
                .iter()
                .map(|name| name.to_vec())
                .collect(),
            signature_schemes: sigschemes.to_vec(),
        });
        // rustls sends an empty Certificate when the key cannot sign with
        // any of the server's schemes; record what really happens.
        let sends = self
            .identity
            .as_ref()
            .is_some_and(|key| key.key.choose_scheme(sigschemes).is_some());
        *lock(&self.observed.sent_certificate) = sends;
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

/// Records the server's certificate; verifies it against `--ca` when
/// given, otherwise accepts it. The handshake signatures (the server's
/// proof that it holds the certificate's key) are checked either way.
#[derive(Debug)]
struct ServerVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    observed: Arc<Observed>,
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        *lock(&self.observed.server_leaf) = Some(end_entity.clone().into_owned());
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The ALPN protocol offered: the probe speaks HTTP/1.1 only.
pub(super) const ALPN_HTTP1: &[u8] = b"http/1.1";

/// A client configuration for one attempt, and where it records what it
/// sees. `roots`: verify the server against these (`--ca`); `None`: do not.
pub(super) fn client_config(
    provider: &Arc<CryptoProvider>,
    versions: &[&'static SupportedProtocolVersion],
    roots: Option<&Arc<RootCertStore>>,
    identity: Option<Arc<CertifiedKey>>,
) -> Result<(Arc<ClientConfig>, Arc<Observed>), Error> {
    let observed = Arc::new(Observed::default());
    let webpki = match roots {
        Some(roots) => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::clone(roots), Arc::clone(provider))
                .build()
                .map_err(|error| Error::General(error.to_string()))?,
        ),
        None => None,
    };
    let verifier = ServerVerifier {
        webpki,
        algorithms: provider.signature_verification_algorithms,
        observed: Arc::clone(&observed),
    };
    let resolver = RecordingResolver {
        identity,
        observed: Arc::clone(&observed),
    };
    let mut config = ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_protocol_versions(versions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    // Each attempt has its own configuration, so no session is resumed
    // anyway; a resumed session would skip the CertificateRequest.
    config.resumption = rustls::client::Resumption::disabled();
    Ok((Arc::new(config), observed))
}
