//! Compiling the component once: an on-disk cache of precompiled code.
//!
//! Compiling the component with Cranelift costs a few hundred milliseconds on this machine
//! kind; deserialising precompiled code costs about half a millisecond. Entries are keyed by
//! the SHA-256 of the component and the engine's compatibility hash (wasmtime version and
//! every setting that affects code), so a new wasmtime or a changed config misses cleanly.
//!
//! Trust: a cache entry is native code. It is only read from a directory the user owns
//! (their cache dir or one they name), like wasmtime's own cache. Anyone who can write there
//! can already change what the user runs.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::{env, fs};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The default cache directory: `$REALSIG_CACHE_DIR`, else `$XDG_CACHE_HOME/realsig`, else
/// `$HOME/.cache/realsig`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("REALSIG_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("realsig"));
    }
    env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("realsig"))
}

/// Loads `bytes` as a component, from `dir`'s cache when present, else compiling it and
/// storing the result there (best effort: an unwritable cache only costs the compile).
pub fn load(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes);
    };
    let path = dir.join(entry_name(engine, bytes));
    if path.is_file()
        && let Ok(component) = deserialize_file(engine, &path)
    {
        return Ok(component);
    }
    let compiled = engine.precompile_component(bytes)?;
    if fs::create_dir_all(dir).is_ok() {
        let tmp = dir.join(format!(".tmp-{}", std::process::id()));
        if fs::write(&tmp, &compiled).is_ok() && fs::rename(&tmp, &path).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
    // SAFETY: `compiled` was produced by `precompile_component` of this very engine just now.
    #[allow(unsafe_code)]
    unsafe {
        Component::deserialize(engine, &compiled)
    }
}

#[allow(unsafe_code)]
fn deserialize_file(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file is in the user's own cache directory, named by the hash of the
    // component and of this engine's compatibility settings, and was written by
    // `precompile_component` (see the module docs for the trust model). wasmtime checks
    // its header against the engine and refuses mismatches.
    unsafe { Component::deserialize_file(engine, path) }
}

fn entry_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hash = std::hash::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let component_hash = hex::encode(&Sha256::digest(bytes)[..16]);
    format!("{component_hash}-{:016x}.cwasm", engine_hash.finish())
}
