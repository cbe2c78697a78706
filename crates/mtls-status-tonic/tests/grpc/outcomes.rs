//! Each client situation against the Greeter (mode `On`, allow-list), with
//! the check attached as a layer and as an interceptor.

use tonic::Code;

use crate::harness::{Glue, mtls_metadata, say_hello, start, subject_of};

#[tokio::test]
async fn no_certificate_is_unauthenticated_496_certificate_required() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let status = say_hello(&server, None).await.expect_err("rejected");
        assert_eq!(status.code(), Code::Unauthenticated, "{glue:?}: {status:?}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("496"), Some("certificate_required")),
            "{glue:?}"
        );
        let message = status.message();
        assert!(
            message.starts_with("client certificate required (certificate_required): "),
            "{glue:?}: {message}"
        );
        // What to fix: which CAs to get a certificate from.
        assert!(
            message.contains("issued by \"CN=mtls-status Test Root CA\""),
            "{glue:?}: {message}"
        );
    }
}

#[tokio::test]
async fn valid_allowed_certificate_reaches_the_handler_with_its_identity() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let reply = say_hello(&server, Some(&server.pki.valid_from_root))
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"));
        assert_eq!(reply.message, "hello tester");
        assert_eq!(
            reply.subject,
            subject_of(&server.pki.valid_from_root),
            "{glue:?}"
        );
    }
}

#[tokio::test]
async fn expired_certificate_is_unauthenticated_495_expired() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let status = say_hello(&server, Some(&server.pki.expired))
            .await
            .expect_err("rejected");
        assert_eq!(status.code(), Code::Unauthenticated, "{glue:?}: {status:?}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("495"), Some("expired")),
            "{glue:?}"
        );
        let message = status.message();
        assert!(
            message.starts_with(
                "client certificate rejected (expired): Client certificate \"CN=client-expired\": certificate has expired (valid until "
            ),
            "{glue:?}: {message}"
        );
    }
}

#[tokio::test]
async fn unknown_ca_is_unauthenticated_495_unknown_leaf_issuer_listing_accepted_cas() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let status = say_hello(&server, Some(&server.pki.unknown_ca))
            .await
            .expect_err("rejected");
        assert_eq!(status.code(), Code::Unauthenticated, "{glue:?}: {status:?}");
        assert_eq!(
            mtls_metadata(&status),
            (Some("495"), Some("unknown_leaf_issuer")),
            "{glue:?}"
        );
        let message = status.message();
        assert!(
            message.contains("unable to verify the first certificate"),
            "{glue:?}: {message}"
        );
        assert!(
            message.contains("Accepted CAs: \"CN=mtls-status Test Root CA\""),
            "{glue:?}: {message}"
        );
    }
}

#[tokio::test]
async fn valid_certificate_not_in_the_allow_list_is_permission_denied() {
    for glue in Glue::PER_SERVICE {
        let server = start(glue).await;
        let status = say_hello(&server, Some(&server.pki.valid_via_intermediate))
            .await
            .expect_err("rejected");
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{glue:?}: {status:?}"
        );
        assert_eq!(
            mtls_metadata(&status),
            (Some("403"), Some("not_authorized")),
            "{glue:?}"
        );
        assert!(
            status
                .message()
                .contains("\"CN=client-intermediate\" is valid but not authorized for this service: not in this resource's allow-list"),
            "{glue:?}: {}",
            status.message()
        );
    }
}
