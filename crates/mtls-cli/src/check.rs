//! `mtls check`: decide one chain the way `mtls serve` (and the library)
//! would, without a server.

use std::path::PathBuf;
use std::sync::Arc;

use mtls_status::{
    ClientAuthOutcome, ClientIdentity, InvalidCertificate, InvalidReason, ReasonKind, VerifyMode,
};
use mtls_status_rustls::{OcspChecker, ReloadableTrustStore, TrustStore};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::error::CliError;
use crate::expect_name::{self, ExpectedName};
use crate::ocsp::OcspArgs;
use crate::serve::parse_mode;
use crate::spiffe::TrustDomainArgs;
use crate::trust::TrustArgs;
use crate::{at, load, nginx_lint, report};

/// Arguments of `mtls check`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Decide one certificate chain the way the server would, without a server",
    long_about = "Decide one certificate chain the way the server would, without a server.\n\n\
        Prints one line: outcome, status, reason, detail (or one JSON object with \
        --format json), using the same classifier as `mtls serve`.\n\n\
        The status and exit code are what a server with --verify-client MODE (default on) \
        answers: exit 0 when the request passes (a verified chain; under optional_no_ca also \
        a chain from an unknown CA; under optional and optional_no_ca also no certificate; \
        under off anything), 2 when it answers 495, 3 when it answers 496, 4 unsupported \
        input (e.g. a file without the expected PEM blocks, a CRL that does not parse), \
        1 usage or I/O error.",
    after_help = "Examples:\n  mtls check --client-ca ca-bundle.pem --cert client.pem\n  mtls check --client-ca ca-bundle.pem --crl crl-bundle.pem --cert client.pem --format json\n  mtls check --client-ca ca-bundle.pem --cert client.pem --at 2030-01-01T00:00:00Z\n  mtls check --verify-client optional_no_ca --client-ca ca-bundle.pem --cert client.pem\n  mtls check --client-ca ca-bundle.pem --cert client.pem --expect-name uri:spiffe://example.org/ns/prod/sa/web\n  mtls check --trust-domain prod.example.org=prod.json --trust-domain partner.example.net=partner.pem --cert svid.pem",
    group(clap::ArgGroup::new("client").required(true).args(["cert", "no_cert"]))
)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    trust: TrustArgs,

    /// SPIFFE: a bundle per trust domain, instead of --client-ca.
    #[command(flatten)]
    spiffe: TrustDomainArgs,

    /// OCSP: the same lookup as `mtls serve --ocsp`; the responder's
    /// answers are printed before the verdict (to stderr with --format json).
    #[command(flatten)]
    ocsp: OcspArgs,

    /// Extra intermediate certificates (PEM), added after those of --cert as
    /// if the client had sent them.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    intermediates: Vec<PathBuf>,

    /// The client certificate (PEM or DER); a PEM file may hold the chain,
    /// leaf first (other blocks, such as the key, are ignored).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,

    /// nginx's `ssl_verify_client` of the server judged: on, optional,
    /// optional_no_ca or off. The status, `ssl_client_verify` and exit
    /// code are what that server answers.
    #[arg(
        long = "verify-client",
        value_name = "MODE",
        default_value = "on",
        value_parser = parse_mode
    )]
    verify_client: VerifyMode,

    /// Check what happens when the client sends no certificate.
    #[arg(long = "no-cert")]
    no_cert: bool,

    /// Judge as a server of this nginx configuration: its ssl_verify_client,
    /// ssl_verify_depth, ssl_client_certificate, ssl_trusted_certificate and
    /// ssl_crl (inherited from `http`), instead of the trust flags.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["client_ca", "trusted", "crl", "verify_depth", "verify_client", "trust_domains"]
    )]
    nginx: Option<PathBuf>,

    /// With --nginx: the server a client sending this SNI name gets.
    #[arg(long = "server-name", value_name = "NAME", requires = "nginx")]
    server_name: Option<String>,

    /// With --nginx: the port (or address:port) the client connects to.
    #[arg(long, value_name = "PORT", requires = "nginx")]
    listen: Option<String>,

    /// Check at this time instead of now (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = at::parse)]
    at: Option<UnixTime>,

    /// A name the client certificate must carry in its subjectAltName:
    /// dns:NAME, ip:ADDR, email:ADDR or uri:URI; repeat for several (all must
    /// be present).
    #[arg(long = "expect-name", value_name = "TYPE:NAME", value_parser = expect_name::parse)]
    expect_name: Vec<ExpectedName>,

    /// Output: one text line, or one JSON object.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One line: outcome, status, reason, detail.
    Text,
    /// One JSON object.
    Json,
}

/// Runs the check, prints the verdict and returns the exit code.
pub(crate) fn run(mut args: CheckArgs) -> Result<u8, CliError> {
    let now = args.at.unwrap_or_else(UnixTime::now);
    if let Some(path) = &args.nginx {
        let server =
            nginx_lint::select_server(path, args.server_name.as_deref(), args.listen.as_deref())?;
        eprintln!("mtls check: as nginx server {}", server.label);
        args.trust.client_ca = server.client_certificate.into_iter().collect();
        args.trust.trusted = server.trusted_certificate.into_iter().collect();
        args.trust.crl = server.crl.into_iter().collect();
        args.trust.verify_depth = server.depth;
        args.verify_client = server.mode;
    }
    let spiffe = args.spiffe.load()?;
    let store = if let Some(spiffe) = &spiffe {
        spiffe.all.clone()
    } else if args.trust.has_cas()
        || matches!(args.verify_client, VerifyMode::On | VerifyMode::Optional)
    {
        args.trust.require_client_ca()?;
        args.trust.load_store()?
    } else {
        // optional_no_ca and off need no CA (as nginx): every presented
        // chain is then from an untrusted issuer.
        ReloadableTrustStore::new(TrustStore::empty())
    };
    let classifier = args.trust.classifier(store, |builder| {
        let builder = builder.cache_capacity(0);
        match &spiffe {
            Some(spiffe) => spiffe.apply(builder),
            None => builder,
        }
    })?;

    let chain = presented_chain(&args)?;
    let outcome = classifier.classify_at(chain.as_deref(), now);
    let outcome = check_names(outcome, &args.expect_name);
    let outcome = match args.ocsp.checker(&classifier, None)? {
        Some(checker) => check_ocsp(&checker, outcome, now, args.format)?,
        None => outcome,
    };

    let line = match args.format {
        Format::Text => report::text(&outcome, args.verify_client, now, &args.expect_name),
        Format::Json => report::json(&outcome, args.verify_client, now, &args.expect_name),
    };
    println!("{line}");
    Ok(report::exit_code(&outcome, args.verify_client))
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

/// Looks the verified chain up by OCSP, prints the responder's answers
/// (stdout for text, stderr for JSON, which stays one object) and returns
/// the outcome after OCSP.
fn check_ocsp(
    checker: &OcspChecker,
    outcome: Arc<ClientAuthOutcome>,
    now: UnixTime,
    format: Format,
) -> Result<Arc<ClientAuthOutcome>, CliError> {
    let Some(identity) = outcome.identity() else {
        return Ok(outcome);
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| CliError::Io(format!("cannot start the async runtime: {error}")))?;
    let chain = identity.chain().to_vec();
    let (answers, error) = runtime.block_on(checker.lookup_at(&chain, now));
    let mut lines: Vec<String> = answers.iter().map(|a| format!("ocsp: {a}")).collect();
    if let Some(error) = error {
        lines.push(format!("ocsp: request failed: {error}"));
    }
    for line in lines {
        match format {
            Format::Text => println!("{line}"),
            Format::Json => eprintln!("{line}"),
        }
    }
    // The answers are cached: this asks no responder again.
    Ok(runtime.block_on(checker.check_at(outcome, now)))
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
