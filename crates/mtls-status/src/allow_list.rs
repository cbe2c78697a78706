//! [`AllowList`]: a ready-made [`Authorize`] policy by certificate names and
//! fingerprints.

use std::borrow::Cow;

use crate::authorize::Authorize;
use crate::identity::ClientIdentity;

/// Allows a verified client if **any** of its entries matches the client's
/// certificate; an empty list allows nobody.
///
/// | entry | matches | comparison |
/// |---|---|---|
/// | [`subject_dn`](Self::subject_dn) | the subject, RFC 2253 as nginx's `$ssl_client_s_dn` (`CN=alice,O=Example`) | exact |
/// | [`dns`](Self::dns) | a DNS SAN | ASCII case-insensitive, a trailing `.` ignored; no wildcard expansion |
/// | [`uri`](Self::uri) | a URI SAN | exact |
/// | [`email`](Self::email) | an email (rfc822Name) SAN | local part exact, domain case-insensitive |
/// | [`user_principal_name`](Self::user_principal_name) | a User Principal Name (otherName UPN) SAN | local part exact, domain case-insensitive |
/// | [`directory_name`](Self::directory_name) | a directoryName SAN, RFC 2253 | exact |
/// | [`spiffe_id`](Self::spiffe_id) | the SPIFFE ID (`spiffe://trust.domain/path`) | exact |
/// | [`spiffe_trust_domain`](Self::spiffe_trust_domain) | the SPIFFE ID's trust domain | case-insensitive |
/// | [`fingerprint_sha256`](Self::fingerprint_sha256) | SHA-256 of the certificate (DER) | hex, case-insensitive, colons optional |
///
/// The 403 explanation for a client that matches nothing is `not in this
/// resource's allow-list`.
///
/// ```
/// use mtls_status::{AllowList, ClientAuthPolicy, VerifyMode};
///
/// let policy = ClientAuthPolicy::new(VerifyMode::On).authorize(
///     AllowList::new()
///         .spiffe_trust_domain("prod.example.org")
///         .dns("backup.internal")
///         .fingerprint_sha256("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"),
/// );
/// assert!(policy.has_authorization());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct AllowList {
    subject_dns: Vec<String>,
    dns_names: Vec<String>,
    uris: Vec<String>,
    emails: Vec<String>,
    user_principal_names: Vec<String>,
    directory_names: Vec<String>,
    spiffe_ids: Vec<String>,
    trust_domains: Vec<String>,
    fingerprints: Vec<[u8; 32]>,
}

/// The 403 explanation for a client the allow-list does not name.
pub(crate) const NOT_IN_ALLOW_LIST: &str = "not in this resource's allow-list";

/// The error for a SHA-256 fingerprint that is not 32 bytes of hex.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid SHA-256 fingerprint {0:?}: expected 64 hex digits, optionally separated by colons \
     (e.g. as printed by `openssl x509 -noout -fingerprint -sha256`)"
)]
pub struct InvalidFingerprint(String);

impl AllowList {
    /// An empty list: allows nobody until entries are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows the client whose subject is exactly `dn`, in RFC 2253 form as
    /// nginx's `$ssl_client_s_dn` prints it (most specific RDN first, e.g.
    /// `CN=alice,OU=ops,O=Example`).
    pub fn subject_dn(mut self, dn: impl Into<String>) -> Self {
        self.subject_dns.push(dn.into());
        self
    }

    /// Allows a client with the DNS SAN `name` (case-insensitive; a trailing
    /// dot is ignored; a wildcard SAN only matches the same literal
    /// wildcard).
    pub fn dns(mut self, name: impl AsRef<str>) -> Self {
        self.dns_names
            .push(normalize_dns(name.as_ref()).to_ascii_lowercase());
        self
    }

    /// Allows a client with the URI SAN `uri` (exact match).
    pub fn uri(mut self, uri: impl Into<String>) -> Self {
        self.uris.push(uri.into());
        self
    }

    /// Allows a client with the email SAN `address` (local part exact,
    /// domain case-insensitive).
    pub fn email(mut self, address: impl Into<String>) -> Self {
        self.emails.push(address.into());
        self
    }

    /// Allows a client with the User Principal Name SAN `upn` (otherName
    /// UPN, as Active Directory issues it: `alice@corp.example`; local part
    /// exact, domain case-insensitive).
    pub fn user_principal_name(mut self, upn: impl Into<String>) -> Self {
        self.user_principal_names.push(upn.into());
        self
    }

    /// Allows a client with the directoryName SAN `dn`, in RFC 2253 form as
    /// [`subject_dn`](Self::subject_dn) (exact match).
    pub fn directory_name(mut self, dn: impl Into<String>) -> Self {
        self.directory_names.push(dn.into());
        self
    }

    /// Allows the client whose SPIFFE ID is exactly `id`
    /// (`spiffe://trust.domain/path`).
    pub fn spiffe_id(mut self, id: impl Into<String>) -> Self {
        self.spiffe_ids.push(id.into());
        self
    }

    /// Allows every client whose SPIFFE ID is in `trust_domain`, given as
    /// `example.org` or `spiffe://example.org`.
    pub fn spiffe_trust_domain(mut self, trust_domain: impl AsRef<str>) -> Self {
        let domain = trust_domain.as_ref();
        let domain = strip_prefix_ignore_case(domain, "spiffe://").unwrap_or(domain);
        self.trust_domains
            .push(domain.trim_end_matches('/').to_ascii_lowercase());
        self
    }

    /// Allows the certificate with this SHA-256 fingerprint: 64 hex digits,
    /// any case, optionally separated by colons (as `openssl x509
    /// -fingerprint -sha256` prints it).
    ///
    /// # Panics
    ///
    /// If `hex` is not a SHA-256 fingerprint. This is a configuration
    /// mistake caught at start; use
    /// [`try_fingerprint_sha256`](Self::try_fingerprint_sha256) for
    /// fingerprints read at run time.
    #[track_caller]
    pub fn fingerprint_sha256(self, hex: impl AsRef<str>) -> Self {
        match self.try_fingerprint_sha256(hex) {
            Ok(list) => list,
            Err(error) => panic!("{error}"),
        }
    }

    /// Like [`fingerprint_sha256`](Self::fingerprint_sha256), returning an
    /// error instead of panicking.
    ///
    /// # Errors
    ///
    /// [`InvalidFingerprint`] if `hex` is not 64 hex digits once colons are
    /// removed.
    ///
    /// ```
    /// use mtls_status::AllowList;
    ///
    /// assert!(AllowList::new().try_fingerprint_sha256("ab:cd").is_err());
    /// assert!(AllowList::new().try_fingerprint_sha256("ab".repeat(32)).is_ok());
    /// ```
    pub fn try_fingerprint_sha256(
        mut self,
        hex: impl AsRef<str>,
    ) -> Result<Self, InvalidFingerprint> {
        let hex = hex.as_ref();
        let fingerprint =
            parse_fingerprint(hex).ok_or_else(|| InvalidFingerprint(hex.to_owned()))?;
        self.fingerprints.push(fingerprint);
        Ok(self)
    }

    /// Whether the list has no entries (and so allows nobody).
    pub fn is_empty(&self) -> bool {
        self.subject_dns.is_empty()
            && self.dns_names.is_empty()
            && self.uris.is_empty()
            && self.emails.is_empty()
            && self.user_principal_names.is_empty()
            && self.directory_names.is_empty()
            && self.spiffe_ids.is_empty()
            && self.trust_domains.is_empty()
            && self.fingerprints.is_empty()
    }

    /// Whether `client` matches any entry.
    pub fn allows(&self, client: &ClientIdentity) -> bool {
        self.matches_subject(client)
            || self.matches_sans(client)
            || self.matches_spiffe(client)
            || self.matches_fingerprint(client)
    }

    fn matches_subject(&self, client: &ClientIdentity) -> bool {
        !self.subject_dns.is_empty() && self.subject_dns.iter().any(|dn| dn == client.subject_dn())
    }

    fn matches_sans(&self, client: &ClientIdentity) -> bool {
        let dns = !self.dns_names.is_empty()
            && client.dns_names().iter().any(|name| {
                let name = normalize_dns(name);
                self.dns_names
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(name))
            });
        let uri = !self.uris.is_empty()
            && client
                .uris()
                .iter()
                .any(|uri| self.uris.iter().any(|allowed| allowed == uri));
        let email = !self.emails.is_empty()
            && client
                .emails()
                .iter()
                .any(|email| self.emails.iter().any(|allowed| email_eq(allowed, email)));
        let upn = client.user_principal_names().iter().any(|upn| {
            self.user_principal_names
                .iter()
                .any(|allowed| email_eq(allowed, upn))
        });
        let directory_name = client
            .directory_names()
            .iter()
            .any(|dn| self.directory_names.iter().any(|allowed| allowed == dn));
        dns || uri || email || upn || directory_name
    }

    fn matches_spiffe(&self, client: &ClientIdentity) -> bool {
        let Some(id) = client.spiffe_id() else {
            return false;
        };
        self.spiffe_ids.iter().any(|allowed| allowed == id.as_str())
            || self
                .trust_domains
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(id.trust_domain()))
    }

    fn matches_fingerprint(&self, client: &ClientIdentity) -> bool {
        !self.fingerprints.is_empty()
            && parse_fingerprint(client.fingerprint_sha256())
                .is_some_and(|fingerprint| self.fingerprints.contains(&fingerprint))
    }
}

impl Authorize for AllowList {
    fn authorize(&self, client: &ClientIdentity) -> Result<(), Cow<'static, str>> {
        if self.allows(client) {
            Ok(())
        } else {
            Err(Cow::Borrowed(NOT_IN_ALLOW_LIST))
        }
    }

    fn name(&self) -> &'static str {
        "allow_list"
    }
}

fn normalize_dns(name: &str) -> &str {
    name.strip_suffix('.').unwrap_or(name)
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

/// Local part exact, domain ASCII case-insensitive.
fn email_eq(allowed: &str, presented: &str) -> bool {
    match (allowed.rsplit_once('@'), presented.rsplit_once('@')) {
        (Some((a_local, a_domain)), Some((p_local, p_domain))) => {
            a_local == p_local && a_domain.eq_ignore_ascii_case(p_domain)
        }
        _ => allowed == presented,
    }
}

/// 32 bytes from 64 hex digits, colons ignored.
fn parse_fingerprint(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut digits = hex.bytes().filter(|&b| b != b':');
    for byte in &mut out {
        let high = hex_value(digits.next()?)?;
        let low = hex_value(digits.next()?)?;
        *byte = (high << 4) | low;
    }
    digits.next().is_none().then_some(out)
}

pub(crate) fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons_in_any_case() {
        let plain = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let colons = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
        assert_eq!(parse_fingerprint(plain), parse_fingerprint(colons));
        assert_eq!(parse_fingerprint(plain).map(|f| f[10]), Some(0xaa));
        assert_eq!(parse_fingerprint(&plain[..62]), None);
        assert_eq!(parse_fingerprint(&format!("{plain}00")), None);
        assert_eq!(parse_fingerprint(&plain.replace('0', "g")), None);
        assert_eq!(parse_fingerprint(""), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(
            strip_prefix_ignore_case("SPIFFE://a", "spiffe://"),
            Some("a")
        );
        assert_eq!(strip_prefix_ignore_case("spiffe:/", "spiffe://"), None);
        assert_eq!(strip_prefix_ignore_case("https://é", "spiffe://"), None);
        assert!(email_eq("alice@Example.ORG", "alice@example.org"));
        assert!(!email_eq("Alice@example.org", "alice@example.org"));
        assert_eq!(normalize_dns("a.example."), "a.example");
        assert!(AllowList::new().is_empty());
        assert!(!AllowList::new().uri("x").is_empty());
        let list = AllowList::new().spiffe_trust_domain("spiffe://Prod.Example/");
        assert_eq!(list.trust_domains, ["prod.example"]);
    }

    #[test]
    #[should_panic(expected = "invalid SHA-256 fingerprint")]
    fn malformed_fingerprint_panics_at_configuration() {
        let _ = AllowList::new().fingerprint_sha256("not hex");
    }
}
