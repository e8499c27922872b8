//! The workspace-level integration tests, one module per concern, in one test binary (the
//! layout of wasmtime's `tests/all/main.rs`): every binary links all of wasmtime, so one
//! binary instead of eight saves gigabytes of `target/` and most of the link time.
//!
//! The vector suites are a second binary (`tests/vectors.rs`), because they generate one
//! trial per folder at run time (libtest-mimic). [`every_test_file_runs`] fails when a file
//! under `tests/` is neither a module here nor a test target, so none silently never runs.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod component;
mod credentials;
mod derived;
mod differential;
mod hardening;
mod plugin;
mod proxy;
mod roles;
mod s3;
mod s3_keys;
mod streaming;
mod time_sources;

use std::fs;
use std::path::Path;

/// Every `.rs` file under `tests/` runs: a file in `tests/all/` is a `mod` of this file, a
/// file in `tests/common/` is a `mod` of `common/mod.rs`, a file directly in `tests/` is a
/// `[[test]]` of `cli/Cargo.toml`, and there are no other folders.
#[test]
fn every_test_file_runs() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests = crate_dir.join("../tests");
    let manifest = read(&crate_dir.join("Cargo.toml"));
    let all_main = read(&tests.join("all/main.rs"));
    let common_mod = read(&tests.join("common/mod.rs"));
    let declares = |parent: &str, stem: &str| {
        parent
            .lines()
            .any(|l| [format!("mod {stem};"), format!("pub mod {stem};")].contains(&l.trim().to_owned()))
    };
    let mut unwired = Vec::new();
    let mut seen = 0;
    for entry in fs::read_dir(&tests).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() && name == "data" {
            // Cases shared with the bindings (read, not built): no code may hide there.
            for case in fs::read_dir(&path).unwrap() {
                let case = case.unwrap().path();
                if case.extension().is_some_and(|e| e == "rs") {
                    unwired.push(format!("{} (code in the data folder)", case.display()));
                }
            }
        } else if path.is_dir() && name != "all" && name != "common" {
            unwired.push(format!("{} (a folder no test target builds)", path.display()));
        }
    }
    for (dir, parent, root) in [
        (&tests, None, ""),
        (&tests.join("all"), Some(&all_main), "main"),
        (&tests.join("common"), Some(&common_mod), "mod"),
    ] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let Some(stem) = path.extension().filter(|e| *e == "rs").and(path.file_stem()) else {
                continue;
            };
            let stem = stem.to_str().unwrap();
            seen += 1;
            let wired = match parent {
                None => manifest.contains(&format!("path = \"../tests/{stem}.rs\"")),
                Some(parent) => stem == root || declares(parent, stem),
            };
            if !wired {
                unwired.push(path.display().to_string());
            }
        }
    }
    assert!(seen >= 10, "found only {seen} test files under {}", tests.display());
    assert!(
        unwired.is_empty(),
        "test files that never run (add a `mod` or a [[test]]): {unwired:?}"
    );
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
