//! The example alert rules in `deploy/prometheus/` are valid and fire as
//! their unit tests say: `promtool check rules` and `promtool test rules`
//! (Debian's `prometheus` package ships promtool).
//!
//! Skipped when promtool is not installed, unless `MTLS_REQUIRE_PROMETHEUS`
//! is set (CI sets it), then missing promtool is a failure. `PROMTOOL=path`
//! picks another binary.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn find_promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMTOOL") {
        return Some(PathBuf::from(path));
    }
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    found.then(|| PathBuf::from("promtool"))
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus")
}

fn promtool(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .current_dir(rules_dir())
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let Some(bin) = find_promtool() else {
        assert!(
            std::env::var_os("MTLS_REQUIRE_PROMETHEUS").is_none(),
            "MTLS_REQUIRE_PROMETHEUS is set but promtool is not installed"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "prometheus_rules: SKIPPED, promtool is not installed (apt-get install prometheus; \
             MTLS_REQUIRE_PROMETHEUS=1 makes this a failure)"
        );
        return;
    };
    let checked = promtool(&bin, &["check", "rules", "mtls-alerts.yml"]);
    assert!(checked.contains("SUCCESS: 6 rules found"), "{checked}");
    let tested = promtool(&bin, &["test", "rules", "mtls-alerts.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}
