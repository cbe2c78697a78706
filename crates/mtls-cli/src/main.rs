//! `mtls`: try client certificates (mutual TLS) with nginx's semantics.
//!
//! - `mtls serve`: an HTTPS echo server that answers like nginx with
//!   `ssl_verify_client` (495 / 496 / 497, or 200 with nginx's
//!   `$ssl_client_*` variables as JSON);
//! - `mtls check`: decide one chain the way the server would, offline
//!   (exit 0 verified, 2 invalid, 3 no certificate, 4 unsupported input,
//!   1 usage or I/O error);
//! - `mtls lint`: lint a client CA bundle and its CRLs, or (`--nginx`) an
//!   nginx configuration and the files it names, or (`--ingress`) Kubernetes
//!   Ingress manifests with ingress-nginx's `auth-tls-*` annotations;
//! - `mtls probe`: connect to a TLS server and explain what it does with
//!   client certificates (CertificateRequest, advertised CAs, the answer or
//!   TLS alert without and with a certificate);
//! - `mtls pki`: write a demo PKI to try them with.
//!
//! The crypto provider is ring. See `mtls help <command>` and the
//! workspace's DESIGN.md §4 for the contract of `serve` and `check`.

mod at;
mod check;
mod crl_refresh;
mod error;
mod expect_name;
mod ingress_lint;
mod lint;
mod load;
mod manifest;
mod metrics;
mod nginx;
mod nginx_lint;
mod ocsp;
mod pki;
mod probe;
mod report;
mod serve;
mod serve_proxy;
mod spiffe;
mod trust;
mod vars;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::error::{EXIT_ERROR, EXIT_OK};

/// Try client certificates (mutual TLS) the way nginx judges them.
#[derive(Debug, Parser)]
#[command(
    name = "mtls",
    version,
    about = "Try client certificates (mutual TLS) the way nginx judges them",
    long_about = "Try client certificates (mutual TLS) the way nginx judges them: an echo server \
        with nginx's ssl_verify_client semantics, an offline chain check, a CA bundle linter, \
        a probe that explains what any TLS server does with client certificates, and a demo \
        PKI. Start with `mtls pki ./demo`.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Serve(serve::ServeArgs),
    Check(check::CheckArgs),
    Lint(lint::LintArgs),
    Probe(probe::ProbeArgs),
    Pki(pki::PkiArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => EXIT_OK,
                _ => EXIT_ERROR,
            };
            // Help and version go to stdout, errors to stderr.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    init_logging();
    let exits_4_on_unsupported = matches!(cli.command, Command::Check(_) | Command::Probe(_));
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| EXIT_OK),
        Command::Check(args) => check::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Pki(args) => pki::run(args).map(|()| EXIT_OK),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            // Only `check` and `probe` distinguish unsupported input (4).
            ExitCode::from(if exits_4_on_unsupported {
                error.check_exit_code()
            } else {
                EXIT_ERROR
            })
        }
    }
}

/// Logs go to stderr; the level comes from `MTLS_LOG` (default `info`).
fn init_logging() {
    let level = std::env::var("MTLS_LOG")
        .ok()
        .and_then(|level| level.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .init();
}
