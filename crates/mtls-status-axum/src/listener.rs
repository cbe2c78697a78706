//! [`ClientAuthListener`]: axum's `Listener` over the concurrent-handshake
//! [`MtlsListener`].

use std::fmt;
use std::io;
use std::net::SocketAddr;

use axum::serve::Listener;
use mtls_status_rustls::{MtlsListener, MtlsStream};
use tokio::net::TcpStream;

/// An [`axum::serve::Listener`] that hands out TLS connections whose client
/// certificate has already been classified.
///
/// It wraps [`MtlsListener`] from `mtls-status-rustls`, which runs every TLS
/// handshake in a task of its own (bounded in number and in time) and answers
/// plain HTTP with 497. That matters because `axum::serve` awaits
/// [`accept`](Listener::accept) serially: a listener that handshook inside
/// `accept` would let one slow client stall every other. Here `accept` only
/// takes the next finished connection off a queue.
///
/// Serve it with [`serve`](crate::serve()), or with `axum::serve` and
/// [`into_make_service_with_client_auth`](crate::ClientAuthRouterExt::into_make_service_with_client_auth);
/// both put each connection's verdict into every request (see the
/// [crate docs](crate) for a complete server). Served with a plain
/// `Router`, the verdicts never reach the requests, and
/// `VerifyClientLayer` and the extractors answer 500.
///
/// The listener bounds the handshake (in time and in number), and every
/// connection it hands out carries the acceptor's
/// [idle timeout](mtls_status_rustls::MtlsAcceptor::idle_timeout): a
/// connection on which no byte is read or written for that long (default
/// 5 minutes) is closed, the [`MtlsStream`] failing its reads and writes
/// with `TimedOut`. That matters because `axum::serve` (axum 0.8) sets no
/// HTTP timeouts of its own: without it, a client that completes the
/// handshake and then sends nothing, or idles between keep-alive requests,
/// would keep its connection and task until it left. Traffic in either
/// direction keeps a connection open (a response streamed to a silent
/// client, HTTP/2 PINGs). Facing untrusted clients, lower it to nginx's
/// values (`.idle_timeout(Duration::from_secs(60))`). It bounds silence,
/// not slowness: a client trickling its request head a byte at a time is
/// stopped by [`serve`](crate::serve())'s header-read timeout (default
/// 30 s), which `axum::serve` has no way to set.
///
/// ```no_run
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use mtls_status_axum::ClientAuthListener;
/// use mtls_status_rustls::{MtlsAcceptor, MtlsListener};
///
/// # async fn run(acceptor: MtlsAcceptor) -> std::io::Result<()> {
/// // nginx's keepalive_timeout instead of the default 5 minutes.
/// let acceptor = acceptor.idle_timeout(Duration::from_secs(75));
/// let listener = MtlsListener::builder(acceptor)
///     .max_concurrent_handshakes(1024)
///     .bind("0.0.0.0:8443")
///     .await?;
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// mtls_status_axum::serve(ClientAuthListener::new(listener), app).await
/// # }
/// ```
pub struct ClientAuthListener {
    inner: MtlsListener,
}

impl ClientAuthListener {
    /// Serves the connections `listener` accepts.
    pub fn new(listener: MtlsListener) -> Self {
        Self { inner: listener }
    }

    /// The wrapped listener (e.g. for
    /// [`handshakes_in_progress`](MtlsListener::handshakes_in_progress)).
    pub fn get_ref(&self) -> &MtlsListener {
        &self.inner
    }

    /// The wrapped listener, mutably.
    pub fn get_mut(&mut self) -> &mut MtlsListener {
        &mut self.inner
    }

    /// The wrapped listener.
    pub fn into_inner(self) -> MtlsListener {
        self.inner
    }
}

impl From<MtlsListener> for ClientAuthListener {
    fn from(listener: MtlsListener) -> Self {
        Self::new(listener)
    }
}

impl Listener for ClientAuthListener {
    type Io = MtlsStream<TcpStream>;
    type Addr = SocketAddr;

    /// The next connection whose handshake completed; failed handshakes and
    /// plain-HTTP clients are dealt with (logged, answered 497) by
    /// [`MtlsListener`] and never come here.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        self.inner.accept_tls().await
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.inner.local_addr())
    }
}

impl fmt::Debug for ClientAuthListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientAuthListener")
            .field(&self.inner)
            .finish()
    }
}
