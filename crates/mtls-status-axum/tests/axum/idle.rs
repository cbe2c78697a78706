//! `axum::serve` sets no HTTP timeouts; the acceptor's idle timeout closes
//! connections on which nothing moves, while traffic in either direction
//! (a streamed response, HTTP/2 PINGs) keeps them open.
//!
//! Real time: the idle timeout is short, intervals are a tenth of it, and
//! every wait for something that must happen has an upper bound only.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use mtls_testpki::Pki;
use tokio::sync::mpsc;

use crate::support::{
    LIMIT, Proto, Server, Session, app, connect, listener_with, read_all, read_one_response, send,
    serve_on,
};

const IDLE: Duration = Duration::from_millis(500);
const TICK: Duration = Duration::from_millis(50);

/// [`app`] plus `/events` (a streamed response), served the documented way
/// with an idle timeout of [`IDLE`].
async fn serve_with_idle_timeout() -> Server {
    let pki = Pki::generate();
    let listener = listener_with(&pki, |acceptor| acceptor.idle_timeout(IDLE)).await;
    serve_on(pki, listener, app().route("/events", get(events)))
}

/// How many events `/events` sends, one every [`TICK`]: 2 s in all, four
/// times the idle timeout.
const EVENTS: usize = 40;

fn event(i: usize) -> String {
    format!("data: {i:02}\n\n")
}

/// A response streamed slowly, as server-sent events are.
async fn events() -> Body {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        for i in 0..EVENTS {
            if tx.send(Bytes::from(event(i))).await.is_err() {
                return;
            }
            tokio::time::sleep(TICK).await;
        }
    });
    Body::new(Chunks(rx))
}

/// A body whose frames come from a channel.
struct Chunks(mpsc::Receiver<Bytes>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}

/// A client that completes the handshake and sends nothing, over either
/// ALPN protocol, is disconnected; meanwhile a normal client is served,
/// and a keep-alive connection left idle after its request is closed too.
#[tokio::test]
async fn silent_client_is_disconnected_while_a_normal_client_is_served() {
    let server = serve_with_idle_timeout().await;
    let cert = Some(&server.pki.valid_from_root);
    let silent_h1 = connect(server.addr, &server.pki, cert, &[b"http/1.1"]).await;
    let silent_h2 = connect(server.addr, &server.pki, cert, &[b"h2"]).await;
    let mut idle = connect(server.addr, &server.pki, cert, &[b"http/1.1"]).await;

    let reply = Session::open(&server, cert, Proto::Http1)
        .await
        .get("/outcome")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["ssl_client_verify"], "SUCCESS");

    send(
        &mut idle,
        "GET /outcome HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    let response = read_one_response(&mut idle).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");

    // Each ends within the bound (read_all panics otherwise), with nothing
    // more sent to it.
    assert_eq!(read_all(silent_h1).await, "");
    assert_eq!(read_all(silent_h2).await, "");
    assert_eq!(read_all(idle).await, "");
}

/// A response streamed to a client that sends nothing stays open for four
/// times the idle timeout: writes are progress.
#[tokio::test]
async fn streamed_response_to_a_silent_client_is_not_cut() {
    let server = serve_with_idle_timeout().await;
    for proto in [Proto::Http1, Proto::Http2] {
        let reply = Session::open(&server, Some(&server.pki.valid_from_root), proto)
            .await
            .get("/events")
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{proto:?}");
        let expected: String = (0..EVENTS).map(event).collect();
        assert_eq!(reply.body, expected, "{proto:?}");
    }
}

/// An HTTP/2 connection kept up by PINGs outlives the idle timeout and
/// serves a request after four times it; without PINGs the same wait ends
/// the connection.
#[tokio::test]
async fn h2_pings_keep_an_idle_connection_open() {
    let server = serve_with_idle_timeout().await;
    let cert = Some(&server.pki.valid_from_root);

    let tls = connect(server.addr, &server.pki, cert, &[b"h2"]).await;
    let (mut pinging, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(TICK * 2)
        .keep_alive_timeout(LIMIT)
        .keep_alive_while_idle(true)
        .handshake::<_, Empty<Bytes>>(TokioIo::new(tls))
        .await
        .expect("HTTP/2 handshake");
    tokio::spawn(conn);

    let tls = connect(server.addr, &server.pki, cert, &[b"h2"]).await;
    let (mut quiet, conn) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tls),
    )
    .await
    .expect("HTTP/2 handshake");
    let quiet_conn = tokio::spawn(conn);

    let request = || {
        Request::get("https://localhost/outcome")
            .body(Empty::<Bytes>::new())
            .expect("valid request")
    };
    for sender in [&mut pinging, &mut quiet] {
        let response = tokio::time::timeout(LIMIT, sender.send_request(request()))
            .await
            .expect("response within the limit")
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
    }

    tokio::time::sleep(IDLE * 4).await;

    let response = tokio::time::timeout(LIMIT, pinging.send_request(request()))
        .await
        .expect("response within the limit")
        .expect("the pinging connection is still open");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.expect("body");
    assert!(!body.to_bytes().is_empty());

    // The quiet one was closed by the server: its connection task has
    // ended, and it sends nothing more.
    let ended = tokio::time::timeout(LIMIT, quiet_conn)
        .await
        .expect("the quiet connection ends within the limit");
    assert!(ended.is_ok(), "{ended:?}");
    let sent = tokio::time::timeout(LIMIT, quiet.send_request(request()))
        .await
        .expect("an answer within the limit");
    assert!(sent.is_err(), "the quiet connection answered: {sent:?}");
}
