//! Builds the guest component the host embeds, the way wasmtime builds its test programs
//! (`crates/test-programs/artifacts/build.rs`): a nested cargo with its own target dir, rerun
//! triggers taken from the `.d` file, and the artifact paths exported for the host and tests.
//!
//! The guest is built for `wasm32-unknown-unknown` (not wasip2, whose std pulls in `wasi:*`
//! imports) and made a component with the `wit-component` crate, so its only import is
//! `realsig:sigv4/real-time`.
//!
//! Outside the repository (this crate packaged by `cargo package`, e.g. inside the Ruby gem)
//! there is no `../guest`: the host then embeds the copies in `component/`, committed and
//! checked against this build by `tests/all/derived.rs` (regenerate: `scripts/derive.sh`).
//! So a crate that depends on `realsig` needs no wasm32 target.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "guest";
const GUEST_RUSTFLAGS: &str = "-C target-feature=+simd128";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir.parent().expect("a crate has a parent folder");
    if !workspace.join("guest").join("Cargo.toml").is_file() {
        let committed = manifest_dir.join("component");
        println!("cargo:rerun-if-changed={}", committed.display());
        export(&committed.join("realsig.wasm"), &committed.join("realsig_core.wasm"));
        return;
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    // One guest target dir for every host profile: the guest build is the same for all.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("guest");

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .args(["--package", "realsig-guest", "--target", TARGET, "--profile", PROFILE])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the host (e.g. -C target-cpu=native) must not reach the guest.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_MAKEFLAGS")
        // simd128 (wasm 2.0, in every host we run: wasmtime, V8 since Node 16, wazero) turns
        // on sha2's wasm32-simd128 backend and lets LLVM vectorise copies: 60,555 -> 58,322
        // instructions per get-vanilla signature (BENCHMARKS.md, issue 24). Only
        // deterministic integer SIMD: relaxed-simd stays off.
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", GUEST_RUSTFLAGS);
    let status = cmd.status().expect("failed to run cargo for the guest");
    if !status.success() {
        panic!(
            "building the guest component failed (see above). If the error says the \
             `{TARGET}` target may not be installed, run: rustup target add {TARGET}"
        );
    }

    let artifacts = target_dir.join(TARGET).join(PROFILE);
    let core_path = artifacts.join("realsig_guest.wasm");
    rerun_on_dep_file(&artifacts.join("realsig_guest.d"));
    println!("cargo:rerun-if-changed={}", workspace.join("wit").display());

    let core = fs::read(&core_path).expect("guest core module");
    let component = wit_component::ComponentEncoder::default()
        .module(&core)
        .and_then(|e| e.validate(true).encode())
        .unwrap_or_else(|e| panic!("turning {} into a component failed: {e:#}", core_path.display()));

    let component_path = out_dir.join("realsig.component.wasm");
    let core_out = out_dir.join("realsig.core.wasm");
    fs::write(&component_path, component).expect("write component");
    fs::write(&core_out, core).expect("write core module");
    export(&component_path, &core_out);
}

/// Tells the host where the component and its core module are (`COMPONENT`, `CORE_MODULE`).
fn export(component: &Path, core: &Path) {
    println!("cargo:rustc-env=REALSIG_COMPONENT_PATH={}", component.display());
    println!("cargo:rustc-env=REALSIG_CORE_MODULE_PATH={}", core.display());
}

/// Emits a rerun trigger for every source file the guest build read.
fn rerun_on_dep_file(dep_file: &Path) {
    let deps = fs::read_to_string(dep_file).expect("guest .d file");
    // Format: `target: dep1 dep2 ...`, spaces in paths escaped as `\ `.
    let (_, list) = deps.split_once(": ").unwrap_or(("", &deps));
    let mut current = String::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => current.push(chars.next().unwrap_or(' ')),
            ' ' | '\n' => {
                if !current.is_empty() {
                    println!("cargo:rerun-if-changed={current}");
                    current.clear();
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        println!("cargo:rerun-if-changed={current}");
    }
}
