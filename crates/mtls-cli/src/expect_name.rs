//! `--expect-name dns:X|ip:X|email:X|uri:X`: names the client certificate
//! must carry in its subjectAltName extension.

use std::fmt;
use std::net::IpAddr;

use mtls_status::ClientIdentity;

/// One expected subjectAltName.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ExpectedName {
    /// A DNS name, compared case-insensitively; a `*.example.org` SAN
    /// matches one left-most label.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
    /// An email address (rfc822Name); the domain is compared
    /// case-insensitively.
    Email(String),
    /// A URI, compared exactly (e.g. a SPIFFE ID).
    Uri(String),
}

/// clap value parser for `--expect-name`.
pub(crate) fn parse(value: &str) -> Result<ExpectedName, String> {
    let (kind, name) = value.split_once(':').ok_or_else(|| {
        format!("expected TYPE:NAME with TYPE dns, ip, email or uri (e.g. dns:api.example.org), not {value:?}")
    })?;
    if name.is_empty() {
        return Err(format!("the name after \"{kind}:\" is empty"));
    }
    match kind.to_ascii_lowercase().as_str() {
        "dns" => Ok(ExpectedName::Dns(name.to_owned())),
        "ip" => name
            .parse()
            .map(ExpectedName::Ip)
            .map_err(|_| format!("{name:?} is not an IPv4 or IPv6 address")),
        "email" => Ok(ExpectedName::Email(name.to_owned())),
        "uri" => Ok(ExpectedName::Uri(name.to_owned())),
        other => Err(format!(
            "unknown name type {other:?}: expected dns, ip, email or uri"
        )),
    }
}

impl ExpectedName {
    /// Whether the certificate carries this name.
    pub(crate) fn is_in(&self, id: &ClientIdentity) -> bool {
        match self {
            Self::Dns(name) => id.dns_names().iter().any(|san| dns_matches(san, name)),
            Self::Ip(ip) => id.ip_addresses().contains(ip),
            Self::Email(email) => id.emails().iter().any(|san| email_matches(san, email)),
            Self::Uri(uri) => id.uris().iter().any(|san| san == uri),
        }
    }
}

impl fmt::Display for ExpectedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => write!(f, "dns:{name}"),
            Self::Ip(ip) => write!(f, "ip:{ip}"),
            Self::Email(email) => write!(f, "email:{email}"),
            Self::Uri(uri) => write!(f, "uri:{uri}"),
        }
    }
}

/// Every SAN of `id`, as `TYPE:NAME`.
pub(crate) fn present(id: &ClientIdentity) -> Vec<String> {
    let dns = id.dns_names().iter().map(|n| format!("dns:{n}"));
    let ips = id.ip_addresses().iter().map(|ip| format!("ip:{ip}"));
    let emails = id.emails().iter().map(|e| format!("email:{e}"));
    let uris = id.uris().iter().map(|u| format!("uri:{u}"));
    let upns = id.user_principal_names().iter().map(|u| format!("upn:{u}"));
    let dirs = id.directory_names().iter().map(|d| format!("dirname:{d}"));
    dns.chain(ips)
        .chain(emails)
        .chain(uris)
        .chain(upns)
        .chain(dirs)
        .collect()
}

fn dns_matches(san: &str, name: &str) -> bool {
    let san = san.trim_end_matches('.');
    let name = name.trim_end_matches('.');
    if san.eq_ignore_ascii_case(name) {
        return true;
    }
    match (san.strip_prefix("*."), name.split_once('.')) {
        (Some(suffix), Some((label, rest))) => {
            !label.is_empty() && rest.eq_ignore_ascii_case(suffix)
        }
        _ => false,
    }
}

fn email_matches(san: &str, email: &str) -> bool {
    match (san.rsplit_once('@'), email.rsplit_once('@')) {
        (Some((a_local, a_domain)), Some((b_local, b_domain))) => {
            a_local == b_local && a_domain.eq_ignore_ascii_case(b_domain)
        }
        _ => san.eq_ignore_ascii_case(email),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names() {
        assert_eq!(
            parse("dns:a.example"),
            Ok(ExpectedName::Dns("a.example".into()))
        );
        assert_eq!(
            parse("IP:::1"),
            Ok(ExpectedName::Ip("::1".parse().expect("ip")))
        );
        assert_eq!(
            parse("uri:spiffe://example.org/a"),
            Ok(ExpectedName::Uri("spiffe://example.org/a".into()))
        );
        assert!(parse("ip:nope").is_err());
        assert!(
            parse("host:x")
                .unwrap_err()
                .contains("dns, ip, email or uri")
        );
        assert!(parse("dns:").is_err());
        assert!(parse("plain").is_err());
    }

    #[test]
    fn matching_rules() {
        assert!(dns_matches("API.example.org", "api.example.org."));
        assert!(dns_matches("*.example.org", "api.example.org"));
        assert!(!dns_matches("*.example.org", "a.b.example.org"));
        assert!(!dns_matches("*.example.org", "example.org"));
        assert!(email_matches("Alice@Example.org", "Alice@example.ORG"));
        assert!(!email_matches("alice@example.org", "Alice@example.org"));
    }

    #[test]
    fn against_a_certificate() {
        let pki = mtls_testpki::Pki::generate();
        let id = ClientIdentity::from_chain(pki.valid_from_root.chain()).expect("parses");
        for good in [
            "dns:client-valid.example.org",
            "email:client-valid@example.org",
            "uri:spiffe://example.org/ns/prod/sa/web",
        ] {
            assert!(parse(good).expect("valid").is_in(&id), "{good}");
        }
        assert!(!parse("dns:other.example.org").expect("valid").is_in(&id));
        assert!(!parse("ip:127.0.0.1").expect("valid").is_in(&id));
        assert_eq!(present(&id).len(), 3);
    }
}
