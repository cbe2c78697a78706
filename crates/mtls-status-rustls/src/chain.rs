//! A view of a presented chain plus the trust store, used to explain a
//! failed verification: which certificate is at fault, and which of nginx's
//! untrusted-issuer codes (18, 19, 20, 21) applies.

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};

use crate::names;
use crate::trust_store::TrustStore;
use mtls_status::der::{Certificate as ParsedCert, split_spki};

/// The longest chain [`ChainView::walk`] builds: more than any verify
/// depth allows, and a bound on the work a hostile chain can cause.
pub(crate) const MAX_WALK: usize = 16;

/// A certificate in the chain as OpenSSL would build it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// The client sent it, at this index (0 = leaf).
    Presented(usize),
    /// It is a CA-bundle intermediate, at this index in the store.
    Bundle(usize),
}

/// Presented certificates and CA-bundle intermediates, parsed.
pub(crate) struct ChainView<'a> {
    pub(crate) presented: &'a [CertificateDer<'a>],
    pub(crate) parsed: &'a [Option<ParsedCert<'a>>],
    pub(crate) store: &'a TrustStore,
    bundle: Vec<Option<ParsedCert<'a>>>,
    algs: &'a [&'a dyn SignatureVerificationAlgorithm],
}

impl<'a> ChainView<'a> {
    pub(crate) fn new(
        presented: &'a [CertificateDer<'a>],
        parsed: &'a [Option<ParsedCert<'a>>],
        store: &'a TrustStore,
        algs: &'a [&'a dyn SignatureVerificationAlgorithm],
    ) -> Self {
        let bundle = store
            .intermediates()
            .iter()
            .map(|der| ParsedCert::parse(der.as_ref()).ok())
            .collect();
        Self {
            presented,
            parsed,
            store,
            bundle,
            algs,
        }
    }

    pub(crate) fn cert(&self, node: Node) -> Option<&ParsedCert<'a>> {
        match node {
            Node::Presented(i) => self.parsed.get(i)?.as_ref(),
            Node::Bundle(i) => self.bundle.get(i)?.as_ref(),
        }
    }

    /// RFC 2253 subject of a node.
    pub(crate) fn subject_dn(&self, node: Node) -> String {
        match node {
            Node::Presented(i) => self
                .presented
                .get(i)
                .map(names::subject_dn)
                .unwrap_or_default(),
            Node::Bundle(i) => self
                .store
                .intermediate_info()
                .get(i)
                .map(|info| info.subject_dn.clone())
                .unwrap_or_default(),
        }
    }

    /// The chain OpenSSL would build from the leaf by names: each step
    /// takes the first unused presented certificate (then CA-bundle
    /// intermediate) whose subject is the current issuer, and stops at a
    /// self-issued certificate, when no issuer is found, or after
    /// [`MAX_WALK`] certificates.
    pub(crate) fn walk(&self) -> Vec<Node> {
        let mut nodes = vec![Node::Presented(0)];
        let mut used_presented = vec![false; self.parsed.len()];
        let mut used_bundle = vec![false; self.bundle.len()];
        if let Some(first) = used_presented.first_mut() {
            *first = true;
        }
        while nodes.len() < MAX_WALK {
            let Some(current) = nodes.last().and_then(|&n| self.cert(n)) else {
                break;
            };
            if current.is_self_issued() {
                break;
            }
            let issuer = current.issuer;
            let is_issuer =
                |c: &Option<ParsedCert<'_>>| c.as_ref().is_some_and(|c| c.subject == issuer);
            let next = match (0..self.parsed.len())
                .find(|&i| !used_presented[i] && is_issuer(&self.parsed[i]))
            {
                Some(i) => {
                    used_presented[i] = true;
                    Node::Presented(i)
                }
                None => match (0..self.bundle.len())
                    .find(|&i| !used_bundle[i] && is_issuer(&self.bundle[i]))
                {
                    Some(i) => {
                        used_bundle[i] = true;
                        Node::Bundle(i)
                    }
                    None => break,
                },
            };
            nodes.push(next);
        }
        nodes
    }

    /// Every node worth blaming: the walk first, then the other presented
    /// certificates, then the CA-bundle intermediates.
    pub(crate) fn candidates(&self) -> Vec<Node> {
        let walk = self.walk();
        let rest = (0..self.parsed.len())
            .map(Node::Presented)
            .chain((0..self.bundle.len()).map(Node::Bundle))
            .filter(|n| !walk.contains(n));
        let mut nodes = walk.clone();
        nodes.extend(rest);
        nodes
    }

    /// Whether `cert`'s signature verifies with the key in `issuer_spki`
    /// (SubjectPublicKeyInfo content).
    pub(crate) fn signed_by(&self, cert: &ParsedCert<'_>, issuer_spki: &[u8]) -> bool {
        let Some((key_algorithm, key)) = split_spki(issuer_spki) else {
            return false;
        };
        self.algs
            .iter()
            .filter(|alg| {
                alg.signature_alg_id().as_ref() == cert.signature_algorithm
                    && alg.public_key_alg_id().as_ref() == key_algorithm
            })
            .any(|alg| alg.verify_signature(key, cert.tbs, cert.signature).is_ok())
    }

    /// Whether the certificate is self-issued and its signature verifies
    /// with its own key.
    pub(crate) fn is_self_signed(&self, node: Node) -> bool {
        self.cert(node)
            .is_some_and(|c| c.is_self_issued() && self.signed_by(c, c.spki))
    }

    /// The first node of the walk whose signature does not verify with its
    /// issuer's key (the next node, or a trust anchor of that name).
    pub(crate) fn bad_signature(&self) -> Option<Node> {
        let walk = self.walk();
        for (i, &node) in walk.iter().enumerate() {
            let cert = self.cert(node)?;
            let issuer_keys: Vec<&[u8]> = match walk.get(i + 1).and_then(|&n| self.cert(n)) {
                Some(issuer) => vec![issuer.spki],
                None => self
                    .store
                    .anchors()
                    .iter()
                    .filter(|a| a.subject.as_ref() == cert.issuer)
                    .map(|a| a.subject_public_key_info.as_ref())
                    .collect(),
            };
            if !issuer_keys.is_empty() && !issuer_keys.iter().any(|k| self.signed_by(cert, k)) {
                return Some(node);
            }
        }
        None
    }
}
