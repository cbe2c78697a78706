//! The deferred client-certificate verifier: request a certificate, never
//! reject a chain in the handshake, always check the CertificateVerify
//! signature.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

/// A [`ClientCertVerifier`] that completes the handshake whatever chain the
/// client sends, so the verdict can be delivered at the HTTP or gRPC layer.
///
/// - `offer_client_auth`: whether a CertificateRequest is sent at all.
/// - `client_auth_mandatory`: always `false`, so "no certificate" reaches
///   the application as [`ClientAuthOutcome::None`](mtls_status::ClientAuthOutcome::None).
/// - `verify_client_cert`: only checks that the end-entity certificate
///   parses (`BadEncoding` otherwise); the chain is classified after the
///   handshake.
/// - `verify_tls12_signature` / `verify_tls13_signature`: **always** check
///   the CertificateVerify signature with the leaf's key, through rustls's
///   own helpers, so a client cannot present a certificate whose private key
///   it does not hold.
///
/// The CA names are owned (rustls borrows them from `&self`), so they are
/// fixed for the verifier's life; `MtlsAcceptor::from_config_fn` builds a new
/// verifier and configuration when the trust store changes.
#[derive(Debug)]
pub(crate) struct DeferredVerifier {
    offer: bool,
    hints: Vec<DistinguishedName>,
    provider: Arc<CryptoProvider>,
}

impl DeferredVerifier {
    pub(crate) fn new(
        offer: bool,
        hints: Vec<DistinguishedName>,
        provider: Arc<CryptoProvider>,
    ) -> Self {
        Self {
            offer,
            hints: if offer { hints } else { Vec::new() },
            provider,
        }
    }
}

impl ClientCertVerifier for DeferredVerifier {
    fn offer_client_auth(&self) -> bool {
        self.offer
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match webpki::EndEntityCert::try_from(end_entity) {
            Ok(_) => Ok(ClientCertVerified::assertion()),
            Err(_) => Err(rustls::Error::InvalidCertificate(
                CertificateError::BadEncoding,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
