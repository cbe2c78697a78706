//! `mtls probe`: connect to a TLS server as a client and explain, in plain
//! words, what it does with client certificates: whether it asks for one,
//! which CAs it advertises, and how it answers without a certificate and
//! with `--cert` (an HTTP status, or a TLS alert in or after the handshake).

mod explain;
mod failure;
mod http;
mod session;
mod tls;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mtls_status::ClientIdentity;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;

use self::explain::{ClientLabel, Probe};
use self::session::Settings;
use crate::error::{CliError, EXIT_OK};
use crate::{load, trust};

/// Arguments of `mtls probe`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Connect to a TLS server and explain what it does with client certificates",
    long_about = "Connect to a TLS server and explain what it does with client certificates.\n\n\
        Tells whether the server asks for a client certificate and which CA names it \
        advertises, then what happens without a certificate and with --cert: an HTTP answer \
        (mtls-status problem+json and nginx's 495/496 pages are recognised) or a TLS alert, \
        in the handshake or, with TLS 1.3, on the first read after it. Ends with a one-paragraph \
        verdict.\n\n\
        Without --ca the server's certificate is NOT verified (the probe is a diagnostic tool); \
        its handshake signatures are checked either way. Each step has a limit: connect 5 s, \
        handshake 10 s, request and response 10 s (at most 64 KiB read).\n\n\
        Exit status: 0 the probe completed (whatever the server did), 1 usage or I/O error \
        (e.g. the server cannot be reached), 4 unsupported input (e.g. a --cert without a \
        certificate).",
    after_help = "Examples:\n  mtls probe localhost:8443\n  mtls probe localhost:8443 --cert client.pem --key client.key --ca root.pem\n  mtls probe 10.0.0.7:443 --server-name api.example.org --tls 1.2 --format json"
)]
pub(crate) struct ProbeArgs {
    /// The server: HOST:PORT (an IPv6 address in brackets, e.g. `[::1]:8443`).
    #[arg(value_name = "HOST:PORT")]
    target: String,

    /// A client certificate to try (PEM, leaf first; intermediates after it
    /// are sent too).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,

    /// The private key of --cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,

    /// CA certificates (PEM) to verify the server's certificate against;
    /// repeat for several files. Without it the server is not verified.
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,

    /// The server name to send (SNI) and to verify the server's certificate
    /// for; default: HOST.
    #[arg(long = "server-name", value_name = "NAME")]
    server_name: Option<String>,

    /// Offer only this TLS version: 1.2 or 1.3 (default: both).
    #[arg(long, value_name = "VERSION", value_enum)]
    tls: Option<TlsVersion>,

    /// The path requested (`GET PATH HTTP/1.1`).
    #[arg(long, value_name = "PATH", default_value = "/", value_parser = parse_path)]
    path: String,

    /// Output: the explanation as text, or the same facts as one JSON object.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// A TLS version to offer alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TlsVersion {
    /// TLS 1.2 only.
    #[value(name = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[value(name = "1.3")]
    Tls13,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Explanations and a verdict.
    Text,
    /// One JSON object.
    Json,
}

/// The longest request path accepted.
const MAX_PATH: usize = 8 * 1024;

fn parse_path(value: &str) -> Result<String, String> {
    if !value.starts_with('/') {
        return Err("expected a path starting with /".to_owned());
    }
    if value.len() > MAX_PATH {
        return Err(format!("longer than {MAX_PATH} bytes"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("spaces and control characters must be percent-encoded".to_owned());
    }
    Ok(value.to_owned())
}

/// HOST and PORT of the target.
#[derive(Debug)]
struct Target {
    host: String,
    port: u16,
}

fn parse_target(value: &str) -> Result<Target, CliError> {
    let usage = |why: &str| {
        CliError::Usage(format!(
            "{value:?}: {why}; expected HOST:PORT, e.g. localhost:8443 or [::1]:8443"
        ))
    };
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (host, tail) = rest
            .split_once(']')
            .ok_or_else(|| usage("no closing ] after the IPv6 address"))?;
        let port = tail
            .strip_prefix(':')
            .ok_or_else(|| usage("no :PORT after the address"))?;
        (host, port)
    } else {
        let (host, port) = value.rsplit_once(':').ok_or_else(|| usage("no :PORT"))?;
        if host.contains(':') {
            return Err(usage("an IPv6 address must be in brackets"));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(usage("no HOST"));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| usage("the port is not a number from 1 to 65535"))?;
    Ok(Target {
        host: host.to_owned(),
        port,
    })
}

/// Runs the probe and prints what it found; 0 whatever the server did.
pub(crate) fn run(args: ProbeArgs) -> Result<u8, CliError> {
    let target = parse_target(&args.target)?;
    let provider = trust::provider();
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(load_identity(cert, key, &provider)?),
        _ => None,
    };
    let roots = load_roots(&args.ca)?;

    let name = args.server_name.as_deref().unwrap_or(&target.host);
    let server_name = ServerName::try_from(name.to_owned()).map_err(|_| {
        CliError::Usage(format!(
            "{} {name:?}: not a valid DNS name or IP address",
            if args.server_name.is_some() {
                "--server-name"
            } else {
                "HOST"
            }
        ))
    })?;
    let sni = match &server_name {
        ServerName::DnsName(dns) => Some(dns.as_ref().to_owned()),
        _ => None,
    };
    let host_header = host_header(sni.as_deref().unwrap_or(&target.host), target.port);
    let (versions, names): (Vec<_>, Vec<_>) = match args.tls {
        None => (
            vec![&rustls::version::TLS13, &rustls::version::TLS12],
            vec!["1.3", "1.2"],
        ),
        Some(TlsVersion::Tls13) => (vec![&rustls::version::TLS13], vec!["1.3"]),
        Some(TlsVersion::Tls12) => (vec![&rustls::version::TLS12], vec!["1.2"]),
    };

    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|error| CliError::Io(format!("cannot resolve {}: {error}", target.host)))?
        .collect();
    let (addr, tcp) = session::connect_any(&args.target, &addrs)?;
    let settings = Settings {
        target: args.target.clone(),
        addr,
        server_name,
        host_header,
        path: args.path.clone(),
        versions,
        provider,
        roots,
    };

    let without = session::attempt(&settings, Some(tcp), None)?;
    let with = match identity {
        Some((label, key)) => Some((label, session::attempt(&settings, None, Some(key))?)),
        None => None,
    };
    let probe = Probe {
        settings: &settings,
        sni,
        versions: names,
        verify_server: settings.roots.is_some(),
        without,
        with,
    };
    match args.format {
        Format::Text => print!("{}", explain::text(&probe)),
        Format::Json => println!("{}", explain::json(&probe)),
    }
    Ok(EXIT_OK)
}

/// The `Host` header: the name, with the port unless it is 443.
fn host_header(host: &str, port: u16) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    if port == 443 {
        host
    } else {
        format!("{host}:{port}")
    }
}

/// The client certificate chain and key of `--cert` / `--key`.
fn load_identity(
    cert: &Path,
    key: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<(ClientLabel, Arc<CertifiedKey>), CliError> {
    let chain = load::certificates(cert, "--cert")?;
    let private_key = load::private_key(key, "--key")?;
    let leaf = chain.first().cloned().ok_or_else(|| {
        CliError::Unsupported(format!("--cert {}: no certificate", cert.display()))
    })?;
    let identity = ClientIdentity::from_der(leaf).map_err(|error| {
        CliError::Unsupported(format!(
            "--cert {}: the first certificate cannot be parsed as an X.509 certificate ({error})",
            cert.display()
        ))
    })?;
    let label = ClientLabel {
        file: cert.file_name().map_or_else(
            || cert.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        ),
        subject: identity.subject_dn().to_owned(),
        chain_length: chain.len(),
    };
    let certified =
        CertifiedKey::from_der(chain, private_key, provider).map_err(|error| match error {
            rustls::Error::InconsistentKeys(_) => CliError::Usage(format!(
                "--key {} is not the key of --cert {} (the public keys differ)",
                key.display(),
                cert.display()
            )),
            other => CliError::Unsupported(format!(
                "--key {}: not a key this tool can sign with ({other})",
                key.display()
            )),
        })?;
    Ok((label, Arc::new(certified)))
}

/// The trust anchors of `--ca`, if given.
fn load_roots(paths: &[PathBuf]) -> Result<Option<Arc<RootCertStore>>, CliError> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    for path in paths {
        for certificate in load::certificates(path, "--ca")? {
            roots.add(certificate).map_err(|error| {
                CliError::Unsupported(format!(
                    "--ca {}: a certificate cannot be used as a trust anchor ({error})",
                    path.display()
                ))
            })?;
        }
    }
    Ok(Some(Arc::new(roots)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = parse_target("localhost:8443").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("localhost", 8443));
        let t = parse_target("[::1]:443").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("::1", 443));
        for bad in [
            "localhost",
            "::1:443",
            ":443",
            "host:0",
            "host:x",
            "[::1]443",
        ] {
            let error = parse_target(bad).expect_err(bad).to_string();
            assert!(error.contains("expected HOST:PORT"), "{error}");
        }
    }

    #[test]
    fn host_headers_and_paths() {
        assert_eq!(host_header("localhost", 443), "localhost");
        assert_eq!(host_header("::1", 8443), "[::1]:8443");
        assert!(parse_path("/a?b=c").is_ok());
        assert!(parse_path("a").is_err());
        assert!(parse_path("/a b").is_err());
        assert!(parse_path("/a\r\nX: y").is_err());
    }
}
