//! Certificate revocation lists.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    CertificateRevocationListParams, Issuer, RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateRevocationListDer;
use time::OffsetDateTime;

use crate::ca::Revocable;
use crate::{Ca, clock, der, util};

/// Boxed parameter tweak run just before signing.
type Customizer<'a> = Box<dyn FnOnce(&mut CertificateRevocationListParams) + 'a>;

/// A signed CRL.
#[derive(Clone)]
pub struct Crl {
    der: CertificateRevocationListDer<'static>,
    issuer_common_name: String,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: u64,
    revoked: Vec<Vec<u8>>,
}

impl Crl {
    /// The CRL (DER), as rustls-webpki takes it.
    pub fn der(&self) -> CertificateRevocationListDer<'static> {
        self.der.clone()
    }

    /// The CRL (PEM, `X509 CRL`), as nginx `ssl_crl` takes it.
    pub fn pem(&self) -> String {
        util::pem("X509 CRL", &self.der)
    }

    /// Common name of the issuing CA (as given to its builder).
    pub fn issuer_common_name(&self) -> &str {
        &self.issuer_common_name
    }

    /// `thisUpdate` (OpenSSL: `lastUpdate`).
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// `nextUpdate`.
    pub fn next_update(&self) -> OffsetDateTime {
        self.next_update
    }

    /// The `cRLNumber` extension value.
    pub fn crl_number(&self) -> u64 {
        self.crl_number
    }

    /// Serials listed as revoked (as given to the builder).
    pub fn revoked_serials(&self) -> &[Vec<u8>] {
        &self.revoked
    }
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crl")
            .field("issuer", &self.issuer_common_name)
            .field("crl_number", &self.crl_number)
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field(
                "revoked",
                &self
                    .revoked
                    .iter()
                    .map(|s| util::serial_hex(s))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Builder for a [`Crl`], from [`Ca::crl`]. Finish with [`build`](CrlBuilder::build).
///
/// Defaults: no entries, `thisUpdate` 1 day ago, `nextUpdate` 30 days ahead, a
/// `cRLNumber` that increases with every CRL built in the process, an authority key
/// identifier matching the CA, no issuing distribution point. Entries get revocation
/// time = `thisUpdate` and no reason code unless [`reason`](CrlBuilder::reason) is used.
///
/// ```
/// use mtls_testpki::Ca;
///
/// let root = Ca::root("Root").build();
/// let alice = root.leaf("alice").build();
/// let crl = root.crl().revoke(&alice).build();
/// assert_eq!(crl.revoked_serials(), &[alice.serial().to_vec()]);
/// assert!(crl.pem().starts_with("-----BEGIN X509 CRL-----\n"));
///
/// let stale = root.crl().expired().build();
/// assert!(stale.next_update() < mtls_testpki::now());
/// ```
#[must_use = "call .build() to make the CRL"]
pub struct CrlBuilder<'a> {
    ca: &'a Ca,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    crl_number: Option<u64>,
    revoked: Vec<(Vec<u8>, Option<RevocationReason>, Option<OffsetDateTime>)>,
    customizers: Vec<Customizer<'a>>,
}

impl fmt::Debug for CrlBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlBuilder")
            .field("ca", &self.ca.common_name())
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field("crl_number", &self.crl_number)
            .field("revoked", &self.revoked)
            .field("customizers", &self.customizers.len())
            .finish()
    }
}

impl<'a> CrlBuilder<'a> {
    pub(crate) fn new(ca: &'a Ca) -> Self {
        Self {
            ca,
            this_update: clock::days_ago(1),
            next_update: clock::days_from_now(30),
            crl_number: None,
            revoked: Vec::new(),
            customizers: Vec::new(),
        }
    }

    /// Lists a [`Leaf`](crate::Leaf) or [`Ca`] (an intermediate) as revoked.
    pub fn revoke(self, cert: &impl Revocable) -> Self {
        self.revoke_serial(cert.revocation_serial())
    }

    /// Lists a serial as revoked: magnitude bytes, or DER `INTEGER` content octets (a
    /// leading `00` pad is accepted).
    pub fn revoke_serial(mut self, serial: impl AsRef<[u8]>) -> Self {
        self.revoked.push((serial.as_ref().to_vec(), None, None));
        self
    }

    /// Sets the reason code of the entry added last.
    ///
    /// # Panics
    ///
    /// If no entry was added yet.
    pub fn reason(mut self, reason: RevocationReason) -> Self {
        self.revoked
            .last_mut()
            .expect("mtls-testpki: CrlBuilder::reason needs a revoked entry first")
            .1 = Some(reason);
        self
    }

    /// Sets the revocation time of the entry added last (default: `thisUpdate`).
    ///
    /// # Panics
    ///
    /// If no entry was added yet.
    pub fn revoked_at(mut self, at: OffsetDateTime) -> Self {
        self.revoked
            .last_mut()
            .expect("mtls-testpki: CrlBuilder::revoked_at needs a revoked entry first")
            .2 = Some(at);
        self
    }

    /// Sets `thisUpdate`.
    pub fn this_update(mut self, at: OffsetDateTime) -> Self {
        self.this_update = at;
        self
    }

    /// Sets `nextUpdate` (must be after `thisUpdate`).
    pub fn next_update(mut self, at: OffsetDateTime) -> Self {
        self.next_update = at;
        self
    }

    /// An expired CRL: `thisUpdate` 30 days ago, `nextUpdate` yesterday.
    pub fn expired(self) -> Self {
        self.this_update(clock::days_ago(30))
            .next_update(clock::days_ago(1))
    }

    /// A CRL from the future: `thisUpdate` (OpenSSL's `lastUpdate`) tomorrow,
    /// `nextUpdate` 31 days ahead.
    pub fn not_yet_valid(self) -> Self {
        self.this_update(clock::days_from_now(1))
            .next_update(clock::days_from_now(31))
    }

    /// Sets the `cRLNumber`.
    pub fn crl_number(mut self, number: u64) -> Self {
        self.crl_number = Some(number);
        self
    }

    /// Runs `f` on the rcgen parameters just before signing (e.g. to add an issuing
    /// distribution point).
    pub fn customize(mut self, f: impl FnOnce(&mut CertificateRevocationListParams) + 'a) -> Self {
        self.customizers.push(Box::new(f));
        self
    }

    /// Signs the CRL with the CA's key.
    ///
    /// # Panics
    ///
    /// If `nextUpdate` is not after `thisUpdate`, or signing fails.
    pub fn build(self) -> Crl {
        static NEXT_CRL_NUMBER: AtomicU64 = AtomicU64::new(1);
        let crl_number = self
            .crl_number
            .unwrap_or_else(|| NEXT_CRL_NUMBER.fetch_add(1, Ordering::Relaxed));
        let this_update = self.this_update.replace_nanosecond(0).expect("valid");
        let next_update = self.next_update.replace_nanosecond(0).expect("valid");
        let revoked_certs = self
            .revoked
            .iter()
            .map(|(serial, reason, at)| RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: at.unwrap_or(this_update),
                reason_code: *reason,
                invalidity_date: None,
            })
            .collect();
        let mut params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: self.ca.params().key_identifier_method.clone(),
        };
        for customize in self.customizers {
            customize(&mut params);
        }
        let issuer_params = self.ca.crl_issuer_params();
        let issuer = Issuer::from_params(&issuer_params, self.ca.key());
        let crl = params
            .signed_by(&issuer)
            .expect("mtls-testpki: signing the CRL failed (is nextUpdate after thisUpdate?)");
        let der = match self.ca.subject_override() {
            None => crl.der().to_vec(),
            Some(subject) => der::patch_crl_issuer(crl.der(), subject, self.ca.key()),
        };
        Crl {
            der: CertificateRevocationListDer::from(der),
            issuer_common_name: self.ca.common_name().to_owned(),
            this_update: params.this_update,
            next_update: params.next_update,
            crl_number,
            revoked: self.revoked.into_iter().map(|(s, _, _)| s).collect(),
        }
    }
}
