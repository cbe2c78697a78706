//! `mtls lint`: what an operator should hear about a CA bundle, its CRLs and
//! the verify settings before a server starts.

use std::path::PathBuf;

use mtls_status::VerifyMode;
use mtls_status::lint::{LintSettings, Severity, has_errors, lint_trust_config};
use rustls_pki_types::UnixTime;

use crate::error::{CliError, EXIT_ERROR, EXIT_OK};
use crate::serve::parse_mode;
use crate::{at, load};

/// Arguments of `mtls lint`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Lint a client CA bundle and its CRLs for the given verify settings",
    long_about = "Lint a client CA bundle and its CRLs for the given verify settings.\n\n\
        Prints one line per finding, `severity[kind]: subject: message`, errors first, \
        then a summary line. Exit status: 1 if any finding is an error (or a file cannot \
        be read), 0 otherwise.",
    after_help = "Example:\n  mtls lint --ca ca-bundle.pem --crl crl-bundle.pem --verify-depth 1"
)]
pub(crate) struct LintArgs {
    /// CA bundle(s) (PEM), as the server's --client-ca.
    #[arg(long, value_name = "BUNDLE", required = true, num_args = 1..)]
    ca: Vec<PathBuf>,

    /// CRL file(s) (PEM or DER), as the server's --crl.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    crl: Vec<PathBuf>,

    /// The mode the bundle is used with: on, optional, optional_no_ca, off.
    #[arg(
        long = "verify-client",
        value_name = "MODE",
        default_value = "on",
        value_parser = parse_mode
    )]
    verify_client: VerifyMode,

    /// The verify depth the bundle is used with (nginx's ssl_verify_depth).
    #[arg(long = "verify-depth", value_name = "N", default_value_t = 1)]
    verify_depth: usize,

    /// Lint at this time instead of now (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = at::parse)]
    at: Option<UnixTime>,
}

/// Prints the lints and the summary; returns the exit code.
pub(crate) fn run(args: LintArgs) -> Result<u8, CliError> {
    let mut certificates = Vec::new();
    for path in &args.ca {
        certificates.extend(load::certificates(path, "--ca")?);
    }
    let mut crls = Vec::new();
    for path in &args.crl {
        crls.extend(load::crls(path, "--crl")?);
    }
    let settings = LintSettings::new(args.at.unwrap_or_else(UnixTime::now))
        .with_mode(args.verify_client)
        .with_verify_depth(args.verify_depth);
    let lints = lint_trust_config(&certificates, &crls, &settings);
    for lint in &lints {
        println!("{lint}");
    }
    let count = |severity: Severity| lints.iter().filter(|l| l.severity() == severity).count();
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    println!(
        "{}: {errors} {}, {warnings} {}, {infos} info ({} {}, {} {}; verify-client {}, verify-depth {})",
        if errors > 0 { "failed" } else { "ok" },
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings"),
        certificates.len(),
        plural(certificates.len(), "certificate", "certificates"),
        crls.len(),
        plural(crls.len(), "CRL", "CRLs"),
        args.verify_client,
        args.verify_depth,
    );
    Ok(if has_errors(&lints) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
