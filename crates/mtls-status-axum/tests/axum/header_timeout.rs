//! `mtls_status_axum::serve` bounds the time to each complete request head
//! (#16 item 3): a client trickling its headers a byte at a time is
//! disconnected, on its first request and on a later keep-alive one.
//! `axum::serve` has no such bound, and the idle timeout resets on every
//! byte.

use std::future::IntoFuture;
use std::time::Duration;

use axum::Router;
use mtls_status_axum::ClientAuthListener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;

use crate::support::{self, Proto, Server, Session, app, connect, read_one_response, send};

/// The bound configured in these tests.
const HEADER_READ_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the trickling client keeps going at most: well past the bound.
const TRICKLE_FOR: Duration = Duration::from_secs(15);

async fn serve_with_header_timeout(router: Router) -> Server {
    let pki = mtls_testpki::Pki::generate();
    let listener = support::listener(&pki).await;
    let addr = listener.local_addr();
    let task: JoinHandle<()> = tokio::spawn(async move {
        let served = mtls_status_axum::serve(ClientAuthListener::new(listener), router)
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .await;
        panic!("serve returned: {served:?}");
    });
    Server { addr, pki, task }
}

/// Sends `head` one byte every 100 ms (and then more header bytes, never
/// the blank line), until the server closes or [`TRICKLE_FOR`] elapses.
/// Whether the server closed it.
async fn trickle(tls: &mut TlsStream<TcpStream>, head: &str) -> bool {
    let bytes = head
        .bytes()
        .chain(b"X-Slow: ".iter().copied())
        .chain(std::iter::repeat(b'a'));
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 1024];
    for byte in bytes {
        if started.elapsed() > TRICKLE_FOR {
            return false;
        }
        if tls.write_all(&[byte]).await.is_err() || tls.flush().await.is_err() {
            return true;
        }
        // Read while waiting for the next byte: EOF or an error is the close
        // (a 408 answer first is fine too).
        if let Ok(read) = tokio::time::timeout(Duration::from_millis(100), tls.read(&mut buf)).await
        {
            match read {
                Ok(0) | Err(_) => return true,
                Ok(n) => assert!(
                    buf[..n].starts_with(b"HTTP/1.1 408"),
                    "unexpected answer to a trickled head: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                ),
            }
        }
    }
    unreachable!("the byte iterator is endless")
}

#[tokio::test]
async fn a_trickled_first_request_head_is_cut_off() {
    let server = serve_with_header_timeout(app()).await;
    let mut tls = connect(server.addr, &server.pki, None, &[b"http/1.1"]).await;
    assert!(
        trickle(&mut tls, "GET /headers HTTP/1.1\r\nHost: localhost\r\n").await,
        "still open after {TRICKLE_FOR:?} of trickling ({HEADER_READ_TIMEOUT:?} configured)"
    );
}

#[tokio::test]
async fn a_trickled_keep_alive_request_head_is_cut_off() {
    let server = serve_with_header_timeout(app()).await;
    let mut tls = connect(server.addr, &server.pki, None, &[b"http/1.1"]).await;
    send(&mut tls, "GET /headers HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let first = read_one_response(&mut tls).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        trickle(&mut tls, "GET /headers HTTP/1.1\r\nHost: localhost\r\n").await,
        "still open after {TRICKLE_FOR:?} of trickling ({HEADER_READ_TIMEOUT:?} configured)"
    );
}

/// The helper is the same glue as `into_make_service_with_client_auth`:
/// verdicts reach the extractors, spoofed identity headers are stripped,
/// over HTTP/1.1 and HTTP/2.
#[tokio::test]
async fn serve_carries_verdicts_and_strips_identity_headers() {
    let server = serve_with_header_timeout(app()).await;
    let valid = server.pki.valid_from_root.clone();
    for proto in [Proto::Http1, Proto::Http2] {
        let mut session = Session::open(&server, Some(&valid), proto).await;
        let verified = session.get("/verified").await;
        assert_eq!(verified.status, 200, "{proto:?}: {verified:?}");
        let headers = session
            .get_with("/headers", &[("X-SSL-Client-Verify", "SUCCESS")])
            .await;
        assert!(
            headers.json()["headers"]["x-ssl-client-verify"].is_null(),
            "{headers:?}"
        );
        let mut anonymous = Session::open(&server, None, proto).await;
        let refused = anonymous.get("/verified").await;
        assert_eq!(refused.status.as_u16(), 496, "{proto:?}: {refused:?}");
    }
}

/// `with_graceful_shutdown`, as axum's: after the signal, the port is
/// closed, an idle keep-alive connection is closed, and `serve` returns.
#[tokio::test]
async fn serve_shuts_down_gracefully() {
    let pki = mtls_testpki::Pki::generate();
    let listener = support::listener(&pki).await;
    let addr = listener.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(
        mtls_status_axum::serve(ClientAuthListener::new(listener), app())
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let mut tls = connect(addr, &pki, None, &[b"http/1.1"]).await;
    send(&mut tls, "GET /headers HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let first = read_one_response(&mut tls).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    stop.send(()).expect("serve is running");
    let returned = tokio::time::timeout(support::LIMIT, served)
        .await
        .expect("serve returns after the signal")
        .expect("serve did not panic");
    assert!(returned.is_ok(), "{returned:?}");
    // The idle keep-alive connection was closed, the port too.
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(support::LIMIT, tls.read(&mut byte))
        .await
        .expect("closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(TcpStream::connect(addr).await.is_err(), "port still open");
}
