//! Certificates and the rustls configurations of every server and of the
//! load generator.

use std::sync::Arc;

use mtls_status::VerifyMode;
use mtls_status_rustls::{
    Classifier, DEFAULT_ALPN, MtlsAcceptor, ReloadableTrustStore, TrustStore, server_config,
    server_config_with_alpn,
};
use mtls_testpki::{Ca, Leaf, Pki};
use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::BoxError;
use crate::settings::ClientChain;

/// What every server and the client share.
pub(crate) struct Setup {
    provider: Arc<CryptoProvider>,
    root: CertificateDer<'static>,
    /// What the mtls-status servers trust: the root, unless
    /// [`trusting`](Self::trusting) said otherwise.
    trust_pem: String,
    crl_pem: Option<String>,
    /// What the client presents: leaf first.
    pub(crate) client_chain: Vec<CertificateDer<'static>>,
    client: Leaf,
    server: Leaf,
}

impl Setup {
    pub(crate) fn new(pki: &Pki, chain: ClientChain) -> Result<Self, BoxError> {
        let client = match chain {
            ClientChain::ViaIntermediate => &pki.valid_via_intermediate,
            ClientChain::FromRoot => &pki.valid_from_root,
        };
        Ok(Self::with_leaves(&pki.root, &pki.server, client))
    }

    /// Servers trusting `root` and presenting `server`; the client presents
    /// `client` (its chain, leaf first).
    pub(crate) fn with_leaves(root: &Ca, server: &Leaf, client: &Leaf) -> Self {
        Self {
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            root: root.cert_der(),
            trust_pem: root.cert_pem(),
            crl_pem: None,
            client_chain: client.chain(),
            client: client.clone(),
            server: server.clone(),
        }
    }

    /// The mtls-status servers trust the CAs of `ca_pem` and check `crl_pem`.
    pub(crate) fn trusting(mut self, ca_pem: String, crl_pem: Option<String>) -> Self {
        self.trust_pem = ca_pem;
        self.crl_pem = crl_pem;
        self
    }

    fn trust_store(&self) -> Result<ReloadableTrustStore, BoxError> {
        let mut builder = TrustStore::builder().ca_pem(&self.trust_pem);
        if let Some(crl) = &self.crl_pem {
            builder = builder.crl_pem(crl);
        }
        Ok(ReloadableTrustStore::new(builder.build()?))
    }

    pub(crate) fn classifier(&self, cache: bool) -> Result<Classifier, BoxError> {
        let builder = Classifier::builder(self.trust_store()?, Arc::clone(&self.provider));
        let builder = if cache {
            builder
        } else {
            builder.cache_capacity(0)
        };
        Ok(builder.build()?)
    }

    pub(crate) fn webpki_verifier(&self) -> Result<Arc<dyn ClientCertVerifier>, BoxError> {
        let mut roots = RootCertStore::empty();
        roots.add(self.root.clone())?;
        Ok(
            WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::clone(&self.provider),
            )
            .build()?,
        )
    }

    /// The reference: the same configuration as ours, with rustls's verifier.
    pub(crate) fn plain_config(&self) -> Result<ServerConfig, BoxError> {
        let config = server_config_with_alpn(
            Arc::clone(&self.provider),
            self.server.chain(),
            self.server.key_der(),
            self.webpki_verifier()?,
            DEFAULT_ALPN.iter().map(|p| p.to_vec()).collect(),
        )?;
        Ok(without_tickets(config))
    }

    /// The floor: the deferred verifier and nothing after the handshake.
    pub(crate) fn deferred_config(&self) -> Result<ServerConfig, BoxError> {
        let verifier = self.classifier(false)?.verifier(VerifyMode::On);
        let config = server_config(
            Arc::clone(&self.provider),
            self.server.chain(),
            self.server.key_der(),
            verifier,
        )?;
        Ok(without_tickets(config))
    }

    pub(crate) fn mtls_acceptor(&self, cache: bool) -> Result<MtlsAcceptor, BoxError> {
        let classifier = self.classifier(cache)?;
        let config = server_config(
            Arc::clone(&self.provider),
            self.server.chain(),
            self.server.key_der(),
            classifier.verifier(VerifyMode::On),
        )?;
        Ok(MtlsAcceptor::with_fixed_config(
            Arc::new(without_tickets(config)),
            classifier,
        ))
    }

    pub(crate) fn client_config(&self, verify_server: bool) -> Result<ClientConfig, BoxError> {
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&rustls::version::TLS13])?;
        let builder = if verify_server {
            let mut roots = RootCertStore::empty();
            roots.add(self.root.clone())?;
            builder.with_root_certificates(roots)
        } else {
            let schemes = self
                .provider
                .signature_verification_algorithms
                .supported_schemes();
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(LoadGeneratorTrustsServer(schemes)))
        };
        let mut config =
            builder.with_client_auth_cert(self.client.chain(), self.client.key_der())?;
        config.resumption = Resumption::disabled();
        Ok(config)
    }
}

/// Clients never resume, and nginx is configured without session cache or
/// tickets: the rustls servers send none either (same for (a) and (b)).
fn without_tickets(mut config: ServerConfig) -> ServerConfig {
    config.send_tls13_tickets = 0;
    config
}

/// Load generator only: the client does not check the server it is
/// benchmarking (its chain nor its CertificateVerify signature), so its share
/// of the CPU goes to driving handshakes. Server-side checks are untouched.
/// `HANDSHAKE_BENCH_CLIENT_VERIFY=1` uses a normal verifier instead.
#[derive(Debug)]
struct LoadGeneratorTrustsServer(Vec<SignatureScheme>);

impl ServerCertVerifier for LoadGeneratorTrustsServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}
