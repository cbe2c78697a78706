//! A TCP listener that runs handshakes concurrently and hands out finished
//! connections.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::acceptor::{AcceptError, Accepted, MtlsAcceptor};
use crate::plain_http::plain_http_response;
use crate::stream::MtlsStream;
use mtls_status::AnswerStyle;

/// The default [`MtlsListenerBuilder::max_concurrent_handshakes`].
pub const DEFAULT_MAX_CONCURRENT_HANDSHAKES: usize = 512;

/// The default [`MtlsListenerBuilder::ready_queue`].
pub const DEFAULT_READY_QUEUE: usize = 64;

/// First pause after the TCP listener fails to accept (e.g. out of file
/// descriptors); doubled on each further failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A TCP listener that completes TLS handshakes in the background and hands
/// out classified connections.
///
/// A background task accepts TCP connections and gives each handshake a
/// task of its own, so one slow or silent client never delays another. At
/// most [`max_concurrent_handshakes`](MtlsListenerBuilder::max_concurrent_handshakes)
/// handshakes run at once: when all slots are taken the listener stops
/// accepting, so further clients wait in the kernel's accept backlog (they
/// are not refused) and are served as slots free up. Each handshake is bound
/// by the acceptor's [handshake timeout](MtlsAcceptor::handshake_timeout).
/// Finished connections wait in a bounded queue for
/// [`accept_tls`](Self::accept_tls) / [`accept`](Self::accept); a full queue
/// holds the handshake slots, which holds back accepting: memory stays
/// bounded however fast clients arrive.
///
/// Clients that speak plain HTTP are answered in their handshake task (by
/// default with [`plain_http_response`](crate::plain_http_response), 497, like nginx) and closed,
/// within the same cap and the same timeout.
/// Failed handshakes are logged with `tracing` and skipped. Dropping the
/// listener stops the background task, closes the port, and drops the
/// handshakes in progress.
///
/// [`accept_tls`](Self::accept_tls) never fails, which is what axum 0.8's
/// `Listener` trait asks for. Once handed out, a connection is bounded by
/// the acceptor's [idle timeout](MtlsAcceptor::idle_timeout) (default 5
/// minutes without a byte in either direction), whatever serves it.
///
/// ```no_run
/// use mtls_status_rustls::{MtlsAcceptor, MtlsListener};
/// use tokio::io::AsyncWriteExt;
///
/// # async fn run(acceptor: MtlsAcceptor) -> std::io::Result<()> {
/// let mut listener = MtlsListener::builder(acceptor)
///     .max_concurrent_handshakes(1024)
///     .bind("0.0.0.0:8443")
///     .await?;
/// loop {
///     let (mut stream, peer) = listener.accept_tls().await;
///     tokio::spawn(async move {
///         let verdict = stream.outcome().ssl_client_verify();
///         let response = format!(
///             "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{verdict}",
///             verdict.len()
///         );
///         let _ = stream.write_all(response.as_bytes()).await;
///         let _ = stream.shutdown().await;
///         println!("{peer}: {verdict}");
///     });
/// }
/// # }
/// ```
pub struct MtlsListener {
    ready: mpsc::Receiver<Ready>,
    local_addr: SocketAddr,
    in_progress: Arc<AtomicUsize>,
    max_handshakes: usize,
    plain_http_response: Arc<[u8]>,
    handshake_timeout: Duration,
    task: JoinHandle<()>,
}

impl MtlsListener {
    /// A builder for a listener that uses `acceptor` for every connection.
    pub fn builder(acceptor: MtlsAcceptor) -> MtlsListenerBuilder {
        MtlsListenerBuilder {
            acceptor,
            max_handshakes: DEFAULT_MAX_CONCURRENT_HANDSHAKES,
            ready_queue: DEFAULT_READY_QUEUE,
            plain_http_response: Arc::from(plain_http_response(AnswerStyle::Explicit)),
            deliver_plain_http: false,
        }
    }

    /// A listener on `listener` with the default settings.
    ///
    /// # Errors
    ///
    /// As [`MtlsListenerBuilder::listen`].
    pub fn new(listener: TcpListener, acceptor: MtlsAcceptor) -> io::Result<Self> {
        Self::builder(acceptor).listen(listener)
    }

    /// The next connection whose TLS handshake completed, with the client's
    /// address. Never fails: failed handshakes are logged and skipped.
    ///
    /// Plain-HTTP connections never come here: the handshake task answers
    /// them, or, with [`deliver_plain_http`](MtlsListenerBuilder::deliver_plain_http),
    /// this method answers them with the
    /// [configured response](MtlsListenerBuilder::plain_http_response) in a
    /// task of their own, bound by the handshake timeout and still counted
    /// against [`max_concurrent_handshakes`](MtlsListenerBuilder::max_concurrent_handshakes).
    ///
    /// Cancel safe: if the future is dropped before it completes, no
    /// connection is lost.
    pub async fn accept_tls(&mut self) -> (MtlsStream<TcpStream>, SocketAddr) {
        loop {
            match self.ready.recv().await {
                Some(Ready {
                    accepted: Accepted::Tls(stream),
                    peer,
                    ..
                }) => return (stream, peer),
                Some(Ready {
                    accepted: Accepted::PlainHttp(plain),
                    peer,
                    slot,
                }) => {
                    let response = Arc::clone(&self.plain_http_response);
                    let timeout = self.handshake_timeout;
                    tokio::spawn(async move {
                        log_plain_http(peer, plain.respond(&response, timeout).await);
                        // The cap holds until the answer is done.
                        drop(slot);
                    });
                }
                None => {
                    // Unreachable: the accept task runs as long as `self`.
                    tracing::error!("mtls listener: the accept task has stopped");
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    /// The next connection whose first byte was read: a completed TLS
    /// handshake, or (only with
    /// [`deliver_plain_http`](MtlsListenerBuilder::deliver_plain_http)) a
    /// plain-HTTP client for the caller to answer. Failed handshakes are
    /// logged and skipped.
    ///
    /// A plain-HTTP client returned here no longer counts against
    /// [`max_concurrent_handshakes`](MtlsListenerBuilder::max_concurrent_handshakes):
    /// bounding the answers (in time and in number) is the caller's business.
    ///
    /// Cancel safe: if the future is dropped before it completes, no
    /// connection is lost.
    ///
    /// # Errors
    ///
    /// Only if the background accept task has stopped, which it does not
    /// while the listener exists; the listener then yields nothing more.
    pub async fn accept(&mut self) -> io::Result<(Accepted<TcpStream>, SocketAddr)> {
        self.ready
            .recv()
            .await
            .map(|ready| (ready.accepted, ready.peer))
            .ok_or_else(|| io::Error::other("the mtls listener's accept task has stopped"))
    }

    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many handshakes are in progress, at most
    /// [`max_concurrent_handshakes`](MtlsListenerBuilder::max_concurrent_handshakes).
    /// A handshake counts until its connection is in the ready queue (or
    /// closed): finished ones waiting for room in a full queue count too.
    /// A plain-HTTP client counts until it is answered, or, with
    /// [`deliver_plain_http`](MtlsListenerBuilder::deliver_plain_http), until
    /// [`accept`](Self::accept) returns it.
    pub fn handshakes_in_progress(&self) -> usize {
        self.in_progress.load(Ordering::Relaxed)
    }
}

impl Drop for MtlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for MtlsListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsListener")
            .field("local_addr", &self.local_addr)
            .field("max_concurrent_handshakes", &self.max_handshakes)
            .field("handshakes_in_progress", &self.handshakes_in_progress())
            .finish_non_exhaustive()
    }
}

/// Settings for an [`MtlsListener`]; from [`MtlsListener::builder`].
#[must_use]
pub struct MtlsListenerBuilder {
    acceptor: MtlsAcceptor,
    max_handshakes: usize,
    ready_queue: usize,
    plain_http_response: Arc<[u8]>,
    deliver_plain_http: bool,
}

impl MtlsListenerBuilder {
    /// How many handshakes may run at once. Default 512.
    ///
    /// When all are taken the listener stops accepting until one finishes
    /// (completes, fails, or times out): further clients wait in the kernel's
    /// accept backlog rather than being refused. A handshake counts until its
    /// connection is in the [ready queue](Self::ready_queue), so an
    /// application that stops calling [`MtlsListener::accept_tls`] eventually
    /// stops the accepting too.
    pub fn max_concurrent_handshakes(mut self, max: usize) -> Self {
        self.max_handshakes = max;
        self
    }

    /// How many finished connections may wait for
    /// [`MtlsListener::accept_tls`]. Default 64.
    pub fn ready_queue(mut self, capacity: usize) -> Self {
        self.ready_queue = capacity;
        self
    }

    /// The complete HTTP/1.x response given to clients that speak plain HTTP
    /// to the TLS port. Default: [`Answer::plain_http`](mtls_status::Answer::plain_http)
    /// in the explicit style (497).
    pub fn plain_http_response(mut self, response: impl Into<Arc<[u8]>>) -> Self {
        self.plain_http_response = response.into();
        self
    }

    /// Answers plain HTTP with mtls-status's 497 answer in `style`
    /// (`Nginx`: 400 with nginx's page).
    pub fn plain_http_style(self, style: AnswerStyle) -> Self {
        self.plain_http_response(plain_http_response(style))
    }

    /// Hands plain-HTTP connections to [`MtlsListener::accept`] as
    /// [`Accepted::PlainHttp`] instead of answering them, e.g. to redirect
    /// to `https://` with the request's `Host`. The caller must answer them,
    /// within a timeout, and bound how many it answers at once: once
    /// returned by `accept` they no longer count against
    /// [`max_concurrent_handshakes`](Self::max_concurrent_handshakes).
    /// Those that reach [`MtlsListener::accept_tls`] instead are answered
    /// with the [configured response](Self::plain_http_response) and keep
    /// counting until answered.
    pub fn deliver_plain_http(mut self) -> Self {
        self.deliver_plain_http = true;
        self
    }

    /// Starts accepting on `listener`.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] if `max_concurrent_handshakes` or
    /// `ready_queue` is 0 or too large; [`io::ErrorKind::Other`] if called
    /// outside a tokio runtime; an error from
    /// [`TcpListener::local_addr`].
    pub fn listen(self, listener: TcpListener) -> io::Result<MtlsListener> {
        if self.max_handshakes == 0 || self.max_handshakes > Semaphore::MAX_PERMITS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "max_concurrent_handshakes must be between 1 and {}, not {}",
                    Semaphore::MAX_PERMITS,
                    self.max_handshakes
                ),
            ));
        }
        // mpsc::channel's own upper bound.
        if self.ready_queue == 0 || self.ready_queue > Semaphore::MAX_PERMITS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "ready_queue must be between 1 and {}, not {}",
                    Semaphore::MAX_PERMITS,
                    self.ready_queue
                ),
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let local_addr = listener.local_addr()?;
        let in_progress = Arc::new(AtomicUsize::new(0));
        let (ready_tx, ready) = mpsc::channel(self.ready_queue);
        let handshake_timeout = self.acceptor.handshake_timeout;
        let task = runtime.spawn(accept_loop(AcceptLoop {
            listener,
            acceptor: self.acceptor,
            slots: Arc::new(Semaphore::new(self.max_handshakes)),
            in_progress: Arc::clone(&in_progress),
            ready: ready_tx,
            plain_http_response: (!self.deliver_plain_http)
                .then(|| Arc::clone(&self.plain_http_response)),
        }));
        Ok(MtlsListener {
            ready,
            local_addr,
            in_progress,
            max_handshakes: self.max_handshakes,
            plain_http_response: self.plain_http_response,
            handshake_timeout,
            task,
        })
    }

    /// Binds a TCP listener to `addr` and starts accepting on it.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::bind`] and [`listen`](Self::listen).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<MtlsListener> {
        let listener = TcpListener::bind(addr).await?;
        self.listen(listener)
    }
}

impl fmt::Debug for MtlsListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsListenerBuilder")
            .field("acceptor", &self.acceptor)
            .field("max_concurrent_handshakes", &self.max_handshakes)
            .field("ready_queue", &self.ready_queue)
            .field("deliver_plain_http", &self.deliver_plain_http)
            .finish_non_exhaustive()
    }
}

/// What the background task owns.
struct AcceptLoop {
    listener: TcpListener,
    acceptor: MtlsAcceptor,
    /// One permit per handshake; the accept loop takes one before accepting.
    slots: Arc<Semaphore>,
    in_progress: Arc<AtomicUsize>,
    ready: mpsc::Sender<Ready>,
    /// `Some`: answer plain HTTP with this; `None`: deliver it.
    plain_http_response: Option<Arc<[u8]>>,
}

/// A connection in the ready queue.
struct Ready {
    accepted: Accepted<TcpStream>,
    peer: SocketAddr,
    /// A delivered plain-HTTP client's slot: it counts against the cap
    /// until answered by [`MtlsListener::accept_tls`] (or returned by
    /// [`MtlsListener::accept`]). `None` for TLS connections, whose
    /// handshake is over.
    slot: Option<Slot>,
}

/// Accepts until the listener is dropped (the receiver closes).
async fn accept_loop(state: AcceptLoop) {
    let mut backoff = MIN_BACKOFF;
    loop {
        // A slot first, then the connection: beyond the cap, clients wait in
        // the kernel's backlog.
        let permit = tokio::select! {
            () = state.ready.closed() => return,
            permit = Arc::clone(&state.slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return, // never closed
            },
        };
        let (tcp, peer) = tokio::select! {
            () = state.ready.closed() => return,
            connection = next_connection(|| state.listener.accept(), &mut backoff) => connection,
        };
        let slot = Slot::new(permit, &state.in_progress);
        tokio::spawn(handshake(
            state.acceptor.clone(),
            tcp,
            peer,
            slot,
            state.ready.clone(),
            state.plain_http_response.clone(),
        ));
    }
}

/// The next connection from `accept`, retrying after errors: at once after
/// an error about one connection, after a pause (doubling from
/// [`MIN_BACKOFF`] to [`MAX_BACKOFF`], reset by a success) after an error of
/// the listening socket, such as running out of file descriptors, which
/// retrying at once would only repeat, in a busy loop. Cancel safe if
/// `accept` is.
async fn next_connection<T, F, Fut>(mut accept: F, backoff: &mut Duration) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    loop {
        match accept().await {
            Ok(connection) => {
                *backoff = MIN_BACKOFF;
                return connection;
            }
            Err(error) if is_connection_error(&error) => {
                tracing::debug!(%error, "mtls listener: connection failed before accept");
            }
            Err(error) => {
                tracing::error!(%error, retry_in = ?*backoff, "mtls listener: accept failed");
                tokio::time::sleep(*backoff).await;
                *backoff = (*backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One connection: handshake, then deliver, answer or log. Holds its slot
/// until the connection is delivered or closed (a delivered plain-HTTP
/// client takes it along); stops when the listener is dropped.
async fn handshake(
    acceptor: MtlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Slot,
    ready: mpsc::Sender<Ready>,
    plain_http_response: Option<Arc<[u8]>>,
) {
    let mut slot = Some(slot);
    let work = async {
        let accepted = match acceptor.accept(tcp).await {
            Ok(accepted) => accepted,
            Err(error) => return log_handshake_error(peer, &error),
        };
        match (accepted, plain_http_response) {
            (Accepted::PlainHttp(plain), Some(response)) => {
                let timeout = acceptor.handshake_timeout;
                log_plain_http(peer, plain.respond(&response, timeout).await);
            }
            (accepted, _) => {
                if let Accepted::Tls(stream) = &accepted {
                    tracing::trace!(
                        %peer,
                        outcome = stream.outcome().label(),
                        resumed = stream.is_resumed(),
                        "mtls listener: handshake complete"
                    );
                }
                let slot = match accepted {
                    Accepted::PlainHttp(_) => slot.take(),
                    _ => None,
                };
                // Err only when the listener was dropped meanwhile.
                let _ = ready
                    .send(Ready {
                        accepted,
                        peer,
                        slot,
                    })
                    .await;
            }
        }
    };
    tokio::select! {
        () = ready.closed() => {}
        () = work => {}
    }
    drop(slot);
}

/// A handshake's share of the cap, counted in
/// [`MtlsListener::handshakes_in_progress`] until dropped.
struct Slot {
    _permit: OwnedSemaphorePermit,
    in_progress: Arc<AtomicUsize>,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, in_progress: &Arc<AtomicUsize>) -> Self {
        in_progress.fetch_add(1, Ordering::Relaxed);
        Self {
            _permit: permit,
            in_progress: Arc::clone(in_progress),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_progress.fetch_sub(1, Ordering::Relaxed);
    }
}

fn log_handshake_error(peer: SocketAddr, error: &AcceptError) {
    if error.is_closed_by_client() {
        tracing::debug!(%peer, %error, "client closed the connection during the TLS handshake");
    } else if matches!(error, AcceptError::Timeout(_)) {
        tracing::info!(%peer, %error, "client timed out in the TLS handshake");
    } else {
        tracing::info!(%peer, %error, "TLS handshake failed");
    }
}

fn log_plain_http(peer: SocketAddr, answered: io::Result<()>) {
    match answered {
        Ok(()) => tracing::info!(%peer, "client sent plain HTTP request to HTTPS port"),
        Err(error) => tracing::info!(
            %peer,
            %error,
            "client sent plain HTTP request to HTTPS port; answering it failed"
        ),
    }
}

/// Errors about one connection, not about the listening socket (as hyper
/// and axum treat them).
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What axum's `Listener` and tonic's incoming streams require.
    #[test]
    fn futures_and_streams_are_send() {
        fn send<T: Send>(_: &T) {}
        fn send_sync_static<T: Send + Sync + 'static>() {}
        send_sync_static::<MtlsStream<TcpStream>>();
        send_sync_static::<MtlsListener>();
        send_sync_static::<MtlsAcceptor>();
        send_sync_static::<AcceptError>();
        // Type-checked, never run.
        fn accept_futures(listener: &mut MtlsListener) {
            send(&listener.accept_tls());
            send(&listener.accept());
        }
        let _ = accept_futures;
    }

    /// Listener errors back off 10, 20, 40 ... ms up to 1 s (virtual time:
    /// exact, no real waiting); per-connection errors retry at once; a
    /// success resets the pause.
    #[tokio::test(start_paused = true)]
    async fn accept_errors_back_off_instead_of_spinning() {
        use tokio::time::Instant;

        let start = Instant::now();
        let mut calls: Vec<Duration> = Vec::new();
        let mut script = vec![
            Err(io::Error::other("too many open files")),
            Err(io::Error::other("too many open files")),
            Err(io::ErrorKind::ConnectionAborted.into()),
            Err(io::Error::other("too many open files")),
            Err(io::Error::other("too many open files")),
            Err(io::Error::other("too many open files")),
            Err(io::Error::other("too many open files")),
            Err(io::Error::other("too many open files")),
            Err(io::Error::other("too many open files")),
            Err(io::Error::other("too many open files")),
            Ok(1),
            Err(io::Error::other("too many open files")),
            Ok(2),
        ]
        .into_iter();
        let mut backoff = MIN_BACKOFF;
        let mut accept = || {
            calls.push(start.elapsed());
            let next = script.next().expect("script exhausted");
            async move { next }
        };
        assert_eq!(next_connection(&mut accept, &mut backoff).await, 1);
        assert_eq!(backoff, MIN_BACKOFF, "a success resets the pause");
        assert_eq!(next_connection(&mut accept, &mut backoff).await, 2);

        let ms = |n| Duration::from_millis(n);
        let expected = [
            ms(0),
            ms(10),   // after 10 ms
            ms(30),   // after 20 ms
            ms(30),   // connection error: at once
            ms(70),   // after 40 ms
            ms(150),  // 80
            ms(310),  // 160
            ms(630),  // 320
            ms(1270), // 640
            ms(2270), // capped at 1 s
            ms(3270), // 1 s: success
            ms(3270), // next call at once
            ms(3280), // after 10 ms again
        ];
        assert_eq!(calls, expected);
    }
}
