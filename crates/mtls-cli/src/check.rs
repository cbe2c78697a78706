//! `mtls check`: decide one chain the way `mtls serve` (and the library)
//! would, without a server.

use std::path::PathBuf;
use std::sync::Arc;

use mtls_status::{
    ClientAuthOutcome, ClientIdentity, InvalidCertificate, InvalidReason, ReasonKind,
};
use mtls_status_rustls::{Classifier, CrlScope, EkuPolicy};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::error::CliError;
use crate::expect_name::{self, ExpectedName};
use crate::{at, load, report, trust};

/// Arguments of `mtls check`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Decide one certificate chain the way the server would, without a server",
    long_about = "Decide one certificate chain the way the server would, without a server.\n\n\
        Prints one line: outcome, status, reason, detail (or one JSON object with \
        --format json), using the same classifier as `mtls serve`.\n\n\
        Exit status: 0 verified, 2 invalid (a server answers 495), 3 no certificate \
        (--no-cert; a server in mode `on` answers 496), 4 unsupported input (e.g. a file \
        without the expected PEM blocks, a CRL that does not parse), 1 usage or I/O error.",
    after_help = "Examples:\n  mtls check --ca ca-bundle.pem --cert client.pem\n  mtls check --ca ca-bundle.pem --crl crl-bundle.pem --cert client.pem --format json\n  mtls check --ca ca-bundle.pem --cert client.pem --at 2030-01-01T00:00:00Z\n  mtls check --ca ca-bundle.pem --cert client.pem --expect-name uri:spiffe://example.org/ns/prod/sa/web",
    group(clap::ArgGroup::new("client").required(true).args(["cert", "no_cert"]))
)]
pub(crate) struct CheckArgs {
    /// CA bundle(s) (PEM) the chain must lead to, as the server's --client-ca.
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    ca: Vec<PathBuf>,

    /// Extra intermediate certificates (PEM), added after those of --cert as
    /// if the client had sent them.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    intermediates: Vec<PathBuf>,

    /// The client certificate (PEM or DER); a PEM file may hold the chain,
    /// leaf first (other blocks, such as the key, are ignored).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,

    /// Check what happens when the client sends no certificate.
    #[arg(long = "no-cert")]
    no_cert: bool,

    /// Check at this time instead of now (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = at::parse)]
    at: Option<UnixTime>,

    /// The most intermediate CAs between the certificate and a root
    /// (nginx's ssl_verify_depth).
    #[arg(long = "max-depth", value_name = "N", default_value_t = 1)]
    max_depth: usize,

    /// Extended key usage the chain must allow: client (default), server,
    /// any (no check) or a dotted OID; repeat to accept several.
    #[arg(long, value_name = "client|server|any|OID", value_parser = parse_eku)]
    eku: Vec<EkuPolicy>,

    /// CRL file(s) (PEM or DER), as the server's --crl.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    crl: Vec<PathBuf>,

    /// Which certificates need a CRL: chain (every CA's, as nginx) or leaf.
    #[arg(long = "crl-scope", value_name = "SCOPE", value_enum, default_value_t = Scope::Chain)]
    crl_scope: Scope,

    /// A certificate whose issuer has no CRL: deny (as nginx) or allow.
    #[arg(long = "crl-unknown", value_name = "POLICY", value_enum, default_value_t = Unknown::Deny)]
    crl_unknown: Unknown,

    /// An expired CRL: enforce (reject, as nginx) or ignore.
    #[arg(long = "crl-expiry", value_name = "POLICY", value_enum, default_value_t = Expiry::Enforce)]
    crl_expiry: Expiry,

    /// A name the client certificate must carry in its subjectAltName:
    /// dns:NAME, ip:ADDR, email:ADDR or uri:URI; repeat for several (all must
    /// be present).
    #[arg(long = "expect-name", value_name = "TYPE:NAME", value_parser = expect_name::parse)]
    expect_name: Vec<ExpectedName>,

    /// Output: one text line, or one JSON object.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Scope {
    Chain,
    Leaf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Unknown {
    Deny,
    Allow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Expiry {
    Enforce,
    Ignore,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line: outcome, status, reason, detail.
    Text,
    /// One JSON object.
    Json,
}

fn parse_eku(value: &str) -> Result<EkuPolicy, String> {
    match value.to_ascii_lowercase().as_str() {
        "client" | "clientauth" => Ok(EkuPolicy::client_auth()),
        "server" | "serverauth" => Ok(EkuPolicy::server_auth()),
        "any" => Ok(EkuPolicy::any()),
        _ => EkuPolicy::oid(value)
            .map_err(|error| format!("expected client, server, any or a dotted OID: {error}")),
    }
}

/// Runs the check, prints the verdict and returns the exit code.
pub(crate) fn run(args: CheckArgs) -> Result<u8, CliError> {
    let now = args.at.unwrap_or_else(UnixTime::now);
    let store = trust::load_store(&args.ca, "--ca", &args.crl)?;
    let mut builder = Classifier::builder(store, trust::provider())
        .max_depth(args.max_depth)
        .crl_scope(match args.crl_scope {
            Scope::Chain => CrlScope::Chain,
            Scope::Leaf => CrlScope::Leaf,
        })
        .cache_capacity(0);
    if args.crl_unknown == Unknown::Allow {
        builder = builder.allow_unknown_revocation_status();
    }
    if args.crl_expiry == Expiry::Ignore {
        builder = builder.ignore_crl_expiry();
    }
    if let Some(eku) = args.eku.iter().cloned().reduce(EkuPolicy::or) {
        builder = builder.required_eku(eku);
    }
    let classifier = trust::build_classifier(builder, "--max-depth")?;

    let chain = presented_chain(&args)?;
    let outcome = classifier.classify_at(chain.as_deref(), now);
    let outcome = check_names(outcome, &args.expect_name);

    let line = match args.format {
        Format::Text => report::text(&outcome, now, &args.expect_name),
        Format::Json => report::json(&outcome, now, &args.expect_name),
    };
    println!("{line}");
    Ok(report::exit_code(&outcome))
}

/// The chain as a client would send it: --cert (leaf first), then
/// --intermediates. `None` for --no-cert.
fn presented_chain(args: &CheckArgs) -> Result<Option<Vec<CertificateDer<'static>>>, CliError> {
    let Some(path) = &args.cert else {
        return Ok(None);
    };
    let mut chain = load::certificates(path, "--cert")?;
    if let Some(leaf) = chain.first() {
        ClientIdentity::from_der(leaf.clone()).map_err(|error| {
            CliError::Unsupported(format!(
                "--cert {}: the first certificate cannot be parsed as an X.509 certificate ({error})",
                path.display()
            ))
        })?;
    }
    for path in &args.intermediates {
        chain.extend(load::certificates(path, "--intermediates")?);
    }
    Ok(Some(chain))
}

/// A verified chain whose leaf lacks an expected name becomes
/// `Invalid(name_mismatch)`.
fn check_names(
    outcome: Arc<ClientAuthOutcome>,
    expected: &[ExpectedName],
) -> Arc<ClientAuthOutcome> {
    let ClientAuthOutcome::Verified(id) = &*outcome else {
        return outcome;
    };
    let missing: Vec<String> = expected
        .iter()
        .filter(|name| !name.is_in(id))
        .map(ToString::to_string)
        .collect();
    if missing.is_empty() {
        return outcome;
    }
    let present = expect_name::present(id);
    let present = if present.is_empty() {
        "no subjectAltName".to_owned()
    } else {
        present.join(", ")
    };
    let reason = InvalidReason::new(ReasonKind::NameMismatch)
        .with_certificate(0, id.subject_dn())
        .with_message(format!(
            "expected {}; the certificate has {present}",
            missing.join(", ")
        ));
    Arc::new(ClientAuthOutcome::Invalid(InvalidCertificate::new(
        reason,
        Some(id.clone()),
    )))
}
