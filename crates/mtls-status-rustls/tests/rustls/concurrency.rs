//! MtlsListener under stalled clients: handshakes run concurrently, the cap
//! on concurrent handshakes queues connections instead of refusing them, and
//! timed-out handshakes free their slots.

use std::time::Duration;

use crate::tls_harness::{Server, body, bounded, get_over, serve};
use mtls_status_rustls::MtlsListener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Waits until `listener` reports `n` handshakes in progress.
async fn until_in_progress(listener: &MtlsListener, n: usize) {
    bounded("handshakes in progress", async {
        while listener.handshakes_in_progress() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Opens a connection that never completes a ClientHello: odd ones send a
/// partial record, even ones nothing at all.
async fn stalled_client(addr: std::net::SocketAddr, i: usize) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    if i % 2 == 1 {
        tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
            .await
            .expect("partial hello");
    }
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_stalled_clients_do_not_block_a_valid_one() {
    let server = Server::new();
    let mut listener = MtlsListener::builder(
        server
            .acceptor()
            .handshake_timeout(Duration::from_secs(600)),
    )
    .client_hello_timeout(Duration::from_secs(600))
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let addr = listener.local_addr();

    let mut stalled = Vec::new();
    for i in 0..200 {
        stalled.push(stalled_client(addr, i).await);
    }
    until_in_progress(&listener, 200).await;

    let config = server.client(Some(&server.pki.valid_from_root), &rustls::version::TLS13);
    let client = tokio::spawn(async move {
        let tcp = TcpStream::connect(addr).await?;
        get_over(tcp, config).await
    });
    let (stream, _) = bounded("valid client's handshake", listener.accept_tls()).await;
    let seen = bounded("serve", serve(stream)).await.unwrap();
    assert!(seen.outcome.is_verified(), "{:?}", seen.outcome);
    let response = bounded("valid client", client).await.unwrap().unwrap();
    assert_eq!(body(&response), "SUCCESS");

    // The 200 are still there, still handshaking (the valid client's slot
    // is released right after its connection was queued).
    until_in_progress(&listener, 200).await;
    for tcp in &mut stalled {
        let mut byte = [0u8; 1];
        let poll = tokio::time::timeout(Duration::ZERO, tcp.read(&mut byte)).await;
        assert!(poll.is_err(), "a stalled connection was closed: {poll:?}");
    }
}

/// Without eviction, with a cap of 2 and 2 stalled handshakes, a third
/// client waits (its TCP connection is established, nothing refuses it) and
/// completes once a slot frees. (With eviction, the default, it would evict
/// the oldest: tests/slot_exhaustion.rs.)
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_slot() {
    let server = Server::new();
    let mut listener = MtlsListener::builder(
        server
            .acceptor()
            .handshake_timeout(Duration::from_secs(600)),
    )
    .max_concurrent_handshakes(2)
    .evict_at_cap(false)
    .client_hello_timeout(Duration::from_secs(600))
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let addr = listener.local_addr();

    let first = stalled_client(addr, 0).await;
    let _second = stalled_client(addr, 1).await;
    until_in_progress(&listener, 2).await;

    // Not refused: the kernel completes the TCP handshake; the TLS handshake
    // waits for a slot.
    let tcp = TcpStream::connect(addr)
        .await
        .expect("connect beyond the cap");
    let config = server.client(
        Some(&server.pki.valid_via_intermediate),
        &rustls::version::TLS12,
    );
    let mut client = tokio::spawn(get_over(tcp, config));
    let waited = tokio::time::timeout(Duration::from_millis(300), &mut client).await;
    assert!(
        waited.is_err(),
        "completed while both slots were taken: {waited:?}"
    );
    assert_eq!(listener.handshakes_in_progress(), 2);

    // A stalled client leaves: its slot goes to the waiting one.
    drop(first);
    let (stream, _) = bounded("handshake after a slot freed", listener.accept_tls()).await;
    let seen = bounded("serve", serve(stream)).await.unwrap();
    assert!(seen.outcome.is_verified(), "{:?}", seen.outcome);
    let response = bounded("client", client).await.unwrap().unwrap();
    assert_eq!(body(&response), "SUCCESS");
}

/// A handshake that times out frees its slot: with a cap of 1, a client
/// queued behind a silent one is served after the timeout.
#[tokio::test]
async fn timed_out_handshakes_free_their_slot() {
    let server = Server::new();
    let mut listener = MtlsListener::builder(
        server
            .acceptor()
            .handshake_timeout(Duration::from_millis(200)),
    )
    .max_concurrent_handshakes(1)
    .evict_at_cap(false)
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let addr = listener.local_addr();

    let mut silent = stalled_client(addr, 0).await;
    until_in_progress(&listener, 1).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let config = server.client(None, &rustls::version::TLS13);
    let client = tokio::spawn(get_over(tcp, config));

    let (stream, _) = bounded("queued handshake", listener.accept_tls()).await;
    let seen = bounded("serve", serve(stream)).await.unwrap();
    assert!(seen.outcome.is_none(), "{:?}", seen.outcome);
    assert_eq!(
        body(&bounded("client", client).await.unwrap().unwrap()),
        "NONE"
    );
    // The silent one was dropped by then.
    let mut byte = [0u8; 1];
    let read = bounded("silent client sees close", silent.read(&mut byte)).await;
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// Finished handshakes wait in a bounded queue and keep their slot until
/// they are queued: when the application does not accept, the listener stops
/// accepting instead of piling up connections.
#[tokio::test]
async fn unaccepted_connections_hold_their_slots() {
    let server = Server::new();
    let mut listener = MtlsListener::builder(server.acceptor())
        .max_concurrent_handshakes(2)
        .ready_queue(1)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();

    // Three clients complete their handshakes (TLS 1.2: the server finishes
    // first), then wait for an answer; nobody accepts yet.
    let mut clients = Vec::new();
    let mut handshakes = Vec::new();
    for _ in 0..3 {
        let client = server.client(Some(&server.pki.valid_from_root), &rustls::version::TLS12);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        handshakes.push(done_rx);
        clients.push(tokio::spawn(async move {
            let mut tls = client.connect(addr).await?;
            let _ = done_tx.send(());
            tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await?;
            let mut response = String::new();
            tls.read_to_string(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        }));
    }
    for done in handshakes {
        bounded("client handshake", done).await.unwrap();
    }
    // One connection is queued (its slot freed), two wait to be queued and
    // hold both slots.
    until_in_progress(&listener, 2).await;

    for _ in 0..3 {
        let (stream, _) = bounded("accept", listener.accept_tls()).await;
        tokio::spawn(serve(stream));
    }
    for client in clients {
        let response = bounded("client", client).await.unwrap().unwrap();
        assert_eq!(body(&response), "SUCCESS");
    }
    until_in_progress(&listener, 0).await;
}

/// With `deliver_plain_http`, a plain-HTTP client that `accept_tls` answers
/// keeps its slot until answered: with a cap of 1, a TLS client waits while
/// a plain-HTTP client dawdles over its request, and is served once the 497
/// went out.
#[tokio::test]
async fn plain_http_answered_by_accept_tls_counts_against_the_cap() {
    let server = Server::new();
    let mut listener = MtlsListener::builder(
        server
            .acceptor()
            .handshake_timeout(Duration::from_secs(600)),
    )
    .max_concurrent_handshakes(1)
    .deliver_plain_http()
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let addr = listener.local_addr();

    // Half a request head: its answer waits for the rest.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    until_in_progress(&listener, 1).await;
    // accept_tls takes it off the queue and answers it in a task of its
    // own; nothing else is there yet.
    let waited = tokio::time::timeout(Duration::from_millis(300), listener.accept_tls()).await;
    assert!(waited.is_err(), "no TLS client yet: {waited:?}");
    assert_eq!(
        listener.handshakes_in_progress(),
        1,
        "the answer in progress holds its slot"
    );

    let tcp = TcpStream::connect(addr).await.unwrap();
    let config = server.client(Some(&server.pki.valid_from_root), &rustls::version::TLS13);
    let mut client = tokio::spawn(get_over(tcp, config));
    let waited = tokio::time::timeout(Duration::from_millis(300), &mut client).await;
    assert!(
        waited.is_err(),
        "handshake completed while the answer held the only slot: {waited:?}"
    );

    // The rest of the head: answered 497 and closed, the slot goes to the
    // TLS client.
    plain.write_all(b"\r\n").await.unwrap();
    let mut answer = String::new();
    bounded("497 answer", plain.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 497 "), "{answer}");
    let (stream, _) = bounded("handshake after the answer", listener.accept_tls()).await;
    let seen = bounded("serve", serve(stream)).await.unwrap();
    assert!(seen.outcome.is_verified(), "{:?}", seen.outcome);
    let response = bounded("client", client).await.unwrap().unwrap();
    assert_eq!(body(&response), "SUCCESS");
    until_in_progress(&listener, 0).await;
}
