//! The derived wasm files committed for packages that cannot build it themselves are exactly
//! what the guest builds today. They are committed (not built by each package) because a Go
//! module has no build step, and because then no package's user needs a wasm32 Rust target:
//! npm installs take the file as it is, and the gem and the Python wheel build the host crate,
//! which embeds `host/component/` outside the repository. Regenerate them all with
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
    let copies: [(&str, &[u8]); 2] = [
        ("host/component/realsig.wasm", COMPONENT),
        ("host/component/realsig_core.wasm", CORE_MODULE),
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

/// The Go module's core module is the guest built by `scripts/go-core.sh` (no simd128, for
/// wasm2go; a memory cap). `bindings/go/derived_test.go` checks that `internal/core/core.go`
/// is wasm2go's translation of it. This builds the guest once more, in its own target dir.
#[test]
fn the_go_modules_core_module_is_the_fresh_build() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fresh = std::env::temp_dir().join(format!("realsig-go-core-{}.wasm", std::process::id()));
    let status = std::process::Command::new("bash")
        .arg(root.join("scripts/go-core.sh"))
        .arg(&fresh)
        .status()
        .expect("run scripts/go-core.sh");
    assert!(status.success(), "scripts/go-core.sh failed: {status}");
    let built = std::fs::read(&fresh).expect("the fresh Go core module");
    let _ = std::fs::remove_file(&fresh);
    let committed = std::fs::read(root.join("bindings/go/realsig_core.wasm")).unwrap_or_default();
    assert!(
        committed == built,
        "out of date, run scripts/derive.sh: bindings/go/realsig_core.wasm ({} bytes, the build has {})",
        committed.len(),
        built.len()
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

/// The gem's and the Python package's extensions are workspaces of their own, so each has its
/// own `Cargo.lock`: every crate one shares with this workspace is locked at the same version
/// there (within one semver-compatible series: bindgen's `shlex` 1 beside the workspace's 2 is
/// two crates), so each builds the host the tests tested. scripts/derive.sh moves them to the
/// workspace's versions.
#[test]
fn the_extensions_lock_files_agree_with_the_workspaces() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let locked = |path: &str| -> Vec<(String, String)> {
        let text = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut packages = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some(name) = line.strip_prefix("name = ") {
                let version = lines
                    .next()
                    .and_then(|l| l.strip_prefix("version = "))
                    .expect("version after name");
                packages.push((name.trim_matches('"').to_owned(), version.trim_matches('"').to_owned()));
            }
        }
        packages
    };
    // Cargo's compatibility: 1.2.3 ~ 1.x, 0.2.3 ~ 0.2.x, 0.0.3 only itself.
    let series = |version: &str| {
        let parts: Vec<&str> = version.split(['.', '-', '+']).collect();
        let significant = if parts[0] != "0" {
            1
        } else if parts[1] != "0" {
            2
        } else {
            3
        };
        parts[..significant].join(".")
    };
    let workspace = locked("Cargo.lock");
    for lock in [
        "bindings/ruby/ext/realsig/Cargo.lock",
        "bindings/python/native/Cargo.lock",
    ] {
        let extension = locked(lock);
        assert!(
            extension.iter().any(|(name, _)| name == "wasmtime"),
            "{lock} has no wasmtime"
        );
        let differ: Vec<String> = extension
            .iter()
            .filter(|(name, version)| {
                workspace
                    .iter()
                    .any(|(n, v)| n == name && series(v) == series(version) && v != version)
            })
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        assert!(
            differ.is_empty(),
            "{lock} locks other versions than the workspace, run scripts/derive.sh: {differ:?}"
        );
    }
}
