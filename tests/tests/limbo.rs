//! x509-limbo conformance of the classifier.
//!
//! Every case of `limbo/limbo-core.json` that `limbo/limbo-index.json`
//! classes as `client` (CLIENT cases, run as they are) or `reusable`
//! (generic RFC 5280 path validation written as SERVER cases) runs through
//! [`Classifier::classify_at`]. The verdict (Verified = SUCCESS, Invalid =
//! FAILURE) must equal limbo's `expected_result`, or the difference must be
//! recorded, with its reason, in `limbo/expectations.json`. The test fails
//! on any unexpected verdict: a difference that is not recorded, or a
//! recorded one that no longer happens (so the file stays honest).
//!
//! How a limbo case maps onto the classifier:
//!
//! - `trusted_certs` → the CA bundle (`TrustStore::ca_pem`). As in nginx,
//!   only self-issued certificates become trust anchors; the others are
//!   CA-bundle intermediates. A bundle the store refuses (a certificate it
//!   cannot use) counts as FAILURE: nothing would ever verify against it.
//! - peer chain = `[peer_certificate, untrusted_intermediates...]`, as a
//!   client sends it.
//! - `crls` → `TrustStore::crl_pem`, with the classifier's strict defaults
//!   (nginx's): every certificate of the chain is checked, unknown status
//!   is denied, CRL times are enforced. A store without CRLs checks no
//!   revocation at all, so the unknown-status policy only matters for the
//!   `crl::` cases, and there limbo supplies a CRL from every CA whose
//!   certificates are checked: denying unknown status is what limbo
//!   expects, no relaxation is needed.
//! - `validation_time` → `classify_at` (whole seconds: `UnixTime` drops the
//!   fraction, as X.509 times have none); absent → now.
//! - `max_chain_depth` counts intermediates, like our `max_depth` (and
//!   nginx's `ssl_verify_depth` with OpenSSL 1.1+): limbo's depth 0 allows
//!   `root -> leaf`, depth 1 `root -> ICA -> leaf`. Absent (no limit in
//!   limbo) or above [`MAX_SUPPORTED_DEPTH`] → [`MAX_SUPPORTED_DEPTH`], the
//!   most rustls-webpki follows anyway.
//! - extended key usage: clientAuth for `client` cases (validation kind
//!   CLIENT), serverAuth for `reusable` ones (their certificates are made
//!   for servers); peer names (`expected_peer_name(s)`) are not checked,
//!   the classifier never matches names.
//!
//! The summary (cases run, passed, known differences, per namespace) goes
//! to stderr on every run; set `LIMBO_VERBOSE=1` to print every case's
//! verdict too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mtls_status::ClientAuthOutcome;
use mtls_status_rustls::{
    Classifier, CrlScope, EkuPolicy, MAX_SUPPORTED_DEPTH, ReloadableTrustStore, TrustStore,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use serde::Deserialize;

// ---------------------------------------------------------------- data

/// A Limbo v1 test-suite file.
#[derive(Deserialize)]
struct Suite {
    version: u32,
    testcases: Vec<Case>,
}

/// The fields of a limbo test case the harness uses.
#[derive(Deserialize)]
struct Case {
    id: String,
    validation_kind: String,
    trusted_certs: Vec<String>,
    untrusted_intermediates: Vec<String>,
    peer_certificate: String,
    validation_time: Option<String>,
    signature_algorithms: Vec<String>,
    key_usage: Vec<String>,
    extended_key_usage: Vec<String>,
    expected_result: Verdict,
    max_chain_depth: Option<u64>,
    crls: Vec<String>,
}

/// A limbo verdict; ours is SUCCESS for Verified, FAILURE otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Verdict {
    Success,
    Failure,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
        })
    }
}

/// `limbo-index.json`: one metadata row per case.
#[derive(Deserialize)]
struct Index {
    cases: Vec<IndexRow>,
}

#[derive(Deserialize)]
struct IndexRow {
    id: String,
    namespace: String,
    class: String,
    validation_kind: String,
    expected_result: Verdict,
}

/// `expectations.json`: every case where our verdict differs from limbo's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectations {
    /// What the file is (for its readers; not checked).
    #[serde(rename = "_about")]
    _about: Vec<String>,
    categories: BTreeMap<String, String>,
    differences: BTreeMap<String, Difference>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Difference {
    expected: Verdict,
    actual: Verdict,
    category: String,
    reason: String,
}

fn data_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("limbo")
        .join(file)
}

fn read_json<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let path = data_path(file);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

/// The cases this test runs, with their index rows, in suite order.
fn selected() -> Vec<(Case, IndexRow)> {
    let suite: Suite = read_json("limbo-core.json");
    assert_eq!(suite.version, 1, "a Limbo v1 file");
    let mut index: BTreeMap<String, IndexRow> = read_json::<Index>("limbo-index.json")
        .cases
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect();
    assert_eq!(
        index.len(),
        suite.testcases.len(),
        "limbo-index.json has one row per case of limbo-core.json"
    );
    let mut out = Vec::new();
    for case in suite.testcases {
        let row = index
            .remove(&case.id)
            .unwrap_or_else(|| panic!("{} has no row in limbo-index.json", case.id));
        assert_eq!(row.expected_result, case.expected_result, "{}", case.id);
        assert_eq!(row.validation_kind, case.validation_kind, "{}", case.id);
        if row.class == "client" || row.class == "reusable" {
            out.push((case, row));
        }
    }
    out
}

// ---------------------------------------------------------------- running

/// What the classifier (or the trust store) made of a case.
struct Run {
    verdict: Verdict,
    /// The reason name and detail, or why the store was refused.
    detail: String,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn run_case(case: &Case, row: &IndexRow, provider: &Arc<CryptoProvider>) -> Run {
    // The harness implements no key-usage or signature-algorithm
    // constraints; no selected case asks for one.
    assert!(
        case.key_usage.is_empty() && case.signature_algorithms.is_empty(),
        "{}: key_usage / signature_algorithms constraints are not supported",
        case.id
    );
    let eku = match row.class.as_str() {
        "client" => {
            assert_eq!(case.validation_kind, "CLIENT", "{}", case.id);
            assert!(
                case.extended_key_usage.iter().all(|e| e == "clientAuth"),
                "{}: EKU {:?}",
                case.id,
                case.extended_key_usage
            );
            EkuPolicy::client_auth()
        }
        _ => {
            assert!(
                case.extended_key_usage.iter().all(|e| e == "serverAuth"),
                "{}: EKU {:?}",
                case.id,
                case.extended_key_usage
            );
            EkuPolicy::server_auth()
        }
    };

    let mut builder = TrustStore::builder().ca_pem(case.trusted_certs.concat());
    if !case.crls.is_empty() {
        builder = builder.crl_pem(case.crls.concat());
    }
    let store = match builder.build() {
        Ok(store) => store,
        Err(error) => {
            return Run {
                verdict: Verdict::Failure,
                detail: format!("trust store refused: {error}"),
            };
        }
    };

    let depth = case
        .max_chain_depth
        .map_or(MAX_SUPPORTED_DEPTH, |d| {
            usize::try_from(d).unwrap_or(usize::MAX)
        })
        .min(MAX_SUPPORTED_DEPTH);
    let classifier = Classifier::builder(ReloadableTrustStore::new(store), Arc::clone(provider))
        .max_depth(depth)
        .required_eku(eku)
        // The defaults, spelled out: see the module documentation.
        .crl_scope(CrlScope::Chain)
        .enforce_crl_expiry()
        .cache_capacity(0)
        .build()
        .unwrap_or_else(|e| panic!("{}: classifier: {e}", case.id));

    let mut chain = vec![pem_cert(&case.id, &case.peer_certificate)];
    chain.extend(
        case.untrusted_intermediates
            .iter()
            .map(|pem| pem_cert(&case.id, pem)),
    );
    let now = match &case.validation_time {
        Some(t) => parse_rfc3339(t).unwrap_or_else(|| panic!("{}: bad time {t:?}", case.id)),
        None => UnixTime::now(),
    };

    match &*classifier.classify_at(Some(&chain), now) {
        ClientAuthOutcome::Verified(identity) => Run {
            verdict: Verdict::Success,
            detail: format!("verified: {}", identity.subject_dn()),
        },
        ClientAuthOutcome::Invalid(invalid) => Run {
            verdict: Verdict::Failure,
            detail: format!("{}: {}", invalid.reason().name(), invalid.reason().detail()),
        },
        other => panic!("{}: a presented chain classified as {other:?}", case.id),
    }
}

fn pem_cert(id: &str, pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap_or_else(|e| panic!("{id}: bad certificate PEM: {e}"))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` → whole seconds since the epoch.
fn parse_rfc3339(s: &str) -> Option<UnixTime> {
    let (date, rest) = s.split_once('T')?;
    let mut ymd = date.split('-');
    let year: i32 = ymd.next()?.parse().ok()?;
    let month: u8 = ymd.next()?.parse().ok()?;
    let day: u8 = ymd.next()?.parse().ok()?;
    let (clock, offset_secs) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, 0i64)
    } else {
        let split = rest.rfind(['+', '-'])?;
        let (clock, offset) = rest.split_at(split);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (oh, om) = offset.get(1..)?.split_once(':')?;
        let secs = oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60;
        (clock, sign * secs)
    };
    let clock = clock
        .split_once('.')
        .map_or(clock, |(whole, _fraction)| whole);
    let mut hms = clock.split(':');
    let hour: u8 = hms.next()?.parse().ok()?;
    let minute: u8 = hms.next()?.parse().ok()?;
    let second: u8 = hms.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let clock = time::Time::from_hms(hour, minute, second).ok()?;
    let secs = time::PrimitiveDateTime::new(date, clock)
        .assume_utc()
        .unix_timestamp()
        .checked_sub(offset_secs)?;
    Some(UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(secs).ok()?,
    )))
}

/// Writes to the process's stderr directly, so the summary shows in CI
/// logs even though the test harness captures `eprintln!` of passing
/// tests.
fn to_stderr(text: &str) {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// A detail cut to a readable length (some limbo subjects are huge).
fn shorten(detail: &str) -> String {
    const MAX: usize = 200;
    match detail.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &detail[..cut]),
        None => detail.to_owned(),
    }
}

// ---------------------------------------------------------------- tests

/// The outcome of one case against limbo and the expectations file.
enum Status {
    /// Our verdict is limbo's.
    Pass,
    /// It differs, as recorded.
    Known,
    /// It differs and the difference is not recorded (or recorded wrongly).
    Unexpected(String),
    /// A recorded difference that no longer happens.
    Stale,
}

#[derive(Default)]
struct Tally {
    run: usize,
    pass: usize,
    known: usize,
    unexpected: usize,
}

#[test]
fn rfc3339_times() {
    let secs = |s| parse_rfc3339(s).map(|t| t.as_secs());
    assert_eq!(secs("2023-11-14T22:13:20+00:00"), Some(1_700_000_000));
    assert_eq!(secs("2023-11-14T22:13:20Z"), Some(1_700_000_000));
    assert_eq!(secs("2023-11-14T22:13:20.999+00:00"), Some(1_700_000_000));
    assert_eq!(secs("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
    assert_eq!(secs("2023-11-14T20:13:20-02:00"), Some(1_700_000_000));
    assert_eq!(secs("1970-01-01T00:00:03+00:00"), Some(3));
    assert_eq!(secs("2023-02-30T00:00:00+00:00"), None);
    assert_eq!(secs("2023-11-14 22:13:20"), None);
}

#[test]
fn expectations_file_is_well_formed() {
    let expectations: Expectations = read_json("expectations.json");
    let cases: BTreeMap<String, (Case, IndexRow)> = selected()
        .into_iter()
        .map(|(case, row)| (case.id.clone(), (case, row)))
        .collect();
    for (id, d) in &expectations.differences {
        let (case, _) = cases
            .get(id)
            .unwrap_or_else(|| panic!("{id}: not a client/reusable case of limbo-core.json"));
        assert_eq!(
            d.expected, case.expected_result,
            "{id}: `expected` is limbo's"
        );
        assert_ne!(
            d.actual, d.expected,
            "{id}: a difference changes the verdict"
        );
        assert!(
            expectations.categories.contains_key(&d.category),
            "{id}: unknown category {:?}",
            d.category
        );
        assert!(d.reason.trim().len() >= 20, "{id}: give a real reason");
    }
}

#[test]
fn classifier_matches_limbo_or_recorded_differences() {
    let expectations: Expectations = read_json("expectations.json");
    let verbose = std::env::var_os("LIMBO_VERBOSE").is_some();
    let provider = provider();
    let cases = selected();

    let mut by_namespace: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut stricter, mut laxer) = (0usize, 0usize);
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();

    for (case, row) in &cases {
        seen.insert(case.id.as_str());
        let run = run_case(case, row, &provider);
        let recorded = expectations.differences.get(&case.id);
        let status = match (run.verdict == case.expected_result, recorded) {
            (true, None) => Status::Pass,
            (true, Some(_)) => Status::Stale,
            (false, Some(d)) if d.actual == run.verdict => Status::Known,
            (false, _) => Status::Unexpected(format!(
                "    {:?}: {{\n      \"expected\": \"{}\",\n      \"actual\": \"{}\",\n      \"category\": \"...\",\n      \"reason\": \"...\"\n    }}",
                case.id, case.expected_result, run.verdict
            )),
        };

        *by_class.entry(row.class.clone()).or_default() += 1;
        let tally = by_namespace.entry(row.namespace.clone()).or_default();
        tally.run += 1;
        let label = match &status {
            Status::Pass => {
                tally.pass += 1;
                "pass"
            }
            Status::Known => {
                tally.known += 1;
                if let Some(d) = recorded {
                    *by_category.entry(d.category.as_str()).or_default() += 1;
                }
                if run.verdict == Verdict::Failure {
                    stricter += 1;
                } else {
                    laxer += 1;
                }
                "known difference"
            }
            Status::Unexpected(snippet) => {
                tally.unexpected += 1;
                problems.push(format!(
                    "UNEXPECTED {}: limbo expects {}, the classifier says {} ({})\n  record it in tests/limbo/expectations.json if the difference is acceptable:\n{snippet}",
                    case.id,
                    case.expected_result,
                    run.verdict,
                    shorten(&run.detail)
                ));
                "UNEXPECTED"
            }
            Status::Stale => {
                tally.unexpected += 1;
                problems.push(format!(
                    "STALE {}: recorded as a difference, but the classifier now agrees with limbo ({}: {}); remove it from tests/limbo/expectations.json",
                    case.id,
                    run.verdict,
                    shorten(&run.detail)
                ));
                "STALE"
            }
        };
        if verbose {
            to_stderr(&format!(
                "{label:>16}  {:<70} limbo {} / ours {}: {}\n",
                case.id,
                case.expected_result,
                run.verdict,
                shorten(&run.detail)
            ));
        }
    }
    for id in expectations.differences.keys() {
        if !seen.contains(id.as_str()) {
            problems.push(format!(
                "UNKNOWN {id}: recorded but not a case this test runs"
            ));
        }
    }

    let total: Tally = by_namespace
        .values()
        .fold(Tally::default(), |acc, t| Tally {
            run: acc.run + t.run,
            pass: acc.pass + t.pass,
            known: acc.known + t.known,
            unexpected: acc.unexpected + t.unexpected,
        });
    let mut summary = String::new();
    let classes: Vec<String> = by_class.iter().map(|(c, n)| format!("{n} {c}")).collect();
    let _ = writeln!(
        summary,
        "x509-limbo: {} cases run ({}); {} as limbo expects, {} known differences ({} stricter than limbo, {} more lenient), {} unexpected",
        total.run,
        classes.join(", "),
        total.pass,
        total.known,
        stricter,
        laxer,
        total.unexpected,
    );
    let _ = writeln!(
        summary,
        "  {:<14} {:>5} {:>5} {:>6} {:>11}",
        "namespace", "run", "pass", "known", "unexpected"
    );
    for (namespace, t) in &by_namespace {
        let _ = writeln!(
            summary,
            "  {namespace:<14} {:>5} {:>5} {:>6} {:>11}",
            t.run, t.pass, t.known, t.unexpected
        );
    }
    for (category, n) in &by_category {
        let _ = writeln!(summary, "  known difference, {category}: {n}");
    }
    to_stderr(&summary);

    assert!(
        problems.is_empty(),
        "{} unexpected limbo verdict(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
