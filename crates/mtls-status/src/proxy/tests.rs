use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

use super::*;
use crate::forward::{xfcc_element, xfcc_value};

fn proxy(format: ProxyHeaderFormat) -> TrustedProxyBuilder {
    TrustedProxy::builder(format).trusted_peer("127.0.0.0/8".parse().expect("cidr"))
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
    }
    map
}

fn escape_all(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn identity(leaf: &mtls_testpki::Leaf) -> ClientIdentity {
    ClientIdentity::from_chain(leaf.chain()).expect("identity")
}

/// Counts calls; every chain verifies.
struct Verifying(AtomicUsize);

impl ClassifyChain for Verifying {
    fn classify_chain(&self, chain: &[CertificateDer<'_>]) -> Arc<ClientAuthOutcome> {
        self.0.fetch_add(1, Ordering::Relaxed);
        let chain = chain.iter().map(|c| c.clone().into_owned()).collect();
        Arc::new(ClientAuthOutcome::Verified(
            ClientIdentity::from_chain(chain).expect("identity"),
        ))
    }
}

const LOCAL: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

#[test]
fn format_names_round_trip() {
    for format in ProxyHeaderFormat::ALL {
        assert_eq!(format.name().parse::<ProxyHeaderFormat>(), Ok(*format));
    }
    assert!("envoy".parse::<ProxyHeaderFormat>().is_err());
}

#[test]
fn nginx_escaped_chain_and_verdicts() {
    let pki = mtls_testpki::Pki::generate();
    let leaf = &pki.valid_via_intermediate;
    let proxy = proxy(ProxyHeaderFormat::Nginx).build().expect("build");
    // nginx escapes the leaf only; a chain in one header is read too.
    let escaped = escape_all(leaf.chain_pem().as_bytes());
    for (verify, expected) in [
        ("SUCCESS", Some(ProxyVerdict::Success)),
        ("NONE", Some(ProxyVerdict::NoCertificate)),
        ("nonsense", None),
    ] {
        let claim = proxy
            .read(&headers(&[
                ("x-ssl-client-cert", &escaped),
                ("x-ssl-client-verify", verify),
            ]))
            .expect("read")
            .expect("claim");
        assert_eq!(claim.chain(), leaf.chain().as_slice());
        assert_eq!(claim.verdict(), expected.as_ref());
    }
    let failed = nginx_verdict("FAILED:certificate has expired");
    assert!(matches!(failed, Some(ProxyVerdict::Failed(r)) if r.kind() == ReasonKind::Expired));
    let odd = nginx_verdict("FAILED:something new");
    assert!(matches!(odd, Some(ProxyVerdict::Failed(r)) if r.kind() == ReasonKind::Other));
    // nginx's real escaping: ngx_escape_uri leaves `-` and letters, escapes
    // `+`, `/`, `=`, newline.
    let real = identity(leaf).escaped_pem();
    let claim = proxy
        .read(&headers(&[("x-ssl-client-cert", &real)]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain(), &leaf.chain()[..1]);
    assert_eq!(claim.verdict(), None);
}

#[test]
fn ingress_nginx_header_names() {
    let leaf = mtls_testpki::self_signed_client("c");
    let proxy = proxy(ProxyHeaderFormat::IngressNginx)
        .build()
        .expect("build");
    let escaped = identity(&leaf).escaped_pem();
    let claim = proxy
        .read(&headers(&[
            ("ssl-client-cert", &escaped),
            ("ssl-client-verify", "SUCCESS"),
        ]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain()[0], leaf.cert_der());
    // The nginx names are not read for ingress-nginx.
    assert_eq!(
        proxy.read(&headers(&[("x-ssl-client-cert", &escaped)])),
        Ok(None)
    );
}

#[test]
fn haproxy_base64_der_and_codes() {
    let leaf = mtls_testpki::self_signed_client("c");
    let b64 = STANDARD.encode(leaf.cert_der());
    let proxy = proxy(ProxyHeaderFormat::Haproxy).build().expect("build");
    let claim = proxy
        .read(&headers(&[
            ("x-ssl-client-cert", &b64),
            ("x-ssl-client-verify", "10"),
        ]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain(), &[leaf.cert_der()]);
    assert!(
        matches!(claim.verdict(), Some(ProxyVerdict::Failed(r)) if r.kind() == ReasonKind::Expired)
    );
    assert_eq!(haproxy_verdict("0"), Some(ProxyVerdict::Success));
    assert_eq!(haproxy_verdict("-1"), None);
    assert_eq!(haproxy_verdict("99999999999"), None);
    let err = proxy
        .read(&headers(&[("x-ssl-client-cert", "not base64!")]))
        .expect_err("malformed");
    assert_eq!(err.name(), "proxy_header_malformed");
}

#[test]
fn xfcc_last_element_cert_and_chain() {
    let pki = mtls_testpki::Pki::generate();
    let leaf = &pki.valid_via_intermediate;
    let proxy = proxy(ProxyHeaderFormat::Xfcc).build().expect("build");
    let own = xfcc_element(&identity(leaf), Some("spiffe://example.org/proxy"), true);
    // An earlier hop's element (e.g. spoofed by the client through an
    // appending proxy) comes first; the nearest proxy's is last.
    let other = xfcc_element(&identity(&pki.unknown_ca), None, true);
    let value = format!("{other},{own}");
    let claim = proxy
        .read(&headers(&[("x-forwarded-client-cert", &value)]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain(), &leaf.chain()[..1]);
    // Two field lines are one list.
    let claim = proxy
        .read(&headers(&[
            ("x-forwarded-client-cert", &other),
            ("x-forwarded-client-cert", &own),
        ]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain(), &leaf.chain()[..1]);
    // Chain= (leaf first) wins over Cert=, and must agree with it.
    let chain = escape_all(leaf.chain_pem().as_bytes());
    let cert = escape_all(leaf.cert_pem().as_bytes());
    let value = format!("Hash=abc;Cert=\"{cert}\";Chain=\"{chain}\";Subject=\"CN=x\"");
    let claim = proxy
        .read(&headers(&[("x-forwarded-client-cert", &value)]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain(), leaf.chain().as_slice());
    let other_cert = escape_all(pki.expired.cert_pem().as_bytes());
    let value = format!("Cert=\"{other_cert}\";Chain=\"{chain}\"");
    assert!(
        proxy
            .read(&headers(&[("x-forwarded-client-cert", &value)]))
            .is_err()
    );
    for hostile in [
        "Hash=abc;Subject=\"CN=x\"",
        "Cert=\"unterminated",
        "Cert=a\"b",
        "=x",
        "Cert",
        "Cert=\"x\"y",
        ",",
    ] {
        let err = proxy
            .read(&headers(&[("x-forwarded-client-cert", hostile)]))
            .expect_err(hostile);
        assert_eq!(err.name(), "proxy_header_malformed", "{hostile}");
    }
}

#[test]
fn xfcc_hostile_san_stays_one_value() {
    let pki = mtls_testpki::Pki::generate();
    let leaf = pki
        .root
        .leaf("client")
        .dns(r#"x\";Cert="%2D%2D%2D;DNS="y"#)
        .build();
    let element = xfcc_element(&identity(&leaf), None, true);
    let parsed = xfcc_parse(&element).expect("parse");
    assert_eq!(parsed.len(), 1);
    let certs: Vec<_> = parsed[0].iter().filter(|(k, _)| k == "Cert").collect();
    assert_eq!(certs.len(), 1);
    let dns: Vec<_> = parsed[0].iter().filter(|(k, _)| k == "DNS").collect();
    assert_eq!(
        dns,
        [&("DNS".to_owned(), r#"x\";Cert="%2D%2D%2D;DNS="y"#.to_owned())]
    );
}

#[test]
fn rfc9440_byte_sequences() {
    let pki = mtls_testpki::Pki::generate();
    let leaf = pki.deep_chain(2);
    let chain = leaf.chain();
    let proxy = proxy(ProxyHeaderFormat::Rfc9440).build().expect("build");
    let sf = |der: &CertificateDer<'_>| format!(":{}:", STANDARD.encode(der));
    let rest: Vec<String> = chain[1..].iter().map(sf).collect();
    let claim = proxy
        .read(&headers(&[
            ("client-cert", &sf(&chain[0])),
            ("client-cert-chain", &rest.join(", ")),
        ]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain(), chain.as_slice());
    // No chain header: the leaf alone.
    let claim = proxy
        .read(&headers(&[("client-cert", &sf(&chain[0]))]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain().len(), 1);
    for hostile in [":abc", "abc:", "::", ":a:b:", ":!!!!:", ":YQ==:;p=1"] {
        assert!(
            proxy.read(&headers(&[("client-cert", hostile)])).is_err(),
            "{hostile}"
        );
    }
    assert!(
        proxy
            .read(&headers(&[
                ("client-cert", &sf(&chain[0])),
                ("client-cert-chain", ":YQ==:,,:YQ==:"),
            ]))
            .is_err()
    );
}

#[test]
fn alb_plus_is_not_a_space() {
    let leaf = mtls_testpki::self_signed_client("c");
    // ALB: URL-encoded with `+`, `=` and `/` as safe characters.
    let pem = leaf.cert_pem();
    let alb: String = pem
        .bytes()
        .map(|b| match b {
            b'+' | b'=' | b'/' => (b as char).to_string(),
            b if b.is_ascii_alphanumeric() || b == b'-' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect();
    assert!(
        alb.contains('+') || alb.contains('/'),
        "test needs a safe char"
    );
    let proxy = proxy(ProxyHeaderFormat::Alb).build().expect("build");
    let claim = proxy
        .read(&headers(&[("x-amzn-mtls-clientcert", &alb)]))
        .expect("read")
        .expect("claim");
    assert_eq!(claim.chain(), &[leaf.cert_der()]);
}

#[test]
fn bounds_and_duplicates() {
    let leaf = mtls_testpki::self_signed_client("c");
    let escaped = identity(&leaf).escaped_pem();
    let small = proxy(ProxyHeaderFormat::Nginx)
        .max_header_bytes(100)
        .build()
        .expect("build");
    let err = small
        .read(&headers(&[("x-ssl-client-cert", &escaped)]))
        .expect_err("too large");
    assert_eq!(err.name(), "proxy_header_too_large");
    let proxy = proxy(ProxyHeaderFormat::Nginx).build().expect("build");
    let err = proxy
        .read(&headers(&[
            ("x-ssl-client-cert", &escaped),
            ("x-ssl-client-cert", &escaped),
        ]))
        .expect_err("duplicate");
    assert_eq!(err.name(), "proxy_header_duplicate");
    let many = escape_all(leaf.cert_pem().repeat(DEFAULT_MAX_CHAIN_LEN + 1).as_bytes());
    let err = proxy
        .read(&headers(&[("x-ssl-client-cert", &many)]))
        .expect_err("too many");
    assert_eq!(err.name(), "proxy_chain_too_long");
    // Empty is absent (nginx sends an empty $ssl_client_escaped_cert as no header).
    assert_eq!(proxy.read(&headers(&[("x-ssl-client-cert", "")])), Ok(None));
    assert!(matches!(
        TrustedProxy::builder(ProxyHeaderFormat::Nginx).build(),
        Err(TrustedProxyError::NoTrustedPeers)
    ));
}

#[test]
fn outcome_trusts_only_configured_peers() {
    let leaf = mtls_testpki::self_signed_client("c");
    let escaped = identity(&leaf).escaped_pem();
    let proxy = proxy(ProxyHeaderFormat::Nginx).build().expect("build");
    let classifier = Verifying(AtomicUsize::new(0));
    let sent = headers(&[
        ("x-ssl-client-cert", &escaped),
        ("x-ssl-client-verify", "SUCCESS"),
        ("x-request-id", "1"),
    ]);
    for peer in [None, Some("192.0.2.1".parse().expect("ip"))] {
        let mut h = sent.clone();
        let outcome = proxy.outcome(peer, &mut h, &classifier).expect("outcome");
        assert!(outcome.is_none(), "{peer:?}");
        assert_eq!(h.len(), 1, "identity headers stripped: {h:?}");
    }
    assert_eq!(classifier.0.load(Ordering::Relaxed), 0);
    let mut h = sent.clone();
    let outcome = proxy.outcome(LOCAL, &mut h, &classifier).expect("outcome");
    assert_eq!(
        outcome.identity().map(|i| i.leaf().clone()),
        Some(leaf.cert_der())
    );
    assert_eq!(h.len(), 1);
    assert_eq!(classifier.0.load(Ordering::Relaxed), 1);
    // IPv4-mapped IPv6 is the IPv4 peer.
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("ip");
    assert!(proxy.is_trusted_peer(mapped));
    // Trusted peer, no certificate: None.
    let mut h = headers(&[("x-ssl-client-verify", "NONE")]);
    assert!(
        proxy
            .outcome(LOCAL, &mut h, &classifier)
            .expect("outcome")
            .is_none()
    );
    // Malformed from a trusted peer: an error, headers stripped anyway.
    let mut h = headers(&[("x-ssl-client-cert", "%ZZ")]);
    assert!(proxy.outcome(LOCAL, &mut h, &classifier).is_err());
    assert!(h.is_empty());
    // The same malformed header from an untrusted peer is simply dropped.
    let mut h = headers(&[("x-ssl-client-cert", "%ZZ")]);
    assert!(
        proxy
            .outcome(None, &mut h, &classifier)
            .expect("ok")
            .is_none()
    );
}

#[test]
fn trusting_the_proxy_verdict_is_opt_in() {
    let leaf = mtls_testpki::self_signed_client("c");
    let escaped = identity(&leaf).escaped_pem();
    let never = |_: &[CertificateDer<'_>]| -> Arc<ClientAuthOutcome> { panic!("not classified") };
    let proxy = proxy(ProxyHeaderFormat::Nginx)
        .trust_proxy_verdict()
        .build()
        .expect("build");
    let mut h = headers(&[
        ("x-ssl-client-cert", &escaped),
        ("x-ssl-client-verify", "FAILED:certificate has expired"),
    ]);
    let outcome = proxy.outcome(LOCAL, &mut h, &never).expect("outcome");
    assert_eq!(
        outcome.reason().map(|r| r.kind()),
        Some(ReasonKind::Expired)
    );
    assert!(outcome.presented_identity().is_some());
    let mut h = headers(&[
        ("x-ssl-client-cert", &escaped),
        ("x-ssl-client-verify", "SUCCESS"),
    ]);
    assert!(
        proxy
            .outcome(LOCAL, &mut h, &never)
            .expect("outcome")
            .is_verified()
    );
    // Trusted verdict but none sent: a misconfigured proxy, not a client.
    let mut h = headers(&[("x-ssl-client-cert", &escaped)]);
    assert!(proxy.outcome(LOCAL, &mut h, &never).is_err());
    let mut h = headers(&[
        ("x-ssl-client-cert", &escaped),
        ("x-ssl-client-verify", "MAYBE"),
    ]);
    assert!(proxy.outcome(LOCAL, &mut h, &never).is_err());
}

fn hostile_text() -> impl Strategy<Value = String> {
    // Visible ASCII and the characters the formats treat specially.
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(vec![
                ',', ';', '=', '"', '\\', ':', '%', '+', '/', ' ', '-', '\t'
            ]),
            prop::char::range('!', '~'),
        ],
        0..300,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn hostile_values_never_panic(value in hostile_text(), chain in hostile_text()) {
        let Ok(value) = HeaderValue::from_str(&value) else { return Ok(()) };
        let Ok(chain) = HeaderValue::from_str(&chain) else { return Ok(()) };
        for format in ProxyHeaderFormat::ALL {
            let proxy = proxy(*format).trust_proxy_verdict().build().expect("build");
            let mut map = HeaderMap::new();
            map.insert(format.default_cert_header(), value.clone());
            if let Some(name) = format.default_chain_header() {
                map.insert(name, chain.clone());
            }
            if let Some(name) = format.default_verify_header() {
                map.insert(name, chain.clone());
            }
            if let Ok(Some(claim)) = proxy.read(&map) {
                prop_assert!(!claim.chain().is_empty());
                prop_assert!(claim.chain().len() <= DEFAULT_MAX_CHAIN_LEN);
            }
            let never = |_: &[CertificateDer<'_>]| Arc::new(ClientAuthOutcome::None);
            let _ = proxy.outcome(LOCAL, &mut map, &never);
            prop_assert!(map.is_empty());
        }
    }

    #[test]
    fn xfcc_quoting_round_trips(
        elements in prop::collection::vec(
            prop::collection::vec(("[A-Za-z]{1,8}", hostile_text()), 1..5),
            1..4,
        ),
        always in any::<bool>(),
    ) {
        let text = elements
            .iter()
            .map(|pairs| {
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", xfcc_value(v, always)))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .collect::<Vec<_>>()
            .join(",");
        let parsed = xfcc_parse(&text).expect("what Envoy's quoting writes parses");
        let trimmed: Vec<Vec<(String, String)>> = elements
            .iter()
            .map(|pairs| pairs.iter().map(|(k, v)| {
                // An unquoted value is trimmed; the writer quotes whitespace.
                (k.clone(), v.clone())
            }).collect())
            .collect();
        prop_assert_eq!(parsed, trimmed);
    }

    #[test]
    fn xfcc_cert_of_last_element(prefix in hostile_text()) {
        let leaf = mtls_testpki::self_signed_client("c");
        let own = xfcc_element(&identity(&leaf), None, true);
        let prefix = format!("By={}", xfcc_value(&prefix, false));
        let chain = xfcc_chain(&format!("{prefix},{own}"), DEFAULT_MAX_CHAIN_LEN).expect("chain");
        prop_assert_eq!(chain, vec![leaf.cert_der()]);
    }

    #[test]
    fn percent_decoding_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(percent_decode(&escape_all(&bytes)).expect("decode"), bytes);
    }

    #[test]
    fn sf_binary_lists_round_trip(
        items in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..DEFAULT_MAX_CHAIN_LEN),
        pad in any::<bool>(),
        ows in "[ \t]{0,2}",
    ) {
        let encode = |b: &Vec<u8>| {
            let s = STANDARD.encode(b);
            format!(":{}:", if pad { s.as_str() } else { s.trim_end_matches('=') })
        };
        let text = items.iter().map(encode).collect::<Vec<_>>().join(&format!(",{ows}"));
        prop_assert_eq!(sf_binary_list(&text, DEFAULT_MAX_CHAIN_LEN).expect("list"), items);
    }
}
