//! The parts of a certificate an identity is made of, read through
//! [`crate::der::Certificate`]: serial, issuer, validity, subject, SANs and
//! basicConstraints' cA.

use super::dn::Name;
use super::san::SubjectAltNames;
use super::time::CertTime;
use crate::der::{Certificate, ext_oid};

/// The parts of a certificate an identity is made of.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert<'a> {
    /// Content octets of the serial number INTEGER.
    pub(crate) serial: &'a [u8],
    pub(crate) issuer: Name<'a>,
    pub(crate) subject: Name<'a>,
    pub(crate) not_before: CertTime,
    pub(crate) not_after: CertTime,
    pub(crate) sans: SubjectAltNames,
    pub(crate) is_ca: bool,
}

impl<'a> ParsedCert<'a> {
    /// Parses a DER certificate. The error names the part that is malformed.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, &'static str> {
        let cert = Certificate::parse(der).map_err(|e| e.part())?;
        let issuer = Name::from_content(cert.issuer).map_err(|_| "issuer name")?;
        let subject = Name::from_content(cert.subject).map_err(|_| "subject name")?;
        let sans = cert
            .extension(ext_oid::SUBJECT_ALT_NAME)
            .and_then(|ext| SubjectAltNames::parse(ext.value))
            .unwrap_or_default();
        let is_ca = cert.basic_constraints().is_some_and(|(ca, _)| ca);
        Ok(Self {
            serial: cert.serial,
            issuer,
            subject,
            not_before: CertTime::new(&cert.not_before()),
            not_after: CertTime::new(&cert.not_after()),
            sans,
            is_ca,
        })
    }
}
