//! The test server (Greeter + Ping on one port) and a tonic client over
//! rustls with a client certificate per connection.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use mtls_status::forward::is_identity_header;
use mtls_status::{ClientIdentity, VerifyMode};
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsListener, ReloadableTrustStore, TrustStore,
    server_config_with_alpn,
};
use mtls_status_tonic::{
    AllowList, ClientAuthCheck, ClientAuthInterceptor, ClientAuthMetrics, ClientAuthRequestExt,
    GrpcClientAuthLayer, REASON_METADATA, STATUS_METADATA, incoming,
};
use mtls_testpki::tls::TlsClient;
use mtls_testpki::{Leaf, Pki};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tower::Layer;

use crate::greeter::greeter_client::GreeterClient;
use crate::greeter::greeter_server::{Greeter, GreeterServer};
use crate::greeter::ping_client::PingClient;
use crate::greeter::ping_server::{Ping, PingServer};
use crate::greeter::{HelloReply, HelloRequest, PingReply, PingRequest};

/// Upper bound for any one exchange, so a bug hangs no test.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// The only client the Greeter's allow-list names (`pki.valid_from_root`).
pub(crate) const ALLOWED_URI: &str = "spiffe://example.org/ns/prod/sa/web";

/// How the per-service checks are attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Glue {
    /// `GrpcClientAuthLayer::layer(GreeterServer::new(..))` per service.
    Layer,
    /// `GreeterServer::with_interceptor(.., ClientAuthInterceptor)` per service.
    Interceptor,
    /// One `Server::builder().layer(GrpcClientAuthLayer)` (mode `On`, no
    /// policy) for every service, Ping included.
    ServerLayer,
}

impl Glue {
    /// The per-service variants: Greeter requires an allowed certificate,
    /// Ping requires nothing.
    pub(crate) const PER_SERVICE: [Glue; 2] = [Glue::Layer, Glue::Interceptor];
}

/// A running server; stopped when dropped.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) pki: Pki,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listener on 127.0.0.1:0 for `pki` (h2 only, certificates requested,
/// classified against its root and intermediate), and the CA names a
/// check's answers list.
async fn listen(pki: &Pki) -> (MtlsListener, Vec<String>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = TrustStore::builder()
        .ca_pem(pki.ca_bundle_pem())
        .build()
        .expect("trust store");
    let accepted_cas = store.accepted_ca_names().to_vec();
    let classifier = Classifier::builder(ReloadableTrustStore::new(store), Arc::clone(&provider))
        .build()
        .expect("classifier");
    // gRPC only: offer h2 alone.
    let config = server_config_with_alpn(
        provider,
        pki.server.chain(),
        pki.server.key_der(),
        classifier.verifier(VerifyMode::On),
        vec![b"h2".to_vec()],
    )
    .expect("server config");
    let listener = MtlsListener::builder(MtlsAcceptor::with_fixed_config(
        Arc::new(config),
        classifier,
    ))
    .bind("127.0.0.1:0")
    .await
    .expect("bind");
    (listener, accepted_cas)
}

/// Greeter behind `check` and Ping behind nothing, on one port.
pub(crate) async fn start_greeter(check: ClientAuthCheck) -> TestServer {
    let pki = Pki::generate();
    let (listener, accepted_cas) = listen(&pki).await;
    let addr = listener.local_addr();
    let greeter_check = check.accepted_cas(accepted_cas);
    let serve = Server::builder()
        .add_service(greeter_check.layer().layer(GreeterServer::new(GreeterImpl)))
        .add_service(PingServer::new(PingImpl))
        .serve_with_incoming(incoming(listener));
    let task = tokio::spawn(async move {
        serve.await.expect("server");
    });
    TestServer { addr, pki, task }
}

/// Greeter + Ping on one TLS port that requests client certificates.
pub(crate) async fn start(glue: Glue) -> TestServer {
    start_counted(glue, None).await
}

/// As [`start`], with the Greeter's check (per-service glue only) counting
/// into `metrics`.
pub(crate) async fn start_counted(glue: Glue, metrics: Option<ClientAuthMetrics>) -> TestServer {
    let pki = Pki::generate();
    let (listener, accepted_cas) = listen(&pki).await;
    let addr = listener.local_addr();

    // The Greeter's check, for the per-service glues.
    let mut greeter_check = ClientAuthCheck::new(VerifyMode::On)
        .authorize(AllowList::new().uri(ALLOWED_URI))
        .accepted_cas(accepted_cas);
    if let Some(metrics) = metrics {
        greeter_check = greeter_check.metrics(metrics);
    }
    let greeter = GreeterServer::new(GreeterImpl);
    let ping = PingServer::new(PingImpl);
    let serve = match glue {
        Glue::Layer => Server::builder()
            .add_service(greeter_check.layer().layer(greeter))
            .add_service(GrpcClientAuthLayer::new(VerifyMode::Off).layer(ping))
            .serve_with_incoming(incoming(listener)),
        Glue::Interceptor => Server::builder()
            .add_service(GreeterServer::with_interceptor(
                GreeterImpl,
                greeter_check.interceptor(),
            ))
            .add_service(PingServer::with_interceptor(
                PingImpl,
                ClientAuthInterceptor::new(VerifyMode::Off),
            ))
            .serve_with_incoming(incoming(listener)),
        Glue::ServerLayer => {
            return start_with_server_layer(pki, listener, addr);
        }
    };
    let task = tokio::spawn(async move {
        serve.await.expect("server");
    });
    TestServer { addr, pki, task }
}

fn start_with_server_layer(pki: Pki, listener: MtlsListener, addr: SocketAddr) -> TestServer {
    let serve = Server::builder()
        .layer(GrpcClientAuthLayer::new(VerifyMode::On))
        .add_service(GreeterServer::new(GreeterImpl))
        .add_service(PingServer::new(PingImpl))
        .serve_with_incoming(incoming(listener));
    let task = tokio::spawn(async move {
        serve.await.expect("server");
    });
    TestServer { addr, pki, task }
}

/// A channel to `server` over a fresh TLS connection that presents
/// `client`'s certificate chain, or none.
pub(crate) async fn connect(server: &TestServer, client: Option<&Leaf>) -> Channel {
    let tls = TlsClient::builder(&server.pki)
        .present_opt(client)
        .alpn(&[b"h2"])
        .build();
    let addr = server.addr;
    let connect = tower::service_fn(move |_uri: http::Uri| {
        let tls = tls.clone();
        async move { Ok::<_, io::Error>(TokioIo::new(tls.connect(addr).await?)) }
    });
    Endpoint::from_shared(format!("https://localhost:{}", addr.port()))
        .expect("endpoint")
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .connect_with_connector(connect)
        .await
        .expect("connect")
}

/// `SayHello` as `client`.
pub(crate) async fn say_hello(
    server: &TestServer,
    client: Option<&Leaf>,
) -> Result<HelloReply, Status> {
    let mut greeter = GreeterClient::new(connect(server, client).await);
    greeter
        .say_hello(HelloRequest {
            name: "tester".into(),
            count: 0,
        })
        .await
        .map(Response::into_inner)
}

/// `Ping` as `client`.
pub(crate) async fn ping(server: &TestServer, client: Option<&Leaf>) -> Result<PingReply, Status> {
    let mut ping = PingClient::new(connect(server, client).await);
    ping.ping(PingRequest {}).await.map(Response::into_inner)
}

/// The `x-mtls-status` and `x-mtls-reason` metadata of a rejection.
pub(crate) fn mtls_metadata(status: &Status) -> (Option<&str>, Option<&str>) {
    let get = |key| {
        status
            .metadata()
            .get(key)
            .and_then(|value| value.to_str().ok())
    };
    (get(STATUS_METADATA), get(REASON_METADATA))
}

/// The RFC 2253 subject of `leaf`, as the handler should see it.
pub(crate) fn subject_of(leaf: &Leaf) -> String {
    ClientIdentity::from_chain(leaf.chain())
        .expect("test certificate parses")
        .subject_dn()
        .to_owned()
}

/// Greets the verified client by its certificate; fails loudly if the
/// identity or the client address did not reach it.
pub(crate) struct GreeterImpl;

#[tonic::async_trait]
impl Greeter for GreeterImpl {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let Some(identity) = request.client_identity() else {
            return Err(Status::failed_precondition(
                "test handler: no verified identity in the request",
            ));
        };
        if request.remote_addr().is_none() {
            return Err(Status::failed_precondition(
                "test handler: no remote address",
            ));
        }
        Ok(Response::new(HelloReply {
            message: format!("hello {}", request.get_ref().name),
            subject: identity.subject_dn().to_owned(),
        }))
    }

    type StreamHellosStream = ReceiverStream<Result<HelloReply, Status>>;

    /// The outcome is taken once from the request and read again for every
    /// message, from a task that outlives the handler.
    async fn stream_hellos(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Self::StreamHellosStream>, Status> {
        let Some(outcome) = request.client_auth_shared() else {
            return Err(Status::failed_precondition("test handler: no outcome"));
        };
        let count = request.get_ref().count.min(64);
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            for i in 0..count {
                let subject = outcome
                    .identity()
                    .map(|identity| identity.subject_dn().to_owned())
                    .unwrap_or_default();
                let reply = HelloReply {
                    message: format!("hello #{i}"),
                    subject,
                };
                if tx.send(Ok(reply)).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// Answers with nginx's `$ssl_client_verify` as the handler sees it; fails
/// loudly if any identity metadata (`x-ssl-client-*`, ...) reached it.
pub(crate) struct PingImpl;

#[tonic::async_trait]
impl Ping for PingImpl {
    async fn ping(&self, request: Request<PingRequest>) -> Result<Response<PingReply>, Status> {
        let headers = request.metadata().clone().into_headers();
        let spoofed: Vec<&str> = headers
            .keys()
            .filter(|name| is_identity_header(name))
            .map(http::HeaderName::as_str)
            .collect();
        if !spoofed.is_empty() {
            return Err(Status::failed_precondition(format!(
                "test handler: identity metadata reached the handler: {spoofed:?}"
            )));
        }
        let verify = request
            .client_auth()
            .map(|outcome| outcome.ssl_client_verify().into_owned())
            .unwrap_or_else(|| "no outcome".to_owned());
        Ok(Response::new(PingReply {
            ssl_client_verify: verify,
        }))
    }
}
