//! A TCP listener that runs handshakes concurrently and hands out finished
//! connections.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::acceptor::{AcceptError, Accepted, MtlsAcceptor};
use crate::eviction::Evictable;
use crate::plain_http::plain_http_response;
use crate::stream::MtlsStream;
use mtls_status::AnswerStyle;

/// The default [`MtlsListenerBuilder::max_concurrent_handshakes`].
pub const DEFAULT_MAX_CONCURRENT_HANDSHAKES: usize = 512;

/// The default [`MtlsListenerBuilder::ready_queue`].
pub const DEFAULT_READY_QUEUE: usize = 64;

/// The default [`MtlsListenerBuilder::client_hello_timeout`]: 5 seconds.
pub const DEFAULT_CLIENT_HELLO_TIMEOUT: Duration = Duration::from_secs(5);

/// The default [`MtlsListenerBuilder::backlog`]: 4096 (the kernel may cap
/// it: `net.core.somaxconn` on Linux).
pub const DEFAULT_BACKLOG: u32 = 4096;

/// First pause after the TCP listener fails to accept (e.g. out of file
/// descriptors); doubled on each further failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A TCP listener that completes TLS handshakes in the background and hands
/// out classified connections.
///
/// A background task accepts TCP connections and gives each handshake a
/// task of its own, so one slow or silent client never delays another.
///
/// # Slow, silent and hostile clients
///
/// At most [`max_concurrent_handshakes`](MtlsListenerBuilder::max_concurrent_handshakes)
/// handshakes run at once, and none holds its slot for long without
/// progress:
///
/// - a client has [`client_hello_timeout`](MtlsListenerBuilder::client_hello_timeout)
///   (default 5 s) to send its first byte and complete ClientHello (a
///   plain-HTTP client: its request head), and the acceptor's
///   [handshake timeout](MtlsAcceptor::handshake_timeout) (default 10 s)
///   for the whole handshake;
/// - when all slots are taken and another client connects, the listener
///   [evicts](MtlsListenerBuilder::evict_at_cap) the oldest handshake still
///   waiting for its ClientHello (or being answered as plain HTTP), else the
///   oldest one stalled for a second after it, and gives the slot to the
///   newcomer. An attacker who holds more idle connections than the cap,
///   reopening each as it closes, therefore cannot lock valid clients out:
///   they send their ClientHello at once and complete (the `handshake_slots`
///   bench measures their latency under 1000 such connections). Only when
///   no handshake can be evicted (the finished ones wait for room in the
///   ready queue) does the listener stop accepting, and clients wait in the
///   kernel's accept [backlog](MtlsListenerBuilder::backlog) (default 4096);
/// - no per-address limit: clients behind one NAT or proxy share an
///   address, and eviction already bounds what one address can hold.
///
/// Finished connections wait in a bounded queue for
/// [`accept_tls`](Self::accept_tls) / [`accept`](Self::accept); a full queue
/// holds the handshake slots, which holds back accepting: memory stays
/// bounded however fast clients arrive.
///
/// Clients that speak plain HTTP are answered in their handshake task (by
/// default with [`plain_http_response`](crate::plain_http_response), 497, like nginx) and closed,
/// within the same cap, evictable, within the ClientHello timeout.
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
    client_hello_timeout: Duration,
    evictable: Option<Arc<Evictable>>,
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
            client_hello_timeout: DEFAULT_CLIENT_HELLO_TIMEOUT,
            evict_at_cap: true,
            backlog: DEFAULT_BACKLOG,
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
    /// task of their own, bound by the ClientHello timeout and still counted
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
                    let timeout = self.client_hello_timeout;
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

    /// How many handshakes were evicted to make room for newer clients
    /// (see [`evict_at_cap`](MtlsListenerBuilder::evict_at_cap)) since the
    /// listener started; always 0 without eviction. A steadily rising count
    /// means the cap is full of stalled connections: an attack, or a cap
    /// too low for the traffic. Evictions are logged at `debug` level only.
    pub fn handshakes_evicted(&self) -> u64 {
        self.evictable
            .as_ref()
            .map_or(0, |evictable| evictable.evicted())
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
            .field("handshakes_evicted", &self.handshakes_evicted())
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
    client_hello_timeout: Duration,
    evict_at_cap: bool,
    backlog: u32,
}

impl MtlsListenerBuilder {
    /// How many handshakes may run at once. Default 512.
    ///
    /// When all are taken and a client connects, the oldest stalled
    /// handshake is evicted for it (see [`evict_at_cap`](Self::evict_at_cap)
    /// and the [type docs](MtlsListener#slow-silent-and-hostile-clients));
    /// when none can be, the listener stops accepting until one finishes
    /// (completes, fails, or times out): further clients wait in the
    /// kernel's accept backlog rather than being refused. A handshake counts
    /// until its connection is in the [ready queue](Self::ready_queue), so an
    /// application that stops calling [`MtlsListener::accept_tls`] eventually
    /// stops the accepting too.
    pub fn max_concurrent_handshakes(mut self, max: usize) -> Self {
        self.max_handshakes = max;
        self
    }

    /// How long a client has, from the start of its handshake, to send its
    /// first byte and a complete ClientHello; for a plain-HTTP client, to
    /// send its request head and read the answer. Default 5 seconds
    /// ([`DEFAULT_CLIENT_HELLO_TIMEOUT`]); the acceptor's
    /// [handshake timeout](MtlsAcceptor::handshake_timeout) still bounds the
    /// whole handshake. A real client sends its ClientHello as soon as it
    /// is connected; this bounds what a connection that sends nothing (or
    /// one byte) costs. Beyond it the handshake fails with
    /// [`AcceptError::ClientHelloTimeout`]. [`Duration::ZERO`] is refused by
    /// [`listen`](Self::listen).
    pub fn client_hello_timeout(mut self, timeout: Duration) -> Self {
        self.client_hello_timeout = timeout;
        self
    }

    /// Whether a client that connects while all
    /// [`max_concurrent_handshakes`](Self::max_concurrent_handshakes) slots
    /// are taken evicts the oldest stalled handshake: the oldest without a
    /// complete ClientHello (or answered as plain HTTP), else the oldest in
    /// progress for over a second. Default `true`. With `false` the
    /// listener stops accepting at the cap, and a few hundred idle
    /// connections lock valid clients out for the ClientHello timeout.
    pub fn evict_at_cap(mut self, evict: bool) -> Self {
        self.evict_at_cap = evict;
        self
    }

    /// The listen backlog of the socket made by [`bind`](Self::bind):
    /// connections the kernel completes before the listener accepts them.
    /// Default [`DEFAULT_BACKLOG`] (4096); the kernel may cap it
    /// (`net.core.somaxconn`). A listener given to [`listen`](Self::listen)
    /// keeps its own.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
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

    /// Answers plain HTTP with mtls-status's 497 answer in the style of
    /// `answers`: an [`AnswerStyle`], or the
    /// [`AnswerOptions`](mtls_status::AnswerOptions) the routes answer with
    /// (`Nginx`: 400 with nginx's page).
    pub fn plain_http_style(self, answers: impl Into<mtls_status::AnswerOptions>) -> Self {
        self.plain_http_response(plain_http_response(answers.into().style()))
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
    /// `ready_queue` is 0 or too large, or `client_hello_timeout` is zero;
    /// [`io::ErrorKind::Other`] if called
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
        if self.client_hello_timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "client_hello_timeout must not be zero",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let local_addr = listener.local_addr()?;
        let in_progress = Arc::new(AtomicUsize::new(0));
        let (ready_tx, ready) = mpsc::channel(self.ready_queue);
        let evictable: Option<Arc<Evictable>> = self.evict_at_cap.then(Arc::default);
        let task = runtime.spawn(accept_loop(AcceptLoop {
            listener,
            handshakes: Handshakes {
                acceptor: self.acceptor,
                client_hello_timeout: self.client_hello_timeout,
                evictable: evictable.clone(),
                ready: ready_tx,
                plain_http_response: (!self.deliver_plain_http)
                    .then(|| Arc::clone(&self.plain_http_response)),
            },
            slots: Arc::new(Semaphore::new(self.max_handshakes)),
            in_progress: Arc::clone(&in_progress),
        }));
        Ok(MtlsListener {
            ready,
            local_addr,
            in_progress,
            max_handshakes: self.max_handshakes,
            plain_http_response: self.plain_http_response,
            client_hello_timeout: self.client_hello_timeout,
            evictable,
            task,
        })
    }

    /// Binds a TCP listener to `addr` (each address it resolves to in turn,
    /// as [`TcpListener::bind`]) with the configured
    /// [backlog](Self::backlog) and `SO_REUSEADDR` (except on Windows), and
    /// starts accepting on it.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::bind`] and [`listen`](Self::listen).
    pub async fn bind(self, addr: impl ToSocketAddrs) -> io::Result<MtlsListener> {
        let mut last_error = None;
        for addr in tokio::net::lookup_host(addr).await? {
            match bind_with_backlog(addr, self.backlog) {
                Ok(listener) => return self.listen(listener),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any address",
            )
        }))
    }
}

impl fmt::Debug for MtlsListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsListenerBuilder")
            .field("acceptor", &self.acceptor)
            .field("max_concurrent_handshakes", &self.max_handshakes)
            .field("ready_queue", &self.ready_queue)
            .field("deliver_plain_http", &self.deliver_plain_http)
            .field("client_hello_timeout", &self.client_hello_timeout)
            .field("evict_at_cap", &self.evict_at_cap)
            .field("backlog", &self.backlog)
            .finish_non_exhaustive()
    }
}

/// A listening socket on `addr` with `backlog`, as [`TcpListener::bind`]
/// makes it but for the backlog.
fn bind_with_backlog(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// What the background task owns.
struct AcceptLoop {
    listener: TcpListener,
    handshakes: Handshakes,
    /// One permit per handshake.
    slots: Arc<Semaphore>,
    in_progress: Arc<AtomicUsize>,
}

/// What every handshake task gets a clone of.
#[derive(Clone)]
struct Handshakes {
    acceptor: MtlsAcceptor,
    client_hello_timeout: Duration,
    /// `None`: no eviction.
    evictable: Option<Arc<Evictable>>,
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
    let ready = &state.handshakes.ready;
    loop {
        let (tcp, peer, permit) = match &state.handshakes.evictable {
            // A slot first, then the connection: beyond the cap, clients
            // wait in the kernel's backlog.
            None => {
                let permit = tokio::select! {
                    () = ready.closed() => return,
                    permit = Arc::clone(&state.slots).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => return, // never closed
                    },
                };
                let (tcp, peer) = tokio::select! {
                    () = ready.closed() => return,
                    connection = next_connection(|| state.listener.accept(), &mut backoff) => connection,
                };
                (tcp, peer, permit)
            }
            // The connection first, then a slot, evicting for it at the cap.
            Some(evictable) => {
                let (tcp, peer) = tokio::select! {
                    () = ready.closed() => return,
                    connection = next_connection(|| state.listener.accept(), &mut backoff) => connection,
                };
                let permit = tokio::select! {
                    () = ready.closed() => return,
                    permit = slot_evicting(&state.slots, evictable) => match permit {
                        Some(permit) => permit,
                        None => return, // never closed
                    },
                };
                (tcp, peer, permit)
            }
        };
        let slot = Slot::new(permit, &state.in_progress);
        tokio::spawn(handshake(state.handshakes.clone(), tcp, peer, slot));
    }
}

/// A free slot, or the slot of a handshake evicted for it; while none can
/// be evicted, waits for one to free (checking again for handshakes that
/// have stalled meanwhile). `None` only if the semaphore is closed.
async fn slot_evicting(
    slots: &Arc<Semaphore>,
    evictable: &Evictable,
) -> Option<OwnedSemaphorePermit> {
    loop {
        if let Ok(permit) = Arc::clone(slots).try_acquire_owned() {
            return Some(permit);
        }
        if evictable.evict_one() {
            // The evicted task drops its slot as soon as it runs.
            return Arc::clone(slots).acquire_owned().await.ok();
        }
        tokio::select! {
            permit = Arc::clone(slots).acquire_owned() => return permit.ok(),
            () = tokio::time::sleep(crate::eviction::STALLED_AFTER / 4) => {}
        }
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
/// client takes it along); stops when the listener is dropped or when it is
/// evicted (until the handshake or plain-HTTP answer is over).
async fn handshake(handshakes: Handshakes, tcp: TcpStream, peer: SocketAddr, slot: Slot) {
    let Handshakes {
        acceptor,
        client_hello_timeout,
        evictable,
        ready,
        plain_http_response,
    } = handshakes;
    let (registration, evicted) = match &evictable {
        Some(evictable) => {
            let (registration, evicted) = evictable.register();
            (Some(registration), Some(evicted))
        }
        None => (None, None),
    };
    let mut slot = Some(slot);
    let work = async {
        // The part a stalled client could hold its slot in: evictable.
        let first_phase = async {
            let on_client_hello = || {
                if let Some(registration) = &registration {
                    registration.past_client_hello();
                }
            };
            let accepted = match acceptor
                .accept_staged(tcp, Some(client_hello_timeout), on_client_hello)
                .await
            {
                Ok(accepted) => accepted,
                Err(error) => {
                    log_handshake_error(peer, &error);
                    return None;
                }
            };
            match (accepted, &plain_http_response) {
                (Accepted::PlainHttp(plain), Some(response)) => {
                    log_plain_http(peer, plain.respond(response, client_hello_timeout).await);
                    None
                }
                (accepted, _) => Some(accepted),
            }
        };
        let accepted = match evicted {
            Some(evicted) => tokio::select! {
                _ = evicted => {
                    log_evicted(peer);
                    return;
                }
                accepted = first_phase => accepted,
            },
            None => first_phase.await,
        };
        let Some(accepted) = accepted else { return };
        if registration.is_some_and(|registration| !registration.finish()) {
            // Evicted as the handshake completed: the slot is promised.
            log_evicted(peer);
            return;
        }
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
    } else if matches!(
        error,
        AcceptError::Timeout(_) | AcceptError::ClientHelloTimeout(_)
    ) {
        tracing::info!(%peer, %error, "client timed out in the TLS handshake");
    } else {
        tracing::info!(%peer, %error, "TLS handshake failed");
    }
}

/// `debug`, not `info`: under the attack eviction is made for, it fires
/// thousands of times a second.
fn log_evicted(peer: SocketAddr) {
    tracing::debug!(
        %peer,
        "TLS handshake evicted: every handshake slot was taken and this one had stalled \
         (MtlsListenerBuilder::max_concurrent_handshakes)"
    );
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
