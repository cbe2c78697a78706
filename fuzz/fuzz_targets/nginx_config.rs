//! nginx configuration text, as `mtls lint --nginx` and `mtls check
//! --nginx` read it: mtls-cli's own reader of nginx's grammar (the crate is
//! a binary, so its file is included here). `include` is kept as a
//! directive, not followed: runs read nothing from disk (the include
//! bounds have tests of their own in `nginx.rs`).
#![no_main]

#[path = "../../crates/mtls-cli/src/nginx.rs"]
#[allow(dead_code)]
mod nginx;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(directives) =
        nginx::Config::parse_bytes(data, Path::new("."))
    {
        // Every directive is reachable by the walk the linter uses.
        let _ = nginx::walk(&directives).count();
    }
});
