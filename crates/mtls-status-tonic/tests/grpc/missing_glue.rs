//! The checks installed without the TLS glue (plain TCP, no outcome on the
//! requests): `INTERNAL`, never a pass, even in mode `Off`.

use std::sync::Arc;

use mtls_status::VerifyMode;
use mtls_status_tonic::{ClientAuthInterceptor, GrpcClientAuthLayer};
use tonic::Code;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Endpoint, Server};
use tower::Layer;

use crate::greeter::PingRequest;
use crate::greeter::ping_client::PingClient;
use crate::greeter::ping_server::PingServer;
use crate::harness::{TIMEOUT, mtls_metadata};

/// A Ping whose handler would answer OK.
struct Pong;

#[tonic::async_trait]
impl crate::greeter::ping_server::Ping for Pong {
    async fn ping(
        &self,
        _request: tonic::Request<PingRequest>,
    ) -> Result<tonic::Response<crate::greeter::PingReply>, tonic::Status> {
        Ok(tonic::Response::new(crate::greeter::PingReply {
            ssl_client_verify: "handler ran".into(),
        }))
    }
}

async fn call_over_plain_tcp(use_layer: bool) -> tonic::Status {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let incoming = TcpIncoming::from(listener);
    let router = if use_layer {
        Server::builder()
            .add_service(GrpcClientAuthLayer::new(VerifyMode::Off).layer(PingServer::new(Pong)))
    } else {
        Server::builder().add_service(PingServer::with_interceptor(
            Pong,
            ClientAuthInterceptor::new(VerifyMode::Off),
        ))
    };
    let task = tokio::spawn(router.serve_with_incoming(incoming));
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .connect()
        .await
        .expect("connect");
    let result = PingClient::new(channel).ping(PingRequest {}).await;
    task.abort();
    match result {
        Ok(reply) => panic!("passed without an outcome: {:?}", reply.into_inner()),
        Err(status) => status,
    }
}

#[tokio::test]
async fn layer_without_tls_glue_answers_internal() {
    let status = call_over_plain_tcp(true).await;
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(
        mtls_metadata(&status),
        (Some("500"), Some("missing_outcome"))
    );
    assert!(status.message().contains("not a problem with the client"));
}

#[tokio::test]
async fn interceptor_without_tls_glue_answers_internal() {
    let status = call_over_plain_tcp(false).await;
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert_eq!(
        mtls_metadata(&status),
        (Some("500"), Some("missing_outcome"))
    );
}

/// A layer's outcome (`Arc<ClientAuthOutcome>` inserted by other glue) is
/// enough: no `MtlsConnectInfo` needed.
#[tokio::test]
async fn an_outcome_inserted_by_other_glue_is_used() {
    use mtls_status::ClientAuthOutcome;
    use tonic::service::Interceptor;

    let mut interceptor = ClientAuthInterceptor::new(VerifyMode::Optional);
    let mut request = tonic::Request::new(());
    request
        .extensions_mut()
        .insert(Arc::new(ClientAuthOutcome::None));
    assert!(interceptor.call(request).is_ok());
}
