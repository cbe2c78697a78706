//! `mtls lint`: what an operator should hear about a CA bundle, its CRLs and
//! the verify settings before a server starts.

use std::path::PathBuf;

use mtls_status::VerifyMode;
use mtls_status::lint::{LintSettings, Severity, has_errors, lint_trust_config};
use rustls_pki_types::UnixTime;

use crate::error::{CliError, EXIT_ERROR, EXIT_OK};
use crate::ingress_lint::{self, SecretFile, SecretFiles};
use crate::nginx_lint::{self, LintFormat};
use crate::serve::parse_mode;
use crate::trust::{CLIENT_CA, TRUSTED, TrustArgs};
use crate::{at, load};

/// Arguments of `mtls lint`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Lint a client CA bundle and its CRLs for the given verify settings",
    long_about = "Lint a client CA bundle and its CRLs for the given verify settings.\n\n\
        Prints one line per finding, `severity[kind]: subject: message`, errors first, \
        then a summary line. Exit status: 1 if any finding is an error (or a file cannot \
        be read), 0 otherwise.\n\n\
        With --nginx FILE: the same lints on the files an nginx configuration names, plus \
        rules on its directives (verify_client_not_enforced, ssl_client_verify_unchecked, \
        missing_ca_bundle, unreadable_file, ocsp_with_optional_no_ca), one line per finding \
        `FILE:LINE: severity[kind]: message [server ...]`; exit 1 if any is an error or the \
        configuration cannot be parsed.\n\n\
        With --ingress FILE: the same for Kubernetes Ingress manifests (YAML, several documents, \
        other kinds skipped) with ingress-nginx's nginx.ingress.kubernetes.io/auth-tls-* \
        annotations, read with ingress-nginx's defaults (verify-client on, verify-depth 1); \
        each Secret's ca.crt is given with --ca-file NAMESPACE/NAME=FILE (or one --ca-file FILE \
        for all), its ca.crl with --crl-file the same way; findings at `FILE:LINE` of the annotation, plus invalid_annotation.",
    after_help = "Examples:\n  mtls lint --client-ca ca-bundle.pem --crl crl-bundle.pem --verify-depth 1\n  mtls lint --nginx /etc/nginx/nginx.conf --format sarif > mtls-lint.sarif\n  mtls lint --ingress ingress.yaml --ca-file prod/client-ca=ca.crt"
)]
pub(crate) struct LintArgs {
    /// The trust flags of `serve` and `check`; the lints read --client-ca,
    /// --crl and --verify-depth.
    #[command(flatten)]
    trust: TrustArgs,

    /// The mode the bundle is used with: on, optional, optional_no_ca, off.
    #[arg(
        long = "verify-client",
        value_name = "MODE",
        default_value = "on",
        value_parser = parse_mode
    )]
    verify_client: VerifyMode,

    /// Lint at this time instead of now (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = at::parse)]
    at: Option<UnixTime>,

    /// Lint an nginx configuration instead of flags: every `server` with
    /// client certificates, the files its ssl_client_certificate,
    /// ssl_trusted_certificate and ssl_crl name, and its ssl_verify_client /
    /// ssl_verify_depth (inherited from `http`), each finding at FILE:LINE.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["client_ca", "trusted", "crl", "verify_client"]
    )]
    nginx: Option<PathBuf>,

    /// Lint Kubernetes Ingress manifests (YAML, `---` separated) with
    /// ingress-nginx's `nginx.ingress.kubernetes.io/auth-tls-*` annotations
    /// instead of flags, each finding at FILE:LINE of the annotation.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["client_ca", "trusted", "crl", "verify_client", "nginx"]
    )]
    ingress: Option<PathBuf>,

    /// With --ingress: the ca.crt of the Secret NAMESPACE/NAME that an
    /// `auth-tls-secret` annotation names; a FILE alone serves every
    /// Secret without its own. Repeatable.
    #[arg(
        long = "ca-file",
        value_name = "[NAMESPACE/NAME=]FILE",
        requires = "ingress",
        value_parser = ingress_lint::parse_secret_file
    )]
    ca_file: Vec<SecretFile>,

    /// With --ingress: the ca.crl of the Secret NAMESPACE/NAME (ingress-nginx
    /// passes it to nginx as ssl_crl); a FILE alone serves every Secret
    /// without its own. Repeatable.
    #[arg(
        long = "crl-file",
        value_name = "[NAMESPACE/NAME=]FILE",
        requires = "ingress",
        value_parser = ingress_lint::parse_secret_file
    )]
    crl_file: Vec<SecretFile>,

    /// Output with --nginx or --ingress: text, json or sarif (SARIF 2.1.0
    /// for CI annotations).
    #[arg(long, value_enum, default_value = "text")]
    format: LintFormat,
}

/// Prints the lints and the summary; returns the exit code.
pub(crate) fn run(args: LintArgs) -> Result<u8, CliError> {
    let now = args.at.unwrap_or_else(UnixTime::now);
    if let Some(path) = &args.nginx {
        return nginx_lint::run(path, now, args.format);
    }
    if let Some(path) = &args.ingress {
        let files = SecretFiles {
            ca: &args.ca_file,
            crl: &args.crl_file,
        };
        return ingress_lint::run(path, &files, now, args.format);
    }
    if !args.ca_file.is_empty() || !args.crl_file.is_empty() {
        // clap's `requires` is not checked when other trust flags are given.
        return Err(CliError::Usage(
            "--ca-file and --crl-file need --ingress FILE".to_owned(),
        ));
    }
    if args.format != LintFormat::Text {
        return Err(CliError::Usage(
            "--format json and sarif need --nginx FILE or --ingress FILE".to_owned(),
        ));
    }
    args.trust.require_client_ca()?;
    let mut certificates = Vec::new();
    for path in &args.trust.client_ca {
        certificates.extend(load::certificates(path, CLIENT_CA)?);
    }
    for path in &args.trust.trusted {
        certificates.extend(load::certificates(path, TRUSTED)?);
    }
    let mut crls = Vec::new();
    for path in &args.trust.crl {
        crls.extend(load::crls(path, "--crl")?);
    }
    let settings = LintSettings::new(now)
        .with_mode(args.verify_client)
        .with_verify_depth(args.trust.verify_depth);
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
        args.trust.verify_depth,
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
