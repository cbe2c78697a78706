//! The tokio acceptor: plain-HTTP detection, TLS handshake under a timeout,
//! classification of every connection.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use mtls_status::VerifyMode;
use rustls::ServerConfig;
use rustls::server::danger::ClientCertVerifier;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_rustls::{LazyConfigAcceptor, StartHandshake};

use crate::Classifier;
use crate::config::DEFAULT_ALPN;
use crate::hot_swap::ConfigSlot;
use crate::idle::DEFAULT_IDLE_TIMEOUT;
use crate::plain_http::PlainHttpStream;
use crate::server_cert::ServerCertificate;
use crate::stream::MtlsStream;

/// The default [`MtlsAcceptor::handshake_timeout`]: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS record type of a handshake message: the first byte of a ClientHello.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Accepts server-side TLS connections, then classifies the client's
/// certificate chain on every connection, resumed ones included.
///
/// Built by [`new`](Self::new) from the [`Classifier`] and a
/// [`ServerCertificate`]: the rustls configuration uses the classifier's
/// deferred verifier, so the two cannot disagree. Cheap to clone: one per
/// listener, shared by every connection task.
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
/// costs at most that long. After the handshake, the
/// [`idle_timeout`](Self::idle_timeout) of the [`MtlsStream`] closes a
/// connection on which nothing moves, in either direction, for that long
/// (default 5 minutes).
///
/// # Reloads and rotation
///
/// Classification always uses the trust store in force. The CA names
/// advertised in the CertificateRequest come from the configuration's
/// verifier, which copies them when it is built: an acceptor made with
/// [`new`](Self::new) or [`from_config_fn`](Self::from_config_fn) rebuilds
/// its configuration when the store's generation changes, so the names follow
/// reloads as in nginx; one made with [`with_fixed_config`](Self::with_fixed_config)
/// keeps its configuration until [`set_config`](Self::set_config) swaps it.
/// The server certificate of [`new`](Self::new) rotates with its
/// [`ServerCertificate`]. Either way the configuration is shared by every
/// clone of the acceptor and by the [`MtlsListener`](crate::MtlsListener)
/// built from it.
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
///     Accepted, Classifier, MtlsAcceptor, ReloadableTrustStore, ServerCertificate, TrustStore,
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
/// let server_cert = ServerCertificate::new(provider, server_chain, server_key)?;
/// let acceptor = MtlsAcceptor::new(classifier, VerifyMode::On, server_cert)?;
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
    slot: Arc<ConfigSlot>,
    classifier: Classifier,
    server_cert: Option<ServerCertificate>,
    pub(crate) handshake_timeout: Duration,
    idle_timeout: Option<Duration>,
    #[cfg(feature = "ocsp")]
    ocsp: Option<crate::OcspChecker>,
}

impl MtlsAcceptor {
    /// An acceptor that presents `server_cert` and classifies with
    /// `classifier` under `mode`: the rustls configuration is built here,
    /// from the classifier's deferred verifier, so the two cannot disagree.
    ///
    /// The configuration uses the provider's safe default protocol versions
    /// (TLS 1.2 and 1.3) and ALPN `h2`, `http/1.1`
    /// ([`DEFAULT_ALPN`](crate::DEFAULT_ALPN)). It follows the trust store:
    /// after a [reload](crate::ReloadableTrustStore::reload) the next
    /// handshake advertises the new CA names, sessions from before still
    /// resume; and it follows `server_cert`: a
    /// [`replace`](ServerCertificate::replace) or
    /// [`reload`](ServerCertificate::reload) reaches the next handshake.
    /// Default handshake timeout 10 seconds, idle timeout 5 minutes.
    ///
    /// For a hand-made configuration, see [`from_config_fn`](Self::from_config_fn)
    /// and [`with_fixed_config`](Self::with_fixed_config).
    ///
    /// # Errors
    ///
    /// The rustls error if `server_cert`'s provider offers no safe protocol
    /// version.
    pub fn new(
        classifier: Classifier,
        mode: VerifyMode,
        server_cert: ServerCertificate,
    ) -> Result<Self, rustls::Error> {
        let provider = Arc::clone(server_cert.provider());
        let resolver = Arc::new(server_cert.clone());
        let make = move |verifier: Arc<dyn ClientCertVerifier>| {
            let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
                .with_safe_default_protocol_versions()?
                .with_client_cert_verifier(verifier)
                .with_cert_resolver(resolver.clone());
            config.alpn_protocols = DEFAULT_ALPN.iter().map(|p| p.to_vec()).collect();
            Ok(config)
        };
        let slot = ConfigSlot::following(&classifier, mode, Box::new(make))?;
        Ok(Self::with_slot(slot, classifier, Some(server_cert)))
    }

    /// **Experts:** an acceptor for `config` exactly as given, classifying
    /// with `classifier`. Prefer [`new`](Self::new).
    ///
    /// Nothing ties `config` to `classifier`: it should use
    /// `classifier.verifier(mode)`. With rustls's own verifier, invalid
    /// certificates fail the handshake instead of reaching the classifier;
    /// with another classifier's verifier the CA names advertised are not
    /// those classified against; with no client authentication every outcome
    /// is `None`. The CA names stay those of `config`'s verifier until
    /// [`set_config`](Self::set_config) installs another.
    pub fn with_fixed_config(config: Arc<ServerConfig>, classifier: Classifier) -> Self {
        let slot = ConfigSlot::fixed(config, &classifier);
        Self::with_slot(slot, classifier, None)
    }

    /// An acceptor whose configuration `make_config` builds from
    /// `classifier.verifier(mode)`, now and, with a fresh verifier, by the
    /// first handshake after the trust store's
    /// [generation](crate::TrustStore::generation) changed, so the CA names
    /// advertised follow reloads as nginx re-reads `ssl_client_certificate`.
    /// Use it for settings [`new`](Self::new) does not offer (ALPN,
    /// protocol versions, a certificate resolver of your own).
    ///
    /// Each rebuilt configuration keeps the `session_storage` and `ticketer`
    /// of the one it replaces, so sessions established before a reload can
    /// still be resumed (and are classified against the store in force).
    /// If `make_config` fails on a rebuild, the configuration in force stays,
    /// the error is logged with `tracing::error!`, and the next reload tries
    /// again.
    ///
    /// # Errors
    ///
    /// The error of the first `make_config` call.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mtls_status::VerifyMode;
    /// use mtls_status_rustls::{
    ///     Classifier, MtlsAcceptor, ReloadableTrustStore, TrustStore, server_config,
    /// };
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pki = mtls_testpki::Pki::generate();
    /// # let (server_chain, server_key) = (pki.server.chain(), pki.server.key_der());
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let store = ReloadableTrustStore::new(
    ///     TrustStore::builder().ca_pem(pki.root.cert_pem()).build()?,
    /// );
    /// let classifier = Classifier::builder(store.clone(), provider.clone()).build()?;
    /// let acceptor = MtlsAcceptor::from_config_fn(classifier, VerifyMode::On, move |verifier| {
    ///     server_config(provider.clone(), server_chain.clone(), server_key.clone_key(), verifier)
    /// })?;
    /// let before = acceptor.config();
    ///
    /// // Later, e.g. on SIGHUP: the next handshake advertises the new CA.
    /// store.replace(TrustStore::builder().ca_pem(pki.unknown_root.cert_pem()).build()?);
    /// let after = acceptor.config();
    /// assert!(!Arc::ptr_eq(&before, &after));
    /// // Sessions from before the reload can still be resumed.
    /// assert!(Arc::ptr_eq(&before.session_storage, &after.session_storage));
    /// # Ok(()) }
    /// ```
    pub fn from_config_fn<F>(
        classifier: Classifier,
        mode: VerifyMode,
        make_config: F,
    ) -> Result<Self, rustls::Error>
    where
        F: Fn(Arc<dyn ClientCertVerifier>) -> Result<ServerConfig, rustls::Error>
            + Send
            + Sync
            + 'static,
    {
        let slot = ConfigSlot::following(&classifier, mode, Box::new(make_config))?;
        Ok(Self::with_slot(slot, classifier, None))
    }

    fn with_slot(
        slot: ConfigSlot,
        classifier: Classifier,
        server_cert: Option<ServerCertificate>,
    ) -> Self {
        Self {
            slot: Arc::new(slot),
            classifier,
            server_cert,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            #[cfg(feature = "ocsp")]
            ocsp: None,
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

    /// Sets how long an established connection may go without a byte read
    /// or written before it is closed: its [`MtlsStream`]'s pending and
    /// later reads and writes fail with [`io::ErrorKind::TimedOut`], and the
    /// HTTP server serving it (hyper, axum, tonic, a hand-written loop) drops
    /// it. `None` or [`Duration::ZERO`] disables it. Default
    /// [`DEFAULT_IDLE_TIMEOUT`](crate::DEFAULT_IDLE_TIMEOUT), 5 minutes.
    ///
    /// It is the one timeout that holds whatever serves the stream:
    /// `axum::serve` sets no HTTP timeouts, so without it a client that
    /// completes the handshake and then sends nothing keeps its connection
    /// and task forever. Traffic in either direction keeps a connection
    /// open, so responses streamed to a silent client (server-sent events,
    /// gRPC server streaming) and HTTP/2 connections exchanging PINGs stay
    /// up; see [`MtlsStream`'s idle timeout](MtlsStream#idle-timeout) for
    /// what counts.
    ///
    /// The default is deliberately longer than nginx's (60 s to send a
    /// request head, 75 s between keep-alive requests, 60 s between two
    /// writes or two reads from a proxied server): it is a backstop against
    /// abandoned connections, not an HTTP keep-alive policy, and cuts nothing
    /// nginx would keep. Lower it to nginx's values on ports open to
    /// untrusted clients; raise it, or disable it per connection with
    /// [`MtlsStream::set_idle_timeout`], for long polls that send nothing for
    /// minutes.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use std::sync::Arc;
    /// # use mtls_status::VerifyMode;
    /// # use mtls_status_rustls::{Classifier, ReloadableTrustStore, ServerCertificate, TrustStore};
    /// use mtls_status_rustls::MtlsAcceptor;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pki = mtls_testpki::Pki::generate();
    /// # let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// # let store = ReloadableTrustStore::new(TrustStore::builder().ca_pem(pki.root.cert_pem()).build()?);
    /// # let classifier = Classifier::builder(store, provider.clone()).build()?;
    /// # let cert = ServerCertificate::new(provider, pki.server.chain(), pki.server.key_der())?;
    /// // nginx's keepalive_timeout:
    /// let acceptor = MtlsAcceptor::new(classifier.clone(), VerifyMode::On, cert.clone())?
    ///     .idle_timeout(Duration::from_secs(75));
    /// // No idle timeout at all:
    /// let unbounded = MtlsAcceptor::new(classifier, VerifyMode::On, cert)?.idle_timeout(None);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into().filter(|timeout| !timeout.is_zero());
        self
    }

    /// Looks up the certificates of every `Verified` connection with
    /// `checker` after the handshake (nginx `ssl_ocsp`): a revoked, unknown
    /// or (fail closed) unobtainable status makes the connection's outcome
    /// `Invalid` with the OCSP reason (495). The lookup runs on the
    /// connection's task, after the handshake timeout and under the
    /// checker's own; a cached answer costs no wait.
    #[cfg(feature = "ocsp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ocsp")))]
    #[must_use]
    pub fn ocsp(mut self, checker: crate::OcspChecker) -> Self {
        self.ocsp = Some(checker);
        self
    }

    /// The rustls server configuration new handshakes use. With
    /// [`from_config_fn`](Self::from_config_fn), a configuration of an older
    /// trust-store generation is rebuilt first.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.current_config()
    }

    /// Installs `config` for the handshakes that start from now on, in this
    /// acceptor, its clones and the [`MtlsListener`](crate::MtlsListener)s
    /// built from them. Handshakes in progress and established connections
    /// keep the configuration they started with.
    ///
    /// `config` is used as given: to let sessions established before the swap
    /// resume, give it the `session_storage` and `ticketer` of the
    /// configuration in force ([`config`](Self::config)); otherwise their
    /// clients fall back to a full handshake. A resumed connection is
    /// classified against the trust store in force, like any other.
    ///
    /// With [`new`](Self::new) or [`from_config_fn`](Self::from_config_fn), `config` stays until
    /// the trust store's generation changes, then is replaced by a rebuilt
    /// one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mtls_status::VerifyMode;
    /// use mtls_status_rustls::{Classifier, MtlsAcceptor, ReloadableTrustStore, TrustStore, server_config};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let pki = mtls_testpki::Pki::generate();
    /// # let (chain, key) = (pki.server.chain(), pki.server.key_der());
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let store = ReloadableTrustStore::new(TrustStore::builder().ca_pem(pki.root.cert_pem()).build()?);
    /// let classifier = Classifier::builder(store.clone(), provider.clone()).build()?;
    /// let verifier = classifier.verifier(VerifyMode::On);
    /// let config = server_config(provider.clone(), chain.clone(), key.clone_key(), verifier)?;
    /// let acceptor = MtlsAcceptor::with_fixed_config(Arc::new(config), classifier.clone());
    ///
    /// // After a reload: a verifier with the new names, the same sessions.
    /// store.replace(TrustStore::builder().ca_pem(pki.unknown_root.cert_pem()).build()?);
    /// let mut config = server_config(provider, chain, key, classifier.verifier(VerifyMode::On))?;
    /// let old = acceptor.config();
    /// config.session_storage = Arc::clone(&old.session_storage);
    /// config.ticketer = Arc::clone(&old.ticketer);
    /// acceptor.set_config(Arc::new(config));
    /// assert!(!Arc::ptr_eq(&old, &acceptor.config()));
    /// # Ok(()) }
    /// ```
    pub fn set_config(&self, config: Arc<ServerConfig>) {
        self.slot.set(config, &self.classifier);
    }

    /// The classifier that gives each connection its outcome.
    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// The server certificate of an acceptor made with [`new`](Self::new).
    pub fn server_certificate(&self) -> Option<&ServerCertificate> {
        self.server_cert.as_ref()
    }

    fn current_config(&self) -> Arc<ServerConfig> {
        self.slot.current(&self.classifier)
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
        self.accept_staged(io, None, || {}).await
    }

    /// [`accept`](Self::accept) for [`MtlsListener`](crate::MtlsListener):
    /// the first byte and, for TLS, the complete ClientHello must arrive
    /// within `client_hello_timeout` (if set) as well; `on_client_hello` is
    /// called once the ClientHello is complete, before the rest of the
    /// handshake.
    pub(crate) async fn accept_staged<IO>(
        &self,
        io: IO,
        client_hello_timeout: Option<Duration>,
        on_client_hello: impl FnOnce(),
    ) -> Result<Accepted<IO>, AcceptError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let accepted = self
            .handshake(io, client_hello_timeout, on_client_hello)
            .await;
        #[cfg(feature = "metrics")]
        crate::metrics::accepted(&accepted);
        accepted
    }

    /// [`accept_staged`](Self::accept_staged) without the metrics.
    async fn handshake<IO>(
        &self,
        io: IO,
        client_hello_timeout: Option<Duration>,
        on_client_hello: impl FnOnce(),
    ) -> Result<Accepted<IO>, AcceptError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let handshake = async {
            let first_flight = first_flight(io);
            let first_flight = match client_hello_timeout {
                Some(timeout) => tokio::time::timeout(timeout, first_flight)
                    .await
                    .map_err(|_| AcceptError::ClientHelloTimeout(timeout))?,
                None => first_flight.await,
            }?;
            let start = match first_flight {
                FirstFlight::PlainHttp(plain) => return Ok(Err(Accepted::PlainHttp(plain))),
                FirstFlight::ClientHello(start) => start,
            };
            on_client_hello();
            // The configuration is picked after the ClientHello: a reload in
            // the meantime applies.
            let tls = start
                .into_stream(self.current_config())
                .await
                .map_err(AcceptError::from_handshake)?;
            let outcome = self
                .classifier
                .classify(tls.get_ref().1.peer_certificates());
            Ok(Ok((tls, outcome)))
        };
        let timeout = self.handshake_timeout;
        let (tls, outcome) = match tokio::time::timeout(timeout, handshake)
            .await
            .map_err(|_| AcceptError::Timeout(timeout))??
        {
            Ok(handshaken) => handshaken,
            Err(plain) => return Ok(plain),
        };
        // After the handshake, under its own timeout: OCSP may turn a
        // Verified outcome into Invalid.
        #[cfg(feature = "ocsp")]
        let outcome = match &self.ocsp {
            Some(checker) => checker.check(outcome).await,
            None => outcome,
        };
        Ok(Accepted::Tls(MtlsStream::new(
            tls,
            outcome,
            self.idle_timeout,
        )))
    }
}

/// What the client sent first: plain HTTP, or a complete ClientHello.
// Matched at once, as `Accepted`: not worth a Box per connection.
#[allow(clippy::large_enum_variant)]
enum FirstFlight<IO> {
    PlainHttp(PlainHttpStream<IO>),
    ClientHello(StartHandshake<IO>),
}

/// Reads the first byte, then, unless it is plain HTTP, the rest of the
/// ClientHello (rustls's [`Acceptor`](rustls::server::Acceptor), primed
/// with the byte already read).
async fn first_flight<IO>(mut io: IO) -> Result<FirstFlight<IO>, AcceptError>
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
        return Ok(FirstFlight::PlainHttp(PlainHttpStream::new(io, first[0])));
    }
    let mut hello = rustls::server::Acceptor::default();
    hello.read_tls(&mut &first[..]).map_err(AcceptError::Io)?;
    let start = LazyConfigAcceptor::new(hello, io)
        .await
        .map_err(AcceptError::from_handshake)?;
    Ok(FirstFlight::ClientHello(start))
}

impl fmt::Debug for MtlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsAcceptor")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("follows_trust_store", &self.slot.follows_trust_store())
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
    /// The client did not send its first byte and complete ClientHello
    /// within [`MtlsListenerBuilder::client_hello_timeout`](crate::MtlsListenerBuilder::client_hello_timeout),
    /// the value.
    #[error(
        "client did not send a complete ClientHello within {0:?} \
         (MtlsListenerBuilder::client_hello_timeout)"
    )]
    ClientHelloTimeout(Duration),
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
