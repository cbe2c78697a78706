//! What the probe found, in plain words (text) or as one JSON object, and
//! the closing verdict.

use mtls_status::ClientIdentity;
use mtls_status::identity::rfc2253;
use rustls::SignatureScheme;
use serde_json::{Value, json};

use super::failure::Failure;
use super::http::{Recognised, Response};
use super::session::{Attempt, Settings};

/// The client certificate tried: where it came from and whose it is.
#[derive(Debug)]
pub(super) struct ClientLabel {
    /// The file name of `--cert`, e.g. `client-valid.pem`.
    pub(super) file: String,
    /// The leaf's subject (RFC 2253).
    pub(super) subject: String,
    /// How many certificates the file holds (leaf and intermediates).
    pub(super) chain_length: usize,
}

/// Everything the probe learnt.
#[derive(Debug)]
pub(super) struct Probe<'a> {
    pub(super) settings: &'a Settings,
    /// `--server-name` or HOST, as sent in SNI (`None`: an IP address, no
    /// SNI).
    pub(super) sni: Option<String>,
    /// The TLS versions offered, e.g. `["1.3", "1.2"]`.
    pub(super) versions: Vec<&'static str>,
    /// Whether the server is verified (`--ca` given).
    pub(super) verify_server: bool,
    /// The attempt without a client certificate.
    pub(super) without: Attempt,
    /// The attempt with `--cert`, if given.
    pub(super) with: Option<(ClientLabel, Attempt)>,
}

impl Probe<'_> {
    fn attempts(&self) -> impl Iterator<Item = &Attempt> {
        std::iter::once(&self.without).chain(self.with.as_ref().map(|(_, a)| a))
    }

    /// Whether the server sends a CertificateRequest (`None`: unknown, the
    /// handshakes failed too early).
    fn requested(&self) -> Option<bool> {
        let answers: Vec<Option<bool>> = self.attempts().map(Attempt::requested).collect();
        if answers.contains(&Some(true)) {
            Some(true)
        } else if answers.contains(&Some(false)) {
            Some(false)
        } else {
            None
        }
    }

    fn request(&self) -> Option<&super::tls::CertRequest> {
        self.attempts().find_map(|a| a.request.as_ref())
    }

    fn ca_names(&self) -> Vec<String> {
        self.request()
            .map(|r| r.ca_names.iter().map(|der| ca_name(der)).collect())
            .unwrap_or_default()
    }

    /// Whether the server's certificate verified, once it was received:
    /// `verified against --ca`, `does NOT verify against --ca: ...` or
    /// `was NOT verified (no --ca)`.
    fn server_verification(&self) -> Option<String> {
        self.attempts()
            .find_map(|a| a.server_certificate.as_ref())?;
        if !self.verify_server {
            return Some("was NOT verified (no --ca)".to_owned());
        }
        let error = self.attempts().find_map(|a| match &a.handshake {
            Err(Failure::ServerCertificate(error)) => Some(error),
            _ => None,
        });
        Some(match error {
            Some(error) => format!("does NOT verify against --ca: {error}"),
            None => "verifies against --ca".to_owned(),
        })
    }

    fn server_identity(&self) -> Option<ClientIdentity> {
        self.attempts()
            .find_map(|a| a.server_certificate.clone())
            .and_then(|der| ClientIdentity::from_der(der).ok())
    }
}

/// A CA name from a CertificateRequest in RFC 2253. The wire carries the
/// whole DER `Name` (RFC 8446 §4.2.4, RFC 5246 §7.4.4), which is what
/// rustls hands over; a server that sends only the inner RDNSequence is
/// decoded too.
pub(super) fn ca_name(der: &[u8]) -> String {
    rfc2253(der)
        .or_else(|_| rfc2253(&in_sequence(der)))
        .unwrap_or_else(|_| {
            let hex: String = der.iter().take(32).map(|b| format!("{b:02x}")).collect();
            format!("(undecodable name, {} bytes: {hex}...)", der.len())
        })
}

/// `content` wrapped in a DER SEQUENCE.
fn in_sequence(content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![0x30];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A signature scheme's rustls name, e.g. `ECDSA_NISTP256_SHA256`, or its
/// code point for the ones rustls does not know, e.g. `0x0809`.
fn scheme_name(scheme: SignatureScheme) -> String {
    scheme
        .as_str()
        .map_or_else(|| format!("0x{:04x}", u16::from(scheme)), str::to_owned)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `HTTP 496 (mtls-status: certificate_required)` and the like.
fn answer(response: &Response) -> String {
    match response.recognise() {
        Some(Recognised::Problem { reason, .. }) => {
            format!("HTTP {} (mtls-status: {reason})", response.status)
        }
        Some(Recognised::Nginx { code, text }) => format!(
            "HTTP {} with nginx's \"{text}\" page (nginx's {code})",
            response.status
        ),
        _ => format!("HTTP {}", response.status),
    }
}

/// What happens to a client without a certificate, after "The server ...".
fn without_phrase(attempt: &Attempt, requested: Option<bool>) -> String {
    let asked = requested == Some(true);
    match (&attempt.handshake, &attempt.http) {
        (Ok(_), Some(Ok(response))) if asked => format!(
            "lets clients without one complete the handshake and answers {}",
            answer(response)
        ),
        (Ok(_), Some(Ok(response))) => format!("answers {}", answer(response)),
        (Ok(negotiated), Some(Err(failure @ Failure::Alert(_)))) if asked => format!(
            "lets clients without one finish the {} handshake, then rejects them with {} on the \
             first read ({})",
            negotiated.protocol,
            failure.what(),
            failure.meaning(requested, false)
        ),
        (Ok(negotiated), Some(Err(failure))) => format!(
            "completes the {} handshake, but then {} ({})",
            negotiated.protocol,
            failure.what(),
            failure.meaning(requested, false)
        ),
        (Err(failure @ Failure::Alert(_)), _) if asked => format!(
            "rejects clients without one in the handshake ({}: {})",
            failure.what(),
            failure.meaning(requested, false)
        ),
        (Err(failure), _) => format!(
            "the handshake fails ({}: {})",
            failure.what(),
            failure.meaning(requested, false)
        ),
        (Ok(_), None) => "completes the handshake".to_owned(),
    }
}

/// What happens with the certificate, as a sentence.
fn with_sentence(label: &ClientLabel, attempt: &Attempt) -> String {
    let file = &label.file;
    let sent = attempt.sent_certificate;
    let mut sentence = match attempt.requested() {
        Some(false) => {
            format!("With {file}: the server did not ask for it, so it was not sent; the server ")
        }
        _ if attempt.client_aborted() => format!("With {file} the client ends the handshake: "),
        Some(true) if !sent => format!(
            "With {file}: it could not be sent (its key cannot sign with any signature scheme \
             the server accepts), and the server "
        ),
        _ => format!("With {file} the server "),
    };
    match (&attempt.handshake, &attempt.http) {
        (Ok(_), Some(Ok(response))) => {
            sentence.push_str(&format!("answers {}.", answer(response)));
        }
        (Ok(negotiated), Some(Err(failure))) => {
            sentence.push_str(&format!(
                "lets the {} handshake complete, then sends {} on the first read ({}).",
                negotiated.protocol,
                failure.what(),
                failure.meaning(attempt.requested(), sent)
            ));
        }
        (Err(failure), _) if attempt.client_aborted() => {
            sentence.push_str(&format!(
                "{} ({}).",
                failure.what(),
                failure.meaning(attempt.requested(), sent)
            ));
        }
        (Err(failure), _) => {
            sentence.push_str(&format!(
                "fails the handshake with {} ({}).",
                failure.what(),
                failure.meaning(attempt.requested(), sent)
            ));
        }
        (Ok(_), None) => sentence.push_str("completes the handshake."),
    }
    sentence
}

/// The closing paragraph.
pub(super) fn verdict(probe: &Probe<'_>) -> String {
    let requested = probe.requested();
    let n = probe.ca_names().len();
    let cas = if n == 0 {
        "advertising no CA names".to_owned()
    } else {
        format!("advertising {}", plural(n, "CA", "CAs"))
    };
    if let Err(Failure::ServerCertificate(error)) = &probe.without.handshake {
        let mut out = format!(
            "The probe stopped in the handshake: the server's certificate does NOT verify \
             against --ca ({error}). Check --ca and --server-name, or probe without --ca to \
             learn what the server does with client certificates."
        );
        if requested == Some(true) {
            out.push_str(&format!(
                " The server did ask for a client certificate ({cas})."
            ));
        }
        return out;
    }
    let mut out = match requested {
        Some(true) => format!(
            "The server asks for a client certificate ({cas}), {}.",
            without_phrase(&probe.without, requested)
        ),
        Some(false) => format!(
            "The server does not request a client certificate and {}.",
            without_phrase(&probe.without, requested)
        ),
        None => format!(
            "Whether the server asks for a client certificate is unknown: {}.",
            without_phrase(&probe.without, requested)
        ),
    };
    if let Some((label, attempt)) = &probe.with {
        out.push(' ');
        out.push_str(&with_sentence(label, attempt));
    }
    if let Some(verification) = probe.server_verification() {
        out.push_str(&format!(" The server's certificate {verification}."));
    }
    let alert_rejection = probe.attempts().any(|a| {
        matches!(a.handshake, Err(Failure::Alert(_)))
            || matches!(a.http, Some(Err(Failure::Alert(_))))
    });
    if alert_rejection {
        out.push_str(
            " A rejection inside TLS leaves clients only an alert code (with TLS 1.3 often only \
             on the first read, after a handshake that seemed to succeed); nginx and mtls-status \
             complete the handshake and answer 495/496 with the reason instead.",
        );
    }
    out
}

/// The full text report.
pub(super) fn text(probe: &Probe<'_>) -> String {
    let s = probe.settings;
    let mut out = String::new();
    let sni = match &probe.sni {
        Some(name) => format!("server name {name}"),
        None => "no SNI (an IP address)".to_owned(),
    };
    out.push_str(&format!(
        "Probing {} ({}), {sni}, offering TLS {}\n",
        s.target,
        s.addr,
        probe.versions.join(" and ")
    ));
    match (probe.server_identity(), probe.server_verification()) {
        (Some(id), Some(verification)) => out.push_str(&format!(
            "Server certificate: {} (issuer {}, valid until {}), which {verification}\n",
            id.subject_dn(),
            id.issuer_dn(),
            id.v_end()
        )),
        _ => out.push_str("Server certificate: not received\n"),
    }

    out.push('\n');
    match probe.requested() {
        Some(true) => {
            out.push_str("Client certificate: the server asks for one (CertificateRequest)\n");
            let names = probe.ca_names();
            if names.is_empty() {
                out.push_str("  advertised CA names: none (the client may send any certificate)\n");
            } else {
                out.push_str(&format!("  advertised CA names ({}):\n", names.len()));
                for name in &names {
                    out.push_str(&format!("    {name}\n"));
                }
            }
            if let Some(request) = probe.request() {
                let schemes: Vec<String> = request
                    .signature_schemes
                    .iter()
                    .map(|s| scheme_name(*s))
                    .collect();
                out.push_str(&format!("  signature schemes: {}\n", schemes.join(", ")));
            }
        }
        Some(false) => out.push_str(
            "Client certificate: the server does not request a client certificate (no \
             CertificateRequest)\n",
        ),
        None => out.push_str(
            "Client certificate: unknown whether the server asks for one (the handshake \
             failed before that)\n",
        ),
    }

    out.push_str("\nWithout a client certificate:\n");
    attempt_text(&mut out, &probe.without, s, None);
    if let Some((label, attempt)) = &probe.with {
        out.push_str(&format!(
            "\nWith {} ({}{}):\n",
            label.file,
            label.subject,
            if label.chain_length > 1 {
                format!(
                    ", and {}",
                    plural(label.chain_length - 1, "intermediate", "intermediates")
                )
            } else {
                String::new()
            }
        ));
        attempt_text(&mut out, attempt, s, Some(label));
    }
    out.push_str(&format!("\nVerdict: {}\n", verdict(probe)));
    out
}

fn attempt_text(out: &mut String, attempt: &Attempt, s: &Settings, label: Option<&ClientLabel>) {
    let sent = attempt.sent_certificate;
    if label.is_some() {
        let line = match (attempt.requested(), sent) {
            (Some(true), true) => "sent (the server asked for it)",
            (Some(true), false) if attempt.client_aborted() => {
                "not sent: the client stopped the handshake before it was its turn"
            }
            (Some(true), false) => {
                "NOT sent: its key cannot sign with any signature scheme the server accepts"
            }
            (Some(false), _) => "not sent: the server did not ask for one",
            (None, _) => "not sent: the handshake failed before the server asked",
        };
        out.push_str(&format!("  certificate: {line}\n"));
    }
    match &attempt.handshake {
        Ok(n) => out.push_str(&format!(
            "  handshake: completed ({}, {}, ALPN {})\n",
            n.protocol,
            n.cipher_suite,
            n.alpn.as_deref().unwrap_or("none")
        )),
        Err(failure) => {
            out.push_str(&format!(
                "  handshake: FAILED, {}: {}\n",
                failure.what(),
                failure.meaning(attempt.requested(), sent)
            ));
        }
    }
    match &attempt.http {
        None => {}
        Some(Ok(response)) => {
            out.push_str(&format!("  GET {}: {}\n", s.path, response.status_line));
            match response.recognise() {
                Some(Recognised::Problem { reason, detail, .. }) => {
                    out.push_str(&format!("  mtls-status problem+json: reason {reason}"));
                    if let Some(detail) = detail {
                        out.push_str(&format!(": {detail}"));
                    }
                    out.push('\n');
                }
                Some(Recognised::Nginx { code, text }) => out.push_str(&format!(
                    "  nginx's page for its code {code}, sent as {}: \"{text}\"\n",
                    response.status
                )),
                Some(Recognised::Echo { verify, subject }) => {
                    out.push_str(&format!("  mtls serve echo: ssl_client_verify={verify}"));
                    if !subject.is_empty() {
                        out.push_str(&format!(", ssl_client_s_dn={subject}"));
                    }
                    out.push('\n');
                }
                None => match response.status {
                    495 => out.push_str(
                        "  495 is nginx's \"SSL Certificate Error\": the certificate was rejected\n",
                    ),
                    496 => out.push_str(
                        "  496 is nginx's \"SSL Certificate Required\": no certificate was sent\n",
                    ),
                    _ => {}
                },
            }
            let excerpt = response.excerpt();
            let note = if response.truncated {
                " (cut at 64 KiB)"
            } else if !response.complete {
                " (incomplete)"
            } else {
                ""
            };
            if excerpt.is_empty() {
                out.push_str(&format!("  body: empty{note}\n"));
            } else {
                out.push_str(&format!("  body: {excerpt}{note}\n"));
            }
        }
        Some(Err(failure)) => {
            let protocol = attempt
                .handshake
                .as_ref()
                .map(|n| n.protocol.as_str())
                .unwrap_or_default();
            if failure.alert().is_some() {
                out.push_str(&format!(
                    "  GET {}: no response; {} arrived on the first read after the handshake: {}\n",
                    s.path,
                    failure.what(),
                    failure.meaning(attempt.requested(), sent)
                ));
                if protocol == "TLSv1.3" {
                    out.push_str(
                        "  (TLS 1.3: the client's side of the handshake ends before the server \
                         has checked the client's certificate, so the handshake \"succeeds\" and \
                         the rejection arrives as an alert on the first read.)\n",
                    );
                }
            } else {
                out.push_str(&format!(
                    "  GET {}: no response: {} ({})\n",
                    s.path,
                    failure.what(),
                    failure.meaning(attempt.requested(), sent)
                ));
            }
        }
    }
}

fn failure_json(failure: &Failure, attempt: &Attempt) -> Value {
    json!({
        "error": failure.kind(),
        "alert": failure.alert().map(super::failure::alert_name),
        "message": failure.what(),
        "meaning": failure.meaning(attempt.requested(), attempt.sent_certificate),
    })
}

fn attempt_json(attempt: &Attempt, label: Option<&ClientLabel>) -> Value {
    let sent = attempt.sent_certificate;
    let handshake = match &attempt.handshake {
        Ok(n) => json!({
            "ok": true,
            "protocol": n.protocol,
            "cipher_suite": n.cipher_suite,
            "alpn": n.alpn,
        }),
        Err(failure) => {
            let mut value = failure_json(failure, attempt);
            value["ok"] = Value::Bool(false);
            value
        }
    };
    let http = match &attempt.http {
        Some(Ok(response)) => {
            let recognised = response.recognise();
            json!({
                "status": response.status,
                "status_line": response.status_line,
                "content_type": response.content_type,
                "reason": match &recognised {
                    Some(Recognised::Problem { reason, .. }) => Some(reason.as_str()),
                    _ => None,
                },
                "recognised": recognised.as_ref().map(|r| match r {
                    Recognised::Problem { reason, title, detail } => json!({
                        "kind": "mtls-status", "reason": reason, "title": title, "detail": detail,
                    }),
                    Recognised::Nginx { code, text } => json!({
                        "kind": "nginx", "code": code, "page": text,
                    }),
                    Recognised::Echo { verify, subject } => json!({
                        "kind": "mtls-serve", "ssl_client_verify": verify, "ssl_client_s_dn": subject,
                    }),
                }),
                "body_excerpt": response.excerpt(),
                "complete": response.complete,
                "truncated": response.truncated,
            })
        }
        _ => Value::Null,
    };
    let late_failure = match &attempt.http {
        Some(Err(failure)) => failure_json(failure, attempt),
        _ => Value::Null,
    };
    json!({
        "certificate": label.map(|l| json!({
            "file": l.file, "subject": l.subject, "chain_length": l.chain_length,
        })),
        "certificate_requested": attempt.requested(),
        "certificate_sent": sent,
        "handshake": handshake,
        "http": http,
        "http_error": late_failure,
        "late_alert": match &attempt.http {
            Some(Err(failure)) => failure.alert().map(super::failure::alert_name),
            _ => None,
        },
    })
}

/// The same facts as one JSON object.
pub(super) fn json(probe: &Probe<'_>) -> String {
    let s = probe.settings;
    let server = probe.server_identity().map(|id| {
        json!({
            "subject": id.subject_dn(),
            "issuer": id.issuer_dn(),
            "not_after": id.v_end(),
            "dns_names": id.dns_names(),
            "ip_addresses": id.ip_addresses().iter().map(ToString::to_string).collect::<Vec<_>>(),
        })
    });
    let value = json!({
        "target": s.target,
        "address": s.addr.to_string(),
        "server_name": probe.sni,
        "tls_versions": probe.versions,
        "path": s.path,
        "server_verified": probe.verify_server,
        "server_certificate": server,
        "certificate_requested": probe.requested(),
        "ca_names": probe.ca_names(),
        "signature_schemes": probe.request().map(|r| r
            .signature_schemes
            .iter()
            .map(|s| scheme_name(*s))
            .collect::<Vec<_>>()),
        "without_certificate": attempt_json(&probe.without, None),
        "with_certificate": probe.with.as_ref().map(|(label, a)| attempt_json(a, Some(label))),
        "verdict": verdict(probe),
    });
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CN=Test CA`: the full DER Name and its inner RDNSequence.
    const NAME: [u8; 20] = [
        0x30, 0x12, 0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x07, b'T', b'e',
        b's', b't', b' ', b'C', b'A',
    ];

    #[test]
    fn ca_names_decode_with_or_without_the_outer_sequence() {
        assert_eq!(ca_name(&NAME), "CN=Test CA");
        assert_eq!(ca_name(&NAME[2..]), "CN=Test CA");
        assert!(ca_name(&[0x04, 0x01, 0x00]).starts_with("(undecodable name, 3 bytes: 040100"));
    }

    #[test]
    fn long_sequences_get_a_long_form_length() {
        let content = vec![0u8; 300];
        let wrapped = in_sequence(&content);
        assert_eq!(&wrapped[..4], &[0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(wrapped.len(), 304);
    }
}
