//! Plain HTTP sent to the TLS port: the stream handed back for a 497 answer.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use mtls_status::{Answer, AnswerStyle};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The answer [`MtlsListener`](crate::MtlsListener) gives by default to a
/// client that speaks plain HTTP to the TLS port: mtls-status's
/// [`Answer::plain_http`] in the given style, as HTTP/1.1 bytes (497 with a
/// problem+json body, or nginx's 400 page).
///
/// ```
/// use mtls_status::AnswerStyle;
///
/// let bytes = mtls_status_rustls::plain_http_response(AnswerStyle::Explicit);
/// let text = std::str::from_utf8(&bytes).unwrap();
/// assert!(text.starts_with("HTTP/1.1 497 HTTP Request Sent to HTTPS Port\r\n"));
/// assert!(text.contains("\r\nConnection: close\r\n"));
///
/// let nginx = mtls_status_rustls::plain_http_response(AnswerStyle::Nginx);
/// assert!(nginx.ends_with(b"<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"));
/// ```
pub fn plain_http_response(style: AnswerStyle) -> Vec<u8> {
    Answer::plain_http(style).to_http1_bytes()
}

/// The most of the request head read before answering: a longer head is
/// answered all the same, without reading the rest.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// The most read and discarded after answering, so that closing the socket
/// does not reset the connection before the client has read the answer.
const MAX_DRAIN: usize = 64 * 1024;

/// The longest wait for the client to close after the answer was sent.
const MAX_LINGER: Duration = Duration::from_secs(2);

/// A connection whose first byte says the client speaks plain HTTP, not TLS
/// (nginx's rule: neither `0x16`, a TLS handshake record, nor a byte with bit
/// `0x80` set, an SSLv2-style hello).
///
/// Produced by [`MtlsAcceptor::accept`](crate::MtlsAcceptor::accept). The
/// first byte was read to make that decision; this stream replays it, so
/// reading it yields the client's bytes exactly as sent (`G` of `GET ...`
/// first). Writes go straight to the underlying connection.
///
/// [`respond`](Self::respond) answers in one call (nginx answers 497 "The plain
/// HTTP request was sent to HTTPS port"); an application that wants to redirect
/// to `https://` can instead read the request itself.
pub struct PlainHttpStream<IO> {
    io: IO,
    first_byte: Option<u8>,
}

impl<IO> PlainHttpStream<IO> {
    pub(crate) fn new(io: IO, first_byte: u8) -> Self {
        Self {
            io,
            first_byte: Some(first_byte),
        }
    }

    /// The first byte the client sent, which decided that this is plain HTTP.
    /// `None` once it has been read through this stream.
    pub fn first_byte(&self) -> Option<u8> {
        self.first_byte
    }

    /// The underlying connection. Reading from it directly skips the first
    /// byte (see [`first_byte`](Self::first_byte)).
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The underlying connection, mutably. Reading from it directly skips the
    /// first byte (see [`first_byte`](Self::first_byte)).
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// The underlying connection and the first byte, if it was not read yet.
    pub fn into_parts(self) -> (IO, Option<u8>) {
        (self.io, self.first_byte)
    }
}

impl PlainHttpStream<TcpStream> {
    /// The client's address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.io.peer_addr()
    }
}

impl<IO> PlainHttpStream<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    /// Answers the client with `response` (a complete HTTP/1.x response, e.g.
    /// [`plain_http_response`]) and closes the connection, all within
    /// `timeout`.
    ///
    /// Like nginx, it first reads the request head (up to the blank line, at
    /// most 16 KiB), then writes the answer and shuts the write side down,
    /// then reads and discards what the client still sends (at most 64 KiB, at
    /// most 2 seconds, never beyond `timeout`) until it closes: closing a
    /// socket with unread input makes the kernel reset the connection, and a
    /// reset can destroy the answer before the client has read it.
    ///
    /// # Errors
    ///
    /// An I/O error while reading the request or writing the answer, or
    /// [`io::ErrorKind::TimedOut`] if the request could not be read and
    /// answered within `timeout`. The client may have received the answer
    /// anyway; the connection is closed in every case.
    pub async fn respond(mut self, response: &[u8], timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        tokio::time::timeout_at(deadline, async {
            self.read_request_head().await?;
            self.io.write_all(response).await?;
            self.io.flush().await?;
            self.io.shutdown().await
        })
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("plain HTTP client was not answered within {timeout:?}"),
            )
        })??;
        // Best effort: the answer is out, wait briefly for the client to close.
        let linger = deadline.min(Instant::now() + MAX_LINGER);
        let _ = tokio::time::timeout_at(linger, self.drain()).await;
        Ok(())
    }

    /// Reads until the end of the request head (`\r\n\r\n`), the end of the
    /// input, or [`MAX_REQUEST_HEAD`] bytes.
    async fn read_request_head(&mut self) -> io::Result<()> {
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0u8; 1024];
        while head.len() < MAX_REQUEST_HEAD {
            let want = chunk.len().min(MAX_REQUEST_HEAD - head.len());
            let n = self.read(&mut chunk[..want]).await?;
            if n == 0 {
                break;
            }
            // Look for the terminator across the chunk boundary too.
            let from = head.len().saturating_sub(3);
            head.extend_from_slice(&chunk[..n]);
            if head[from..].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        Ok(())
    }

    /// Reads and discards until the end of the input or [`MAX_DRAIN`] bytes.
    async fn drain(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 1024];
        let mut drained = 0;
        while drained < MAX_DRAIN {
            let n = self.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            drained += n;
        }
        Ok(())
    }
}

impl<IO: fmt::Debug> fmt::Debug for PlainHttpStream<IO> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainHttpStream")
            .field("io", &self.io)
            .field("first_byte", &self.first_byte)
            .finish()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for PlainHttpStream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if let Some(byte) = this.first_byte.take() {
            buf.put_slice(&[byte]);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for PlainHttpStream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_response_content_length_matches_body() {
        let response = plain_http_response(AnswerStyle::Explicit);
        let text = std::str::from_utf8(&response).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
    }

    #[tokio::test]
    async fn replays_first_byte_then_reads_through() {
        let (client, server) = tokio::io::duplex(64);
        let mut client = client;
        client.write_all(b"ET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut stream = PlainHttpStream::new(server, b'G');
        assert_eq!(stream.first_byte(), Some(b'G'));
        let mut got = [0u8; 18];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(stream.first_byte(), None);
    }

    #[tokio::test]
    async fn respond_reads_head_answers_and_closes() {
        let (mut client, server) = tokio::io::duplex(256);
        client
            .write_all(b"ET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let stream = PlainHttpStream::new(server, b'G');
        let task = tokio::spawn(stream.respond(b"HTTP/1.1 497 X\r\n\r\n", Duration::from_secs(5)));
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"HTTP/1.1 497 X\r\n\r\n");
        drop(client);
        task.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn respond_times_out_on_a_stalled_client() {
        let (_client, server) = tokio::io::duplex(64);
        let stream = PlainHttpStream::new(server, b'G');
        let err = stream
            .respond(
                &plain_http_response(AnswerStyle::Explicit),
                Duration::from_millis(100),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
