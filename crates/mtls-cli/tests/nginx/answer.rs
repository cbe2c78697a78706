//! What a server answered, reduced to what the two servers must agree on:
//! the status and the client-certificate variables.

use std::collections::BTreeMap;

use super::client::Response;
use super::nginx_server::VARIABLES;

/// A normalized answer. `vars` holds every variable for a 200; for a
/// 495 / 496 only `ssl_client_verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) vars: BTreeMap<String, String>,
    /// `mtls serve`'s stable reason name on 495 / 496 (problem+json
    /// `reason`); `None` for nginx and for 200.
    pub(crate) reason: Option<String>,
}

impl Answer {
    pub(crate) fn verify(&self) -> &str {
        self.vars
            .get("ssl_client_verify")
            .map_or("<missing>", String::as_str)
    }

    /// `NONE`, `SUCCESS` or `FAILED`.
    pub(crate) fn class(&self) -> &str {
        let verify = self.verify();
        if verify.starts_with("FAILED:") {
            "FAILED"
        } else {
            verify
        }
    }

    /// The `FAILED:` string in OpenSSL 3.0 wording (see [`openssl_3_0`]).
    pub(crate) fn verify_3_0(&self) -> String {
        match self.verify().strip_prefix("FAILED:") {
            Some(error) => format!("FAILED:{}", openssl_3_0(error)),
            None => self.verify().to_owned(),
        }
    }
}

/// nginx's answer: status (495 / 496 thanks to `error_page 49x =49x`, else
/// 200) and the `name=value` lines of the body.
pub(crate) fn from_nginx(response: &Response) -> Result<Answer, String> {
    let mut vars = BTreeMap::new();
    for line in response.body.lines() {
        let (name, value) = line
            .split_once('=')
            .ok_or_else(|| format!("nginx body line without '=': {line:?}"))?;
        vars.insert(name.to_owned(), value.to_owned());
    }
    for name in VARIABLES {
        if !vars.contains_key(name) {
            return Err(format!("nginx body lacks {name}: {:?}", response.body));
        }
    }
    if response.status != 200 {
        vars.retain(|name, _| name == "ssl_client_verify");
    }
    Ok(Answer {
        status: response.status,
        vars,
        reason: None,
    })
}

/// `mtls serve`'s answer: a 200 JSON object keyed by nginx's variable
/// names, or a problem+json 495 (with `ssl_client_verify`) / 496 (whose
/// `ssl_client_verify` is `NONE` by definition: no certificate).
pub(crate) fn from_mtls_serve(response: &Response) -> Result<Answer, String> {
    let json: serde_json::Value = serde_json::from_str(&response.body)
        .map_err(|e| format!("body is not JSON ({e}): {:?}", response.body))?;
    let object = json
        .as_object()
        .ok_or_else(|| format!("body is not a JSON object: {:?}", response.body))?;
    let field = |name: &str| -> Result<Option<String>, String> {
        match object.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("{name} is not a string: {other}")),
        }
    };
    let mut vars = BTreeMap::new();
    let reason = match response.status {
        200 => {
            for name in VARIABLES {
                let value = field(name)?.ok_or_else(|| format!("200 body lacks {name}"))?;
                vars.insert(name.to_owned(), value);
            }
            None
        }
        495 => {
            let verify = field("ssl_client_verify")?
                .ok_or_else(|| format!("495 body lacks ssl_client_verify: {object:?}"))?;
            vars.insert("ssl_client_verify".to_owned(), verify);
            field("reason")?
        }
        496 => {
            let verify = field("ssl_client_verify")?.unwrap_or_else(|| "NONE".to_owned());
            vars.insert("ssl_client_verify".to_owned(), verify);
            field("reason")?
        }
        other => return Err(format!("unexpected status {other}: {:?}", response.body)),
    };
    Ok(Answer {
        status: response.status,
        vars,
        reason,
    })
}

/// Known differences in OpenSSL's wording between versions, mapped to the
/// OpenSSL 3.0 strings `mtls-status` uses (nginx prints whatever its
/// OpenSSL says): 1.1.1 wrote "self signed" without the hyphen, 3.6 added
/// "or the system clock is incorrect" to code 9.
pub(crate) fn openssl_3_0(error: &str) -> &str {
    match error {
        "self signed certificate" => "self-signed certificate",
        "self signed certificate in certificate chain" => {
            "self-signed certificate in certificate chain"
        }
        "certificate is not yet valid or the system clock is incorrect" => {
            "certificate is not yet valid"
        }
        other => other,
    }
}

/// The OpenSSL `X509_V_ERR` code for a 3.0 error string, for the compact
/// matrix (`?` if unknown).
pub(crate) fn openssl_code(error: &str) -> &'static str {
    match openssl_3_0(error) {
        "unable to get issuer certificate" => "2",
        "unable to get certificate CRL" => "3",
        "certificate signature failure" => "7",
        "certificate is not yet valid" => "9",
        "certificate has expired" => "10",
        "CRL is not yet valid" => "11",
        "CRL has expired" => "12",
        "self-signed certificate" => "18",
        "self-signed certificate in certificate chain" => "19",
        "unable to get local issuer certificate" => "20",
        "unable to verify the first certificate" => "21",
        "certificate chain too long" => "22",
        "certificate revoked" => "23",
        "path length constraint exceeded" => "25",
        "unsuitable certificate purpose" => "26",
        "certificate not trusted" => "27",
        _ => "?",
    }
}
