//! What every reload attempt reports, whoever started it (a file watcher,
//! SIGHUP, a `reload()` or `replace()` call): a tracing event saying what
//! changed or why it was refused, the `mtls_reloads_total` counter and the
//! `mtls_last_reload_success_timestamp_seconds` gauge (feature `metrics`),
//! and the trust-configuration lints on the new material (feature `lint`).
//! CRL refreshes (feature `crl-refresh`) are reported here too:
//! `mtls_crl_refresh_total` and the next-refresh / last-success gauges.
//! Updates and failures of the SPIFFE Workload API stream (feature
//! `workload-api`) are reported here too, as material `workload_api`.

use std::fmt::Display;
#[cfg(feature = "workload-api")]
use std::time::Duration;

use mtls_status::metrics::{ReloadMaterial, ReloadResult};
use rustls_pki_types::CertificateDer;

use crate::names;
use crate::trust_store::TrustStore;

/// Counts one attempt (a no-op without the `metrics` feature).
fn count(material: ReloadMaterial, result: ReloadResult) {
    #[cfg(feature = "metrics")]
    mtls_status::metrics::record_reload(material, result);
    #[cfg(not(feature = "metrics"))]
    let _ = (material, result);
}

/// A new trust store is in force: what changed, then its lints.
pub(crate) fn trust_store_installed(
    old: &TrustStore,
    new: &TrustStore,
    lints: Option<&LintContext>,
) {
    count(ReloadMaterial::TrustStore, ReloadResult::Success);
    let added: Vec<&String> = new
        .accepted_ca_names()
        .iter()
        .filter(|name| !old.accepted_ca_names().contains(name))
        .collect();
    let removed: Vec<&String> = old
        .accepted_ca_names()
        .iter()
        .filter(|name| !new.accepted_ca_names().contains(name))
        .collect();
    tracing::info!(
        generation = new.generation(),
        previous_generation = old.generation(),
        anchors = %format_args!("{}→{}", old.anchor_count(), new.anchor_count()),
        intermediates = %format_args!("{}→{}", old.intermediate_count(), new.intermediate_count()),
        crls = %format_args!("{}→{}", old.crl_count(), new.crl_count()),
        added_cas = ?added,
        removed_cas = ?removed,
        "trust store installed; new connections are classified against it"
    );
    lint(new, lints);
}

/// A trust store reload was refused; `generation` stays in force.
pub(crate) fn trust_store_refused(error: &dyn Display, files: &str, generation: u64) {
    count(ReloadMaterial::TrustStore, ReloadResult::Refused);
    tracing::error!(
        %error,
        files,
        generation,
        "trust store reload refused; keeping the trust store in force"
    );
}

/// The server certificate was read again; `old` / `new` are the leaf
/// certificates (equal when nothing changed).
pub(crate) fn server_cert_reloaded(old: &CertificateDer<'_>, new: &CertificateDer<'_>) {
    count(ReloadMaterial::ServerCertificate, ReloadResult::Success);
    if old == new {
        tracing::info!(
            subject = %names::subject_dn(new),
            "server certificate unchanged"
        );
        return;
    }
    tracing::info!(
        old_subject = %names::subject_dn(old),
        old_not_after = not_after(old),
        new_subject = %names::subject_dn(new),
        new_not_after = not_after(new),
        "server certificate installed; new handshakes present it"
    );
}

/// A server certificate reload was refused; the pair in force stays.
pub(crate) fn server_cert_refused(error: &dyn Display) {
    count(ReloadMaterial::ServerCertificate, ReloadResult::Refused);
    tracing::error!(
        %error,
        "server certificate reload refused; keeping the certificate and key in force"
    );
}

/// A Workload API update was applied: `changed` names what it changed
/// (`svid`, `bundle <trust domain>`; empty when it repeated the material in
/// force). The SVID and bundles it installed were reported as such.
#[cfg(feature = "workload-api")]
pub(crate) fn workload_api_applied(endpoint: &str, spiffe_id: &str, changed: &[String]) {
    count(ReloadMaterial::WorkloadApi, ReloadResult::Success);
    tracing::info!(
        endpoint,
        spiffe_id,
        changed = ?changed,
        "workload API update applied"
    );
}

/// A Workload API update (or part of it) was unusable; the SVID and bundles
/// in force stay.
#[cfg(feature = "workload-api")]
pub(crate) fn workload_api_refused(endpoint: &str, error: &dyn Display) {
    count(ReloadMaterial::WorkloadApi, ReloadResult::Refused);
    tracing::warn!(
        endpoint,
        %error,
        "workload API update refused; keeping the last good SVID and bundles"
    );
}

/// The Workload API could not be reached or its stream broke; the SVID and
/// bundles in force stay until it is back.
#[cfg(feature = "workload-api")]
pub(crate) fn workload_api_failed(endpoint: &str, error: &dyn Display, retry_in: Duration) {
    count(ReloadMaterial::WorkloadApi, ReloadResult::Refused);
    tracing::warn!(
        endpoint,
        %error,
        retry_in_ms = u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
        "workload API unavailable; keeping the last good SVID and bundles, reconnecting"
    );
}

/// The leaf's notAfter in Unix seconds (0 if unreadable: logging only).
fn not_after(cert: &CertificateDer<'_>) -> u64 {
    mtls_status::der::Certificate::parse(cert.as_ref())
        .map_or(0, |parsed| parsed.not_after().unix_time().as_secs())
}

/// The settings the reload lints run with: the mode and verify depth the
/// store serves (see
/// [`ReloadableTrustStore::lint_context`](crate::ReloadableTrustStore::lint_context)).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "lint"), allow(dead_code))]
pub(crate) struct LintContext {
    pub(crate) mode: mtls_status::VerifyMode,
    pub(crate) verify_depth: usize,
}

#[cfg(feature = "lint")]
fn lint(store: &TrustStore, context: Option<&LintContext>) {
    use mtls_status::lint::{LintKind, LintSettings, Severity, lint_trust_config};

    let mut settings = LintSettings::new(rustls_pki_types::UnixTime::now());
    if let Some(context) = context {
        settings = settings
            .with_mode(context.mode)
            .with_verify_depth(context.verify_depth);
    }
    let generation = store.generation();
    for lint in lint_trust_config(store.certificates(), store.crl_ders(), &settings) {
        // The mode is configuration, not material: said once at start.
        if matches!(
            lint.kind(),
            LintKind::OptionalMode | LintKind::OffMode | LintKind::OptionalNoCaMode
        ) {
            continue;
        }
        let kind = lint.kind().name();
        match lint.severity() {
            Severity::Error => {
                tracing::error!(lint = kind, generation, "reloaded trust store: {lint}")
            }
            Severity::Warning => {
                tracing::warn!(lint = kind, generation, "reloaded trust store: {lint}")
            }
            _ => tracing::info!(lint = kind, generation, "reloaded trust store: {lint}"),
        }
    }
}

#[cfg(not(feature = "lint"))]
fn lint(_store: &TrustStore, _context: Option<&LintContext>) {}

/// Counts one CRL refresh (a no-op without the `metrics` feature).
#[cfg(feature = "crl-refresh")]
fn count_crl_refresh(url: &str, result: mtls_status::metrics::CrlRefreshResult, next: u64) {
    #[cfg(feature = "metrics")]
    mtls_status::metrics::record_crl_refresh(url, result, next);
    #[cfg(not(feature = "metrics"))]
    let _ = (url, result, next);
}

/// A CRL was fetched from `url` and is in force (updated, or the one in
/// force served again). Times in Unix seconds.
#[cfg(feature = "crl-refresh")]
pub(crate) fn crl_refreshed(
    url: &str,
    result: mtls_status::metrics::CrlRefreshResult,
    issuer: &str,
    this_update: u64,
    next_update: Option<u64>,
    next_refresh: u64,
    now: u64,
) {
    count_crl_refresh(url, result, next_refresh);
    let age_secs = now.saturating_sub(this_update);
    let next_update_in_secs = next_update.map(|next| i128::from(next) - i128::from(now));
    let next_refresh_in_secs = next_refresh.saturating_sub(now);
    if next_update.is_some_and(|next| next <= now) {
        tracing::warn!(
            url,
            result = result.label(),
            issuer,
            age_secs,
            next_update,
            next_refresh_in_secs,
            "CRL fetched but already past its nextUpdate: clients of this issuer fail with \
             crl_expired unless CRL expiry is ignored; fix the CRL publisher"
        );
        return;
    }
    tracing::info!(
        url,
        result = result.label(),
        issuer,
        age_secs,
        next_update,
        next_update_in_secs,
        next_refresh_in_secs,
        "CRL refreshed"
    );
}

/// A CRL refresh of `url` failed or was refused; `kept` is the CRL still
/// in force for the issuer the URL served before (issuer, thisUpdate,
/// nextUpdate).
#[cfg(feature = "crl-refresh")]
pub(crate) fn crl_refresh_failed(
    url: &str,
    result: mtls_status::metrics::CrlRefreshResult,
    error: &str,
    kept: Option<(&str, u64, Option<u64>)>,
    consecutive_failures: u32,
    next_refresh: u64,
    now: u64,
) {
    count_crl_refresh(url, result, next_refresh);
    let next_refresh_in_secs = next_refresh.saturating_sub(now);
    match kept {
        Some((issuer, this_update, next_update)) => {
            let expired = next_update.is_some_and(|next| next <= now);
            tracing::error!(
                url,
                result = result.label(),
                error,
                kept_issuer = issuer,
                kept_age_secs = now.saturating_sub(this_update),
                kept_next_update = next_update,
                kept_expired = expired,
                consecutive_failures,
                next_refresh_in_secs,
                "CRL refresh failed; keeping the last good CRL"
            );
        }
        None => tracing::error!(
            url,
            result = result.label(),
            error,
            consecutive_failures,
            next_refresh_in_secs,
            "CRL refresh failed; no CRL from this URL is in force yet"
        ),
    }
}
