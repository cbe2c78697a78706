//! The ready-made scenario PKI and file output.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{Ca, Crl, Leaf, self_signed_client};

/// Concatenates the PEM certificates of `cas`, in order, into one bundle (an nginx
/// `ssl_client_certificate` / `ssl_trusted_certificate` file).
///
/// ```
/// use mtls_testpki::{Ca, bundle_pem};
///
/// let a = Ca::root("A").build();
/// let b = Ca::root("B").build();
/// let bundle = bundle_pem(&[&a, &b]);
/// assert_eq!(bundle.matches("-----BEGIN CERTIFICATE-----").count(), 2);
/// assert!(bundle.starts_with(&a.cert_pem()));
/// ```
pub fn bundle_pem(cas: &[&Ca]) -> String {
    cas.iter().map(|ca| ca.cert_pem()).collect()
}

/// The standard test scenario, built in one call by [`Pki::generate`].
///
/// | field | issuer | what it is |
/// |---|---|---|
/// | `root` | self | root CA `CN=mtls-status Test Root CA` |
/// | `intermediate` | root | `CN=mtls-status Test Intermediate CA` |
/// | `server` | root | `CN=localhost`, SANs `localhost`, `127.0.0.1`, `::1`, EKU serverAuth |
/// | `valid_from_root` | root | `CN=client-valid`, SANs URI `spiffe://example.org/ns/prod/sa/web`, DNS `client-valid.example.org`, email `client-valid@example.org` |
/// | `valid_via_intermediate` | intermediate | `CN=client-intermediate`, chain = leaf + intermediate |
/// | `expired` | root | `CN=client-expired`, valid until yesterday |
/// | `not_yet_valid` | root | `CN=client-not-yet-valid`, valid from next year |
/// | `server_auth_only` | root | `CN=client-server-auth-only`, EKU serverAuth only (wrong purpose) |
/// | `self_signed` | self | `CN=client-self-signed`, not a CA, EKU clientAuth |
/// | `unknown_root` | self | `CN=mtls-status Unknown Root CA`, trusted by nobody |
/// | `unknown_ca` | unknown root | `CN=client-unknown-ca` |
/// | `revoked` | root | `CN=client-revoked`, listed in `root_crl` |
/// | `root_crl` | root | valid CRL revoking `revoked` |
/// | `intermediate_crl` | intermediate | valid, empty CRL |
/// | `expired_root_crl` | root | CRL revoking `revoked` whose `nextUpdate` was yesterday |
///
/// All client leaves have EKU clientAuth (except `server_auth_only`), ECDSA P-256 keys
/// and the default validity (1 day ago to a year ahead) unless stated.
///
/// ```
/// use mtls_testpki::Pki;
///
/// let pki = Pki::generate();
/// assert_eq!(pki.valid_via_intermediate.chain().len(), 2);
/// assert_eq!(pki.root_crl.revoked_serials(), &[pki.revoked.serial().to_vec()]);
/// assert_eq!(pki.clients().len(), 8);
///
/// let dir = std::env::temp_dir().join(format!("mtls-testpki-doc-{}", std::process::id()));
/// let files = pki.write_to_dir(&dir).unwrap();
/// assert!(files.client_valid.cert.ends_with("client-valid.pem"));
/// assert!(files.root_crl.exists());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Pki {
    /// Root CA `CN=mtls-status Test Root CA`.
    pub root: Ca,
    /// Intermediate CA `CN=mtls-status Test Intermediate CA`, signed by `root`.
    pub intermediate: Ca,
    /// TLS server certificate for `localhost`, `127.0.0.1` and `::1`, signed by `root`.
    pub server: Leaf,
    /// Valid client certificate issued directly by `root`.
    pub valid_from_root: Leaf,
    /// Valid client certificate issued by `intermediate`.
    pub valid_via_intermediate: Leaf,
    /// Expired client certificate from `root`.
    pub expired: Leaf,
    /// Client certificate from `root` that is not valid yet.
    pub not_yet_valid: Leaf,
    /// Client certificate from `root` with EKU serverAuth only.
    pub server_auth_only: Leaf,
    /// Self-signed client certificate.
    pub self_signed: Leaf,
    /// An unrelated root that nobody trusts.
    pub unknown_root: Ca,
    /// Client certificate issued by `unknown_root`.
    pub unknown_ca: Leaf,
    /// Client certificate from `root`, revoked in `root_crl`.
    pub revoked: Leaf,
    /// Current CRL of `root`, listing `revoked`.
    pub root_crl: Crl,
    /// Current (empty) CRL of `intermediate`.
    pub intermediate_crl: Crl,
    /// Expired CRL of `root` (also lists `revoked`).
    pub expired_root_crl: Crl,
}

impl Pki {
    /// Generates the whole scenario (fresh keys every call; takes milliseconds).
    ///
    /// # Panics
    ///
    /// If rcgen fails, which it does not with these parameters.
    pub fn generate() -> Self {
        let root = Ca::root("mtls-status Test Root CA").build();
        let intermediate = root
            .intermediate("mtls-status Test Intermediate CA")
            .build();
        let unknown_root = Ca::root("mtls-status Unknown Root CA").build();
        let server = root
            .leaf("localhost")
            .server(["localhost", "127.0.0.1", "::1"])
            .build();
        let valid_from_root = root
            .leaf("client-valid")
            .uri("spiffe://example.org/ns/prod/sa/web")
            .dns("client-valid.example.org")
            .email("client-valid@example.org")
            .build();
        let valid_via_intermediate = intermediate.leaf("client-intermediate").build();
        let expired = root.leaf("client-expired").expired().build();
        let not_yet_valid = root.leaf("client-not-yet-valid").not_yet_valid().build();
        let server_auth_only = root
            .leaf("client-server-auth-only")
            .server_auth_only()
            .build();
        let self_signed = self_signed_client("client-self-signed");
        let unknown_ca = unknown_root.leaf("client-unknown-ca").build();
        let revoked = root.leaf("client-revoked").build();
        let root_crl = root.crl().revoke(&revoked).build();
        let intermediate_crl = intermediate.crl().build();
        let expired_root_crl = root.crl().revoke(&revoked).expired().build();
        Self {
            root,
            intermediate,
            server,
            valid_from_root,
            valid_via_intermediate,
            expired,
            not_yet_valid,
            server_auth_only,
            self_signed,
            unknown_root,
            unknown_ca,
            revoked,
            root_crl,
            intermediate_crl,
            expired_root_crl,
        }
    }

    /// All client leaves with their stable scenario names (also their file stems in
    /// [`write_to_dir`](Pki::write_to_dir)): `client-valid`, `client-intermediate`,
    /// `client-expired`, `client-not-yet-valid`, `client-server-auth-only`,
    /// `client-self-signed`, `client-unknown-ca`, `client-revoked`.
    pub fn clients(&self) -> [(&'static str, &Leaf); 8] {
        [
            ("client-valid", &self.valid_from_root),
            ("client-intermediate", &self.valid_via_intermediate),
            ("client-expired", &self.expired),
            ("client-not-yet-valid", &self.not_yet_valid),
            ("client-server-auth-only", &self.server_auth_only),
            ("client-self-signed", &self.self_signed),
            ("client-unknown-ca", &self.unknown_ca),
            ("client-revoked", &self.revoked),
        ]
    }

    /// A client leaf under `root` with `n` fresh chained intermediates in between
    /// (`n = 0`: issued by `root` directly). Its [`chain`](Leaf::chain) holds the leaf
    /// and the `n` intermediates, so it has nginx "depth" `n`.
    ///
    /// ```
    /// let pki = mtls_testpki::Pki::generate();
    /// assert_eq!(pki.deep_chain(0).chain().len(), 1);
    /// assert_eq!(pki.deep_chain(3).chain().len(), 4);
    /// ```
    pub fn deep_chain(&self, n: usize) -> Leaf {
        let intermediates = self.root.chain_of_intermediates(n);
        intermediates
            .last()
            .unwrap_or(&self.root)
            .leaf(format!("client-depth-{n}"))
            .build()
    }

    /// PEM bundle of `root` then `intermediate`.
    pub fn ca_bundle_pem(&self) -> String {
        bundle_pem(&[&self.root, &self.intermediate])
    }

    /// PEM of `root_crl` then `intermediate_crl` (one file with a CRL for every CA, as
    /// nginx `ssl_crl` expects).
    pub fn crl_bundle_pem(&self) -> String {
        self.root_crl.pem() + &self.intermediate_crl.pem()
    }

    /// Writes everything as PEM files with stable names into `dir` (created if
    /// missing, existing files overwritten) and returns their paths.
    ///
    /// | file | content |
    /// |---|---|
    /// | `root.pem`, `root.key` | root CA certificate, key |
    /// | `intermediate.pem`, `intermediate.key` | intermediate CA certificate, key |
    /// | `ca-bundle.pem` | root + intermediate certificates |
    /// | `unknown-root.pem`, `unknown-root.key` | the untrusted root |
    /// | `server.pem`, `server.key` | server certificate (root-issued, so no chain), key |
    /// | `client-<scenario>.pem`, `client-<scenario>.key` | for each of [`clients`](Pki::clients): the [`chain`](Leaf::chain) (leaf first, intermediates after, never the root) and the key |
    /// | `root.crl.pem`, `intermediate.crl.pem` | current CRLs |
    /// | `crl-bundle.pem` | both current CRLs |
    /// | `root-expired.crl.pem` | expired root CRL |
    ///
    /// # Errors
    ///
    /// Any I/O error creating the directory or writing a file.
    pub fn write_to_dir(&self, dir: impl AsRef<Path>) -> io::Result<PkiFiles> {
        let dir = dir.as_ref();
        let out = DirWriter::create(dir)?;
        let write = |name: &str, contents: &str| out.file(name, contents);
        let leaf = |stem: &str, leaf: &Leaf| out.leaf(stem, leaf);
        let ca = |stem: &str, ca: &Ca| out.ca(stem, ca);
        Ok(PkiFiles {
            dir: dir.to_path_buf(),
            root: ca("root", &self.root)?,
            intermediate: ca("intermediate", &self.intermediate)?,
            ca_bundle: write("ca-bundle.pem", &self.ca_bundle_pem())?,
            unknown_root: ca("unknown-root", &self.unknown_root)?,
            server: leaf("server", &self.server)?,
            client_valid: leaf("client-valid", &self.valid_from_root)?,
            client_intermediate: leaf("client-intermediate", &self.valid_via_intermediate)?,
            client_expired: leaf("client-expired", &self.expired)?,
            client_not_yet_valid: leaf("client-not-yet-valid", &self.not_yet_valid)?,
            client_server_auth_only: leaf("client-server-auth-only", &self.server_auth_only)?,
            client_self_signed: leaf("client-self-signed", &self.self_signed)?,
            client_unknown_ca: leaf("client-unknown-ca", &self.unknown_ca)?,
            client_revoked: leaf("client-revoked", &self.revoked)?,
            root_crl: write("root.crl.pem", &self.root_crl.pem())?,
            intermediate_crl: write("intermediate.crl.pem", &self.intermediate_crl.pem())?,
            crl_bundle: write("crl-bundle.pem", &self.crl_bundle_pem())?,
            expired_root_crl: write("root-expired.crl.pem", &self.expired_root_crl.pem())?,
        })
    }
}

/// Writes the files of a scenario into one directory, created first.
pub(crate) struct DirWriter<'a>(&'a Path);

impl<'a> DirWriter<'a> {
    /// Creates `dir` (if missing).
    pub(crate) fn create(dir: &'a Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self(dir))
    }

    /// Writes `contents` to `name` in the directory.
    pub(crate) fn file(&self, name: &str, contents: &str) -> io::Result<PathBuf> {
        let path = self.0.join(name);
        fs::write(&path, contents)?;
        Ok(path)
    }

    /// `stem.pem` (`leaf`'s chain without the root) and `stem.key`.
    pub(crate) fn leaf(&self, stem: &str, leaf: &Leaf) -> io::Result<PemPair> {
        self.pair(stem, &leaf.chain_pem(), &leaf.key_pem())
    }

    /// `stem.pem` (`ca`'s certificate) and `stem.key`.
    pub(crate) fn ca(&self, stem: &str, ca: &Ca) -> io::Result<PemPair> {
        self.pair(stem, &ca.cert_pem(), &ca.key_pem())
    }

    fn pair(&self, stem: &str, cert: &str, key: &str) -> io::Result<PemPair> {
        Ok(PemPair {
            cert: self.file(&format!("{stem}.pem"), cert)?,
            key: self.file(&format!("{stem}.key"), key)?,
        })
    }
}

/// Paths of a certificate (or chain) PEM file and its private key PEM file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PemPair {
    /// Certificate PEM (for leaves: the chain without the root, leaf first).
    pub cert: PathBuf,
    /// PKCS#8 private key PEM.
    pub key: PathBuf,
}

/// The files written by [`Pki::write_to_dir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkiFiles {
    /// The directory everything was written to.
    pub dir: PathBuf,
    /// `root.pem`, `root.key`.
    pub root: PemPair,
    /// `intermediate.pem`, `intermediate.key`.
    pub intermediate: PemPair,
    /// `ca-bundle.pem`: root then intermediate.
    pub ca_bundle: PathBuf,
    /// `unknown-root.pem`, `unknown-root.key`.
    pub unknown_root: PemPair,
    /// `server.pem`, `server.key`.
    pub server: PemPair,
    /// `client-valid.pem`, `.key` ([`Pki::valid_from_root`]).
    pub client_valid: PemPair,
    /// `client-intermediate.pem` (leaf + intermediate), `.key`.
    pub client_intermediate: PemPair,
    /// `client-expired.pem`, `.key`.
    pub client_expired: PemPair,
    /// `client-not-yet-valid.pem`, `.key`.
    pub client_not_yet_valid: PemPair,
    /// `client-server-auth-only.pem`, `.key`.
    pub client_server_auth_only: PemPair,
    /// `client-self-signed.pem`, `.key`.
    pub client_self_signed: PemPair,
    /// `client-unknown-ca.pem` (leaf only), `.key`.
    pub client_unknown_ca: PemPair,
    /// `client-revoked.pem`, `.key`.
    pub client_revoked: PemPair,
    /// `root.crl.pem`.
    pub root_crl: PathBuf,
    /// `intermediate.crl.pem`.
    pub intermediate_crl: PathBuf,
    /// `crl-bundle.pem`: root CRL then intermediate CRL.
    pub crl_bundle: PathBuf,
    /// `root-expired.crl.pem`.
    pub expired_root_crl: PathBuf,
}
