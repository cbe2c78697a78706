//! SPIFFE bundles (JWK Sets) shaped exactly as SPIRE writes them
//! (`spire-server bundle show -format spiffe`, federation bundle endpoints).

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::pki::DirWriter;
use crate::{Ca, Leaf, PemPair};

/// A SPIFFE bundle of `authorities` (one `x509-svid` key each: `kty`, `crv`,
/// `x`, `y` of the CA's EC key, or `n`, `e` of an RSA key, and `x5c` with its
/// certificate), one `jwt-svid` key (`kid`, an EC P-256 key, no `x5c`), then
/// `spiffe_sequence` and `spiffe_refresh_hint` (seconds), indented as SPIRE's
/// CLI prints it.
///
/// ```
/// let ca = mtls_testpki::Ca::root("example.org CA").build();
/// let json = mtls_testpki::spiffe_bundle_json(&[&ca], 3, 300);
/// assert!(json.contains("\"use\": \"x509-svid\""));
/// assert!(json.contains("\"use\": \"jwt-svid\""));
/// assert!(json.contains("\"spiffe_sequence\": 3"));
/// assert!(json.contains("\"spiffe_refresh_hint\": 300"));
/// ```
pub fn spiffe_bundle_json(authorities: &[&Ca], sequence: u64, refresh_hint_secs: u64) -> String {
    let mut keys: Vec<String> = authorities.iter().map(|ca| x509_svid_key(ca)).collect();
    let jwt = Ca::root("jwt-svid signing key").build();
    let (x, y) = ec_point(jwt.key_pair().public_key_raw());
    keys.push(format!(
        "        {{\n            \"use\": \"jwt-svid\",\n            \"kty\": \"EC\",\n            \
         \"kid\": \"C6vs25welZOx6WksNYfbMfiw9l96pMnD\",\n            \"crv\": \"P-256\",\n            \
         \"x\": \"{x}\",\n            \"y\": \"{y}\"\n        }}"
    ));
    format!(
        "{{\n    \"keys\": [\n{}\n    ],\n    \"spiffe_sequence\": {sequence},\n    \
         \"spiffe_refresh_hint\": {refresh_hint_secs}\n}}\n",
        keys.join(",\n")
    )
}

/// One `x509-svid` JWK for `ca`.
fn x509_svid_key(ca: &Ca) -> String {
    let raw = ca.key_pair().public_key_raw();
    let mut key = String::from("        {\n            \"use\": \"x509-svid\",\n");
    match ca.key_algorithm() {
        crate::KeyAlgorithm::EcdsaP256 | crate::KeyAlgorithm::EcdsaP384 => {
            let crv = if raw.len() == 65 { "P-256" } else { "P-384" };
            let (x, y) = ec_point(raw);
            let _ = write!(
                key,
                "            \"kty\": \"EC\",\n            \"crv\": \"{crv}\",\n            \
                 \"x\": \"{x}\",\n            \"y\": \"{y}\",\n"
            );
        }
        crate::KeyAlgorithm::Rsa2048 => {
            let (n, e) = rsa_key(raw);
            let _ = write!(
                key,
                "            \"kty\": \"RSA\",\n            \"n\": \"{n}\",\n            \
                 \"e\": \"{e}\",\n"
            );
        }
        // SPIRE has no Ed25519 CAs; the OKP form of RFC 8037.
        crate::KeyAlgorithm::Ed25519 => {
            let _ = write!(
                key,
                "            \"kty\": \"OKP\",\n            \"crv\": \"Ed25519\",\n            \
                 \"x\": \"{}\",\n",
                URL_SAFE_NO_PAD.encode(raw)
            );
        }
    }
    let _ = write!(
        key,
        "            \"x5c\": [\n                \"{}\"\n            ]\n        }}",
        STANDARD.encode(ca.cert_der())
    );
    key
}

/// `x`, `y` (base64url) of an uncompressed EC point `04 || x || y`.
fn ec_point(raw: &[u8]) -> (String, String) {
    let coordinates = raw.get(1..).unwrap_or_default();
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))
}

/// `n`, `e` (base64url, no leading zeros) of a DER RSAPublicKey.
fn rsa_key(der: &[u8]) -> (String, String) {
    let (_, body, _, _) = crate::der::split(der);
    let (_, n, _, rest) = crate::der::split(body);
    let (_, e, _, _) = crate::der::split(rest);
    let strip = |v: &[u8]| -> Vec<u8> { v.iter().copied().skip_while(|&b| b == 0).collect() };
    (
        URL_SAFE_NO_PAD.encode(strip(n)),
        URL_SAFE_NO_PAD.encode(strip(e)),
    )
}

/// A two-trust-domain SPIFFE scenario (federation), built by
/// [`SpiffePki::generate`]: trust domains [`SpiffePki::TRUST_DOMAIN_A`] and
/// [`SpiffePki::TRUST_DOMAIN_B`], one root CA each, each bundle written both
/// as PEM and as a SPIFFE bundle (JSON, as SPIRE serves it).
///
/// | field | issuer | what it is |
/// |---|---|---|
/// | `ca_a` | self | CA of trust domain A (`CN=prod.example.org SPIFFE CA`) |
/// | `ca_b` | self | CA of trust domain B (`CN=partner.example.net SPIFFE CA`) |
/// | `server` | `ca_a` | TLS server certificate for `localhost`, `127.0.0.1`, `::1` |
/// | `svid_a` | `ca_a` | X509-SVID [`SpiffePki::ID_A`] |
/// | `svid_b` | `ca_b` | X509-SVID [`SpiffePki::ID_B`] |
/// | `forged` | `ca_b` | [`SpiffePki::ID_A`]: an ID of A minted by B's CA |
/// | `two_uris` | `ca_a` | no SPIFFE ID: URI SANs `spiffe://evil.example/x`, then [`SpiffePki::ID_A`] |
///
/// ```
/// let spiffe = mtls_testpki::SpiffePki::generate();
/// assert_eq!(spiffe.svid_a.chain().len(), 1);
/// assert!(spiffe.bundle_a_json().contains("\"x509-svid\""));
/// let dir = std::env::temp_dir().join(format!("mtls-testpki-spiffe-{}", std::process::id()));
/// let files = spiffe.write_to_dir(&dir).unwrap();
/// assert!(files.bundle_b_json.ends_with("spiffe-b-bundle.json"));
/// assert!(files.forged.cert.exists());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct SpiffePki {
    /// The CA of trust domain A.
    pub ca_a: Ca,
    /// The CA of trust domain B.
    pub ca_b: Ca,
    /// The TLS server certificate (`localhost`), issued by `ca_a`.
    pub server: Leaf,
    /// An X509-SVID of A.
    pub svid_a: Leaf,
    /// An X509-SVID of B.
    pub svid_b: Leaf,
    /// A's ID, issued by B's CA.
    pub forged: Leaf,
    /// Two URI SANs, issued by A's CA.
    pub two_uris: Leaf,
}

/// The files written by [`SpiffePki::write_to_dir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiffePkiFiles {
    /// The directory everything was written to.
    pub dir: PathBuf,
    /// `spiffe-a-ca.pem`, `.key`.
    pub ca_a: PemPair,
    /// `spiffe-b-ca.pem`, `.key`.
    pub ca_b: PemPair,
    /// `spiffe-a-bundle.pem`: A's bundle as PEM.
    pub bundle_a_pem: PathBuf,
    /// `spiffe-a-bundle.json`: A's SPIFFE bundle as SPIRE writes it.
    pub bundle_a_json: PathBuf,
    /// `spiffe-b-bundle.pem`: B's bundle as PEM.
    pub bundle_b_pem: PathBuf,
    /// `spiffe-b-bundle.json`: B's SPIFFE bundle.
    pub bundle_b_json: PathBuf,
    /// `spiffe-server.pem`, `.key`.
    pub server: PemPair,
    /// `svid-a.pem`, `.key`.
    pub svid_a: PemPair,
    /// `svid-b.pem`, `.key`.
    pub svid_b: PemPair,
    /// `svid-a-signed-by-b.pem`, `.key`.
    pub forged: PemPair,
    /// `svid-two-uris.pem`, `.key`.
    pub two_uris: PemPair,
}

impl SpiffePki {
    /// Trust domain A.
    pub const TRUST_DOMAIN_A: &'static str = "prod.example.org";
    /// Trust domain B.
    pub const TRUST_DOMAIN_B: &'static str = "partner.example.net";
    /// The SPIFFE ID of [`svid_a`](Self::svid_a) (and of the forgery).
    pub const ID_A: &'static str = "spiffe://prod.example.org/ns/web/sa/api";
    /// The SPIFFE ID of [`svid_b`](Self::svid_b).
    pub const ID_B: &'static str = "spiffe://partner.example.net/billing";

    /// Generates the scenario (fresh keys every call).
    pub fn generate() -> Self {
        let ca_a = Ca::root("prod.example.org SPIFFE CA").build();
        let ca_b = Ca::root("partner.example.net SPIFFE CA").build();
        let server = ca_a
            .leaf("localhost")
            .server(["localhost", "127.0.0.1", "::1"])
            .build();
        let svid_a = ca_a.leaf("api").uri(Self::ID_A).build();
        let svid_b = ca_b.leaf("billing").uri(Self::ID_B).build();
        let forged = ca_b.leaf("forged-api").uri(Self::ID_A).build();
        let two_uris = ca_a
            .leaf("two-uris")
            .uri("spiffe://evil.example/x")
            .uri(Self::ID_A)
            .build();
        Self {
            ca_a,
            ca_b,
            server,
            svid_a,
            svid_b,
            forged,
            two_uris,
        }
    }

    /// A's bundle, SPIFFE JSON (sequence 1, refresh hint 300 s).
    pub fn bundle_a_json(&self) -> String {
        spiffe_bundle_json(&[&self.ca_a], 1, 300)
    }

    /// B's bundle, SPIFFE JSON (sequence 1, refresh hint 300 s).
    pub fn bundle_b_json(&self) -> String {
        spiffe_bundle_json(&[&self.ca_b], 1, 300)
    }

    /// Writes every file to `dir` (created if missing, existing files
    /// overwritten): the fields of [`SpiffePkiFiles`].
    ///
    /// # Errors
    ///
    /// The first I/O error.
    pub fn write_to_dir(&self, dir: impl AsRef<Path>) -> io::Result<SpiffePkiFiles> {
        let dir = dir.as_ref();
        let out = DirWriter::create(dir)?;
        Ok(SpiffePkiFiles {
            dir: dir.to_path_buf(),
            ca_a: out.ca("spiffe-a-ca", &self.ca_a)?,
            ca_b: out.ca("spiffe-b-ca", &self.ca_b)?,
            bundle_a_pem: out.file("spiffe-a-bundle.pem", &self.ca_a.cert_pem())?,
            bundle_a_json: out.file("spiffe-a-bundle.json", &self.bundle_a_json())?,
            bundle_b_pem: out.file("spiffe-b-bundle.pem", &self.ca_b.cert_pem())?,
            bundle_b_json: out.file("spiffe-b-bundle.json", &self.bundle_b_json())?,
            server: out.leaf("spiffe-server", &self.server)?,
            svid_a: out.leaf("svid-a", &self.svid_a)?,
            svid_b: out.leaf("svid-b", &self.svid_b)?,
            forged: out.leaf("svid-a-signed-by-b", &self.forged)?,
            two_uris: out.leaf("svid-two-uris", &self.two_uris)?,
        })
    }
}
