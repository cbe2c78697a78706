//! [`MtlsConnectInfo`]: what tonic attaches to every request of a connection
//! served from [`incoming`](crate::incoming).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::Extensions;

use mtls_status::ClientAuthOutcome;
use tonic::transport::server::TcpConnectInfo;

/// The connection's client-certificate verdict and addresses.
///
/// [`TlsIo`](crate::TlsIo) implements tonic's
/// [`Connected`](tonic::transport::server::Connected) with this type, so
/// tonic inserts it into the extensions of every request on the connection
/// (before any `Server::layer` or service runs). The
/// [`ClientAuthInterceptor`](crate::ClientAuthInterceptor) and
/// [`GrpcClientAuthLayer`](crate::GrpcClientAuthLayer) then also insert its
/// outcome as `Arc<ClientAuthOutcome>` (the type the other mtls-status
/// layers read) and a [`TcpConnectInfo`], so that tonic's own
/// `Request::remote_addr()` works. Handlers read it with
/// [`ClientAuthRequestExt`](crate::ClientAuthRequestExt).
///
/// ```
/// use std::sync::Arc;
///
/// use mtls_status::ClientAuthOutcome;
/// use mtls_status_tonic::MtlsConnectInfo;
///
/// let info = MtlsConnectInfo::new(Arc::new(ClientAuthOutcome::None), Some(([127, 0, 0, 1], 50000).into()), None);
/// assert!(info.outcome().is_none());
/// assert_eq!(info.tcp_connect_info().remote_addr(), Some(([127, 0, 0, 1], 50000).into()));
/// ```
#[derive(Clone)]
pub struct MtlsConnectInfo {
    outcome: Arc<ClientAuthOutcome>,
    remote_addr: Option<SocketAddr>,
    local_addr: Option<SocketAddr>,
}

impl MtlsConnectInfo {
    /// Connection info for a connection whose client certificate came to
    /// `outcome`, from `remote_addr` to `local_addr`.
    pub fn new(
        outcome: Arc<ClientAuthOutcome>,
        remote_addr: Option<SocketAddr>,
        local_addr: Option<SocketAddr>,
    ) -> Self {
        Self {
            outcome,
            remote_addr,
            local_addr,
        }
    }

    /// The verdict on the client's certificate, for the whole connection.
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        &self.outcome
    }

    /// The client's address.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote_addr
    }

    /// The local address the client connected to.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The addresses as tonic's plain-TCP connection info, which tonic's
    /// `Request::remote_addr()` / `local_addr()` read.
    pub fn tcp_connect_info(&self) -> TcpConnectInfo {
        TcpConnectInfo {
            local_addr: self.local_addr,
            remote_addr: self.remote_addr,
        }
    }
}

impl fmt::Debug for MtlsConnectInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsConnectInfo")
            .field("outcome", &self.outcome.label())
            .field("remote_addr", &self.remote_addr)
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

/// The peer address of a request tonic serves: from its [`TcpConnectInfo`]
/// (plain TCP, as behind a TLS-terminating front proxy) or the
/// [`MtlsConnectInfo`] of a connection from [`incoming`](crate::incoming).
/// What `TrustedProxyLayer::peer_addr_from` (mtls-status-tower) takes, so
/// that gRPC services behind Envoy or nginx get the outcome of the
/// certificate the proxy forwarded:
///
/// ```
/// use http::Extensions;
/// use tonic::transport::server::TcpConnectInfo;
///
/// let mut extensions = Extensions::new();
/// assert_eq!(mtls_status_tonic::peer_ip(&extensions), None);
/// extensions.insert(TcpConnectInfo {
///     local_addr: None,
///     remote_addr: Some(([10, 0, 0, 7], 41000).into()),
/// });
/// assert_eq!(mtls_status_tonic::peer_ip(&extensions), Some([10, 0, 0, 7].into()));
/// ```
pub fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    let tcp = extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr);
    tcp.or_else(|| extensions.get::<MtlsConnectInfo>()?.remote_addr())
        .map(|addr| addr.ip())
}
