//! MtlsListener under the handshake-slot exhaustion attack of #16 item 1:
//! more idle connections than `max_concurrent_handshakes`, each reopened as
//! soon as the server closes it. A valid client must still be answered, in
//! a bounded time (the bound is a hang detector, not a measurement: the
//! `handshake_slots` bench measures the latency).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::tls_harness::{Server, body, bounded, get, serve};
use mtls_status_rustls::MtlsListener;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// Before #16 a valid client waited for the first attacker's handshake
/// timeout (10 s); served within this, it was not locked out.
const SERVED_WITHIN: Duration = Duration::from_secs(5);

/// What an attacker sends after connecting, then it waits for the close.
#[derive(Clone, Copy, Debug)]
enum Attack {
    /// Nothing at all.
    Idle,
    /// The first bytes of a TLS record, never the rest of the ClientHello.
    PartialHello,
    /// One byte that is not TLS (plain HTTP's `G`), never the rest.
    G,
}

impl Attack {
    fn bytes(self) -> &'static [u8] {
        match self {
            Self::Idle => b"",
            Self::PartialHello => &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00],
            Self::G => b"G",
        }
    }
}

/// `n` attackers that each hold a connection and open a new one as soon as
/// the server closes it, until `stop`. Returns how many connections they
/// opened in all.
struct Attackers {
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
    tasks: JoinSet<()>,
}

impl Attackers {
    fn start(addr: SocketAddr, n: usize, kinds: &[Attack]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for i in 0..n {
            let attack = kinds[i % kinds.len()];
            let (stop, opened) = (Arc::clone(&stop), Arc::clone(&opened));
            tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut tcp) = TcpStream::connect(addr).await else {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    opened.fetch_add(1, Ordering::Relaxed);
                    let _ = tcp.write_all(attack.bytes()).await;
                    // Hold it until the server closes it (or the test ends).
                    let mut buf = [0u8; 512];
                    loop {
                        tokio::select! {
                            read = tcp.read(&mut buf) => match read {
                                Ok(0) | Err(_) => break,
                                Ok(_) => {}
                            },
                            () = tokio::time::sleep(Duration::from_millis(50)) => {
                                if stop.load(Ordering::Relaxed) {
                                    return;
                                }
                            }
                        }
                    }
                }
            });
        }
        Self {
            stop,
            opened,
            tasks,
        }
    }

    async fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        bounded("attackers stop", async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.opened.load(Ordering::Relaxed)
    }
}

/// Serves every connection the listener hands out; the second value follows
/// [`MtlsListener::handshakes_evicted`] as of the last connection.
fn serve_all(mut listener: MtlsListener) -> (tokio::task::JoinHandle<()>, Arc<AtomicU64>) {
    let evicted = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&evicted);
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept_tls().await;
            seen.store(listener.handshakes_evicted(), Ordering::Relaxed);
            tokio::spawn(serve(stream));
        }
    });
    (task, evicted)
}

async fn until_in_progress(listener: &MtlsListener, n: usize) {
    bounded("handshakes in progress", async {
        while listener.handshakes_in_progress() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// The valid client's GET, which must be answered within [`SERVED_WITHIN`].
///
/// A connection of the valid client can itself be evicted: when more than
/// the cap of attackers connect before its ClientHello arrives (a loaded
/// machine), it is the oldest without one. It is not locked out as long as
/// a new connection is served within the bound, so it reconnects.
async fn valid_get(server: &Server, addr: SocketAddr) -> String {
    let deadline = tokio::time::Instant::now() + SERVED_WITHIN;
    let mut failures = Vec::new();
    loop {
        let config = server.client(Some(&server.pki.valid_from_root), &rustls::version::TLS13);
        match tokio::time::timeout_at(deadline, get(addr, config)).await {
            Ok(Ok(response)) => return response,
            Ok(Err(error)) => failures.push(error.to_string()),
            Err(_) => panic!(
                "valid client locked out: no answer within {SERVED_WITHIN:?} \
                 (connections that failed: {failures:?})"
            ),
        }
    }
}

/// 2.5 times the cap in attackers (idle and partial ClientHellos), with the
/// default timeouts: the valid client is served while they hold every slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_reopened_at_once_do_not_lock_out_a_valid_client() {
    const CAP: usize = 64;
    let server = Server::new();
    let listener = MtlsListener::builder(server.acceptor())
        .max_concurrent_handshakes(CAP)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();
    let attackers = Attackers::start(addr, CAP * 5 / 2, &[Attack::Idle, Attack::PartialHello]);
    // The attackers hold every slot before the valid client comes.
    until_in_progress(&listener, CAP).await;
    let (server_task, evicted) = serve_all(listener);

    for _ in 0..3 {
        let response = valid_get(&server, addr).await;
        assert_eq!(body(&response), "SUCCESS", "{response}");
    }
    let opened = attackers.stop().await;
    assert!(
        opened >= CAP * 5 / 2,
        "the attack ran: {opened} connections"
    );
    assert!(evicted.load(Ordering::Relaxed) > 0, "nothing was evicted");
    server_task.abort();
}

/// Item 6: one `G` and nothing more held a slot for the whole handshake
/// timeout. With a cap of 1, a valid client behind it is served.
#[tokio::test]
async fn a_single_plain_http_byte_does_not_hold_the_only_slot() {
    let server = Server::new();
    let listener = MtlsListener::builder(server.acceptor())
        .max_concurrent_handshakes(1)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();
    let attackers = Attackers::start(addr, 1, &[Attack::G]);
    until_in_progress(&listener, 1).await;
    let (server_task, evicted) = serve_all(listener);

    let response = valid_get(&server, addr).await;
    assert_eq!(body(&response), "SUCCESS", "{response}");
    assert!(evicted.load(Ordering::Relaxed) > 0, "the G was not evicted");
    attackers.stop().await;
    server_task.abort();
}

/// The ClientHello deadline: a client that sends nothing, part of a
/// ClientHello, or a lone `G` loses its slot after `client_hello_timeout`,
/// although the handshake timeout is far longer and the cap is not reached.
#[tokio::test]
async fn client_hello_timeout_frees_slots_of_clients_that_stall_early() {
    let server = Server::new();
    let listener = MtlsListener::builder(
        server
            .acceptor()
            .handshake_timeout(Duration::from_secs(600)),
    )
    .client_hello_timeout(Duration::from_millis(300))
    .bind("127.0.0.1:0")
    .await
    .unwrap();
    let addr = listener.local_addr();
    let mut stalled = Vec::new();
    for attack in [Attack::Idle, Attack::PartialHello, Attack::G] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(attack.bytes()).await.unwrap();
        stalled.push((attack, tcp));
    }
    until_in_progress(&listener, 3).await;
    for (attack, tcp) in &mut stalled {
        let mut buf = Vec::new();
        let read = bounded("server closes", tcp.read_to_end(&mut buf)).await;
        assert!(read.is_ok() || buf.is_empty(), "{attack:?}: {read:?}");
        if matches!(attack, Attack::G) {
            // The answer is tried (there is no request head to answer).
            assert!(buf.is_empty() || buf.starts_with(b"HTTP/1.1 "), "{buf:?}");
        } else {
            assert!(buf.is_empty(), "{attack:?}: {buf:?}");
        }
    }
    bounded("slots freed", async {
        while listener.handshakes_in_progress() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Eviction only touches handshakes in progress: finished ones waiting for
/// room in the ready queue keep their slots, and a newcomer then waits.
#[tokio::test]
async fn finished_handshakes_are_never_evicted() {
    let server = Server::new();
    let mut listener = MtlsListener::builder(server.acceptor())
        .max_concurrent_handshakes(1)
        .ready_queue(1)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();
    // Two clients finish their handshakes: one is queued, one waits for room
    // and holds the only slot. TLS 1.2: the server finishes first.
    let client = server.client(Some(&server.pki.valid_from_root), &rustls::version::TLS12);
    let first = tokio::spawn(get(addr, client.clone()));
    let second = tokio::spawn(get(addr, client.clone()));
    until_in_progress(&listener, 1).await;
    // A stalled newcomer cannot take that slot.
    let _stalled = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..2 {
        let (stream, _) = bounded("accept", listener.accept_tls()).await;
        tokio::spawn(serve(stream));
    }
    for client in [first, second] {
        let response = bounded("client", client).await.unwrap().unwrap();
        assert_eq!(body(&response), "SUCCESS");
    }
}

/// A client that sends a complete, real ClientHello and then nothing (it
/// never answers the ServerHello) holds its slot past the ClientHello
/// deadline; once it has stalled for a second it may be evicted too. With a
/// cap of 1 and the 10 s handshake timeout, a valid client behind it is
/// served.
#[tokio::test]
async fn a_client_stalled_after_its_client_hello_is_evicted_once_stalled() {
    let server = Server::new();
    let listener = MtlsListener::builder(server.acceptor())
        .max_concurrent_handshakes(1)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();

    let config = server
        .client(Some(&server.pki.valid_from_root), &rustls::version::TLS13)
        .config();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut hello = Vec::new();
    rustls::ClientConnection::new(config, name)
        .unwrap()
        .write_tls(&mut hello)
        .unwrap();
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled.write_all(&hello).await.unwrap();
    // The server answers (ServerHello ...): the ClientHello was complete.
    let mut answer = [0u8; 1];
    bounded("ServerHello", stalled.read_exact(&mut answer))
        .await
        .unwrap();
    assert_eq!(answer[0], 0x16, "a TLS handshake record");
    until_in_progress(&listener, 1).await;

    let (server_task, evicted) = serve_all(listener);
    let response = valid_get(&server, addr).await;
    assert_eq!(body(&response), "SUCCESS", "{response}");
    assert_eq!(evicted.load(Ordering::Relaxed), 1);
    server_task.abort();
}
