//! The idle timeout of MtlsStream over real TLS on 127.0.0.1: a silent
//! client and a client that stops reading are closed, traffic in either
//! direction keeps a connection open, and disabled means disabled.
//!
//! Real time: intervals are a tenth of the idle timeout, and every wait for
//! something that must happen has an upper bound only.

use std::io;
use std::time::Duration;

use crate::tls_harness::{Server, VERSIONS, bounded};
use mtls_status_rustls::{Accepted, DEFAULT_IDLE_TIMEOUT, MtlsAcceptor, MtlsStream};
use rustls::SupportedProtocolVersion;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;

/// Both ends of one connection: the server's stream from `acceptor`, and
/// a rustls client that completed the handshake with a valid certificate.
async fn connect(
    server: &Server,
    acceptor: MtlsAcceptor,
    version: &'static SupportedProtocolVersion,
) -> (MtlsStream<TcpStream>, TlsStream<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = server.client(Some(&server.pki.valid_from_root), version);
    let client = tokio::spawn(async move { client.connect(addr).await });
    let (tcp, _) = bounded("tcp accept", listener.accept()).await.unwrap();
    let stream = match bounded("handshake", acceptor.accept(tcp)).await {
        Ok(Accepted::Tls(stream)) => stream,
        other => panic!("expected a TLS connection, got {other:?}"),
    };
    assert!(stream.outcome().is_verified(), "{:?}", stream.outcome());
    let client = bounded("client handshake", client)
        .await
        .unwrap()
        .expect("client handshake");
    (stream, client)
}

fn assert_idle_error(result: io::Result<impl std::fmt::Debug>) {
    match result {
        Err(error) => {
            assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
            assert!(error.to_string().contains("idle_timeout"), "{error}");
        }
        Ok(value) => panic!("expected the idle timeout, got {value:?}"),
    }
}

/// Reads until the peer closes (EOF after close_notify, or an error for a
/// close without it), within the bound; returns what was read.
async fn read_to_close(client: &mut TlsStream<TcpStream>) -> Vec<u8> {
    mtls_testpki::tls::read_to_close(client)
        .await
        .unwrap_or_default()
}

/// A client that completes the handshake and sends nothing: the server's
/// read fails with TimedOut, the stream stays closed, its shutdown does not
/// wait, and the client sees the connection end.
#[tokio::test]
async fn silent_client_is_closed_after_the_idle_timeout() {
    let server = Server::new();
    for version in VERSIONS {
        let acceptor = server.acceptor().idle_timeout(Duration::from_millis(300));
        let (mut stream, mut client) = connect(&server, acceptor, version).await;
        assert_eq!(stream.idle_timeout(), Some(Duration::from_millis(300)));

        let mut buf = [0u8; 64];
        assert_idle_error(bounded("idle read", stream.read(&mut buf)).await);
        assert!(stream.is_idle_timed_out());
        // Closed for good: reads, writes and flushes fail at once.
        assert_idle_error(stream.read(&mut buf).await);
        assert_idle_error(stream.write(b"late").await);
        assert_idle_error(stream.flush().await);
        // Shutdown tries to send close_notify, without waiting.
        let _ = bounded("shutdown", stream.shutdown()).await;
        drop(stream);

        let received = read_to_close(&mut client).await;
        assert!(received.is_empty(), "{version:?}: {received:?}");
    }
}

/// A client that stops reading: the server's writes fill the buffers, then
/// wait, and the wait ends with TimedOut.
#[tokio::test]
async fn client_that_stops_reading_is_closed_after_the_idle_timeout() {
    let server = Server::new();
    let acceptor = server.acceptor().idle_timeout(Duration::from_millis(300));
    let (mut stream, client) = connect(&server, acceptor, &rustls::version::TLS13).await;
    let chunk = vec![b'x'; 64 * 1024];
    let written = bounded("writes until the idle timeout", async {
        let mut written = 0usize;
        loop {
            match stream.write(&chunk).await {
                Ok(n) => written += n,
                Err(error) => return (written, error),
            }
        }
    })
    .await;
    let (written, error) = written;
    assert!(written > 0, "some bytes went out before the buffers filled");
    assert_idle_error(Err::<(), _>(error));
    assert!(stream.is_idle_timed_out());
    drop(client);
}

/// A server streaming to a client that sends nothing (server-sent events,
/// gRPC server streaming) stays open: writes are progress. The stream is
/// split in two tasks, as a hand-written server might: the reader waits all
/// along, and is the one told when the writer falls silent.
#[tokio::test]
async fn streaming_to_a_silent_client_stays_open() {
    const TIMEOUT: Duration = Duration::from_millis(500);
    const TICK: Duration = Duration::from_millis(50);
    const CHUNKS: usize = 40; // 2 s, four times the timeout

    let server = Server::new();
    let acceptor = server.acceptor().idle_timeout(TIMEOUT);
    let (stream, mut client) = connect(&server, acceptor, &rustls::version::TLS13).await;
    let (mut reader, mut writer) = tokio::io::split(stream);

    let reading = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        reader.read(&mut buf).await
    });
    let writing = tokio::spawn(async move {
        for i in 0..CHUNKS {
            writer
                .write_all(format!("event {i:02}\n").as_bytes())
                .await?;
            writer.flush().await?;
            tokio::time::sleep(TICK).await;
        }
        // Falls silent, keeping its half.
        Ok::<_, io::Error>(writer)
    });

    let expected: String = (0..CHUNKS).map(|i| format!("event {i:02}\n")).collect();
    let mut received = vec![0u8; expected.len()];
    bounded("client reads every event", client.read_exact(&mut received))
        .await
        .expect("the stream stayed open while it wrote");
    assert_eq!(String::from_utf8_lossy(&received), expected);
    let writer = bounded("writer", writing).await.unwrap().expect("writes");
    assert!(!reading.is_finished(), "the waiting reader was closed");

    // Now nothing moves: the reader, in a task of its own, is woken and
    // closed.
    assert_idle_error(bounded("reader closed when silent", reading).await.unwrap());
    drop(writer);
    let rest = read_to_close(&mut client).await;
    assert!(rest.is_empty(), "{rest:?}");
}

/// A client uploading to a server that only reads keeps the connection open:
/// reads are progress.
#[tokio::test]
async fn uploading_client_stays_open() {
    const TIMEOUT: Duration = Duration::from_millis(500);
    const TICK: Duration = Duration::from_millis(50);
    const CHUNKS: usize = 40;

    let server = Server::new();
    let acceptor = server.acceptor().idle_timeout(TIMEOUT);
    let (mut stream, mut client) = connect(&server, acceptor, &rustls::version::TLS12).await;
    let uploading = tokio::spawn(async move {
        for _ in 0..CHUNKS {
            client.write_all(b"0123456789").await?;
            client.flush().await?;
            tokio::time::sleep(TICK).await;
        }
        Ok::<_, io::Error>(client)
    });
    let mut received = vec![0u8; CHUNKS * 10];
    bounded("server reads the upload", stream.read_exact(&mut received))
        .await
        .expect("the stream stayed open while the client wrote");
    assert!(received.chunks(10).all(|chunk| chunk == b"0123456789"));
    let _client = bounded("client", uploading).await.unwrap().expect("upload");

    let mut buf = [0u8; 16];
    assert_idle_error(bounded("idle read", stream.read(&mut buf)).await);
}

/// Whether a read on `stream` is still waiting after `wait`.
async fn still_waiting(stream: &mut MtlsStream<TcpStream>, wait: Duration) -> bool {
    let mut buf = [0u8; 16];
    tokio::time::timeout(wait, stream.read(&mut buf))
        .await
        .is_err()
}

/// Disabled means disabled: `None` and zero on the acceptor, `None` on the
/// stream. A silent client's read is still waiting after five times the
/// timeout that was set before. Enabling it on one stream works too.
#[tokio::test]
async fn disabled_idle_timeout_never_fires() {
    const SHORT: Duration = Duration::from_millis(200);
    const WAIT: Duration = Duration::from_secs(1);
    let tls13 = &rustls::version::TLS13;

    let server = Server::new();
    let (default, _client) = connect(&server, server.acceptor(), tls13).await;
    assert_eq!(default.idle_timeout(), Some(DEFAULT_IDLE_TIMEOUT));

    let short = || server.acceptor().idle_timeout(SHORT);
    let (mut none, _c1) = connect(&server, short().idle_timeout(None), tls13).await;
    let (mut zero, _c2) = connect(&server, short().idle_timeout(Duration::ZERO), tls13).await;
    let (mut unset, _c3) = connect(&server, short(), tls13).await;
    unset.set_idle_timeout(None);
    for stream in [&none, &zero, &unset] {
        assert_eq!(stream.idle_timeout(), None);
    }

    let (a, b, c) = tokio::join!(
        still_waiting(&mut none, WAIT),
        still_waiting(&mut zero, WAIT),
        still_waiting(&mut unset, WAIT)
    );
    assert!(
        a && b && c,
        "a read ended: None {a}, zero {b}, set to None {c}"
    );
    for stream in [&none, &zero, &unset] {
        assert!(!stream.is_idle_timed_out());
    }

    // The other way round: off on the acceptor, on for one stream.
    let (mut enabled, _c4) = connect(&server, server.acceptor().idle_timeout(None), tls13).await;
    enabled.set_idle_timeout(SHORT);
    let mut buf = [0u8; 16];
    assert_idle_error(bounded("idle read", enabled.read(&mut buf)).await);
}
