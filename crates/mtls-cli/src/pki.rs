//! `mtls pki`: a demo PKI to try `serve`, `check` and `lint` with.

use std::path::{Path, PathBuf};

use mtls_status::VerifyMode;
use mtls_status_rustls::Classifier;
use mtls_testpki::{PemPair, Pki, PkiFiles, SpiffePki};
use rustls_pki_types::UnixTime;

use crate::error::CliError;
use crate::spiffe::{SpiffeTrust, TrustDomain};
use crate::{load, report, trust};

/// Arguments of `mtls pki`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Write a demo PKI (CAs, server and client certificates, CRLs) to a directory",
    long_about = "Write a demo PKI to a directory: a root and an intermediate CA, a server \
        certificate for localhost, client certificates (valid, via the intermediate, expired, \
        not yet valid, wrong purpose, self-signed, unknown CA, revoked) and CRLs. Existing \
        files of the same names are overwritten.\n\n\
        Prints the files, what `mtls check` says about each client certificate, and commands \
        to try. The keys are for testing only.\n\n\
        --spiffe writes a two-trust-domain SPIFFE demo instead (federation of prod.example.org \
        = A and partner.example.net = B): each trust domain's CA (spiffe-a-ca.pem, \
        spiffe-b-ca.pem) and its bundle as PEM and as SPIFFE bundle JSON \
        (spiffe-a-bundle.pem / .json, spiffe-b-bundle.pem / .json), X509-SVIDs of A \
        (svid-a.pem, spiffe://prod.example.org/ns/web/sa/api) and of B (svid-b.pem, \
        spiffe://partner.example.net/billing), A's ID signed by B's CA \
        (svid-a-signed-by-b.pem), a certificate with two URI SANs (svid-two-uris.pem), and a \
        server certificate for localhost issued by A's CA (spiffe-server.pem); each with its \
        .key. For `mtls check --trust-domain` and `mtls serve --trust-domain`.",
    after_help = "Examples:\n  mtls pki ./demo\n  mtls pki --spiffe ./spiffe-demo"
)]
pub(crate) struct PkiArgs {
    /// Directory to write to (created if missing).
    #[arg(value_name = "OUTDIR")]
    outdir: PathBuf,

    /// Write the two-trust-domain SPIFFE demo instead.
    #[arg(long)]
    spiffe: bool,
}

/// Writes the PKI and prints the guide.
pub(crate) fn run(args: PkiArgs) -> Result<(), CliError> {
    if args.spiffe {
        return run_spiffe(&args.outdir);
    }
    let pki = Pki::generate();
    let files = pki.write_to_dir(&args.outdir).map_err(|error| {
        CliError::Io(format!(
            "cannot write the demo PKI to {}: {error}",
            args.outdir.display()
        ))
    })?;
    let p = |path: &Path| path.display().to_string();
    let name = |path: &Path| {
        path.file_name()
            .map_or_else(|| p(path), |name| name.to_string_lossy().into_owned())
    };

    println!(
        "wrote a demo PKI to {} (test keys: never use them for anything real)",
        p(&files.dir)
    );
    println!();
    let rows: [(String, String); 9] = [
        (
            format!("{}, .key", name(&files.root.cert)),
            format!("root CA \"CN={}\"", pki.root.common_name()),
        ),
        (
            format!("{}, .key", name(&files.intermediate.cert)),
            format!(
                "intermediate CA \"CN={}\", issued by the root",
                pki.intermediate.common_name()
            ),
        ),
        (
            name(&files.ca_bundle),
            "root + intermediate: the client CA bundle (--client-ca)".to_owned(),
        ),
        (
            format!("{}, .key", name(&files.server.cert)),
            "server certificate for localhost, 127.0.0.1 and ::1, issued by the root".to_owned(),
        ),
        (
            format!("{}, .key", name(&files.unknown_root.cert)),
            "a root CA nobody trusts".to_owned(),
        ),
        (
            name(&files.crl_bundle),
            "CRLs of the root and the intermediate (--crl)".to_owned(),
        ),
        (
            name(&files.root_crl),
            "CRL of the root alone (revokes client-revoked)".to_owned(),
        ),
        (
            name(&files.intermediate_crl),
            "CRL of the intermediate alone (empty)".to_owned(),
        ),
        (
            name(&files.expired_root_crl),
            "an expired CRL of the root".to_owned(),
        ),
    ];
    for (file, what) in rows {
        println!("  {file:<32} {what}");
    }
    println!();
    println!(
        "client certificates (client-NAME.pem: the chain without the root, leaf first; client-NAME.key)"
    );
    println!(
        "and what `mtls check --client-ca ca-bundle.pem --crl crl-bundle.pem --cert FILE` says about them:"
    );
    for (path, what, result) in client_results(&files, UnixTime::now())? {
        println!("  {:<32} {what:<38} {result}", name(&path));
    }

    let dir = p(&files.dir);
    println!();
    println!("try it:");
    println!(
        "  mtls serve --listen 127.0.0.1:8443 --cert {dir}/server.pem --key {dir}/server.key --client-ca {dir}/ca-bundle.pem --crl {dir}/crl-bundle.pem"
    );
    println!(
        "  curl --cacert {dir}/root.pem --cert {dir}/client-valid.pem --key {dir}/client-valid.key https://localhost:8443/     # 200, ssl_client_verify SUCCESS"
    );
    println!(
        "  curl --cacert {dir}/root.pem https://localhost:8443/     # 496 SSL Certificate Required"
    );
    println!(
        "  curl --cacert {dir}/root.pem --cert {dir}/client-expired.pem --key {dir}/client-expired.key https://localhost:8443/     # 495 expired"
    );
    println!("  curl http://localhost:8443/     # 497 plain HTTP to the HTTPS port");
    println!(
        "  mtls check --client-ca {dir}/ca-bundle.pem --cert {dir}/client-valid.pem     # exit 0"
    );
    println!(
        "  mtls check --client-ca {dir}/ca-bundle.pem --cert {dir}/client-valid.pem --at 2099-01-01T00:00:00Z     # exit 2, expired"
    );
    println!(
        "  mtls check --client-ca {dir}/ca-bundle.pem --crl {dir}/crl-bundle.pem --cert {dir}/client-revoked.pem --format json     # exit 2, revoked"
    );
    println!("  mtls lint --client-ca {dir}/ca-bundle.pem --crl {dir}/crl-bundle.pem     # exit 0");
    Ok(())
}

/// What `mtls check --client-ca ca-bundle.pem --crl crl-bundle.pem` says about each
/// client certificate written, computed with the same classifier.
fn client_results(
    files: &PkiFiles,
    now: UnixTime,
) -> Result<Vec<(PathBuf, &'static str, String)>, CliError> {
    let store = trust::load_store(
        std::slice::from_ref(&files.ca_bundle),
        trust::CLIENT_CA,
        std::slice::from_ref(&files.crl_bundle),
    )?;
    let classifier =
        trust::build_classifier(Classifier::builder(store, trust::provider()).cache_capacity(0))?;
    verdicts(
        &classifier,
        &[
            (&files.client_valid, "valid, issued by the root"),
            (
                &files.client_intermediate,
                "valid, issued by the intermediate",
            ),
            (&files.client_expired, "expired yesterday"),
            (&files.client_not_yet_valid, "valid from next year"),
            (&files.client_server_auth_only, "EKU serverAuth only"),
            (&files.client_self_signed, "self-signed"),
            (&files.client_unknown_ca, "issued by unknown-root"),
            (&files.client_revoked, "revoked in root.crl.pem"),
        ],
        now,
    )
}

/// What `classifier` says about each of `clients` at `now`: its file, what
/// it is, `summary (exit N)`.
fn verdicts(
    classifier: &Classifier,
    clients: &[(&PemPair, &'static str)],
    now: UnixTime,
) -> Result<Vec<(PathBuf, &'static str, String)>, CliError> {
    let mut out = Vec::new();
    for &(pair, what) in clients {
        let chain = load::certificates(&pair.cert, "--cert")?;
        let outcome = classifier.classify_at(Some(&chain), now);
        let line = report::text(&outcome, VerifyMode::On, now, &[]);
        let summary = line.split(':').next().unwrap_or(&line).to_owned();
        let exit = report::exit_code(&outcome, VerifyMode::On);
        out.push((pair.cert.clone(), what, format!("{summary} (exit {exit})")));
    }
    Ok(out)
}

/// `mtls pki --spiffe`: writes the two-trust-domain demo and prints the guide.
fn run_spiffe(outdir: &Path) -> Result<(), CliError> {
    let pki = SpiffePki::generate();
    let files = pki.write_to_dir(outdir).map_err(|error| {
        CliError::Io(format!(
            "cannot write the SPIFFE demo PKI to {}: {error}",
            outdir.display()
        ))
    })?;
    let (a, b) = (SpiffePki::TRUST_DOMAIN_A, SpiffePki::TRUST_DOMAIN_B);
    println!(
        "wrote a two-trust-domain SPIFFE demo PKI to {} (test keys: never use them for anything real)",
        files.dir.display()
    );
    println!();
    let rows = [
        (
            "spiffe-a-ca.pem, .key",
            format!("CA of trust domain A, {a}"),
        ),
        (
            "spiffe-b-ca.pem, .key",
            format!("CA of trust domain B, {b}"),
        ),
        (
            "spiffe-a-bundle.pem, .json",
            "A's bundle: PEM and SPIFFE bundle JSON".to_owned(),
        ),
        (
            "spiffe-b-bundle.pem, .json",
            "B's bundle: PEM and SPIFFE bundle JSON".to_owned(),
        ),
        (
            "spiffe-server.pem, .key",
            "server certificate for localhost, 127.0.0.1 and ::1, issued by A's CA".to_owned(),
        ),
    ];
    for (file, what) in rows {
        println!("  {file:<32} {what}");
    }
    println!();
    println!("X509-SVIDs (NAME.pem, NAME.key) and what");
    println!(
        "`mtls check --trust-domain {a}=spiffe-a-bundle.json --trust-domain {b}=spiffe-b-bundle.pem --cert FILE` says about them:"
    );
    let spiffe = SpiffeTrust::load(&[
        TrustDomain::new(a, files.bundle_a_json.clone()),
        TrustDomain::new(b, files.bundle_b_pem.clone()),
    ])?;
    let classifier = trust::build_classifier(
        spiffe.apply(Classifier::builder(spiffe.all.clone(), trust::provider()).cache_capacity(0)),
    )?;
    let clients = [
        (&files.svid_a, "SVID of A (spiffe://prod.example.org/...)"),
        (
            &files.svid_b,
            "SVID of B (spiffe://partner.example.net/...)",
        ),
        (&files.forged, "A's ID, signed by B's CA"),
        (&files.two_uris, "two URI SANs"),
    ];
    let name = |path: &Path| {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    for (path, what, result) in verdicts(&classifier, &clients, UnixTime::now())? {
        println!("  {:<32} {what:<44} {result}", name(&path));
    }

    let dir = files.dir.display();
    println!();
    println!("try it:");
    println!(
        "  mtls serve --listen 127.0.0.1:8443 --cert {dir}/spiffe-server.pem --key {dir}/spiffe-server.key --trust-domain {a}={dir}/spiffe-a-bundle.json --trust-domain {b}={dir}/spiffe-b-bundle.pem --spiffe-trust-domain {a}"
    );
    println!(
        "  curl --cacert {dir}/spiffe-a-ca.pem --cert {dir}/svid-a.pem --key {dir}/svid-a.key https://localhost:8443/     # 200"
    );
    println!(
        "  curl --cacert {dir}/spiffe-a-ca.pem --cert {dir}/svid-b.pem --key {dir}/svid-b.key https://localhost:8443/     # 403, not in {a}"
    );
    println!(
        "  curl --cacert {dir}/spiffe-a-ca.pem --cert {dir}/svid-a-signed-by-b.pem --key {dir}/svid-a-signed-by-b.key https://localhost:8443/     # 495"
    );
    println!(
        "  mtls check --trust-domain {a}={dir}/spiffe-a-bundle.json --cert {dir}/svid-a.pem     # exit 0"
    );
    Ok(())
}
