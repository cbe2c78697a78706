//! A server-streaming RPC: the check applies once, before the stream; the
//! identity stays with every message.

use tokio_stream::StreamExt;
use tonic::Code;

use crate::greeter::HelloRequest;
use crate::greeter::greeter_client::GreeterClient;
use crate::harness::{Glue, TIMEOUT, connect, mtls_metadata, start, subject_of};

#[tokio::test]
async fn every_streamed_message_carries_the_verified_identity() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let expected = subject_of(&server.pki.valid_from_root);
        let mut greeter =
            GreeterClient::new(connect(&server, Some(&server.pki.valid_from_root)).await);
        let mut stream = greeter
            .stream_hellos(HelloRequest {
                name: "stream".into(),
                count: 5,
            })
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"))
            .into_inner();
        let mut messages = Vec::new();
        while let Some(reply) = tokio::time::timeout(TIMEOUT, stream.next())
            .await
            .expect("stream stalled")
        {
            let reply = reply.unwrap_or_else(|status| panic!("{glue:?}: {status:?}"));
            assert_eq!(reply.subject, expected, "{glue:?}: {}", reply.message);
            messages.push(reply.message);
        }
        assert_eq!(
            messages,
            ["hello #0", "hello #1", "hello #2", "hello #3", "hello #4"],
            "{glue:?}"
        );

        // A further call on the same connection keeps the same identity.
        let reply = greeter
            .say_hello(HelloRequest::default())
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"))
            .into_inner();
        assert_eq!(reply.subject, expected, "{glue:?}");
    }
}

#[tokio::test]
async fn a_streaming_call_without_certificate_is_refused_before_any_message() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let mut greeter = GreeterClient::new(connect(&server, None).await);
        let status = greeter
            .stream_hellos(HelloRequest {
                name: "stream".into(),
                count: 3,
            })
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated, "{glue:?}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("496"), Some("certificate_required")),
            "{glue:?}"
        );
    }
}
