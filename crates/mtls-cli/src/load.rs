//! Reading certificates, keys and CRLs from the files named on the command
//! line, with errors that name the flag, the file, and what was expected.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::error::CliError;

/// The PEM blocks of a file: their kinds and DER contents.
type Sections = Vec<(SectionKind, Vec<u8>)>;

/// The largest input file read (certificates, keys, CRLs, bundles): the
/// trust store's limit, which large real CRLs fit.
const MAX_FILE: u64 = mtls_status_rustls::DEFAULT_MAX_FILE_SIZE;

/// Reads `path`, given with `flag`.
pub(crate) fn read(path: &Path, flag: &str) -> Result<Vec<u8>, CliError> {
    let io = |error: std::io::Error| {
        CliError::Io(format!("cannot read {flag} {}: {error}", path.display()))
    };
    let file = File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(CliError::Unsupported(format!(
            "{flag} {}: larger than {} MiB, the most read from a certificate, key or CRL file",
            path.display(),
            MAX_FILE / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// Every certificate in `path`: the `CERTIFICATE` blocks of a PEM file in
/// order (other blocks, such as a private key, are skipped), or a single DER
/// certificate.
pub(crate) fn certificates(
    path: &Path,
    flag: &str,
) -> Result<Vec<CertificateDer<'static>>, CliError> {
    let bytes = read(path, flag)?;
    let sections = sections(&bytes, path, flag, "certificates")?;
    let Some(sections) = sections else {
        return der_fallback(bytes, path, flag, "a certificate", "CERTIFICATE")
            .map(|der| vec![CertificateDer::from(der)]);
    };
    let certificates: Vec<CertificateDer<'static>> = sections
        .iter()
        .filter(|(kind, _)| *kind == SectionKind::Certificate)
        .map(|(_, der)| CertificateDer::from(der.clone()))
        .collect();
    if certificates.is_empty() {
        return Err(nothing_of_kind(
            path,
            flag,
            "a certificate",
            "\"-----BEGIN CERTIFICATE-----\"",
            &sections,
        ));
    }
    Ok(certificates)
}

/// The first private key in `path` (PKCS#8, PKCS#1 or SEC1 PEM).
pub(crate) fn private_key(path: &Path, flag: &str) -> Result<PrivateKeyDer<'static>, CliError> {
    let bytes = read(path, flag)?;
    let Some(sections) = sections(&bytes, path, flag, "a private key")? else {
        return Err(CliError::Unsupported(format!(
            "{flag} {}: not a PEM file; expected a private key in PEM \
             (\"-----BEGIN PRIVATE KEY-----\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\")",
            path.display()
        )));
    };
    sections
        .iter()
        .find_map(|(kind, der)| PrivateKeyDer::from_pem(*kind, der.clone()))
        .ok_or_else(|| {
            nothing_of_kind(
                path,
                flag,
                "a private key",
                "\"-----BEGIN PRIVATE KEY-----\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\"",
                &sections,
            )
        })
}

/// Every CRL in `path`: the `X509 CRL` blocks of a PEM file, or one DER CRL.
pub(crate) fn crls(
    path: &Path,
    flag: &str,
) -> Result<Vec<CertificateRevocationListDer<'static>>, CliError> {
    let bytes = read(path, flag)?;
    let Some(sections) = sections(&bytes, path, flag, "CRLs")? else {
        return der_fallback(bytes, path, flag, "a CRL", "X509 CRL")
            .map(|der| vec![CertificateRevocationListDer::from(der)]);
    };
    let crls: Vec<CertificateRevocationListDer<'static>> = sections
        .iter()
        .filter(|(kind, _)| *kind == SectionKind::Crl)
        .map(|(_, der)| CertificateRevocationListDer::from(der.clone()))
        .collect();
    if crls.is_empty() {
        return Err(nothing_of_kind(
            path,
            flag,
            "a CRL",
            "\"-----BEGIN X509 CRL-----\"",
            &sections,
        ));
    }
    Ok(crls)
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The PEM sections of `bytes`; `None` when it is not PEM at all.
fn sections(
    bytes: &[u8],
    path: &Path,
    flag: &str,
    expected: &str,
) -> Result<Option<Sections>, CliError> {
    if !looks_like_pem(bytes) {
        return Ok(None);
    }
    let mut out = Vec::new();
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let section = section.map_err(|error| {
            CliError::Unsupported(format!(
                "{flag} {}: not valid PEM ({}); expected {expected} in PEM",
                path.display(),
                describe_pem_error(&error)
            ))
        })?;
        out.push(section);
    }
    Ok(Some(out))
}

/// A file that is not PEM: accepted as one DER object if it at least starts
/// like a DER SEQUENCE.
fn der_fallback(
    bytes: Vec<u8>,
    path: &Path,
    flag: &str,
    what: &str,
    label: &str,
) -> Result<Vec<u8>, CliError> {
    if bytes.first() == Some(&0x30) && bytes.len() > 2 {
        return Ok(bytes);
    }
    let found = if bytes.is_empty() {
        "the file is empty".to_owned()
    } else {
        "it is neither PEM nor DER".to_owned()
    };
    Err(CliError::Unsupported(format!(
        "{flag} {}: expected {what} in PEM (\"-----BEGIN {label}-----\") or DER, but {found}",
        path.display()
    )))
}

fn nothing_of_kind(
    path: &Path,
    flag: &str,
    what: &str,
    markers: &str,
    sections: &Sections,
) -> CliError {
    let found: Vec<&str> = sections.iter().map(|(kind, _)| kind_name(*kind)).collect();
    let found = if found.is_empty() {
        "no PEM block this tool knows".to_owned()
    } else {
        found.join(", ")
    };
    CliError::Unsupported(format!(
        "{flag} {}: contains no {} (expected PEM blocks {markers}); found: {found}",
        path.display(),
        what.trim_start_matches("a ")
    ))
}

fn kind_name(kind: SectionKind) -> &'static str {
    match kind {
        SectionKind::Certificate => "a certificate (CERTIFICATE)",
        SectionKind::PublicKey => "a public key (PUBLIC KEY)",
        SectionKind::RsaPrivateKey => "a private key (RSA PRIVATE KEY)",
        SectionKind::PrivateKey => "a private key (PRIVATE KEY)",
        SectionKind::EcPrivateKey => "a private key (EC PRIVATE KEY)",
        SectionKind::Crl => "a CRL (X509 CRL)",
        SectionKind::Csr => "a certificate request (CERTIFICATE REQUEST)",
        SectionKind::EchConfigList => "an ECH configuration (ECHCONFIG)",
        _ => "an unsupported PEM block",
    }
}

fn describe_pem_error(error: &pem::Error) -> String {
    match error {
        pem::Error::MissingSectionEnd { end_marker } => {
            format!(
                "missing end line \"-----END {}-----\"",
                String::from_utf8_lossy(end_marker).trim()
            )
        }
        pem::Error::IllegalSectionStart { line } => {
            format!(
                "malformed BEGIN line \"{}\"",
                String::from_utf8_lossy(line).trim()
            )
        }
        pem::Error::Base64Decode(error) => format!("bad base64: {error}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, contents: &[u8]) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("mtls-cli-load-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        path
    }

    #[test]
    fn key_where_a_certificate_is_expected_names_what_was_found() {
        let leaf = mtls_testpki::self_signed_client("x");
        let path = temp("key.pem", leaf.key_pem().as_bytes());
        let error = certificates(&path, "--cert").expect_err("a key is not a certificate");
        let key = private_key(&path, "--key");
        std::fs::remove_file(&path).ok();
        assert!(key.is_ok());
        let message = error.to_string();
        assert!(matches!(error, CliError::Unsupported(_)));
        assert!(message.starts_with("--cert "), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("contains no certificate"), "{message}");
        assert!(
            message.contains("found: a private key (PRIVATE KEY)"),
            "{message}"
        );
    }

    #[test]
    fn missing_file_is_io_and_names_flag_and_path() {
        let error =
            certificates(Path::new("/nonexistent/x.pem"), "--client-ca").expect_err("missing");
        assert!(matches!(error, CliError::Io(_)));
        assert!(
            error
                .to_string()
                .starts_with("cannot read --client-ca /nonexistent/x.pem: "),
            "{error}"
        );
    }

    #[test]
    fn broken_pem_and_garbage() {
        let path = temp("broken.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n");
        let error = certificates(&path, "--cert").expect_err("no END line");
        std::fs::remove_file(path).ok();
        assert!(
            error
                .to_string()
                .contains("missing end line \"-----END CERTIFICATE-----\""),
            "{error}"
        );
        let path = temp("garbage.txt", b"hello");
        let error = crls(&path, "--crl").expect_err("garbage");
        std::fs::remove_file(path).ok();
        assert!(error.to_string().contains("neither PEM nor DER"), "{error}");
    }
}
