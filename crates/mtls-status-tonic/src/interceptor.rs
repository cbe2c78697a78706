//! [`ClientAuthInterceptor`]: a [`ClientAuthCheck`] as a tonic interceptor.

use std::sync::Arc;

use mtls_status::VerifyMode;
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::check::ClientAuthCheck;

/// A [`ClientAuthCheck`] as a tonic [`Interceptor`]: answers as its table
/// says, removes client-sent identity metadata from requests it lets
/// through. Built by [`ClientAuthCheck::interceptor`]; it has no settings
/// of its own.
///
/// Attach it to a generated server (`GreeterServer::with_interceptor(svc,
/// interceptor)`) for a mode per service, or to every service with
/// `Server::builder().layer(tonic::service::InterceptorLayer::new(interceptor))`.
/// [`ClientAuthCheck::layer`] does the same as a tower layer and also logs
/// the RPC's path.
///
/// ```
/// use std::sync::Arc;
///
/// use mtls_status::{ClientAuthOutcome, VerifyMode};
/// use mtls_status_tonic::ClientAuthInterceptor;
/// use tonic::service::Interceptor;
///
/// // `Off`: everything with an outcome passes.
/// let mut health = ClientAuthInterceptor::new(VerifyMode::Off);
/// let mut request = tonic::Request::new(());
/// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
/// assert!(health.call(request).is_ok());
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ClientAuthInterceptor {
    check: Arc<ClientAuthCheck>,
}

impl ClientAuthInterceptor {
    /// `ClientAuthCheck::new(mode).interceptor()`: `mode` (nginx's
    /// `ssl_verify_client`), no authorization policy. `Default` is
    /// [`VerifyMode::On`].
    pub fn new(mode: VerifyMode) -> Self {
        ClientAuthCheck::new(mode).interceptor()
    }

    /// The mode this interceptor enforces.
    pub fn mode(&self) -> VerifyMode {
        self.check.mode()
    }

    pub(crate) fn from_check(check: Arc<ClientAuthCheck>) -> Self {
        Self { check }
    }
}

impl Interceptor for ClientAuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        // Moves, no copies: a `MetadataMap` is a `HeaderMap` inside.
        let mut headers = std::mem::take(request.metadata_mut()).into_headers();
        let checked = self
            .check
            .check(request.extensions_mut(), &mut headers, None);
        *request.metadata_mut() = MetadataMap::from_headers(headers);
        checked.map(|()| request)
    }
}
