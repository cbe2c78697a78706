//! The trust flags `serve`, `check` and `lint` share ([`TrustArgs`], one
//! flattened clap group, spelled the same on all three), and the trust store
//! and classifier `serve` and `check` build from them: the same code path as
//! a server, so that `check` decides a chain exactly as `serve` would.

use std::path::PathBuf;
use std::sync::Arc;

use mtls_status_rustls::{
    Classifier, ClassifierBuilder, CrlScope, EkuPolicy, ReloadableTrustStore, TrustStoreError,
    TrustStoreFiles,
};
use rustls::crypto::CryptoProvider;

use crate::error::CliError;
use crate::load;

/// The flag that names the CA bundles.
pub(crate) const CLIENT_CA: &str = "--client-ca";
/// The flag that names trusted, not advertised, CAs.
pub(crate) const TRUSTED: &str = "--trusted";

/// How client certificates are verified: the flags of `serve`, `check` and
/// `lint`, with nginx's defaults. `--ca` and `--max-depth`, the spellings
/// `check` and `lint` had before, stay as hidden aliases.
#[derive(Debug, clap::Args)]
pub(crate) struct TrustArgs {
    /// CA bundle(s) (PEM) client certificates are verified against and whose
    /// subjects are advertised (nginx `ssl_client_certificate`). Required by
    /// check and lint, and by serve unless --verify-client is optional_no_ca
    /// or off (check and serve: or --trust-domain).
    #[arg(long = "client-ca", alias = "ca", value_name = "BUNDLE.pem", num_args = 1..)]
    pub(crate) client_ca: Vec<PathBuf>,

    /// Trusted CA certificates (PEM) that verify client chains without being
    /// advertised in the CertificateRequest (nginx `ssl_trusted_certificate`):
    /// e.g. the root above an advertised intermediate, or CAs kept out of the
    /// advertised list. May stand in for --client-ca, as in nginx 1.27.2+.
    #[arg(long = "trusted", value_name = "FILE.pem", num_args = 1..)]
    pub(crate) trusted: Vec<PathBuf>,

    /// nginx's `ssl_verify_depth`: the most intermediate CAs between a
    /// client certificate and a root of the bundle.
    #[arg(
        long = "verify-depth",
        alias = "max-depth",
        value_name = "N",
        default_value_t = 1
    )]
    pub(crate) verify_depth: usize,

    /// CRL file(s) (PEM or DER), repeatable (nginx `ssl_crl`): once given,
    /// every CA of a client's chain needs a CRL, and an expired CRL rejects
    /// every client, as in nginx.
    #[arg(long, value_name = "CRL.pem", num_args = 1..)]
    pub(crate) crl: Vec<PathBuf>,

    /// Which certificates need a CRL: chain (every CA's, as nginx) or leaf.
    #[arg(long = "crl-scope", value_name = "SCOPE", value_enum, default_value_t = Scope::Chain)]
    crl_scope: Scope,

    /// A certificate whose issuer has no CRL: deny (as nginx) or allow.
    #[arg(long = "crl-unknown", value_name = "POLICY", value_enum, default_value_t = Unknown::Deny)]
    crl_unknown: Unknown,

    /// An expired CRL: enforce (reject, as nginx) or ignore.
    #[arg(long = "crl-expiry", value_name = "POLICY", value_enum, default_value_t = Expiry::Enforce)]
    crl_expiry: Expiry,

    /// Extended key usage the chain must allow: client (default), server,
    /// any (no check) or a dotted OID; repeat to accept several.
    #[arg(long, value_name = "client|server|any|OID", value_parser = parse_eku)]
    eku: Vec<EkuPolicy>,
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

fn parse_eku(value: &str) -> Result<EkuPolicy, String> {
    match value.to_ascii_lowercase().as_str() {
        "client" | "clientauth" => Ok(EkuPolicy::client_auth()),
        "server" | "serverauth" => Ok(EkuPolicy::server_auth()),
        "any" => Ok(EkuPolicy::any()),
        _ => EkuPolicy::oid(value)
            .map_err(|error| format!("expected client, server, any or a dotted OID: {error}")),
    }
}

impl TrustArgs {
    /// The trust store of --client-ca, --trusted and --crl.
    pub(crate) fn load_store(&self) -> Result<ReloadableTrustStore, CliError> {
        load_store_with(&self.client_ca, CLIENT_CA, &self.trusted, &self.crl)
    }

    /// Whether any CA was given (--client-ca or --trusted).
    pub(crate) fn has_cas(&self) -> bool {
        !self.client_ca.is_empty() || !self.trusted.is_empty()
    }

    /// A classifier over `store` with every verification flag applied.
    pub(crate) fn classifier(
        &self,
        store: ReloadableTrustStore,
        tweak: impl FnOnce(ClassifierBuilder) -> ClassifierBuilder,
    ) -> Result<Classifier, CliError> {
        let mut builder = Classifier::builder(store, provider())
            .max_depth(self.verify_depth)
            .crl_scope(match self.crl_scope {
                Scope::Chain => CrlScope::Chain,
                Scope::Leaf => CrlScope::Leaf,
            });
        if self.crl_unknown == Unknown::Allow {
            builder = builder.allow_unknown_revocation_status();
        }
        if self.crl_expiry == Expiry::Ignore {
            builder = builder.ignore_crl_expiry();
        }
        if let Some(eku) = self.eku.iter().cloned().reduce(EkuPolicy::or) {
            builder = builder.required_eku(eku);
        }
        build_classifier(tweak(builder))
    }

    /// A usage error unless --client-ca or --trusted was given (`check`,
    /// `lint`).
    pub(crate) fn require_client_ca(&self) -> Result<(), CliError> {
        if !self.has_cas() {
            return Err(CliError::Usage(format!(
                "{CLIENT_CA} BUNDLE.pem is required (or {TRUSTED} FILE.pem): the CAs that issue client certificates"
            )));
        }
        Ok(())
    }
}

/// The crypto provider of the command: ring.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A reloadable trust store from CA bundles (`ca_flag`) and CRL files
/// (`--crl`). Each file is read and checked first, so that a missing or
/// wrong file is reported with the flag it was given with.
pub(crate) fn load_store(
    cas: &[PathBuf],
    ca_flag: &str,
    crls: &[PathBuf],
) -> Result<ReloadableTrustStore, CliError> {
    load_store_with(cas, ca_flag, &[], crls)
}

/// As [`load_store`], plus trusted-only CA files (`--trusted`).
pub(crate) fn load_store_with(
    cas: &[PathBuf],
    ca_flag: &str,
    trusted: &[PathBuf],
    crls: &[PathBuf],
) -> Result<ReloadableTrustStore, CliError> {
    let mut files = TrustStoreFiles::new();
    for path in cas {
        load::certificates(path, ca_flag)?;
        files = files.ca_file(path);
    }
    for path in trusted {
        load::certificates(path, TRUSTED)?;
        files = files.trusted_file(path);
    }
    for path in crls {
        load::crls(path, "--crl")?;
        files = files.crl_file(path);
    }
    ReloadableTrustStore::from_files(files)
        .map_err(|error| store_error(&error, cas, trusted, ca_flag))
}

pub(crate) fn store_error(
    error: &TrustStoreError,
    cas: &[PathBuf],
    trusted: &[PathBuf],
    ca_flag: &str,
) -> CliError {
    match error {
        TrustStoreError::Io { path, .. } => {
            let flag = if cas.iter().any(|ca| ca == path) {
                ca_flag
            } else if trusted.iter().any(|ca| ca == path) {
                TRUSTED
            } else {
                "--crl"
            };
            CliError::Io(format!("{flag}: {error}"))
        }
        TrustStoreError::NoCaConfigured => CliError::Usage(format!(
            "no CA certificates: give the CA bundle that issued the client certificates with {ca_flag}"
        )),
        TrustStoreError::NoCrls { .. } | TrustStoreError::BadCrl { .. } => {
            CliError::Unsupported(format!("--crl {error}"))
        }
        _ => CliError::Unsupported(format!("{ca_flag} {error}")),
    }
}

/// Builds `builder`; its only error is a bad trust-domain name.
pub(crate) fn build_classifier(builder: ClassifierBuilder) -> Result<Classifier, CliError> {
    builder
        .build()
        .map_err(|error| CliError::Usage(error.to_string()))
}
