//! SPIFFE flags: per-trust-domain bundles (`--trust-domain TD=FILE`, on
//! `check` and `serve`) and the SPIFFE ID authorizers of `serve`
//! (`--spiffe-id`, `--spiffe-trust-domain`, `--spiffe-path-prefix`).

use std::borrow::Cow;
use std::path::PathBuf;

use mtls_status::identity::SpiffeId;
use mtls_status::{Authorize, ClientIdentity, SpiffeAuthorizer};
use mtls_status_rustls::{ClassifierBuilder, ReloadableTrustStore, TrustStoreFiles};

use crate::error::CliError;
use crate::trust;

/// The flag that names a trust domain's bundle.
pub(crate) const TRUST_DOMAIN: &str = "--trust-domain";

/// One `--trust-domain TD=FILE`.
#[derive(Clone, Debug)]
pub(crate) struct TrustDomain {
    name: String,
    file: PathBuf,
}

impl TrustDomain {
    /// Trust domain `name`'s bundle in `file`.
    pub(crate) fn new(name: &str, file: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            file,
        }
    }
}

fn parse_trust_domain(value: &str) -> Result<TrustDomain, String> {
    let usage = "expected TD=FILE, a SPIFFE trust domain and its bundle file (PEM or SPIFFE \
                 bundle JSON), e.g. prod.example.org=prod-bundle.json";
    let Some((name, file)) = value.split_once('=') else {
        return Err(format!("no '=' in {value:?}: {usage}"));
    };
    if name.is_empty() || file.is_empty() {
        return Err(format!(
            "{value:?} has an empty trust domain or file: {usage}"
        ));
    }
    let id: SpiffeId = format!("spiffe://{name}").parse().map_err(|error| {
        format!("{name:?} is not a SPIFFE trust domain name ({error}): {usage}")
    })?;
    if !id.path().is_empty() {
        return Err(format!(
            "{name:?} is not a SPIFFE trust domain name (it has a path): {usage}"
        ));
    }
    Ok(TrustDomain {
        name: id.trust_domain().to_owned(),
        file: PathBuf::from(file),
    })
}

/// `--trust-domain TD=FILE`, repeatable (federation): the shared flag of
/// `check` and `serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct TrustDomainArgs {
    /// SPIFFE: verify the X509-SVIDs of trust domain TD against the bundle
    /// FILE only (PEM, or SPIFFE bundle JSON as `spire-server bundle show
    /// -format spiffe` writes it; told apart by content). Repeat for
    /// federation. Every client certificate must then be an X509-SVID
    /// (exactly one URI SAN, a SPIFFE ID; not a CA), and a CA of one trust
    /// domain never vouches for an ID of another. Replaces --client-ca and
    /// --trusted.
    #[arg(
        long = "trust-domain",
        value_name = "TD=FILE",
        value_parser = parse_trust_domain,
        conflicts_with_all = ["client_ca", "trusted", "crl"]
    )]
    trust_domains: Vec<TrustDomain>,
}

/// The trust stores of `--trust-domain`: one per trust domain, and one over
/// all their files, whose CA names are advertised and linted.
#[derive(Clone, Debug)]
pub(crate) struct SpiffeTrust {
    /// Every bundle file: the CA names advertised and linted.
    pub(crate) all: ReloadableTrustStore,
    domains: Vec<(String, ReloadableTrustStore)>,
}

impl TrustDomainArgs {
    /// Whether any `--trust-domain` was given.
    pub(crate) fn given(&self) -> bool {
        !self.trust_domains.is_empty()
    }

    /// Loads every bundle; `None` without `--trust-domain`.
    pub(crate) fn load(&self) -> Result<Option<SpiffeTrust>, CliError> {
        if !self.given() {
            return Ok(None);
        }
        SpiffeTrust::load(&self.trust_domains).map(Some)
    }
}

impl SpiffeTrust {
    /// Loads the bundle of each trust domain.
    pub(crate) fn load(trust_domains: &[TrustDomain]) -> Result<Self, CliError> {
        let mut domains = Vec::new();
        let mut all = TrustStoreFiles::new();
        for domain in trust_domains {
            let flag = format!("{TRUST_DOMAIN} {}", domain.name);
            let files = std::slice::from_ref(&domain.file);
            let store =
                ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&domain.file))
                    .map_err(|error| trust::store_error(&error, files, &[], &flag))?;
            domains.push((domain.name.clone(), store));
            all = all.ca_file(&domain.file);
        }
        let files: Vec<PathBuf> = trust_domains.iter().map(|d| d.file.clone()).collect();
        let all = ReloadableTrustStore::from_files(all)
            .map_err(|error| trust::store_error(&error, &files, &[], TRUST_DOMAIN))?;
        Ok(Self { all, domains })
    }

    /// `builder` verifying each trust domain against its own bundle (which
    /// turns on the X509-SVID rules).
    pub(crate) fn apply(&self, builder: ClassifierBuilder) -> ClassifierBuilder {
        self.domains.iter().fold(builder, |builder, (name, store)| {
            builder.trust_domain(name.clone(), store.clone())
        })
    }

    /// The trust domains, in the order given.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.domains.iter().map(|(name, _)| name.as_str())
    }

    /// The per-trust-domain stores, to reload with the others.
    pub(crate) fn domain_stores(&self) -> impl Iterator<Item = &ReloadableTrustStore> {
        self.domains.iter().map(|(_, store)| store)
    }
}

fn parse_spiffe_id(value: &str) -> Result<SpiffeId, String> {
    value.parse().map_err(|error| {
        format!("{value:?} is not a SPIFFE ID ({error}): use e.g. spiffe://example.org/ns/web")
    })
}

fn parse_member_of(value: &str) -> Result<SpiffeAuthorizer, String> {
    SpiffeAuthorizer::member_of(value).map_err(|error| {
        format!("{value:?} is not a SPIFFE trust domain name ({error}): use e.g. example.org")
    })
}

/// The SPIFFE ID authorizers of `serve`: a verified client is let in if
/// any of them allows it, otherwise 403.
#[derive(Debug, clap::Args)]
pub(crate) struct SpiffeAuthzArgs {
    /// Allow a client whose SPIFFE ID is exactly ID; repeat for a set (any
    /// of them). Other verified clients get 403 unless another --spiffe-*
    /// flag allows them.
    #[arg(long = "spiffe-id", value_name = "ID", value_parser = parse_spiffe_id)]
    spiffe_id: Vec<SpiffeId>,

    /// Allow every client whose SPIFFE ID is in trust domain TD; repeatable.
    #[arg(long = "spiffe-trust-domain", value_name = "TD", value_parser = parse_member_of)]
    spiffe_trust_domain: Vec<SpiffeAuthorizer>,

    /// Allow a client whose SPIFFE ID is ID or below it by whole path
    /// segments (spiffe://td/ns/prod allows spiffe://td/ns/prod/sa/web, not
    /// spiffe://td/ns/production); repeatable.
    #[arg(long = "spiffe-path-prefix", value_name = "ID", value_parser = parse_spiffe_id)]
    spiffe_path_prefix: Vec<SpiffeId>,
}

impl SpiffeAuthzArgs {
    /// One policy allowing what any flag allows; `None` without flags.
    pub(crate) fn authorizer(&self) -> Option<impl Authorize + use<>> {
        let ids = (!self.spiffe_id.is_empty())
            .then(|| SpiffeAuthorizer::one_of(self.spiffe_id.iter().cloned()));
        let prefixes = self
            .spiffe_path_prefix
            .iter()
            .cloned()
            .map(SpiffeAuthorizer::path_prefix);
        let all: Vec<SpiffeAuthorizer> = ids
            .into_iter()
            .chain(self.spiffe_trust_domain.iter().cloned())
            .chain(prefixes)
            .collect();
        any_of(all)
    }
}

/// A policy type of its own for a boxed policy.
type Boxed = Box<dyn Authorize>;

/// `policies` combined with [`Authorize::or`], under the name of the
/// combination (`spiffe` for one, `any_of` for several).
fn any_of(policies: Vec<SpiffeAuthorizer>) -> Option<impl Authorize + use<>> {
    let mut policies = policies.into_iter();
    let first: Boxed = Box::new(policies.next()?);
    let combined = policies.fold(first, |acc, next| Box::new(unbox(acc).or(next)));
    let name = combined.name();
    Some(unbox(combined).named(name))
}

fn unbox(policy: Boxed) -> impl Authorize {
    move |client: &ClientIdentity| -> Result<(), Cow<'static, str>> { policy.authorize(client) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_domain_arguments() {
        let td = parse_trust_domain("prod.example.org=a=b.json").expect("valid");
        assert_eq!(td.name, "prod.example.org");
        assert_eq!(td.file, PathBuf::from("a=b.json"));
        for bad in [
            "prod.example.org",
            "=x.pem",
            "td=",
            "Prod Example=x.pem",
            "td/x=x.pem",
        ] {
            let error = parse_trust_domain(bad).expect_err(bad);
            assert!(error.contains("expected TD=FILE"), "{bad}: {error}");
        }
    }

    #[test]
    fn authorizers_combine_as_any_of() {
        let args = SpiffeAuthzArgs {
            spiffe_id: vec![parse_spiffe_id("spiffe://a/x").expect("id")],
            spiffe_trust_domain: vec![parse_member_of("b").expect("td")],
            spiffe_path_prefix: vec![parse_spiffe_id("spiffe://c/ns").expect("id")],
        };
        let policy = args.authorizer().expect("a policy");
        assert_eq!(policy.name(), "any_of");
        let client = |uri: &str| {
            let leaf = mtls_testpki::Ca::root("ca")
                .build()
                .leaf("c")
                .uri(uri)
                .build();
            ClientIdentity::from_der(leaf.cert_der()).expect("identity")
        };
        for allowed in ["spiffe://a/x", "spiffe://b/y", "spiffe://c/ns/z"] {
            assert_eq!(policy.authorize(&client(allowed)), Ok(()), "{allowed}");
        }
        let refused = policy
            .authorize(&client("spiffe://a/y"))
            .expect_err("not allowed");
        assert!(refused.contains("is not spiffe://a/x"), "{refused}");
        assert!(refused.contains("is not in trust domain b"), "{refused}");
        let none = SpiffeAuthzArgs {
            spiffe_id: vec![],
            spiffe_trust_domain: vec![],
            spiffe_path_prefix: vec![],
        };
        assert!(none.authorizer().is_none());
        let one = SpiffeAuthzArgs {
            spiffe_id: vec![],
            spiffe_trust_domain: vec![parse_member_of("b").expect("td")],
            spiffe_path_prefix: vec![],
        };
        assert_eq!(one.authorizer().expect("a policy").name(), "spiffe");
    }
}
