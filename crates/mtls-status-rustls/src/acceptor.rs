//! The tokio acceptor: plain-HTTP detection, TLS handshake under a timeout,
//! classification of every connection.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_rustls::TlsAcceptor;

use crate::Classifier;
use crate::plain_http::PlainHttpStream;
use crate::stream::MtlsStream;

/// The default [`MtlsAcceptor::handshake_timeout`]: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS record type of a handshake message: the first byte of a ClientHello.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Accepts server-side TLS connections, then classifies the client's
/// certificate chain on every connection, resumed ones included.
///
/// Built from a rustls [`ServerConfig`] whose client-certificate verifier
/// defers the verdict (see [`Classifier::verifier`]) and the same
/// [`Classifier`]. Cheap to clone: one per listener, shared by every
/// connection task.
///
/// For each connection [`accept`](Self::accept):
/// 1. reads the first byte and applies nginx's rule: a byte that is neither
///    `0x16` (a TLS handshake record) nor has bit `0x80` set (an SSLv2-style
///    hello) means plain HTTP, and the connection comes back as
///    [`Accepted::PlainHttp`] to be answered with 497;
/// 2. otherwise completes the TLS handshake, the first byte included;
/// 3. classifies [`peer_certificates`](rustls::CommonState::peer_certificates)
///    against the trust store in force **now**. On resumption rustls restores
///    the chain from the session without calling any verifier, and nginx reuses
///    the cached verdict: a certificate revoked after the session began keeps
///    passing there. Here a resumed connection with a since-revoked
///    certificate is `Invalid(revoked)`.
///
/// Steps 1 and 2 together run under [`handshake_timeout`](Self::handshake_timeout),
/// so a client that connects and sends nothing, or stalls mid-handshake,
/// costs at most that long.
///
/// # How the first byte is looked at
///
/// The byte is **read**, not peeked, so any `AsyncRead + AsyncWrite` works
/// (TCP, Unix sockets, in-memory pipes, a proxy-protocol wrapper). It is never
/// lost: for TLS it is handed to the rustls connection before the handshake
/// starts (the TLS stream is over `IO` itself, no wrapper), and
/// [`PlainHttpStream`] replays it to its reader.
///
/// # Example
///
/// From trust store to verdict, over an in-memory pipe (a `TcpStream` in a
/// server: see [`accept`](Self::accept) and `examples/tokio_rustls_server.rs`):
///
/// ```
/// use std::sync::Arc;
/// use mtls_status::VerifyMode;
/// use mtls_status_rustls::{
///     Accepted, Classifier, MtlsAcceptor, ReloadableTrustStore, TrustStore, server_config,
/// };
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// # let pki = mtls_testpki::Pki::generate();
/// # let (ca_bundle_pem, server_chain, server_key) =
/// #     (pki.ca_bundle_pem(), pki.server.chain(), pki.server.key_der());
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let store = ReloadableTrustStore::new(TrustStore::builder().ca_pem(ca_bundle_pem).build()?);
/// let classifier = Classifier::builder(store, provider.clone()).build()?;
/// let verifier = classifier.verifier(VerifyMode::On);
/// let config = server_config(provider, server_chain, server_key, verifier)?;
/// let acceptor = MtlsAcceptor::new(Arc::new(config), classifier);
///
/// let (client_io, server_io) = tokio::io::duplex(16 * 1024);
/// # let client = tokio::spawn(client_handshake(pki, client_io));
/// // ... a rustls client with a valid certificate connects over `client_io` ...
/// match acceptor.accept(server_io).await? {
///     Accepted::Tls(stream) => {
///         assert!(stream.outcome().is_verified());
///         assert_eq!(stream.outcome().ssl_client_verify(), "SUCCESS");
///         assert_eq!(stream.alpn_protocol(), Some(&b"http/1.1"[..]));
///     }
///     Accepted::PlainHttp(_) => unreachable!("the client speaks TLS"),
///     _ => unreachable!(),
/// }
/// # client.await??;
/// # Ok(())
/// # }
/// # async fn client_handshake(
/// #     pki: mtls_testpki::Pki,
/// #     io: tokio::io::DuplexStream,
/// # ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// #     let mut roots = rustls::RootCertStore::empty();
/// #     roots.add(pki.root.cert_der())?;
/// #     let client = &pki.valid_via_intermediate;
/// #     let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
/// #         .with_safe_default_protocol_versions()?
/// #         .with_root_certificates(roots)
/// #         .with_client_auth_cert(client.chain(), client.key_der())?;
/// #     config.alpn_protocols = vec![b"http/1.1".to_vec()];
/// #     let name = rustls::pki_types::ServerName::try_from("localhost")?;
/// #     let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, io).await?;
/// #     // Stay connected until the server is done with the connection.
/// #     let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut [0u8; 1]).await;
/// #     Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MtlsAcceptor {
    tls: TlsAcceptor,
    classifier: Classifier,
    pub(crate) handshake_timeout: Duration,
}

impl MtlsAcceptor {
    /// An acceptor for `config`, classifying with `classifier`, with the
    /// default handshake timeout of 10 seconds.
    ///
    /// `config` should use `classifier`'s deferred verifier
    /// ([`Classifier::verifier`]); with rustls's own verifier, invalid
    /// certificates fail the handshake instead of reaching the classifier, and
    /// with no client authentication every outcome is `None`.
    pub fn new(config: Arc<ServerConfig>, classifier: Classifier) -> Self {
        Self {
            tls: TlsAcceptor::from(config),
            classifier,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Sets how long a client has, from the start of
    /// [`accept`](Self::accept), to send its first byte and complete the TLS
    /// handshake. Default 10 seconds. Beyond it `accept` fails with
    /// [`AcceptError::Timeout`] and drops the connection.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls server configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        self.tls.config()
    }

    /// The classifier that gives each connection its outcome.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Detects plain HTTP, else completes the TLS handshake and classifies
    /// the client's certificate chain; see the [type docs](Self).
    ///
    /// Run each call in a task of its own (a handshake takes round trips,
    /// and a client may stall up to the timeout), or use
    /// [`MtlsListener`](crate::MtlsListener), which does.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use mtls_status::AnswerStyle;
    /// use mtls_status_rustls::{Accepted, MtlsAcceptor, plain_http_response};
    /// use tokio::io::AsyncWriteExt;
    ///
    /// # async fn serve(acceptor: MtlsAcceptor) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
    /// loop {
    ///     let (tcp, peer) = listener.accept().await?;
    ///     let acceptor = acceptor.clone();
    ///     tokio::spawn(async move {
    ///         match acceptor.accept(tcp).await {
    ///             Ok(Accepted::Tls(mut stream)) => {
    ///                 // Answer by hand; hyper, axum or tonic would go here.
    ///                 let body = stream.outcome().ssl_client_verify();
    ///                 let response = format!(
    ///                     "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
    ///                     body.len()
    ///                 );
    ///                 let _ = stream.write_all(response.as_bytes()).await;
    ///                 let _ = stream.shutdown().await;
    ///             }
    ///             Ok(Accepted::PlainHttp(plain)) => {
    ///                 let answer = plain_http_response(AnswerStyle::Explicit);
    ///                 let _ = plain.respond(&answer, Duration::from_secs(5)).await;
    ///             }
    ///             Ok(_) => {}
    ///             Err(error) => eprintln!("{peer}: {error}"),
    ///         }
    ///     });
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`AcceptError::Timeout`] when the client did not send its first byte
    ///   and finish the handshake within the handshake timeout;
    /// - [`AcceptError::Tls`] when the handshake failed: the client sent
    ///   something that is not TLS, offered nothing in common with the
    ///   configuration, or proved possession of a key that does not match its
    ///   certificate (the CertificateVerify signature is always checked);
    /// - [`AcceptError::Io`] when the connection failed or the client closed
    ///   it before the handshake completed ([`io::ErrorKind::UnexpectedEof`]).
    pub async fn accept<IO>(&self, io: IO) -> Result<Accepted<IO>, AcceptError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let timeout = self.handshake_timeout;
        let accepted = tokio::time::timeout(timeout, self.accept_inner(io))
            .await
            .map_err(|_| AcceptError::Timeout(timeout))??;
        Ok(accepted)
    }

    async fn accept_inner<IO>(&self, mut io: IO) -> Result<Accepted<IO>, AcceptError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let mut first = [0u8; 1];
        if io.read(&mut first).await.map_err(AcceptError::Io)? == 0 {
            return Err(AcceptError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "client closed the connection before sending anything",
            )));
        }
        if is_plain_http(first[0]) {
            return Ok(Accepted::PlainHttp(PlainHttpStream::new(io, first[0])));
        }

        let mut primed = Ok(0);
        let handshake = self.tls.accept_with(io, |connection| {
            // Hand the byte already read to rustls: it is the first byte of
            // the ClientHello record.
            primed = connection.read_tls(&mut &first[..]);
        });
        if let Err(error) = primed {
            return Err(AcceptError::Io(error));
        }
        let tls = handshake.await.map_err(AcceptError::from_handshake)?;
        let outcome = self
            .classifier
            .classify(tls.get_ref().1.peer_certificates());
        Ok(Accepted::Tls(MtlsStream::new(tls, outcome)))
    }
}

impl fmt::Debug for MtlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsAcceptor")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

/// nginx's rule (`ngx_http_ssl_handshake`): a first byte that is neither a TLS
/// handshake record (`0x16`) nor has bit `0x80` set (SSLv2-style hello) is
/// plain HTTP.
fn is_plain_http(first_byte: u8) -> bool {
    first_byte != TLS_HANDSHAKE_RECORD && first_byte & 0x80 == 0
}

/// A connection accepted by [`MtlsAcceptor::accept`].
#[derive(Debug)]
#[non_exhaustive]
// Short-lived (matched right after accept), so the TLS variant's size costs
// nothing worth a Box per connection.
#[allow(clippy::large_enum_variant)]
pub enum Accepted<IO> {
    /// The TLS handshake completed and the client's certificate was
    /// classified.
    Tls(MtlsStream<IO>),
    /// The client speaks plain HTTP: answer it (nginx: 497) with
    /// [`PlainHttpStream::respond`] or read its request.
    PlainHttp(PlainHttpStream<IO>),
}

/// Why [`MtlsAcceptor::accept`] gave up on a connection. The connection is
/// closed; these are the client's problems, worth logging rather than
/// stopping for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The client did not complete the handshake in time (it sent nothing,
    /// or stalled); the value is the handshake timeout.
    #[error(
        "client did not complete the TLS handshake within {0:?} (MtlsAcceptor::handshake_timeout)"
    )]
    Timeout(Duration),
    /// The connection failed, or the client closed it before the handshake
    /// completed (kind [`io::ErrorKind::UnexpectedEof`]).
    #[error("connection failed during the TLS handshake: {0}")]
    Io(#[source] io::Error),
    /// The TLS handshake failed: the client sent something that is not TLS,
    /// had nothing in common with the server configuration, or its
    /// CertificateVerify signature did not match its certificate.
    #[error("TLS handshake failed: {0}")]
    Tls(#[source] rustls::Error),
}

impl AcceptError {
    /// Whether the client merely went away (closed the connection) before
    /// completing the handshake: TCP health checks and port scanners do this.
    pub fn is_closed_by_client(&self) -> bool {
        matches!(self, Self::Io(error) if matches!(
            error.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        ))
    }

    /// tokio-rustls reports rustls errors as `io::Error` of kind
    /// `InvalidData` wrapping the `rustls::Error`: unwrap it.
    fn from_handshake(error: io::Error) -> Self {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            match error
                .into_inner()
                .map(|inner| inner.downcast::<rustls::Error>())
            {
                Some(Ok(tls)) => return Self::Tls(*tls),
                Some(Err(inner)) => return Self::Io(io::Error::other(inner)),
                None => {}
            }
            return Self::Io(io::Error::other("TLS handshake failed"));
        }
        Self::Io(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_plain_http_rule() {
        for byte in [
            b'G', b'P', b'H', b'O', b'D', b'C', b'\r', b'\n', 0x00, 0x15, 0x17, 0x7f,
        ] {
            assert!(is_plain_http(byte), "{byte:#x}");
        }
        for byte in [0x16, 0x80, 0x81, 0xff] {
            assert!(!is_plain_http(byte), "{byte:#x}");
        }
    }

    #[test]
    fn rustls_errors_are_unwrapped() {
        let wrapped = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        );
        assert!(matches!(
            AcceptError::from_handshake(wrapped),
            AcceptError::Tls(rustls::Error::InvalidMessage(_))
        ));
        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        let error = AcceptError::from_handshake(eof);
        assert!(error.is_closed_by_client(), "{error:?}");
        assert!(!AcceptError::Timeout(Duration::from_secs(1)).is_closed_by_client());
    }
}
