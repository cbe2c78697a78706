//! gRPC behind a TLS-terminating front proxy (Envoy's
//! `x-forwarded-client-cert`): tonic on plain TCP with
//! `TrustedProxyLayer::peer_addr_from(peer_ip)` in front of the same
//! per-service check, and a real tonic client sending the metadata Envoy
//! would. The check, its statuses and the handler's view are those of a
//! direct mTLS connection; from an untrusted peer the metadata never counts
//! and never reaches the handler.

use std::net::SocketAddr;
use std::sync::Arc;

use mtls_status::forward::xfcc_element;
use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy, parse_trusted_peer};
use mtls_status::{ClientIdentity, VerifyMode};
use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStore};
use mtls_status_tonic::{ClientAuthCheck, GrpcAnswers};
use mtls_status_tower::TrustedProxyLayer;
use mtls_testpki::{Leaf, Pki};
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Status};
use tower::Layer;

use crate::greeter::greeter_client::GreeterClient;
use crate::greeter::greeter_server::GreeterServer;
use crate::greeter::ping_client::PingClient;
use crate::greeter::ping_server::PingServer;
use crate::greeter::{HelloRequest, PingRequest};
use crate::harness::{GreeterImpl, PingImpl, TIMEOUT, mtls_metadata, subject_of};

/// The service behind the proxy; stopped when dropped.
struct Backend {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Greeter (mode `on`) and Ping (no check) on plain TCP, trusting
/// forwarded certificates from `trusted` only, classified against `pki`.
async fn backend(pki: &Pki, trusted: &str) -> Backend {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = TrustStore::builder()
        .ca_pem(pki.ca_bundle_pem())
        .build()
        .expect("trust store");
    let classifier = Classifier::builder(ReloadableTrustStore::new(store), provider)
        .build()
        .expect("classifier");
    let proxy = TrustedProxy::builder(ProxyHeaderFormat::Xfcc)
        .trusted_peer(parse_trusted_peer(trusted).expect("CIDR"))
        .build()
        .expect("trusted proxy");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serve = Server::builder()
        .layer(
            TrustedProxyLayer::new(proxy, classifier)
                .peer_addr_from(mtls_status_tonic::peer_ip)
                .answer_with(GrpcAnswers),
        )
        .add_service(
            ClientAuthCheck::new(VerifyMode::On)
                .layer()
                .layer(GreeterServer::new(GreeterImpl)),
        )
        .add_service(PingServer::new(PingImpl))
        .serve_with_incoming(TcpListenerStream::new(listener));
    let task = tokio::spawn(async move {
        serve.await.expect("server");
    });
    Backend { addr, task }
}

async fn channel(backend: &Backend) -> Channel {
    Channel::from_shared(format!("http://{}", backend.addr))
        .expect("endpoint")
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect("connect")
}

/// A request carrying what Envoy forwards for `client` (nothing for None).
fn forwarded<T>(message: T, client: Option<&Leaf>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(leaf) = client {
        let identity = ClientIdentity::from_chain(leaf.chain()).expect("identity");
        let element = xfcc_element(&identity, Some("spiffe://example.org/backend"), true);
        request.metadata_mut().insert(
            "x-forwarded-client-cert",
            element.parse().expect("metadata value"),
        );
    }
    request
}

async fn say_hello(backend: &Backend, client: Option<&Leaf>) -> Result<String, Status> {
    let hello = HelloRequest {
        name: "tester".into(),
        count: 0,
    };
    GreeterClient::new(channel(backend).await)
        .say_hello(forwarded(hello, client))
        .await
        .map(|reply| reply.into_inner().subject)
}

async fn ping(backend: &Backend, client: Option<&Leaf>) -> Result<String, Status> {
    PingClient::new(channel(backend).await)
        .ping(forwarded(PingRequest {}, client))
        .await
        .map(|reply| reply.into_inner().ssl_client_verify)
}

#[tokio::test]
async fn forwarded_certificates_get_the_answers_of_direct_mtls() {
    let pki = Pki::generate();
    let backend = backend(&pki, "127.0.0.1/32").await;

    let subject = say_hello(&backend, Some(&pki.valid_from_root))
        .await
        .expect("a valid forwarded certificate passes");
    assert_eq!(subject, subject_of(&pki.valid_from_root));

    let expired = say_hello(&backend, Some(&pki.expired))
        .await
        .expect_err("expired");
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert_eq!(mtls_metadata(&expired), (Some("495"), Some("expired")));

    let none = say_hello(&backend, None).await.expect_err("no certificate");
    assert_eq!(none.code(), Code::Unauthenticated);
    assert_eq!(
        mtls_metadata(&none),
        (Some("496"), Some("certificate_required"))
    );

    // A certificate the proxy mangled: the proxy's problem, said as gRPC.
    let mut request = Request::new(HelloRequest {
        name: "tester".into(),
        count: 0,
    });
    request.metadata_mut().insert(
        "x-forwarded-client-cert",
        "Hash=00;Cert=\"%2D%2D%2D%2D%2DBEGIN%20garbage\""
            .parse()
            .expect("value"),
    );
    let bad = GreeterClient::new(channel(&backend).await)
        .say_hello(request)
        .await
        .expect_err("unreadable header");
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    let (status, reason) = mtls_metadata(&bad);
    assert_eq!(status, Some("400"));
    assert!(
        reason.is_some_and(|r| r.starts_with("proxy_header_")),
        "{reason:?}"
    );

    // The handler sees the verdict, never the forwarded metadata.
    assert_eq!(
        ping(&backend, Some(&pki.valid_from_root))
            .await
            .expect("ping"),
        "SUCCESS"
    );
}

#[tokio::test]
async fn metadata_from_an_untrusted_peer_never_counts() {
    let pki = Pki::generate();
    // The proxy is elsewhere: this client (127.0.0.1) is not it.
    let backend = backend(&pki, "192.0.2.0/24").await;

    let status = say_hello(&backend, Some(&pki.valid_from_root))
        .await
        .expect_err("a spoofed certificate does not pass");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        mtls_metadata(&status),
        (Some("496"), Some("certificate_required"))
    );
    // Stripped before the handler, and no identity.
    assert_eq!(
        ping(&backend, Some(&pki.valid_from_root))
            .await
            .expect("ping"),
        "NONE"
    );
}
