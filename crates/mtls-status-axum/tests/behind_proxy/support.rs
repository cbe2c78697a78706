//! The service under test, served two ways: terminating TLS itself (the
//! reference), and as a plain-HTTP backend behind a front proxy with
//! `TrustedProxyLayer`; and a TLS client.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Extension, Router};
use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy};
use mtls_status::{ClientAuthOutcome, ForwardHeaders, VerifyMode};
use mtls_status_axum::{
    ClientAuthListener, ClientAuthRouterExt, VerifiedClient, VerifyClientLayer, connect_info_peer,
};
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsListener, ReloadableTrustStore, TrustStore, server_config,
};
use mtls_status_tower::TrustedProxyLayer;
use mtls_testpki::tls::{self, LIMIT, TlsClient, provider};
use mtls_testpki::{Leaf, Pki};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// The classifier of the service: the scenario PKI's root and intermediate,
/// depth 1 (nginx's default).
pub(crate) fn classifier(pki: &Pki) -> Classifier {
    let store = TrustStore::builder()
        .ca_pem(pki.ca_bundle_pem())
        .build()
        .expect("trust store builds");
    Classifier::builder(ReloadableTrustStore::new(store), provider())
        .build()
        .expect("classifier builds")
}

/// What the handler saw: the outcome in the request's extensions, where
/// the TLS glue or the trusted-proxy layer put it.
async fn outcome(Extension(outcome): Extension<Arc<ClientAuthOutcome>>) -> String {
    let identity = outcome.presented_identity();
    json!({
        "outcome": outcome.label(),
        "ssl_client_verify": outcome.ssl_client_verify(),
        "reason": outcome.reason().map(|r| r.name()),
        "s_dn": identity.map(|i| i.subject_dn()),
        "i_dn": identity.map(|i| i.issuer_dn()),
        "serial": identity.map(|i| i.serial()),
        "sha256": identity.map(|i| i.fingerprint_sha256()),
        "verified_s_dn": outcome.identity().map(|i| i.subject_dn()),
    })
    .to_string()
}

/// Behind `VerifyClientLayer` (mode `On`, nginx headers forwarded): the
/// `VerifiedClient` extractor and the identity headers the handler sees.
async fn on(client: VerifiedClient, headers: HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    json!({
        "verified": client.identity().subject_dn(),
        "x-ssl-client-verify": header("x-ssl-client-verify"),
        "x-ssl-client-s-dn": header("x-ssl-client-s-dn"),
        "x-ssl-client-cert": header("x-ssl-client-cert"),
    })
    .to_string()
}

fn app() -> Router {
    Router::new().route("/", get(outcome)).route(
        "/on",
        get(on).route_layer(
            VerifyClientLayer::new()
                .mode(VerifyMode::On)
                .forward(ForwardHeaders::nginx()),
        ),
    )
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The reference: the service terminating mTLS itself (mtls-status-axum's
/// listener and make-service), with `classifier`.
pub(crate) async fn serve_tls(pki: &Pki, classifier: Classifier) -> Server {
    let config = server_config(
        provider(),
        pki.server.chain(),
        pki.server.key_der(),
        classifier.verifier(VerifyMode::Optional),
    )
    .expect("server config");
    let acceptor =
        MtlsAcceptor::with_fixed_config(Arc::new(config), classifier).handshake_timeout(LIMIT);
    let listener = MtlsListener::builder(acceptor)
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            ClientAuthListener::new(listener),
            app().into_make_service_with_client_auth(),
        )
        .await;
        panic!("axum::serve returned: {served:?}");
    });
    Server { addr, task }
}

/// The service as a plain-HTTP backend of a front proxy: trusts peers in
/// `trusted` (a CIDR) forwarding in `format`, classifies with `classifier`.
pub(crate) async fn serve_behind_proxy(
    format: ProxyHeaderFormat,
    trusted: &str,
    classifier: Classifier,
) -> Server {
    let proxy = TrustedProxy::builder(format)
        .trusted_peer(trusted.parse().expect("CIDR"))
        .build()
        .expect("trusted proxy");
    let router =
        app().layer(TrustedProxyLayer::new(proxy, classifier).peer_addr_from(connect_info_peer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
        panic!("axum::serve returned: {served:?}");
    });
    Server { addr, task }
}

/// The JSON object in an HTTP response's body (`Value::Null` if none).
fn json_body(response: &str) -> Value {
    let body = tls::body(response);
    match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) if start < end => {
            serde_json::from_str(&body[start..=end]).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

/// `GET /` over TLS to `addr`, presenting `cert` (its whole chain); the
/// response's status line and JSON body.
pub(crate) async fn fetch_tls(addr: SocketAddr, pki: &Pki, cert: Option<&Leaf>) -> (String, Value) {
    fetch_tls_path(addr, pki, cert, "/").await
}

/// `GET path` over TLS, as [`fetch_tls`].
pub(crate) async fn fetch_tls_path(
    addr: SocketAddr,
    pki: &Pki,
    cert: Option<&Leaf>,
    path: &str,
) -> (String, Value) {
    let mut io = TlsClient::builder(pki)
        .present_opt(cert)
        .build()
        .connect(addr)
        .await
        .expect("TLS handshake");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let response = tls::request(&mut io, request.as_bytes())
        .await
        .expect("response");
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.lines().next().unwrap_or_default().to_owned();
    (status, json_body(&response))
}

/// `GET /` in plain HTTP to `addr` with extra `headers` (e.g. a spoofed
/// certificate header sent straight to the backend).
pub(crate) async fn fetch_plain(addr: SocketAddr, headers: &[(&str, String)]) -> (String, Value) {
    let mut request = String::from("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let work = async {
        let mut io = TcpStream::connect(addr).await.expect("connect");
        io.write_all(request.as_bytes()).await.expect("send");
        tls::read_to_close(&mut io).await.expect("response")
    };
    let response = String::from_utf8_lossy(&tls::bounded("plain GET", work).await).into_owned();
    let status = response.lines().next().unwrap_or_default().to_owned();
    (status, json_body(&response))
}

fn fields(value: &Value) -> Value {
    assert!(value.is_object(), "a JSON answer: {value}");
    value.clone()
}

/// For valid, via-intermediate, expired, unknown-CA and no-certificate
/// clients: the service behind the proxy at `front` sees what it sees
/// terminating TLS itself at `direct`; behind `front_untrusted` (a proxy
/// its configuration does not trust) it sees no certificate.
pub(crate) async fn same_outcomes(
    pki: &Pki,
    direct: SocketAddr,
    front: SocketAddr,
    front_untrusted: SocketAddr,
    logs: &dyn Fn() -> String,
) {
    let clients: [(&str, Option<&Leaf>, &str, Option<&str>); 5] = [
        ("valid", Some(&pki.valid_from_root), "verified", None),
        (
            "via intermediate",
            Some(&pki.valid_via_intermediate),
            "verified",
            None,
        ),
        ("expired", Some(&pki.expired), "invalid", Some("expired")),
        (
            "unknown CA",
            Some(&pki.unknown_ca),
            "invalid",
            Some("unknown_leaf_issuer"),
        ),
        ("no certificate", None, "none", None),
    ];
    for (what, cert, label, reason) in clients {
        let (status, own) = fetch_tls(direct, pki, cert).await;
        assert!(status.contains(" 200 "), "{what} direct: {status}");
        let own = fields(&own);
        assert_eq!(own["outcome"], label, "{what} direct: {own}");
        assert_eq!(own["reason"].as_str(), reason, "{what} direct: {own}");

        let (status, behind) = fetch_tls(front, pki, cert).await;
        assert!(
            status.contains(" 200 "),
            "{what} via the proxy: {status}\n{}",
            logs()
        );
        assert_eq!(
            fields(&behind),
            own,
            "{what}: via the proxy vs terminating TLS"
        );

        // The layer, extractor and forwarding behind the proxy: the same
        // status (200 / 495 / 496) and what the handler sees.
        let (status_on, own_on) = fetch_tls_path(direct, pki, cert, "/on").await;
        let (status_behind, behind_on) = fetch_tls_path(front, pki, cert, "/on").await;
        let code = |line: &str| line.split(' ').nth(1).map(str::to_owned);
        assert_eq!(code(&status_behind), code(&status_on), "{what} /on");
        assert_eq!(
            behind_on, own_on,
            "{what} /on: via the proxy vs terminating TLS"
        );

        let (_, ignored) = fetch_tls(front_untrusted, pki, cert).await;
        assert_eq!(
            fields(&ignored)["outcome"],
            "none",
            "{what} via an untrusted peer: {ignored}"
        );
    }
}
