//! `mtls lint --nginx FILE`: the trust-store lints and nginx-level rules
//! for every `server` block that uses client certificates, each finding at
//! the file and line of the directive to fix.
//!
//! `ssl_*` directives are inherited from `http` into `server` unless the
//! server sets its own, as nginx merges them. Files are resolved against the
//! configuration prefix (the main file's directory, as `nginx -c FILE`).

use std::path::{Path, PathBuf};

use mtls_status::VerifyMode;
use mtls_status::lint::{Lint, LintKind, LintSettings, Severity, lint_trust_config};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use serde_json::{Value, json};

use crate::error::{CliError, EXIT_ERROR, EXIT_OK};
use crate::load;
use crate::nginx::{Config, Directive, walk};

/// How `mtls lint` prints its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LintFormat {
    /// One line per finding and a summary line.
    Text,
    /// One JSON object: `findings` and `summary`.
    Json,
    /// SARIF 2.1.0, for CI code-scanning annotations.
    Sarif,
}

/// One directive's value and place.
#[derive(Clone, Debug)]
struct Setting {
    value: String,
    file: usize,
    line: usize,
}

/// The client-certificate directives in force in one block.
#[derive(Clone, Debug, Default)]
struct SslSettings {
    verify_client: Option<Setting>,
    client_certificate: Option<Setting>,
    trusted_certificate: Option<Setting>,
    crl: Option<Setting>,
    verify_depth: Option<Setting>,
    ocsp: Option<Setting>,
}

impl SslSettings {
    /// The directives set directly in `block` (not in nested blocks).
    fn of(block: &[Directive]) -> Self {
        let mut settings = Self::default();
        for directive in block {
            let slot = match directive.name.as_str() {
                "ssl_verify_client" => &mut settings.verify_client,
                "ssl_client_certificate" => &mut settings.client_certificate,
                "ssl_trusted_certificate" => &mut settings.trusted_certificate,
                "ssl_crl" => &mut settings.crl,
                "ssl_verify_depth" => &mut settings.verify_depth,
                "ssl_ocsp" => &mut settings.ocsp,
                _ => continue,
            };
            if let [value] = directive.args.as_slice() {
                *slot = Some(Setting {
                    value: value.clone(),
                    file: directive.file,
                    line: directive.line,
                });
            }
        }
        settings
    }

    /// These settings, each unset one taken from `outer` (nginx's merge).
    fn inherit(self, outer: &Self) -> Self {
        Self {
            verify_client: self.verify_client.or_else(|| outer.verify_client.clone()),
            client_certificate: self
                .client_certificate
                .or_else(|| outer.client_certificate.clone()),
            trusted_certificate: self
                .trusted_certificate
                .or_else(|| outer.trusted_certificate.clone()),
            crl: self.crl.or_else(|| outer.crl.clone()),
            verify_depth: self.verify_depth.or_else(|| outer.verify_depth.clone()),
            ocsp: self.ocsp.or_else(|| outer.ocsp.clone()),
        }
    }
}

/// A lint at a place in the configuration, for one server.
#[derive(Debug)]
struct Finding {
    lint: Lint,
    file: usize,
    line: usize,
    server: String,
}

/// Directives whose use of a variable checks nothing: logging it, or
/// echoing it to the client.
const NOT_A_CHECK: [&str; 2] = ["log_format", "add_header"];

/// Whether any directive of `directives` (and their blocks) reads
/// `$ssl_client_verify` in a way that can act on it (`if`, `map`, a header
/// to the upstream...), not only log or echo it.
fn reads_client_verify<'a>(directives: impl IntoIterator<Item = &'a Directive>) -> bool {
    directives.into_iter().any(|directive| {
        std::iter::once(directive)
            .chain(directive.block.iter().flat_map(|block| walk(block)))
            .filter(|d| !NOT_A_CHECK.contains(&d.name.as_str()))
            .any(|d| {
                d.args.iter().any(|arg| {
                    arg.contains("$ssl_client_verify") || arg.contains("${ssl_client_verify}")
                })
            })
    })
}

fn invalid(config: &Config, setting: &Setting, what: &str) -> CliError {
    CliError::Usage(format!(
        "{}:{}: invalid value \"{}\" in \"{what}\"",
        config.files[setting.file].display(),
        setting.line,
        setting.value
    ))
}

/// One TLS `server` block with the client-certificate settings in force.
struct TlsServer<'a> {
    server: &'a Directive,
    block: &'a [Directive],
    /// Whether ssl_client_certificate comes from `http`.
    inherited_bundle: bool,
    ssl: SslSettings,
    mode: VerifyMode,
    depth: usize,
    /// Whether the server (or `http` outside servers) reads
    /// `$ssl_client_verify`.
    reads: bool,
}

/// Every TLS server of `config`'s `http` blocks, in file order.
fn tls_servers(config: &Config) -> Result<Vec<TlsServer<'_>>, CliError> {
    let mut servers = Vec::new();
    for http in config.directives.iter().filter(|d| d.name == "http") {
        let Some(block) = &http.block else { continue };
        let outer = SslSettings::of(block);
        let http_reads = reads_client_verify(block.iter().filter(|d| d.name != "server"));
        for server in block.iter().filter(|d| d.name == "server") {
            let Some(server_block) = &server.block else {
                continue;
            };
            if !is_tls(block, server_block) {
                continue;
            }
            let own = SslSettings::of(server_block);
            let inherited_bundle = own.client_certificate.is_none();
            let ssl = own.inherit(&outer);
            let mode = match &ssl.verify_client {
                Some(setting) => setting
                    .value
                    .parse::<VerifyMode>()
                    .map_err(|_| invalid(config, setting, "ssl_verify_client"))?,
                None => VerifyMode::Off,
            };
            let depth = match &ssl.verify_depth {
                Some(setting) => setting
                    .value
                    .parse::<usize>()
                    .map_err(|_| invalid(config, setting, "ssl_verify_depth"))?,
                None => 1,
            };
            servers.push(TlsServer {
                server,
                block: server_block,
                inherited_bundle,
                ssl,
                mode,
                depth,
                reads: http_reads || reads_client_verify(server_block),
            });
        }
    }
    Ok(servers)
}

/// The servers of `config` with client certificates and their findings.
fn lint_config(config: &Config, now: UnixTime) -> Result<(usize, Vec<Finding>), CliError> {
    let mut findings = Vec::new();
    let mut servers = 0;
    for tls in tls_servers(config)? {
        let TlsServer {
            server, ssl, mode, ..
        } = &tls;
        if *mode == VerifyMode::Off && ssl.client_certificate.is_none() {
            continue;
        }
        servers += 1;
        let label = server_label(config, server, tls.block);
        let mut push = |lint: Lint, at: &Setting| {
            findings.push(Finding {
                lint,
                file: at.file,
                line: at.line,
                server: label.clone(),
            });
        };
        // A rule about this server whose directive it inherits is reported
        // at the server block, where the fix goes.
        let server_at = Setting {
            value: String::new(),
            file: server.file,
            line: server.line,
        };
        let off_at = if tls.inherited_bundle {
            Some(&server_at)
        } else {
            ssl.client_certificate.as_ref()
        };
        rules(ssl, *mode, tls.reads, off_at, &mut push);
        trust_lints(config, ssl, *mode, tls.depth, now, &mut push);
    }
    // Servers sharing http-level files share their findings: report once.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.file, f.line, f.lint.clone())));
    findings.sort_by_key(|f| (rank(f.lint.severity()), f.file, f.line));
    Ok((servers, findings))
}

/// Whether the server terminates TLS (`listen ... ssl` or `quic`, or the
/// old `ssl on;` here or in `http`): nginx applies the `ssl_*` directives,
/// inherited ones included, only there.
fn is_tls(http: &[Directive], server: &[Directive]) -> bool {
    let ssl_on = |block: &[Directive]| {
        block
            .iter()
            .any(|d| d.name == "ssl" && d.args.first().is_some_and(|a| a == "on"))
    };
    server
        .iter()
        .any(|d| d.name == "listen" && d.args.iter().skip(1).any(|a| a == "ssl" || a == "quic"))
        || ssl_on(server)
        || ssl_on(http)
}

pub(crate) fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        _ => 2,
    }
}

/// `localhost (listen 127.0.0.1:443 ssl) at nginx.conf:12`.
fn server_label(config: &Config, server: &Directive, block: &[Directive]) -> String {
    let first = |name: &str| {
        block
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.args.join(" "))
    };
    let mut label = first("server_name").unwrap_or_else(|| "\"\"".to_owned());
    if let Some(listen) = first("listen") {
        label.push_str(&format!(" (listen {listen})"));
    }
    format!(
        "{label} at {}:{}",
        config.files[server.file].display(),
        server.line
    )
}

/// The rules about the directives themselves.
fn rules(
    ssl: &SslSettings,
    mode: VerifyMode,
    reads: bool,
    off_at: Option<&Setting>,
    push: &mut impl FnMut(Lint, &Setting),
) {
    if mode == VerifyMode::OptionalNoCa
        && let Some(ocsp) = &ssl.ocsp
        && ocsp.value != "off"
    {
        push(
            Lint::new(
                LintKind::OcspWithOptionalNoCa,
                Severity::Error,
                format!(
                    "ssl_ocsp {} with ssl_verify_client optional_no_ca: nginx refuses the \
                     configuration (\"ssl_ocsp\" is incompatible with \"ssl_verify_client \
                     optional_no_ca\"); use `ssl_verify_client on;` or `optional;` to check OCSP, \
                     or `ssl_ocsp off;`",
                    ocsp.value
                ),
            ),
            ocsp,
        );
    }
    let mode_at = ssl.verify_client.as_ref().or(off_at);
    let Some(mode_at) = mode_at else { return };
    match mode {
        VerifyMode::On | VerifyMode::Optional if ssl.client_certificate.is_none() => {
            let (severity, message) = if ssl.trusted_certificate.is_some() {
                (
                    Severity::Warning,
                    format!(
                        "ssl_verify_client {mode} with only ssl_trusted_certificate: nginx \
                         1.27.2+ accepts it and names no accepted CA to clients, older nginx \
                         refuses the configuration (\"no ssl_client_certificate for \
                         ssl_verify_client\"); add `ssl_client_certificate ca-bundle.pem;` with \
                         the CAs that issue client certificates"
                    ),
                )
            } else {
                (
                    Severity::Error,
                    format!(
                        "ssl_verify_client {mode} without ssl_client_certificate: nginx refuses \
                         the configuration (\"no ssl_client_certificate for ssl_verify_client\"); \
                         add `ssl_client_certificate ca-bundle.pem;` with the CAs that issue \
                         client certificates, or use optional_no_ca if any certificate will do"
                    ),
                )
            };
            push(
                Lint::new(LintKind::MissingCaBundle, severity, message),
                mode_at,
            );
        }
        VerifyMode::Off => push(
            Lint::new(
                LintKind::VerifyClientNotEnforced,
                Severity::Warning,
                "ssl_client_certificate is set but ssl_verify_client is off (the default): no \
                 client certificate is requested and every client passes; add \
                 `ssl_verify_client on;` to this server",
            ),
            mode_at,
        ),
        VerifyMode::Optional | VerifyMode::OptionalNoCa if !reads => {
            let who = who_passes(mode);
            push(
                Lint::new(
                    LintKind::SslClientVerifyUnchecked,
                    Severity::Error,
                    format!(
                        "ssl_verify_client {mode} lets {who} reach the application, and nothing \
                         in this server reads $ssl_client_verify; set `ssl_verify_client on;`, or \
                         check it where a certificate is needed: `if ($ssl_client_verify != \
                         SUCCESS) {{ return 403; }}`"
                    ),
                ),
                mode_at,
            );
        }
        VerifyMode::Optional | VerifyMode::OptionalNoCa if ssl.client_certificate.is_some() => {
            push(
                Lint::new(
                    LintKind::VerifyClientNotEnforced,
                    Severity::Info,
                    format!(
                        "ssl_verify_client {mode}: clients without a valid certificate pass the \
                         TLS layer; $ssl_client_verify is read in this server, so make sure every \
                         location that needs a certificate checks it (or set \
                         `ssl_verify_client on;`)"
                    ),
                ),
                mode_at,
            );
        }
        _ => {}
    }
}

/// Who gets through with `optional` or `optional_no_ca`, for messages.
pub(crate) fn who_passes(mode: VerifyMode) -> &'static str {
    if mode == VerifyMode::Optional {
        "clients without a certificate"
    } else {
        "clients without a certificate, and with certificates from unknown CAs,"
    }
}

/// The trust-store lints on the files the server names, each at the
/// directive that names the file to fix.
fn trust_lints(
    config: &Config,
    ssl: &SslSettings,
    mode: VerifyMode,
    depth: usize,
    now: UnixTime,
    push: &mut impl FnMut(Lint, &Setting),
) {
    let bundle_at = ssl
        .client_certificate
        .as_ref()
        .or(ssl.trusted_certificate.as_ref());
    let Some(bundle_at) = bundle_at else { return };
    let mut certificates: Vec<CertificateDer<'static>> = Vec::new();
    let mut crls: Vec<CertificateRevocationListDer<'static>> = Vec::new();
    let mut readable = true;
    for (setting, directive) in [
        (&ssl.client_certificate, "ssl_client_certificate"),
        (&ssl.trusted_certificate, "ssl_trusted_certificate"),
        (&ssl.crl, "ssl_crl"),
    ] {
        let Some(setting) = setting else { continue };
        let path = config.resolve(&setting.value);
        let loaded = if std::fs::metadata(&path).is_ok_and(|meta| !meta.is_file()) {
            // A FIFO or device named in a configuration must not block CI.
            Err(CliError::Io(format!(
                "{directive} {} is not a regular file",
                path.display()
            )))
        } else if directive == "ssl_crl" {
            load::crls(&path, directive).map(|found| crls.extend(found))
        } else {
            load::certificates(&path, directive).map(|found| certificates.extend(found))
        };
        if let Err(error) = loaded {
            readable = false;
            push(
                Lint::new(
                    LintKind::UnreadableFile,
                    Severity::Error,
                    format!("{error}; nginx refuses the configuration: fix the path or the file"),
                ),
                setting,
            );
        }
    }
    if !readable {
        return;
    }
    let settings = LintSettings::new(now)
        .with_mode(mode)
        .with_verify_depth(depth);
    for lint in lint_trust_config(&certificates, &crls, &settings) {
        let at = match lint.kind() {
            // The mode rules above say it at the directive, with the fix.
            LintKind::OptionalMode | LintKind::OffMode | LintKind::OptionalNoCaMode => continue,
            LintKind::CrlExpired
            | LintKind::CrlNotYetValid
            | LintKind::CrlMissingForCa
            | LintKind::CrlIssuerUnknown
            | LintKind::UnparseableCrl => ssl.crl.as_ref().unwrap_or(bundle_at),
            LintKind::DepthBelowBundleChain => ssl.verify_depth.as_ref().unwrap_or(bundle_at),
            _ => bundle_at,
        };
        push(in_nginx_terms(lint, "ssl_verify_depth"), at);
    }
}

/// A trust-store lint reworded for nginx where nginx differs from
/// `mtls serve`: a chain over the depth limit is reported by nginx as
/// "unable to get local issuer certificate" (OpenSSL 20), and the fix is
/// `depth_setting` (a directive, or ingress-nginx's annotation).
pub(crate) fn in_nginx_terms(lint: Lint, depth_setting: &str) -> Lint {
    if lint.kind() != LintKind::DepthBelowBundleChain {
        return lint;
    }
    let message = lint
        .message()
        .replace(
            "rejected with \"certificate chain too long\"",
            "rejected by nginx with \"unable to get local issuer certificate\" (OpenSSL 20, \
             its answer to a chain over the depth limit)",
        )
        .replace(
            "set the verify depth to at least ",
            &format!("set {depth_setting} to at least "),
        );
    let reworded = Lint::new(lint.kind(), lint.severity(), message);
    match lint.subject() {
        Some(subject) => reworded.with_subject(subject),
        None => reworded,
    }
}

/// Lints `path` and prints the findings in `format`; returns the exit code
/// (1 if any finding is an error).
pub(crate) fn run(path: &Path, now: UnixTime, format: LintFormat) -> Result<u8, CliError> {
    let config = Config::load(path).map_err(|error| CliError::Usage(error.to_string()))?;
    let (servers, findings) = lint_config(&config, now)?;
    let located: Vec<Located> = findings
        .into_iter()
        .map(|f| Located {
            path: config.files[f.file].clone(),
            line: f.line,
            context: format!("server {}", f.server),
            fields: vec![("server", Value::from(f.server))],
            lint: f.lint,
        })
        .collect();
    let files: Vec<String> = config
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    Ok(report(
        format,
        &located,
        &format!(
            "{servers} server(s) with client certificates; {} file(s) read",
            files.len()
        ),
        json!({ "servers": servers, "files": files }),
    ))
}

/// A lint at a line of an input file, for `mtls lint --nginx` and
/// `--ingress`.
#[derive(Debug)]
pub(crate) struct Located {
    pub(crate) lint: Lint,
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    /// What the finding is about, printed in brackets: `server NAME ...`,
    /// `ingress NS/NAME ...`.
    pub(crate) context: String,
    /// The same as JSON fields of the finding.
    pub(crate) fields: Vec<(&'static str, Value)>,
}

/// Prints `findings` in `format` with a summary (`summary` in text, the
/// fields of `summary_json` added to the counts in JSON); returns the exit
/// code: 1 if any finding is an error.
pub(crate) fn report(
    format: LintFormat,
    findings: &[Located],
    summary: &str,
    summary_json: Value,
) -> u8 {
    let count = |severity: Severity| {
        findings
            .iter()
            .filter(|f| f.lint.severity() == severity)
            .count()
    };
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    match format {
        LintFormat::Text => {
            for finding in findings {
                println!(
                    "{}:{}: {} [{}]",
                    finding.path.display(),
                    finding.line,
                    finding.lint,
                    finding.context
                );
            }
            println!(
                "{}: {errors} error(s), {warnings} warning(s), {infos} info ({summary})",
                if errors > 0 { "failed" } else { "ok" },
            );
        }
        LintFormat::Json => {
            let findings: Vec<Value> = findings
                .iter()
                .map(|f| {
                    let mut object = json!({
                        "file": f.path.display().to_string(),
                        "line": f.line,
                        "severity": f.lint.severity().name(),
                        "kind": f.lint.kind().name(),
                        "subject": f.lint.subject(),
                        "message": f.lint.message(),
                    });
                    for (key, value) in &f.fields {
                        object[*key] = value.clone();
                    }
                    object
                })
                .collect();
            let mut counts = json!({ "errors": errors, "warnings": warnings, "info": infos });
            if let Value::Object(extra) = summary_json {
                for (key, value) in extra {
                    counts[key] = value;
                }
            }
            println!("{}", json!({ "findings": findings, "summary": counts }));
        }
        LintFormat::Sarif => println!("{}", sarif(findings)),
    }
    if errors > 0 { EXIT_ERROR } else { EXIT_OK }
}

/// SARIF 2.1.0 with one rule per lint kind met and one result per finding.
fn sarif(findings: &[Located]) -> Value {
    let mut kinds: Vec<LintKind> = findings.iter().map(|f| f.lint.kind()).collect();
    kinds.sort_by_key(|k| k.name());
    kinds.dedup();
    let rules: Vec<Value> = kinds
        .iter()
        .map(|kind| json!({ "id": kind.name(), "name": kind.name() }))
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let level = match f.lint.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
                _ => "note",
            };
            let mut text = String::new();
            if let Some(subject) = f.lint.subject() {
                text.push_str(subject);
                text.push_str(": ");
            }
            text.push_str(f.lint.message());
            json!({
                "ruleId": f.lint.kind().name(),
                "level": level,
                "message": { "text": format!("{text} [{}]", f.context) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.path) },
                        "region": { "startLine": f.line },
                    }
                }],
            })
        })
        .collect();
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": { "driver": {
                "name": "mtls",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// A path as a SARIF artifact URI: relative paths stay relative (to the
/// directory CI runs in, as code-scanning uploads expect), absolute ones
/// become `file://` URIs.
fn uri(path: &Path) -> String {
    let text = path.display().to_string().replace('\\', "/");
    if path.is_absolute() {
        format!("file://{text}")
    } else {
        text
    }
}

/// What `mtls check --nginx` needs of one server: its mode, depth and files.
#[derive(Debug)]
pub(crate) struct NginxServer {
    /// `NAME (listen ...) at FILE:LINE`.
    pub(crate) label: String,
    pub(crate) mode: VerifyMode,
    pub(crate) depth: usize,
    pub(crate) client_certificate: Option<PathBuf>,
    pub(crate) trusted_certificate: Option<PathBuf>,
    pub(crate) crl: Option<PathBuf>,
}

/// The server of `path` that a client reaching port `listen` with SNI
/// `server_name` gets, as nginx picks it: among the TLS servers listening
/// on that port (all when no port is given), the first whose server_name
/// matches exactly, then by wildcard (`*.example.org`, `www.example.*`),
/// else the port's `default_server`, else its first server. Without
/// --listen and --server-name there must be exactly one TLS server.
pub(crate) fn select_server(
    path: &Path,
    server_name: Option<&str>,
    listen: Option<&str>,
) -> Result<NginxServer, CliError> {
    let config = Config::load(path).map_err(|error| CliError::Usage(error.to_string()))?;
    let servers = tls_servers(&config)?;
    let on_port: Vec<&TlsServer<'_>> = servers
        .iter()
        .filter(|tls| {
            listen.is_none_or(|port| {
                listens(tls).any(|d| {
                    d.args.first().is_some_and(|address| {
                        address == port || address.rsplit_once(':').is_some_and(|(_, p)| p == port)
                    })
                })
            })
        })
        .collect();
    let names = |tls: &TlsServer<'_>| -> Vec<String> {
        tls.block
            .iter()
            .filter(|d| d.name == "server_name")
            .flat_map(|d| d.args.iter().map(|name| name.to_ascii_lowercase()))
            .collect()
    };
    let chosen = match server_name.map(str::to_ascii_lowercase) {
        Some(wanted) => on_port
            .iter()
            .find(|tls| names(tls).contains(&wanted))
            .or_else(|| {
                on_port.iter().find(|tls| {
                    names(tls).iter().any(|name| {
                        name.strip_prefix('*').is_some_and(|suffix| {
                            suffix.starts_with('.') && wanted.ends_with(suffix)
                        }) || name.strip_suffix('*').is_some_and(|prefix| {
                            prefix.ends_with('.') && wanted.starts_with(prefix)
                        })
                    })
                })
            })
            .or_else(|| default_server(&on_port))
            .copied(),
        None if listen.is_some() => default_server(&on_port).copied(),
        None if on_port.len() == 1 => on_port.first().copied(),
        None => None,
    };
    let Some(tls) = chosen else {
        let list: Vec<String> = on_port
            .iter()
            .map(|tls| server_label(&config, tls.server, tls.block))
            .collect();
        return Err(CliError::Usage(if list.is_empty() {
            format!("{}: no TLS server (listen ... ssl) matches", path.display())
        } else {
            format!(
                "{}: {} TLS servers; pick one with --server-name NAME and/or --listen PORT: {}",
                path.display(),
                list.len(),
                list.join("; ")
            )
        }));
    };
    let file = |setting: &Option<Setting>| setting.as_ref().map(|s| config.resolve(&s.value));
    Ok(NginxServer {
        label: server_label(&config, tls.server, tls.block),
        mode: tls.mode,
        depth: tls.depth,
        client_certificate: file(&tls.ssl.client_certificate),
        trusted_certificate: file(&tls.ssl.trusted_certificate),
        crl: file(&tls.ssl.crl),
    })
}

/// The `listen` directives of a server.
fn listens<'a>(tls: &TlsServer<'a>) -> impl Iterator<Item = &'a Directive> {
    tls.block.iter().filter(|d| d.name == "listen")
}

/// The server marked `default_server` (or the older `default`), else the
/// first.
fn default_server<'s>(servers: &'s [&'s TlsServer<'s>]) -> Option<&'s &'s TlsServer<'s>> {
    servers
        .iter()
        .find(|tls| {
            listens(tls).any(|d| {
                d.args
                    .iter()
                    .any(|a| a == "default_server" || a == "default")
            })
        })
        .or_else(|| servers.first())
}
