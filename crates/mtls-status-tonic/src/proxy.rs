//! [`GrpcAnswers`]: gRPC services behind a TLS-terminating front proxy.

use mtls_status::proxy::ProxyHeaderError;
use mtls_status_tower::BadProxyHeaderAnswer;

/// What `TrustedProxyLayer` (mtls-status-tower) answers gRPC requests whose
/// forwarded certificate cannot be read: [`bad_proxy_header`](crate::bad_proxy_header)'s
/// `INVALID_ARGUMENT` instead of an HTTP 400, which gRPC clients would only
/// see as `INTERNAL`. With [`peer_ip`](crate::peer_ip) it puts a tonic
/// server behind Envoy or nginx; the per-service checks then answer as on a
/// direct mTLS connection:
///
/// ```
/// use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy};
/// use mtls_status_tonic::{GrpcAnswers, peer_ip};
/// use mtls_status_tower::TrustedProxyLayer;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let proxy = TrustedProxy::builder(ProxyHeaderFormat::Xfcc)
///     .trusted_peer("10.0.0.0/8".parse()?)
///     .build()?;
/// // A real service passes its mtls_status_rustls::Classifier.
/// let classify = |_: &[rustls::pki_types::CertificateDer<'_>]| {
///     std::sync::Arc::new(mtls_status::ClientAuthOutcome::None)
/// };
/// let layer = TrustedProxyLayer::new(proxy, classify)
///     .peer_addr_from(peer_ip)
///     .answer_with(GrpcAnswers);
/// // tonic::transport::Server::builder().layer(layer).add_service(...)
/// # let _ = layer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GrpcAnswers;

impl<B: Default> BadProxyHeaderAnswer<B> for GrpcAnswers {
    fn answer(&self, error: &ProxyHeaderError) -> http::Response<B> {
        crate::bad_proxy_header(error).into_http()
    }
}
