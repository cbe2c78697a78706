//! Server-certificate rotation through `MtlsAcceptor::new`, over real TLS on
//! 127.0.0.1: new handshakes see the new certificate, open connections stay,
//! a certificate with the wrong key is never installed.

use std::sync::Arc;

use mtls_status::VerifyMode;
use mtls_status_rustls::{
    Accepted, Classifier, MtlsAcceptor, ReloadableTrustStore, ServerCertificate, TrustStore,
};
use mtls_testpki::Pki;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Serves every connection: echoes bytes back once classified as verified.
async fn serve(listener: TcpListener, acceptor: MtlsAcceptor) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            if let Ok(Accepted::Tls(mut stream)) = acceptor.accept(tcp).await {
                assert!(stream.outcome().is_verified());
                let mut byte = [0u8; 1];
                while let Ok(1) = stream.read(&mut byte).await {
                    if stream.write_all(&byte).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// A client trusting both PKIs' roots; returns the stream and the server
/// certificate it saw.
async fn connect(
    addr: std::net::SocketAddr,
    pki: &Pki,
    next: &Pki,
) -> (TlsStream<TcpStream>, CertificateDer<'static>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.root.cert_der()).expect("root");
    roots.add(next.root.cert_der()).expect("root");
    let client = &pki.valid_via_intermediate;
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(client.chain(), client.key_der())
        .expect("client cert");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let seen = tls.get_ref().1.peer_certificates().expect("server chain")[0].clone();
    (tls, seen)
}

async fn echo(tls: &mut TlsStream<TcpStream>, byte: u8) -> u8 {
    tls.write_all(&[byte]).await.expect("write");
    let mut back = [0u8; 1];
    tls.read_exact(&mut back).await.expect("read");
    back[0]
}

#[tokio::test]
async fn rotated_server_certificate_reaches_new_handshakes_only() {
    let pki = Pki::generate();
    let next = Pki::generate();
    let store = ReloadableTrustStore::new(
        TrustStore::builder()
            .ca_pem(pki.ca_bundle_pem())
            .build()
            .unwrap(),
    );
    let classifier = Classifier::builder(store, provider()).build().unwrap();
    let cert =
        ServerCertificate::new(provider(), pki.server.chain(), pki.server.key_der()).unwrap();
    let acceptor = MtlsAcceptor::new(classifier, VerifyMode::On, cert.clone()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, acceptor));

    let (mut open, seen) = connect(addr, &pki, &next).await;
    assert_eq!(seen, pki.server.chain()[0]);

    // A renewed certificate next to the old key: refused, the old pair serves.
    assert!(
        cert.replace(next.server.chain(), pki.server.key_der())
            .is_err()
    );
    assert_eq!(connect(addr, &pki, &next).await.1, pki.server.chain()[0]);

    cert.replace(next.server.chain(), next.server.key_der())
        .unwrap();
    assert_eq!(connect(addr, &pki, &next).await.1, next.server.chain()[0]);
    // The connection opened before the rotation still works.
    assert_eq!(echo(&mut open, 7).await, 7);
}
