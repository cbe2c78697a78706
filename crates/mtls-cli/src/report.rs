//! The one-line verdict of `mtls check`, as text or JSON.

use mtls_status::{ClientAuthOutcome, VerifyMode};
use rustls_pki_types::UnixTime;
use serde_json::{Value, json};

use crate::at;
use crate::expect_name::ExpectedName;

/// The reason name of a verified chain (OpenSSL's verify result 0, "ok").
const OK: &str = "ok";
/// The reason name of a missing certificate, as in the 496 problem+json.
const CERTIFICATE_REQUIRED: &str = "certificate_required";

/// `outcome status reason: detail`, e.g.
/// `invalid 495 expired: Client certificate "CN=alice": certificate has expired ...`.
///
/// Always one line: control characters from the certificate (a SAN may hold
/// any ASCII, line breaks included) are escaped as in Rust (`\n`, `\u{1b}`).
pub(crate) fn text(outcome: &ClientAuthOutcome, now: UnixTime, names: &[ExpectedName]) -> String {
    let line = format!(
        "{} {} {}: {}",
        outcome.label(),
        outcome.status().as_u16(),
        reason_name(outcome),
        detail(outcome, now, names)
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
pub(crate) fn json(outcome: &ClientAuthOutcome, now: UnixTime, names: &[ExpectedName]) -> String {
    let id = outcome.presented_identity();
    let reason = outcome.reason();
    let decisions: serde_json::Map<String, Value> = VerifyMode::ALL
        .iter()
        .rev()
        .map(|mode| {
            let status = mode.decide(outcome).status().map_or(200, |s| s.as_u16());
            (mode.as_str().to_owned(), Value::from(status))
        })
        .collect();
    let value = json!({
        "outcome": outcome.label(),
        "status": outcome.status().as_u16(),
        "reason": reason_name(outcome),
        "detail": detail(outcome, now, names),
        "ssl_client_verify": outcome.ssl_client_verify(),
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

fn detail(outcome: &ClientAuthOutcome, now: UnixTime, names: &[ExpectedName]) -> String {
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
            if reason.is_untrusted_issuer() {
                detail.push_str(&format!(
                    " (--verify-client optional_no_ca would let it through with ssl_client_verify={}.)",
                    reason.ssl_client_verify()
                ));
            }
            detail
        }
    }
}

/// The exit code of `mtls check` for `outcome`: 0 verified, 2 invalid, 3 none.
pub(crate) fn exit_code(outcome: &ClientAuthOutcome) -> u8 {
    match outcome {
        ClientAuthOutcome::Verified(_) => crate::error::EXIT_OK,
        ClientAuthOutcome::None => crate::error::EXIT_NO_CERTIFICATE,
        _ => crate::error::EXIT_INVALID,
    }
}
