//! Feature `metrics`: what this crate records through the `metrics`
//! facade, by the functions and under the names of
//! [`mtls_status::metrics`] (its module docs hold the one table).

#[cfg(feature = "tokio")]
use mtls_status::metrics::HandshakeFailure;
use mtls_status::metrics::TrustStoreGauges;

use crate::trust_store::TrustStore;

/// Counts one handshake that did not produce a classified connection.
#[cfg(feature = "tokio")]
pub(crate) fn handshake_failed(cause: HandshakeFailure) {
    mtls_status::metrics::record_handshake_failure(cause);
}

/// Counts the failure (or plain-HTTP client) of one
/// [`MtlsAcceptor`](crate::MtlsAcceptor) accept.
#[cfg(feature = "tokio")]
pub(crate) fn accepted<IO>(accepted: &Result<crate::Accepted<IO>, crate::AcceptError>) {
    use crate::{AcceptError, Accepted};

    let cause = match accepted {
        Ok(Accepted::PlainHttp(_)) => HandshakeFailure::PlainHttp,
        Ok(_) => return,
        Err(AcceptError::Timeout(_) | AcceptError::ClientHelloTimeout(_)) => {
            HandshakeFailure::Timeout
        }
        Err(AcceptError::Tls(_)) => HandshakeFailure::TlsError,
        Err(error) if error.is_closed_by_client() => HandshakeFailure::Closed,
        Err(_) => HandshakeFailure::IoError,
    };
    handshake_failed(cause);
}

/// Sets the trust-store gauges from `store`, the store now in force.
pub(crate) fn trust_store_installed(store: &TrustStore) {
    let earliest = store
        .anchor_info()
        .iter()
        .chain(store.intermediate_info())
        .map(|ca| ca.validity.not_after().as_secs())
        .min();
    let gauges = store.crl_info().iter().fold(
        TrustStoreGauges::new(earliest, store.anchor_count(), store.intermediate_count()),
        |gauges, crl| gauges.crl(crl.issuer_dn.clone(), crl.next_update, crl.revoked),
    );
    mtls_status::metrics::record_trust_store(&gauges);
}
