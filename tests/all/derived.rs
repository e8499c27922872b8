//! The derived wasm files committed for packages that cannot build it themselves are exactly
//! what the guest builds today. They are committed (not built by each package) because a Go
//! module has no build step, and because then no package's user needs a wasm32 Rust target:
//! pip, npm and gem installs take the file as it is. Regenerate them all with
//! `scripts/derive.sh`.
//!
//! The Node glue (`bindings/node/generated/`) is made from `host/component/realsig.wasm` by
//! jco; `bindings/node/test/derived.test.js` checks it against that file, which this test
//! checks against the build.

use std::path::Path;

use realsig::{COMPONENT, CORE_MODULE};

#[test]
fn committed_wasm_files_are_the_fresh_build() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let copies: [(&str, &[u8]); 4] = [
        ("host/component/realsig.wasm", COMPONENT),
        ("host/component/realsig_core.wasm", CORE_MODULE),
        ("bindings/python/src/realsig/realsig.wasm", COMPONENT),
        ("bindings/go/realsig_core.wasm", CORE_MODULE),
    ];
    let stale: Vec<String> = copies
        .iter()
        .filter_map(|(path, fresh)| {
            let committed = std::fs::read(root.join(path)).unwrap_or_default();
            (committed != *fresh).then(|| format!("{path} ({} bytes, the build has {})", committed.len(), fresh.len()))
        })
        .collect();
    assert!(
        stale.is_empty(),
        "out of date, run scripts/derive.sh: {}",
        stale.join(", ")
    );
}

/// Each package carries the license text (npm and the Go module zip skip symlinks, so they
/// are copies): the same bytes as `LICENSE`.
#[test]
fn every_package_carries_the_license() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let license = std::fs::read(root.join("LICENSE")).expect("LICENSE");
    assert!(license.starts_with(b"                              Apache License\n                        Version 2.0"));
    for package in [
        "host",
        "cli",
        "bindings/node",
        "bindings/python",
        "bindings/ruby",
        "bindings/go",
    ] {
        let copy = std::fs::read(root.join(package).join("LICENSE")).unwrap_or_default();
        assert!(
            copy == license,
            "{package}/LICENSE is not LICENSE: run scripts/derive.sh"
        );
    }
}
