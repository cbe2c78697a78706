//! [`TlsIo`]: a classified TLS connection as tonic serves it.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use mtls_status::ClientAuthOutcome;
use mtls_status_rustls::MtlsStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::Connected;

use crate::connect_info::MtlsConnectInfo;

/// One TLS connection from an [`MtlsListener`](mtls_status_rustls::MtlsListener),
/// ready for tonic's `Server::serve_with_incoming`.
///
/// Reads and writes go through the [`MtlsStream`]; as tonic's
/// [`Connected`] it yields an [`MtlsConnectInfo`], which tonic inserts into
/// the extensions of every request on the connection.
///
/// Usually produced by [`incoming`](crate::incoming); build one yourself
/// with [`new`](Self::new) when you run your own accept loop.
pub struct TlsIo {
    stream: MtlsStream<TcpStream>,
    info: MtlsConnectInfo,
}

impl TlsIo {
    /// Wraps `stream`, a connection from `remote_addr`. The local address is
    /// read from the socket.
    pub fn new(stream: MtlsStream<TcpStream>, remote_addr: SocketAddr) -> Self {
        let info = MtlsConnectInfo::new(
            Arc::clone(stream.outcome()),
            Some(remote_addr),
            stream.local_addr().ok(),
        );
        Self { stream, info }
    }

    /// The verdict on the client's certificate.
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        self.info.outcome()
    }

    /// What tonic attaches to each request on this connection.
    pub fn connect_info(&self) -> &MtlsConnectInfo {
        &self.info
    }

    /// The TLS stream.
    pub fn get_ref(&self) -> &MtlsStream<TcpStream> {
        &self.stream
    }

    /// The TLS stream.
    pub fn into_inner(self) -> MtlsStream<TcpStream> {
        self.stream
    }
}

impl Connected for TlsIo {
    type ConnectInfo = MtlsConnectInfo;

    fn connect_info(&self) -> MtlsConnectInfo {
        self.info.clone()
    }
}

impl fmt::Debug for TlsIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIo")
            .field("stream", &self.stream)
            .field("remote_addr", &self.info.remote_addr())
            .finish()
    }
}

impl AsyncRead for TlsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
