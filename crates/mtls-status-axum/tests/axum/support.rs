//! The test server (a scenario PKI, the app with per-route policies) and
//! clients: hyper HTTP/1.1 and HTTP/2 over tokio-rustls, raw TLS, raw TCP.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Extension, Router};
use bytes::Bytes;
use http::{Request, StatusCode, Version, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mtls_status::{AnswerStyle, ForwardHeaders, VerifyMode};
use mtls_status_axum::{
    ClientAuth, ClientAuthListener, ClientAuthRouterExt, ClientCertAnswers, VerifiedClient,
};
use mtls_status_rustls::{
    Classifier, ClassifierBuilder, MtlsAcceptor, MtlsListener, ReloadableTrustStore, TrustStore,
    server_config,
};
use mtls_status_tower::{AllowList, VerifyClientLayer};
use mtls_testpki::tls::{self, TlsClient, read_to_close};
use mtls_testpki::{Leaf, Pki};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;

pub(crate) use mtls_testpki::tls::{LIMIT, provider};

/// The subject the `/admin` allow-list names: `pki.valid_from_root`.
pub(crate) const ADMIN: &str = "CN=client-valid";

/// The application under test. Every route sits on the same listener and is
/// reached over the same kind of connection; only its policy differs.
///
/// | route | layer | handler |
/// |---|---|---|
/// | `/health` | mode `Off` | `"ok"` + identity headers it sees |
/// | `/admin` | mode `On`, allow-list `CN=client-valid`, nginx headers | `VerifiedClient` + headers |
/// | `/whoami` | mode `Optional`, nginx headers | `Option<VerifiedClient>` + headers |
/// | `/nginx` | mode `On`, nginx style | `VerifiedClient` |
/// | `/no-ca` | mode `OptionalNoCa` | `ClientAuth` |
/// | `/verified` | none | `VerifiedClient` |
/// | `/maybe` | none | `Option<VerifiedClient>` |
/// | `/outcome` | none | `ClientAuth` |
/// | `/verified-nginx` | none, `ClientCertAnswers` nginx style | `VerifiedClient` |
/// | `/peer` | none | `ConnectInfo<SocketAddr>` |
/// | `/headers` | none | the identity headers it sees |
pub(crate) fn app() -> Router {
    Router::new()
        .route(
            "/health",
            get(health).route_layer(VerifyClientLayer::new().mode(VerifyMode::Off)),
        )
        .route(
            "/admin",
            get(admin).route_layer(
                VerifyClientLayer::new()
                    .mode(VerifyMode::On)
                    .authorize(AllowList::new().subject_dn(ADMIN))
                    .forward(ForwardHeaders::nginx()),
            ),
        )
        .route(
            "/whoami",
            get(whoami).route_layer(
                VerifyClientLayer::new()
                    .mode(VerifyMode::Optional)
                    .forward(ForwardHeaders::nginx()),
            ),
        )
        .route(
            "/nginx",
            get(verified).route_layer(
                VerifyClientLayer::new()
                    .mode(VerifyMode::On)
                    .style(AnswerStyle::Nginx),
            ),
        )
        .route(
            "/no-ca",
            get(outcome).route_layer(VerifyClientLayer::new().mode(VerifyMode::OptionalNoCa)),
        )
        .route("/verified", get(verified))
        .route("/maybe", get(maybe))
        .route("/outcome", get(outcome))
        .route(
            "/verified-nginx",
            get(verified).layer(Extension(ClientCertAnswers::new(AnswerStyle::Nginx))),
        )
        .route("/peer", get(peer))
        .route("/headers", get(headers_seen))
}

/// The identity headers a handler received (and their underscore
/// spellings, which CGI-style backends read as the same header).
fn identity_headers(headers: &HeaderMap) -> Value {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    json!({
        "x-ssl-client-verify": get("x-ssl-client-verify"),
        "x-ssl-client-s-dn": get("x-ssl-client-s-dn"),
        "x_ssl_client_verify": get("x_ssl_client_verify"),
        "x-forwarded-client-cert": get("x-forwarded-client-cert"),
    })
}

async fn headers_seen(headers: HeaderMap) -> String {
    json!({ "headers": identity_headers(&headers) }).to_string()
}

async fn health(headers: HeaderMap) -> String {
    json!({ "status": "ok", "headers": identity_headers(&headers) }).to_string()
}

async fn admin(client: VerifiedClient, headers: HeaderMap) -> String {
    json!({ "subject": client.subject_dn(), "headers": identity_headers(&headers) }).to_string()
}

async fn whoami(client: Option<VerifiedClient>, headers: HeaderMap) -> String {
    json!({
        "subject": client.as_ref().map(|c| c.subject_dn()),
        "headers": identity_headers(&headers),
    })
    .to_string()
}

async fn verified(client: VerifiedClient) -> String {
    json!({ "subject": client.subject_dn(), "verified": client.outcome().is_verified() })
        .to_string()
}

async fn maybe(client: Option<VerifiedClient>) -> String {
    json!({ "subject": client.as_ref().map(|c| c.subject_dn()) }).to_string()
}

async fn outcome(auth: ClientAuth) -> String {
    json!({
        "label": auth.label(),
        "ssl_client_verify": auth.ssl_client_verify(),
        "reason": auth.reason().map(|r| r.name()),
        "presented": auth.presented_identity().map(|id| id.subject_dn()),
    })
    .to_string()
}

async fn peer(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> String {
    addr.ip().to_string()
}

/// A server on 127.0.0.1, stopped when dropped.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) pki: Pki,
    pub(crate) task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listener on 127.0.0.1:0 that trusts `pki`'s root and intermediate and
/// requests (never requires) a client certificate.
pub(crate) async fn listener(pki: &Pki) -> MtlsListener {
    listener_with(pki, |acceptor| acceptor).await
}

/// As [`listener`], with `tweak` applied to the acceptor.
pub(crate) async fn listener_with(
    pki: &Pki,
    tweak: impl FnOnce(MtlsAcceptor) -> MtlsAcceptor,
) -> MtlsListener {
    listener_classifying(pki, |classifier| classifier, tweak).await
}

/// As [`listener_with`], with `policy` applied to the classifier.
pub(crate) async fn listener_classifying(
    pki: &Pki,
    policy: impl FnOnce(ClassifierBuilder) -> ClassifierBuilder,
    tweak: impl FnOnce(MtlsAcceptor) -> MtlsAcceptor,
) -> MtlsListener {
    let store = TrustStore::builder()
        .ca_pem(pki.ca_bundle_pem())
        .build()
        .expect("trust store builds");
    let classifier = policy(Classifier::builder(
        ReloadableTrustStore::new(store),
        provider(),
    ))
    .build()
    .expect("classifier builds");
    let config = server_config(
        provider(),
        pki.server.chain(),
        pki.server.key_der(),
        classifier.verifier(VerifyMode::Optional),
    )
    .expect("server config");
    let acceptor =
        MtlsAcceptor::with_fixed_config(Arc::new(config), classifier).handshake_timeout(LIMIT);
    MtlsListener::builder(tweak(acceptor))
        .bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

/// [`app`] served the documented way: `ClientAuthListener` +
/// `into_make_service_with_client_auth`.
pub(crate) async fn serve() -> Server {
    serve_router(app()).await
}

/// `router` served the documented way.
pub(crate) async fn serve_router(router: Router) -> Server {
    let pki = Pki::generate();
    let listener = listener(&pki).await;
    serve_on(pki, listener, router)
}

/// `router` served the documented way on `listener`, which serves `pki`.
pub(crate) fn serve_on(pki: Pki, listener: MtlsListener, router: Router) -> Server {
    let addr = listener.local_addr();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            ClientAuthListener::new(listener),
            router.into_make_service_with_client_auth(),
        )
        .await;
        panic!("axum::serve returned: {served:?}");
    });
    Server { addr, pki, task }
}

/// [`app`] served WITHOUT the glue: a plain `Router` as make-service.
pub(crate) async fn serve_without_glue() -> Server {
    let pki = Pki::generate();
    let listener = listener(&pki).await;
    let addr = listener.local_addr();
    let task = tokio::spawn(async move {
        let served = axum::serve(ClientAuthListener::new(listener), app()).await;
        panic!("axum::serve returned: {served:?}");
    });
    Server { addr, pki, task }
}

/// HTTP version a client speaks (negotiated with ALPN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    Http1,
    Http2,
}

/// A response as the client received it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    /// The body as JSON (problem+json or a handler's JSON).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// The `reason` of a problem+json body.
    pub(crate) fn reason(&self) -> String {
        self.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub(crate) fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// A TLS connection to `addr` for `localhost`, presenting `cert`, offering
/// `alpn` (the shared loopback client).
pub(crate) async fn connect(
    addr: SocketAddr,
    pki: &Pki,
    cert: Option<&Leaf>,
    alpn: &[&[u8]],
) -> TlsStream<TcpStream> {
    TlsClient::builder(pki)
        .present_opt(cert)
        .alpn(alpn)
        .build()
        .connect(addr)
        .await
        .expect("TLS handshake completes within the limit")
}

enum Sender {
    Http1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    Http2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

/// One client connection (HTTP/1.1 keep-alive or HTTP/2) for several
/// requests.
pub(crate) struct Session {
    sender: Sender,
    proto: Proto,
}

impl Session {
    pub(crate) async fn open(server: &Server, cert: Option<&Leaf>, proto: Proto) -> Self {
        let alpn: &[&[u8]] = match proto {
            Proto::Http1 => &[b"http/1.1"],
            Proto::Http2 => &[b"h2"],
        };
        let tls = connect(server.addr, &server.pki, cert, alpn).await;
        let negotiated = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        assert_eq!(negotiated.as_deref(), Some(alpn[0]), "ALPN negotiated");
        let io = TokioIo::new(tls);
        let sender = match proto {
            Proto::Http1 => {
                let (sender, conn) = hyper::client::conn::http1::handshake(io)
                    .await
                    .expect("HTTP/1.1 handshake");
                tokio::spawn(conn);
                Sender::Http1(sender)
            }
            Proto::Http2 => {
                let (sender, conn) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .expect("HTTP/2 handshake");
                tokio::spawn(conn);
                Sender::Http2(sender)
            }
        };
        Self { sender, proto }
    }

    /// `GET path` with extra request headers.
    pub(crate) async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let uri = match self.proto {
            Proto::Http1 => path.to_owned(),
            Proto::Http2 => format!("https://localhost{path}"),
        };
        let mut request = Request::get(uri);
        if self.proto == Proto::Http1 {
            request = request.header(header::HOST, "localhost");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::<Bytes>::new()).expect("valid request");
        let work = async {
            let response = match &mut self.sender {
                Sender::Http1(sender) => sender.send_request(request).await,
                Sender::Http2(sender) => sender.send_request(request).await,
            }
            .expect("response");
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("body").to_bytes();
            Reply {
                status: parts.status,
                version: parts.version,
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            }
        };
        tokio::time::timeout(LIMIT, work)
            .await
            .expect("response within the limit")
    }

    pub(crate) async fn get(&mut self, path: &str) -> Reply {
        self.get_with(path, &[]).await
    }
}

/// `GET path` over a fresh HTTP/1.1 connection presenting `cert`.
pub(crate) async fn fetch(server: &Server, cert: Option<&Leaf>, path: &str) -> Reply {
    Session::open(server, cert, Proto::Http1)
        .await
        .get(path)
        .await
}

/// Reads until the peer closes (a peer that closes without TLS
/// close_notify ends the read too), within the limit.
pub(crate) async fn read_all(mut io: impl AsyncRead + Unpin) -> String {
    let out = read_to_close(&mut io).await.unwrap_or_default();
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `request` verbatim over TLS (ALPN http/1.1) and returns everything
/// the server sends back, status line included.
pub(crate) async fn raw_tls(server: &Server, cert: Option<&Leaf>, request: &str) -> String {
    let mut tls = connect(server.addr, &server.pki, cert, &[b"http/1.1"]).await;
    tls.write_all(request.as_bytes())
        .await
        .expect("write request");
    tls.flush().await.expect("flush");
    read_all(tls).await
}

/// Sends `request` verbatim over plain TCP.
pub(crate) async fn raw_tcp(server: &Server, request: &str) -> String {
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    tcp.write_all(request.as_bytes())
        .await
        .expect("write request");
    read_all(tcp).await
}

/// Reads exactly one HTTP/1.1 response from a keep-alive connection, within
/// the limit; the connection stays usable for the next request.
pub(crate) async fn read_one_response(io: &mut (impl AsyncRead + Unpin)) -> String {
    String::from_utf8_lossy(&tls::read_one_response(io).await).into_owned()
}

/// Sends `request` verbatim on an open connection.
pub(crate) async fn send(io: &mut (impl AsyncWrite + Unpin), request: &str) {
    io.write_all(request.as_bytes())
        .await
        .expect("write request");
    io.flush().await.expect("flush");
}

/// Asserts that the server closed `io`: a request sent now gets no answer,
/// the read ends (EOF, or an error for a close without close_notify).
pub(crate) async fn assert_closed(io: &mut (impl AsyncRead + AsyncWrite + Unpin), request: &str) {
    // The write may already fail on a closed socket; either way nothing
    // must come back.
    let _ = io.write_all(request.as_bytes()).await;
    let _ = io.flush().await;
    let mut chunk = [0u8; 4096];
    let read = tokio::time::timeout(LIMIT, io.read(&mut chunk))
        .await
        .expect("the server closes the connection within the limit");
    match read {
        Ok(0) | Err(_) => {}
        Ok(n) => panic!(
            "the connection stayed open and answered again: {:?}",
            String::from_utf8_lossy(&chunk[..n])
        ),
    }
}
