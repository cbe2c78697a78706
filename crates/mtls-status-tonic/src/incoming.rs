//! [`incoming`]: an [`MtlsListener`] as the connection stream tonic's
//! `Server::serve_with_incoming` takes.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use mtls_status_rustls::{MtlsListener, MtlsStream};
use tokio::net::TcpStream;
use tokio_stream::Stream;

use crate::io::TlsIo;

/// The connections of `listener`, for tonic's
/// `Server::builder()...serve_with_incoming(incoming(listener))`.
///
/// Each item is a finished, classified TLS connection ([`TlsIo`]); tonic
/// puts its [`MtlsConnectInfo`](crate::MtlsConnectInfo) into the extensions
/// of every request on it. Handshakes run concurrently in the listener's
/// background tasks, under its timeout and cap; plain HTTP sent to the port
/// is answered there (497) and failed handshakes are logged and skipped, so
/// the stream never yields an error and never ends.
///
/// The server's rustls config must offer ALPN `h2` (gRPC is HTTP/2):
/// [`server_config`](mtls_status_rustls::server_config) offers `h2` and
/// `http/1.1`; for a gRPC-only port, `server_config_with_alpn(.., vec![b"h2".to_vec()])`.
///
/// ```no_run
/// # use mtls_status_rustls::MtlsAcceptor;
/// # async fn run(acceptor: MtlsAcceptor, routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
/// use mtls_status_rustls::MtlsListener;
///
/// let listener = MtlsListener::builder(acceptor).bind("0.0.0.0:50051").await?;
/// tonic::transport::Server::builder()
///     .add_routes(routes)
///     .serve_with_incoming(mtls_status_tonic::incoming(listener))
///     .await?;
/// # Ok(())
/// # }
/// ```
pub fn incoming(listener: MtlsListener) -> MtlsIncoming {
    MtlsIncoming {
        local_addr: listener.local_addr(),
        state: State::Idle(Some(listener)),
    }
}

/// The stream of connections returned by [`incoming`]. Dropping it drops
/// the listener, which closes the port.
#[must_use = "streams do nothing unless polled"]
pub struct MtlsIncoming {
    local_addr: SocketAddr,
    state: State,
}

type Accept =
    Pin<Box<dyn Future<Output = (MtlsListener, MtlsStream<TcpStream>, SocketAddr)> + Send>>;

enum State {
    /// Waiting to be polled; `None` only while a poll moves the listener
    /// into the accept future.
    Idle(Option<MtlsListener>),
    /// `accept_tls` in progress; the future owns the listener and returns it.
    Accepting(Accept),
}

impl MtlsIncoming {
    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Stream for MtlsIncoming {
    type Item = Result<TlsIo, io::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Idle(listener) => {
                    // `None` cannot be observed here: it is only set for the
                    // moment between `take` and the assignment below. End the
                    // stream rather than panic if that ever changes.
                    let Some(mut listener) = listener.take() else {
                        return Poll::Ready(None);
                    };
                    this.state = State::Accepting(Box::pin(async move {
                        // Never fails; cancel safe (dropping the stream drops
                        // this future and the listener with it).
                        let (stream, peer) = listener.accept_tls().await;
                        (listener, stream, peer)
                    }));
                }
                State::Accepting(accept) => {
                    let (listener, stream, peer) = match accept.as_mut().poll(cx) {
                        Poll::Ready(accepted) => accepted,
                        Poll::Pending => return Poll::Pending,
                    };
                    this.state = State::Idle(Some(listener));
                    return Poll::Ready(Some(Ok(TlsIo::new(stream, peer))));
                }
            }
        }
    }
}

impl fmt::Debug for MtlsIncoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(_) => "Idle",
            State::Accepting(_) => "Accepting",
        };
        f.debug_struct("MtlsIncoming")
            .field("local_addr", &self.local_addr)
            .field("state", &state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tonic's `serve_with_incoming` future is spawned in practice: the
    /// stream and its items must be `Send`.
    #[test]
    fn stream_and_items_are_send() {
        fn send<T: Send + 'static>() {}
        send::<MtlsIncoming>();
        send::<TlsIo>();
    }
}
