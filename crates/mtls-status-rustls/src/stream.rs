//! A server-side TLS stream that carries its client-certificate verdict.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use mtls_status::ClientAuthOutcome;
use rustls::pki_types::CertificateDer;
use rustls::{HandshakeKind, ProtocolVersion, ServerConnection};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::idle::{Direction, IdleTimer};

/// A TLS connection whose handshake has completed and whose client
/// certificate has been classified.
///
/// Produced by [`MtlsAcceptor::accept`](crate::MtlsAcceptor::accept) and
/// [`MtlsListener`](crate::MtlsListener). Reads and writes go through the
/// tokio-rustls server stream; [`outcome`](Self::outcome) is the verdict for
/// the whole connection, computed against the trust store in force when the
/// handshake finished, resumed handshakes included.
///
/// # Idle timeout
///
/// A stream on which no byte is read and no byte is written for the
/// [idle timeout](crate::MtlsAcceptor::idle_timeout) (default
/// [5 minutes](crate::DEFAULT_IDLE_TIMEOUT)) is closed: the read or write
/// that was waiting fails with [`io::ErrorKind::TimedOut`], and so does
/// every later read, write and flush ([`poll_shutdown`](AsyncWrite::poll_shutdown)
/// makes one attempt to send the TLS close_notify, without waiting). The
/// HTTP server serving the stream (hyper, axum, tonic) then drops the
/// connection, whichever server it is and whatever timeouts it has.
///
/// Progress in **either** direction keeps the stream open: a server
/// streaming a response (server-sent events, gRPC server streaming) keeps
/// writing while its client sends nothing, a client uploading keeps the
/// server reading while it answers nothing, and HTTP/2 PINGs go both ways.
/// What closes it:
/// a client that completes the handshake and sends nothing; an idle
/// keep-alive connection; a client that stops reading a response, so that
/// writes wait; and a handler silent for longer than the timeout, as HTTP
/// servers keep reading while their handler runs (nginx's
/// `proxy_read_timeout`, 60 s, ends those too).
///
/// The clock runs from the last byte read or written, and is looked at
/// only when an operation has to wait. Bytes of TLS records that carry no
/// application data (empty records, alerts) are no progress, nor is time
/// spent in a flush. It bounds silence, not slowness: a client trickling
/// one byte a minute is the HTTP server's business (hyper's
/// `header_read_timeout` bounds the whole request head). Change it per
/// connection with [`set_idle_timeout`](Self::set_idle_timeout), e.g.
/// for a long-polling route.
pub struct MtlsStream<IO> {
    // Boxed: a rustls connection is over a kilobyte, and streams move
    // through enums and channels before they are served.
    tls: Box<TlsStream<IO>>,
    outcome: Arc<ClientAuthOutcome>,
    idle: IdleTimer,
}

impl<IO> MtlsStream<IO> {
    pub(crate) fn new(
        tls: TlsStream<IO>,
        outcome: Arc<ClientAuthOutcome>,
        idle_timeout: Option<Duration>,
    ) -> Self {
        Self {
            tls: Box::new(tls),
            outcome,
            idle: IdleTimer::new(idle_timeout),
        }
    }

    /// The verdict on the client's certificate: `None`, `Invalid(reason)` or
    /// `Verified(identity)`. Clone the `Arc` to hand it to every request on
    /// the connection.
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        &self.outcome
    }

    /// Whether this was a full handshake or a resumption. A resumed
    /// connection was classified all the same.
    pub fn handshake_kind(&self) -> HandshakeKind {
        // rustls sets the kind while handshaking; the handshake is over.
        self.connection()
            .handshake_kind()
            .unwrap_or(HandshakeKind::Full)
    }

    /// Whether the handshake resumed an earlier session.
    pub fn is_resumed(&self) -> bool {
        self.handshake_kind() == HandshakeKind::Resumed
    }

    /// The negotiated TLS version.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.connection().protocol_version()
    }

    /// The negotiated ALPN protocol (`b"h2"`, `b"http/1.1"`), if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.connection().alpn_protocol()
    }

    /// The server name (SNI) the client asked for, if it sent one.
    pub fn server_name(&self) -> Option<&str> {
        self.connection().server_name()
    }

    /// The certificate chain the client sent (leaf first, as sent; restored
    /// from the session on resumption), or `None`. Unverified: use
    /// [`outcome`](Self::outcome) to decide anything.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        self.connection().peer_certificates()
    }

    /// The underlying transport and the rustls connection.
    pub fn get_ref(&self) -> (&IO, &ServerConnection) {
        self.tls.get_ref()
    }

    /// The underlying transport and the rustls connection, mutably. Writing
    /// to or reading from the transport directly corrupts the TLS stream.
    pub fn get_mut(&mut self) -> (&mut IO, &mut ServerConnection) {
        self.tls.get_mut()
    }

    /// The tokio-rustls stream and the verdict. The idle timeout no longer
    /// applies to the tokio-rustls stream.
    pub fn into_parts(self) -> (TlsStream<IO>, Arc<ClientAuthOutcome>) {
        (*self.tls, self.outcome)
    }

    /// The idle timeout in force on this stream (`None`: none); see
    /// [Idle timeout](Self#idle-timeout).
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle.timeout()
    }

    /// Sets this stream's idle timeout (`None` or [`Duration::ZERO`]: none)
    /// and restarts its clock: the stream is closed if nothing is read or
    /// written for `timeout` from now on. A stream already closed by its
    /// idle timeout stays closed.
    pub fn set_idle_timeout(&mut self, timeout: impl Into<Option<Duration>>) {
        self.idle.set_timeout(timeout.into());
    }

    /// Whether the idle timeout closed this stream (its reads and writes
    /// fail with [`io::ErrorKind::TimedOut`]).
    pub fn is_idle_timed_out(&self) -> bool {
        self.idle.is_expired()
    }

    fn connection(&self) -> &ServerConnection {
        self.tls.get_ref().1
    }
}

impl MtlsStream<TcpStream> {
    /// The client's address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.get_ref().0.peer_addr()
    }

    /// The local address the client connected to.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.get_ref().0.local_addr()
    }
}

impl<IO: fmt::Debug> fmt::Debug for MtlsStream<IO> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsStream")
            .field("io", self.get_ref().0)
            .field("outcome", &self.outcome.label())
            .field("handshake_kind", &self.connection().handshake_kind())
            .field("protocol_version", &self.protocol_version())
            .field("idle_timeout", &self.idle.timeout())
            .field("idle_timed_out", &self.idle.is_expired())
            .finish_non_exhaustive()
    }
}

impl<IO> MtlsStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Runs a write-side operation (`op` returns bytes moved, or `()`)
    /// under the idle timeout.
    fn poll_write_op<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TlsStream<IO>>, &mut Context<'_>) -> Poll<io::Result<T>>,
        moved: impl FnOnce(&T) -> bool,
    ) -> Poll<io::Result<T>> {
        if self.idle.is_expired() {
            return Poll::Ready(Err(self.idle.expired_error()));
        }
        match op(Pin::new(&mut *self.tls), cx) {
            Poll::Ready(result) => {
                if result.as_ref().is_ok_and(moved) {
                    self.idle.progress();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.idle.poll_expired(Direction::Write, cx).map(Err),
        }
    }
}

impl<IO> AsyncRead for MtlsStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.idle.is_expired() {
            return Poll::Ready(Err(this.idle.expired_error()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut *this.tls).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.idle.progress();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.idle.poll_expired(Direction::Read, cx).map(Err),
        }
    }
}

impl<IO> AsyncWrite for MtlsStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_op(cx, |tls, cx| tls.poll_write(cx, buf), |&n| n > 0)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_write_op(cx, |tls, cx| tls.poll_write_vectored(cx, bufs), |&n| n > 0)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A flush reports no byte count: waiting in it is no progress.
        self.get_mut()
            .poll_write_op(cx, |tls, cx| tls.poll_flush(cx), |_| false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.idle.is_expired() {
            // One attempt at a clean close (close_notify), never a wait.
            return match Pin::new(&mut *this.tls).poll_shutdown(cx) {
                Poll::Ready(result) => Poll::Ready(result),
                Poll::Pending => Poll::Ready(Err(this.idle.expired_error())),
            };
        }
        this.poll_write_op(cx, |tls, cx| tls.poll_shutdown(cx), |_| false)
    }
}
