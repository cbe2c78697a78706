//! The nginx `$ssl_client_*` variables `mtls serve` echoes, as nginx prints
//! them.

use mtls_status::ClientAuthOutcome;
use rustls_pki_types::UnixTime;

/// The variables, in the order they are written: nginx's names without `$`.
pub(crate) const NAMES: [&str; 11] = [
    "ssl_client_verify",
    "ssl_client_s_dn",
    "ssl_client_i_dn",
    "ssl_client_s_dn_legacy",
    "ssl_client_i_dn_legacy",
    "ssl_client_serial",
    "ssl_client_fingerprint",
    "ssl_client_v_start",
    "ssl_client_v_end",
    "ssl_client_v_remain",
    "ssl_client_escaped_cert",
];

/// The values of [`NAMES`] for a connection with `outcome`, at `now` (for
/// `ssl_client_v_remain`).
///
/// As in nginx, every variable but `ssl_client_verify` (`NONE`) is empty
/// without a certificate, and a certificate that failed verification still
/// fills them (visible with `optional_no_ca`).
pub(crate) fn values(outcome: &ClientAuthOutcome, now: UnixTime) -> [String; 11] {
    let verify = outcome.ssl_client_verify().into_owned();
    match outcome.presented_identity() {
        None => {
            let mut values: [String; 11] = Default::default();
            values[0] = verify;
            values
        }
        Some(id) => [
            verify,
            id.subject_dn().to_owned(),
            id.issuer_dn().to_owned(),
            id.subject_dn_legacy().to_owned(),
            id.issuer_dn_legacy().to_owned(),
            id.serial().to_owned(),
            id.fingerprint_sha1().to_owned(),
            id.v_start(),
            id.v_end(),
            id.v_remain(now).to_string(),
            id.escaped_pem(),
        ],
    }
}

/// A JSON object of the variables, one per line, in [`NAMES`] order.
pub(crate) fn json(outcome: &ClientAuthOutcome, now: UnixTime) -> String {
    let values = values(outcome, now);
    let mut out = String::from("{\n");
    for (i, (name, value)) in NAMES.iter().zip(values.iter()).enumerate() {
        let comma = if i + 1 < NAMES.len() { "," } else { "" };
        out.push_str(&format!(
            "  \"{name}\": {}{comma}\n",
            serde_json::Value::from(value.as_str())
        ));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use mtls_status::{InvalidCertificate, ReasonKind};

    use super::*;

    #[test]
    fn no_certificate_is_none_and_empties() {
        let json: serde_json::Value =
            serde_json::from_str(&json(&ClientAuthOutcome::None, UnixTime::now())).expect("JSON");
        let object = json.as_object().expect("object");
        assert_eq!(object.len(), NAMES.len());
        assert_eq!(object["ssl_client_verify"], "NONE");
        for name in &NAMES[1..] {
            assert_eq!(object[*name], "", "{name}");
        }
    }

    #[test]
    fn failed_certificate_keeps_its_fields() {
        let leaf = mtls_testpki::self_signed_client("mallory");
        let id = mtls_status::ClientIdentity::from_der(leaf.cert_der()).expect("parses");
        let outcome = ClientAuthOutcome::Invalid(InvalidCertificate::new(
            ReasonKind::SelfSigned.into(),
            Some(id.clone()),
        ));
        let values = values(&outcome, UnixTime::now());
        assert_eq!(values[0], "FAILED:self-signed certificate");
        assert_eq!(values[1], "CN=mallory");
        assert_eq!(values[6], id.fingerprint_sha1());
    }
}
