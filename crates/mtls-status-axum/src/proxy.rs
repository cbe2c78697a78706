//! Behind a TLS-terminating front proxy: the peer address axum knows, for
//! [`TrustedProxyLayer`](mtls_status_tower::TrustedProxyLayer).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::Extensions;

/// The TCP peer address axum puts in each request as
/// `ConnectInfo<SocketAddr>` (`into_make_service_with_connect_info::<SocketAddr>()`,
/// or this crate's make-service), for
/// [`TrustedProxyLayer::peer_addr_from`](mtls_status_tower::TrustedProxyLayer::peer_addr_from).
///
/// ```
/// use std::net::SocketAddr;
/// use axum::extract::ConnectInfo;
///
/// let mut extensions = http::Extensions::new();
/// assert_eq!(mtls_status_axum::connect_info_peer(&extensions), None);
/// extensions.insert(ConnectInfo("10.0.0.1:4000".parse::<SocketAddr>().unwrap()));
/// assert_eq!(mtls_status_axum::connect_info_peer(&extensions), Some("10.0.0.1".parse().unwrap()));
/// ```
pub fn connect_info_peer(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}
