//! The one-line verdict of `mtls check`, as text or JSON: the outcome of
//! the chain and what a server in the `--verify-client` mode answers to it,
//! decided by the one judgement of the library
//! ([`ClientAuthPolicy::judge`]).

use mtls_status::{ClientAuthOutcome, ClientAuthPolicy, Judgement, VerifyMode};
use rustls_pki_types::UnixTime;
use serde_json::{Value, json};

use crate::at;
use crate::expect_name::ExpectedName;

/// The reason name of a verified chain (OpenSSL's verify result 0, "ok").
const OK: &str = "ok";
/// The reason name of a missing certificate, as in the 496 problem+json.
const CERTIFICATE_REQUIRED: &str = "certificate_required";

/// What a server in `mode` does with `outcome`.
fn judge(outcome: &ClientAuthOutcome, mode: VerifyMode) -> Judgement {
    ClientAuthPolicy::new(mode).judge(outcome)
}

/// The status a server in `mode` answers: 200 when the request reaches the
/// handler, else 495 / 496.
fn status(judgement: &Judgement) -> u16 {
    judgement.status().map_or(200, |status| status.as_u16())
}

/// `$ssl_client_verify` as the handler of a server in `mode` sees it:
/// `NONE` under `off`, which requests no certificate.
fn ssl_client_verify(outcome: &ClientAuthOutcome, mode: VerifyMode) -> String {
    if mode.requests_certificate() {
        outcome.ssl_client_verify().into_owned()
    } else {
        ClientAuthOutcome::None.ssl_client_verify().into_owned()
    }
}

/// `outcome status reason: detail`, where status is what a server in
/// `mode` answers, e.g.
/// `invalid 495 expired: Client certificate "CN=alice": certificate has expired ...`
/// or, under optional_no_ca, `invalid 200 unknown_leaf_issuer: ...`.
///
/// Always one line: control characters from the certificate (a SAN may hold
/// any ASCII, line breaks included) are escaped as in Rust (`\n`, `\u{1b}`).
pub(crate) fn text(
    outcome: &ClientAuthOutcome,
    mode: VerifyMode,
    now: UnixTime,
    names: &[ExpectedName],
) -> String {
    let judgement = judge(outcome, mode);
    let line = format!(
        "{} {} {}: {}{}",
        outcome.label(),
        status(&judgement),
        reason_name(outcome),
        detail(outcome, mode, now, names),
        mode_note(outcome, mode, &judgement),
    );
    if !line.chars().any(char::is_control) {
        return line;
    }
    line.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The same as one JSON object, plus the presented certificate's fields and
/// the status each `--verify-client` mode would answer.
pub(crate) fn json(
    outcome: &ClientAuthOutcome,
    mode: VerifyMode,
    now: UnixTime,
    names: &[ExpectedName],
) -> String {
    let judgement = judge(outcome, mode);
    let id = outcome.presented_identity();
    let reason = outcome.reason();
    let decisions: serde_json::Map<String, Value> = VerifyMode::ALL
        .iter()
        .rev()
        .map(|mode| {
            let status = status(&judge(outcome, *mode));
            (mode.as_str().to_owned(), Value::from(status))
        })
        .collect();
    let value = json!({
        "outcome": outcome.label(),
        "verify_client": mode.as_str(),
        "status": status(&judgement),
        "passes": judgement.is_pass(),
        "reason": reason_name(outcome),
        "detail": format!("{}{}", detail(outcome, mode, now, names), mode_note(outcome, mode, &judgement)),
        "ssl_client_verify": ssl_client_verify(outcome, mode),
        "nginx_log": nginx_log(&judgement),
        "openssl_code": match outcome {
            ClientAuthOutcome::Verified(_) => Some(0),
            _ => reason.map(|r| r.openssl_code()),
        },
        "checked_at": at::rfc3339(now),
        "subject": id.map(|id| id.subject_dn()),
        "issuer": id.map(|id| id.issuer_dn()),
        "subject_legacy": id.map(|id| id.subject_dn_legacy()),
        "issuer_legacy": id.map(|id| id.issuer_dn_legacy()),
        "serial": id.map(|id| id.serial()),
        "fingerprint_sha1": id.map(|id| id.fingerprint_sha1()),
        "fingerprint_sha256": id.map(|id| id.fingerprint_sha256()),
        "v_start": id.map(|id| id.v_start()),
        "v_end": id.map(|id| id.v_end()),
        "v_remain": id.map(|id| id.v_remain(now)),
        "dns_names": id.map(|id| id.dns_names()),
        "ip_addresses": id.map(|id| id.ip_addresses().iter().map(ToString::to_string).collect::<Vec<_>>()),
        "emails": id.map(|id| id.emails()),
        "uris": id.map(|id| id.uris()),
        "user_principal_names": id.map(|id| id.user_principal_names()),
        "directory_names": id.map(|id| id.directory_names()),
        "spiffe_id": id.and_then(|id| id.spiffe_id()).map(|s| s.as_str()),
        "chain_length": id.map(|id| id.chain().len()),
        "certificate_index": reason.and_then(|r| r.context().certificate_index),
        "certificate_subject": reason.and_then(|r| r.context().subject.as_deref()),
        "expected_names": names.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "decisions": decisions,
    });
    value.to_string()
}

fn reason_name(outcome: &ClientAuthOutcome) -> &'static str {
    match outcome {
        ClientAuthOutcome::Verified(_) => OK,
        ClientAuthOutcome::None => CERTIFICATE_REQUIRED,
        _ => outcome.reason().map_or("other", |r| r.name()),
    }
}

/// The line nginx logs (at info) when it answers 495 / 496, e.g.
/// `client SSL certificate verify error: (10:certificate has expired)`;
/// `None` when the request passes.
fn nginx_log(judgement: &Judgement) -> Option<String> {
    match judgement {
        Judgement::CertificateRequired => {
            Some("client sent no required SSL certificate".to_owned())
        }
        Judgement::CertificateInvalid { reason, .. } => Some(reason.nginx_log_line()),
        _ => None,
    }
}

/// What `mode` changes, for modes other than `on`: empty under `on`, whose
/// answer the detail already gives.
fn mode_note(outcome: &ClientAuthOutcome, mode: VerifyMode, judgement: &Judgement) -> String {
    if mode == VerifyMode::On || outcome.is_verified() && mode.requests_certificate() {
        return String::new();
    }
    if !mode.requests_certificate() {
        return " With --verify-client off no certificate is requested: the client sends none \
                 and the request passes with ssl_client_verify=NONE."
            .to_owned();
    }
    if judgement.is_pass() {
        format!(
            " With --verify-client {mode} the request passes: the handler runs with \
             ssl_client_verify={}.",
            ssl_client_verify(outcome, mode)
        )
    } else {
        format!(
            " With --verify-client {mode} the server answers {}.",
            status(judgement)
        )
    }
}

fn detail(
    outcome: &ClientAuthOutcome,
    mode: VerifyMode,
    now: UnixTime,
    names: &[ExpectedName],
) -> String {
    match outcome {
        ClientAuthOutcome::Verified(id) => {
            let mut detail = format!(
                "Client certificate \"{}\" issued by \"{}\" verifies (serial {}, valid until {}, {} days left at {}); ssl_client_verify=SUCCESS.",
                id.subject_dn(),
                id.issuer_dn(),
                id.serial(),
                id.v_end(),
                id.v_remain(now),
                at::rfc3339(now),
            );
            if !names.is_empty() {
                let names: Vec<String> = names.iter().map(ToString::to_string).collect();
                detail.push_str(&format!(" It carries {}.", names.join(", ")));
            }
            detail
        }
        ClientAuthOutcome::None => "No client certificate: a server with --verify-client on answers 496 \
             \"SSL Certificate Required\"; optional, optional_no_ca and off let the request through \
             with ssl_client_verify=NONE."
            .to_owned(),
        _ => {
            let Some(reason) = outcome.reason() else {
                return "The client certificate could not be verified.".to_owned();
            };
            let mut detail = reason.detail();
            if reason.is_untrusted_issuer() && mode == VerifyMode::On {
                detail.push_str(&format!(
                    " (--verify-client optional_no_ca would let it through with ssl_client_verify={}.)",
                    reason.ssl_client_verify()
                ));
            }
            detail
        }
    }
}

/// The exit code of `mtls check` for `outcome` judged in `mode`: 0 when
/// the request passes, 2 when the server answers 495, 3 when it answers 496.
pub(crate) fn exit_code(outcome: &ClientAuthOutcome, mode: VerifyMode) -> u8 {
    match judge(outcome, mode) {
        Judgement::Pass => crate::error::EXIT_OK,
        Judgement::CertificateRequired => crate::error::EXIT_NO_CERTIFICATE,
        _ => crate::error::EXIT_INVALID,
    }
}
