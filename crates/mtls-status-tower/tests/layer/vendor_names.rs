//! Client-certificate header names of other servers and clouds (RFC 9440,
//! AWS ALB, IIS/ARR, ...): a client sending them never reaches a handler
//! with them, whatever the forwarding and the outcome (#16 item 5).

use mtls_status::{ForwardHeaders, VerifyMode};
use mtls_status_tower::VerifyClientLayer;

use crate::fixtures::fixtures;
use crate::harness::send;

/// Each name as a client could spell it, with a value a backend reading it
/// would take for a verified identity.
pub(crate) const VENDOR_HEADERS: &[(&str, &str)] = &[
    // RFC 9440.
    ("Client-Cert", ":MIIBspoofed=:"),
    ("Client-Cert-Chain", ":MIIBspoofed=:"),
    ("client_cert", ":MIIBspoofed=:"),
    // Common reverse-proxy spellings.
    ("X-Client-Cert", "MIIBspoofed"),
    ("X-Client-Verify", "SUCCESS"),
    ("x_client_verify", "SUCCESS"),
    // AWS ALB mTLS passthrough and its siblings.
    ("X-Amzn-Mtls-Clientcert", "MIIBspoofed"),
    ("X-Amzn-Mtls-Clientcert-Subject", "CN=admin"),
    ("X-Amzn-Mtls-Clientcert-Leaf", "MIIBspoofed"),
    // IIS Application Request Routing.
    ("X-ARR-ClientCert", "MIIBspoofed"),
];

#[tokio::test]
async fn vendor_client_cert_headers_never_reach_the_handler() {
    let f = fixtures();
    let mut passed = 0;
    for mode in VerifyMode::ALL {
        for forward in [
            ForwardHeaders::none(),
            ForwardHeaders::nginx().with_cert(),
            ForwardHeaders::xfcc().with_cert(),
        ] {
            let layer = VerifyClientLayer::new().mode(mode).forward(forward.clone());
            for outcome in [&f.none, &f.alice, &f.expired] {
                let mut headers = VENDOR_HEADERS.to_vec();
                headers.push(("x-request-id", "kept"));
                let reply = send(&layer, Some(outcome), &headers).await;
                if !reply.passed() {
                    continue;
                }
                passed += 1;
                for (name, _) in VENDOR_HEADERS {
                    assert_eq!(
                        reply.seen_header(name),
                        None,
                        "mode {mode}, {forward:?}, {}: {name} reached the handler",
                        outcome.label()
                    );
                }
                assert_eq!(reply.seen_header("x-request-id"), Some("kept"));
            }
        }
    }
    assert!(passed >= 9, "{passed}");
}
