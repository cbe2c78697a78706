//! `mtls lint --ingress FILE --ca-file [NAMESPACE/NAME=]FILE [--crl-file
//! [NAMESPACE/NAME=]FILE]`: the lints of
//! `mtls lint --nginx` for Kubernetes Ingress manifests with ingress-nginx's
//! `nginx.ingress.kubernetes.io/auth-tls-*` annotations, each finding at the
//! line of the annotation to fix.
//!
//! The annotations map to the nginx directives ingress-nginx writes, with
//! its defaults and its way with bad values (it falls back silently):
//! `auth-tls-secret` → `ssl_client_certificate` (the Secret's `ca.crt`,
//! given here as a file; its `ca.crl` → `ssl_crl`), `auth-tls-verify-client` → `ssl_verify_client`
//! (default `on`), `auth-tls-verify-depth` → `ssl_verify_depth` (default 1;
//! 0 or a non-number also 1), `auth-tls-match-cn` → `if ($ssl_client_s_dn
//! !~ ...) { return 403; }`. Without `auth-tls-secret` every other
//! `auth-tls-*` annotation is ignored.

use std::path::{Path, PathBuf};

use mtls_status::VerifyMode;
use mtls_status::lint::{Lint, LintKind, LintSettings, Severity, lint_trust_config};
use rustls_pki_types::UnixTime;
use serde_json::{Value, json};

use crate::error::CliError;
use crate::load;
use crate::manifest::{self, Node};
use crate::nginx_lint::{LintFormat, Located, in_nginx_terms, rank, report, who_passes};

/// The annotations' common prefix.
const PREFIX: &str = "nginx.ingress.kubernetes.io/";
/// The annotations that mean nothing without `auth-tls-secret`.
const NEED_SECRET: [&str; 5] = [
    "auth-tls-verify-client",
    "auth-tls-verify-depth",
    "auth-tls-match-cn",
    "auth-tls-error-page",
    "auth-tls-pass-certificate-to-upstream",
];
/// Where ingress-nginx takes nginx configuration verbatim.
const SNIPPETS: [&str; 2] = ["configuration-snippet", "server-snippet"];

/// A `--ca-file` or `--crl-file` value: the `ca.crt` or `ca.crl` of one
/// Secret, or of every Secret.
#[derive(Clone, Debug)]
pub(crate) struct SecretFile {
    /// `NAMESPACE/NAME`, or `None` for every Secret.
    secret: Option<String>,
    path: PathBuf,
}

/// Parses `NAMESPACE/NAME=FILE` or `FILE`.
pub(crate) fn parse_secret_file(value: &str) -> Result<SecretFile, String> {
    if let Some((secret, path)) = value.split_once('=')
        && let Some((namespace, name)) = secret.split_once('/')
        && is_k8s_name(namespace)
        && is_k8s_name(name)
    {
        if path.is_empty() {
            return Err(format!("no file after {secret}="));
        }
        return Ok(SecretFile {
            secret: Some(secret.to_owned()),
            path: PathBuf::from(path),
        });
    }
    Ok(SecretFile {
        secret: None,
        path: PathBuf::from(value),
    })
}

/// A Kubernetes object name (DNS subdomain: lowercase letters, digits,
/// `-` and `.`, starting and ending with a letter or digit).
fn is_k8s_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// One annotation's value and line.
#[derive(Clone, Debug)]
struct Annotation {
    value: String,
    line: usize,
}

/// One Ingress of the manifest.
struct Ingress {
    document: usize,
    namespace: String,
    name: String,
    hosts: Vec<String>,
    /// The `auth-tls-*` and snippet annotations, without the prefix.
    annotations: Vec<(String, Annotation)>,
}

impl Ingress {
    fn annotation(&self, key: &str) -> Option<&Annotation> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, a)| a)
    }

    fn hosts_text(&self) -> String {
        if self.hosts.is_empty() {
            "every host".to_owned()
        } else {
            self.hosts.join(", ")
        }
    }
}

/// The Ingress objects of `documents` (also the items of a `kind: List`),
/// and how many other objects were skipped.
fn ingresses(documents: &[manifest::Document]) -> (Vec<Ingress>, usize) {
    let mut found = Vec::new();
    let mut skipped = 0;
    for document in documents {
        let Some(root) = &document.root else { continue };
        let objects: Vec<&Node> = match root.get("kind").and_then(Node::as_str) {
            Some("List") => root
                .get("items")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .collect(),
            _ => vec![root],
        };
        for object in objects {
            match ingress(document.index, object) {
                Some(ingress) => found.push(ingress),
                None => skipped += 1,
            }
        }
    }
    (found, skipped)
}

fn ingress(document: usize, object: &Node) -> Option<Ingress> {
    if object.get("kind").and_then(Node::as_str) != Some("Ingress") {
        return None;
    }
    let metadata = object.get("metadata");
    let text = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Node::as_str)
            .map(str::to_owned)
    };
    let mut annotations = Vec::new();
    if let Some(entries) = metadata.and_then(|m| m.get("annotations")) {
        for (key, value) in entries.entries() {
            let Some(short) = key.as_str().and_then(|k| k.strip_prefix(PREFIX)) else {
                continue;
            };
            if short.starts_with("auth-tls-") || SNIPPETS.contains(&short) {
                annotations.push((
                    short.to_owned(),
                    Annotation {
                        // A mapping or sequence is no string: Kubernetes
                        // refuses it, so it counts as an invalid value.
                        value: value.as_str().unwrap_or("").trim().to_owned(),
                        line: key.line,
                    },
                ));
            }
        }
    }
    let spec = object.get("spec");
    let mut hosts: Vec<String> = Vec::new();
    let rules = spec.and_then(|s| s.get("rules")).map(Node::items);
    let tls = spec.and_then(|s| s.get("tls")).map(Node::items);
    let names = rules
        .unwrap_or(&[])
        .iter()
        .filter_map(|rule| rule.get("host"))
        .chain(
            tls.unwrap_or(&[])
                .iter()
                .flat_map(|t| t.get("hosts").map(Node::items).unwrap_or(&[])),
        )
        .filter_map(Node::as_str);
    for host in names {
        if !hosts.iter().any(|h| h == host) {
            hosts.push(host.to_owned());
        }
    }
    Some(Ingress {
        document,
        namespace: text("namespace").unwrap_or_else(|| "default".to_owned()),
        name: text("name").unwrap_or_default(),
        hosts,
        annotations,
    })
}

/// Lints `path` with the CA files `ca_files` and prints the findings in
/// `format`; returns the exit code (1 if any finding is an error).
pub(crate) fn run(
    path: &Path,
    files: &SecretFiles<'_>,
    now: UnixTime,
    format: LintFormat,
) -> Result<u8, CliError> {
    let documents = manifest::load(path).map_err(CliError::Usage)?;
    let (ingresses, skipped) = ingresses(&documents);
    // (index of the Ingress, lint, line)
    let mut lints: Vec<(usize, Lint, usize)> = Vec::new();
    let mut protected = 0;
    let mut settings = Vec::new();
    for (index, ingress) in ingresses.iter().enumerate() {
        let protection = lint_ingress(ingress, files, now, &mut |lint, line| {
            lints.push((index, lint, line));
        });
        if !matches!(protection, Protection::None) {
            protected += 1;
        }
        settings.push(match protection {
            Protection::Configured(effective) => Some(effective),
            Protection::None | Protection::Denied => None,
        });
    }
    host_conflicts(&ingresses, &settings, &mut |index, lint, line| {
        lints.push((index, lint, line));
    });
    let mut findings = Vec::new();
    for (index, lint, line) in lints {
        let ingress = &ingresses[index];
        let id = format!("{}/{}", ingress.namespace, ingress.name);
        {
            findings.push(Located {
                lint,
                path: path.to_owned(),
                line,
                context: format!(
                    "ingress {id}, document {}, hosts {}",
                    ingress.document,
                    ingress.hosts_text()
                ),
                fields: vec![
                    ("ingress", Value::from(id.clone())),
                    ("document", Value::from(ingress.document)),
                    ("hosts", Value::from(ingress.hosts.clone())),
                ],
            });
        }
    }
    findings.sort_by_key(|f| (rank(f.lint.severity()), f.line));
    Ok(report(
        format,
        &findings,
        &format!(
            "{protected} Ingress(es) with client certificates of {}; {} document(s), {skipped} \
             other object(s) skipped",
            ingresses.len(),
            documents.len()
        ),
        json!({
            "ingresses": ingresses.len(),
            "protected": protected,
            "documents": documents.len(),
            "skipped": skipped,
            "files": [path.display().to_string()],
        }),
    ))
}

/// The client-certificate settings an Ingress gives its hosts' server.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Effective {
    secret: String,
    mode: VerifyMode,
    depth: usize,
    match_cn: Option<String>,
    /// The line of `auth-tls-secret`.
    line: usize,
}

impl Effective {
    fn same_as(&self, other: &Self) -> bool {
        (&self.secret, self.mode, self.depth, &self.match_cn)
            == (&other.secret, other.mode, other.depth, &other.match_cn)
    }
}

/// What one Ingress asks of client certificates.
enum Protection {
    /// No `auth-tls-secret`.
    None,
    /// An `auth-tls-secret` ingress-nginx refuses.
    Denied,
    /// The settings ingress-nginx applies.
    Configured(Effective),
}

/// Pushes the findings of one Ingress (lint, line); returns what it asks
/// for.
fn lint_ingress(
    ingress: &Ingress,
    files: &SecretFiles<'_>,
    now: UnixTime,
    push: &mut impl FnMut(Lint, usize),
) -> Protection {
    let verify = ingress.annotation("auth-tls-verify-client");
    let Some(secret) = ingress.annotation("auth-tls-secret") else {
        let off = verify.is_some_and(|v| v.value == "off");
        if let Some((key, at)) = NEED_SECRET
            .iter()
            .find_map(|key| ingress.annotation(key).map(|a| (key, a)))
            && !off
        {
            push(
                Lint::new(
                    LintKind::MissingCaBundle,
                    Severity::Error,
                    format!(
                        "{PREFIX}{key} without {PREFIX}auth-tls-secret: ingress-nginx ignores \
                         every auth-tls annotation of this Ingress, so no client certificate is \
                         requested and every client reaches {}; add `{PREFIX}auth-tls-secret: \
                         {}/SECRET` naming the Secret whose ca.crt holds the client CAs",
                        ingress.hosts_text(),
                        ingress.namespace
                    ),
                ),
                at.line,
            );
        }
        return Protection::None;
    };

    // auth-tls-secret: NAMESPACE/NAME (an empty namespace is the Ingress's).
    let Some((namespace, name)) = secret
        .value
        .split_once('/')
        .filter(|(_, name)| !name.contains('/'))
    else {
        push(
            Lint::new(
                LintKind::InvalidAnnotation,
                Severity::Error,
                format!(
                    "{PREFIX}auth-tls-secret \"{}\" is not NAMESPACE/NAME: ingress-nginx denies \
                     every request to this Ingress's paths; write `{}/{}`",
                    secret.value, ingress.namespace, secret.value
                ),
            ),
            secret.line,
        );
        return Protection::Denied;
    };
    let namespace = if namespace.is_empty() {
        ingress.namespace.as_str()
    } else {
        namespace
    };
    let id = format!("{namespace}/{name}");
    if namespace != ingress.namespace {
        push(
            Lint::new(
                LintKind::InvalidAnnotation,
                Severity::Warning,
                format!(
                    "{PREFIX}auth-tls-secret {id} is in another namespace than the Ingress \
                     ({}): ingress-nginx refuses cross-namespace Secrets (and then denies every \
                     request to this Ingress's paths) unless its ConfigMap sets \
                     allow-cross-namespace-resources: \"true\"; copy the Secret to namespace {}",
                    ingress.namespace, ingress.namespace
                ),
            ),
            secret.line,
        );
    }

    let (mode, mode_line) = match verify {
        None => (VerifyMode::On, secret.line),
        Some(at) => match at.value.as_str() {
            "on" | "off" | "optional" | "optional_no_ca" => (
                at.value.parse::<VerifyMode>().unwrap_or(VerifyMode::On),
                at.line,
            ),
            other => {
                push(
                    Lint::new(
                        LintKind::InvalidAnnotation,
                        Severity::Warning,
                        format!(
                            "{PREFIX}auth-tls-verify-client \"{other}\" is not on, off, \
                             optional or optional_no_ca: ingress-nginx ignores it and uses on; \
                             write one of those"
                        ),
                    ),
                    at.line,
                );
                (VerifyMode::On, at.line)
            }
        },
    };
    let depth_at = ingress.annotation("auth-tls-verify-depth");
    let depth = match depth_at {
        None => 1,
        Some(at) => match at.value.parse::<usize>() {
            Ok(depth) if depth > 0 => depth,
            _ => {
                push(
                    Lint::new(
                        LintKind::InvalidAnnotation,
                        Severity::Warning,
                        format!(
                            "{PREFIX}auth-tls-verify-depth \"{}\": ingress-nginx takes 0 or a \
                             value that is not a positive number as unset and uses depth 1 (one \
                             intermediate); write the number of intermediates clients need",
                            at.value
                        ),
                    ),
                    at.line,
                );
                1
            }
        },
    };
    if let Some(at) = ingress.annotation("auth-tls-pass-certificate-to-upstream")
        && !matches!(
            at.value.as_str(),
            "1" | "t"
                | "T"
                | "TRUE"
                | "true"
                | "True"
                | "0"
                | "f"
                | "F"
                | "FALSE"
                | "false"
                | "False"
        )
    {
        push(
            Lint::new(
                LintKind::InvalidAnnotation,
                Severity::Warning,
                format!(
                    "{PREFIX}auth-tls-pass-certificate-to-upstream \"{}\" is not a boolean: \
                     ingress-nginx uses false and the backend gets no ssl-client-cert header; \
                     write \"true\" or \"false\"",
                    at.value
                ),
            ),
            at.line,
        );
    }

    let reads = SNIPPETS.iter().any(|key| {
        ingress.annotation(key).is_some_and(|a| {
            a.value.contains("$ssl_client_verify") || a.value.contains("${ssl_client_verify}")
        })
    });
    let match_cn = ingress
        .annotation("auth-tls-match-cn")
        .map(|a| a.value.clone());
    let hosts = ingress.hosts_text();
    let verify_key = format!("{PREFIX}auth-tls-verify-client");
    match mode {
        VerifyMode::Off => push(
            Lint::new(
                LintKind::VerifyClientNotEnforced,
                Severity::Warning,
                format!(
                    "{verify_key} off with auth-tls-secret {id}: no client certificate is \
                     requested and every client reaches {hosts}; remove the annotation (ingress-nginx's \
                     default is on) or set it to \"on\""
                ),
            ),
            mode_line,
        ),
        VerifyMode::Optional | VerifyMode::OptionalNoCa if reads => push(
            Lint::new(
                LintKind::VerifyClientNotEnforced,
                Severity::Info,
                format!(
                    "{verify_key} {mode}: clients without a valid certificate pass the TLS layer; \
                     a snippet reads $ssl_client_verify, so make sure every location that needs a \
                     certificate checks it (or set \"on\")"
                ),
            ),
            mode_line,
        ),
        VerifyMode::OptionalNoCa if match_cn.is_some() => push(
            Lint::new(
                LintKind::SslClientVerifyUnchecked,
                Severity::Error,
                format!(
                    "{verify_key} optional_no_ca with auth-tls-match-cn: the CN is matched on \
                     certificates nginx did not verify, so a self-made certificate with that CN \
                     reaches {hosts}; set \"on\" (or \"optional\")"
                ),
            ),
            mode_line,
        ),
        VerifyMode::Optional if match_cn.is_some() => {}
        VerifyMode::Optional | VerifyMode::OptionalNoCa => {
            let who = who_passes(mode);
            push(
                Lint::new(
                    LintKind::SslClientVerifyUnchecked,
                    Severity::Warning,
                    format!(
                        "{verify_key} {mode} lets {who} reach {hosts}, and nothing in this \
                         Ingress checks $ssl_client_verify: ingress-nginx only passes it to the \
                         backend as the ssl-client-verify header; set \"on\", or make sure the \
                         backend refuses requests whose ssl-client-verify is not SUCCESS"
                    ),
                ),
                mode_line,
            );
        }
        _ => {}
    }

    let effective = Effective {
        secret: id,
        mode,
        depth,
        match_cn,
        line: secret.line,
    };
    lint_ca(&effective, depth_at, files, now, push);
    Protection::Configured(effective)
}

/// The `--ca-file` and `--crl-file` values.
pub(crate) struct SecretFiles<'a> {
    pub(crate) ca: &'a [SecretFile],
    pub(crate) crl: &'a [SecretFile],
}

/// The file of `files` for Secret `id`: its own, else the one for all.
fn file_for<'a>(files: &'a [SecretFile], id: &str) -> Option<&'a SecretFile> {
    files
        .iter()
        .find(|f| f.secret.as_deref() == Some(id))
        .or_else(|| files.iter().find(|f| f.secret.is_none()))
}

/// The trust-store lints on the CA (and CRL) file given for the Ingress's
/// Secret.
fn lint_ca(
    effective: &Effective,
    depth_at: Option<&Annotation>,
    files: &SecretFiles<'_>,
    now: UnixTime,
    push: &mut impl FnMut(Lint, usize),
) {
    let id = &effective.secret;
    let (namespace, name) = id.split_once('/').unwrap_or(("", id));
    let Some(ca) = file_for(files.ca, id) else {
        push(
            Lint::new(
                LintKind::MissingCaBundle,
                Severity::Error,
                format!(
                    "the CA of Secret {id} is not given, so it cannot be linted (and \
                     ingress-nginx denies every request to this Ingress's paths while the Secret \
                     is missing, and turns client certificates off when it has no ca.crt); pass `--ca-file {id}=ca.crt` with the Secret's \
                     ca.crt (`kubectl get secret -n {namespace} {name} -o \
                     jsonpath='{{.data.ca\\.crt}}' | base64 -d > ca.crt`)"
                ),
            ),
            effective.line,
        );
        return;
    };
    let regular = |file: &SecretFile, what: &str| {
        if std::fs::metadata(&file.path).is_ok_and(|meta| !meta.is_file()) {
            // A FIFO or device must not block CI.
            Err(CliError::Io(format!(
                "{what} {} is not a regular file",
                file.path.display()
            )))
        } else {
            Ok(())
        }
    };
    let what = format!("--ca-file for {id}");
    let certificates = regular(ca, &what).and_then(|()| load::certificates(&ca.path, &what));
    let crl_what = format!("--crl-file for {id}");
    let crls = match file_for(files.crl, id) {
        None => Ok(Vec::new()),
        Some(crl) => regular(crl, &crl_what).and_then(|()| load::crls(&crl.path, &crl_what)),
    };
    let (certificates, crls) = match (certificates, crls) {
        (Ok(certificates), Ok(crls)) => (certificates, crls),
        (Err(error), _) | (_, Err(error)) => {
            push(
                Lint::new(
                    LintKind::UnreadableFile,
                    Severity::Error,
                    format!(
                        "{error}; fix the file (in the cluster, a ca.crt or ca.crl that does \
                         not parse makes ingress-nginx deny every request to this Ingress's paths)"
                    ),
                ),
                effective.line,
            );
            return;
        }
    };
    let settings = LintSettings::new(now)
        .with_mode(effective.mode)
        .with_verify_depth(effective.depth);
    for lint in lint_trust_config(&certificates, &crls, &settings) {
        let line = match lint.kind() {
            // Said above, at the annotation, with the fix.
            LintKind::OptionalMode | LintKind::OffMode | LintKind::OptionalNoCaMode => continue,
            LintKind::DepthBelowBundleChain => depth_at.map_or(effective.line, |at| at.line),
            _ => effective.line,
        };
        let lint = in_nginx_terms(lint, &format!("{PREFIX}auth-tls-verify-depth"));
        push(lint, line);
    }
}

/// Ingresses that share a host share its nginx `server`, and ingress-nginx
/// configures client certificates there from one of them (the oldest
/// Ingress), ignoring the others' `auth-tls-*`: a later Ingress whose
/// settings differ is reported (an error when one side enforces
/// certificates and the other does not).
fn host_conflicts(
    ingresses: &[Ingress],
    settings: &[Option<Effective>],
    push: &mut impl FnMut(usize, Lint, usize),
) {
    for (later, ingress) in ingresses.iter().enumerate() {
        let Some(mine) = &settings[later] else {
            continue;
        };
        let conflict = ingress.hosts.iter().find_map(|host| {
            let first = (0..later)
                .find(|&i| settings[i].is_some() && ingresses[i].hosts.iter().any(|h| h == host))?;
            let theirs = settings[first].as_ref()?;
            (!mine.same_as(theirs)).then_some((host, first, theirs))
        });
        let Some((host, first, theirs)) = conflict else {
            continue;
        };
        let enforced = |e: &Effective| e.mode == VerifyMode::On;
        let severity = if enforced(mine) == enforced(theirs) {
            Severity::Warning
        } else {
            Severity::Error
        };
        let describe = |e: &Effective| {
            let mut text = format!(
                "secret {}, verify-client {}, verify-depth {}",
                e.secret, e.mode, e.depth
            );
            if let Some(cn) = &e.match_cn {
                text.push_str(&format!(", match-cn {cn}"));
            }
            text
        };
        let other = &ingresses[first];
        push(
            later,
            Lint::new(
                LintKind::HostSettingsConflict,
                severity,
                format!(
                    "host {host} is also served by Ingress {}/{} (document {}) with other \
                     client-certificate settings (there: {}; here: {}): ingress-nginx applies the \
                     oldest Ingress's auth-tls annotations to every path of the host and ignores \
                     the other's, so which one holds depends on creation order; give both the \
                     same auth-tls annotations",
                    other.namespace,
                    other.name,
                    other.document,
                    describe(theirs),
                    describe(mine)
                ),
            ),
            mine.line,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_forms() {
        let one = parse_secret_file("prod/client-ca=ca.crt").expect("mapped");
        assert_eq!(one.secret.as_deref(), Some("prod/client-ca"));
        assert_eq!(one.path, Path::new("ca.crt"));
        let any = parse_secret_file("./dir=x/ca.crt").expect("path");
        assert_eq!(
            (any.secret, any.path),
            (None, PathBuf::from("./dir=x/ca.crt"))
        );
        assert!(parse_secret_file("prod/ca=").is_err());
    }
}
