//! Kubernetes manifests, as `mtls lint --ingress` reads them: mtls-cli's
//! bounded YAML reader (`manifest.rs`, on saphyr-parser; the crate is a
//! binary, so its files are included here). Aliases are expanded into the
//! tree with every copy counted, so a bomb must end in an error, not in
//! memory or time.
#![no_main]

#[path = "../../crates/mtls-cli/src/manifest.rs"]
#[allow(dead_code)]
mod manifest;
// manifest.rs reads files through nginx.rs's bounded reader.
#[path = "../../crates/mtls-cli/src/nginx.rs"]
#[allow(dead_code)]
mod nginx;

use libfuzzer_sys::fuzz_target;

/// Every node of `node`, as the linter's lookups reach them.
fn visit(node: &manifest::Node) -> usize {
    let _ = node.get("kind").and_then(manifest::Node::as_str);
    1 + node.items().iter().map(visit).sum::<usize>()
        + node
            .entries()
            .iter()
            .map(|(k, v)| visit(k) + visit(v))
            .sum::<usize>()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(documents) = manifest::parse(text) {
        let nodes: usize = documents
            .iter()
            .filter_map(|d| d.root.as_ref())
            .map(visit)
            .sum();
        assert!(nodes <= manifest::MAX_NODES);
    }
});
