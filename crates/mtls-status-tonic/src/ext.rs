//! [`ClientAuthRequestExt`]: the connection's client certificate, from a
//! handler's request.

use std::sync::Arc;

use http::Extensions;
use mtls_status::{ClientAuthOutcome, ClientIdentity, InvalidReason, Tolerated};

use crate::connect_info::MtlsConnectInfo;

/// Reads the connection's client-certificate outcome from a request:
/// implemented for `tonic::Request<T>` (unary and streaming handlers alike)
/// and `http::Request<B>` (tower layers).
///
/// The outcome is found as `Arc<ClientAuthOutcome>` (inserted by
/// [`ClientAuthInterceptor`](crate::ClientAuthInterceptor),
/// [`GrpcClientAuthLayer`](crate::GrpcClientAuthLayer) or your own glue) or
/// in the [`MtlsConnectInfo`] that tonic attaches for connections from
/// [`incoming`](crate::incoming), so it works on services without a check
/// too (e.g. mode `Off`).
///
/// ```
/// use std::sync::Arc;
///
/// use mtls_status::ClientAuthOutcome;
/// use mtls_status_tonic::ClientAuthRequestExt;
///
/// let mut request = tonic::Request::new(());
/// assert!(request.client_auth().is_none());
/// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
/// assert!(request.client_auth().is_some_and(ClientAuthOutcome::is_none));
/// assert!(request.client_identity().is_none()); // only for a verified certificate
/// ```
pub trait ClientAuthRequestExt: sealed::HasExtensions {
    /// The verdict on the connection's client certificate (`None`,
    /// `Invalid(reason)`, `Verified(identity)`), or `None` if the request
    /// did not come through the mtls-status glue.
    fn client_auth(&self) -> Option<&ClientAuthOutcome> {
        outcome_in(self.request_extensions()).map(Arc::as_ref)
    }

    /// The same verdict, shared: for handlers that move it into a task, e.g.
    /// one that produces a response stream.
    fn client_auth_shared(&self) -> Option<Arc<ClientAuthOutcome>> {
        outcome_in(self.request_extensions()).cloned()
    }

    /// The **verified** client identity; `None` when the client sent no
    /// certificate, an invalid one, or the request did not come through the
    /// glue. Safe to authorize on.
    fn client_identity(&self) -> Option<&ClientIdentity> {
        self.client_auth().and_then(ClientAuthOutcome::identity)
    }

    /// The failure the service's policy
    /// [tolerates](mtls_status::ClientAuthPolicy::tolerate) and let through
    /// (e.g. `expired`, within the grace period), with its context; `None`
    /// for a verified chain or a request no check judged so.
    ///
    /// ```
    /// use mtls_status_tonic::ClientAuthRequestExt;
    ///
    /// let request = tonic::Request::new(());
    /// assert!(request.tolerated().is_none());
    /// ```
    fn tolerated(&self) -> Option<&InvalidReason> {
        Tolerated::from_extensions(self.request_extensions()).map(Tolerated::reason)
    }

    /// The connection info tonic attached (outcome and addresses), for
    /// connections served from [`incoming`](crate::incoming).
    fn mtls_connect_info(&self) -> Option<&MtlsConnectInfo> {
        self.request_extensions().get()
    }
}

/// The connection's outcome: as `Arc<ClientAuthOutcome>`
/// ([`ClientAuthOutcome::from_extensions`], where every mtls-status check
/// reads it), else the one in the [`MtlsConnectInfo`] tonic attached.
pub(crate) fn outcome_in(extensions: &Extensions) -> Option<&Arc<ClientAuthOutcome>> {
    ClientAuthOutcome::from_extensions(extensions).or_else(|| {
        extensions
            .get::<MtlsConnectInfo>()
            .map(MtlsConnectInfo::outcome)
    })
}

impl<T> ClientAuthRequestExt for tonic::Request<T> {}

impl<B> ClientAuthRequestExt for http::Request<B> {}

/// Sealed: the requests whose extensions the trait reads.
mod sealed {
    use http::Extensions;

    pub trait HasExtensions {
        fn request_extensions(&self) -> &Extensions;
    }

    impl<T> HasExtensions for tonic::Request<T> {
        fn request_extensions(&self) -> &Extensions {
            self.extensions()
        }
    }

    impl<B> HasExtensions for http::Request<B> {
        fn request_extensions(&self) -> &Extensions {
            self.extensions()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_info_alone_is_enough() {
        let outcome = Arc::new(ClientAuthOutcome::None);
        let mut request = http::Request::new(());
        request
            .extensions_mut()
            .insert(MtlsConnectInfo::new(Arc::clone(&outcome), None, None));
        assert!(
            request
                .client_auth_shared()
                .is_some_and(|found| Arc::ptr_eq(&found, &outcome))
        );
        assert!(request.mtls_connect_info().is_some());
        assert!(request.client_identity().is_none());
    }
}
