//! The trusted-proxy header parsers (`mtls_status::proxy`): nginx /
//! ingress-nginx URL-encoded PEM, HAProxy base64 DER, Envoy XFCC, RFC 9440
//! byte sequences, ALB; verify headers; with and without trusting the
//! proxy's verdict. Never a panic, never more than the bounded chain.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use mtls_status::ClientAuthOutcome;
use mtls_status::proxy::{DEFAULT_MAX_CHAIN_LEN, ProxyHeaderFormat, TrustedProxy};
use rustls_pki_types::CertificateDer;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let formats = ProxyHeaderFormat::ALL;
    let format = formats[usize::from(selector) % formats.len()];
    // The certificate header, then (after a NUL) the chain / verify header.
    let (cert, second) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let mut builder = TrustedProxy::builder(format).trusted_peer("127.0.0.0/8".parse().unwrap());
    if selector & 0x80 != 0 {
        builder = builder.trust_proxy_verdict();
    }
    let proxy = builder.build().unwrap();
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(cert) {
        headers.append(format.default_cert_header(), value);
    }
    if let Ok(value) = HeaderValue::from_bytes(second) {
        if let Some(name) = format.default_chain_header() {
            headers.append(name, value.clone());
        }
        if let Some(name) = format.default_verify_header() {
            headers.append(name, value);
        }
    }
    if let Ok(Some(claim)) = proxy.read(&headers) {
        assert!(!claim.chain().is_empty() && claim.chain().len() <= DEFAULT_MAX_CHAIN_LEN);
    }
    let classify = |_: &[CertificateDer<'_>]| Arc::new(ClientAuthOutcome::None);
    let peer = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let _ = proxy.outcome(peer, &mut headers, &classify);
    assert!(headers.is_empty());
});
