//! A server-side TLS stream that carries its client-certificate verdict.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use mtls_status::ClientAuthOutcome;
use rustls::pki_types::CertificateDer;
use rustls::{HandshakeKind, ProtocolVersion, ServerConnection};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A TLS connection whose handshake has completed and whose client
/// certificate has been classified.
///
/// Produced by [`MtlsAcceptor::accept`](crate::MtlsAcceptor::accept) and
/// [`MtlsListener`](crate::MtlsListener). Reads and writes go through the
/// tokio-rustls server stream; [`outcome`](Self::outcome) is the verdict for
/// the whole connection, computed against the trust store in force when the
/// handshake finished, resumed handshakes included.
pub struct MtlsStream<IO> {
    // Boxed: a rustls connection is over a kilobyte, and streams move
    // through enums and channels before they are served.
    tls: Box<TlsStream<IO>>,
    outcome: Arc<ClientAuthOutcome>,
}

impl<IO> MtlsStream<IO> {
    pub(crate) fn new(tls: TlsStream<IO>, outcome: Arc<ClientAuthOutcome>) -> Self {
        Self {
            tls: Box::new(tls),
            outcome,
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

    /// The tokio-rustls stream and the verdict.
    pub fn into_parts(self) -> (TlsStream<IO>, Arc<ClientAuthOutcome>) {
        (*self.tls, self.outcome)
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
            .finish_non_exhaustive()
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
        Pin::new(&mut *self.get_mut().tls).poll_read(cx, buf)
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
        Pin::new(&mut *self.get_mut().tls).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().tls).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().tls).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().tls).poll_shutdown(cx)
    }
}
