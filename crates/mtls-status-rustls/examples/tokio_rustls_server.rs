//! A plain tokio + rustls HTTPS server with nginx-style client-certificate
//! verdicts, and real rustls clients to try it; runs once and exits.
//!
//! ```text
//! cargo run -p mtls-status-rustls --example tokio_rustls_server
//! ```
//!
//! The server side is what an application writes:
//! trust store → classifier → deferred verifier → rustls `ServerConfig` →
//! `MtlsListener` → read `stream.outcome()` → answer (here HTTP/1.1 by hand:
//! 200 for a verified client, 496 without a certificate, 495 for an invalid
//! one, like nginx's `ssl_verify_client on`). Plain HTTP sent to the port gets
//! 497 from the listener.
//!
//! The PKI is generated on the fly with `mtls-testpki` (a dev-dependency).

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mtls_status::{ClientAuthOutcome, VerifyMode};
use mtls_status_rustls::{
    Classifier, MtlsListener, MtlsStream, ReloadableTrustStore, ServerCertificate, TrustStore,
};
use mtls_testpki::{Leaf, Pki};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let pki = Pki::generate();
    // The library never picks a crypto provider: the application does.
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    // --- server ---------------------------------------------------------
    let trust_store = TrustStore::builder().ca_pem(pki.ca_bundle_pem()).build()?;
    let classifier = Classifier::builder(
        ReloadableTrustStore::new(trust_store),
        Arc::clone(&provider),
    )
    .build()?;
    let server_cert = ServerCertificate::new(
        Arc::clone(&provider),
        pki.server.chain(),
        pki.server.key_der(),
    )?;
    let acceptor = mtls_status_rustls::MtlsAcceptor::new(classifier, VerifyMode::On, server_cert)?
        .handshake_timeout(Duration::from_secs(10));
    let mut listener = MtlsListener::builder(acceptor).bind("127.0.0.1:0").await?;
    let addr = listener.local_addr();
    println!("listening on https://{addr}");

    tokio::spawn(async move {
        loop {
            // Handshakes run concurrently in the background; this only
            // yields finished, classified connections.
            let (stream, peer) = listener.accept_tls().await;
            tokio::spawn(async move {
                if let Err(error) = handle(stream).await {
                    eprintln!("server: {peer}: {error}");
                }
            });
        }
    });

    // --- clients ----------------------------------------------------------
    let clients: [(&str, Option<&Leaf>); 4] = [
        ("valid certificate", Some(&pki.valid_via_intermediate)),
        ("no certificate", None),
        ("expired certificate", Some(&pki.expired)),
        ("certificate from an unknown CA", Some(&pki.unknown_ca)),
    ];
    for (what, leaf) in clients {
        let response = https_get(addr, &pki, leaf, Arc::clone(&provider)).await?;
        println!("\n== client with {what}:\n{response}");
    }

    let mut plain = TcpStream::connect(addr).await?;
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut response = String::new();
    plain.read_to_string(&mut response).await?;
    println!("\n== plain HTTP client:\n{response}");
    Ok(())
}

/// The application's connection handler: one HTTP/1.1 exchange, answered
/// from the connection's verdict.
async fn handle(mut stream: MtlsStream<TcpStream>) -> std::io::Result<()> {
    let outcome = Arc::clone(stream.outcome());
    println!(
        "server: {} handshake ({:?}, {:?}), client certificate: {}",
        if stream.is_resumed() {
            "resumed"
        } else {
            "full"
        },
        stream.protocol_version(),
        stream.alpn_protocol().map(String::from_utf8_lossy),
        outcome.ssl_client_verify(),
    );

    // Read the request head (a real server would use hyper; see the
    // mtls-status-axum and -tower crates).
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }

    let (status, body) = match &*outcome {
        ClientAuthOutcome::Verified(identity) => (
            "200 OK".to_owned(),
            format!("hello, {}\n", identity.subject_dn()),
        ),
        ClientAuthOutcome::None => (
            "496 SSL Certificate Required".to_owned(),
            "a client certificate is required\n".to_owned(),
        ),
        other => (
            "495 SSL Certificate Error".to_owned(),
            format!(
                "client certificate rejected: {}\n",
                other
                    .reason()
                    .map_or_else(|| "unknown".to_owned(), |r| r.detail())
            ),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         X-SSL-Client-Verify: {}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
        outcome.ssl_client_verify(),
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// A real rustls client: trusts the test root, presents `leaf` if any.
async fn https_get(
    addr: SocketAddr,
    pki: &Pki,
    leaf: Option<&Leaf>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<String, Box<dyn Error>> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.root.cert_der())?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match leaf {
        Some(leaf) => builder.with_client_auth_cert(leaf.chain(), leaf.key_der())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    let tcp = TcpStream::connect(addr).await?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}
