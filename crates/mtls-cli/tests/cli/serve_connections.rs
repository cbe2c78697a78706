//! `mtls serve` on a keep-alive HTTP/1.1 connection: like nginx, a 495 /
//! 496 is the last response on it.

use std::time::Duration;

use mtls_testpki::Leaf;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use mtls_testpki::tls::read_one_response;

use crate::common::{Demo, Server, demo, parse_http1, runtime, tls_client};

/// Upper bound for one exchange, so a bug hangs no test.
const LIMIT: Duration = Duration::from_secs(30);

/// A keep-alive request (no `Connection: close`).
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Sends `requests_before` keep-alive requests expecting 200, then one
/// expecting `status`, then asserts that the server closed the connection:
/// a further request gets no answer.
fn exchange(
    server: &Server,
    demo: &Demo,
    client: Option<&Leaf>,
    requests_before: usize,
    status: u16,
) {
    let client = tls_client(demo, client, &[b"http/1.1"]);
    let addr = server.addr;
    runtime().block_on(async move {
        tokio::time::timeout(LIMIT, async move {
            let mut tls = client
                .connect(addr)
                .await
                .expect("TLS handshake (it always completes)");
            for _ in 0..requests_before {
                send(&mut tls, GET).await;
                let reply = parse_http1(&read_one_response(&mut tls).await);
                assert_eq!(reply.status, 200, "{}", reply.text());
            }
            send(&mut tls, GET).await;
            let reply = parse_http1(&read_one_response(&mut tls).await);
            assert_eq!(reply.status, status, "{}", reply.text());
            if status == 200 {
                return;
            }
            assert_eq!(reply.header("connection"), Some("close"));
            // The write may fail on a closed socket; nothing may come back.
            let _ = tls.write_all(GET).await;
            let _ = tls.flush().await;
            let mut chunk = [0u8; 4096];
            match tls.read(&mut chunk).await {
                Ok(0) | Err(_) => {}
                Ok(n) => panic!(
                    "the connection stayed open after a {status}: {:?}",
                    String::from_utf8_lossy(&chunk[..n])
                ),
            }
        })
        .await
        .expect("exchange finished in time (the server closes the connection)");
    });
}

async fn send(io: &mut (impl AsyncWrite + Unpin), request: &[u8]) {
    io.write_all(request).await.expect("send request");
    io.flush().await.expect("flush");
}

#[test]
fn rejections_close_a_keep_alive_connection() {
    let demo = demo("serve-keep-alive");
    let server = demo.serve(&["--verify-client", "optional"]);
    // Control: a passing client keeps its connection for several requests.
    exchange(&server, &demo, None, 2, 200);
    exchange(&server, &demo, Some(&demo.pki.valid_from_root), 2, 200);
    // 495 on a keep-alive request closes the connection.
    exchange(&server, &demo, Some(&demo.pki.expired), 0, 495);
    exchange(&server, &demo, Some(&demo.pki.unknown_ca), 0, 495);

    // 496 (mode on) too.
    let server = demo.serve(&[]);
    exchange(&server, &demo, None, 0, 496);
    exchange(&server, &demo, Some(&demo.pki.valid_from_root), 3, 200);
}

/// `--idle-timeout`: a client that completes the handshake and then sends
/// nothing is disconnected by the idle timeout (1 s here), well before
/// hyper's 30 s header timeout would act; a client that talks is served.
#[test]
fn idle_timeout_disconnects_a_silent_client() {
    let demo = demo("serve-idle");
    let server = demo.serve(&["--idle-timeout", "1"]);
    let client = tls_client(&demo, Some(&demo.pki.valid_from_root), &[b"http/1.1"]);
    let addr = server.addr;
    runtime().block_on(async move {
        let connect = || async { client.connect(addr).await.expect("TLS handshake") };
        // Silent: the server closes the connection (EOF or an error), within
        // a bound far below the 30 s header timeout.
        let mut silent = connect().await;
        let mut chunk = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(15), silent.read(&mut chunk))
            .await
            .expect("the idle timeout closed the silent connection");
        assert!(matches!(read, Ok(0) | Err(_)), "unexpected data: {read:?}");

        // Talking: served as usual.
        let mut talking = connect().await;
        tokio::time::timeout(LIMIT, async {
            send(&mut talking, GET).await;
            let reply = parse_http1(&read_one_response(&mut talking).await);
            assert_eq!(reply.status, 200, "{}", reply.text());
        })
        .await
        .expect("served in time");
    });
}
