//! [`SpiffeAuthorizer`]: authorization by SPIFFE ID, the four matchers of
//! go-spiffe's `tlsconfig.Authorize*` (and Envoy's SAN matchers): exact ID,
//! one of a set, member of a trust domain, path prefix.

use std::borrow::Cow;

use crate::authorize::Authorize;
use crate::identity::{ClientIdentity, SpiffeId, SpiffeIdError};

/// Allows a verified client by its SPIFFE ID
/// ([`ClientIdentity::spiffe_id`]: the certificate's one URI SAN, when it
/// is a valid SPIFFE ID); a client without one is refused (403 /
/// `PERMISSION_DENIED`), and each refusal says which rule the ID missed.
///
/// | constructor | allows | go-spiffe |
/// |---|---|---|
/// | [`id`](Self::id) | exactly this ID | `AuthorizeID` |
/// | [`one_of`](Self::one_of) | any ID of the set | `AuthorizeOneOf` |
/// | [`member_of`](Self::member_of) | any ID in the trust domain | `AuthorizeMemberOf` |
/// | [`path_prefix`](Self::path_prefix) | an ID in the prefix's trust domain whose path is the prefix's, or below it (whole segments: `/ns/prod` allows `/ns/prod/sa/web`, not `/ns/production`) | — (Envoy's `prefix` matcher, segment-safe) |
///
/// It is an [`Authorize`] policy, so it goes wherever a policy goes: a
/// route's `VerifyClientLayer::authorize` (mtls-status-tower, axum), a gRPC
/// service's `ClientAuthCheck::authorize` (mtls-status-tonic), and it
/// combines with an [`AllowList`](crate::AllowList) or any other policy
/// through [`Authorize::or`] and [`Authorize::and`].
///
/// ```
/// use mtls_status::{AllowList, Authorize, ClientAuthPolicy, SpiffeAuthorizer, VerifyMode};
///
/// # fn main() -> Result<(), mtls_status::identity::SpiffeIdError> {
/// // Workloads of prod under /ns/payments, or the backup host by DNS name.
/// let payments = SpiffeAuthorizer::path_prefix("spiffe://prod.example.org/ns/payments".parse()?);
/// let policy = ClientAuthPolicy::new(VerifyMode::On)
///     .authorize(payments.or(AllowList::new().dns("backup.internal")));
/// assert!(policy.has_authorization());
///
/// let web = SpiffeAuthorizer::id("spiffe://prod.example.org/ns/web/sa/api".parse()?);
/// assert!(web.allows_id(&"spiffe://prod.example.org/ns/web/sa/api".parse()?));
/// assert!(!web.allows_id(&"spiffe://dev.example.org/ns/web/sa/api".parse()?));
/// let prod = SpiffeAuthorizer::member_of("prod.example.org")?;
/// assert!(prod.allows_id(&"spiffe://prod.example.org/anything".parse()?));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct SpiffeAuthorizer {
    rule: Rule,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Rule {
    OneOf(Vec<SpiffeId>),
    /// An ID whose path is empty stands for its whole trust domain.
    Prefix(SpiffeId),
}

/// The 403 explanation for a verified client without a SPIFFE ID.
const NO_SPIFFE_ID: &str = "the client certificate has no SPIFFE ID (exactly one URI SAN \
                            spiffe://trust.domain/path), and this resource authorizes by SPIFFE ID";

impl SpiffeAuthorizer {
    /// Allows exactly `id`.
    pub fn id(id: SpiffeId) -> Self {
        Self::one_of([id])
    }

    /// Allows any of `ids` (none: nobody).
    pub fn one_of(ids: impl IntoIterator<Item = SpiffeId>) -> Self {
        Self {
            rule: Rule::OneOf(ids.into_iter().collect()),
        }
    }

    /// Allows every ID in `trust_domain`, given as `example.org` or
    /// `spiffe://example.org` (case-insensitive, as trust domain names
    /// are).
    ///
    /// # Errors
    ///
    /// The [`SpiffeIdError`] if `trust_domain` is not a valid trust domain
    /// name (or has a path).
    ///
    /// ```
    /// use mtls_status::SpiffeAuthorizer;
    ///
    /// assert!(SpiffeAuthorizer::member_of("spiffe://Prod.Example.org").is_ok());
    /// assert!(SpiffeAuthorizer::member_of("prod.example.org/ns").is_err());
    /// assert!(SpiffeAuthorizer::member_of("prod example").is_err());
    /// ```
    pub fn member_of(trust_domain: impl AsRef<str>) -> Result<Self, SpiffeIdError> {
        let name = trust_domain.as_ref().to_ascii_lowercase();
        let name = name.strip_prefix("spiffe://").unwrap_or(&name);
        let id: SpiffeId = format!("spiffe://{name}").parse()?;
        if !id.path().is_empty() {
            return Err(SpiffeIdError::BadTrustDomainChar);
        }
        Ok(Self::path_prefix(id))
    }

    /// Allows the IDs of `prefix`'s trust domain whose path is `prefix`'s
    /// path or continues it by whole segments: `spiffe://td/ns/prod`
    /// allows `spiffe://td/ns/prod` and `spiffe://td/ns/prod/sa/web`, not
    /// `spiffe://td/ns/production`. A prefix without a path is
    /// [`member_of`](Self::member_of) its trust domain.
    pub fn path_prefix(prefix: SpiffeId) -> Self {
        Self {
            rule: Rule::Prefix(prefix),
        }
    }

    /// Whether `id` is allowed.
    pub fn allows_id(&self, id: &SpiffeId) -> bool {
        match &self.rule {
            Rule::OneOf(ids) => ids.contains(id),
            Rule::Prefix(prefix) => {
                id.trust_domain() == prefix.trust_domain()
                    && id
                        .path()
                        .strip_prefix(prefix.path())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
        }
    }

    /// Why `id` is refused, for the 403's detail.
    fn refusal(&self, id: &SpiffeId) -> String {
        match &self.rule {
            Rule::OneOf(ids) => match ids.as_slice() {
                [] => format!("SPIFFE ID {id} is refused: this resource allows no SPIFFE ID"),
                [only] => format!("SPIFFE ID {id} is not {only}"),
                _ => format!(
                    "SPIFFE ID {id} is not one of the {} SPIFFE IDs this resource allows",
                    ids.len()
                ),
            },
            Rule::Prefix(prefix) if prefix.path().is_empty() => format!(
                "SPIFFE ID {id} is not in trust domain {}",
                prefix.trust_domain()
            ),
            Rule::Prefix(prefix) => format!("SPIFFE ID {id} is not {prefix} or below it"),
        }
    }
}

impl Authorize for SpiffeAuthorizer {
    fn authorize(&self, client: &ClientIdentity) -> Result<(), Cow<'static, str>> {
        match client.spiffe_id() {
            Some(id) if self.allows_id(id) => Ok(()),
            Some(id) => Err(Cow::Owned(self.refusal(id))),
            None => Err(Cow::Borrowed(NO_SPIFFE_ID)),
        }
    }

    fn name(&self) -> &'static str {
        "spiffe"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> SpiffeId {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn prefix_matches_whole_segments_in_its_trust_domain_only() {
        let prefix = SpiffeAuthorizer::path_prefix(id("spiffe://td/ns/prod"));
        assert!(prefix.allows_id(&id("spiffe://td/ns/prod")));
        assert!(prefix.allows_id(&id("spiffe://td/ns/prod/sa/web")));
        assert!(!prefix.allows_id(&id("spiffe://td/ns/production")));
        assert!(!prefix.allows_id(&id("spiffe://td/ns")));
        assert!(!prefix.allows_id(&id("spiffe://other/ns/prod")));
        assert!(!prefix.allows_id(&id("spiffe://td.evil/ns/prod")));
        assert_eq!(
            prefix.refusal(&id("spiffe://td/ns/production")),
            "SPIFFE ID spiffe://td/ns/production is not spiffe://td/ns/prod or below it"
        );
    }

    #[test]
    fn member_of_is_the_whole_trust_domain_and_nothing_that_extends_its_name() {
        let td = SpiffeAuthorizer::member_of("SPIFFE://Prod.Example").expect("valid");
        assert!(td.allows_id(&id("spiffe://prod.example")));
        assert!(td.allows_id(&id("spiffe://prod.example/a/b")));
        assert!(!td.allows_id(&id("spiffe://prod.example.org/a")));
        assert!(!td.allows_id(&id("spiffe://prod/a")));
        assert_eq!(
            td.refusal(&id("spiffe://dev/x")),
            "SPIFFE ID spiffe://dev/x is not in trust domain prod.example"
        );
        assert!(SpiffeAuthorizer::member_of("").is_err());
        assert!(SpiffeAuthorizer::member_of("td/path").is_err());
    }

    #[test]
    fn exact_and_one_of() {
        let one = SpiffeAuthorizer::id(id("spiffe://td/a"));
        assert!(one.allows_id(&id("spiffe://td/a")));
        assert!(!one.allows_id(&id("spiffe://td/a/b")));
        assert!(
            !one.allows_id(&id("spiffe://td/A")),
            "paths are case-sensitive"
        );
        let set = SpiffeAuthorizer::one_of([id("spiffe://td/a"), id("spiffe://td/b")]);
        assert!(set.allows_id(&id("spiffe://td/b")));
        assert!(!set.allows_id(&id("spiffe://td/c")));
        assert!(set.refusal(&id("spiffe://td/c")).contains("one of the 2"));
        let none = SpiffeAuthorizer::one_of([]);
        assert!(!none.allows_id(&id("spiffe://td/a")));
    }
}
