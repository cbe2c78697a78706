//! `mtls serve`: an HTTPS echo server with nginx's client-certificate
//! semantics, for trying certificates with curl or a browser.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use mtls_status::lint::{LintSettings, Severity, lint_trust_config};
use mtls_status::{Answer, AnswerStyle, ClientAuthOutcome, VerifyMode};
use mtls_status_rustls::{
    FileWatcher, MtlsAcceptor, MtlsListener, MtlsStream, ReloadableTrustStore, Reloadables,
    ServerCertificate, TrustStore, WatchOptions,
};
use mtls_status_tower::VerifyClientLayer;
use rustls_pki_types::UnixTime;
use tokio::net::TcpStream;
use tower::ServiceExt;
use tower_layer::Layer;

use crate::crl_refresh::CrlRefreshArgs;
use crate::error::CliError;
use crate::ocsp::OcspArgs;
use crate::spiffe::{SpiffeAuthzArgs, SpiffeTrust, TrustDomainArgs};
use crate::trust::TrustArgs;
use crate::{load, trust, vars};

/// How long a client has to send a complete HTTP/1 request head.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a connection is kept open.
pub(crate) const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

/// Arguments of `mtls serve`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Run an HTTPS echo server that answers like nginx with ssl_verify_client",
    long_about = "Run an HTTPS echo server that answers like nginx with `ssl_verify_client`.\n\n\
        A verified (or tolerated) client gets 200 and a JSON object of nginx's variables \
        (ssl_client_verify, ssl_client_s_dn, ssl_client_i_dn, ssl_client_s_dn_legacy, \
        ssl_client_i_dn_legacy, ssl_client_serial, ssl_client_fingerprint, ssl_client_v_start, \
        ssl_client_v_end, ssl_client_v_remain, ssl_client_escaped_cert), formatted as nginx \
        prints them. No certificate is 496, an invalid one 495, plain HTTP 497 (each 400 with \
        nginx's page under --style nginx). Rejections are logged to stderr with nginx's text.\n\n\
        --crl-url URL fetches a CRL at start and refreshes it before its nextUpdate \
        (--crl-from-dp: the CRL distribution points of the CAs and of the clients seen); a \
        fetch that fails or a CRL that is not signed by its CA keeps the last good CRL, and \
        reloads keep fetched CRLs.\n\n\
        Prints `listening on https://ADDR:PORT` once ready. The --client-ca, --trust-domain, --crl, --cert and \
        --key files are watched (their directories: files renamed into place and Kubernetes' \
        `..data` symlink swaps are seen) and reloaded when they change; SIGHUP reloads them \
        too. A reload installs only whole material (every file parses; a certificate with its \
        matching key) and otherwise keeps the old one; the CA names sent in the handshake \
        follow the trust store in force. Every reload attempt is logged. --no-watch leaves \
        reloads to SIGHUP.\n\n\
        SPIFFE: --trust-domain TD=FILE (repeatable) verifies each client's X509-SVID against \
        the bundle of its SPIFFE ID's trust domain only (FILE: PEM or SPIFFE bundle JSON), \
        instead of --client-ca; --spiffe-id, --spiffe-trust-domain and --spiffe-path-prefix \
        (each repeatable) let in the verified clients any of them allows and answer 403 to \
        the others. `mtls pki --spiffe DIR` writes a demo.\n\n\
        --metrics-listen ADDR:PORT serves Prometheus metrics at \
        /metrics (names: the table of mtls_status::metrics). Log level: MTLS_LOG \
        (error, warn, info, debug, trace; default info).",
    after_help = "Example:\n  mtls serve --listen 127.0.0.1:8443 --cert server.pem --key server.key \\\n      --client-ca ca-bundle.pem --crl crl-bundle.pem\n  curl --cacert root.pem --cert client.pem --key client.key https://localhost:8443/\n  mtls serve --cert spiffe-server.pem --key spiffe-server.key \\\n      --trust-domain prod.example.org=spiffe-a-bundle.json \\\n      --trust-domain partner.example.net=spiffe-b-bundle.pem --spiffe-trust-domain prod.example.org"
)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the real one is printed).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8443")]
    listen: String,

    /// Server certificate chain (PEM, leaf first).
    #[arg(long, value_name = "SERVER.pem")]
    cert: PathBuf,

    /// Server private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "SERVER.key")]
    key: PathBuf,

    /// The trust flags of `check` and `lint`.
    #[command(flatten)]
    trust: TrustArgs,

    /// SPIFFE: a bundle per trust domain, instead of --client-ca.
    #[command(flatten)]
    spiffe: TrustDomainArgs,

    /// SPIFFE ID authorizers (403 for verified clients none allows).
    #[command(flatten)]
    authz: SpiffeAuthzArgs,

    /// OCSP for client certificates (nginx `ssl_ocsp`).
    #[command(flatten)]
    ocsp: OcspArgs,

    /// CRL refresh over HTTP.
    #[command(flatten)]
    crl_refresh: CrlRefreshArgs,

    /// A plain-HTTP listener for a trusted TLS-terminating proxy.
    #[command(flatten)]
    proxy: Box<crate::serve_proxy::ProxyArgs>,

    /// nginx's `ssl_verify_client`: on, optional, optional_no_ca or off.
    #[arg(
        long = "verify-client",
        value_name = "MODE",
        default_value = "on",
        value_parser = parse_mode
    )]
    verify_client: VerifyMode,

    /// How rejections look: explicit (495/496/497 with problem+json) or
    /// nginx (400 with nginx's HTML pages).
    #[arg(long, value_name = "STYLE", default_value = "explicit", value_parser = parse_style)]
    style: AnswerStyle,

    /// Close a connection after this many seconds without a byte read or
    /// written (0 = never). Bounds clients that complete the handshake and
    /// then go silent.
    #[arg(long = "idle-timeout", value_name = "SECS", default_value_t = 300)]
    idle_timeout: u64,

    /// Serve the metrics (Prometheus text format) at http://ADDR:PORT/metrics;
    /// port 0 picks a free port (logged: "serving metrics at ...").
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    metrics_listen: Option<String>,

    /// Do not watch the --client-ca, --crl, --cert and --key files; reload
    /// them on SIGHUP only.
    #[arg(long = "no-watch", conflicts_with = "watch_poll")]
    no_watch: bool,

    /// Watch the files by polling every SECS seconds instead of native
    /// notifications (inotify, ...): for NFS and other file systems without
    /// them. Polling is also the fallback when notifications fail.
    #[arg(long = "watch-poll", value_name = "SECS", value_parser = parse_poll)]
    watch_poll: Option<u64>,
}

fn parse_poll(value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(secs) if (1..=86_400).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "{value:?} is not a polling interval: give whole seconds from 1 to 86400"
        )),
    }
}

pub(crate) fn parse_mode(value: &str) -> Result<VerifyMode, String> {
    value.parse().map_err(|error| format!("{error}"))
}

fn parse_style(value: &str) -> Result<AnswerStyle, String> {
    value.parse().map_err(|error| format!("{error}"))
}

/// Runs the server until SIGINT / SIGTERM.
pub(crate) fn run(args: ServeArgs) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Io(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let mode = args.verify_client;
    // The CLI's own messages for a missing or empty file; the pair is read
    // (and re-read on rotation) by ServerCertificate.
    load::certificates(&args.cert, "--cert")?;
    load::private_key(&args.key, "--key")?;
    // Before the trust store: its gauges are set as it loads.
    if let Some(addr) = &args.metrics_listen {
        crate::metrics::serve(addr).await?;
    }
    let spiffe = args.spiffe.load()?;
    let store = match &spiffe {
        Some(spiffe) => spiffe_store(&args, spiffe)?,
        None => trust_store(&args)?,
    };
    log_lints(&args, &store)?;

    let provider = trust::provider();
    let classifier = args
        .trust
        .classifier(store.clone(), |builder| match &spiffe {
            Some(spiffe) => spiffe.apply(builder),
            None => builder,
        })?;
    let ocsp = args.ocsp.checker(&classifier, Some(mode))?;
    let crl_refresher = args.crl_refresh.refresher(&classifier)?;
    // The first fetch before serving (bounded by --crl-timeout per URL);
    // then refreshed until the server stops.
    let _crl_task = match &crl_refresher {
        Some(refresher) => {
            refresher.refresh_all().await;
            Some(refresher.spawn())
        }
        None => None,
    };
    // The configuration follows reloads: the handshake advertises the CA
    // names of the bundle in force (nginx re-reads ssl_client_certificate).
    let pair_error = |error: &dyn std::fmt::Display| {
        CliError::Usage(format!(
            "cannot use --cert {} with --key {}: {error}",
            args.cert.display(),
            args.key.display()
        ))
    };
    let server_cert = ServerCertificate::from_files(provider, &args.cert, &args.key)
        .map_err(|error| pair_error(&error))?;
    let acceptor = MtlsAcceptor::new(classifier, mode, server_cert.clone())
        .map_err(|error| pair_error(&error))?
        .idle_timeout(Duration::from_secs(args.idle_timeout));
    let acceptor = match ocsp {
        Some(checker) => acceptor.ocsp(checker),
        None => acceptor,
    };
    // Before "listening on": a file change or SIGHUP that comes once the
    // port answers is seen. Both stop when dropped, at the end of serve.
    let (_watcher, _sighup) = reload_on_changes(&args, &store, spiffe.as_ref(), &server_cert)?;
    let mut listener = MtlsListener::builder(acceptor.clone())
        .plain_http_response(Answer::plain_http(args.style).to_http1_bytes())
        .bind(args.listen.as_str())
        .await
        .map_err(|error| {
            CliError::Io(format!(
                "cannot listen on --listen {}: {error}",
                args.listen
            ))
        })?;

    println!("listening on https://{}", listener.local_addr());
    tracing::info!(
        addr = %listener.local_addr(),
        verify_client = %mode,
        verify_depth = args.trust.verify_depth,
        style = args.style.as_str(),
        client_cas = ?store.current().accepted_ca_names(),
        crls = store.current().crl_count(),
        trust_domains = spiffe.iter().flat_map(SpiffeTrust::names).collect::<Vec<_>>().join(","),
        "mtls serve ready"
    );

    let layer = VerifyClientLayer::new().mode(mode).style(args.style);
    let layer = match args.authz.authorizer() {
        Some(policy) => layer.authorize(policy),
        None => layer,
    };
    let _proxy = args
        .proxy
        .spawn(acceptor.classifier(), &store, &layer)
        .await?
        .map(AbortOnDrop);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => {
                tracing::info!("mtls serve stopping");
                return Ok(());
            }
            (stream, peer) = listener.accept_tls() => {
                if let (Some(refresher), Some(chain)) = (&crl_refresher, stream.peer_certificates()) {
                    refresher.observe(chain);
                }
                // The CAs to name in 496 / 495 answers: those in force now.
                let layer = layer
                    .clone()
                    .accepted_cas(store.current().accepted_ca_names().iter().cloned());
                tokio::spawn(connection(stream, peer, layer));
            }
        }
    }
}

/// Stops a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// With --trust-domain: the store over every bundle (advertised, linted).
fn spiffe_store(args: &ServeArgs, spiffe: &SpiffeTrust) -> Result<ReloadableTrustStore, CliError> {
    if args.crl_refresh.enabled() {
        return Err(CliError::Usage(
            "--crl-url and --crl-from-dp need --client-ca: they are not supported with \
             --trust-domain"
                .to_owned(),
        ));
    }
    Ok(spiffe.all.clone())
}

fn trust_store(args: &ServeArgs) -> Result<ReloadableTrustStore, CliError> {
    if args.trust.has_cas() {
        return args.trust.load_store();
    }
    match args.verify_client {
        VerifyMode::On | VerifyMode::Optional => Err(CliError::Usage(format!(
            "--verify-client {} needs --client-ca BUNDLE.pem (or --trusted FILE.pem), the CAs \
             that issue client certificates (nginx: \"no ssl_client_certificate or \
             ssl_trusted_certificate for ssl_verify_client\"); use --verify-client \
             optional_no_ca or off to run without one",
            args.verify_client
        ))),
        _ if !args.trust.crl.is_empty() => Err(CliError::Usage(
            "--crl needs --client-ca: CRLs are checked against the CAs of the bundle".to_owned(),
        )),
        _ if args.crl_refresh.enabled() => Err(CliError::Usage(
            "--crl-url and --crl-from-dp need --client-ca: fetched CRLs are verified against \
             the CAs of the bundle"
                .to_owned(),
        )),
        // optional_no_ca / off without CAs: every presented chain is from an
        // untrusted issuer.
        _ => Ok(ReloadableTrustStore::new(TrustStore::empty())),
    }
}

/// Logs the trust configuration's lints (as `mtls lint` prints them); they
/// do not stop the server, as nginx starts with such a configuration too.
fn log_lints(args: &ServeArgs, store: &ReloadableTrustStore) -> Result<(), CliError> {
    let mut crls = Vec::new();
    for path in &args.trust.crl {
        crls.extend(load::crls(path, "--crl")?);
    }
    let settings = LintSettings::new(UnixTime::now())
        .with_mode(args.verify_client)
        .with_verify_depth(args.trust.verify_depth);
    let bundle = store.current();
    for lint in lint_trust_config(bundle.certificates(), &crls, &settings) {
        match lint.severity() {
            Severity::Info => tracing::info!(lint = lint.kind().name(), "{lint}"),
            _ => tracing::warn!(lint = lint.kind().name(), "{lint}"),
        }
    }
    Ok(())
}

/// Serves HTTP/1.1 or HTTP/2 (by ALPN) on one classified TLS connection.
async fn connection(stream: MtlsStream<TcpStream>, peer: SocketAddr, layer: VerifyClientLayer) {
    let outcome = Arc::clone(stream.outcome());
    let alpn = stream.alpn_protocol().map(<[u8]>::to_vec);
    let service = layer.layer(tower::service_fn(echo));
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(Arc::clone(&outcome));
        service.clone().oneshot(request)
    });

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let builder = match alpn.as_deref() {
        Some(b"h2") => builder.http2_only(),
        Some(b"http/1.1") => builder.http1_only(),
        _ => builder,
    };
    let served = tokio::time::timeout(
        CONNECTION_LIFETIME,
        builder.serve_connection(TokioIo::new(stream), service),
    )
    .await;
    match served {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%peer, %error, "connection ended with an error"),
        Err(_) => tracing::debug!(%peer, "connection closed after {CONNECTION_LIFETIME:?}"),
    }
}

/// The handler: 200 with nginx's variables as JSON.
pub(crate) async fn echo<B>(request: Request<B>) -> Result<Response<Full<Bytes>>, Infallible> {
    let none = Arc::new(ClientAuthOutcome::None);
    let outcome = request
        .extensions()
        .get::<Arc<ClientAuthOutcome>>()
        .unwrap_or(&none);
    let body = vars::json(outcome, UnixTime::now());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Reloads the trust store and the server certificate when their files
/// change (unless --no-watch) and on SIGHUP, through the library's
/// [`Reloadables`], which logs every attempt. The acceptor follows: a new
/// trust-store generation rebuilds its TLS configuration (and so the CA
/// names advertised) before the next handshake; a new certificate is
/// presented by the next handshake.
fn reload_on_changes(
    args: &ServeArgs,
    store: &ReloadableTrustStore,
    spiffe: Option<&SpiffeTrust>,
    server_cert: &ServerCertificate,
) -> Result<(Option<FileWatcher>, Option<Sighup>), CliError> {
    // Lints of reloaded stores run with the mode and depth served.
    store.lint_with(args.verify_client, args.trust.verify_depth);
    let set = Reloadables::new()
        .trust_store(store)
        .server_certificate(server_cert);
    // Each trust domain's bundle reloads on its own.
    let set = spiffe
        .into_iter()
        .flat_map(SpiffeTrust::domain_stores)
        .fold(set, Reloadables::trust_store);
    let watcher = if args.no_watch {
        tracing::info!("--no-watch: files are reloaded on SIGHUP only");
        None
    } else {
        let options = match args.watch_poll {
            Some(secs) => WatchOptions::new().poll(Duration::from_secs(secs)),
            None => WatchOptions::new(),
        };
        let watcher = set
            .clone()
            .watch_with(options)
            .map_err(|error| CliError::Io(format!("{error} (--no-watch turns watching off)")))?;
        Some(watcher)
    };
    Ok((watcher, sighup(set)))
}

#[cfg(unix)]
type Sighup = mtls_status_rustls::SighupReloader;
#[cfg(not(unix))]
type Sighup = ();

fn sighup(set: Reloadables) -> Option<Sighup> {
    #[cfg(unix)]
    match set.reload_on_sighup() {
        Ok(reloader) => Some(reloader),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP: no reload on SIGHUP");
            None
        }
    }
    #[cfg(not(unix))]
    {
        drop(set);
        None
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
