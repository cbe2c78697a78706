//! The scenario PKI (from `mtls-testpki`) and the client situations tried
//! against every server.

use std::path::{Path, PathBuf};

use mtls_testpki::name::oid;
use mtls_testpki::rustls_pki_types::{CertificateDer, PrivateKeyDer};
use mtls_testpki::{Ca, Leaf, Name, Pki, bundle_pem};

/// What a client presents.
pub(crate) struct Presented {
    /// The leaf (its key signs CertificateVerify; its fields are what the
    /// identity variables describe).
    pub(crate) leaf: Leaf,
    /// The certificates sent, leaf first.
    pub(crate) chain: Vec<CertificateDer<'static>>,
}

impl Presented {
    fn chain(leaf: &Leaf) -> Self {
        Self::exactly(leaf, leaf.chain())
    }

    fn exactly(leaf: &Leaf, chain: Vec<CertificateDer<'static>>) -> Self {
        Self {
            leaf: leaf.clone(),
            chain,
        }
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.leaf.key_der()
    }
}

/// One client situation of the matrix.
pub(crate) struct Situation {
    /// Short row label.
    pub(crate) name: &'static str,
    /// `None`: the client sends no certificate.
    pub(crate) presented: Option<Presented>,
}

/// The files both servers are configured with.
pub(crate) struct ServerFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    /// Root + intermediate (nginx `ssl_client_certificate`, `--client-ca`).
    pub(crate) ca_bundle: PathBuf,
    /// A CRL for every CA that issues a certificate below (nginx `ssl_crl`
    /// needs one per CA in the chain), except `no_crl_ca`.
    pub(crate) crl_bundle: PathBuf,
}

/// The PKI, its files and the situations.
pub(crate) struct Scenario {
    pub(crate) pki: Pki,
    pub(crate) files: ServerFiles,
    pub(crate) situations: Vec<Situation>,
    /// Unix second at which the last certificate was made.
    pub(crate) generated_at: u64,
}

impl Scenario {
    pub(crate) fn generate(dir: &Path) -> Self {
        let pki = Pki::generate();

        // Intermediates under the root that are NOT in the CA bundle: the
        // client must send them. `deep[0]` issues the depth-1 leaf,
        // `deep[1]` (signed by `deep[0]`) the depth-2 leaf.
        let deep = pki.root.chain_of_intermediates(2);
        let depth_1 = deep[0].leaf("client-depth-1").build();
        let depth_2 = deep[1].leaf("client-depth-2").build();
        // An intermediate with no CRL in the CRL bundle.
        let no_crl_ca = pki.root.intermediate("mtls-status No-CRL CA").build();
        let no_crl_leaf = no_crl_ca.leaf("client-no-crl").build();
        let rich = rich_subject_leaf(&pki.intermediate);

        let write = |name: &str, contents: String| -> PathBuf {
            let path = dir.join(name);
            std::fs::write(&path, contents).expect("write a PEM file");
            path
        };
        let crls = [
            pki.root_crl.pem(),
            pki.intermediate_crl.pem(),
            deep[0].crl().build().pem(),
            deep[1].crl().build().pem(),
        ]
        .concat();
        let files = ServerFiles {
            cert: write("server.pem", pki.server.chain_pem()),
            key: write("server.key", pki.server.key_pem()),
            ca_bundle: write("ca-bundle.pem", bundle_pem(&[&pki.root, &pki.intermediate])),
            crl_bundle: write("crl-bundle.pem", crls),
        };

        let at = |leaf: &Leaf| Some(Presented::chain(leaf));
        let situations = vec![
            Situation {
                name: "no certificate",
                presented: None,
            },
            Situation {
                name: "valid, from root",
                presented: at(&pki.valid_from_root),
            },
            Situation {
                name: "valid, int. sent",
                presented: at(&pki.valid_via_intermediate),
            },
            Situation {
                name: "valid, int. in bundle",
                presented: Some(Presented::exactly(
                    &pki.valid_via_intermediate,
                    vec![pki.valid_via_intermediate.cert_der()],
                )),
            },
            Situation {
                name: "depth 1 (at limit)",
                presented: at(&depth_1),
            },
            Situation {
                name: "depth 2 (too deep)",
                presented: at(&depth_2),
            },
            Situation {
                name: "intermediate missing",
                presented: Some(Presented::exactly(&depth_1, vec![depth_1.cert_der()])),
            },
            Situation {
                name: "unknown CA",
                presented: at(&pki.unknown_ca),
            },
            Situation {
                name: "unknown CA + its root",
                presented: Some(Presented::exactly(
                    &pki.unknown_ca,
                    pki.unknown_ca.chain_with_root(),
                )),
            },
            Situation {
                name: "self-signed",
                presented: at(&pki.self_signed),
            },
            Situation {
                name: "expired",
                presented: at(&pki.expired),
            },
            Situation {
                name: "not yet valid",
                presented: at(&pki.not_yet_valid),
            },
            Situation {
                name: "revoked",
                presented: at(&pki.revoked),
            },
            Situation {
                name: "EKU serverAuth only",
                presented: at(&pki.server_auth_only),
            },
            Situation {
                name: "issuer has no CRL",
                presented: at(&no_crl_leaf),
            },
            Situation {
                name: "valid, odd subject",
                presented: at(&rich),
            },
        ];
        Self {
            pki,
            files,
            situations,
            generated_at: unix_secs(),
        }
    }
}

impl Scenario {
    /// Returns once the clock is past the second the certificates were
    /// made in (at most a second). Their notAfter is a whole number of days
    /// after that second, so during it `$ssl_client_v_remain` is 365 and
    /// right after 364: a request to nginx and the same request to `mtls
    /// serve` must not straddle that tick.
    pub(crate) fn wait_past_generation_second(&self) {
        while unix_secs() <= self.generated_at {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A valid leaf whose subject and serial exercise the formatting rules of
/// the identity variables: multi-valued RDN, repeated DC, UTF-8, every
/// RFC 2253 special character, leading `#` and space, trailing space, `/`
/// and `+` (escaped by OpenSSL's legacy one-line form), a serial whose
/// first byte has its high bit set (DER pads it with `00`).
fn rich_subject_leaf(issuer: &Ca) -> Leaf {
    let subject = Name::new()
        .domain_component("com")
        .domain_component("example")
        .country("US")
        .state("trail ")
        .locality("a;b<>=/c\\d")
        .organization("#hash, Inc.")
        .organizational_unit(" R&D+Ops")
        .multi([
            (oid::COMMON_NAME, "J\u{fc}rgen \"JJ\" M\u{fc}ller"),
            (oid::USER_ID, "u1"),
        ])
        .email_address("jj@example.com");
    issuer
        .leaf("rich")
        .subject_name(subject)
        .serial([0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
        .build()
}
