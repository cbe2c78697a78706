//! Authorization of verified client certificates: which of the clients the
//! trust store accepts may use a route. See [`Authorize`].

use std::borrow::Cow;

use crate::identity::ClientIdentity;

/// Decides whether a verified client may use a route.
///
/// Return `Ok(())` to let the request through, or `Err(why)` to answer 403;
/// `why` is a short explanation without a final period (e.g. `"not in the
/// allow-list"`), put in the 403's `detail` and in the log. Do not put
/// secrets in it: the client reads it.
///
/// Give one to a [`ClientAuthPolicy`](crate::ClientAuthPolicy) (and so to
/// `VerifyClientLayer::authorize` of mtls-status-tower, or the gRPC check of
/// mtls-status-tonic): a closure taking `&ClientIdentity` and returning
/// `bool` or `Result<(), impl Into<Cow<str>>>`, a ready-made
/// [`AllowList`](crate::AllowList), or your own type.
///
/// A policy only ever sees a **verified** identity. When a route has a policy
/// and a request passes its [`VerifyMode`](crate::VerifyMode) without a
/// verified certificate (no certificate under `Optional`, an untrusted one
/// under `OptionalNoCa`, anything under `Off`), the judgement is
/// [`Judgement::IdentityRequired`](crate::Judgement::IdentityRequired): a
/// policy about who the client is cannot be satisfied by a client that has
/// not proved who it is.
///
/// ```
/// use mtls_status::{ClientAuthOutcome, ClientAuthPolicy, ClientIdentity, Judgement, VerifyMode};
///
/// // Only clients whose subject is in the "ops" organizational unit.
/// let policy = ClientAuthPolicy::new(VerifyMode::Optional)
///     .authorize(|client: &ClientIdentity| client.subject_dn().contains("OU=ops"));
///
/// // `Optional` lets a client without a certificate through the mode, but
/// // the policy needs a verified identity.
/// assert_eq!(
///     policy.judge(&ClientAuthOutcome::None),
///     Judgement::IdentityRequired { reason: None },
/// );
/// ```
///
/// Implemented for closures `Fn(&ClientIdentity) -> R` where `R` is `bool`
/// or `Result<(), E>` with `E: Into<Cow<'static, str>>` (`String`,
/// `&'static str`). Closures need their argument's type spelled out
/// (`|client: &ClientIdentity| ...`) so that they accept any lifetime.
///
/// ```
/// use mtls_status::ClientIdentity;
/// use mtls_status::Authorize;
///
/// fn assert_policy(_: impl Authorize) {}
/// assert_policy(|client: &ClientIdentity| client.spiffe_id().is_some());
/// assert_policy(|client: &ClientIdentity| {
///     if client.dns_names().iter().any(|name| name.ends_with(".internal")) {
///         Ok(())
///     } else {
///         Err(format!("{} has no .internal DNS name", client.subject_dn()))
///     }
/// });
/// ```
pub trait Authorize: Send + Sync + 'static {
    /// `Ok(())` if `client` may use the route, `Err(why)` otherwise.
    ///
    /// # Errors
    ///
    /// The explanation for the 403 when `client` is not allowed.
    fn authorize(&self, client: &ClientIdentity) -> Result<(), Cow<'static, str>>;

    /// A short stable name for the policy, the `authorizer` label of
    /// `mtls_client_auth_denied_total` (see [`metrics`](crate::metrics))
    /// and [`Judgement::NotAuthorized`](crate::Judgement::NotAuthorized):
    /// `allow_list`, `spiffe`, `any_of`, `all_of`, or [`CUSTOM_AUTHORIZER`]
    /// (`custom`, the default, closures included). Name a policy of your
    /// own with [`named`](Self::named). Keep the set of names small: each
    /// is a metric series.
    ///
    /// ```
    /// use mtls_status::{AllowList, Authorize, ClientIdentity};
    ///
    /// assert_eq!(AllowList::new().name(), "allow_list");
    /// let admins = (|c: &ClientIdentity| c.subject_dn() == "CN=admin").named("admins");
    /// assert_eq!(admins.name(), "admins");
    /// ```
    fn name(&self) -> &'static str {
        CUSTOM_AUTHORIZER
    }

    /// The same policy under [`name`](Self::name) `name`.
    fn named(self, name: &'static str) -> Named<Self>
    where
        Self: Sized,
    {
        Named { policy: self, name }
    }

    /// A policy that allows what `self` **or** `other` allows (`other` is
    /// asked only if `self` refuses); the 403 explains both refusals.
    ///
    /// ```
    /// use mtls_status::{AllowList, Authorize, SpiffeAuthorizer};
    ///
    /// let policy = AllowList::new()
    ///     .subject_dn("CN=admin")
    ///     .or(SpiffeAuthorizer::member_of("prod.example.org").unwrap());
    /// # let _ = policy;
    /// ```
    fn or<B: Authorize>(self, other: B) -> AnyOf<Self, B>
    where
        Self: Sized,
    {
        AnyOf(self, other)
    }

    /// A policy that allows what both `self` **and** `other` allow; the
    /// 403 gives the first refusal.
    fn and<B: Authorize>(self, other: B) -> AllOf<Self, B>
    where
        Self: Sized,
    {
        AllOf(self, other)
    }
}

/// The [`Authorize::name`] of a policy that does not name itself.
pub const CUSTOM_AUTHORIZER: &str = "custom";

/// A policy under a name of your choosing: [`Authorize::named`].
#[derive(Clone, Debug)]
pub struct Named<A> {
    policy: A,
    name: &'static str,
}

impl<A: Authorize> Authorize for Named<A> {
    fn authorize(&self, client: &ClientIdentity) -> Result<(), Cow<'static, str>> {
        self.policy.authorize(client)
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// Allows a client either policy allows: [`Authorize::or`].
#[derive(Clone, Debug)]
pub struct AnyOf<A, B>(A, B);

/// Allows a client both policies allow: [`Authorize::and`].
#[derive(Clone, Debug)]
pub struct AllOf<A, B>(A, B);

impl<A: Authorize, B: Authorize> Authorize for AnyOf<A, B> {
    fn authorize(&self, client: &ClientIdentity) -> Result<(), Cow<'static, str>> {
        let Err(first) = self.0.authorize(client) else {
            return Ok(());
        };
        self.1
            .authorize(client)
            .map_err(|second| Cow::Owned(format!("{first}; and {second}")))
    }

    fn name(&self) -> &'static str {
        "any_of"
    }
}

impl<A: Authorize, B: Authorize> Authorize for AllOf<A, B> {
    fn authorize(&self, client: &ClientIdentity) -> Result<(), Cow<'static, str>> {
        self.0.authorize(client)?;
        self.1.authorize(client)
    }

    fn name(&self) -> &'static str {
        "all_of"
    }
}

/// What an authorization closure may return: `bool`, or `Result<(), E>`
/// with an explanation `E: Into<Cow<'static, str>>`.
pub trait AuthorizeOutput {
    /// The result as [`Authorize::authorize`] returns it.
    ///
    /// # Errors
    ///
    /// The explanation for the 403.
    fn into_authorization(self) -> Result<(), Cow<'static, str>>;
}

/// The explanation used when a `bool` policy says no.
pub const NOT_ALLOWED_BY_POLICY: &str = "not allowed by this resource's policy";

impl AuthorizeOutput for bool {
    fn into_authorization(self) -> Result<(), Cow<'static, str>> {
        if self {
            Ok(())
        } else {
            Err(Cow::Borrowed(NOT_ALLOWED_BY_POLICY))
        }
    }
}

impl<E: Into<Cow<'static, str>>> AuthorizeOutput for Result<(), E> {
    fn into_authorization(self) -> Result<(), Cow<'static, str>> {
        self.map_err(Into::into)
    }
}

impl<F, R> Authorize for F
where
    F: Fn(&ClientIdentity) -> R + Send + Sync + 'static,
    R: AuthorizeOutput,
{
    fn authorize(&self, client: &ClientIdentity) -> Result<(), Cow<'static, str>> {
        self(client).into_authorization()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_convert() {
        assert_eq!(true.into_authorization(), Ok(()));
        assert_eq!(
            false.into_authorization(),
            Err(Cow::Borrowed(NOT_ALLOWED_BY_POLICY))
        );
        assert_eq!(
            Err::<(), _>("nope").into_authorization(),
            Err(Cow::Borrowed("nope"))
        );
        assert_eq!(
            Err::<(), _>(String::from("no")).into_authorization(),
            Err(Cow::Owned(String::from("no")))
        );
        assert_eq!(Ok::<(), String>(()).into_authorization(), Ok(()));
    }
}
