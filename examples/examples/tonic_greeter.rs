//! mtls-status with tonic: one gRPC server, two services with their own
//! client-certificate policy, called by five clients over TLS.
//!
//! ```text
//! cargo run --example tonic_greeter
//! ```
//!
//! | service | policy | attached with |
//! |---|---|---|
//! | `greeter.v1.Greeter` | `VerifyMode::On` + allow-list (one SPIFFE ID) | `GrpcClientAuthLayer` (tower layer) |
//! | `greeter.v1.Ping` | `VerifyMode::Off`: anyone, the handler reports what it saw | `ClientAuthInterceptor` (tonic interceptor) |
//!
//! No certificate or an invalid one gets `UNAUTHENTICATED` with the reason in
//! the message and in the `x-mtls-status` / `x-mtls-reason` metadata; a valid
//! certificate the allow-list does not name gets `PERMISSION_DENIED`. The TLS
//! is mtls-status-rustls's (ring), not tonic's: `MtlsListener` +
//! `mtls_status_tonic::incoming` for `serve_with_incoming`. The clients are
//! tonic clients over tokio-rustls, one connection (and certificate) each.
//! The services come from `crates/mtls-status-tonic/tests/support/greeter.proto`,
//! compiled ahead of time (no protoc needed).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use mtls_examples::{BoxError, client_config};
use mtls_status::VerifyMode;
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsListener, ReloadableTrustStore, TrustStore,
    server_config_with_alpn,
};
use mtls_status_tonic::{
    AllowList, ClientAuthCheck, ClientAuthInterceptor, ClientAuthRequestExt, REASON_METADATA,
    STATUS_METADATA, incoming,
};
use mtls_testpki::{Leaf, Pki};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Code, Request, Response, Status};
use tower::Layer;

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
#[path = "../../crates/mtls-status-tonic/tests/support/greeter.rs"]
mod greeter;

use greeter::greeter_client::GreeterClient;
use greeter::greeter_server::{Greeter, GreeterServer};
use greeter::ping_client::PingClient;
use greeter::ping_server::{Ping, PingServer};
use greeter::{HelloReply, HelloRequest, PingReply, PingRequest};

/// The one client the Greeter's allow-list names (`pki.valid_from_root`).
const ALLOWED: &str = "spiffe://example.org/ns/prod/sa/web";

/// Upper bound for each call.
const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let pki = Pki::generate();
    let addr = start_server(&pki).await?;
    println!("gRPC server on https://{addr}");
    println!("  greeter.v1.Greeter: certificate required (mode on), allow-list {ALLOWED}");
    println!("  greeter.v1.Ping:    no certificate needed (mode off)\n");

    let clients: [(&str, Option<&Leaf>, Code); 5] = [
        ("no certificate", None, Code::Unauthenticated),
        ("valid, allowed", Some(&pki.valid_from_root), Code::Ok),
        ("expired", Some(&pki.expired), Code::Unauthenticated),
        ("unknown CA", Some(&pki.unknown_ca), Code::Unauthenticated),
        (
            "valid, not on the allow-list",
            Some(&pki.valid_via_intermediate),
            Code::PermissionDenied,
        ),
    ];
    for (name, client, expected) in clients {
        println!("== {name}");
        let channel = connect(addr, &pki, client).await?;

        let ping = PingClient::new(channel.clone()).ping(PingRequest {}).await;
        match &ping {
            Ok(reply) => println!(
                "  Ping      OK                   ssl_client_verify={}",
                reply.get_ref().ssl_client_verify
            ),
            Err(status) => print_status("Ping", status),
        }
        if let Err(status) = ping {
            return Err(format!("Ping must pass for every client, got {status:?}").into());
        }

        let mut greeter = GreeterClient::new(channel);
        let hello = greeter
            .say_hello(HelloRequest {
                name: name.into(),
                count: 0,
            })
            .await;
        let got = match &hello {
            Ok(reply) => {
                let reply = reply.get_ref();
                println!(
                    "  SayHello  OK                   {:?} (subject {})",
                    reply.message, reply.subject
                );
                Code::Ok
            }
            Err(status) => {
                print_status("SayHello", status);
                status.code()
            }
        };
        if got != expected {
            return Err(format!("{name}: expected {expected:?}, got {got:?}").into());
        }
        if got == Code::Ok {
            let mut stream = greeter
                .stream_hellos(HelloRequest {
                    name: name.into(),
                    count: 3,
                })
                .await?
                .into_inner();
            while let Some(reply) = stream.next().await {
                let reply = reply?;
                println!(
                    "  StreamHellos message          {:?} (subject {})",
                    reply.message, reply.subject
                );
            }
        }
        println!();
    }
    Ok(())
}

fn print_status(rpc: &str, status: &Status) {
    let metadata = |key| {
        status
            .metadata()
            .get(key)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-")
    };
    let code = format!("{:?} ({})", status.code(), status.code() as i32);
    println!(
        "  {rpc:<9} {code:<20} {STATUS_METADATA}={} {REASON_METADATA}={}",
        metadata(STATUS_METADATA),
        metadata(REASON_METADATA)
    );
    println!("            {}", status.message());
}

async fn start_server(pki: &Pki) -> Result<SocketAddr, BoxError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = TrustStore::builder().ca_pem(pki.ca_bundle_pem()).build()?;
    let accepted_cas = store.accepted_ca_names().to_vec();
    let classifier =
        Classifier::builder(ReloadableTrustStore::new(store), Arc::clone(&provider)).build()?;
    // Request a certificate on every connection (the verdict is given per
    // service below); ALPN h2 only: gRPC is HTTP/2.
    let config = server_config_with_alpn(
        provider,
        pki.server.chain(),
        pki.server.key_der(),
        classifier.verifier(VerifyMode::On),
        vec![b"h2".to_vec()],
    )?;
    let listener = MtlsListener::builder(MtlsAcceptor::with_fixed_config(
        Arc::new(config),
        classifier,
    ))
    .bind("127.0.0.1:0")
    .await?;
    let addr = listener.local_addr();

    let greeter_policy = ClientAuthCheck::new(VerifyMode::On)
        .authorize(AllowList::new().spiffe_id(ALLOWED))
        .accepted_cas(accepted_cas);
    let server = Server::builder()
        .add_service(
            greeter_policy
                .layer()
                .layer(GreeterServer::new(GreeterImpl)),
        )
        .add_service(PingServer::with_interceptor(
            PingImpl,
            ClientAuthInterceptor::new(VerifyMode::Off),
        ))
        .serve_with_incoming(incoming(listener));
    tokio::spawn(async move {
        if let Err(error) = server.await {
            eprintln!("server: {error}");
        }
    });
    Ok(addr)
}

/// A tonic channel over one TLS connection (rustls, ring) presenting
/// `client`'s certificate chain, or none.
async fn connect(addr: SocketAddr, pki: &Pki, client: Option<&Leaf>) -> Result<Channel, BoxError> {
    let config = client_config(&pki.root, client, b"h2")?;
    let connector = TlsConnector::from(Arc::new(config));
    let tls_connect = tower::service_fn(move |_uri: http::Uri| {
        let connector = connector.clone();
        async move {
            let tcp = TcpStream::connect(addr).await?;
            let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
            let tls = connector.connect(name, tcp).await?;
            Ok::<_, io::Error>(TokioIo::new(tls))
        }
    });
    let channel = Endpoint::from_shared(format!("https://localhost:{}", addr.port()))?
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .connect_with_connector(tls_connect)
        .await?;
    Ok(channel)
}

/// Greets the caller by its verified certificate. The policy layer has
/// already refused everyone else, so the identity is always there.
struct GreeterImpl;

#[tonic::async_trait]
impl Greeter for GreeterImpl {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let subject = request
            .client_identity()
            .map(|identity| identity.subject_dn().to_owned())
            .ok_or_else(|| Status::internal("no verified client identity"))?;
        Ok(Response::new(HelloReply {
            message: format!("hello, {}", request.get_ref().name),
            subject,
        }))
    }

    type StreamHellosStream = ReceiverStream<Result<HelloReply, Status>>;

    async fn stream_hellos(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Self::StreamHellosStream>, Status> {
        // Shared ownership: the outcome moves into the task producing the stream.
        let outcome = request
            .client_auth_shared()
            .ok_or_else(|| Status::internal("no client-certificate outcome"))?;
        let count = request.get_ref().count.min(16);
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            for i in 1..=count {
                let subject = outcome
                    .identity()
                    .map(|identity| identity.subject_dn().to_owned())
                    .unwrap_or_default();
                let reply = HelloReply {
                    message: format!("hello #{i}"),
                    subject,
                };
                if tx.send(Ok(reply)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// Reports what the server saw of the caller's certificate.
struct PingImpl;

#[tonic::async_trait]
impl Ping for PingImpl {
    async fn ping(&self, request: Request<PingRequest>) -> Result<Response<PingReply>, Status> {
        let ssl_client_verify = request
            .client_auth()
            .map(|outcome| outcome.ssl_client_verify().into_owned())
            .unwrap_or_default();
        Ok(Response::new(PingReply { ssl_client_verify }))
    }
}
