//! Per-service modes on one server: the Greeter requires an allowed
//! certificate, the Ping service requires none; and one layer for all.

use tonic::Code;
use tonic::metadata::MetadataValue;

use crate::greeter::HelloRequest;
use crate::greeter::PingRequest;
use crate::greeter::greeter_client::GreeterClient;
use crate::greeter::ping_client::PingClient;
use crate::harness::{Glue, connect, mtls_metadata, ping, start};

#[tokio::test]
async fn on_one_connection_ping_passes_and_greeter_refuses_without_certificate() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        // One connection, one outcome (None), two services, two answers.
        let channel = connect(&server, None).await;
        let reply = PingClient::new(channel.clone())
            .ping(PingRequest {})
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"))
            .into_inner();
        assert_eq!(reply.ssl_client_verify, "NONE", "{glue:?}");
        let status = GreeterClient::new(channel)
            .say_hello(HelloRequest::default())
            .await
            .expect_err("Greeter requires a certificate");
        assert_eq!(status.code(), Code::Unauthenticated, "{glue:?}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("496"), Some("certificate_required"))
        );
    }
}

#[tokio::test]
async fn ping_in_mode_off_passes_an_invalid_certificate_and_its_handler_sees_why() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let reply = ping(&server, Some(&server.pki.expired))
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"));
        assert_eq!(
            reply.ssl_client_verify, "FAILED:certificate has expired",
            "{glue:?}"
        );
        let reply = ping(&server, Some(&server.pki.valid_via_intermediate))
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"));
        assert_eq!(reply.ssl_client_verify, "SUCCESS", "{glue:?}");
    }
}

#[tokio::test]
async fn one_server_wide_layer_applies_to_every_service() {
    let server = start(Glue::ServerLayer).await;
    let status = ping(&server, None).await.expect_err("Ping is covered too");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(
        mtls_metadata(&status),
        (Some("496"), Some("certificate_required"))
    );
    let status = ping(&server, Some(&server.pki.unknown_ca))
        .await
        .expect_err("unknown CA");
    assert_eq!(
        mtls_metadata(&status),
        (Some("495"), Some("unknown_leaf_issuer"))
    );
    // No policy: any verified client passes, and the handler sees it.
    let reply = ping(&server, Some(&server.pki.valid_via_intermediate))
        .await
        .expect("verified client passes");
    assert_eq!(reply.ssl_client_verify, "SUCCESS");
}

/// Identity metadata a client sends (a handler ported from behind nginx's
/// `grpc_set_header X-SSL-Client-Verify ...` might read it) never reaches
/// a service behind a check, whatever the check's mode.
#[tokio::test]
async fn spoofed_identity_metadata_never_reaches_the_handler() {
    let spoofed = |verify: &'static str| {
        let mut request = tonic::Request::new(PingRequest {});
        let metadata = request.metadata_mut();
        metadata.insert("x-ssl-client-verify", MetadataValue::from_static(verify));
        metadata.insert("x-ssl-client-s-dn", MetadataValue::from_static("CN=admin"));
        metadata.insert("x_ssl_client_verify", MetadataValue::from_static(verify));
        metadata.insert(
            "x-forwarded-client-cert",
            MetadataValue::from_static("Hash=00"),
        );
        metadata.insert_bin(
            "x-ssl-client-cert-bin",
            tonic::metadata::MetadataValue::from_bytes(b"der"),
        );
        request
    };
    // Ping in mode Off (per service), and under a server-wide `On` layer.
    for glue in [Glue::Layer, Glue::Interceptor, Glue::ServerLayer] {
        let server = start(glue).await;
        let client = (glue == Glue::ServerLayer).then(|| server.pki.valid_from_root.clone());
        let channel = connect(&server, client.as_ref()).await;
        let reply = PingClient::new(channel)
            .ping(spoofed("SUCCESS"))
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"))
            .into_inner();
        let expected = if client.is_some() { "SUCCESS" } else { "NONE" };
        assert_eq!(reply.ssl_client_verify, expected, "{glue:?}");
    }
}
