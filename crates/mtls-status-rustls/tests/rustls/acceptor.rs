//! MtlsAcceptor and MtlsListener over real TLS on 127.0.0.1: outcomes,
//! plain-HTTP detection (497), handshake timeout, garbage and wrong keys.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::tls_harness::{Seen, Server, VERSIONS, body, bounded, get, serve};
use mtls_status_rustls::{AcceptError, Accepted, MtlsAcceptor, MtlsListener, plain_http_response};
use rustls::{HandshakeKind, ProtocolVersion, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accepts one connection with `acceptor` and serves it if it is TLS.
async fn accept_one(
    listener: TcpListener,
    acceptor: MtlsAcceptor,
) -> Result<Accepted<TcpStream>, AcceptError> {
    let (tcp, _) = listener.accept().await.expect("tcp accept");
    acceptor.accept(tcp).await
}

/// One TLS exchange through a bare MtlsAcceptor: what the server saw and the
/// client's response.
async fn exchange(
    server: &Server,
    client: Option<&mtls_testpki::Leaf>,
    version: &'static SupportedProtocolVersion,
) -> (Seen, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = server.acceptor();
    let server_task = tokio::spawn(async move {
        match accept_one(listener, acceptor).await {
            Ok(Accepted::Tls(stream)) => serve(stream).await.expect("serve"),
            Ok(other) => panic!("expected TLS, got {other:?}"),
            Err(error) => panic!("handshake failed: {error}"),
        }
    });
    let response = bounded("client", get(addr, server.client(client, version)))
        .await
        .expect("client exchange");
    let seen = bounded("server", server_task).await.unwrap();
    (seen, response)
}

fn wire_version(version: &SupportedProtocolVersion) -> ProtocolVersion {
    version.version
}

#[tokio::test]
async fn valid_client_is_verified_via_acceptor_tls12_and_tls13() {
    let server = Server::new();
    for version in VERSIONS {
        for client in [
            &server.pki.valid_from_root,
            &server.pki.valid_via_intermediate,
        ] {
            let (seen, response) = exchange(&server, Some(client), version).await;
            assert!(
                seen.outcome.is_verified(),
                "{version:?}: {:?}",
                seen.outcome
            );
            assert_eq!(seen.kind, HandshakeKind::Full);
            assert_eq!(seen.version, Some(wire_version(version)));
            assert_eq!(seen.alpn.as_deref(), Some(&b"http/1.1"[..]));
            assert_eq!(seen.server_name.as_deref(), Some("localhost"));
            assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
            assert_eq!(body(&response), "SUCCESS");
        }
    }
}

#[tokio::test]
async fn no_certificate_is_none_tls12_and_tls13() {
    let server = Server::new();
    for version in VERSIONS {
        let (seen, response) = exchange(&server, None, version).await;
        assert!(seen.outcome.is_none(), "{version:?}: {:?}", seen.outcome);
        assert_eq!(body(&response), "NONE");
    }
}

/// The handshake completes; the verdict is delivered, not an alert.
#[tokio::test]
async fn untrusted_client_completes_handshake_and_is_invalid() {
    let server = Server::new();
    for version in VERSIONS {
        for client in [
            &server.pki.unknown_ca,
            &server.pki.expired,
            &server.pki.self_signed,
        ] {
            let (seen, response) = exchange(&server, Some(client), version).await;
            assert!(seen.outcome.is_invalid(), "{version:?}: {:?}", seen.outcome);
            assert!(body(&response).starts_with("FAILED:"), "{response}");
        }
    }
    let (seen, _) = exchange(&server, Some(&server.pki.expired), &rustls::version::TLS13).await;
    assert_eq!(seen.reason_name(), Some("expired"));
}

/// A valid certificate without its private key is refused in the handshake:
/// the deferred verifier still checks CertificateVerify.
#[tokio::test]
async fn certificate_with_wrong_key_fails_the_handshake() {
    let server = Server::new();
    for version in VERSIONS {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_task = tokio::spawn(accept_one(listener, server.acceptor()));
        let config = server.client_with_wrong_key(
            &server.pki.valid_from_root,
            &server.pki.valid_via_intermediate,
            version,
        );
        let client = bounded("client", get(addr, config)).await;
        assert!(client.is_err(), "{version:?}: client got {client:?}");
        match bounded("server", server_task).await.unwrap() {
            Err(AcceptError::Tls(error)) => {
                let text = error.to_string().to_lowercase();
                assert!(
                    text.contains("signature") || text.contains("decrypt"),
                    "{version:?}: {error}"
                );
            }
            other => panic!("{version:?}: expected a TLS error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn plain_http_is_detected_and_answered_via_acceptor() {
    let server = Server::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_task = tokio::spawn(accept_one(listener, server.acceptor()));

    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /path HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();

    let mut plain = match bounded("server", server_task).await.unwrap() {
        Ok(Accepted::PlainHttp(plain)) => plain,
        other => panic!("expected plain HTTP, got {other:?}"),
    };
    assert_eq!(plain.first_byte(), Some(b'G'));
    assert_eq!(
        plain.peer_addr().unwrap(),
        client.local_addr().unwrap(),
        "peer address"
    );
    // The first byte is replayed: the request reads back exactly as sent.
    let mut request_line = [0u8; 18];
    plain.read_exact(&mut request_line).await.unwrap();
    assert_eq!(&request_line, b"GET /path HTTP/1.1");

    let expected = plain_http_response(mtls_status::AnswerStyle::Explicit);
    let respond = tokio::spawn({
        let expected = expected.clone();
        async move { plain.respond(&expected, Duration::from_secs(5)).await }
    });
    let mut answer = Vec::new();
    bounded("497 answer", client.read_to_end(&mut answer))
        .await
        .unwrap();
    assert_eq!(answer, expected);
    drop(client);
    bounded("respond", respond).await.unwrap().unwrap();
}

/// A client that connects and sends nothing is dropped after the timeout.
#[tokio::test]
async fn silent_client_times_out() {
    let server = Server::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let timeout = Duration::from_millis(200);
    let acceptor = server.acceptor().handshake_timeout(timeout);
    let server_task = tokio::spawn(accept_one(listener, acceptor));

    let mut client = TcpStream::connect(addr).await.unwrap();
    match bounded("server", server_task).await.unwrap() {
        Err(AcceptError::Timeout(after)) => assert_eq!(after, timeout),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The server closed the connection.
    let mut byte = [0u8; 1];
    let read = bounded("client sees close", client.read(&mut byte)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// A client that starts a ClientHello and stalls times out too.
#[tokio::test]
async fn stalled_client_hello_times_out() {
    let server = Server::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = server
        .acceptor()
        .handshake_timeout(Duration::from_millis(200));
    let server_task = tokio::spawn(accept_one(listener, acceptor));

    let mut client = TcpStream::connect(addr).await.unwrap();
    // A TLS handshake record header announcing 512 bytes, then nothing.
    client
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();
    let result = bounded("server", server_task).await.unwrap();
    assert!(matches!(result, Err(AcceptError::Timeout(_))), "{result:?}");
}

/// Bytes that look like TLS (0x16, or bit 0x80 set) but are not: a TLS error,
/// no panic, and no plain-HTTP answer.
#[tokio::test]
async fn garbage_is_a_tls_error() {
    let server = Server::new();
    let garbage: [&[u8]; 3] = [
        // Handshake record with a nonsense version and a message type 0xff.
        &[0x16, 0x7f, 0x7f, 0x00, 0x04, 0xff, 0x00, 0x00, 0x00],
        // Handshake record whose "ClientHello" is random bytes.
        &[
            0x16, 0x03, 0x01, 0x00, 0x08, 0x01, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef,
        ],
        // An SSLv2-style hello (bit 0x80 set): not plain HTTP, not TLS.
        &[
            0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
        ],
    ];
    for bytes in garbage {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_task = tokio::spawn(accept_one(listener, server.acceptor()));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(bytes).await.unwrap();
        let result = bounded("server", server_task).await.unwrap();
        assert!(
            matches!(result, Err(AcceptError::Tls(_))),
            "{bytes:02x?}: {result:?}"
        );
        // Whatever the server sent back (an alert at most), never HTTP.
        let mut answer = Vec::new();
        let _ = bounded("client", client.read_to_end(&mut answer)).await;
        assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    }
}

#[tokio::test]
async fn client_that_closes_at_once_is_an_io_error() {
    let server = Server::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_task = tokio::spawn(accept_one(listener, server.acceptor()));
    drop(TcpStream::connect(addr).await.unwrap());
    match bounded("server", server_task).await.unwrap() {
        Err(error @ AcceptError::Io(_)) => assert!(error.is_closed_by_client(), "{error}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

/// The acceptor works over any AsyncRead + AsyncWrite, not only TCP.
#[tokio::test]
async fn acceptor_works_over_an_in_memory_pipe() {
    let server = Server::new();
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let acceptor = server.acceptor();
    let server_task = tokio::spawn(async move {
        match acceptor.accept(server_io).await {
            Ok(Accepted::Tls(stream)) => serve(stream).await.expect("serve"),
            other => panic!("expected TLS, got {other:?}"),
        }
    });
    let client = server.client(Some(&server.pki.valid_from_root), &rustls::version::TLS13);
    let mut tls = bounded("client handshake", client.connect_over(client_io))
        .await
        .unwrap();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    bounded("response", tls.read_to_string(&mut response))
        .await
        .unwrap();
    assert_eq!(body(&response), "SUCCESS");
    let seen = bounded("server", server_task).await.unwrap();
    assert!(seen.outcome.is_verified());
}

/// Serves every TLS connection `listener` yields until the test ends.
fn spawn_server_loop(
    mut listener: MtlsListener,
) -> tokio::sync::mpsc::UnboundedReceiver<(Seen, SocketAddr)> {
    let (seen_tx, seen_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = listener.accept_tls().await;
            assert_eq!(stream.peer_addr().unwrap(), peer);
            let seen_tx = seen_tx.clone();
            tokio::spawn(async move {
                if let Ok(seen) = serve(stream).await {
                    let _ = seen_tx.send((seen, peer));
                }
            });
        }
    });
    seen_rx
}

#[tokio::test]
async fn listener_delivers_classified_connections_tls12_and_tls13() {
    let server = Server::new();
    let listener = MtlsListener::builder(server.acceptor())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();
    let mut seen_rx = spawn_server_loop(listener);
    for version in VERSIONS {
        let response = bounded(
            "verified client",
            get(
                addr,
                server.client(Some(&server.pki.valid_from_root), version),
            ),
        )
        .await
        .unwrap();
        assert_eq!(body(&response), "SUCCESS");
        let (seen, _) = bounded("server", seen_rx.recv()).await.unwrap();
        assert!(seen.outcome.is_verified(), "{:?}", seen.outcome);
        assert_eq!(seen.version, Some(wire_version(version)));

        let response = bounded("anonymous client", get(addr, server.client(None, version)))
            .await
            .unwrap();
        assert_eq!(body(&response), "NONE");
        let (seen, _) = bounded("server", seen_rx.recv()).await.unwrap();
        assert!(seen.outcome.is_none(), "{:?}", seen.outcome);
    }
}

/// Plain HTTP gets 497 from the listener itself; TLS clients are unaffected,
/// and the peer address delivered is the client's.
#[tokio::test]
async fn listener_answers_plain_http_with_497() {
    let server = Server::new();
    let listener = MtlsListener::new(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        server.acceptor(),
    )
    .unwrap();
    let addr = listener.local_addr();
    let mut seen_rx = spawn_server_loop(listener);

    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    bounded("497 answer", plain.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 497 HTTP Request Sent to HTTPS Port\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");

    let tcp = TcpStream::connect(addr).await.unwrap();
    let client_addr = tcp.local_addr().unwrap();
    let config = server.client(Some(&server.pki.valid_from_root), &rustls::version::TLS13);
    let response = bounded("tls client", crate::tls_harness::get_over(tcp, config))
        .await
        .unwrap();
    assert_eq!(body(&response), "SUCCESS");
    let (_, peer) = bounded("server", seen_rx.recv()).await.unwrap();
    assert_eq!(peer, client_addr);
}

#[tokio::test]
async fn listener_plain_http_response_is_configurable_or_delivered() {
    let server = Server::new();
    let custom = &b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"[..];
    let listener = MtlsListener::builder(server.acceptor())
        .plain_http_response(custom)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();
    let _seen = spawn_server_loop(listener);
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    bounded("custom answer", plain.read_to_end(&mut answer))
        .await
        .unwrap();
    assert_eq!(answer, custom);

    // Delivered: the application reads the request and answers itself.
    let mut listener = MtlsListener::builder(server.acceptor())
        .deliver_plain_http()
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut plain = TcpStream::connect(listener.local_addr()).await.unwrap();
    let plain_addr = plain.local_addr().unwrap();
    plain
        .write_all(b"GET /x HTTP/1.1\r\nHost: example.org\r\n\r\n")
        .await
        .unwrap();
    let (accepted, peer) = bounded("accept", listener.accept()).await.unwrap();
    assert_eq!(peer, plain_addr);
    let Accepted::PlainHttp(mut delivered) = accepted else {
        panic!("expected plain HTTP, got {accepted:?}");
    };
    let head = crate::tls_harness::read_head(&mut delivered).await.unwrap();
    assert!(head.starts_with(b"GET /x HTTP/1.1\r\nHost: example.org\r\n"));
    delivered
        .write_all(b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.org/x\r\n\r\n")
        .await
        .unwrap();
    drop(delivered);
    let mut answer = String::new();
    bounded("redirect", plain.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 301"), "{answer}");
}

/// Failed handshakes are skipped: the next good client is served.
#[tokio::test]
async fn listener_skips_failed_handshakes() {
    let server = Server::new();
    let listener =
        MtlsListener::builder(server.acceptor().handshake_timeout(Duration::from_secs(5)))
            .bind("127.0.0.1:0")
            .await
            .unwrap();
    let addr = listener.local_addr();
    let mut seen_rx = spawn_server_loop(listener);

    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage
        .write_all(&[0x16, 0x7f, 0x7f, 0x00, 0x01, 0x00])
        .await
        .unwrap();
    drop(TcpStream::connect(addr).await.unwrap());
    let wrong_key = server.client_with_wrong_key(
        &server.pki.valid_from_root,
        &server.pki.revoked,
        &rustls::version::TLS12,
    );
    assert!(bounded("wrong key", get(addr, wrong_key)).await.is_err());

    let response = bounded(
        "good client",
        get(
            addr,
            server.client(
                Some(&server.pki.valid_via_intermediate),
                &rustls::version::TLS12,
            ),
        ),
    )
    .await
    .unwrap();
    assert_eq!(body(&response), "SUCCESS");
    let (seen, _) = bounded("server", seen_rx.recv()).await.unwrap();
    assert!(seen.outcome.is_verified());
}

/// Dropping the listener closes the port and the handshakes in progress.
#[tokio::test]
async fn dropping_the_listener_stops_it() {
    let server = Server::new();
    let listener = MtlsListener::builder(
        server
            .acceptor()
            .handshake_timeout(Duration::from_secs(600)),
    )
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let addr = listener.local_addr();
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    bounded("handshake starts", async {
        while listener.handshakes_in_progress() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    drop(listener);

    // The stalled handshake is dropped (its timeout is 10 minutes away).
    let mut byte = [0u8; 1];
    let read = bounded("stalled client sees close", stalled.read(&mut byte)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // The port no longer accepts.
    bounded("port closes", async {
        loop {
            match TcpStream::connect(addr).await {
                Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => break,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
}

#[tokio::test]
async fn listener_settings_are_validated() {
    let server = Server::new();
    for builder in [
        MtlsListener::builder(server.acceptor()).max_concurrent_handshakes(0),
        MtlsListener::builder(server.acceptor()).ready_queue(0),
    ] {
        let error = builder.bind("127.0.0.1:0").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
    }
}
