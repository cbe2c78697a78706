//! mtls-status in one file: an axum server where each route has its own
//! client-certificate policy, called by six different clients.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! | route | policy | handler |
//! |---|---|---|
//! | `/health` | `VerifyMode::Off`: anyone | `"ok"` |
//! | `/admin` | `VerifyMode::On` + allow-list `CN=alice`: no certificate 496, invalid 495, not alice 403 | `VerifiedClient` |
//! | `/whoami` | `VerifyMode::Optional`: none is fine, invalid 495 | `Option<VerifiedClient>` |
//!
//! All three are served on one port, over the same connections: nginx can only
//! set `ssl_verify_client` per server block. The PKI is thrown away at exit
//! (generated in memory by `mtls-testpki`); the crypto provider is ring.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use mtls_examples::{BoxError, https_get};
use mtls_status::VerifyMode;
use mtls_status_axum::tls::{
    Classifier, MtlsAcceptor, MtlsListener, ReloadableTrustStore, ServerCertificate, TrustStore,
};
use mtls_status_axum::{AllowList, ClientAuthListener, VerifiedClient, VerifyClientLayer};
use mtls_testpki::{Leaf, Pki};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // A throwaway PKI: root + intermediate CA, a server certificate for
    // localhost, and clients of every kind.
    let pki = Pki::generate();
    let alice = pki.root.leaf("alice").build();
    let bob = pki.root.leaf("bob").build();

    let addr = start_server(&pki).await?;
    println!(
        "axum server on https://{addr} (client CAs: root + intermediate of a throwaway PKI)\n"
    );

    let clients: [(&str, Option<&Leaf>); 6] = [
        ("no certificate", None),
        ("alice", Some(&alice)),
        ("bob (valid, not on the list)", Some(&bob)),
        ("expired", Some(&pki.expired)),
        ("unknown CA", Some(&pki.unknown_ca)),
        ("wrong purpose (serverAuth)", Some(&pki.server_auth_only)),
    ];
    let mut rows = Vec::new();
    for (name, client) in clients {
        for path in ["/health", "/admin", "/whoami"] {
            let reply = https_get(addr, &pki.root, client, path).await?;
            let body: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
            let reason = body["reason"].as_str().unwrap_or("-").to_owned();
            let identity = match &body["identity"] {
                Value::String(subject) => subject.clone(),
                Value::Null if body.get("identity").is_some() => "anonymous".to_owned(),
                _ => "-".to_owned(),
            };
            rows.push([
                name.to_owned(),
                path.to_owned(),
                reply.status_line(),
                reason,
                identity,
            ]);
        }
    }
    print_table(["client", "path", "status", "reason", "identity"], &rows);
    println!(
        "\nreason: the problem+json `reason` of a rejection (495/496/403); \
         identity: what the handler saw."
    );
    Ok(())
}

/// The whole server side: trust store → classifier → rustls config →
/// listener → axum with one `VerifyClientLayer` per route.
async fn start_server(pki: &Pki) -> Result<SocketAddr, BoxError> {
    // The application picks the crypto provider; the library never does.
    let provider = Arc::new(rustls::crypto::ring::default_provider());

    // nginx: ssl_client_certificate (root + intermediate); ssl_verify_depth 1.
    let store = TrustStore::builder().ca_pem(pki.ca_bundle_pem()).build()?;
    let classifier = Classifier::builder(ReloadableTrustStore::new(store), Arc::clone(&provider))
        .max_depth(1)
        .build()?;

    // Ask every client for a certificate but never fail the handshake over
    // it (its signature is still checked): each route decides.
    let server_cert = ServerCertificate::new(provider, pki.server.chain(), pki.server.key_der())?;
    let acceptor = MtlsAcceptor::new(classifier, VerifyMode::Optional, server_cert)?;
    let listener = MtlsListener::builder(acceptor).bind("127.0.0.1:0").await?;
    let addr = listener.local_addr();

    let app = Router::new()
        .route(
            "/health",
            get(health).route_layer(VerifyClientLayer::new().mode(VerifyMode::Off)),
        )
        .route(
            "/admin",
            get(admin).route_layer(
                VerifyClientLayer::new()
                    .mode(VerifyMode::On)
                    .authorize(AllowList::new().subject_dn("CN=alice")),
            ),
        )
        .route(
            "/whoami",
            get(whoami).route_layer(VerifyClientLayer::new().mode(VerifyMode::Optional)),
        );

    tokio::spawn(async move {
        let served = mtls_status_axum::serve(ClientAuthListener::new(listener), app).await;
        if let Err(error) = served {
            eprintln!("server stopped: {error}");
        }
    });
    Ok(addr)
}

async fn health() -> impl IntoResponse {
    json_response(json!({ "status": "ok" }))
}

/// Only alice gets here: the layer answered 496 / 495 / 403 to the others.
async fn admin(client: VerifiedClient) -> impl IntoResponse {
    json_response(json!({ "identity": client.subject_dn() }))
}

/// `None` without a certificate; a bad certificate never gets here (495).
async fn whoami(client: Option<VerifiedClient>) -> impl IntoResponse {
    json_response(json!({ "identity": client.as_ref().map(|c| c.subject_dn()) }))
}

fn json_response(value: Value) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
}

/// Prints `rows` under `headers`, each column as wide as its widest cell.
fn print_table<const N: usize>(headers: [&str; N], rows: &[[String; N]]) {
    let mut widths = headers.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers);
    line(
        widths
            .map(|width| "-".repeat(width))
            .each_ref()
            .map(String::as_str),
    );
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
}
