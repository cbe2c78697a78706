//! [`serve`]: `axum::serve` for a [`ClientAuthListener`], with a bound on
//! the time a client takes to send a request head.
//!
//! `axum::serve` (axum 0.8) gives hyper no timer, so hyper's
//! `header_read_timeout` never fires, and the stream's idle timeout resets
//! on every byte: a client trickling its request head a byte at a time keeps
//! its connection and task forever. [`serve`] drives each connection with
//! hyper-util's `auto::Builder` itself, with a timer and
//! [`header_read_timeout`](Serve::header_read_timeout), and the same glue as
//! [`into_make_service_with_client_auth`](crate::ClientAuthRouterExt::into_make_service_with_client_auth)
//! ([`AddClientAuth`]).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

use crate::{AddClientAuth, ClientAuthListener};

/// The default [`Serve::header_read_timeout`]: 30 seconds, as `mtls serve`
/// (nginx's `client_header_timeout` is 60 s).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` as `axum::serve(listener,
/// router.into_make_service_with_client_auth())` does (the verdict and
/// `ConnectInfo<SocketAddr>` in every request, client-sent identity
/// headers stripped, HTTP/1.1 and HTTP/2 with upgrades), and closes an
/// HTTP/1.1 connection whose client takes longer than
/// [`header_read_timeout`](Serve::header_read_timeout) (default 30 s) to
/// send a complete request head, the first or any later one.
///
/// Await it to run the server; like `axum::serve`, it keeps accepting (the
/// listener logs and skips failed handshakes) and never returns, unless
/// given a [graceful shutdown](Serve::with_graceful_shutdown) signal.
/// Connections that fail are logged at `debug` level.
///
/// ```no_run
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use mtls_status_axum::ClientAuthListener;
/// use mtls_status_rustls::{MtlsAcceptor, MtlsListener};
///
/// # async fn run(acceptor: MtlsAcceptor) -> std::io::Result<()> {
/// let listener = MtlsListener::builder(acceptor).bind("0.0.0.0:8443").await?;
/// let app = Router::new().route("/", get(|| async { "hello" }));
/// mtls_status_axum::serve(ClientAuthListener::new(listener), app)
///     .header_read_timeout(Duration::from_secs(10))
///     .await
/// # }
/// ```
///
/// HTTP/2 has no request-head timeout in hyper; its requests are bounded
/// by the connection's idle timeout and by hyper's limits on concurrent
/// streams.
pub fn serve(listener: ClientAuthListener, router: Router) -> Serve {
    Serve {
        listener,
        router,
        header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        shutdown: None,
    }
}

/// A shutdown signal.
type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The future of [`serve`], with its settings.
#[must_use = "a server does nothing until awaited"]
pub struct Serve {
    listener: ClientAuthListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: Option<Signal>,
}

impl Serve {
    /// Stops when `signal` completes, as `axum::serve(...).with_graceful_shutdown`:
    /// the listener is dropped (no new connections), connections in
    /// progress finish their requests (idle keep-alive ones are closed at
    /// once, HTTP/2 ones get a GOAWAY), then the future returns `Ok(())`.
    pub fn with_graceful_shutdown<F>(mut self, signal: F) -> Self
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// How long an HTTP/1.1 client has to send each complete request head
    /// (hyper's `header_read_timeout`): from the start of the connection
    /// for the first, from the end of the previous response for later
    /// keep-alive ones. Default [`DEFAULT_HEADER_READ_TIMEOUT`], 30 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let Self {
            mut listener,
            router,
            header_read_timeout,
            shutdown,
        } = self;
        Box::pin(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout);
            let builder = Arc::new(builder);
            let graceful = GracefulShutdown::new();
            let mut shutdown = shutdown.unwrap_or_else(|| Box::pin(std::future::pending()));
            loop {
                let (stream, peer) = tokio::select! {
                    () = &mut shutdown => break,
                    accepted = listener.get_mut().accept_tls() => accepted,
                };
                let service =
                    AddClientAuth::new(router.clone(), Arc::clone(stream.outcome()), peer);
                let builder = Arc::clone(&builder);
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let connection = builder.serve_connection_with_upgrades(
                        TokioIo::new(stream),
                        TowerToHyperService::new(service),
                    );
                    if let Err(error) = watcher.watch(connection).await {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                });
            }
            // No new connections; those in progress finish.
            drop(listener);
            graceful.shutdown().await;
            Ok(())
        })
    }
}

impl fmt::Debug for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("graceful_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}
